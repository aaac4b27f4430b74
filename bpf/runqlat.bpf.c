// SPDX-License-Identifier: GPL-2.0
/*
 * runqlat: run-queue latency — the time from a task becoming runnable (wakeup, or preemption
 * while still runnable) to it running on a CPU. A global log2 histogram (per-CPU, no atomics)
 * and one histogram per process. Counters are cumulative; user space takes deltas.
 *
 * Variants (user space picks the first that loads and attaches):
 *   schedinfo: one tp_btf program on sched_switch, no wakeup programs, no timestamps of its own:
 *        the kernel's sched_info.last_queued (CONFIG_SCHED_INFO) is the enqueue time;
 *   btf: tp_btf programs, enqueue timestamps in task-local storage (no hash lookups), taken
 *        from the run-queue clock the scheduler just updated (as schedstat's run_delay is);
 *   raw: raw_tp programs, enqueue timestamps in a hash keyed by tid (kernels without tp_btf
 *        or task storage in tracing programs).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "runqlat.h"
#include "common/bits.bpf.h"
#include "common/task.bpf.h"
#include "common/maps.bpf.h"

char LICENSE[] SEC("license") = "GPL";

const volatile struct runqlat_cfg cfg = {};

/* Enqueue time per task (btf variant). */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64);
} rq_start_task SEC(".maps");

/* Enqueue time per tid (raw variant). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 32768);
	__type(key, __u32);
	__type(value, __u64);
} rq_start_tid SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct hist);
} rq_hist SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, RQ_MAX_PROCS);
	__type(key, __u32);
	__type(value, struct rq_proc);
} rq_procs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rq_stats);
} rq_stats SEC(".maps");

static __always_inline bool tgid_wanted(__u32 tgid)
{
	return cfg.filter_tgid == 0 || cfg.filter_tgid == tgid;
}

/* Record one run-queue wait of `delta_ns` for the process `tgid`. */
static __always_inline void record(__u32 tgid, struct task_struct *t, __u64 delta_ns)
{
	static const struct rq_proc zero = {};
	struct rq_stats *st;
	struct rq_proc *p;
	struct hist *h;
	__u32 idx = 0;
	int how;

	h = bpf_map_lookup_elem(&rq_hist, &idx);
	if (h)
		hist_add_local(h, delta_ns);
	if (!cfg.per_process)
		return;
	p = lookup_or_init(&rq_procs, &tgid, &zero, &how);
	if (how == LOI_FULL) {
		st = bpf_map_lookup_elem(&rq_stats, &idx);
		if (st)
			st->proc_map_full++;
	}
	if (!p)
		return;
	/* The process's name, not the thread's (threads rename themselves). */
	if (how == LOI_CREATED)
		BPF_CORE_READ_STR_INTO(&p->comm, t, group_leader, comm);
	hist_add_atomic(&p->h, delta_ns);
}

static __always_inline void count_no_start(void)
{
	struct rq_stats *st;
	__u32 idx = 0;

	st = bpf_map_lookup_elem(&rq_stats, &idx);
	if (st)
		st->no_start++;
}

/*
 * ---- schedinfo variant: the enqueue time the kernel keeps itself ----
 *
 * With CONFIG_SCHED_INFO (SCHEDSTATS or TASK_DELAY_ACCT: every distribution kernel),
 * enqueue_task() -> sched_info_enqueue() sets task->sched_info.last_queued to rq_clock(rq) when
 * a task is put on a run queue and the field is 0 (wakeup, fork, and a preempted task through
 * sched_info_depart()); sched_info_arrive() adds now - last_queued to run_delay and clears it
 * when the task starts running. sched_info_switch() runs from prepare_task_switch(), after
 * trace_sched_switch in __schedule(), so here next->sched_info.last_queued still holds its
 * enqueue time, and rq->clock is the value sched_info_arrive() is about to use: the delta below
 * is the very amount /proc/PID/schedstat's run_delay grows by at this switch.
 *
 * Unlike the wakeup-based variants: a queued task moved to another run queue (load balancing,
 * affinity change) is dequeued and enqueued by the kernel; sched_info_dequeue() adds the wait so
 * far to run_delay and last_queued restarts on the new queue's clock, so only the wait on the
 * last queue is seen here (and the task's run_delay then exceeds what this probe sums). The
 * wakeup variants time from the wakeup to the switch, across migrations. Enqueues that restore
 * a task after a change of its scheduling parameters (ENQUEUE_RESTORE) keep the old stamp.
 *
 * On an old kernel where sched_info is compiled in but off (sched_info_on() false without delay
 * accounting), last_queued stays 0: user space checks /proc/self/schedstat first.
 */
SEC("tp_btf/sched_switch")
int BPF_PROG(rq_switch_si, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	__u64 queued, now;

	/* Keeps the object loadable where the field does not exist; user space does not pick this
	 * variant there. */
	if (!bpf_core_field_exists(next->sched_info.last_queued))
		return 0;
	if (!next->pid || !tgid_wanted(next->tgid))
		return 0;
	queued = next->sched_info.last_queued;
	if (!queued) {
		count_no_start();
		return 0;
	}
	/* user space picks this variant only where rq_clock_of() reaches the run queue's clock, the
	 * clock of the stamp (not its bpf_ktime_get_ns() fallback: another clock). */
	now = rq_clock_of(next);
	/* The stamp is from this run queue's clock: an enqueue on another queue is followed by a
	 * dequeue and a new stamp here before the task can run. Run-queue clocks differ between
	 * CPUs, so should a stamp ever come from another CPU's queue it could be ahead: never
	 * below 0. */
	record(next->tgid, next, now > queued ? now - queued : 0);
	return 0;
}

/* ---- btf variant: task-local storage, direct BTF loads ---- */

static __always_inline void enqueue_task(struct task_struct *p, __u64 now)
{
	__u64 *ts;

	if (!p->pid || !tgid_wanted(p->tgid))
		return;
	ts = bpf_task_storage_get(&rq_start_task, p, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (ts)
		*ts = now;
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(rq_wakeup_btf, struct task_struct *p)
{
	enqueue_task(p, rq_clock_of(p));
	return 0;
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(rq_wakeup_new_btf, struct task_struct *p)
{
	enqueue_task(p, rq_clock_of(p));
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(rq_switch_btf, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	__u64 *ts, now = rq_clock_of(next);

	/* A task switched out while still runnable goes straight back on the run queue. */
	if (task_state_btf(prev) == TASK_RUNNING)
		enqueue_task(prev, now);
	if (!next->pid)
		return 0;
	ts = bpf_task_storage_get(&rq_start_task, next, 0, 0);
	if (!ts || !*ts) {
		if (tgid_wanted(next->tgid))
			count_no_start();
		return 0;
	}
	/* A task woken on one CPU may run on another: clocks can differ by a little, never below 0. */
	record(next->tgid, next, now > *ts ? now - *ts : 0);
	*ts = 0;
	return 0;
}

/* ---- raw variant: raw tracepoints, hash keyed by tid ---- */

static __always_inline void enqueue_tid(struct task_struct *p)
{
	__u32 tid = BPF_CORE_READ(p, pid);
	__u64 ts;

	if (!tid || !tgid_wanted(BPF_CORE_READ(p, tgid)))
		return;
	ts = bpf_ktime_get_ns();
	bpf_map_update_elem(&rq_start_tid, &tid, &ts, BPF_ANY);
}

SEC("raw_tp/sched_wakeup")
int BPF_PROG(rq_wakeup_raw, struct task_struct *p)
{
	enqueue_tid(p);
	return 0;
}

SEC("raw_tp/sched_wakeup_new")
int BPF_PROG(rq_wakeup_new_raw, struct task_struct *p)
{
	enqueue_tid(p);
	return 0;
}

SEC("raw_tp/sched_switch")
int BPF_PROG(rq_switch_raw, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	__u32 tid = BPF_CORE_READ(next, pid);
	__u64 *ts, delta;

	if (task_state(prev) == TASK_RUNNING)
		enqueue_tid(prev);
	if (!tid)
		return 0;
	ts = bpf_map_lookup_elem(&rq_start_tid, &tid);
	if (!ts) {
		if (tgid_wanted(BPF_CORE_READ(next, tgid)))
			count_no_start();
		return 0;
	}
	delta = bpf_ktime_get_ns() - *ts;
	bpf_map_delete_elem(&rq_start_tid, &tid);
	record(BPF_CORE_READ(next, tgid), next, delta);
	return 0;
}
