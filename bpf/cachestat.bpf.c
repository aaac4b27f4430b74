// SPDX-License-Identifier: GPL-2.0
/*
 * cachestat: page-cache accesses, pages added (misses) and pages dirtied,
 * globally (per-CPU counters, no atomics) and per process (one hash value per tgid, added to once
 * per run of one process's events on a CPU: struct cs_pend). Counters are cumulative; user space
 * takes deltas, adds the runs not yet flushed, and removes exited processes.
 *
 * Variants (user space picks the first that loads and attaches):
 *   fentry:       the tp_btf programs, plus fentry/folio_mark_accessed for the page-cache
 *                 lookups that are not read() or faults (metadata buffers, tmpfs, ...);
 *   fentry_nomap: kernels before 6.11 (no filemap read/fault tracepoints): every folio
 *                 marked accessed counts;
 *   tp_btf:       accesses = the page range each read() looks up (mm_filemap_get_pages) plus
 *                 the fault-around window of each mmap fault (mm_filemap_map_pages / _fault);
 *   raw_tp:       the same with raw tracepoints (no direct BTF loads);
 *   tracepoint:   the same with classic tracepoints (needs tracefs; no folio or inode pointer,
 *                 so large folios count as one dirtied page and ranges are not cut at EOF).
 * A page inserted and then dirtied at once by the same thread was created by a buffered write:
 * it is counted in write_added, so that misses (added - write_added) are pages read from disk.
 * Every variant takes insertions from filemap:mm_filemap_add_to_page_cache and dirtied pages from
 * writeback:writeback_dirty_folio: both tracepoints sit inside the one function that inserts a
 * folio (__filemap_add_folio, after success) or accounts a newly dirty one
 * (folio_account_dirtied), so they are exact and, unlike an fentry target, cannot be inlined
 * away at some call sites (folio_account_dirtied is static and inlined on 6.18). That includes
 * buffer-head file systems (mark_buffer_dirty -> __folio_mark_dirty): block:block_dirty_buffer
 * would only add buffers re-dirtied inside an already dirty folio (measured on ext4: one more
 * event per page written, ~120 ns each, for no new dirtied page), so it is not attached.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "cachestat.h"
#include "common/maps.bpf.h"

char LICENSE[] SEC("license") = "GPL";

const volatile struct cachestat_cfg cfg = {};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cs_cpu);
} cs_total SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CS_MAX_PROCS);
	__type(key, __u32);
	__type(value, struct cs_proc);
} cs_procs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cs_stats);
} cs_stats SEC(".maps");

enum cs_kind { CS_ACCESSED, CS_ADDED, CS_DIRTIED, CS_WRITE_ADDED };

/* The counter of `kind` (a constant after inlining, so this folds to one address). */
static __always_inline __u64 *counter(struct cs_counts *c, enum cs_kind kind)
{
	switch (kind) {
	case CS_ACCESSED: return &c->accessed;
	case CS_ADDED: return &c->added;
	case CS_DIRTIED: return &c->dirtied;
	default: return &c->write_added;
	}
}

static __always_inline bool tgid_wanted(__u32 tgid)
{
	return cfg.filter_tgid == 0 || cfg.filter_tgid == tgid;
}

static __always_inline struct cs_cpu *cpu_slot(void)
{
	__u32 idx = 0;

	return bpf_map_lookup_elem(&cs_total, &idx);
}

/* Adds a run of counts (struct cs_pend) to its process's entry, if the entry still exists. */
static __always_inline void pend_flush(struct cs_pend *pd)
{
	__u32 tgid = pd->tgid;
	struct cs_proc *p;

	if (!tgid)
		return;
	p = bpf_map_lookup_elem(&cs_procs, &tgid);
	if (!p)
		return; /* swept by user space: the process exited, and these counts were read with it */
	if (pd->c.accessed)
		__sync_fetch_and_add(&p->c.accessed, pd->c.accessed);
	if (pd->c.added)
		__sync_fetch_and_add(&p->c.added, pd->c.added);
	if (pd->c.dirtied)
		__sync_fetch_and_add(&p->c.dirtied, pd->c.dirtied);
	if (pd->c.write_added)
		__sync_fetch_and_add(&p->c.write_added, pd->c.write_added);
}

/*
 * Adds `n` (and `n2`) to the current process's counters. While this CPU's run (s->pend) is the
 * same process's, that is two plain adds; otherwise the run is flushed and a new one starts,
 * with the process's entry created here (its name taken now, a full map counted). Without a CPU
 * slot, or for tgid 0, the entry is updated at once.
 */
static __always_inline void proc_add2(struct cs_cpu *s, __u32 tgid, enum cs_kind kind, __u64 n, enum cs_kind kind2, __u64 n2)
{
	static const struct cs_proc zero = {};
	struct cs_stats *st;
	struct cs_pend *pd;
	struct cs_proc *p;
	__u32 idx = 0;
	int how;

	if (!cfg.per_process)
		return;
	if (s && tgid && s->pend.tgid == tgid) {
		*counter(&s->pend.c, kind) += n;
		if (n2)
			*counter(&s->pend.c, kind2) += n2;
		return;
	}
	p = lookup_or_init(&cs_procs, &tgid, &zero, &how);
	if (how == LOI_FULL) {
		st = bpf_map_lookup_elem(&cs_stats, &idx);
		if (st)
			st->proc_map_full++;
	}
	if (p && how == LOI_CREATED)
		bpf_get_current_comm(p->comm, sizeof(p->comm));
	if (!s || !tgid) {
		if (!p)
			return;
		__sync_fetch_and_add(counter(&p->c, kind), n);
		if (n2)
			__sync_fetch_and_add(counter(&p->c, kind2), n2);
		return;
	}
	/*
	 * The move to this process's run, between seq_end and seq_begin. The locked adds keep the
	 * stores in order on x86 (as the kernel's front-to-back copy keeps the loads); on weakly
	 * ordered CPUs a read racing a move may rarely take a torn run (see struct cs_pend).
	 */
	pd = &s->pend;
	__sync_fetch_and_add(&pd->seq_end, 1);
	pend_flush(pd);
	pd->c.accessed = 0;
	pd->c.added = 0;
	pd->c.dirtied = 0;
	pd->c.write_added = 0;
	pd->tgid = p ? tgid : 0; /* no entry (map full): nothing to add this run to */
	if (p) {
		*counter(&pd->c, kind) += n;
		if (n2)
			*counter(&pd->c, kind2) += n2;
	}
	__sync_fetch_and_add(&pd->seq_begin, 1);
}

static __always_inline void proc_add(struct cs_cpu *s, __u32 tgid, enum cs_kind kind, __u64 n)
{
	proc_add2(s, tgid, kind, n, kind, 0);
}

/* Counts `n` pages of `kind` for the current task. */
static __always_inline void count(enum cs_kind kind, __u64 n)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct cs_cpu *s;

	if (!n || !tgid_wanted(tgid))
		return;
	s = cpu_slot();
	if (s)
		*counter(&s->c, kind) += n;
	proc_add(s, tgid, kind, n);
}

/*
 * Counts the pages [first, last] of one read() lookup of `mapping`. filemap_read() calls
 * filemap_get_pages() again with the rest of the range when a batch stops early (31 folios,
 * a folio not yet up to date, a readahead mark): the repeated part starts inside the range
 * counted just before by the same thread, and is skipped. This also matches the kernel's own
 * rule of not marking a folio accessed again when a read starts where the previous one ended.
 */
static __always_inline void count_read(__u64 mapping, __u64 first, __u64 last)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32, tid = (__u32)id;
	struct cs_cpu *s;
	__u64 n;

	if (last < first || !tgid_wanted(tgid))
		return;
	s = cpu_slot();
	if (!s)
		return;
	if (s->recent.tid == tid && s->recent.mapping == mapping && first >= s->recent.first && first <= s->recent.last) {
		if (last <= s->recent.last)
			return;
		n = last - s->recent.last;
	} else {
		n = last - first + 1;
		s->recent.tid = tid;
		s->recent.mapping = mapping;
		s->recent.first = first;
	}
	s->recent.last = last;
	s->c.accessed += n;
	proc_add(s, tgid, CS_ACCESSED, n);
}

/* Counts the insertion of folio `id` (`pages` pages) and remembers it for count_dirty(). */
static __always_inline void count_add(__u64 id, __u64 pages)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;
	struct cs_cpu *s;

	if (!tgid_wanted(tgid))
		return;
	s = cpu_slot();
	if (s) {
		s->c.added += pages;
		s->recent.add_id = id;
		s->recent.add_pages = pages;
		s->recent.add_tid = (__u32)pid_tgid;
	}
	proc_add(s, tgid, CS_ADDED, pages);
}

/*
 * Counts folio `id` (`pages` pages) becoming dirty. When this thread inserted that very folio
 * just before, a buffered write created it (generic_perform_write: write_begin inserts, the
 * copy follows, write_end dirties): its insertion is counted in write_added, not as a miss.
 */
static __always_inline void count_dirty(__u64 id, __u64 pages)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;
	__u64 created = 0;
	struct cs_cpu *s;

	if (!tgid_wanted(tgid))
		return;
	s = cpu_slot();
	if (s) {
		s->c.dirtied += pages;
		if (s->recent.add_id == id && s->recent.add_tid == (__u32)pid_tgid) {
			created = s->recent.add_pages;
			s->c.write_added += created;
			s->recent.add_id = 0;
		}
	}
	proc_add2(s, tgid, CS_DIRTIED, pages, CS_WRITE_ADDED, created);
}

/* The identity of a page-cache slot in classic tracepoint records (no folio pointer there). */
static __always_inline __u64 slot_id(__u64 ino, __u64 index)
{
	return (ino * 0x9E3779B97F4A7C15ULL) ^ index ^ 1;
}

/* The last page index of a file of `isize` bytes that a read can return, or -1 when empty. */
static __always_inline __s64 eof_index(__s64 isize)
{
	return isize > 0 ? (isize - 1) >> (cfg.page_shift & 63) : -1;
}

/*
 * struct folio before 6.6 kept the order of a large folio in the first tail page as
 * `_folio_order`; "mm: free up a word in the first tail page" (v6.6) moved it into the low
 * byte of `_flags_1`.
 */
struct folio___o {
	unsigned char _folio_order;
} __attribute__((preserve_access_index));

/* folio_nr_pages() on any kernel with folios: 1, or 2^order for a large (PG_head) folio. */
static __always_inline __u64 folio_pages(struct folio *folio)
{
	unsigned long flags = 0, flags1 = 0;
	unsigned char order = 0;

	/* `flags` became memdesc_flags_t (a struct around the same word) in 6.18; read the word. */
	bpf_core_read(&flags, sizeof(flags), &folio->flags);
	if (!(flags & (1UL << bpf_core_enum_value(enum pageflags, PG_head))))
		return 1;
	if (bpf_core_field_exists(folio->_flags_1)) {
		flags1 = BPF_CORE_READ(folio, _flags_1);
		order = flags1 & 0xff;
	} else if (bpf_core_field_exists(((struct folio___o *)folio)->_folio_order)) {
		order = BPF_CORE_READ((struct folio___o *)folio, _folio_order);
	}
	return 1ULL << (order & 31);
}

/*
 * A process's first page-cache event usually comes before its exec (the forked child still has
 * its parent's name, and exec itself reads the binary): take the new name at exec.
 */
static __always_inline void rename_proc(void)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct cs_proc *p;

	if (!cfg.per_process)
		return;
	p = bpf_map_lookup_elem(&cs_procs, &tgid);
	if (p)
		bpf_get_current_comm(p->comm, sizeof(p->comm));
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(cs_exec_btf)
{
	rename_proc();
	return 0;
}

SEC("raw_tp/sched_process_exec")
int BPF_PROG(cs_exec_raw)
{
	rename_proc();
	return 0;
}

SEC("tracepoint/sched/sched_process_exec")
int cs_exec_tp(void *ctx)
{
	rename_proc();
	return 0;
}

/* ---- fentry variants: every folio the LRU marks accessed ---- */

/*
 * read() is counted by its page range (mm_filemap_get_pages, which fires just before
 * filemap_read() marks the folios it copies): a folio of the range being read by this thread
 * is skipped here, because marking counts whole folios, and a 4 KiB read of a 2 MiB folio
 * would count 512 pages. Everything else that marks folios (metadata buffers, tmpfs reads,
 * read_cache_folio users) is counted per folio. Without the tracepoint (before 6.11) the range
 * is never set and every marked folio counts.
 */
SEC("fentry/folio_mark_accessed")
int BPF_PROG(cs_access_fentry, struct folio *folio)
{
	__u64 mapping = (__u64)BPF_CORE_READ(folio, mapping);
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct cs_cpu *s;

	/* Not in the page cache: anonymous memory (GUP marks it too; low bit of ->mapping set),
	 * or a folio already truncated or in the swap cache (no mapping). */
	if (!mapping || (mapping & 1))
		return 0;
	s = cpu_slot();
	if (s && s->recent.tid == tid && s->recent.mapping == mapping)
		return 0;
	count(CS_ACCESSED, folio_pages(folio));
	return 0;
}

/* ---- tp_btf variant (and the non-access events of the fentry variants) ---- */

SEC("tp_btf/mm_filemap_get_pages")
int BPF_PROG(cs_get_pages_btf, struct address_space *mapping, unsigned long index, unsigned long last_index)
{
	__s64 eof = eof_index(mapping->host->i_size);

	/* The range is what the caller asked for; the part past EOF is never read. */
	if ((__s64)index > eof)
		return 0;
	if ((__s64)last_index > eof)
		last_index = eof;
	count_read((__u64)mapping, index, last_index);
	return 0;
}

SEC("tp_btf/mm_filemap_map_pages")
int BPF_PROG(cs_map_pages_btf, struct address_space *mapping, unsigned long start, unsigned long end)
{
	if (end >= start)
		count(CS_ACCESSED, end - start + 1);
	return 0;
}

SEC("tp_btf/mm_filemap_fault")
int BPF_PROG(cs_fault_btf, struct address_space *mapping, unsigned long index)
{
	count(CS_ACCESSED, 1);
	return 0;
}

SEC("tp_btf/mm_filemap_add_to_page_cache")
int BPF_PROG(cs_add_btf, struct folio *folio)
{
	count_add((__u64)folio, folio_pages(folio));
	return 0;
}

SEC("tp_btf/writeback_dirty_folio")
int BPF_PROG(cs_dirty_btf, struct folio *folio, struct address_space *mapping)
{
	count_dirty((__u64)folio, folio_pages(folio));
	return 0;
}

/* ---- raw_tp variant: the same tracepoints, pointers read with BPF_CORE_READ ---- */

SEC("raw_tp/mm_filemap_get_pages")
int BPF_PROG(cs_get_pages_raw, struct address_space *mapping, unsigned long index, unsigned long last_index)
{
	__s64 eof = eof_index(BPF_CORE_READ(mapping, host, i_size));

	if ((__s64)index > eof)
		return 0;
	if ((__s64)last_index > eof)
		last_index = eof;
	count_read((__u64)mapping, index, last_index);
	return 0;
}

SEC("raw_tp/mm_filemap_map_pages")
int BPF_PROG(cs_map_pages_raw, struct address_space *mapping, unsigned long start, unsigned long end)
{
	if (end >= start)
		count(CS_ACCESSED, end - start + 1);
	return 0;
}

SEC("raw_tp/mm_filemap_fault")
int BPF_PROG(cs_fault_raw, struct address_space *mapping, unsigned long index)
{
	count(CS_ACCESSED, 1);
	return 0;
}

SEC("raw_tp/mm_filemap_add_to_page_cache")
int BPF_PROG(cs_add_raw, struct folio *folio)
{
	count_add((__u64)folio, folio_pages(folio));
	return 0;
}

SEC("raw_tp/writeback_dirty_folio")
int BPF_PROG(cs_dirty_raw, struct folio *folio, struct address_space *mapping)
{
	count_dirty((__u64)folio, folio_pages(folio));
	return 0;
}

/* ---- tracepoint variant: classic tracepoints, the record fields only ---- */

SEC("tracepoint/filemap/mm_filemap_get_pages")
int cs_get_pages_tp(struct trace_event_raw_mm_filemap_op_page_cache_range *ctx)
{
	/* No mapping pointer in the record: the file's identity is (device, inode). */
	__u64 file = ((__u64)ctx->s_dev << 32) ^ ctx->i_ino;

	count_read(file, ctx->index, ctx->last_index);
	return 0;
}

SEC("tracepoint/filemap/mm_filemap_map_pages")
int cs_map_pages_tp(struct trace_event_raw_mm_filemap_op_page_cache_range *ctx)
{
	__u64 start = ctx->index, end = ctx->last_index;

	if (end >= start)
		count(CS_ACCESSED, end - start + 1);
	return 0;
}

SEC("tracepoint/filemap/mm_filemap_fault")
int cs_fault_tp(void *ctx)
{
	count(CS_ACCESSED, 1);
	return 0;
}

SEC("tracepoint/filemap/mm_filemap_add_to_page_cache")
int cs_add_tp(struct trace_event_raw_mm_filemap_op_page_cache *ctx)
{
	__u8 order = 0;

	/* The record has carried the folio order since large folios entered the page cache;
	 * without it every insertion is one page. */
	if (bpf_core_field_exists(ctx->order))
		order = ctx->order;
	count_add(slot_id(ctx->i_ino, ctx->index), 1ULL << (order & 31));
	return 0;
}

SEC("tracepoint/writeback/writeback_dirty_folio")
int cs_dirty_tp(struct trace_event_raw_writeback_folio_template *ctx)
{
	/* The record has no folio size: a large folio counts as one page here. */
	count_dirty(slot_id(ctx->ino, ctx->index), 1);
	return 0;
}
