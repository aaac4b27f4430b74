// SPDX-License-Identifier: GPL-2.0
/*
 * Deliberately broken programs for the reliability tests (test/bpf/faults.test.ts): one the
 * verifier must reject, and one that attaches to a tracepoint no kernel has. Never loaded by
 * probetop itself.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} fault_counts SEC(".maps");

/* Reads past the end of a map value: the verifier rejects it. */
SEC("raw_tp/sched_switch")
int fault_verifier(void *ctx)
{
	__u32 key = 0;
	__u64 *v = bpf_map_lookup_elem(&fault_counts, &key);
	volatile __u32 idx = 100;

	if (v)
		return *(v + idx);
	return 0;
}

/* A well-formed program on a tracepoint that does not exist: attach fails. */
SEC("raw_tp/probetop_no_such_tracepoint")
int fault_missing_tp(void *ctx)
{
	__u32 key = 1;
	__u64 *v = bpf_map_lookup_elem(&fault_counts, &key);

	if (v)
		__sync_fetch_and_add(v, 1);
	return 0;
}
