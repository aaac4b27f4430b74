// SPDX-License-Identifier: GPL-2.0
/*
 * opensnoop: every open/openat/openat2 of one process (cfg.tgid) — path, flags, the fd or the
 * errno, and how long it took — for the drill-down's "which file" question. Loaded only while
 * the process screen is open.
 *
 * The path is a user pointer remembered at entry and read at return (as libbpf-tools
 * opensnoop does): by then the kernel has copied it, so its page is present and the
 * non-faulting read succeeds.
 *
 * Variants (user space picks the first that loads and attaches):
 *   fentry:     fentry/fexit on do_sys_openat2, which open, openat and openat2 all call (needs
 *               BPF trampolines; refused with EPERM on kernels without them for this hook);
 *   tracepoint: syscalls:sys_{enter,exit}_{open,openat,openat2} (needs tracefs; user space
 *               loads only the ones this kernel has: no open on arm64);
 *   raw_tp:     raw_syscalls sys_enter/sys_exit, syscall numbers looked up in cfg.sys_kind.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#define TR_RING_SIZE TR_OPEN_RING_BYTES
#include "tracers.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define AT_FDCWD_ -100

/* In-progress opens, by tid. Entries are reused (ts = 0 when idle): lookups, not inserts, in
 * the steady state. LRU: threads that exit leave their entry to be evicted. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, TR_MAX_THREADS);
	__type(key, __u32);
	__type(value, struct tr_open_start);
} op_starts SEC(".maps");

/* Never called: puts the record types into the object's BTF for the layout test. */
__noinline int op_record_types(struct tr_open *e, struct tr_open_start *s, struct tr_stats *st,
			       struct tracer_live *l)
{
	return e == (void *)s || st == (void *)l;
}

/* An open of the traced process begins: remember when, and its arguments. */
static __always_inline void enter_open(__u16 sys, int dfd, __u64 path, __u64 flags, __u32 mode, __u64 how)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct tr_open_start *s, n = {};
	int made;

	s = lookup_or_init(&op_starts, &tid, &n, &made);
	if (!s) {
		tr_no_slot();
		return;
	}
	s->path = path;
	s->flags = flags;
	s->how = how;
	s->dfd = dfd;
	s->mode = mode;
	s->sys = sys;
	s->ts = bpf_ktime_get_ns();
}

/* The open returns `ret` (fd or -errno): report it with the path read from the caller. */
static __always_inline void exit_open(long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct tr_open_start *s;
	struct open_how how;
	struct tr_open *e;
	long n;

	s = bpf_map_lookup_elem(&op_starts, &tid);
	if (!s || !s->ts)
		return;
	e = tr_reserve(sizeof(*e));
	if (!e) {
		s->ts = 0;
		return;
	}
	e->ts_ns = bpf_ktime_get_ns();
	e->latency_ns = e->ts_ns - s->ts;
	e->ret = ret;
	e->flags = s->flags;
	e->mode = s->mode;
	e->tid = tid;
	e->dfd = s->dfd;
	e->kind = TR_KIND_OPEN;
	e->sys = s->sys;
	e->pad = 0;
	if (s->how && bpf_probe_read_user(&how, sizeof(how), (void *)s->how) == 0) {
		e->flags = how.flags;
		e->mode = how.mode;
	}
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	n = bpf_probe_read_user_str(e->path, sizeof(e->path), (void *)s->path);
	e->path_len = n > 0 ? n : 0;
	s->ts = 0;
	tr_submit(e);
}

/* ---- fentry variant ---- */

SEC("fentry/do_sys_openat2")
int BPF_PROG(op_enter_fentry, int dfd, const char *filename, struct open_how *how)
{
	if (!traced())
		return 0;
	/* `how` is the kernel's copy: plain loads through its BTF type. */
	enter_open(TR_OPEN_ANY, dfd, (__u64)filename, how->flags, (__u32)how->mode, 0);
	return 0;
}

SEC("fexit/do_sys_openat2")
int BPF_PROG(op_exit_fexit, int dfd, const char *filename, struct open_how *how, long ret)
{
	if (!traced())
		return 0;
	exit_open(ret);
	return 0;
}

/* ---- tracepoint variant: one program per syscall tracepoint, one body ---- */

SEC("tracepoint/syscalls/sys_enter_open")
int op_enter_open_tp(struct trace_event_raw_sys_enter *ctx)
{
	if (traced())
		enter_open(TR_OPEN_OPEN, AT_FDCWD_, ctx->args[0], ctx->args[1], ctx->args[2], 0);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_openat")
int op_enter_openat_tp(struct trace_event_raw_sys_enter *ctx)
{
	if (traced())
		enter_open(TR_OPEN_OPENAT, (int)ctx->args[0], ctx->args[1], ctx->args[2], ctx->args[3], 0);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_openat2")
int op_enter_openat2_tp(struct trace_event_raw_sys_enter *ctx)
{
	if (traced())
		enter_open(TR_OPEN_OPENAT2, (int)ctx->args[0], ctx->args[1], 0, 0, ctx->args[2]);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_open")
int op_exit_open_tp(struct trace_event_raw_sys_exit *ctx)
{
	if (traced())
		exit_open(ctx->ret);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_openat")
int op_exit_openat_tp(struct trace_event_raw_sys_exit *ctx)
{
	if (traced())
		exit_open(ctx->ret);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_openat2")
int op_exit_openat2_tp(struct trace_event_raw_sys_exit *ctx)
{
	if (traced())
		exit_open(ctx->ret);
	return 0;
}

/* ---- raw_tp variant: every syscall, filtered by process, then by number ---- */

SEC("raw_tp/sys_enter")
int BPF_PROG(op_sys_enter_raw, struct pt_regs *regs, long id)
{
	__u8 sys;

	if (!traced())
		return 0;
	sys = tr_sys_kind(id);
	if (sys && tr_compat_syscall())
		return 0;
	if (sys == TR_OPEN_OPEN)
		enter_open(sys, AT_FDCWD_, PT_REGS_PARM1_CORE_SYSCALL(regs), PT_REGS_PARM2_CORE_SYSCALL(regs),
			   PT_REGS_PARM3_CORE_SYSCALL(regs), 0);
	else if (sys == TR_OPEN_OPENAT)
		enter_open(sys, (int)PT_REGS_PARM1_CORE_SYSCALL(regs), PT_REGS_PARM2_CORE_SYSCALL(regs),
			   PT_REGS_PARM3_CORE_SYSCALL(regs), PT_REGS_PARM4_CORE_SYSCALL(regs), 0);
	else if (sys == TR_OPEN_OPENAT2)
		enter_open(sys, (int)PT_REGS_PARM1_CORE_SYSCALL(regs), PT_REGS_PARM2_CORE_SYSCALL(regs), 0, 0,
			   PT_REGS_PARM3_CORE_SYSCALL(regs));
	return 0;
}

/* Any syscall ends here: the process's opens are looked up (a thread with one in progress has ts set). */
SEC("raw_tp/sys_exit")
int BPF_PROG(op_sys_exit_raw, struct pt_regs *regs, long ret)
{
	if (traced() && tr_exit_wanted(regs))
		exit_open(ret);
	return 0;
}
