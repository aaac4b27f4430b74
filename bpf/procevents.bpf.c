// SPDX-License-Identifier: GPL-2.0
/*
 * procevents: every process fork, exec and exit, pushed through a ring buffer — so that a
 * process living 5 ms, which /proc sampling never sees, is still counted with its CPU time.
 *
 * Records are submitted without a wakeup (BPF_RB_NO_WAKEUP): user space drains the ring from a
 * timer, and a wakeup would cost ~30x the record itself. Only processes are reported: a new
 * thread, or a thread exiting while others live on, is only counted.
 *
 * Variants (user space picks the first that loads and attaches; one handle_* body, each
 * compiled for plain BTF loads or for CO-RE probe reads):
 *   tp_btf: BTF tracepoints sched_process_{fork,exec,exit,free}, fields read by plain loads;
 *   raw_tp: the same raw tracepoints, arguments untyped, fields read by bpf_probe_read_kernel;
 *   tracepoint: classic tracepoints (need tracefs); task:task_newtask stands in for
 *        sched_process_fork there, because it carries clone_flags to tell threads from processes.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "procevents.h"

char LICENSE[] SEC("license") = "GPL";

#define CLONE_PARENT 0x00008000
#define CLONE_THREAD 0x00010000
/* include/linux/sched/signal.h; the value has not changed since it was introduced. */
#define SIGNAL_GROUP_EXIT 0x00000004

/*
 * RD(direct, p, a, b, ...) reads p->a->b...: with `direct` (a constant; tp_btf, where the
 * verifier knows p's BTF type) as plain loads, which cost next to nothing; otherwise through
 * CO-RE bpf_probe_read_kernel calls (~40 ns each here). After inlining only one branch remains.
 */
#define RD(direct, src, a, ...) \
	((direct) ? (src)->___arrow(a, ##__VA_ARGS__) : BPF_CORE_READ(src, a, ##__VA_ARGS__))
/* Copies the array field src->field into dst, the same two ways. */
#define RD_INTO(direct, dst, src, field)                                          \
	do {                                                                          \
		if (direct)                                                               \
			__builtin_memcpy((dst), (src)->field, sizeof(*(dst)));                \
		else                                                                      \
			BPF_CORE_READ_INTO((dst), (src), field);                              \
	} while (0)

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, PE_RING_BYTES);
} pe_ring SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pe_stats);
} pe_stats SEC(".maps");

/*
 * Why a second record when the process is freed: at sched_process_exit the process has not
 * finished using CPU. The rest of do_exit() (tearing down the address space in exit_mm(),
 * closing files) and the slice since the scheduler last accounted the running task (up to a
 * tick) are still to come; for a process living 1 ms that is most of its CPU time (measured
 * here: read at exit, /bin/true got 11% of what its parent's RUSAGE_CHILDREN got). When the
 * leader — the process's last task — is freed (sched_process_free: after the parent reaped it
 * and an RCU grace period), signal->sum_sched_runtime holds every thread's final runtime, as
 * each thread adds its own in __exit_signal() when it is released. So the exit record goes
 * out at exit (status, lifetime, parent, CPU time so far) and a small PE_FREED record with the
 * final CPU time follows; user space joins them by pid. Parking the exit record in a hash map
 * until the free instead costs twice as much here (a hash update + lookup + delete ~1.3 us,
 * a ring record ~0.45 us).
 *
 * The classic tracepoint at free carries only the pid, so that variant parks the exiting
 * process's signal_struct pointer (held by the task until it is freed) in pe_signals.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PE_EXITING_MAX);
	__type(key, __u32);
	__type(value, __u64);
} pe_signals SEC(".maps");

/* Never called: its signature puts the record structs, which only travel through the ring, into
 * the object's BTF, where test/bpf/layout.test.ts checks the TypeScript views against them. */
__noinline int pe_record_types(struct pe_event *e, struct pe_exec *x)
{
	return e == (void *)x;
}

static __always_inline struct pe_stats *stats(void)
{
	__u32 idx = 0;

	return bpf_map_lookup_elem(&pe_stats, &idx);
}

/* Counts an event of `kind`; reserves its record, or counts it lost when the ring is full. */
static __always_inline void *reserve(struct pe_stats *st, int kind, __u32 size)
{
	void *rec = bpf_ringbuf_reserve(&pe_ring, size, 0);

	if (st) {
		/* kind is a constant after inlining: no bounds check needed. */
		st->events[kind]++;
		if (!rec)
			st->lost[kind]++;
	}
	return rec;
}

/* Fields every record has; `task` is the process the record is about. */
static __always_inline void fill_head(struct pe_event *e, struct task_struct *task, int kind, bool direct)
{
	struct task_struct *parent = RD(direct, task, real_parent);

	e->ts_ns = bpf_ktime_get_ns();
	e->kind = kind;
	e->flags = 0;
	e->pad = 0;
	e->exit_code = 0;
	e->lifetime_ns = 0;
	e->cpu_ns = 0;
	e->pid = RD(direct, task, tgid);
	e->tid = RD(direct, task, pid);
	e->ppid = RD(direct, parent, tgid);
	e->uid = RD(direct, task, real_cred, uid.val);
	e->cgroup_id = RD(direct, task, cgroups, dfl_cgrp, kn, id);
	RD_INTO(direct, &e->comm, task, comm);
	RD_INTO(direct, &e->pcomm, parent, comm);
}

/* ---- fork ---- */

/* `child` was created by fork/clone: reported when it is a process, counted when a thread. */
static __always_inline void handle_fork(struct task_struct *child, bool direct)
{
	struct pe_stats *st = stats();
	struct pe_event *e;

	if (RD(direct, child, pid) != RD(direct, child, tgid)) {
		if (st)
			st->thread_forks++;
		return;
	}
	e = reserve(st, PE_FORK, sizeof(*e));
	if (!e)
		return;
	fill_head(e, child, PE_FORK, direct);
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
}

/* ---- exec ---- */

/* `task` (current) has just replaced its program; `filename` is a kernel string. */
static __always_inline void handle_exec(struct task_struct *task, const char *filename, bool direct)
{
	unsigned long arg_start, arg_end, len;
	struct mm_struct *mm;
	struct pe_exec *e;
	long n;

	e = reserve(stats(), PE_EXEC, sizeof(*e));
	if (!e)
		return;
	fill_head(&e->h, task, PE_EXEC, direct);
	n = bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), filename);
	e->filename_len = n > 0 ? n : 0;
	/* The new program's argument area, on its fresh stack: written by the kernel during
	 * execve, so its pages are present and a non-faulting read succeeds. Only up to
	 * arg_end: the environment follows and must not leak into the record. */
	mm = RD(direct, task, mm);
	arg_start = RD(direct, mm, arg_start);
	arg_end = RD(direct, mm, arg_end);
	len = arg_end > arg_start ? arg_end - arg_start : 0;
	if (len > PE_ARGS_LEN) {
		len = PE_ARGS_LEN;
		e->h.flags |= PE_F_ARGS_TRUNC;
	}
	/* clang may test the bound on a copy of the register (see hist_slot_ns): test again
	 * after a barrier, on the register that is passed. */
	barrier_var(len);
	if (len > PE_ARGS_LEN)
		len = PE_ARGS_LEN;
	if (len && bpf_probe_read_user(e->args, len, (void *)arg_start) == 0)
		e->args_len = len;
	else
		e->args_len = 0;
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
}

/* ---- exit ---- */

/* The CPU time of every thread so far: the runtime of threads already reaped
 * (signal->sum_sched_runtime) plus each thread still on the thread list (the exiting one, a
 * zombie leader, threads exiting at the same time on other CPUs) — the sum
 * thread_group_cputime() makes, without its lock. */
static __always_inline __u64 group_runtime_now(struct signal_struct *sig, struct pe_event *e)
{
	__u64 head = (__u64)sig + bpf_core_field_offset(struct signal_struct, thread_head);
	__u64 node_off = bpf_core_field_offset(struct task_struct, thread_node);
	__u64 cpu = BPF_CORE_READ(sig, sum_sched_runtime);
	struct list_head *pos = BPF_CORE_READ(sig, thread_head.next);
	struct task_struct *t;
	int i;

	for (i = 0; i < PE_MAX_THREADS; i++) {
		if (!pos || (__u64)pos == head)
			break;
		t = (struct task_struct *)((__u64)pos - node_off);
		cpu += BPF_CORE_READ(t, se.sum_exec_runtime);
		pos = BPF_CORE_READ(t, thread_node.next);
	}
	if (i == PE_MAX_THREADS && pos && (__u64)pos != head)
		e->flags |= PE_F_THREADS_TRUNC;
	return cpu;
}

/* `task` (current) is exiting; a process exit only when it is the last thread. Returns the
 * process's signal_struct when it was, else NULL. */
static __always_inline struct signal_struct *handle_exit(struct task_struct *task, bool direct)
{
	struct signal_struct *sig = RD(direct, task, signal);
	struct pe_stats *st = stats();
	struct task_struct *leader;
	struct pe_event *e;

	/* do_exit() decrements signal->live before the tracepoint: 0 means the whole process is
	 * gone (the kernel's own group_dead), whichever thread happens to be last. */
	if (RD(direct, sig, live.counter) != 0) {
		if (st)
			st->thread_exits++;
		return NULL;
	}
	e = reserve(st, PE_EXIT, sizeof(*e));
	if (!e)
		return sig;
	/* The process as ps shows it is its leader (a thread may have renamed itself). */
	leader = RD(direct, task, group_leader);
	fill_head(e, leader, PE_EXIT, direct);
	e->tid = RD(direct, task, pid);
	e->lifetime_ns = e->ts_ns - RD(direct, leader, start_time);
	/* The status wait(2) will report, as wait_task_zombie() computes it. */
	if (RD(direct, sig, flags) & SIGNAL_GROUP_EXIT)
		e->exit_code = RD(direct, sig, group_exit_code);
	else
		e->exit_code = RD(direct, leader, exit_code);
	e->cpu_ns = group_runtime_now(sig, e);
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
	return sig;
}

/* The process `pid` (its leader task) is being freed: report its final CPU time, `cpu_ns`,
 * its signal->sum_sched_runtime (the task holds its signal_struct until after this tracepoint). */
static __always_inline void handle_free(__u32 pid, __u64 cpu_ns)
{
	struct pe_event *e = reserve(stats(), PE_FREED, sizeof(*e));

	if (!e)
		return;
	__builtin_memset(e, 0, sizeof(*e));
	e->kind = PE_FREED;
	e->pid = pid;
	e->cpu_ns = cpu_ns;
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
}

/* ---- tp_btf variant: plain loads ---- */

SEC("tp_btf/sched_process_fork")
int BPF_PROG(pe_fork_btf, struct task_struct *parent, struct task_struct *child)
{
	handle_fork(child, true);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(pe_exec_btf, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	handle_exec(p, bprm->filename, true);
	return 0;
}

/* Since v6.16 the tracepoint also passes group_dead; the first argument is the same. */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(pe_exit_btf, struct task_struct *p)
{
	handle_exit(p, true);
	return 0;
}

SEC("tp_btf/sched_process_free")
int BPF_PROG(pe_free_btf, struct task_struct *p)
{
	if (p->pid == p->tgid)
		handle_free(p->pid, p->signal->sum_sched_runtime);
	return 0;
}

/* ---- raw_tp variant: CO-RE probe reads ---- */

SEC("raw_tp/sched_process_fork")
int BPF_PROG(pe_fork_raw, struct task_struct *parent, struct task_struct *child)
{
	handle_fork(child, false);
	return 0;
}

SEC("raw_tp/sched_process_exec")
int BPF_PROG(pe_exec_raw, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	handle_exec(p, BPF_CORE_READ(bprm, filename), false);
	return 0;
}

SEC("raw_tp/sched_process_exit")
int BPF_PROG(pe_exit_raw, struct task_struct *p)
{
	handle_exit(p, false);
	return 0;
}

SEC("raw_tp/sched_process_free")
int BPF_PROG(pe_free_raw, struct task_struct *p)
{
	__u32 pid = BPF_CORE_READ(p, pid);

	if (pid == BPF_CORE_READ(p, tgid))
		handle_free(pid, BPF_CORE_READ(p, signal, sum_sched_runtime));
	return 0;
}

/* ---- classic tracepoint variant: CO-RE probe reads ---- */

/* Runs in the parent inside copy_process(); the child task is not reachable from here, so
 * its record is built from the parent (same comm, uid and cgroup) and the tracepoint fields. */
SEC("tracepoint/task/task_newtask")
int pe_fork_tp(struct trace_event_raw_task_newtask *ctx)
{
	struct task_struct *cur = (struct task_struct *)bpf_get_current_task();
	__u64 clone_flags = ctx->clone_flags;
	struct task_struct *parent = cur;
	struct pe_stats *st = stats();
	struct pe_event *e;

	if (clone_flags & CLONE_THREAD) {
		if (st)
			st->thread_forks++;
		return 0;
	}
	e = reserve(st, PE_FORK, sizeof(*e));
	if (!e)
		return 0;
	/* With CLONE_PARENT the child is a sibling: its parent is ours. */
	if (clone_flags & CLONE_PARENT)
		parent = BPF_CORE_READ(cur, real_parent);
	fill_head(e, cur, PE_FORK, false);
	e->pid = e->tid = ctx->pid;
	e->ppid = BPF_CORE_READ(parent, tgid);
	BPF_CORE_READ_INTO(&e->pcomm, parent, comm);
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
	return 0;
}

SEC("tracepoint/sched/sched_process_exec")
int pe_exec_tp(struct trace_event_raw_sched_process_exec *ctx)
{
	unsigned int off = ctx->__data_loc_filename & 0xFFFF;

	handle_exec((struct task_struct *)bpf_get_current_task(), (const char *)ctx + off, false);
	return 0;
}

SEC("tracepoint/sched/sched_process_exit")
int pe_exit_tp(void *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct signal_struct *sig = handle_exit(task, false);
	__u32 pid = BPF_CORE_READ(task, tgid);
	__u64 v = (__u64)sig;

	if (sig && bpf_map_update_elem(&pe_signals, &pid, &v, BPF_ANY) != 0) {
		struct pe_stats *st = stats();

		if (st)
			st->exiting_full++;
	}
	return 0;
}

/* Runs in an RCU callback, not in the task: the pid is all there is. No other task has the pid
 * of a parked process: it stays allocated until the process is reaped, one RCU grace period
 * before this free (only a pid wrap-around inside that window could confuse the two). */
SEC("tracepoint/sched/sched_process_free")
int pe_free_tp(struct trace_event_raw_sched_process_template *ctx)
{
	__u32 pid = ctx->pid;
	__u64 *sig = bpf_map_lookup_elem(&pe_signals, &pid);

	if (!sig)
		return 0;
	handle_free(pid, BPF_CORE_READ((struct signal_struct *)*sig, sum_sched_runtime));
	bpf_map_delete_elem(&pe_signals, &pid);
	return 0;
}
