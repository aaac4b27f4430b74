// SPDX-License-Identifier: GPL-2.0
/*
 * biolatency: block I/O latency — the time from a request being issued to the device driver
 * (or, with cfg.queued, inserted into the I/O scheduler) to its completion. Log2 histograms
 * per disk and direction (per-CPU, no atomics) and per issuing process. Counters are
 * cumulative; user space takes deltas and sums the disks into the total.
 *
 * Who asked for an I/O is the task current at block_rq_insert (the submitter, on disks with an
 * I/O scheduler or when the queue was busy), else at block_rq_issue (direct issue, also the
 * submitter). Buffered writes are submitted by writeback kworkers (or by fsync/sync), and
 * writes through the flush machinery (FUA, preflush) are dispatched by kblockd without an
 * insert event, so per-process numbers for those mostly land on kworkers.
 *
 * Variants (user space picks the first that loads and attaches):
 *   btf: tp_btf programs, request fields read by direct BTF loads, start in an array slot
 *        chosen by the request's queue and tag (see below), else keyed by rq pointer;
 *   raw: raw_tp programs, start keyed by rq pointer, fields read with bpf_probe_read;
 *   tp:  classic tracepoints, start keyed by (dev, sector) from the trace records.
 * Each variant follows a request through insert (submitter known), issue (timer starts, or
 * with cfg.queued at insert), requeue (keep the submitter), merge (the request is freed
 * without completing) and complete (account, then mark the start idle). A partial completion
 * ends the request: the rest finds it idle and counts as no_start (as libbpf-tools). So does
 * the second completion of a request that went through the flush machinery, at the end of its
 * flush sequence; an empty preflush request (fsync's) only completes then, never issued itself:
 * the flush request that did the work was issued and is counted, as "other".
 *
 * Cost. On the cold paths these programs run on, every hash-map lookup is a few cache and TLB
 * misses (100-300 ns on a VM), while an array lookup is inlined by the verifier into a bounds
 * check and an add. So the btf variant keeps the hot state in arrays:
 *  - start_slots: blk-mq preallocates one request struct per (hardware queue, tag), so
 *    hash(queue id, hardware queue number) + tag picks a slot that belongs to one request
 *    struct for good; tags are dense, so one queue's requests take consecutive slots. The slot
 *    holds the struct's address; an event uses the slot only when it is this request's. Two
 *    queues whose ranges overlap, or the flush machinery's request (which borrows the tag of
 *    the request it flushes for), can want the same slot: a request whose slot is held by
 *    another request in flight, or that already has a start in flight in the hash, goes to
 *    starts_rq (the raw variant's map) instead, and its later events find it there.
 *  - disk_slots: per-CPU counters by disk+direction in a small array indexed
 *    by a hash of the disk, each CPU's copy claimed by the first disk+direction it counts; a
 *    disk+direction whose slots are taken goes to the per-CPU hash `disks`.
 *  - proc_slots: per-process counters in an array indexed by a hash of the tgid, a slot
 *    claimed by the first process that completes I/O there (proc_owners makes the claim
 *    exclusive without a compare-and-swap, which older kernels lack) and freed by user space
 *    when the process has exited; a process whose slot another owns goes to the hash `procs`.
 *    User space reads the array through mmap (BPF_F_MMAPABLE, 5.5+ like tp_btf): a syscall
 *    batch over every slot would cost ~300 us a second.
 * User space merges the arrays and the hashes. Slot counts are powers of two set from user
 * space (cfg.*_mask), so tests can force every fallback with one-entry arrays. The raw and tp
 * variants use the hashes only, as before.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "biolatency.h"
#include "common/bits.bpf.h"
#include "common/maps.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#ifndef E2BIG
#define E2BIG 7
#endif

/* REQ_OP_MASK: the low REQ_OP_BITS (8) of cmd_flags hold the operation since commit
 * ef295ecf090d ("block: better op and flags encoding", 4.10); a #define, not in BTF. */
#define REQ_OP_MASK_ ((1U << 8) - 1)

const volatile struct biolat_cfg cfg = {
	.start_mask = BIOLAT_START_SLOTS - 1,
	.disk_mask = BIOLAT_DISK_SLOTS - 1,
	.proc_mask = BIOLAT_PROC_SLOTS - 1,
};

/* Start of each request by slot (btf variant, see above). Sized and masked from user space
 * (cfg.start_mask), so a test can force collisions with a tiny array. A slot left holding a
 * freed request struct (scheduler switch, disk removal) is taken by the next request that maps
 * there once idle; one left in flight (a completion that never came) sends the requests that
 * map there to starts_rq until its struct is used again. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BIOLAT_START_SLOTS);
	__type(key, __u32);
	__type(value, struct biolat_start_slot);
} start_slots SEC(".maps");

/* Start of each request, keyed by its address (raw variant; btf variant when its slot is
 * taken). Request structs are preallocated per tag and reused, so entries are marked done
 * (ts = 0) instead of deleted: the steady state is lookups only, no bucket locks. LRU keeps
 * the map bounded when structs are freed (scheduler switch, disk removal). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, BIOLAT_MAX_INFLIGHT);
	__type(key, __u64);
	__type(value, struct biolat_start);
} starts_rq SEC(".maps");

/* Start of each request, keyed by (dev, sector) (tp variant); deleted at completion since
 * sectors, unlike request structs, are not reused. A front merge into an inserted request
 * moves its sector: the insert's entry is then orphaned, and LRU eviction reclaims it. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, BIOLAT_MAX_INFLIGHT);
	__type(key, struct biolat_sector_key);
	__type(value, struct biolat_start);
} starts_sec SEC(".maps");

/* Per-disk counters by slot (btf variant; per CPU; cfg.disk_mask); the rest go to `disks`. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, BIOLAT_DISK_SLOTS);
	__type(key, __u32);
	__type(value, struct biolat_disk_slot);
} disk_slots SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, BIOLAT_MAX_DISKS);
	__type(key, struct biolat_disk_key);
	__type(value, struct biolat_disk);
} disks SEC(".maps");

/* Per-process counters by slot (btf variant; cfg.proc_mask), and who claimed each slot: a hash
 * keyed by slot index only written when a slot is claimed or freed, whose BPF_NOEXIST insert
 * lets exactly one claimer win. User space sizes both alike. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BIOLAT_PROC_SLOTS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct biolat_proc_slot);
} proc_slots SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BIOLAT_PROC_SLOTS);
	__type(key, __u32);
	__type(value, __u32);
} proc_owners SEC(".maps");

/* Per process (btf variant: processes whose slot another process owns, and tgid 0). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BIOLAT_MAX_PROCS);
	__type(key, __u32);
	__type(value, struct biolat_proc);
} procs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct biolat_stats);
} stats SEC(".maps");

/* Before 5.17 the request pointed at its disk; commit f3fa33acca9f ("block: remove the
 * ->rq_disk field in struct request") replaced that with rq->q->disk (added in 5.15 by
 * commit d152c682f03c, "block: add an explicit ->disk backpointer to the request_queue"). */
struct request___o {
	struct gendisk *rq_disk;
} __attribute__((preserve_access_index));

/* Before commit d5869fdc189f ("block: introduce block_rq_error tracepoint", 6.0) the
 * completion record's type was named after block_rq_complete. */
struct trace_event_raw_block_rq_complete___x {
	dev_t dev;
	sector_t sector;
	unsigned int nr_sector;
	char rwbs[10];
} __attribute__((preserve_access_index));

enum stat_field { STAT_NO_START, STAT_PROC_FULL, STAT_DISK_FULL, STAT_DISK_CLAIM };

static __always_inline void stat_inc(enum stat_field f)
{
	struct biolat_stats *st;
	__u32 idx = 0;

	st = bpf_map_lookup_elem(&stats, &idx);
	if (!st)
		return;
	if (f == STAT_NO_START)
		st->no_start++;
	else if (f == STAT_PROC_FULL)
		st->proc_map_full++;
	else if (f == STAT_DISK_FULL)
		st->disk_map_full++;
	else
		st->disk_slot_claims++;
}

static __always_inline __u32 op_of(__u32 cmd_flags)
{
	__u32 op = cmd_flags & REQ_OP_MASK_;

	return op == REQ_OP_READ ? BIOLAT_OP_READ : op == REQ_OP_WRITE ? BIOLAT_OP_WRITE : BIOLAT_OP_OTHER;
}

/* Direction from a trace record's rwbs string: an optional 'F' (preflush) then the op letter. */
static __always_inline __u32 op_of_rwbs(const char *rwbs)
{
	char c = rwbs[0];

	if (c == 'F')
		c = rwbs[1];
	return c == 'R' ? BIOLAT_OP_READ : c == 'W' ? BIOLAT_OP_WRITE : BIOLAT_OP_OTHER;
}

/* dev_t of a disk in the kernel's encoding (MKDEV: major << 20 | minor), as trace records have it. */
static __always_inline __u32 disk_dev(int major, int first_minor)
{
	return ((__u32)major << 20) | (__u32)first_minor;
}

/* The current task as the request's submitter. The name is copied only when the process
 * differs from the struct's last user: tags are handed out with a per-CPU hint, so a process
 * doing I/O mostly gets the same request structs back. */
static __always_inline void set_task(struct biolat_start *s)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	if (s->tgid != tgid || !s->comm[0]) {
		s->tgid = tgid;
		bpf_get_current_comm(s->comm, sizeof(s->comm));
	}
}

/* block_rq_insert: the request enters the I/O scheduler (or a software queue), in the
 * submitter's context — the best moment to see who asked for it. */
static __always_inline void insert_into(struct biolat_start *s)
{
	/* Back from a requeue, often inserted by a kworker: keep who and, queued, since when. */
	if (s->flags & BIOLAT_REQUEUED) {
		s->flags |= BIOLAT_INSERTED;
		return;
	}
	/* No clock read unless queued: issue sets the start. */
	s->ts = cfg.queued ? bpf_ktime_get_ns() : 0;
	s->flags = BIOLAT_INSERTED;
	set_task(s);
}

/* block_rq_issue: the driver gets the request. It is often dispatched from another context
 * than the one that submitted it (a kworker, another submitter running the queue, the
 * completion path): the task is taken from here only for requests that were not inserted. */
static __always_inline void issue_into(struct biolat_start *s)
{
	if (!s->flags)
		set_task(s);
	if (!cfg.queued || !s->ts || !s->flags)
		s->ts = bpf_ktime_get_ns();
}

/* In place when the key is known (request structs are reused): no allocation, no bucket lock. */
static __always_inline void on_insert(void *map, const void *key)
{
	struct biolat_start *s, n = {};

	s = bpf_map_lookup_elem(map, key);
	if (s) {
		insert_into(s);
		return;
	}
	insert_into(&n);
	bpf_map_update_elem(map, key, &n, BPF_ANY);
}

static __always_inline void on_issue(void *map, const void *key)
{
	struct biolat_start *s, n = {};

	s = bpf_map_lookup_elem(map, key);
	if (s) {
		issue_into(s);
		return;
	}
	issue_into(&n);
	bpf_map_update_elem(map, key, &n, BPF_ANY);
}

/* block_rq_requeue: the request goes back to be dispatched again later. */
static __always_inline void on_requeue(struct biolat_start *s)
{
	if (s && s->ts)
		s->flags |= BIOLAT_REQUEUED;
}

/* This CPU's counters of disk+direction `dev`/`op` in disk_slots, or NULL when both slots it
 * may use are claimed by others on this CPU; *claimed: this call claimed the slot (the caller
 * counts the claim once the counters are written). Slots come in groups of four, one per
 * direction, the group picked by a multiplicative hash of the disk (its next group second). */
static __always_inline struct biolat_disk *disk_slot(__u32 dev, __u32 op, bool *claimed)
{
	__u32 group = (dev * 0x9E3779B1U) >> 16, idx;
	struct biolat_disk_slot *ds;

	for (int i = 0; i < 2; i++) {
		idx = ((group + i) * 4 + op) & cfg.disk_mask;
		ds = bpf_map_lookup_elem(&disk_slots, &idx);
		if (!ds)
			return NULL;
		if (!ds->d.h.count) {
			/* Unclaimed on this CPU: the key first, then the counters (see biolatency.h). */
			ds->key.dev = dev;
			ds->key.op = op;
			barrier();
			*claimed = true;
			return &ds->d;
		}
		if (ds->key.dev == dev && ds->key.op == op)
			return &ds->d;
	}
	return NULL;
}

/* The counters of the process that started `s`: its slot in proc_slots, claimed here when free,
 * else its entry in the hash `procs` (created here; NULL when the hash is full, counted). */
static __always_inline struct biolat_proc *proc_of(const struct biolat_start *s, const bool slots)
{
	static const struct biolat_proc pzero = {};
	struct biolat_proc_slot *ps;
	struct biolat_proc *p;
	__u32 tgid = s->tgid, idx = ((tgid * 0x9E3779B1U) >> 16) & cfg.proc_mask;
	int how;

	ps = slots ? bpf_map_lookup_elem(&proc_slots, &idx) : NULL;
	if (ps && tgid) {
		if (ps->tgid == tgid)
			return &ps->p;
		/* Free, and ours if no other CPU claims it first: zero, name, then publish. */
		if (!ps->tgid && !bpf_map_update_elem(&proc_owners, &idx, &tgid, BPF_NOEXIST)) {
			ps->p = pzero;
			__builtin_memcpy(ps->p.comm, s->comm, sizeof(ps->p.comm));
			barrier();
			ps->tgid = tgid;
			return &ps->p;
		}
	}
	p = lookup_or_init(&procs, &tgid, &pzero, &how);
	if (how == LOI_FULL)
		stat_inc(STAT_PROC_FULL);
	if (p && how == LOI_CREATED)
		__builtin_memcpy(p->comm, s->comm, sizeof(p->comm));
	return p;
}

/* Accounts one finished request started as `s`, to its disk+direction and to its process;
 * `slots` (a constant per variant): through the slot arrays first. */
static __always_inline void account(__u32 dev, __u32 op, __u64 bytes, const struct biolat_start *s,
				    const bool slots)
{
	static const struct biolat_disk dzero = {};
	__u64 delta = bpf_ktime_get_ns() - s->ts;
	struct biolat_disk *d;
	struct biolat_proc *p;
	bool claimed = false;
	int how;

	/* Filtered at the end, where the submitter is known for sure. */
	if (cfg.filter_tgid && cfg.filter_tgid != s->tgid)
		return;
	d = slots ? disk_slot(dev, op, &claimed) : NULL;
	if (!d) {
		struct biolat_disk_key dk = { .dev = dev, .op = op };

		d = lookup_or_init(&disks, &dk, &dzero, &how);
		if (how == LOI_FULL)
			stat_inc(STAT_DISK_FULL);
	}
	if (d) {
		hist_add_local(&d->h, delta);
		d->bytes += bytes;
	}
	/* After the count: user space rescans the disk slots when it sees a new claim. */
	if (claimed) {
		barrier();
		stat_inc(STAT_DISK_CLAIM);
	}
	if (!cfg.per_process)
		return;
	p = proc_of(s, slots);
	if (!p)
		return;
	hist_add_atomic(&p->h, delta);
	__sync_fetch_and_add(&p->bytes, bytes);
}

/* A request in flight, or NULL (counted) when its start was not seen. */
static __always_inline struct biolat_start *started(void *map, const void *key)
{
	struct biolat_start *s = bpf_map_lookup_elem(map, key);

	if (!s || !s->ts) {
		stat_inc(STAT_NO_START);
		return NULL;
	}
	return s;
}

/* The request struct is idle again (completed, or merged into another and freed). */
static __always_inline void forget(struct biolat_start *s)
{
	s->ts = 0;
	s->flags = 0;
}

/* ---- btf variant: tp_btf, direct loads through BTF pointers ---- */

static __always_inline __u32 rq_dev_btf(struct request *rq)
{
	struct gendisk *disk;

	if (bpf_core_field_exists(((struct request___o *)rq)->rq_disk))
		disk = ((struct request___o *)rq)->rq_disk;
	else
		disk = rq->q->disk;
	return disk ? disk_dev(disk->major, disk->first_minor) : 0;
}

/* True while a start record belongs to a request in flight (inserted, issued or requeued). */
static __always_inline bool in_flight(const struct biolat_start *s)
{
	return s->ts || s->flags;
}

/*
 * The start slot of `rq`. The request struct of a tag is fixed for the life of a tag set
 * (blk_mq_tags.static_rqs), so (queue, hardware queue, tag) names one struct: the scheduler tag
 * (internal_tag, held from allocation to free) when the queue has an elevator, else the driver
 * tag (then held from allocation). The driver tag of a scheduled request is only assigned at
 * dispatch, so it must not be used while internal_tag is set. Pointer arithmetic on BTF pointers
 * is refused, hence the queue's id rather than its address. Missing fields read as 0 (CO-RE).
 */
static __always_inline struct biolat_start_slot *slot_of(struct request *rq)
{
	__u32 qid = 0, hwq = 0, h, idx;
	int tag = rq->tag;

	if (bpf_core_field_exists(rq->q->id))
		qid = rq->q->id;
	if (bpf_core_field_exists(rq->mq_hctx))
		hwq = rq->mq_hctx->queue_num;
	if (bpf_core_field_exists(rq->internal_tag) && rq->internal_tag != -1 /* BLK_MQ_NO_TAG */)
		tag = rq->internal_tag;
	/* Hardware queues of one queue and queues apart, then the tags of one in a row. */
	h = (qid * 0x9E3779B1U) ^ (hwq * 0x85EBCA77U);
	h ^= h >> 15;
	idx = (h + (__u32)tag) & cfg.start_mask;
	return bpf_map_lookup_elem(&start_slots, &idx);
}

/* The start record of `rq` once its slot is known not to be its own, or NULL: the hash's. */
static __always_inline struct biolat_start *start_in_hash(struct request *rq)
{
	__u64 key = (__u64)rq;

	return bpf_map_lookup_elem(&starts_rq, &key);
}

/*
 * Where insert and issue record `rq`'s start: its slot when it holds `rq` (the steady state);
 * else the hash when the request already has a start in flight there (it was put there by an
 * earlier event); else the slot, claimed, when no request in flight holds it; else the hash.
 */
static __always_inline struct biolat_start *start_for(struct request *rq)
{
	static const struct biolat_start zero = {};
	struct biolat_start_slot *sl = slot_of(rq);
	struct biolat_start *s;
	__u64 key = (__u64)rq;

	if (sl && sl->rq == key)
		return &sl->s;
	s = start_in_hash(rq);
	if (s && in_flight(s))
		return s;
	if (sl && !in_flight(&sl->s)) {
		/* tgid and comm stay: set_task() compares against them, and they go together. */
		sl->rq = key;
		return &sl->s;
	}
	if (s)
		return s;
	bpf_map_update_elem(&starts_rq, &key, &zero, BPF_ANY);
	return start_in_hash(rq);
}

/* The start record of `rq` for requeue, merge and complete: its slot's or the hash's, or NULL. */
static __always_inline struct biolat_start *start_of(struct request *rq)
{
	struct biolat_start_slot *sl = slot_of(rq);

	if (sl && sl->rq == (__u64)rq)
		return &sl->s;
	return start_in_hash(rq);
}

SEC("tp_btf/block_rq_insert")
int BPF_PROG(bio_insert_btf, struct request *rq)
{
	struct biolat_start *s = start_for(rq);

	if (s)
		insert_into(s);
	return 0;
}

SEC("tp_btf/block_rq_issue")
int BPF_PROG(bio_issue_btf, struct request *rq)
{
	struct biolat_start *s = start_for(rq);

	if (s)
		issue_into(s);
	return 0;
}

SEC("tp_btf/block_rq_requeue")
int BPF_PROG(bio_requeue_btf, struct request *rq)
{
	on_requeue(start_of(rq));
	return 0;
}

/* `rq` was merged into another request and is freed without a completion. */
SEC("tp_btf/block_rq_merge")
int BPF_PROG(bio_merge_btf, struct request *rq)
{
	struct biolat_start *s = start_of(rq);

	if (s)
		forget(s);
	return 0;
}

SEC("tp_btf/block_rq_complete")
int BPF_PROG(bio_complete_btf, struct request *rq, blk_status_t error, unsigned int nr_bytes)
{
	struct biolat_start *s = start_of(rq);

	if (!s || !s->ts) {
		stat_inc(STAT_NO_START);
		return 0;
	}
	/* A partial completion ends the request here; the rest finds ts == 0 (as libbpf-tools). */
	account(rq_dev_btf(rq), op_of(rq->cmd_flags), nr_bytes, s, true);
	forget(s);
	return 0;
}

/* ---- raw variant: raw_tp, fields read with bpf_probe_read_kernel ---- */

static __always_inline __u32 rq_dev_raw(struct request *rq)
{
	struct gendisk *disk;

	if (bpf_core_field_exists(((struct request___o *)rq)->rq_disk))
		disk = BPF_CORE_READ((struct request___o *)rq, rq_disk);
	else
		disk = BPF_CORE_READ(rq, q, disk);
	return disk ? disk_dev(BPF_CORE_READ(disk, major), BPF_CORE_READ(disk, first_minor)) : 0;
}

SEC("raw_tp/block_rq_insert")
int BPF_PROG(bio_insert_raw, struct request *rq)
{
	__u64 key = (__u64)rq;

	on_insert(&starts_rq, &key);
	return 0;
}

SEC("raw_tp/block_rq_issue")
int BPF_PROG(bio_issue_raw, struct request *rq)
{
	__u64 key = (__u64)rq;

	on_issue(&starts_rq, &key);
	return 0;
}

SEC("raw_tp/block_rq_requeue")
int BPF_PROG(bio_requeue_raw, struct request *rq)
{
	__u64 key = (__u64)rq;

	on_requeue(bpf_map_lookup_elem(&starts_rq, &key));
	return 0;
}

SEC("raw_tp/block_rq_merge")
int BPF_PROG(bio_merge_raw, struct request *rq)
{
	__u64 key = (__u64)rq;
	struct biolat_start *s = bpf_map_lookup_elem(&starts_rq, &key);

	if (s)
		forget(s);
	return 0;
}

SEC("raw_tp/block_rq_complete")
int BPF_PROG(bio_complete_raw, struct request *rq, blk_status_t error, unsigned int nr_bytes)
{
	__u64 key = (__u64)rq;
	struct biolat_start *s = started(&starts_rq, &key);

	if (!s)
		return 0;
	account(rq_dev_raw(rq), op_of(BPF_CORE_READ(rq, cmd_flags)), nr_bytes, s, false);
	forget(s);
	return 0;
}

/* ---- tp variant: classic tracepoints, requests identified by (dev, sector) ---- */

static __always_inline struct biolat_sector_key rq_key_tp(struct trace_event_raw_block_rq *ctx)
{
	struct biolat_sector_key key = {};

	key.dev = ctx->dev;
	key.sector = ctx->sector;
	return key;
}

SEC("tracepoint/block/block_rq_insert")
int bio_insert_tp(struct trace_event_raw_block_rq *ctx)
{
	struct biolat_sector_key key = rq_key_tp(ctx);

	on_insert(&starts_sec, &key);
	return 0;
}

SEC("tracepoint/block/block_rq_issue")
int bio_issue_tp(struct trace_event_raw_block_rq *ctx)
{
	struct biolat_sector_key key = rq_key_tp(ctx);

	on_issue(&starts_sec, &key);
	return 0;
}

SEC("tracepoint/block/block_rq_requeue")
int bio_requeue_tp(struct trace_event_raw_block_rq_requeue *ctx)
{
	struct biolat_sector_key key = {};

	key.dev = ctx->dev;
	key.sector = ctx->sector;
	on_requeue(bpf_map_lookup_elem(&starts_sec, &key));
	return 0;
}

SEC("tracepoint/block/block_rq_merge")
int bio_merge_tp(struct trace_event_raw_block_rq *ctx)
{
	struct biolat_sector_key key = rq_key_tp(ctx);

	bpf_map_delete_elem(&starts_sec, &key);
	return 0;
}

SEC("tracepoint/block/block_rq_complete")
int bio_complete_tp(void *ctx)
{
	struct biolat_sector_key key = {};
	struct biolat_start *s;
	char rwbs[2];
	__u64 bytes;

	if (bpf_core_type_exists(struct trace_event_raw_block_rq_completion)) {
		struct trace_event_raw_block_rq_completion *c = ctx;

		key.dev = c->dev;
		key.sector = c->sector;
		bytes = (__u64)c->nr_sector << 9;
		rwbs[0] = c->rwbs[0];
		rwbs[1] = c->rwbs[1];
		/* Tracepoint context loads need constant offsets: keep clang from merging the two
		 * branches' loads into one load from a computed address (which the verifier refuses). */
		asm volatile("" ::: "memory");
	} else {
		struct trace_event_raw_block_rq_complete___x *c = ctx;

		key.dev = c->dev;
		key.sector = c->sector;
		bytes = (__u64)c->nr_sector << 9;
		rwbs[0] = c->rwbs[0];
		rwbs[1] = c->rwbs[1];
		asm volatile("" ::: "memory");
	}
	s = started(&starts_sec, &key);
	if (!s)
		return 0;
	account(key.dev, op_of_rwbs(rwbs), bytes, s, false);
	/* Sectors, unlike request structs, are not reused: delete. */
	bpf_map_delete_elem(&starts_sec, &key);
	return 0;
}
