/* SPDX-License-Identifier: GPL-2.0 */
/* runqlat: structs shared by bpf/runqlat.bpf.c and src/probes/runqlat.ts (layout checked by a test). */
#ifndef PROBETOP_RUNQLAT_H
#define PROBETOP_RUNQLAT_H

#include "common/hist.h"

#define RQ_MAX_PROCS 10240
#define TASK_COMM_LEN 16

/* Read-only configuration, set by user space before load. */
struct runqlat_cfg {
	__u32 filter_tgid;  /* 0 = every process */
	__u32 per_process;  /* 1 = keep a histogram per process */
};

/* Per-process run-queue latency, keyed by tgid. */
struct rq_proc {
	struct hist h;
	char comm[TASK_COMM_LEN];
};

/* Counters of what the probe could not record (per CPU). */
struct rq_stats {
	__u64 proc_map_full;  /* per-process updates refused: the map was full */
	__u64 no_start;       /* switch-ins without a recorded enqueue time (normal at start) */
};

#endif
