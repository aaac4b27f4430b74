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

/*
 * The run-queue clock of the CPU `task` is queued on, ns (tp_btf). The scheduler has just updated
 * it (update_rq_clock) at wakeup, fork and switch, so reading it is three loads where
 * bpf_ktime_get_ns() is a clock read — the largest part of a sched_switch probe's cost on VMs.
 * It is the clock schedstat's run_delay uses. Reached through the task's cfs_rq
 * (CONFIG_FAIR_GROUP_SCHED); without it, the ordinary clock.
 */
static __always_inline __u64 rq_clock_of(struct task_struct *task)
{
	if (bpf_core_field_exists(task->se.cfs_rq->rq))
		return task->se.cfs_rq->rq->clock;
	return bpf_ktime_get_ns();
}

/* The state of a task reached through a BTF pointer (tp_btf, fentry): a direct load, no helper. */
static __always_inline long task_state_btf(struct task_struct *t)
{
	if (bpf_core_field_exists(t->__state))
		return t->__state;
	return ((struct task_struct___o *)t)->state;
}

#endif
