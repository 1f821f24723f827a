/* SPDX-License-Identifier: MIT */
/*
 * KVM constants newer than the installed <linux/kvm.h> (Debian 12: 6.1).
 * The only place such numbers are defined; values from the KVM API docs.
 */
#ifndef VMM_KVM_COMPAT_H
#define VMM_KVM_COMPAT_H

#include <linux/kvm.h>

#ifndef KVM_CAP_USER_MEMORY2
#define KVM_CAP_USER_MEMORY2 231
#endif
#ifndef KVM_CAP_MEMORY_FAULT_INFO
#define KVM_CAP_MEMORY_FAULT_INFO 232
#endif
#ifndef KVM_CAP_GUEST_MEMFD
#define KVM_CAP_GUEST_MEMFD 234
#endif
#ifndef KVM_X86_QUIRK_SLOT_ZAP_ALL
#define KVM_X86_QUIRK_SLOT_ZAP_ALL (1 << 7) /* 6.12: KVM_CAP_DISABLE_QUIRKS2 bit */
#endif
#ifndef KVM_EXIT_MEMORY_FAULT
#define KVM_EXIT_MEMORY_FAULT 39
#endif

#endif /* VMM_KVM_COMPAT_H */
