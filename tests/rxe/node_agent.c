/* SPDX-License-Identifier: MIT */
/*
 * node_agent.c - runs in the memory-node VM of the multi-host tests and
 * starts, signals, reaps and reports shmnode processes for test programs
 * running in the compute VMs (tests/integration/harness.c, remote mode).
 *
 * One TCP connection per request, one line each way (the log request
 * answers with the whole log, then closes):
 *   start ARG...        -> "ok PORT PID": shmnode ARG... --listen IP:PORT,
 *                          PORT a free one, stderr to a log file
 *   file NAME HEX       -> "ok PATH": writes the bytes to a private file
 *                          (key files the tests made on their own host)
 *   signal PID SIGNO    -> "ok"
 *   wait PID SECONDS    -> "ok STATUS": exit status, 128+signal, or -1
 *                          when still running at the deadline
 *   log PID             -> the node's log
 *   quit                -> "ok"; after the --quits'th quit (default 1) the
 *                          agent kills its nodes and exits
 * Errors answer "err TEXT".  Only pids this agent started are touched.
 *
 * Usage: node_agent --listen IP:PORT --shmnode PATH [--dir DIR]
 *                   [--lifetime SECONDS] [--quits N]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_NODES 256
#define LINE_MAX_LEN 8192
#define MAX_ARGS 62

static struct {
	pid_t pid;
	int reaped;
	int status;
} nodes[MAX_NODES];
static int nnodes;
static const char *shmnode_path, *dir = "/tmp/shmx-agent";
static struct in_addr ip;

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* A port on our address that nobody listens on right now, or 0. */
static unsigned free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr = ip };
	socklen_t len = sizeof(sa);
	unsigned port = 0;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd >= 0 && !bind(fd, (struct sockaddr *)&sa, sizeof(sa)) &&
	    !getsockname(fd, (struct sockaddr *)&sa, &len))
		port = ntohs(sa.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static int find_node(pid_t pid)
{
	for (int i = 0; i < nnodes; i++)
		if (nodes[i].pid == pid)
			return i;
	return -1;
}

/* Reap what has exited; for @i, wait up to @ms.  1 if node @i is gone. */
static int reap(int i, int ms)
{
	int st;

	for (int t = 0;; t += 10) {
		for (int k = 0; k < nnodes; k++) {
			if (nodes[k].reaped ||
			    waitpid(nodes[k].pid, &st, WNOHANG) != nodes[k].pid)
				continue;
			nodes[k].reaped = 1;
			nodes[k].status = WIFEXITED(st) ? WEXITSTATUS(st)
							: 128 + WTERMSIG(st);
		}
		if (i < 0 || nodes[i].reaped || t >= ms)
			return i >= 0 && nodes[i].reaped;
		sleep_ms(10);
	}
}

static void log_path(pid_t pid, char *buf, size_t len)
{
	snprintf(buf, len, "%s/node-%d.log", dir, (int)pid);
}

static void reply(int fd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void reply(int fd, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(buf) - 2)
		n = (int)sizeof(buf) - 2;
	buf[n++] = '\n';
	if (write(fd, buf, (size_t)n) != n)
		return;
}

/* Start shmnode with @args on @port, or on a free port when it is 0. */
static void do_start(int fd, char **args, int nargs, unsigned port)
{
	char listen_arg[64], log[256];
	const char *argv[MAX_ARGS + 4];
	int argc = 0, lfd;
	pid_t pid;

	if (!port)
		port = free_port();
	if (!port || nnodes == MAX_NODES) {
		reply(fd, "err no free port or node slot");
		return;
	}
	snprintf(listen_arg, sizeof(listen_arg), "%s:%u", inet_ntoa(ip), port);
	argv[argc++] = shmnode_path;
	for (int i = 0; i < nargs && argc < MAX_ARGS; i++)
		argv[argc++] = args[i];
	argv[argc++] = "--listen";
	argv[argc++] = listen_arg;
	argv[argc] = NULL;
	pid = fork();
	if (pid < 0) {
		reply(fd, "err fork: %s", strerror(errno));
		return;
	}
	if (pid == 0) {
		log_path(getpid(), log, sizeof(log));
		lfd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (lfd >= 0) {
			dup2(lfd, STDERR_FILENO);
			close(lfd);
		}
		close(fd);
		execv(shmnode_path, (char *const *)argv);
		fprintf(stderr, "exec %s: %s\n", shmnode_path, strerror(errno));
		_exit(127);
	}
	nodes[nnodes].pid = pid;
	nodes[nnodes].reaped = 0;
	nnodes++;
	fprintf(stderr, "agent: started shmnode %d on %s\n", (int)pid,
		listen_arg);
	reply(fd, "ok %u %d", port, (int)pid);
}

static int unhex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void do_file(int fd, const char *name, const char *hex)
{
	char path[256];
	size_t n = strlen(hex);
	int ffd, ok = 1;

	if (strchr(name, '/') || !*name || (n & 1)) {
		reply(fd, "err bad file request");
		return;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	ffd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (ffd < 0) {
		reply(fd, "err %s: %s", path, strerror(errno));
		return;
	}
	for (size_t i = 0; i < n && ok; i += 2) {
		int hi = unhex(hex[i]), lo = unhex(hex[i + 1]);
		unsigned char b = (unsigned char)(hi * 16 + lo);

		ok = hi >= 0 && lo >= 0 && write(ffd, &b, 1) == 1;
	}
	close(ffd);
	if (ok)
		reply(fd, "ok %s", path);
	else
		reply(fd, "err cannot write %s", path);
}

static void do_log(int fd, pid_t pid)
{
	char path[256], buf[4096];
	ssize_t n;
	int lfd;

	log_path(pid, path, sizeof(path));
	lfd = open(path, O_RDONLY);
	if (lfd < 0)
		return;
	while ((n = read(lfd, buf, sizeof(buf))) > 0)
		if (write(fd, buf, (size_t)n) != n)
			break;
	close(lfd);
}

/* Handle one connection.  Returns 1 on quit. */
static int serve(int fd)
{
	char line[LINE_MAX_LEN], *args[MAX_ARGS + 1], *save = NULL, *w;
	size_t len = 0;
	int nargs = 0, i;

	/* Read one line, bounded in size and time. */
	while (len < sizeof(line) - 1) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, 5000) != 1)
			return 0;
		n = read(fd, line + len, sizeof(line) - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		if (memchr(line, '\n', len))
			break;
	}
	line[len] = 0;
	line[strcspn(line, "\r\n")] = 0;
	for (w = strtok_r(line, " ", &save); w && nargs < MAX_ARGS;
	     w = strtok_r(NULL, " ", &save))
		args[nargs++] = w;
	if (!nargs) {
		reply(fd, "err empty request");
		return 0;
	}
	if (!strcmp(args[0], "start")) {
		do_start(fd, args + 1, nargs - 1, 0);
		return 0;
	}
	if (!strcmp(args[0], "restart") && nargs >= 2 && atoi(args[1]) > 0 &&
	    atoi(args[1]) < 65536) {
		do_start(fd, args + 2, nargs - 2, (unsigned)atoi(args[1]));
		return 0;
	}
	if (!strcmp(args[0], "quit")) {
		reply(fd, "ok");
		return 1;
	}
	if (!strcmp(args[0], "file") && nargs == 3) {
		do_file(fd, args[1], args[2]);
		return 0;
	}
	if (nargs < 2 || (i = find_node((pid_t)atoi(args[1]))) < 0) {
		reply(fd, "err unknown request or pid");
		return 0;
	}
	if (!strcmp(args[0], "signal") && nargs == 3) {
		if (!nodes[i].reaped)
			kill(nodes[i].pid, atoi(args[2]));
		reply(fd, "ok");
	} else if (!strcmp(args[0], "wait") && nargs == 3) {
		int gone = reap(i, atoi(args[2]) * 1000);

		reply(fd, "ok %d", gone ? nodes[i].status : -1);
	} else if (!strcmp(args[0], "log")) {
		do_log(fd, nodes[i].pid);
	} else {
		reply(fd, "err unknown request");
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	const char *listen_at = NULL;
	char host[64], *colon;
	int lifetime = 900, lfd, one = 1, quits = 1, quit = 0;
	time_t deadline;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--listen"))
			listen_at = argv[i + 1];
		else if (!strcmp(argv[i], "--shmnode"))
			shmnode_path = argv[i + 1];
		else if (!strcmp(argv[i], "--dir"))
			dir = argv[i + 1];
		else if (!strcmp(argv[i], "--lifetime"))
			lifetime = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--quits"))
			quits = atoi(argv[i + 1]);
	}
	if (!listen_at || !shmnode_path || strlen(listen_at) >= sizeof(host)) {
		fprintf(stderr,
			"usage: node_agent --listen IP:PORT --shmnode "
			"PATH [--dir DIR] [--lifetime S] [--quits N]\n");
		return 2;
	}
	strcpy(host, listen_at);
	colon = strrchr(host, ':');
	if (!colon || !inet_aton((*colon = 0, host), &ip)) {
		fprintf(stderr, "node_agent: bad --listen %s\n", listen_at);
		return 2;
	}
	mkdir(dir, 0700);
	signal(SIGPIPE, SIG_IGN);
	sa.sin_addr = ip;
	sa.sin_port = htons((uint16_t)atoi(colon + 1));
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(lfd, 16)) {
		fprintf(stderr, "node_agent: %s: %s\n", listen_at,
			strerror(errno));
		return 1;
	}
	fprintf(stderr, "agent: serving on %s\n", listen_at);
	deadline = time(NULL) + lifetime;
	while (quit < quits && time(NULL) < deadline) {
		struct pollfd p = { .fd = lfd, .events = POLLIN };
		int fd;

		reap(-1, 0);
		if (poll(&p, 1, 1000) != 1)
			continue;
		fd = accept(lfd, NULL, NULL);
		if (fd < 0)
			continue;
		quit += serve(fd);
		close(fd);
	}
	for (int i = 0; i < nnodes; i++) {
		if (!reap(i, 0)) {
			kill(nodes[i].pid, SIGKILL);
			reap(i, 2000);
		}
	}
	fprintf(stderr, "agent: %s\n",
		quit >= quits ? "quit" : "lifetime over");
	return 0;
}
