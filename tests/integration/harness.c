/* SPDX-License-Identifier: MIT */
/* harness.c - real shmnode processes and client processes for the tests. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

/* A loopback port nobody listens on right now. */
static uint16_t free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	uint16_t port = 0;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && !bind(fd, (struct sockaddr *)&sa, sizeof(sa)) &&
	    !getsockname(fd, (struct sockaddr *)&sa, &len))
		port = ntohs(sa.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static void print_log(const struct node_proc *n)
{
	char line[512];
	FILE *f = fopen(n->log, "r");

	if (!f)
		return;
	fprintf(stderr, "---- shmnode log %s ----\n", n->log);
	while (fgets(line, sizeof(line), f))
		fputs(line, stderr);
	fclose(f);
}

int node_log_contains(const struct node_proc *n, const char *needle)
{
	char line[1024];
	int found = 0;
	FILE *f = fopen(n->log, "r");

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, needle) != NULL;
	fclose(f);
	return found;
}

int client_open(const struct node_proc *n, const char *name, int timeout_ms,
		struct shmx_ctx **ctx)
{
	struct shmx_open_attr attr = {
		.comp_mask = SHMX_OPEN_ATTR_NODE | SHMX_OPEN_ATTR_TIMEOUT,
		.node = n->addr,
		.timeout_ms = timeout_ms ? timeout_ms : 5000,
	};

	if (name) {
		attr.comp_mask |= SHMX_OPEN_ATTR_NAME;
		attr.name = name;
	}
	return shmx_open(&attr, ctx);
}

int node_start(struct node_proc *n, const char *const *args)
{
	const char *bin = getenv("SHMX_SHMNODE");
	const char *argv[64];
	struct shmx_ctx *ctx;
	int argc = 0, fd, ret = -ETIMEDOUT;

	memset(n, 0, sizeof(*n));
	if (!bin)
		bin = "shmnode";
	n->port = free_port();
	if (!n->port)
		return -EADDRNOTAVAIL;
	snprintf(n->addr, sizeof(n->addr), "127.0.0.1:%u", n->port);
	snprintf(n->log, sizeof(n->log), "/tmp/shmx-test-node-%d-%u.log",
		 (int)getpid(), n->port);
	argv[argc++] = bin;
	argv[argc++] = "--listen";
	argv[argc++] = n->addr;
	for (int i = 0; args && args[i] && argc < 62; i++)
		argv[argc++] = args[i];
	argv[argc] = NULL;

	n->pid = fork();
	if (n->pid < 0)
		return -errno;
	if (n->pid == 0) {
		fd = open(n->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0) {
			dup2(fd, STDERR_FILENO);
			close(fd);
		}
		execv(bin, (char *const *)argv);
		fprintf(stderr, "exec %s: %s\n", bin, strerror(errno));
		_exit(127);
	}
	/* Ready when a client can join; give up after 10 s. */
	for (int i = 0; i < 100; i++) {
		if (waitpid(n->pid, NULL, WNOHANG) == n->pid) {
			n->pid = 0;
			ret = -ECHILD;
			break;
		}
		if (!client_open(n, "harness-probe", 1000, &ctx)) {
			shmx_close(ctx);
			return 0;
		}
		sleep_ms(100);
	}
	print_log(n);
	if (n->pid)
		node_kill(n);
	return ret;
}

int reap(pid_t pid, int timeout_s)
{
	int status;

	for (int i = 0; i < timeout_s * 100; i++) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status)
						 : 128 + WTERMSIG(status);
		if (r < 0)
			return -1;
		sleep_ms(10);
	}
	return -1;
}

int node_stop(struct node_proc *n)
{
	int status;

	if (n->pid <= 0)
		return -1;
	kill(n->pid, SIGTERM);
	status = reap(n->pid, 5);
	if (status < 0) {
		kill(n->pid, SIGKILL);
		waitpid(n->pid, NULL, 0);
	}
	n->pid = 0;
	if (status != 0)
		print_log(n);
	else
		unlink(n->log);
	return status;
}

void node_kill(struct node_proc *n)
{
	if (n->pid <= 0)
		return;
	kill(n->pid, SIGKILL);
	waitpid(n->pid, NULL, 0);
	n->pid = 0;
}

pid_t spawn_client(int (*fn)(int index, void *arg), int index, void *arg)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(fn(index, arg) ? 1 : 0);
	return pid;
}

int run_clients(int count, int (*fn)(int index, void *arg), void *arg,
		int timeout_s)
{
	pid_t pids[64];
	int failed = 0;

	if (count > 64)
		return count;
	for (int i = 0; i < count; i++)
		pids[i] = spawn_client(fn, i, arg);
	for (int i = 0; i < count; i++) {
		if (pids[i] < 0) {
			failed++;
			continue;
		}
		if (reap(pids[i], timeout_s) != 0) {
			kill(pids[i], SIGKILL);
			waitpid(pids[i], NULL, WNOHANG);
			fprintf(stderr, "client %d failed\n", i);
			failed++;
		}
	}
	return failed;
}
