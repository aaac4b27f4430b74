/* SPDX-License-Identifier: GPL-2.0 */
/* Log2 histogram shared by every latency probe and by user space (src/model/hist.ts). */
#ifndef PROBETOP_HIST_H
#define PROBETOP_HIST_H

/* Slot 0 holds [0, 2) µs, slot k >= 1 holds [2^k, 2^(k+1)) µs; the last slot takes the rest. */
#define HIST_SLOTS 32

/* Cumulative counters: the kernel only ever adds, user space takes deltas per tick. */
struct hist {
	__u64 count;              /* events */
	__u64 sum_ns;             /* total latency, ns */
	__u64 slots[HIST_SLOTS];  /* events per log2 µs bucket */
};

#endif
