/* SPDX-License-Identifier: GPL-2.0 */
/* cachestat: structs shared by bpf/cachestat.bpf.c and src/probes/cachestat.ts (layout checked by a test). */
#ifndef PROBETOP_CACHESTAT_H
#define PROBETOP_CACHESTAT_H

#define CS_MAX_PROCS 10240
#define CS_COMM_LEN 16

/* Read-only configuration, set by user space before load. */
struct cachestat_cfg {
	__u32 filter_tgid;  /* 0 = every process */
	__u32 per_process;  /* 1 = keep counters per process */
	__u32 page_shift;   /* log2 of the page size (12 for 4 KiB): BPF code has no PAGE_SHIFT */
	__u32 pad;
};

/* Cumulative page-cache counters; the kernel only adds, user space takes deltas. */
struct cs_counts {
	__u64 accessed;     /* pages looked up in the page cache (reads, faults) */
	__u64 added;        /* pages inserted into the page cache (read misses, and pages new writes create) */
	__u64 dirtied;      /* pages that went from clean to dirty */
	__u64 write_added;  /* of `added`: pages a write created (dirtied right after insertion) */
};

/*
 * What happened last on this CPU. A read that the kernel splits into several page-cache lookups
 * reports overlapping ranges, and the overlap must be counted once; a folio that is dirtied by
 * the thread that inserted it just before was created by a write, not read from disk.
 */
struct cs_recent {
	__u64 mapping;      /* file of the last read range (struct address_space *, or dev/inode) */
	__u64 first;        /* its first page index */
	__u64 last;         /* its last page index counted */
	__u64 add_id;       /* the folio inserted last (pointer, or inode/index), 0 when consumed */
	__u64 add_pages;    /* its pages */
	__u32 tid;          /* the thread of the last read range */
	__u32 add_tid;      /* the thread that inserted add_id */
};

/*
 * Counts of one process not yet added to its cs_procs entry: a process's page-cache events come
 * in runs on one CPU (an exec maps ~50 fault-around windows), so the hash lookup and atomic adds
 * are paid once a run instead of once an event. The run is added to the entry (flushed) when
 * this CPU sees another process's event; until then user space adds it when it reads (the
 * entry's counts plus this). Moving to another process happens between seq_end and seq_begin:
 * seq_end goes up first, seq_begin last, so a copy read front to back with seq_begin ==
 * seq_end was not taken during a move (user space then leaves this CPU's counts out: they are
 * in the entry, or will be, a tick later). That relies on stores and loads staying in program
 * order, as on x86; the adds are plain BPF atomics (no fetch: older kernels), which do not order
 * anything on arm64, where a read racing a move may rarely add a run to the wrong process.
 */
struct cs_pend {
	__u64 seq_begin;    /* = seq_end when no move is under way */
	__u32 tgid;         /* the process these counts belong to; 0 = none */
	__u32 pad;
	struct cs_counts c;
	__u64 seq_end;
};

/* The per-CPU value of the global map: counters plus this CPU's recent events. */
struct cs_cpu {
	struct cs_counts c;
	struct cs_recent recent;
	struct cs_pend pend;
};

/* Per-process counters, keyed by tgid. */
struct cs_proc {
	struct cs_counts c;
	char comm[CS_COMM_LEN];
};

/* Counters of what the probe could not record (per CPU). */
struct cs_stats {
	__u64 proc_map_full;  /* per-process updates refused: the map was full */
};

#endif
