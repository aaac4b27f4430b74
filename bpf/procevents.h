/* SPDX-License-Identifier: GPL-2.0 */
/* procevents: records shared by bpf/procevents.bpf.c and src/probes/procevents.ts (layout checked by a test). */
#ifndef PROBETOP_PROCEVENTS_H
#define PROBETOP_PROCEVENTS_H

#define PE_COMM_LEN 16
#define PE_FILENAME_LEN 256  /* bytes of the path given to execve (NUL included) */
#define PE_ARGS_LEN 256      /* bytes of the argument area read at exec (NUL-separated) */
#define PE_MAX_THREADS 128   /* threads summed for a process's CPU time at exit (fallback path) */
#define PE_EXITING_MAX 4096  /* tracepoint variant: exited processes waiting to be freed (zombies included) */

/* Ring size: a process's records (fork 96 + exec 616 + exit 96 + freed 96 bytes, headers
 * included) take ~900 bytes, so 4 MiB holds ~4,600 processes: 0.9 s of a 5,000 exec/s storm,
 * nine times the 100 ms drain period. */
#define PE_RING_BYTES (4 << 20)

/* Record kinds (pe_event.kind) and indexes of the per-kind counters. */
enum pe_kind {
	PE_FORK = 0,
	PE_EXEC = 1,
	PE_EXIT = 2,   /* the last thread exited: status, lifetime, CPU time so far */
	PE_FREED = 3,  /* the process was reaped and freed: its final CPU time (pid, cpu_ns only) */
	PE_KINDS = 4,
};

/* pe_event.flags */
#define PE_F_ARGS_TRUNC   1  /* the argument area was longer than PE_ARGS_LEN */
#define PE_F_THREADS_TRUNC 2 /* exit: more than PE_MAX_THREADS threads, cpu_ns misses some */

/* One fork or exit (and the head of an exec record). */
struct pe_event {
	__u64 ts_ns;        /* CLOCK_MONOTONIC, ns */
	__u64 cgroup_id;    /* cgroup v2 id of the process */
	__u64 lifetime_ns;  /* exit: now - start of the process (its group leader) */
	__u64 cpu_ns;       /* exit: CPU time of every thread so far; freed: final; user + system, ns */
	__u32 pid;          /* process id (tgid) */
	__u32 tid;          /* fork: the new pid; exec: the thread that called execve; exit: the last thread */
	__u32 ppid;         /* real parent's tgid */
	__u32 uid;          /* real uid */
	__s32 exit_code;    /* exit: wait status as wait(2) reports it (code << 8 | core 0x80 | signal) */
	__u16 flags;        /* PE_F_* */
	__u8 kind;          /* enum pe_kind */
	__u8 pad;
	char comm[PE_COMM_LEN];
	char pcomm[PE_COMM_LEN]; /* real parent's comm */
};

/* An exec: the common head, then the path and the start of the argument area. */
struct pe_exec {
	struct pe_event h;
	__u32 filename_len; /* bytes in filename, NUL included (0 = unreadable) */
	__u32 args_len;     /* bytes in args (0 = unreadable) */
	char filename[PE_FILENAME_LEN];
	char args[PE_ARGS_LEN];
};

/* Cumulative counters per CPU (user space sums the CPUs). */
struct pe_stats {
	__u64 events[PE_KINDS];   /* process forks, execs, process exits, frees seen */
	__u64 lost[PE_KINDS];     /* of those, records the ring had no room for */
	__u64 thread_forks;       /* new threads (not reported as records) */
	__u64 thread_exits;       /* threads that exited while others lived on (not reported) */
	__u64 exiting_full;       /* tracepoint variant: exits whose final CPU time cannot be read (map full) */
};

#endif
