/* SPDX-License-Identifier: MIT */
/*
 * harness.c - real shmnode processes (here, or on another host through
 * tests/rxe/node_agent) and client processes (fork + exec of this program)
 * for the integration tests.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "util/parse.h"

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

/* --- remote mode: requests to tests/rxe/node_agent --------------------- */

static const char *agent_addr(void)
{
	const char *a = getenv("SHMX_TEST_AGENT");

	return a && *a ? a : NULL;
}

int test_remote(void)
{
	return agent_addr() != NULL;
}

/*
 * Send @req (one line) to the agent and read its answer into @buf (NUL
 * terminated, up to @len - 1 bytes; a whole log for "log").  Returns the
 * answer's length or -errno.  Bounded: 30 s of silence ends it.
 */
static int agent_call(const char *req, char *buf, size_t len)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	char host[64];
	size_t got = 0;
	uint16_t port;
	int fd, ret;

	if (shmx__parse_host_port(agent_addr(), 0, host, sizeof(host), &port) ||
	    inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return -EINVAL;
	sa.sin_port = htons(port);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    write(fd, req, strlen(req)) != (ssize_t)strlen(req) ||
	    write(fd, "\n", 1) != 1) {
		ret = -errno;
		close(fd);
		return ret;
	}
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, 30000) != 1)
			break;
		if (got + 1 >= len) {
			char sink[512];

			n = read(fd, sink, sizeof(sink)); /* drop the rest */
		} else {
			n = read(fd, buf + got, len - 1 - got);
			if (n > 0)
				got += (size_t)n;
		}
		if (n <= 0)
			break;
	}
	close(fd);
	buf[got] = 0;
	return (int)got;
}

/* Copy a local file to the node's host; its path there into @remote. */
static int agent_put_file(const char *local, char *remote, size_t len)
{
	static unsigned seq;
	char req[4096], rep[512];
	size_t off;
	FILE *f = fopen(local, "rb");
	int c;

	if (!f)
		return -errno;
	off = (size_t)snprintf(req, sizeof(req), "file f%d-%u ", (int)getpid(),
			       seq++);
	while ((c = fgetc(f)) != EOF && off + 3 < sizeof(req))
		off += (size_t)snprintf(req + off, sizeof(req) - off, "%02x",
					c);
	fclose(f);
	if (agent_call(req, rep, sizeof(rep)) < 0 || strncmp(rep, "ok ", 3))
		return -EIO;
	rep[strcspn(rep, "\n")] = 0;
	if (strlen(rep + 3) >= len)
		return -ENAMETOOLONG;
	memcpy(remote, rep + 3, strlen(rep + 3) + 1);
	return 0;
}

/* Remote: the node's exit status after up to @timeout_s, or -1. */
static int agent_wait(pid_t pid, int timeout_s)
{
	char req[64], rep[64];

	snprintf(req, sizeof(req), "wait %d %d", (int)pid, timeout_s);
	if (agent_call(req, rep, sizeof(rep)) < 0 || strncmp(rep, "ok ", 3))
		return -1;
	return atoi(rep + 3);
}

static void agent_signal(pid_t pid, int sig)
{
	char req[64], rep[64];

	snprintf(req, sizeof(req), "signal %d %d", (int)pid, sig);
	agent_call(req, rep, sizeof(rep));
}

/* The node's log into a fresh buffer (free it), or NULL. */
static char *node_log_text(const struct node_proc *n)
{
	size_t cap = 1 << 20, got;
	char *buf = malloc(cap);
	FILE *f;

	if (!buf)
		return NULL;
	if (agent_addr()) {
		char req[64];

		snprintf(req, sizeof(req), "log %d", (int)n->pid);
		if (agent_call(req, buf, cap) < 0) {
			free(buf);
			return NULL;
		}
		return buf;
	}
	f = fopen(n->log, "r");
	if (!f) {
		free(buf);
		return NULL;
	}
	got = fread(buf, 1, cap - 1, f);
	buf[got] = 0;
	fclose(f);
	return buf;
}

static void print_log(const struct node_proc *n)
{
	char *log = node_log_text(n);

	if (!log)
		return;
	fprintf(stderr, "---- shmnode log (pid %d) ----\n%s", (int)n->pid, log);
	free(log);
}

int node_log_contains(const struct node_proc *n, const char *needle)
{
	char *log = node_log_text(n);
	int found = log && strstr(log, needle) != NULL;

	free(log);
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

/*
 * Ready when a client can join; give up after about 10 s (remote: 30 s, and
 * each probe waits longer, so that no probe gives up on a connection still
 * being set up: libfabric 1.17's verbs;ofi_rxm has crashed a node that saw
 * such connections abandoned).  0 or -errno.
 */
static int node_wait_ready(struct node_proc *n)
{
	int probe_ms = agent_addr() ? 5000 : 1000;
	struct shmx_ctx *ctx;

	for (int i = 0; i < 100; i++) {
		if (agent_addr() ? agent_wait(n->pid, 0) >= 0
				 : waitpid(n->pid, NULL, WNOHANG) == n->pid) {
			print_log(n);
			n->pid = 0;
			return -ECHILD;
		}
		if (!client_open(n, "harness-probe", probe_ms, &ctx)) {
			shmx_close(ctx);
			return 0;
		}
		sleep_ms(100);
	}
	print_log(n);
	node_kill(n);
	return -ETIMEDOUT;
}

/*
 * " --transport T --provider P" from SHMEXT_TRANSPORT and SHMEXT_PROVIDER,
 * so that the node speaks what this program's clients will; into @buf,
 * returns the length (snprintf-like).
 */
static int transport_args(char *buf, size_t len)
{
	const char *t = getenv("SHMEXT_TRANSPORT");
	const char *p = getenv("SHMEXT_PROVIDER");
	int n = 0;

	buf[0] = 0;
	if (t && *t)
		n += snprintf(buf, len, " --transport %s", t);
	if (p && *p && (size_t)n < len)
		n += snprintf(buf + n, len - (size_t)n, " --provider %s", p);
	return n;
}

/* The client timeout of remote nodes whose test sets none. */
#define REMOTE_CLIENT_TIMEOUT_MS 10000

/* Remote: ask the agent to start shmnode with @args (key files copied). */
static int node_start_remote(struct node_proc *n, const char *const *args)
{
	char req[4096], rep[256], host[64], path[256];
	const char *key = getenv("SHMX_TEST_KEY_FILE");
	/* A restart asks for the port the node had. */
	size_t off = n->port ? (size_t)snprintf(req, sizeof(req), "restart %u",
						n->port)
			     : (size_t)snprintf(req, sizeof(req), "start");
	int have_key = 0, port, pid;
	uint16_t p16;
	int have_timeout = 0;

	for (int i = 0; args && args[i]; i++) {
		const char *a = args[i];

		have_timeout |= !strcmp(a, "--client-timeout");
		if (!strcmp(a, "--key-file") && args[i + 1]) {
			if (agent_put_file(args[i + 1], path, sizeof(path)))
				return -EIO;
			off += (size_t)snprintf(req + off, sizeof(req) - off,
						" --key-file %s", path);
			have_key = 1;
			i++;
			continue;
		}
		off += (size_t)snprintf(req + off, sizeof(req) - off, " %s", a);
	}
	off += (size_t)transport_args(req + off, sizeof(req) - off);
	/*
	 * Emulated RDMA between VMs stalls for seconds when rxe loses packets
	 * under a burst (a large transfer ahead of a heartbeat on one queue
	 * pair): unless the test chose a timeout, do not count a member gone
	 * after the default 3 s.
	 */
	if (!have_timeout)
		off += (size_t)snprintf(req + off, sizeof(req) - off,
					" --client-timeout %d",
					REMOTE_CLIENT_TIMEOUT_MS);
	/* Without a key, a node refuses every client that is not local. */
	if (!have_key && key) {
		if (agent_put_file(key, path, sizeof(path)))
			return -EIO;
		off += (size_t)snprintf(req + off, sizeof(req) - off,
					" --key-file %s", path);
	}
	if (off >= sizeof(req))
		return -E2BIG;
	if (agent_call(req, rep, sizeof(rep)) < 0 ||
	    sscanf(rep, "ok %d %d", &port, &pid) != 2) {
		fprintf(stderr, "node agent: %s", rep);
		return -EIO;
	}
	shmx__parse_host_port(agent_addr(), 0, host, sizeof(host), &p16);
	n->pid = pid;
	n->port = (uint16_t)port;
	if (strlen(host) > sizeof(n->addr) - 7)
		return -ENAMETOOLONG;
	snprintf(n->addr, sizeof(n->addr), "%.56s:%u", host, n->port);
	return 0;
}

/* In a child just forked by @parent: die with it.  A failed assertion
 * ends a test early, and a node or client left running would hold the
 * test's output open, so ctest would wait for its timeout. */
static void die_with(pid_t parent)
{
	(void)prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if (getppid() != parent)
		_exit(127);
}

/* Fork and exec shmnode with @args at n->addr; its stderr goes to n->log
 * (@flags: O_TRUNC for a new log, O_APPEND to go on).  0 or -errno. */
static int node_exec(struct node_proc *n, const char *const *args, int flags)
{
	const char *bin = getenv("SHMX_SHMNODE");
	const char *argv[64];
	pid_t parent;
	int argc = 0, fd;

	if (!bin)
		bin = "shmnode";
	argv[argc++] = bin;
	argv[argc++] = "--listen";
	argv[argc++] = n->addr;
	if (getenv("SHMEXT_TRANSPORT") && *getenv("SHMEXT_TRANSPORT")) {
		argv[argc++] = "--transport";
		argv[argc++] = getenv("SHMEXT_TRANSPORT");
	}
	if (getenv("SHMEXT_PROVIDER") && *getenv("SHMEXT_PROVIDER")) {
		argv[argc++] = "--provider";
		argv[argc++] = getenv("SHMEXT_PROVIDER");
	}
	for (int i = 0; args && args[i] && argc < 62; i++)
		argv[argc++] = args[i];
	argv[argc] = NULL;

	parent = getpid();
	n->pid = fork();
	if (n->pid < 0)
		return -errno;
	if (n->pid == 0) {
		die_with(parent);
		fd = open(n->log, O_WRONLY | O_CREAT | flags, 0644);
		if (fd >= 0) {
			dup2(fd, STDERR_FILENO);
			close(fd);
		}
		execv(bin, (char *const *)argv);
		fprintf(stderr, "exec %s: %s\n", bin, strerror(errno));
		_exit(127);
	}
	return 0;
}

int node_start(struct node_proc *n, const char *const *args)
{
	int ret;

	memset(n, 0, sizeof(*n));
	if (agent_addr()) {
		ret = node_start_remote(n, args);
		return ret ? ret : node_wait_ready(n);
	}
	n->port = free_port();
	if (!n->port)
		return -EADDRNOTAVAIL;
	snprintf(n->addr, sizeof(n->addr), "127.0.0.1:%u", n->port);
	snprintf(n->log, sizeof(n->log), "/tmp/shmx-test-node-%d-%u.log",
		 (int)getpid(), n->port);
	ret = node_exec(n, args, O_TRUNC);
	return ret ? ret : node_wait_ready(n);
}

int node_restart(struct node_proc *n, const char *const *args)
{
	int ret;

	if (n->pid > 0 || !n->port)
		return n->pid > 0 ? -EBUSY : -EINVAL;
	ret = agent_addr() ? node_start_remote(n, args)
			   : node_exec(n, args, O_APPEND);
	return ret ? ret : node_wait_ready(n);
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
	if (agent_addr()) {
		agent_signal(n->pid, SIGTERM);
		status = agent_wait(n->pid, 5);
		if (status < 0) {
			agent_signal(n->pid, SIGKILL);
			agent_wait(n->pid, 5);
		}
	} else {
		kill(n->pid, SIGTERM);
		status = reap(n->pid, 5);
		if (status < 0) {
			kill(n->pid, SIGKILL);
			waitpid(n->pid, NULL, 0);
		}
	}
	if (status != 0)
		print_log(n);
	else if (!agent_addr())
		unlink(n->log);
	n->pid = 0;
	return status;
}

int node_signal(const struct node_proc *n, int sig)
{
	if (n->pid <= 0)
		return -ESRCH;
	if (agent_addr()) {
		agent_signal(n->pid, sig);
		return 0;
	}
	return kill(n->pid, sig) ? -errno : 0;
}

void node_kill(struct node_proc *n)
{
	if (n->pid <= 0)
		return;
	if (agent_addr()) {
		agent_signal(n->pid, SIGKILL);
		agent_wait(n->pid, 5);
	} else {
		kill(n->pid, SIGKILL);
		waitpid(n->pid, NULL, 0);
	}
	n->pid = 0;
}

/*
 * Client processes: fork, then exec this program again with the request
 * in SHMX_HARNESS_CHILD ("FN INDEX HASNODE PID PORT ADDR"; FN is the
 * function's distance from spawn_client, the same in every run of one
 * binary).  child_main runs before main, does the work and exits.
 */
#define CHILD_ENV "SHMX_HARNESS_CHILD"

typedef int (*client_fn)(int index, void *arg);

__attribute__((constructor)) static void child_main(void)
{
	const char *req = getenv(CHILD_ENV);
	struct node_proc n = { 0 };
	long long off;
	int index, has_node, pid, port, ret;
	client_fn fn;

	if (!req)
		return;
	if (sscanf(req, "%lld %d %d %d %d %63s", &off, &index, &has_node, &pid,
		   &port, n.addr) != 6) {
		fprintf(stderr, "harness: bad %s: %s\n", CHILD_ENV, req);
		_exit(126);
	}
	unsetenv(CHILD_ENV);
	n.pid = pid;
	n.port = (uint16_t)port;
	fn = (client_fn)(uintptr_t)((uintptr_t)spawn_client + (uintptr_t)off);
	ret = fn(index, has_node ? &n : NULL);
	fflush(NULL);
	_exit(ret ? 1 : 0);
}

pid_t spawn_client(int (*fn)(int index, void *arg), int index,
		   const struct node_proc *arg)
{
	long long off = (long long)((uintptr_t)fn - (uintptr_t)spawn_client);
	char req[256];
	pid_t pid, parent;

	snprintf(req, sizeof(req), "%lld %d %d %d %u %s", off, index,
		 arg != NULL, arg ? (int)arg->pid : 0, arg ? arg->port : 0,
		 arg && arg->addr[0] ? arg->addr : "-");
	fflush(NULL);
	parent = getpid();
	pid = fork();
	if (pid == 0) {
		die_with(parent);
		setenv(CHILD_ENV, req, 1);
		execl("/proc/self/exe", "harness-client", (char *)NULL);
		fprintf(stderr, "harness: exec /proc/self/exe: %s\n",
			strerror(errno));
		_exit(127);
	}
	return pid;
}

int run_clients(int count, int (*fn)(int index, void *arg),
		const struct node_proc *arg, int timeout_s)
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

int area_create(struct shmx_ctx *ctx, const char *name, uint64_t size,
		shmx_gaddr_t *base)
{
	struct shmx_pool *p;
	struct shmx_pool_stat st;
	int ret;

	ret = shmx_pool_open(ctx, name, size, SHMX_CREAT | SHMX_EXCL, &p);
	if (ret)
		return ret;
	ret = shmx_alloc(p, size, 0, base);
	if (!ret && shmx_pool_stat(p, &st) == 0 && st.base != *base)
		ret = -EUCLEAN; /* a fresh pool's only block starts it */
	shmx_pool_close(p);
	return ret;
}

int area_find(struct shmx_ctx *ctx, const char *name, shmx_gaddr_t *base)
{
	struct shmx_pool *p;
	struct shmx_pool_stat st;
	int ret;

	ret = shmx_pool_open(ctx, name, 0, 0, &p);
	if (ret)
		return ret;
	ret = shmx_pool_stat(p, &st);
	if (!ret)
		*base = st.base;
	shmx_pool_close(p);
	return ret;
}

int scratch_alloc(struct shmx_ctx *ctx, uint64_t size, shmx_gaddr_t *at)
{
	struct shmx_pool *p;
	int ret;

	ret = shmx_pool_open(ctx, "harness-scratch", 1 << 20, SHMX_CREAT, &p);
	if (ret)
		return ret;
	ret = shmx_alloc(p, size, 0, at);
	shmx_pool_close(p);
	return ret;
}

/* A copy of the node's key file for @uid/@gid, named in the environment
 * from then on.  0 or -1. */
static int hand_key_to(uid_t uid, gid_t gid)
{
	const char *key = getenv("SHMEXT_KEY_FILE");
	char path[64], buf[4096];
	ssize_t n;
	int in, out, ret = 0;

	if (!key || !*key)
		return 0;
	snprintf(path, sizeof(path), "/tmp/shmx-key-%d", (int)getpid());
	in = open(key, O_RDONLY);
	out = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (in < 0 || out < 0)
		ret = -1;
	while (!ret && (n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			ret = -1;
	if (!ret && fchown(out, uid, gid))
		ret = -1;
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	return ret ? -1 : setenv("SHMEXT_KEY_FILE", path, 1);
}

int client_become(uid_t uid, gid_t gid)
{
	if (geteuid() != 0)
		return 0;
	if (hand_key_to(uid, gid) || setgroups(0, NULL) || setgid(gid) ||
	    setuid(uid))
		return -1;
	/* Changing credentials makes the process undumpable; undo that so
	 * sanitizers can still inspect it. */
	(void)prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
	return 0;
}
