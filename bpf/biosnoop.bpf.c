// SPDX-License-Identifier: GPL-2.0
/*
 * biosnoop: each block request of one process (cfg.tgid) that took at least tracer_live.min_ns
 * — disk, direction, sector, bytes, latency split into queue (insert to issue) and service
 * (issue to completion). Loaded only while the process screen is open.
 *
 * A request belongs to the process current at block_rq_insert (the submitter; on disks with an
 * I/O scheduler every request is inserted). On a queue without a scheduler the submitter
 * usually issues directly, without an insert: then the process current at block_rq_issue is
 * taken, but only when the queue has no elevator — on one that has, an issue without a tracked
 * insert is somebody else's request dispatched from our context. Only the traced process's
 * requests are remembered, so other processes cost a pid compare at insert and a lookup miss
 * at issue and completion.
 *
 * Variants (user space picks the first that loads and attaches):
 *   tp_btf:     BTF tracepoints, request fields by plain loads, requests keyed by address;
 *   raw_tp:     the same with CO-RE probe reads;
 *   tracepoint: classic block tracepoints (tracefs), requests keyed by (dev, sector); the
 *               record has no queue pointer, so a direct issue is always taken as ours.
 * Layouts of 6.18: block_rq_issue(rq), block_rq_insert(rq), block_rq_merge(rq),
 * block_rq_complete(rq, error, nr_bytes).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#define TR_RING_SIZE TR_BIO_RING_BYTES
#include "tracers.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* REQ_OP_MASK: the low 8 bits of cmd_flags hold the operation since commit ef295ecf090d
 * ("block: better op and flags encoding", 4.10); a #define, not in BTF. */
#define REQ_OP_MASK_ ((1U << 8) - 1)

/* Requests in flight keyed by the address of their struct request (tp_btf, raw_tp). Request
 * structs are reused; rq_start_ns tells a new request from a stale entry whose completion was
 * missed. LRU bounds what missed completions leave behind. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, TR_MAX_INFLIGHT);
	__type(key, __u64);
	__type(value, struct tr_bio_start);
} bio_rq SEC(".maps");

/* Requests in flight keyed by (dev, first sector) (tracepoint). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, TR_MAX_INFLIGHT);
	__type(key, struct tr_bio_key);
	__type(value, struct tr_bio_start);
} bio_sec SEC(".maps");

/*
 * Requests of the traced process in flight. While it is 0 — most of the time, for most
 * processes — other processes' requests skip the hash lookups: a lookup of a cold bucket costs
 * ~250 ns here, the whole program ~40 ns without it. An upper bound: an entry evicted by the
 * LRU without its completion leaves it too high (more lookups, never a missed request).
 */
__u64 bio_inflight = 0;

/* Forgets a request; the counter follows only what was really removed. */
static __always_inline void forget(void *map, const void *key)
{
	if (bpf_map_delete_elem(map, key) == 0)
		__sync_fetch_and_add(&bio_inflight, -1);
}

/* Remembers a new request (`fresh`: no entry existed under its key). */
static __always_inline void remember(void *map, const void *key, struct tr_bio_start *n, bool fresh)
{
	if (bpf_map_update_elem(map, key, n, BPF_ANY)) {
		tr_no_slot();
		return;
	}
	if (fresh)
		__sync_fetch_and_add(&bio_inflight, 1);
}

/* Never called: puts the record types into the object's BTF for the layout test. */
__noinline int bio_record_types(struct tr_bio *e, struct tr_bio_start *s, struct tr_bio_key *k,
				struct tr_stats *st, struct tracer_live *l)
{
	return e == (void *)s || k == (void *)st || l == (void *)e;
}

/* Before 5.17 the request pointed at its disk; commit f3fa33acca9f ("block: remove the
 * ->rq_disk field in struct request") replaced that with rq->q->disk. */
struct request___o {
	struct gendisk *rq_disk;
} __attribute__((preserve_access_index));

/* Before commit d5869fdc189f ("block: introduce block_rq_error tracepoint", 6.0) the
 * completion record's type was named after block_rq_complete. */
struct trace_event_raw_block_rq_complete___x {
	dev_t dev;
	sector_t sector;
	unsigned int nr_sector;
	int error;
	char rwbs[8];
} __attribute__((preserve_access_index));

/* RD(direct, p, a, b...) reads p->a->b: plain loads for tp_btf (`direct` is a constant),
 * CO-RE probe reads otherwise; after inlining one branch remains. */
#define RD(direct, src, a, ...) \
	((direct) ? (src)->___arrow(a, ##__VA_ARGS__) : BPF_CORE_READ(src, a, ##__VA_ARGS__))

static __always_inline __u8 op_of(__u32 cmd_flags)
{
	switch (cmd_flags & REQ_OP_MASK_) {
	case REQ_OP_READ:
		return TR_OP_READ;
	case REQ_OP_WRITE:
		return TR_OP_WRITE;
	case REQ_OP_FLUSH:
		return TR_OP_FLUSH;
	case REQ_OP_DISCARD:
		return TR_OP_DISCARD;
	default:
		return TR_OP_OTHER;
	}
}

/* Flag bit numbers from BTF (enum req_flag_bits), not hard-coded: they moved between kernels. */
static __always_inline __u8 flags_of(__u32 cmd_flags)
{
	__u8 f = 0;

	if (cmd_flags & (1U << bpf_core_enum_value(enum req_flag_bits, __REQ_SYNC)))
		f |= TR_BIO_F_SYNC;
	if (cmd_flags & (1U << bpf_core_enum_value(enum req_flag_bits, __REQ_FUA)))
		f |= TR_BIO_F_FUA;
	if (cmd_flags & (1U << bpf_core_enum_value(enum req_flag_bits, __REQ_PREFLUSH)))
		f |= TR_BIO_F_PREFLUSH;
	if (cmd_flags & (1U << bpf_core_enum_value(enum req_flag_bits, __REQ_META)))
		f |= TR_BIO_F_META;
	return f;
}

/* Direction and flags from a trace record's rwbs: [F(preflush)] op [F(fua)] [A] [S] [M]. */
static __always_inline void parse_rwbs(const char *rwbs, __u8 *op, __u8 *flags)
{
	char c = rwbs[0];
	int i = 1;

	*flags = 0;
	if (c == 'F' && (rwbs[1] == 'W' || rwbs[1] == 'R' || rwbs[1] == 'D' || rwbs[1] == 'N' || rwbs[1] == 'F')) {
		*flags |= TR_BIO_F_PREFLUSH;
		c = rwbs[1];
		i = 2;
	}
	*op = c == 'R' ? TR_OP_READ : c == 'W' ? TR_OP_WRITE : c == 'F' ? TR_OP_FLUSH : c == 'D' ? TR_OP_DISCARD : TR_OP_OTHER;
#pragma unroll
	for (int k = 1; k < 7; k++) {
		if (k < i)
			continue;
		if (rwbs[k] == 'F')
			*flags |= TR_BIO_F_FUA;
		else if (rwbs[k] == 'S')
			*flags |= TR_BIO_F_SYNC;
		else if (rwbs[k] == 'M')
			*flags |= TR_BIO_F_META;
		else if (!rwbs[k])
			break;
	}
}

/* dev_t of a disk in the kernel's encoding (MKDEV: major << 20 | minor), as trace records have it. */
static __always_inline __u32 disk_dev(int major, int first_minor)
{
	return ((__u32)major << 20) | (__u32)first_minor;
}

/* The current task as the submitter of a new in-flight entry. */
static __always_inline void set_owner(struct tr_bio_start *s, __u64 pid_tgid)
{
	s->tid = (__u32)pid_tgid;
	bpf_get_current_comm(s->comm, sizeof(s->comm));
}

/* block_rq_insert in the submitter's context, which the caller checked is the traced process. */
static __always_inline void on_insert(void *map, const void *key, __u64 rq_start)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct tr_bio_start *s, n = {};

	s = bpf_map_lookup_elem(map, key);
	/* Back from a requeue: keep its first insert time. */
	if (s && s->rq_start_ns == rq_start && s->issue_ns)
		return;
	n.insert_ns = bpf_ktime_get_ns();
	n.rq_start_ns = rq_start;
	set_owner(&n, id);
	remember(map, key, &n, !s);
}

/* block_rq_issue (often in a kworker or another submitter): the request reaches the driver. */
static __always_inline void on_issue(void *map, const void *key, __u64 rq_start, bool may_be_direct)
{
	struct tr_bio_start *s = NULL, n = {};
	__u64 id;

	if (bio_inflight)
		s = bpf_map_lookup_elem(map, key);
	if (s) {
		if (s->rq_start_ns == rq_start) {
			s->issue_ns = bpf_ktime_get_ns();
			return;
		}
		/* A request struct reused since an entry whose completion was missed. */
		forget(map, key);
	}
	if (!may_be_direct)
		return;
	id = bpf_get_current_pid_tgid();
	if ((id >> 32) != cfg.tgid)
		return;
	n.issue_ns = bpf_ktime_get_ns();
	n.rq_start_ns = rq_start;
	set_owner(&n, id);
	remember(map, key, &n, true);
}

/*
 * block_rq_complete: when the request at `key` is the traced process's and was slow enough,
 * returns its record with the timing and submitter filled in (the caller adds what it reads
 * from the request, only now that it is needed, and submits); forgets the request either way.
 */
static __always_inline struct tr_bio *complete_record(void *map, const void *key, __u64 rq_start)
{
	struct tr_bio_start *s;
	struct tr_bio *e = NULL;
	__u64 now, start, min;

	if (!bio_inflight)
		return NULL;
	s = bpf_map_lookup_elem(map, key);
	if (!s)
		return NULL;
	if (s->rq_start_ns != rq_start)
		goto done;
	now = bpf_ktime_get_ns();
	start = s->insert_ns ? s->insert_ns : s->issue_ns;
	min = tr_min_ns();
	if (!start || !min || now - start < min)
		goto done;
	e = tr_reserve(sizeof(*e));
	if (!e)
		goto done;
	e->ts_ns = now;
	e->latency_ns = now - start;
	e->queue_ns = s->insert_ns && s->issue_ns > s->insert_ns ? s->issue_ns - s->insert_ns : 0;
	e->tid = s->tid;
	e->kind = TR_KIND_BIO;
	e->flags = s->insert_ns ? TR_BIO_F_INSERTED : 0;
	__builtin_memcpy(e->comm, s->comm, sizeof(e->comm));
done:
	forget(map, key);
	return e;
}

/* ---- tp_btf and raw_tp: requests keyed by address ---- */

static __always_inline __u64 rq_start_of(struct request *rq, bool direct)
{
	return bpf_core_field_exists(rq->start_time_ns) ? RD(direct, rq, start_time_ns) : 0;
}

static __always_inline __u32 rq_dev(struct request *rq, bool direct)
{
	struct gendisk *disk;

	if (bpf_core_field_exists(((struct request___o *)rq)->rq_disk))
		disk = BPF_CORE_READ((struct request___o *)rq, rq_disk);
	else
		disk = RD(direct, rq, q, disk);
	if (!disk)
		return 0;
	return disk_dev(RD(direct, disk, major), RD(direct, disk, first_minor));
}

static __always_inline void insert_rq(struct request *rq, bool direct)
{
	__u64 key = (__u64)rq;

	/* Test the process before reading the request. */
	if (!traced())
		return;
	on_insert(&bio_rq, &key, rq_start_of(rq, direct));
}

static __always_inline void issue_rq(struct request *rq, bool direct)
{
	__u64 key = (__u64)rq;

	/* Neither a request of ours in flight nor ours to issue: nothing to read. */
	if (!bio_inflight && !traced())
		return;
	/* A direct issue has no insert only on a queue without an I/O scheduler. */
	on_issue(&bio_rq, &key, rq_start_of(rq, direct), RD(direct, rq, q, elevator) == NULL);
}

static __always_inline void merge_rq(struct request *rq)
{
	__u64 key = (__u64)rq;

	if (bio_inflight && bpf_map_lookup_elem(&bio_rq, &key))
		forget(&bio_rq, &key);
}

static __always_inline void complete_rq(struct request *rq, int error, __u64 nr_bytes, bool direct)
{
	__u64 key = (__u64)rq;
	struct tr_bio *e;
	__u32 cmd_flags;

	if (!bio_inflight)
		return;
	e = complete_record(&bio_rq, &key, rq_start_of(rq, direct));
	if (!e)
		return;
	cmd_flags = RD(direct, rq, cmd_flags);
	e->sector = RD(direct, rq, __sector);
	e->bytes = nr_bytes;
	e->dev = rq_dev(rq, direct);
	e->error = error;
	e->op = op_of(cmd_flags);
	e->flags |= flags_of(cmd_flags);
	tr_submit(e);
}

SEC("tp_btf/block_rq_insert")
int BPF_PROG(bio_insert_btf, struct request *rq)
{
	insert_rq(rq, true);
	return 0;
}

SEC("tp_btf/block_rq_issue")
int BPF_PROG(bio_issue_btf, struct request *rq)
{
	issue_rq(rq, true);
	return 0;
}

/* `rq` was merged into another request and is freed without a completion. */
SEC("tp_btf/block_rq_merge")
int BPF_PROG(bio_merge_btf, struct request *rq)
{
	merge_rq(rq);
	return 0;
}

SEC("tp_btf/block_rq_complete")
int BPF_PROG(bio_complete_btf, struct request *rq, blk_status_t error, unsigned int nr_bytes)
{
	complete_rq(rq, error, nr_bytes, true);
	return 0;
}

SEC("raw_tp/block_rq_insert")
int BPF_PROG(bio_insert_raw, struct request *rq)
{
	insert_rq(rq, false);
	return 0;
}

SEC("raw_tp/block_rq_issue")
int BPF_PROG(bio_issue_raw, struct request *rq)
{
	issue_rq(rq, false);
	return 0;
}

SEC("raw_tp/block_rq_merge")
int BPF_PROG(bio_merge_raw, struct request *rq)
{
	merge_rq(rq);
	return 0;
}

SEC("raw_tp/block_rq_complete")
int BPF_PROG(bio_complete_raw, struct request *rq, blk_status_t error, unsigned int nr_bytes)
{
	complete_rq(rq, error, nr_bytes, false);
	return 0;
}

/* ---- tracepoint: requests keyed by (dev, sector) from the trace records ---- */

SEC("tracepoint/block/block_rq_insert")
int bio_insert_tp(struct trace_event_raw_block_rq *ctx)
{
	struct tr_bio_key key = { .dev = ctx->dev, .sector = ctx->sector };

	if (traced()) {
		on_insert(&bio_sec, &key, 0);
	} else if (bio_inflight && bpf_map_lookup_elem(&bio_sec, &key)) {
		/* Sectors are reused: another process's request at a sector we still hold means our
		 * completion there was missed. Drop the stale entry rather than report theirs. */
		forget(&bio_sec, &key);
	}
	return 0;
}

SEC("tracepoint/block/block_rq_issue")
int bio_issue_tp(struct trace_event_raw_block_rq *ctx)
{
	struct tr_bio_key key = { .dev = ctx->dev, .sector = ctx->sector };

	if (!bio_inflight && !traced())
		return 0;
	on_issue(&bio_sec, &key, 0, true);
	return 0;
}

SEC("tracepoint/block/block_rq_merge")
int bio_merge_tp(struct trace_event_raw_block_rq *ctx)
{
	struct tr_bio_key key = { .dev = ctx->dev, .sector = ctx->sector };

	if (bio_inflight && bpf_map_lookup_elem(&bio_sec, &key))
		forget(&bio_sec, &key);
	return 0;
}

SEC("tracepoint/block/block_rq_complete")
int bio_complete_tp(void *ctx)
{
	struct tr_bio_key key = {};
	char rwbs[8] = {};
	struct tr_bio *e;
	__u64 bytes;
	__u8 op, flags;
	int error;

	if (!bio_inflight)
		return 0;
	if (bpf_core_type_exists(struct trace_event_raw_block_rq_completion)) {
		struct trace_event_raw_block_rq_completion *c = ctx;

		key.dev = c->dev;
		key.sector = c->sector;
		bytes = (__u64)c->nr_sector << 9;
		error = c->error;
		/* Constant offsets only for context loads: one byte at a time, and keep clang from
		 * merging the two branches' loads into one from a computed address. */
		rwbs[0] = c->rwbs[0]; rwbs[1] = c->rwbs[1]; rwbs[2] = c->rwbs[2]; rwbs[3] = c->rwbs[3];
		rwbs[4] = c->rwbs[4]; rwbs[5] = c->rwbs[5]; rwbs[6] = c->rwbs[6];
		asm volatile("" ::: "memory");
	} else {
		struct trace_event_raw_block_rq_complete___x *c = ctx;

		key.dev = c->dev;
		key.sector = c->sector;
		bytes = (__u64)c->nr_sector << 9;
		error = c->error;
		rwbs[0] = c->rwbs[0]; rwbs[1] = c->rwbs[1]; rwbs[2] = c->rwbs[2]; rwbs[3] = c->rwbs[3];
		rwbs[4] = c->rwbs[4]; rwbs[5] = c->rwbs[5]; rwbs[6] = c->rwbs[6];
		asm volatile("" ::: "memory");
	}
	e = complete_record(&bio_sec, &key, 0);
	if (!e)
		return 0;
	parse_rwbs(rwbs, &op, &flags);
	e->sector = key.sector;
	e->bytes = bytes;
	e->dev = key.dev;
	e->error = error;
	e->op = op;
	e->flags |= flags;
	tr_submit(e);
	return 0;
}
