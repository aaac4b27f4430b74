/* SPDX-License-Identifier: GPL-2.0 */
/* biolatency: structs shared by bpf/biolatency.bpf.c and src/probes/biolatency.ts (layout checked by a test). */
#ifndef PROBETOP_BIOLATENCY_H
#define PROBETOP_BIOLATENCY_H

#include "common/hist.h"

#define BIOLAT_MAX_PROCS 2048   /* processes with I/O at once (exited ones are removed by user space) */
#define BIOLAT_MAX_DISKS 256    /* disk x direction pairs */
#define BIOLAT_MAX_INFLIGHT 10240 /* requests whose start is remembered */
#ifndef TASK_COMM_LEN
#define TASK_COMM_LEN 16
#endif

/* Direction of a request (biolat_disk_key.op). */
#define BIOLAT_OP_READ 0
#define BIOLAT_OP_WRITE 1
#define BIOLAT_OP_OTHER 2   /* flush, discard, write-zeroes, zone ops, driver-private */

/* Read-only configuration, set by user space before load. */
struct biolat_cfg {
	__u32 filter_tgid;  /* 0 = every process */
	__u32 queued;       /* 1 = measure from insertion into the I/O scheduler (biolatency -Q) */
	__u32 per_process;  /* 1 = keep a histogram per issuing process */
};

/* biolat_start.flags */
#define BIOLAT_INSERTED 1   /* seen at block_rq_insert: tgid/comm are the submitter's */
#define BIOLAT_REQUEUED 2   /* requeued after issue: keep tgid/comm when it comes back */

/* When and by whom a request was started; ts == 0 and flags == 0: not in flight. */
struct biolat_start {
	__u64 ts;                   /* bpf_ktime_get_ns() at issue (cfg.queued: at insert); 0 = not yet */
	__u32 tgid;                 /* process current at insert, or at issue when not inserted */
	__u32 flags;                /* BIOLAT_INSERTED | BIOLAT_REQUEUED */
	char comm[TASK_COMM_LEN];
};

/* Key of the classic-tracepoint variant's start map: a request is (disk, first sector). */
struct biolat_sector_key {
	__u32 dev;
	__u32 _pad;
	__u64 sector;
};

/* Key of the per-disk map: kernel dev_t (major << 20 | minor) of the whole disk, and direction. */
struct biolat_disk_key {
	__u32 dev;
	__u32 op;   /* BIOLAT_OP_* */
};

/* Per disk and direction (per CPU): latency histogram (its count = completed requests) and bytes. */
struct biolat_disk {
	struct hist h;
	__u64 bytes;
};

/* Per issuing process, keyed by tgid: latency histogram, bytes, name at its first I/O. */
struct biolat_proc {
	struct hist h;
	__u64 bytes;
	char comm[TASK_COMM_LEN];
};

/* Counters of what the probe could not record (per CPU). */
struct biolat_stats {
	__u64 no_start;        /* completions without a recorded start (normal at load; filtered I/O) */
	__u64 proc_map_full;   /* per-process updates refused: the map was full */
	__u64 disk_map_full;   /* per-disk updates refused: the map was full */
};

#endif
