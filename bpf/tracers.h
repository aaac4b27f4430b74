/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Per-event tracers of the drill-down (opensnoop, biosnoop, syscallslow): records and config
 * shared by bpf/{opensnoop,biosnoop,syscallslow}.bpf.c and src/tracers/ (layouts checked by
 * test/bpf/tracers.test.ts against the BTF of each built object).
 */
#ifndef PROBETOP_TRACERS_H
#define PROBETOP_TRACERS_H

#define TR_COMM_LEN 16
#define TR_PATH_LEN 256      /* bytes of an opened path kept (NUL included) */
#define TR_NAME_LEN 64       /* bytes of a file's dentry name kept (NUL included) */
#define TR_SYS_NR_MAX 512    /* raw_tp variants: syscall numbers below this are looked up */
#define TR_MAX_THREADS 8192  /* threads of the traced process inside a traced syscall at once */
#define TR_MAX_INFLIGHT 4096 /* block requests of the traced process in flight at once */

/* Ring sizes: one process rarely needs more than a few hundred KiB per 100 ms drain. */
#define TR_OPEN_RING_BYTES (1 << 20)
#define TR_BIO_RING_BYTES (256 << 10)
#define TR_SYS_RING_BYTES (512 << 10)

/* Record kinds (the u16 `kind` of every record). */
#define TR_KIND_OPEN 1
#define TR_KIND_BIO 2
#define TR_KIND_SYSCALL 3

/* Which open call (tr_open.sys); TR_OPEN_ANY where the hook serves all three (fentry). */
#define TR_OPEN_ANY 0
#define TR_OPEN_OPEN 1
#define TR_OPEN_OPENAT 2
#define TR_OPEN_OPENAT2 3

/* Syscalls timed by syscallslow (tr_syscall.sys); 0 is "not traced" in tracer_cfg.sys_kind. */
#define TR_SC_READ 1
#define TR_SC_WRITE 2
#define TR_SC_PREAD64 3
#define TR_SC_PWRITE64 4
#define TR_SC_READV 5
#define TR_SC_WRITEV 6
#define TR_SC_PREADV 7
#define TR_SC_PWRITEV 8
#define TR_SC_PREADV2 9
#define TR_SC_PWRITEV2 10
#define TR_SC_FSYNC 11
#define TR_SC_FDATASYNC 12
#define TR_SC_SYNC_FILE_RANGE 13
/* fentry variant: the VFS function rather than the syscall (tr_syscall.sys). */
#define TR_FN_VFS_READ 32
#define TR_FN_VFS_WRITE 33
#define TR_FN_VFS_READV 34
#define TR_FN_VFS_WRITEV 35
#define TR_FN_VFS_FSYNC 36

/* Direction of a block request (tr_bio.op). */
#define TR_OP_READ 0
#define TR_OP_WRITE 1
#define TR_OP_FLUSH 2
#define TR_OP_DISCARD 3
#define TR_OP_OTHER 4

/* tr_bio.flags */
#define TR_BIO_F_SYNC 1
#define TR_BIO_F_FUA 2
#define TR_BIO_F_PREFLUSH 4
#define TR_BIO_F_META 8
#define TR_BIO_F_INSERTED 16 /* went through block_rq_insert: queue_ns is meaningful */

/* Read-only configuration, set by user space before load. */
struct tracer_cfg {
	__u32 tgid;                      /* the traced process (never 0) */
	__u32 pad;
	__u8 sys_kind[TR_SYS_NR_MAX];    /* raw_tp: syscall number -> TR_OPEN_* / TR_SC_* (0 = ignore) */
};

/* Adjustable while loaded (an array map of one entry, written by user space). */
struct tracer_live {
	__u64 min_ns;   /* events faster than this are not reported; 0 = report none */
};

/* One open/openat/openat2 of the traced process, at its return. */
struct tr_open {
	__u64 ts_ns;       /* CLOCK_MONOTONIC at return */
	__u64 latency_ns;  /* entry to return */
	__s64 ret;         /* the new fd, or -errno */
	__u64 flags;       /* O_* flags as passed */
	__u32 tid;
	__u32 mode;
	__s32 dfd;         /* directory fd of a relative path (AT_FDCWD = -100) */
	__u32 path_len;    /* bytes of path read, NUL included; 0 = unreadable */
	__u16 kind;        /* TR_KIND_OPEN */
	__u16 sys;         /* TR_OPEN_* */
	__u32 pad;
	char comm[TR_COMM_LEN];
	char path[TR_PATH_LEN];
};

/* One block request of the traced process that took at least tracer_live.min_ns. */
struct tr_bio {
	__u64 ts_ns;       /* CLOCK_MONOTONIC at completion */
	__u64 latency_ns;  /* insert (or issue, when not inserted) to completion */
	__u64 queue_ns;    /* insert to issue */
	__u64 sector;
	__u64 bytes;       /* bytes completed */
	__u32 dev;         /* kernel dev_t (major << 20 | minor) of the disk */
	__u32 tid;         /* the submitting thread */
	__s32 error;       /* blk_status_t, 0 = success */
	__u16 kind;        /* TR_KIND_BIO */
	__u8 op;           /* TR_OP_* */
	__u8 flags;        /* TR_BIO_F_* */
	char comm[TR_COMM_LEN];
};

/* One read/write/fsync-like call of the traced process that took at least tracer_live.min_ns. */
struct tr_syscall {
	__u64 ts_ns;       /* CLOCK_MONOTONIC at return */
	__u64 latency_ns;
	__s64 ret;         /* bytes, 0, or -errno */
	__u64 count;       /* bytes asked (read/write, pread/pwrite, sync_file_range), iovecs (readv..) */
	__u64 ino;         /* inode of the file (0 = unknown): user space checks the fd still names it */
	__u32 sdev;        /* kernel dev_t of the inode's file system */
	__s32 fd;          /* -1 when the hook does not see it (fentry variant) */
	__u32 tid;
	__u16 kind;        /* TR_KIND_SYSCALL */
	__u16 sys;         /* TR_SC_* or TR_FN_* */
	char comm[TR_COMM_LEN];
	char name[TR_NAME_LEN]; /* the file's dentry name, for when the fd is gone */
};

/* Counters (per CPU): records made, records lost to a full ring, starts dropped (map full). */
struct tr_stats {
	__u64 events;
	__u64 lost;
	__u64 no_slot;
};

/* ---- kernel-only state, listed so that its layout is checked too ---- */

/* A syscall of a thread in progress (opensnoop), keyed by tid. */
struct tr_open_start {
	__u64 ts;
	__u64 path;        /* user pointer to the path: read at return, when the kernel has faulted it in */
	__u64 flags;
	__u64 how;         /* openat2: user pointer to struct open_how */
	__s32 dfd;
	__u32 mode;
	__u16 sys;
	__u16 pad[3];
};

/* A syscall of a thread in progress (syscallslow), keyed by tid. */
struct tr_sys_start {
	__u64 ts;
	__u64 count;
	__s32 fd;
	__u16 sys;
	__u16 pad;
};

/* A block request of the traced process in flight. */
struct tr_bio_start {
	__u64 insert_ns;   /* 0 = issued without insert */
	__u64 issue_ns;    /* 0 = not issued yet */
	__u64 rq_start_ns; /* rq->start_time_ns at insert: a reused request struct no longer matches */
	__u32 tid;
	__u32 pad;
	char comm[TR_COMM_LEN];
};

/* Key of the classic-tracepoint variant's in-flight map: a request is (disk, first sector). */
struct tr_bio_key {
	__u32 dev;
	__u32 pad;
	__u64 sector;
};

#endif
