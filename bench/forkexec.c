// SPDX-License-Identifier: GPL-2.0
/*
 * forkexec: the process workloads of the benchmarks.
 *
 *   forkexec storm SECONDS [PROGRAM]  fork + exec PROGRAM (default /bin/true) + wait, again and again
 *                                     for SECONDS; prints "spawned N seconds S" (N = processes that
 *                                     actually ran: fork succeeded and the child was reaped)
 *   forkexec hold N                   forks N children that sleep in pause(); prints "ready N" once
 *                                     all exist, then waits until stdin closes or SIGTERM/SIGINT,
 *                                     and kills and reaps them (they also die with their parent)
 *
 * A C program, not a shell loop or Node's spawn, so the workload measures the kernel's fork and
 * exec path and not an interpreter.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int storm(double seconds, const char *prog)
{
	char *argv[] = { (char *)prog, NULL };
	double start = now(), end = start + seconds, t;
	unsigned long spawned = 0, failed = 0;

	while ((t = now()) < end) {
		pid_t pid = fork();
		int status;

		if (pid < 0) {
			failed++;
			continue;
		}
		if (pid == 0) {
			execve(prog, argv, environ);
			_exit(127);
		}
		if (waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0)
			spawned++;
		else
			failed++;
	}
	printf("spawned %lu seconds %.6f failed %lu\n", spawned, now() - start, failed);
	return 0;
}

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int hold(long n)
{
	pid_t *kids = calloc(n, sizeof(*kids));
	pid_t parent = getpid();
	struct sigaction sa;
	char buf[64];
	long i;

	if (!kids)
		return 1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	for (i = 0; i < n; i++) {
		pid_t pid = fork();

		if (pid < 0) {
			fprintf(stderr, "forkexec: fork %ld of %ld: %s\n", i + 1, n, strerror(errno));
			n = i;
			break;
		}
		if (pid == 0) {
			/* Die with the holder, even after kill -9 of it. */
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (getppid() != parent)
				_exit(0);
			for (;;)
				pause();
		}
		kids[i] = pid;
	}
	printf("ready %ld\n", n);
	fflush(stdout);
	while (!stop) {
		ssize_t r = read(0, buf, sizeof(buf));

		if (r == 0 || (r < 0 && errno != EINTR))
			break;
	}
	for (i = 0; i < n; i++)
		kill(kids[i], SIGKILL);
	for (i = 0; i < n; i++)
		waitpid(kids[i], NULL, 0);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 3 && !strcmp(argv[1], "storm"))
		return storm(atof(argv[2]), argc >= 4 ? argv[3] : "/bin/true");
	if (argc == 3 && !strcmp(argv[1], "hold"))
		return hold(atol(argv[2]));
	fprintf(stderr, "usage: forkexec storm SECONDS [PROGRAM] | forkexec hold N\n");
	return 2;
}
