/* SPDX-License-Identifier: MIT */
/*
 * test_failure.c - failures end in errors, never hangs: no node, a client
 * killed with SIGKILL, a client paused past its timeout, and the node
 * killed under a connected client.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

/* Short timeouts so failures are seen quickly. */
static const char *const fast_args[] = {
	"--size", "8M", "--client-timeout", "1000", "--heartbeat", "200", NULL
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_no_node_is_refused(void **state)
{
	struct node_proc n;
	struct shmx_ctx *ctx = NULL;
	double t0;

	/* Start and stop a node to learn a port where nobody listens. */
	assert_int_equal(node_start(&n, fast_args), 0);
	assert_int_equal(node_stop(&n), 0);
	t0 = now_s();
	assert_int_equal(client_open(&n, NULL, 2000, &ctx), -ECONNREFUSED);
	assert_null(ctx);
	assert_true(now_s() - t0 < 4.0);
}

/* A member that joins, reports ready through a pipe, then waits. */
static int victim(int fd, void *arg)
{
	struct node_proc *n = arg;
	struct shmx_ctx *ctx;
	char c = 'r';

	if (client_open(n, "victim", 0, &ctx))
		return 1;
	if (write(fd, &c, 1) != 1)
		return 1;
	for (;;)
		pause();
}

static pid_t start_victim(struct node_proc *n)
{
	int fds[2];
	pid_t pid;
	char c;

	assert_int_equal(pipe(fds), 0);
	fcntl(fds[0], F_SETFD, FD_CLOEXEC); /* the child gets only fds[1] */
	pid = spawn_client(victim, fds[1], n);
	close(fds[1]);
	assert_int_equal(read(fds[0], &c, 1), 1);
	close(fds[0]);
	return pid;
}

/* Poll until "victim" is gone from the registry; seconds it took, or -1. */
static double wait_gone(struct shmx_ctx *ctx, double limit)
{
	double t0 = now_s();
	shmx_node_t id;

	while (now_s() - t0 < limit) {
		if (shmx_lookup(ctx, "victim", &id) == -ENOENT)
			return now_s() - t0;
		usleep(20000);
	}
	return -1;
}

static void test_killed_client_leaves_registry(void **state)
{
	struct node_proc n;
	struct shmx_ctx *ctx;
	shmx_node_t id;
	double t;
	pid_t pid;

	assert_int_equal(node_start(&n, fast_args), 0);
	pid = start_victim(&n);
	assert_int_equal(client_open(&n, "observer", 0, &ctx), 0);
	assert_int_equal(shmx_lookup(ctx, "victim", &id), 0);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	/* Documented bound: client timeout (1 s here) + sweep (0.1 s). */
	t = wait_gone(ctx, 5.0);
	assert_true(t >= 0);
	assert_true(t < 1.5);
	assert_true(node_log_contains(&n, "'victim' left"));
	/* The name is free again. */
	{
		struct shmx_ctx *again;

		assert_int_equal(client_open(&n, "victim", 0, &again), 0);
		shmx_close(again);
	}
	shmx_close(ctx);
	assert_int_equal(node_stop(&n), 0);
}

/* Joins, then tries to use the node after being stopped past the timeout. */
static int sleeper(int fd, void *arg)
{
	struct node_proc *n = arg;
	struct shmx_ctx *ctx;
	shmx_gaddr_t w;
	uint64_t v;
	char c = 'r';
	int ret;

	if (client_open(n, "victim", 0, &ctx) || scratch_alloc(ctx, 8, &w))
		return 1;
	if (write(fd, &c, 1) != 1)
		return 2;
	/* Parent SIGSTOPs us here and SIGCONTs after the timeout. */
	if (read(fd, &c, 1) != 1) {
		fprintf(stderr, "sleeper: read: %s\n", strerror(errno));
		return 3;
	}
	ret = shmx_read(ctx, w, &v, 8);
	if (ret == 0)
		ret = shmx_fadd64(ctx, w, 1, NULL);
	/* Either the data call already failed or the session is now gone. */
	for (int i = 0; i < 50 && ret == 0; i++) {
		shmx_node_t id;

		ret = shmx_lookup(ctx, "victim", &id);
		usleep(50000);
	}
	/* The call that finds the connection cut (verbs: the node
	 * disconnected our queue pair) says so; every call after it says
	 * the context is no longer connected. */
	if (ret == -ECONNRESET) {
		shmx_node_t id;

		ret = shmx_lookup(ctx, "victim", &id);
	}
	shmx_close(ctx);
	if (ret != -ENOTCONN)
		fprintf(stderr, "sleeper: the last call said %d (%s)\n", ret,
			shmx_strerror(ret));
	return ret == -ENOTCONN ? 0 : 10 + (ret < 0 ? -ret : ret) % 100;
}

static void test_paused_client_loses_session(void **state)
{
	struct node_proc n;
	struct shmx_ctx *ctx;
	int sv[2], status;
	char c;
	pid_t pid;

	assert_int_equal(node_start(&n, fast_args), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	fcntl(sv[0], F_SETFD, FD_CLOEXEC);
	pid = spawn_client(sleeper, sv[1], &n);
	close(sv[1]);
	assert_int_equal(read(sv[0], &c, 1), 1);
	assert_int_equal(client_open(&n, "observer", 0, &ctx), 0);
	kill(pid, SIGSTOP);
	assert_true(wait_gone(ctx, 5.0) >= 0);
	kill(pid, SIGCONT);
	assert_int_equal(write(sv[0], "go", 1), 1);
	status = reap(pid, 20);
	assert_int_equal(status, 0);
	close(sv[0]);
	shmx_close(ctx);
	assert_int_equal(node_stop(&n), 0);
}

static void test_node_killed_under_client(void **state)
{
	struct node_proc n;
	struct shmx_ctx *ctx;
	uint64_t v = 7;
	shmx_gaddr_t w;
	double t0;
	int ret = 0;

	/* No reconnect window: the context is lost at once (test_restart
	 * waits one out). */
	assert_int_equal(setenv("SHMEXT_RECONNECT_MS", "0", 1), 0);
	assert_int_equal(node_start(&n, fast_args), 0);
	assert_int_equal(client_open(&n, "survivor", 2000, &ctx), 0);
	assert_int_equal(scratch_alloc(ctx, 8, &w), 0);
	assert_int_equal(shmx_write(ctx, w, &v, 8), 0);
	node_kill(&n);
	t0 = now_s();
	/* Keep using it: an error must come within the timeout. */
	for (int i = 0; i < 100000 && ret == 0; i++)
		ret = shmx_fadd64(ctx, w, 1, NULL);
	assert_true(ret < 0);
	assert_true(now_s() - t0 < 5.0);
	/* From then on every call fails fast. */
	t0 = now_s();
	assert_int_equal(shmx_read(ctx, w, &v, 8), -ENOTCONN);
	assert_int_equal(shmx_root_set(ctx, 0), -ENOTCONN);
	assert_true(now_s() - t0 < 0.5);
	shmx_close(ctx);
	unsetenv("SHMEXT_RECONNECT_MS");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_node_is_refused),
		cmocka_unit_test(test_killed_client_leaves_registry),
		cmocka_unit_test(test_paused_client_loses_session),
		cmocka_unit_test(test_node_killed_under_client),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
