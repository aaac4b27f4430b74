/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the per-event tracers (opensnoop, biosnoop, syscallslow) share: the traced process in
 * read-only config, the adjustable threshold, the ring buffer with its lost counter, and the
 * syscall-number lookup of the raw_tp variants. Include once per object, after defining
 * TR_RING_SIZE.
 */
#ifndef PROBETOP_TRACERS_BPF_H
#define PROBETOP_TRACERS_BPF_H

#include "tracers.h"
#include "common/maps.bpf.h"

#ifndef TR_RING_SIZE
#error "define TR_RING_SIZE before including tracers.bpf.h"
#endif

#ifndef E2BIG
#define E2BIG 7
#endif

/* The traced process and, for the raw_tp variants, which syscall numbers matter. Set before
 * load, so the verifier sees a constant tgid. */
const volatile struct tracer_cfg cfg = {};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, TR_RING_SIZE);
} tr_ring SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tr_stats);
} tr_stats SEC(".maps");

/* The reporting threshold, changed by user space while loaded (array lookups are inlined). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tracer_live);
} tr_live SEC(".maps");

/* The current task belongs to the traced process: the first test every program makes, so
 * that other processes pay one helper call and a compare. */
static __always_inline bool traced(void)
{
	return (bpf_get_current_pid_tgid() >> 32) == cfg.tgid;
}

static __always_inline struct tr_stats *tr_stats_get(void)
{
	__u32 idx = 0;

	return bpf_map_lookup_elem(&tr_stats, &idx);
}

/* Reserves a ring record, counting it as made, or as lost when the ring is full. */
static __always_inline void *tr_reserve(__u32 size)
{
	struct tr_stats *st = tr_stats_get();
	void *rec = bpf_ringbuf_reserve(&tr_ring, size, 0);

	if (st) {
		st->events++;
		if (!rec)
			st->lost++;
	}
	return rec;
}

/* Records are drained by user space from a timer: no wakeup (a wakeup costs ~30x the record). */
static __always_inline void tr_submit(void *rec)
{
	bpf_ringbuf_submit(rec, BPF_RB_NO_WAKEUP);
}

/* A start could not be remembered (its map full): the event it began is not reported. */
static __always_inline void tr_no_slot(void)
{
	struct tr_stats *st = tr_stats_get();

	if (st)
		st->no_slot++;
}

/* The current threshold in ns; 0 = report nothing (user space sets it right after load). */
static __always_inline __u64 tr_min_ns(void)
{
	__u32 idx = 0;
	struct tracer_live *l = bpf_map_lookup_elem(&tr_live, &idx);

	return l ? l->min_ns : 0;
}

/*
 * A 32-bit process on x86_64 enters with ia32 syscall numbers, which cfg.sys_kind does not
 * describe: TS_COMPAT in thread_info.status, as in_ia32_syscall() tests it
 * (arch/x86/include/asm/thread_info.h). Other architectures: their compat tasks are not told
 * apart here (the native table is used).
 */
#if defined(__TARGET_ARCH_x86)
#define TS_COMPAT_ 0x0002
static __always_inline bool tr_compat_syscall(void)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();

	return BPF_CORE_READ(t, thread_info.status) & TS_COMPAT_;
}
#else
static __always_inline bool tr_compat_syscall(void)
{
	return false;
}
#endif

/* raw_tp variants: what a syscall number means to this tracer (0 = nothing). */
static __always_inline __u8 tr_sys_kind(long id)
{
	__u64 i = (__u64)id;

	if (i >= TR_SYS_NR_MAX)
		return 0;
	/* See hist_slot_ns (common/bits.bpf.h): bound the very register that indexes. */
	asm volatile("%0 &= %1" : "+r"(i) : "i"(TR_SYS_NR_MAX - 1));
	return cfg.sys_kind[i];
}

/*
 * raw_tp/sys_exit: the number of the syscall that is returning, as syscall_get_nr() reads it,
 * so that the traced process's other syscalls skip the in-progress lookup. -1 where this file
 * does not know the architecture's field (then every exit of the process looks up).
 */
#if defined(__TARGET_ARCH_x86)
#define TR_EXIT_NR(regs) ((long)BPF_CORE_READ((regs), orig_ax))
#elif defined(__TARGET_ARCH_arm64)
struct pt_regs___tr_arm64 {
	int syscallno;
} __attribute__((preserve_access_index));
#define TR_EXIT_NR(regs) ((long)BPF_CORE_READ((struct pt_regs___tr_arm64 *)(regs), syscallno))
#else
#define TR_EXIT_NR(regs) (-1L)
#endif

/* At raw_tp/sys_exit: true unless the returning syscall is known to be one this tracer ignores. */
static __always_inline bool tr_exit_wanted(struct pt_regs *regs)
{
	long nr = TR_EXIT_NR(regs);

	return nr == -1 || tr_sys_kind(nr) != 0;
}

#endif
