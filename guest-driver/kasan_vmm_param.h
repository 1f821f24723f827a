/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * A string option of the built-in-or-module guest code: a module parameter
 * when built as a module, and also `name=` on the kernel command line when
 * built in (where it is read before any initcall runs), each with its own
 * default: a module does its work when loaded, a built-in kernel only when
 * asked.
 */
#ifndef GUEST_DRIVER_KASAN_VMM_PARAM_H
#define GUEST_DRIVER_KASAN_VMM_PARAM_H

#include <linux/init.h>
#include <linux/moduleparam.h>

#ifdef MODULE
#define KV_STRING_PARAM(name, module_default, builtin_default, desc)                               \
	static char *name = module_default;                                                        \
	module_param(name, charp, 0444);                                                           \
	MODULE_PARM_DESC(name, desc)
#else
#define KV_STRING_PARAM(name, module_default, builtin_default, desc)                               \
	static char *name = builtin_default;                                                       \
	static int __init name##_setup(char *arg)                                                  \
	{                                                                                          \
		name = arg;                                                                        \
		return 1;                                                                          \
	}                                                                                          \
	__setup(#name "=", name##_setup);                                                          \
	module_param(name, charp, 0444);                                                           \
	MODULE_PARM_DESC(name, desc)
#endif

#endif /* GUEST_DRIVER_KASAN_VMM_PARAM_H */
