/* SPDX-License-Identifier: MIT */
/*
 * harness.h - what integration tests share: start a real shmnode on a free
 * loopback port, open client contexts against it, run client processes, and
 * stop or kill the node.  Every wait is bounded.
 */
#ifndef SHMX_TEST_HARNESS_H
#define SHMX_TEST_HARNESS_H

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>

#include "shmext/shmext.h"

struct node_proc {
	pid_t pid;
	uint16_t port;
	char addr[64];	    /* "127.0.0.1:PORT" */
	char log[PATH_MAX]; /* shmnode's stderr */
};

/*
 * Start shmnode (path: $SHMX_SHMNODE, set by ctest) with @args (NULL-ended,
 * may be NULL) plus --listen on a free port, and wait until a client can
 * join.  Returns 0 or -errno; on failure the node's log is printed.
 */
int node_start(struct node_proc *n, const char *const *args);
/* SIGTERM, wait up to 5 s, then SIGKILL.  Returns the exit status or -1. */
int node_stop(struct node_proc *n);
/* SIGKILL and reap. */
void node_kill(struct node_proc *n);
/* Does the node's log contain @needle? */
int node_log_contains(const struct node_proc *n, const char *needle);

/* shmx_open against @n with @name (may be NULL) and @timeout_ms (0: 5 s). */
int client_open(const struct node_proc *n, const char *name, int timeout_ms,
		struct shmx_ctx **ctx);

/*
 * Client processes are forked: call these only while this process holds no
 * open context (a context has threads, and a fork with threads running can
 * inherit a lock held by one of them).
 *
 * Fork @count processes running @fn(index, arg); each exits with fn's return
 * (0 = success).  Waits up to @timeout_s for all.  Returns how many failed
 * (a process still running at the deadline is killed and counts).
 */
int run_clients(int count, int (*fn)(int index, void *arg), void *arg,
		int timeout_s);

/* Fork one process running @fn; returns its pid (to kill or reap). */
pid_t spawn_client(int (*fn)(int index, void *arg), int index, void *arg);
/* Wait for @pid up to @timeout_s; its exit status, or -1. */
int reap(pid_t pid, int timeout_s);

#endif /* SHMX_TEST_HARNESS_H */
