/* SPDX-License-Identifier: MIT */
/*
 * harness.h - what integration tests share: start a real shmnode on a free
 * port, open client contexts against it, run client processes, and stop or
 * kill the node.  Every wait is bounded.
 *
 * Local mode (default): shmnode runs here, on loopback.
 * Remote mode (SHMX_TEST_AGENT=IP:PORT set; the multi-host tests in
 * tests/rxe): shmnode runs on another host, started and stopped there by
 * tests/rxe/node_agent; SHMX_TEST_KEY_FILE names the key every node is
 * given unless the test gives its own (key files the test names are copied
 * to the node's host).  The transport comes from SHMEXT_TRANSPORT and
 * SHMEXT_PROVIDER in both modes.
 */
#ifndef SHMX_TEST_HARNESS_H
#define SHMX_TEST_HARNESS_H

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <unistd.h>

#include "shmext/shmext.h"

struct node_proc {
	pid_t pid; /* on the node's host in remote mode */
	uint16_t port;
	char addr[64];	    /* "HOST:PORT" */
	char log[PATH_MAX]; /* shmnode's stderr (local mode) */
};

/* 1 in remote mode (the node and the clients on VMs under qemu, where
 * everything is slower and rxe stalls for seconds when it loses packets),
 * else 0. */
int test_remote(void);

/*
 * Start shmnode (path: $SHMX_SHMNODE, set by ctest) with @args (NULL-ended,
 * may be NULL) plus --listen on a free port, and wait until a client can
 * join.  Returns 0 or -errno; on failure the node's log is printed.
 */
int node_start(struct node_proc *n, const char *const *args);
/*
 * Start shmnode again at the same address, with @args, after it was
 * stopped or killed (n->pid 0); locally its log goes on in the same file
 * (in remote mode the agent starts it on the same port, with a log of its
 * own).  Returns 0, -EBUSY (still running), -EINVAL (never started) or
 * -errno.
 */
int node_restart(struct node_proc *n, const char *const *args);
/* SIGTERM, wait up to 5 s, then SIGKILL.  Returns the exit status or -1. */
int node_stop(struct node_proc *n);
/* SIGKILL and reap. */
void node_kill(struct node_proc *n);
/* Send @sig to the node (through its host's agent in remote mode): never
 * kill(n->pid), which is a pid of another host there.  0 or -errno. */
int node_signal(const struct node_proc *n, int sig);
/* Does the node's log contain @needle? */
int node_log_contains(const struct node_proc *n, const char *needle);

/* shmx_open against @n with @name (may be NULL) and @timeout_ms (0: 5 s). */
int client_open(const struct node_proc *n, const char *name, int timeout_ms,
		struct shmx_ctx **ctx);

/*
 * Client processes are forked and exec this same program again, which runs
 * @fn(index, arg) before main and exits with its return (0 = success): a
 * child never inherits the parent's contexts or RDMA device handles.  So
 * @fn sees none of the parent's state: @arg must be NULL or a node_proc
 * (copied to the child), and @index is the one integer it gets (a file
 * descriptor the child inherits, for instance).
 *
 * Fork @count processes running @fn(index, arg), index 0..count-1.  Waits up
 * to @timeout_s for all.  Returns how many failed (a process still running
 * at the deadline is killed and counts).
 */
int run_clients(int count, int (*fn)(int index, void *arg),
		const struct node_proc *arg, int timeout_s);

/* Start one process running @fn; returns its pid (to kill or reap). */
pid_t spawn_client(int (*fn)(int index, void *arg), int index,
		   const struct node_proc *arg);
/* Wait for @pid up to @timeout_s; its exit status, or -1. */
int reap(pid_t pid, int timeout_s);

/* In a client process (a function that returns 0 for success): print the
 * failed condition with the line and fail. */
#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "client %d: line %d: %s\n",            \
				(int)getpid(), __LINE__, #cond);               \
			return 1;                                              \
		}                                                              \
	} while (0)

/*
 * In a client process of a test that runs as root: become @uid/@gid (no
 * supplementary groups), first handing the new uid a copy of the node's
 * key file ($SHMEXT_KEY_FILE, root's: across hosts every client needs it),
 * and stay dumpable for the sanitizers.  Not root: does nothing.  0 or -1.
 */
int client_become(uid_t uid, gid_t gid);

/*
 * Memory for a test: no key covers memory outside an object, so tests
 * that read and write at offsets of their own make a pool @name of @size
 * bytes and allocate all of it as one block, which starts at the pool's
 * base (*@base).  The pool handle is closed; the block stays until the
 * node stops.  area_find: another process finds that block by the pool's
 * name.  Both return 0 or -errno.
 */
int area_create(struct shmx_ctx *ctx, const char *name, uint64_t size,
		shmx_gaddr_t *base);
int area_find(struct shmx_ctx *ctx, const char *name, shmx_gaddr_t *base);
/* A block of @size bytes from the shared 1 MiB pool "harness-scratch"
 * (created on first use).  0 or -errno. */
int scratch_alloc(struct shmx_ctx *ctx, uint64_t size, shmx_gaddr_t *at);

#endif /* SHMX_TEST_HARNESS_H */
