/* SPDX-License-Identifier: MIT */
/* Constants shared by trampoline.S and smp.c (so: preprocessor only). */
#ifndef GUEST_SMP_DEFS_H
#define GUEST_SMP_DEFS_H

#define AP_TRAMPOLINE_PA 0x8000 /* SIPI vector 0x08; free in kasan-vmm's and QEMU's low map */
#define AP_STACK_SHIFT	 14	/* 16 KiB per AP */
#ifndef MAX_CPUS
#define MAX_CPUS 64
#endif

#endif
