/* SPDX-License-Identifier: GPL-2.0 */
/* Small arithmetic helpers for BPF programs. */
#ifndef PROBETOP_BITS_BPF_H
#define PROBETOP_BITS_BPF_H

#include "hist.h"

/* floor(log2(v)) for v > 0, 0 for v == 0; branch-light so the verifier and the CPU both like it. */
static __always_inline __u32 log2_u64(__u64 v)
{
	__u32 r = 0, shift;

	shift = (v > 0xFFFFFFFFULL) << 5; v >>= shift; r |= shift;
	shift = (v > 0xFFFF) << 4; v >>= shift; r |= shift;
	shift = (v > 0xFF) << 3; v >>= shift; r |= shift;
	shift = (v > 0xF) << 2; v >>= shift; r |= shift;
	shift = (v > 0x3) << 1; v >>= shift; r |= shift;
	r |= (v >> 1);
	return r;
}

/* The histogram slot of a latency given in ns (buckets are log2 of µs). */
static __always_inline __u32 hist_slot_ns(__u64 delta_ns)
{
	__u64 slot = log2_u64(delta_ns / 1000);

	if (slot >= HIST_SLOTS)
		slot = HIST_SLOTS - 1;
	/* clang 14 checks the bound on a copy of the register and indexes with the original, so
	 * the verifier sees an unbounded index. HIST_SLOTS is a power of two: this mask in asm is
	 * a no-op clang cannot drop, applied to the very register that indexes. */
	asm volatile("%0 &= %1" : "+r"(slot) : "i"(HIST_SLOTS - 1));
	return slot;
}

/* Add one event to a histogram that only this CPU writes (per-CPU map value). */
static __always_inline void hist_add_local(struct hist *h, __u64 delta_ns)
{
	__u32 slot = hist_slot_ns(delta_ns);

	h->count++;
	h->sum_ns += delta_ns;
	h->slots[slot]++;
}

/* Add one event to a histogram that several CPUs may write (shared hash value). */
static __always_inline void hist_add_atomic(struct hist *h, __u64 delta_ns)
{
	__u32 slot = hist_slot_ns(delta_ns);

	__sync_fetch_and_add(&h->count, 1);
	__sync_fetch_and_add(&h->sum_ns, delta_ns);
	__sync_fetch_and_add(&h->slots[slot], 1);
}

#endif
