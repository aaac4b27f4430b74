/* SPDX-License-Identifier: GPL-2.0 */
/* biolatency: structs shared by bpf/biolatency.bpf.c and src/probes/biolatency.ts (layout checked by a test). */
#ifndef PROBETOP_BIOLATENCY_H
#define PROBETOP_BIOLATENCY_H

#include "common/hist.h"

#define BIOLAT_MAX_PROCS 2048   /* processes with I/O at once (exited ones are removed by user space) */
#define BIOLAT_MAX_DISKS 256    /* disk x direction pairs */
#define BIOLAT_MAX_INFLIGHT 10240 /* requests whose start is in a hash (starts_rq, starts_sec) */
#define BIOLAT_START_SLOTS 16384  /* request start slots (btf variant; a power of two) */
#define BIOLAT_DISK_SLOTS 64      /* per-CPU disk x direction slots (a power of two) */
#define BIOLAT_PROC_SLOTS 1024    /* per-process slots (a power of two); the rest go to the hash */
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
	__u32 start_mask;   /* start_slots entries - 1 (a power of two minus one) */
	__u32 disk_mask;    /* disk_slots entries - 1 (a power of two minus one) */
	__u32 proc_mask;    /* proc_slots entries - 1 (a power of two minus one) */
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

/* One slot of the btf variant's start array: the start of the request struct at `rq`. The slot
 * of a request is fixed by its queue, hardware queue and tag; `rq` says whose the slot is. */
struct biolat_start_slot {
	__u64 rq;                   /* address of the request struct the slot holds; 0 = never used */
	struct biolat_start s;      /* idle (ts == 0, flags == 0) when the request is not in flight */
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

/* One slot of the per-CPU disk array: the counters of one disk+direction, on one CPU. A CPU's
 * copy of a slot is claimed by the first disk+direction it counts (d.h.count != 0 from then on,
 * and `key` says which); another disk+direction that lands on it goes to the hash map `disks`.
 * The counters come first: user space copying a slot while it is being claimed sees count == 0
 * or, on x86 at least, the key written before the count. */
struct biolat_disk_slot {
	struct biolat_disk d;
	struct biolat_disk_key key;
};

/* Per issuing process, keyed by tgid: latency histogram, bytes, name at its first I/O. */
struct biolat_proc {
	struct hist h;
	__u64 bytes;
	char comm[TASK_COMM_LEN];
};

/* One slot of the per-process array: the process `tgid` (0 = free) owns it. A program claims a
 * free slot through proc_owners (so two CPUs cannot both claim it), zeroes it and writes tgid
 * last; user space frees the slot of a process that has exited (sets tgid to 0, then drops the
 * owner). A process whose slot is owned by another goes to the hash `procs`. */
struct biolat_proc_slot {
	__u32 tgid;
	__u32 _pad;
	struct biolat_proc p;
};

/* Counters of what the probe could not record (per CPU). */
struct biolat_stats {
	__u64 no_start;        /* completions without a recorded start (normal at load; filtered I/O) */
	__u64 proc_map_full;   /* per-process updates refused: the map was full */
	__u64 disk_map_full;   /* per-disk updates refused: the map was full */
	__u64 disk_slot_claims; /* disk slot copies claimed (user space rescans the slots on a change) */
};

#endif
