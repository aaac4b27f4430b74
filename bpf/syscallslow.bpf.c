// SPDX-License-Identifier: GPL-2.0
/*
 * syscallslow: read/write/pread/pwrite/readv/writev/preadv(2)/pwritev(2)/fsync/fdatasync/
 * sync_file_range calls of one process (cfg.tgid) that took at least tracer_live.min_ns — the
 * portable stand-in for ext4slower/fsslower, for any file type (pipes and sockets included).
 * Loaded only while the process screen is open.
 *
 * For a slow call the file is identified in the kernel (inode, file system dev, dentry name);
 * user space resolves the fd to a path through /proc/PID/fd and uses the inode to check the fd
 * still names the same file when the record arrives.
 *
 * Variants (user space picks the first that loads and attaches):
 *   fentry:     fentry/fexit on vfs_read, vfs_write, vfs_readv, vfs_writev, vfs_fsync_range —
 *               the VFS under every file system (fsslower hooks each file system's own
 *               read_iter/write_iter/fsync). Sees the struct file, not the fd. Needs BPF
 *               trampolines; refused with EPERM on kernels without them;
 *   raw_tp:     raw_syscalls sys_enter/sys_exit, syscall numbers looked up in cfg.sys_kind;
 *               before the classic tracepoints: they cost every other process's read/write
 *               more (the perf record is built before the program runs);
 *   tracepoint: syscalls:sys_{enter,exit}_<name> for each traced call (needs tracefs; user
 *               space loads only the ones this kernel has).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#define TR_RING_SIZE TR_SYS_RING_BYTES
#include "tracers.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* In-progress calls, by tid; reused in place (ts = 0 when idle), LRU for exited threads. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, TR_MAX_THREADS);
	__type(key, __u32);
	__type(value, struct tr_sys_start);
} ss_starts SEC(".maps");

/* Never called: puts the record types into the object's BTF for the layout test. */
__noinline int ss_record_types(struct tr_syscall *e, struct tr_sys_start *s, struct tr_stats *st,
			       struct tracer_live *l)
{
	return e == (void *)s || st == (void *)l;
}

/* A traced call begins. `keep_outer`: a call of another kind in progress on this thread is kept
 * (fentry variant: vfs_fsync_range runs inside vfs_write for O_SYNC files); one of the same kind
 * cannot be in progress, so it is a start whose return was missed, and is replaced. */
static __always_inline void sys_enter(__u16 sys, int fd, __u64 count, bool keep_outer)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct tr_sys_start *s, n = {};
	int how;

	s = lookup_or_init(&ss_starts, &tid, &n, &how);
	if (!s) {
		tr_no_slot();
		return;
	}
	if (how == LOI_FOUND && keep_outer && s->ts && s->sys != sys)
		return;
	s->fd = fd;
	s->count = count;
	s->sys = sys;
	s->ts = bpf_ktime_get_ns();
}

/* The file behind `fd` of the current task, or NULL. */
static __always_inline struct file *fd_file(int fd)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	struct fdtable *fdt = BPF_CORE_READ(t, files, fdt);
	struct file **fds, *f = NULL;

	if (!fdt || fd < 0 || (unsigned int)fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	fds = BPF_CORE_READ(fdt, fd);
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	return f;
}

/* The identity of a file: inode, its file system's dev_t, dentry name. */
static __always_inline void file_info(struct tr_syscall *e, struct file *f)
{
	struct inode *ino;

	e->ino = 0;
	e->sdev = 0;
	e->name[0] = 0;
	if (!f)
		return;
	ino = BPF_CORE_READ(f, f_inode);
	e->ino = BPF_CORE_READ(ino, i_ino);
	e->sdev = BPF_CORE_READ(ino, i_sb, s_dev);
	bpf_probe_read_kernel_str(e->name, sizeof(e->name), BPF_CORE_READ(f, f_path.dentry, d_name.name));
}

/*
 * A traced call returns `ret`: report it when slow enough. `sys` (fentry) must match the call
 * that started; `file` is the file when the hook has it, else it is found by fd.
 */
static __always_inline void sys_exit(long ret, __u16 sys, struct file *file)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct tr_sys_start *s;
	struct tr_syscall *e;
	__u64 now, min;

	s = bpf_map_lookup_elem(&ss_starts, &tid);
	if (!s || !s->ts || (sys && s->sys != sys))
		return;
	now = bpf_ktime_get_ns();
	min = tr_min_ns();
	if (!min || now - s->ts < min) {
		s->ts = 0;
		return;
	}
	e = tr_reserve(sizeof(*e));
	if (!e) {
		s->ts = 0;
		return;
	}
	e->ts_ns = now;
	e->latency_ns = now - s->ts;
	e->ret = ret;
	e->count = s->count;
	e->fd = s->fd;
	e->tid = tid;
	e->kind = TR_KIND_SYSCALL;
	e->sys = s->sys;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	file_info(e, file ? file : fd_file(s->fd));
	s->ts = 0;
	tr_submit(e);
}

/* ---- fentry variant: the VFS functions ---- */

SEC("fentry/vfs_read")
int BPF_PROG(ss_vfs_read_entry, struct file *file, char *buf, size_t count)
{
	if (traced())
		sys_enter(TR_FN_VFS_READ, -1, count, true);
	return 0;
}

SEC("fexit/vfs_read")
int BPF_PROG(ss_vfs_read_exit, struct file *file, char *buf, size_t count, loff_t *pos, ssize_t ret)
{
	if (traced())
		sys_exit(ret, TR_FN_VFS_READ, file);
	return 0;
}

SEC("fentry/vfs_write")
int BPF_PROG(ss_vfs_write_entry, struct file *file, const char *buf, size_t count)
{
	if (traced())
		sys_enter(TR_FN_VFS_WRITE, -1, count, true);
	return 0;
}

SEC("fexit/vfs_write")
int BPF_PROG(ss_vfs_write_exit, struct file *file, const char *buf, size_t count, loff_t *pos, ssize_t ret)
{
	if (traced())
		sys_exit(ret, TR_FN_VFS_WRITE, file);
	return 0;
}

SEC("fentry/vfs_readv")
int BPF_PROG(ss_vfs_readv_entry, struct file *file, const struct iovec *vec, unsigned long vlen)
{
	if (traced())
		sys_enter(TR_FN_VFS_READV, -1, vlen, true);
	return 0;
}

SEC("fexit/vfs_readv")
int BPF_PROG(ss_vfs_readv_exit, struct file *file, const struct iovec *vec, unsigned long vlen, loff_t *pos,
	     rwf_t flags, ssize_t ret)
{
	if (traced())
		sys_exit(ret, TR_FN_VFS_READV, file);
	return 0;
}

SEC("fentry/vfs_writev")
int BPF_PROG(ss_vfs_writev_entry, struct file *file, const struct iovec *vec, unsigned long vlen)
{
	if (traced())
		sys_enter(TR_FN_VFS_WRITEV, -1, vlen, true);
	return 0;
}

SEC("fexit/vfs_writev")
int BPF_PROG(ss_vfs_writev_exit, struct file *file, const struct iovec *vec, unsigned long vlen, loff_t *pos,
	     rwf_t flags, ssize_t ret)
{
	if (traced())
		sys_exit(ret, TR_FN_VFS_WRITEV, file);
	return 0;
}

SEC("fentry/vfs_fsync_range")
int BPF_PROG(ss_vfs_fsync_entry, struct file *file)
{
	if (traced())
		sys_enter(TR_FN_VFS_FSYNC, -1, 0, true);
	return 0;
}

SEC("fexit/vfs_fsync_range")
int BPF_PROG(ss_vfs_fsync_exit, struct file *file, loff_t start, loff_t end, int datasync, int ret)
{
	if (traced())
		sys_exit(ret, TR_FN_VFS_FSYNC, file);
	return 0;
}

/* ---- tracepoint variant: a pair of programs per syscall, one body ---- */

/* `count`: the expression (of ctx) reported as the call's size. */
#define TP_PAIR(name, sys, count)                                                        \
	SEC("tracepoint/syscalls/sys_enter_" #name)                                               \
	int ss_enter_##name##_tp(struct trace_event_raw_sys_enter *ctx)                           \
	{                                                                                         \
		if (traced())                                                                         \
			sys_enter(sys, (int)ctx->args[0], count, false);                             \
		return 0;                                                                             \
	}                                                                                         \
	SEC("tracepoint/syscalls/sys_exit_" #name)                                                \
	int ss_exit_##name##_tp(struct trace_event_raw_sys_exit *ctx)                             \
	{                                                                                         \
		if (traced())                                                                         \
			sys_exit(ctx->ret, 0, NULL);                                                      \
		return 0;                                                                             \
	}

TP_PAIR(read, TR_SC_READ, ctx->args[2])
TP_PAIR(write, TR_SC_WRITE, ctx->args[2])
TP_PAIR(pread64, TR_SC_PREAD64, ctx->args[2])
TP_PAIR(pwrite64, TR_SC_PWRITE64, ctx->args[2])
TP_PAIR(readv, TR_SC_READV, ctx->args[2])
TP_PAIR(writev, TR_SC_WRITEV, ctx->args[2])
TP_PAIR(preadv, TR_SC_PREADV, ctx->args[2])
TP_PAIR(pwritev, TR_SC_PWRITEV, ctx->args[2])
TP_PAIR(preadv2, TR_SC_PREADV2, ctx->args[2])
TP_PAIR(pwritev2, TR_SC_PWRITEV2, ctx->args[2])
TP_PAIR(fsync, TR_SC_FSYNC, 0)
TP_PAIR(fdatasync, TR_SC_FDATASYNC, 0)
TP_PAIR(sync_file_range, TR_SC_SYNC_FILE_RANGE, ctx->args[2])

/* ---- raw_tp variant: every syscall, filtered by process, then by number ---- */

SEC("raw_tp/sys_enter")
int BPF_PROG(ss_sys_enter_raw, struct pt_regs *regs, long id)
{
	__u8 sys;

	if (!traced())
		return 0;
	sys = tr_sys_kind(id);
	if (sys && tr_compat_syscall())
		return 0;
	if (!sys)
		return 0;
	/* Every traced call has the fd first; all but fsync/fdatasync a size third. */
	sys_enter(sys, (int)PT_REGS_PARM1_CORE_SYSCALL(regs),
		  sys == TR_SC_FSYNC || sys == TR_SC_FDATASYNC ? 0 : PT_REGS_PARM3_CORE_SYSCALL(regs), false);
	return 0;
}

/* Any syscall ends here: the process's traced calls are looked up (a thread inside one has ts set). */
SEC("raw_tp/sys_exit")
int BPF_PROG(ss_sys_exit_raw, struct pt_regs *regs, long ret)
{
	if (traced() && tr_exit_wanted(regs))
		sys_exit(ret, 0, NULL);
	return 0;
}
