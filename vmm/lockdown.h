/* SPDX-License-Identifier: MIT */
/*
 * Least privilege for the run loop. After set-up (VM, RAM, vCPUs created,
 * kernel loaded, /dev/kvm and every output file open) and right before the
 * vCPU threads start, kasan-vmm
 *   1. drops root if --user NAME was given (initgroups, setgid, setuid), and
 *   2. installs a seccomp filter (--seccomp on, the default) on every thread
 *      that allows only the system calls the run loop makes; any other call
 *      kills the whole process (SIGSYS).
 * The ASan+UBSan build gets the filter too, with the few extra calls its
 * runtime makes (LeakSanitizer's stop-the-world thread at exit, reports).
 */
#ifndef VMM_LOCKDOWN_H
#define VMM_LOCKDOWN_H

#include "vmm/config.h"

/*
 * Apply --user and --seccomp. 0, or -errno with a message on stderr (then
 * the run must not go on). KASAN_VMM_SECCOMP_SELFTEST=1 in the environment
 * makes a forbidden call (socket) right after the filter is in: the process
 * must die by SIGSYS (tests/integration/test_lockdown.sh).
 */
int lockdown_apply(const struct vm_config *cfg);

#endif /* VMM_LOCKDOWN_H */
