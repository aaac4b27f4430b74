// SPDX-License-Identifier: GPL-2.0
/*
 * offcputime: time threads spend blocked (off CPU after a voluntary switch-out, until they run
 * again — run-queue wait after the wakeup included), per process and per (process, kernel
 * stack, user stack), with a global log2 histogram of block durations.
 *
 * Built for always-on cost. libbpf-tools' offcputime walks the stack on every switch-out; here
 * a switch-out only takes a timestamp. At switch-in the block time is known; only blocks of at
 * least cfg.min_block_ns take a stack:
 *   - kernel stack (tp_btf): bpf_get_task_stack(next) at switch-in — next has not run yet, its
 *     saved kernel stack is still where it blocked, so every long block can get its exact stack;
 *   - user stack: only the current task's user stack can be walked, i.e. at switch-out, before
 *     the block time is known. It is taken only for threads whose previous block was long
 *     (threads that block long tend to keep doing so), so short blocks never pay for it;
 *   - raw_tp cannot hand `next` to bpf_get_task_stack (no BTF pointer), so it takes the kernel
 *     stack at switch-out too, under the same "previous block was long" rule.
 * A stack walk costs 4-20 µs on the test VM (ORC unwinding; caches are cold after a long
 * block). So tp_btf first fingerprints the blocking site — its syscall number and the
 * kernel-text addresses in the innermost frames of its stack (their return addresses), one
 * bpf_probe_read_kernel and a short loop, 1-3 µs — and reuses the stack last walked for that
 * fingerprint (see block_site). Fingerprints and walks are limited by a per-CPU budget (a token
 * bucket, where a fingerprint costs a fifth of a walk); past it a long block is still counted,
 * under "no stack", and the skipped captures are counted.
 * Stacks are stored by a 64-bit hash of their frames (not BPF_MAP_TYPE_STACK_TRACE ids): a
 * stack that user space frees and the kernel stores again gets the same key, so a freed key is
 * never reused for a different stack. User space frees stacks nothing refers to any more.
 *
 * Variants (user space picks the first that loads and attaches):
 *   btf: tp_btf, per-thread state in task-local storage;
 *   raw: raw_tp, per-thread state in a hash keyed by tid, removed when the thread exits.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "offcputime.h"
#include "common/bits.bpf.h"
#include "common/task.bpf.h"
#include "common/maps.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define TASK_DEAD 0x80
#define EEXIST 17

const volatile struct offcputime_cfg cfg = {};

/* Per-thread state (btf variant). */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct offcpu_task);
} offcpu_task_store SEC(".maps");

/* Per-thread state (raw variant), keyed by tid. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, OFFCPU_MAX_TIDS);
	__type(key, __u32);
	__type(value, struct offcpu_task);
} offcpu_tids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct hist);
} offcpu_hist SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, OFFCPU_MAX_PROCS);
	__type(key, __u32);
	__type(value, struct offcpu_proc);
} offcpu_procs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, OFFCPU_MAX_STACKS);
	__type(key, struct offcpu_key);
	__type(value, struct offcpu_val);
} offcpu_stacks SEC(".maps");

/* Preallocated (the default): an allocation inside the scheduler, under the rq lock, is unsafe on older kernels. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, OFFCPU_MAX_KSTACKS);
	__type(key, __u64);
	__type(value, struct offcpu_stack);
} offcpu_kstacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, OFFCPU_MAX_USTACKS);
	__type(key, __u64);
	__type(value, struct offcpu_stack);
} offcpu_ustacks SEC(".maps");

/* Blocking-site fingerprint -> kernel stack hash. A cache: the LRU may forget entries. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, OFFCPU_MAX_SITES);
	__type(key, __u64);
	__type(value, __u64);
} offcpu_sites SEC(".maps");

/* Where a stack is walked into before it is hashed (too big for the BPF stack). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct offcpu_stack);
} offcpu_scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct offcpu_window);
} offcpu_window SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct offcpu_stats);
} offcpu_stats SEC(".maps");

/*
 * CLOCK_MONOTONIC when user space last read the per-process and per-stack totals, written by it
 * just before each read (0: not yet). A block's time is counted in those totals from that read
 * on: the part before it belongs to intervals already shown, which the thread spent blocked
 * without the block having ended. Without this, a thread that slept 4 s added 4 s to one 1 s
 * interval (4000 ms/s for one thread). Durations (histograms, block counts) stay whole.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} offcpu_clock SEC(".maps");

/* Stack-walk budgets: OFFCPU_BUDGET_KERNEL, OFFCPU_BUDGET_USER. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct offcpu_budget);
} offcpu_budget SEC(".maps");

static __always_inline bool tgid_wanted(__u32 tgid)
{
	return cfg.filter_tgid == 0 || cfg.filter_tgid == tgid;
}

static __always_inline struct offcpu_stats *stats(void)
{
	__u32 idx = 0;

	return bpf_map_lookup_elem(&offcpu_stats, &idx);
}

static __always_inline struct offcpu_stack *scratch(void)
{
	__u32 idx = 0;

	return bpf_map_lookup_elem(&offcpu_scratch, &idx);
}

/* Spends `cost` ns of credit from this CPU's budget `which`; false when it is short (counted). */
static __always_inline bool spend(__u32 which, __u64 cost, __u64 now, struct offcpu_stats *st)
{
	struct offcpu_budget *b;
	__u64 credit;

	if (!cfg.walk_interval_ns)
		return true;
	b = bpf_map_lookup_elem(&offcpu_budget, &which);
	if (!b)
		return false;
	credit = b->credit_ns + (now > b->last_ns ? now - b->last_ns : 0);
	if (credit > cfg.walk_burst_ns)
		credit = cfg.walk_burst_ns;
	b->last_ns = now;
	if (credit >= cost) {
		b->credit_ns = credit - cost;
		return true;
	}
	b->credit_ns = credit;
	st->walks_skipped++;
	return false;
}

/* One step of a 64-bit hash (multiply-xorshift, as in murmur's finalizer). */
static __always_inline __u64 mix(__u64 h, __u64 v)
{
	h = (h ^ v) * 0xff51afd7ed558ccdULL;
	return h ^ (h >> 32);
}

/* A 64-bit hash of every frame slot (the helpers zero-fill past the last frame); never 0. */
static __always_inline __u64 stack_hash(const struct offcpu_stack *s)
{
	__u64 h = 0x9e3779b97f4a7c15ULL;
	int i;

	for (i = 0; i < OFFCPU_STACK_DEPTH; i++)
		h = mix(h, s->ips[i]);
	return h ? h : 1;
}

/*
 * Stores the stack walked into `s` (`len` bytes, or a negative error) in `map`, returning its
 * key, or 0 when there is no stack or no room (counted in *full).
 */
static __always_inline __u64 store_stack(void *map, struct offcpu_stack *s, long len, __u64 *full)
{
	__u64 key;
	long err;

	if (len <= 0)
		return 0;
	key = stack_hash(s);
	if (bpf_map_lookup_elem(map, &key))
		return key;
	err = bpf_map_update_elem(map, &key, s, BPF_NOEXIST);
	if (err == 0 || err == -EEXIST)
		return key;
	(*full)++;
	return 0;
}

/* The current task's user stack, stored; its key or 0. */
static __always_inline __u64 capture_user_stack(void *ctx, struct offcpu_stats *st)
{
	struct offcpu_stack *s = scratch();
	long len;

	if (!s)
		return 0;
	len = bpf_get_stack(ctx, s, sizeof(*s), BPF_F_USER_STACK);
	return store_stack(&offcpu_ustacks, s, len, &st->ustack_map_full);
}

/* The current task's kernel stack (raw variant, at switch-out), stored; its key or 0. */
static __always_inline __u64 capture_current_kstack(void *ctx, struct offcpu_stats *st)
{
	struct offcpu_stack *s = scratch();
	long len;

	if (!s)
		return 0;
	len = bpf_get_stack(ctx, s, sizeof(*s), 0);
	if (len <= 0)
		st->kstack_failed++;
	return store_stack(&offcpu_kstacks, s, len, &st->kstack_map_full);
}

/* A stack key captured at switch-out, or 0 if user space has freed it since (counted). */
static __always_inline __u64 still_stored(void *map, __u64 key, struct offcpu_stats *st)
{
	if (!key || bpf_map_lookup_elem(map, &key))
		return key;
	st->stack_lost++;
	return 0;
}

/* Where the name of a task's process is (an address for bpf_probe_read_kernel_str). */
static __always_inline const char *leader_comm(struct task_struct *task)
{
	struct task_struct *leader = BPF_CORE_READ(task, group_leader);

	return leader->comm;
}

/*
 * The part of a block of delta_ns, ending at mono_ns (CLOCK_MONOTONIC; 0: not read yet, read
 * here only for a long block), that lies after user space's last read (offcpu_clock).
 */
static __always_inline __u64 since_read(__u64 delta_ns, __u64 mono_ns)
{
	__u32 idx = 0;
	__u64 *read, since;

	if (delta_ns < OFFCPU_CLIP_MIN_NS)
		return delta_ns;
	read = bpf_map_lookup_elem(&offcpu_clock, &idx);
	if (!read || !*read)
		return delta_ns;
	if (!mono_ns)
		mono_ns = bpf_ktime_get_ns();
	since = mono_ns > *read ? mono_ns - *read : 0;
	return since < delta_ns ? since : delta_ns;
}

/*
 * Adds one block to the global histogram and to its process: its whole duration to the
 * histograms, counted_ns (its part since the last read, see since_read) to the total.
 */
static __always_inline void record_block(__u32 tgid, struct task_struct *task, __u64 delta_ns, __u64 counted_ns, __u64 now)
{
	struct offcpu_proc *p;
	struct offcpu_stats *st;
	struct hist *h;
	__u32 idx = 0;

	h = bpf_map_lookup_elem(&offcpu_hist, &idx);
	if (h)
		hist_add_local(h, delta_ns);
	p = bpf_map_lookup_elem(&offcpu_procs, &tgid);
	if (!p) {
		struct offcpu_proc init = { .created_ns = now };
		int how;

		bpf_probe_read_kernel_str(init.comm, sizeof(init.comm), leader_comm(task));
		p = lookup_or_init(&offcpu_procs, &tgid, &init, &how);
		if (how == LOI_FULL) {
			st = stats();
			if (st)
				st->proc_map_full++;
		}
		if (!p)
			return;
	}
	__sync_fetch_and_add(&p->total_ns, counted_ns);
	__sync_fetch_and_add(&p->blocks, 1);
	__sync_fetch_and_add(&p->slots[hist_slot_ns(delta_ns)], 1);
}

/* Adds one long block (its part since the last read, see since_read) to its (process, kernel stack, user stack) entry. */
static __always_inline void record_stack(__u32 tgid, struct task_struct *task, __u64 kstack, __u64 ustack,
					 __u64 counted_ns, __u64 now, struct offcpu_stats *st)
{
	struct offcpu_key key = { .tgid = tgid, .kstack = kstack, .ustack = ustack };
	struct offcpu_val *v;

	st->long_blocks++;
	st->long_with_kstack += kstack != 0;
	st->long_with_ustack += ustack != 0;
	v = bpf_map_lookup_elem(&offcpu_stacks, &key);
	if (!v) {
		struct offcpu_val init = { .created_ns = now };
		int how;

		bpf_probe_read_kernel_str(init.comm, sizeof(init.comm), leader_comm(task));
		v = lookup_or_init(&offcpu_stacks, &key, &init, &how);
		if (how == LOI_FULL)
			st->stack_map_full++;
		if (!v)
			return;
	}
	__sync_fetch_and_add(&v->total_ns, counted_ns);
	__sync_fetch_and_add(&v->blocks, 1);
}

/* A voluntary switch-out into a sleeping state (not preemption, not exit) starts a block. */
static __always_inline bool blocks(bool preempt, long state)
{
	return !preempt && state != TASK_RUNNING && !(state & TASK_DEAD);
}

/* The time blocked, from the switch-out time in *start to now; clears *start. */
static __always_inline __u64 take_block(__u64 *start, __u64 now)
{
	__u64 t = *start;

	*start = 0;
	return now > t ? now - t : 0;
}

/* ---- btf variant: task-local storage, kernel stack of `next` at switch-in ---- */

/*
 * The time of a context switch is the run-queue clock __schedule() has just updated
 * (rq_clock_of in common/task.bpf.h: three loads where bpf_ktime_get_ns() is a clock read, a
 * third of the probe's cost on this VM). rq->clock is sched_clock_cpu(): one clock on every CPU
 * while sched_clock is stable, within a tick of it otherwise (deltas are clamped at 0).
 */

/*
 * A fingerprint of where a blocked task sleeps in the kernel, or 0 when none can be taken:
 * its syscall number and every kernel-text address in the innermost frames of its stack, read
 * from its saved stack pointer up to the return address into the syscall entry function
 * (cfg.entry_*) or OFFCPU_WINDOW_BYTES. Those words are the frames' return addresses (and
 * function pointers they keep, such as a wait-queue entry's callback). The entry function is
 * where CONFIG_RANDOMIZE_KSTACK_OFFSET (commit 39218ff4c625, "stack: Optionally randomize
 * kernel stack offset each syscall", 5.13) puts a random gap of stale words, so the scan stops
 * there, and the stack depth is not used. Equal fingerprints mean equal return addresses from
 * the leaf up to the syscall entry, i.e. the same stack; a stack deeper than the window is
 * told apart only by its innermost frames and syscall. cfg.verify_sites lets a test check this
 * against real walks. x86 only (thread.sp), and only where user space found bpf_task_pt_regs
 * (5.15) and the kernel text range: cfg.text_end = 0 turns it off before the verifier sees the
 * helper call. Elsewhere every long block is walked, within the budget.
 */
static __always_inline __u64 block_site(struct task_struct *task)
{
#if defined(__TARGET_ARCH_x86)
	struct offcpu_window *w;
	struct pt_regs *regs;
	__u64 sp, size = 0, h;
	__u32 idx = 0;
	int i;

	if (!cfg.text_end)
		return 0;
	w = bpf_map_lookup_elem(&offcpu_window, &idx);
	regs = (struct pt_regs *)bpf_task_pt_regs(task);
	if (!w || !regs)
		return 0;
	sp = task->thread.sp;
	/* The user registers end the kernel stack: read no further (past them is a guard page).
	 * The verifier allows comparing regs (a pointer) with a number but no arithmetic on it,
	 * hence sizes in steps: the largest that ends within the registers, so that the frames
	 * below them (those that count) are always covered. */
#pragma unroll
	for (i = 8; i > 0; i--) {
		if (sp + i * (OFFCPU_WINDOW_BYTES / 8) <= (__u64)regs + sizeof(*regs)) {
			size = i * (OFFCPU_WINDOW_BYTES / 8);
			break;
		}
	}
	if (!size)
		return 0;
	/* The verifier must see the very register passed as the size bounded (see hist_slot_ns). */
	asm volatile("%0 &= %1" : "+r"(size) : "i"(2 * OFFCPU_WINDOW_BYTES - 1));
	if (bpf_probe_read_kernel(w->words, size, (void *)sp))
		return 0;
	h = mix(0x9e3779b97f4a7c15ULL, regs->orig_ax);
	for (i = 0; i < OFFCPU_WINDOW_BYTES / 8; i++) {
		__u64 v;

		if (i * 8 >= size)
			break;
		v = w->words[i];
		if (v < cfg.text_start || v >= cfg.text_end)
			continue;
		h = mix(h, v);
		if (v >= cfg.entry_start && v < cfg.entry_end)
			break;
	}
	return h ? h : 1;
#else
	return 0;
#endif
}

/* The kernel stack of `next`, a task about to run that blocked for a long time; its key or 0. */
static __always_inline __u64 blocked_kstack(struct task_struct *next, __u64 now, struct offcpu_stats *st)
{
	struct offcpu_stack *s;
	__u64 site, cached = 0, kstack, *hit;
	long len;

	/* A fingerprint reads up to 1 KiB of a stack that is cold after a long block: 1-3 µs. */
	if (cfg.text_end && !spend(OFFCPU_BUDGET_KERNEL, cfg.site_cost_ns, now, st))
		return 0;
	site = block_site(next);
	if (site) {
		hit = bpf_map_lookup_elem(&offcpu_sites, &site);
		/* The stack may have been freed by user space since: then walk again. */
		if (hit && bpf_map_lookup_elem(&offcpu_kstacks, hit))
			cached = *hit;
		if (cached && !cfg.verify_sites) {
			st->site_hits++;
			return cached;
		}
	}
	if (!cached && !spend(OFFCPU_BUDGET_KERNEL, cfg.walk_interval_ns, now, st))
		return 0;
	s = scratch();
	if (!s)
		return 0;
	/* next has not run since it blocked: its saved kernel stack is the blocking one.
	 * bpf_get_task_stack came with Linux 5.9, commit fa28dcb82a38 ("bpf: Introduce helper
	 * bpf_get_task_stack()"); without it this variant fails to load and raw_tp is used. */
	len = bpf_get_task_stack(next, s, sizeof(*s), 0);
	if (len <= 0)
		st->kstack_failed++;
	kstack = store_stack(&offcpu_kstacks, s, len, &st->kstack_map_full);
	if (cached) {
		st->site_hits++;
		if (kstack != cached)
			st->site_mismatch++;
	} else if (site && kstack) {
		bpf_map_update_elem(&offcpu_sites, &site, &kstack, BPF_ANY);
	}
	return kstack;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(offcpu_switch_btf, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	struct offcpu_stats *st;
	struct offcpu_task *t;
	__u64 now = 0, delta, counted, kstack;

	if (prev->pid && blocks(preempt, task_state_btf(prev)) && tgid_wanted(prev->tgid)) {
		t = bpf_task_storage_get(&offcpu_task_store, prev, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
		if (!t) {
			/* Refused (no memory, or the storage busy on this CPU): this block is missed. */
			st = stats();
			if (st)
				st->tid_map_full++;
		} else {
			now = rq_clock_of(prev);
			t->start_ns = now;
			t->ustack = 0;
			if (cfg.user_stacks && t->last_long) {
				st = stats();
				if (st && spend(OFFCPU_BUDGET_USER, cfg.walk_interval_ns, now, st))
					t->ustack = capture_user_stack(ctx, st);
			}
		}
	}
	if (!next->pid)
		return 0;
	t = bpf_task_storage_get(&offcpu_task_store, next, 0, 0);
	if (!t || !t->start_ns)
		return 0;
	if (!now)
		now = rq_clock_of(next);
	delta = take_block(&t->start_ns, now);
	/* now is the run-queue clock: the clip needs CLOCK_MONOTONIC (read only for long blocks). */
	counted = since_read(delta, 0);
	record_block(next->tgid, next, delta, counted, now);
	if (delta < cfg.min_block_ns) {
		t->last_long = 0;
		return 0;
	}
	t->last_long = 1;
	st = stats();
	if (!st)
		return 0;
	kstack = blocked_kstack(next, now, st);
	record_stack(next->tgid, next, kstack, still_stored(&offcpu_ustacks, t->ustack, st), counted, now, st);
	t->ustack = 0;
	return 0;
}

/* ---- raw variant: raw tracepoint, per-thread hash, stacks at switch-out ---- */

SEC("raw_tp/sched_switch")
int BPF_PROG(offcpu_switch_raw, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	__u32 ptid = BPF_CORE_READ(prev, pid);
	__u32 ntid = BPF_CORE_READ(next, pid);
	struct offcpu_stats *st;
	struct offcpu_task *t;
	__u64 now = 0, delta, counted;
	__u32 tgid;
	long state;

	if (ptid && !preempt && tgid_wanted(BPF_CORE_READ(prev, tgid))) {
		state = task_state(prev);
		if (state & TASK_DEAD) {
			/* The thread's last switch: its state goes with it (keeps the map bounded). */
			bpf_map_delete_elem(&offcpu_tids, &ptid);
		} else if (state != TASK_RUNNING) {
			struct offcpu_task init = {};
			int how;

			t = lookup_or_init(&offcpu_tids, &ptid, &init, &how);
			if (how == LOI_FULL) {
				st = stats();
				if (st)
					st->tid_map_full++;
			}
			if (t) {
				now = bpf_ktime_get_ns();
				t->start_ns = now;
				t->kstack = 0;
				t->ustack = 0;
				st = t->last_long ? stats() : 0;
				if (st) {
					if (spend(OFFCPU_BUDGET_KERNEL, cfg.walk_interval_ns, now, st))
						t->kstack = capture_current_kstack(ctx, st);
					if (cfg.user_stacks && spend(OFFCPU_BUDGET_USER, cfg.walk_interval_ns, now, st))
						t->ustack = capture_user_stack(ctx, st);
				}
			}
		}
	}
	if (!ntid)
		return 0;
	t = bpf_map_lookup_elem(&offcpu_tids, &ntid);
	if (!t || !t->start_ns)
		return 0;
	if (!now)
		now = bpf_ktime_get_ns();
	delta = take_block(&t->start_ns, now);
	counted = since_read(delta, now); /* now is CLOCK_MONOTONIC here */
	tgid = BPF_CORE_READ(next, tgid);
	record_block(tgid, next, delta, counted, now);
	if (delta < cfg.min_block_ns) {
		t->last_long = 0;
		return 0;
	}
	t->last_long = 1;
	st = stats();
	if (!st)
		return 0;
	record_stack(tgid, next, still_stored(&offcpu_kstacks, t->kstack, st),
		     still_stored(&offcpu_ustacks, t->ustack, st), counted, now, st);
	t->kstack = 0;
	t->ustack = 0;
	return 0;
}
