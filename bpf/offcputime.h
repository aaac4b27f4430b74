/* SPDX-License-Identifier: GPL-2.0 */
/* offcputime: structs shared by bpf/offcputime.bpf.c and src/probes/offcputime.ts (layout checked by a test). */
#ifndef PROBETOP_OFFCPUTIME_H
#define PROBETOP_OFFCPUTIME_H

#include "common/hist.h"

#define OFFCPU_MAX_PROCS 10240   /* per-process totals (tgid) */
#define OFFCPU_MAX_STACKS 8192   /* per (tgid, kernel stack, user stack) totals */
#define OFFCPU_MAX_KSTACKS 2048  /* distinct kernel stacks */
#define OFFCPU_MAX_USTACKS 4096  /* distinct user stacks */
#define OFFCPU_MAX_TIDS 32768    /* raw_tp variant: per-thread state */
#define OFFCPU_STACK_DEPTH 64    /* frames kept per stack; deeper stacks are cut */
#define OFFCPU_MAX_SITES 4096    /* blocking-site fingerprint -> kernel stack cache (LRU) */
#define OFFCPU_WINDOW_BYTES 1024 /* bytes of a blocked task's kernel stack read for its fingerprint */
#define OFFCPU_COMM_LEN 16
/*
 * Blocks at least this long are counted from user space's last read of the maps on (see
 * offcpu_clock): shorter ones that straddle a read move at most this much into the later interval.
 */
#define OFFCPU_CLIP_MIN_NS 1000000ULL

/* Indexes of the per-CPU stack-walk budgets. */
#define OFFCPU_BUDGET_KERNEL 0
#define OFFCPU_BUDGET_USER 1

/* Read-only configuration, set by user space before load. */
struct offcputime_cfg {
	__u64 min_block_ns;      /* blocks at least this long get stacks (offcputime -m) */
	__u64 walk_interval_ns;  /* stack budget per CPU: a walk spends this much credit; 0 = no limit */
	__u64 site_cost_ns;      /* ... a blocking-site fingerprint spends this much */
	__u64 walk_burst_ns;     /* ... credit saved up to this much */
	__u64 text_start;        /* kernel text [_stext, _etext) for blocking-site fingerprints; */
	__u64 text_end;          /* 0 = fingerprints off (every kernel stack is walked) */
	__u64 entry_start;       /* the syscall entry function [start, end) (do_syscall_64), where */
	__u64 entry_end;         /* the random kernel stack offset starts; 0 = unknown */
	__u32 filter_tgid;       /* 0 = every process */
	__u32 user_stacks;       /* 1 = capture user stacks (at switch-out, see the .bpf.c) */
	__u32 verify_sites;      /* 1 = walk even on a fingerprint hit and count mismatches (tests) */
	__u32 pad;
};

/* Per-CPU stack-walk budget (a token bucket counted in ns of credit). */
struct offcpu_budget {
	__u64 last_ns;    /* when the credit was last brought up to date */
	__u64 credit_ns;  /* grows 1 ns per ns; a walk spends walk_interval_ns */
};

/* Per-thread state: task-local storage (tp_btf) or hash value keyed by tid (raw_tp). */
struct offcpu_task {
	__u64 start_ns;   /* when the thread blocked; 0 = not blocked */
	__u64 kstack;     /* raw_tp: kernel stack hash captured at switch-out, 0 = none */
	__u64 ustack;     /* user stack hash captured at switch-out, 0 = none */
	__u32 last_long;  /* 1 = the previous block was >= min_block_ns */
	__u32 pad;
};

/* Off-CPU time of one process (key: tgid). Cumulative; user space takes deltas. */
struct offcpu_proc {
	__u64 total_ns;    /* time blocked, summed over its threads (from the last read on, see offcpu_clock) */
	__u64 blocks;      /* number of blocks */
	__u64 created_ns;  /* when this entry was created (tells a re-created entry from an old one) */
	char comm[OFFCPU_COMM_LEN];  /* the thread group leader's name */
	__u64 slots[HIST_SLOTS];     /* its blocks by log2 µs duration (struct hist's buckets) */
};

/* Key of the per-(process, kernel stack, user stack) totals; a stack is named by its hash. */
struct offcpu_key {
	__u32 tgid;
	__u32 pad;
	__u64 kstack;  /* key in offcpu_kstacks, 0 = not captured */
	__u64 ustack;  /* key in offcpu_ustacks, 0 = not captured */
};

/* Off-CPU time of one (process, stacks) key, blocks >= min_block_ns only. Cumulative. */
struct offcpu_val {
	__u64 total_ns;
	__u64 blocks;
	__u64 created_ns;
	char comm[OFFCPU_COMM_LEN];
};

/* One stack: instruction pointers, leaf first, zero-filled after the last frame. */
struct offcpu_stack {
	__u64 ips[OFFCPU_STACK_DEPTH];
};

/* Counters of what the probe could not record, and of long blocks (per CPU, cumulative). */
struct offcpu_stats {
	__u64 proc_map_full;     /* per-process updates refused: map full (time not counted per process) */
	__u64 stack_map_full;    /* per-stack updates refused: map full (long block not attributed) */
	__u64 kstack_map_full;   /* kernel stacks not stored: map full (recorded as "no stack") */
	__u64 ustack_map_full;   /* user stacks not stored: map full */
	__u64 tid_map_full;      /* blocks not tracked: raw_tp map full, tp_btf task storage refused */
	__u64 kstack_failed;     /* kernel stack walk returned nothing */
	__u64 stack_lost;        /* stack captured at switch-out was freed before the switch-in */
	__u64 long_blocks;       /* blocks >= min_block_ns */
	__u64 long_with_kstack;  /* ... of which with a kernel stack */
	__u64 long_with_ustack;  /* ... of which with a user stack */
	__u64 walks_skipped;     /* stack captures (fingerprint, kernel or user walk) skipped: over the budget */
	__u64 site_hits;         /* kernel stacks taken from the fingerprint cache instead of a walk */
	__u64 site_mismatch;     /* verify_sites: a cached stack differed from the walked one */
};

/* Where a blocked task's kernel stack is copied to compute its fingerprint (twice the bytes
 * read, so that a size masked with 2 * OFFCPU_WINDOW_BYTES - 1 provably fits). */
struct offcpu_window {
	__u64 words[OFFCPU_WINDOW_BYTES / 4];
};

#endif
