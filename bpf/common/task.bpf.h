/* SPDX-License-Identifier: GPL-2.0 */
/* CO-RE helpers for struct task_struct across kernel versions. */
#ifndef PROBETOP_TASK_BPF_H
#define PROBETOP_TASK_BPF_H

#include <bpf/bpf_core_read.h>

#define TASK_RUNNING 0

#ifndef E2BIG
#define E2BIG 7
#endif

/* Before 5.14 the field was `state`; commit 2f064a59a11f ("sched: Change task_struct::state")
 * renamed it to `__state` and made it unsigned int. */
struct task_struct___o {
	volatile long int state;
} __attribute__((preserve_access_index));

/* The scheduler state of a task (0 = TASK_RUNNING), on any kernel. */
static __always_inline long task_state(struct task_struct *t)
{
	if (bpf_core_field_exists(t->__state))
		return BPF_CORE_READ(t, __state);
	return BPF_CORE_READ((struct task_struct___o *)t, state);
}

/* The state of a task reached through a BTF pointer (tp_btf, fentry): a direct load, no helper. */
static __always_inline long task_state_btf(struct task_struct *t)
{
	if (bpf_core_field_exists(t->__state))
		return t->__state;
	return ((struct task_struct___o *)t)->state;
}

#endif
