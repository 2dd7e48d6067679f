/* SPDX-License-Identifier: MIT */
/*
 * admin.c - shmnode's admin socket (admin.h): listen on a Unix socket, serve
 * one command line per connection from the event loop without blocking it,
 * and the client of "shmnode admin".
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "admin.h"
#include "shmext/shmext.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/parse.h"

_Static_assert(ADMIN_PATH_MAX == sizeof(((struct sockaddr_un *)0)->sun_path),
	       "admin paths are socket addresses");

/* Most bytes of an answer a client takes: status line and text. */
#define ADMIN_ANSWER_MAX (ADMIN_TEXT_MAX + 512)
/* Largest errno an answer may carry. */
#define ADMIN_ERRNO_MAX 4095

/* Neutral text of errno @err (0, -errno or errno), never NULL. */
static const char *err_text(int err)
{
	const char *s = strerrordesc_np(err < 0 ? -err : err);

	return s ? s : "Unknown error";
}

/* Fill @sun with @path.  0, -EINVAL (empty) or -ENAMETOOLONG. */
static int admin_addr(struct sockaddr_un *sun, const char *path)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (!path || !*path)
		return -EINVAL;
	return shmx__strlcpy(sun->sun_path, path, sizeof(sun->sun_path));
}

/* Milliseconds from now until @deadline (monotonic ms), 0 once past. */
static int ms_left(uint64_t deadline)
{
	uint64_t now = shmx__now_ms();

	return now >= deadline ? 0 : (int)(deadline - now);
}

/*
 * Wait until @fd is ready for @events (or has an error or hang-up, which
 * the next call on it reports) or @deadline passes.  0, -ETIMEDOUT or
 * -errno.
 */
static int wait_fd(int fd, short events, uint64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	int n;

	for (;;) {
		n = poll(&p, 1, ms_left(deadline));
		if (n > 0)
			return 0;
		if (n == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

/* Send @len bytes of @buf by @deadline.  0, -ETIMEDOUT or -errno. */
static int send_all(int fd, const char *buf, size_t len, uint64_t deadline)
{
	ssize_t n;
	int ret;

	while (len) {
		n = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n >= 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		ret = wait_fd(fd, POLLOUT, deadline);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * What is at @sun's path before we bind it: 0 for nothing (or a stale
 * socket, which this removes), -EADDRINUSE for a socket something answers
 * on, -EEXIST for anything but a socket, or -errno (e.g. -EACCES: another
 * user's socket).
 */
static int admin_clear_stale(const struct sockaddr_un *sun)
{
	struct stat st;
	int fd, ret;

	if (lstat(sun->sun_path, &st))
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	ret = connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) ? -errno
								      : 0;
	close(fd);
	/* A full backlog (-EAGAIN) is a live node too. */
	if (!ret || ret == -EAGAIN || ret == -EINPROGRESS)
		return -EADDRINUSE;
	if (ret == -ENOENT)
		return 0;
	if (ret != -ECONNREFUSED)
		return ret;
	if (unlink(sun->sun_path) && errno != ENOENT)
		return -errno;
	log_info("admin: removed the stale socket %s", sun->sun_path);
	return 0;
}

int admin_open(struct admin *a, const char *path)
{
	struct sockaddr_un sun;
	struct stat st;
	mode_t old_mask;
	int fd, ret;

	memset(a, 0, sizeof(*a));
	a->fd = -1;
	ret = admin_addr(&sun, path);
	if (ret)
		return ret;
	ret = admin_clear_stale(&sun);
	if (ret)
		return ret;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* The file is created 0600 from the start: no window for others. */
	old_mask = umask(0177);
	ret = bind(fd, (const struct sockaddr *)&sun, sizeof(sun)) ? -errno : 0;
	umask(old_mask);
	if (ret)
		goto out_close;
	if (lstat(sun.sun_path, &st) || listen(fd, 16)) {
		ret = -errno;
		goto out_unlink;
	}
	memcpy(a->path, sun.sun_path, sizeof(a->path));
	a->fd = fd;
	a->dev = st.st_dev;
	a->ino = st.st_ino;
	a->open = 1;
	return 0;

out_unlink:
	unlink(sun.sun_path);
out_close:
	close(fd);
	return ret;
}

void admin_close(struct admin *a)
{
	struct stat st;

	if (!a->open)
		return;
	if (!lstat(a->path, &st) && S_ISSOCK(st.st_mode) &&
	    st.st_dev == a->dev && st.st_ino == a->ino)
		unlink(a->path);
	close(a->fd);
	a->fd = -1;
	a->open = 0;
}

/*
 * Read one request line into @line (ADMIN_LINE_MAX + 1 bytes) by
 * @deadline.  Returns its length without the '\n', which becomes a NUL;
 * -EINVAL with @why (too long, or the peer stopped before its '\n'),
 * -ETIMEDOUT, or -errno.
 */
static int read_line(int fd, char *line, uint64_t deadline, const char **why)
{
	size_t len = 0;
	ssize_t n;
	char *nl;
	int ret;

	while (len < ADMIN_LINE_MAX) {
		n = recv(fd, line + len, ADMIN_LINE_MAX - len, MSG_DONTWAIT);
		if (n > 0) {
			nl = memchr(line + len, '\n', (size_t)n);
			len += (size_t)n;
			if (!nl)
				continue;
			*nl = '\0';
			return (int)(nl - line);
		}
		if (n == 0) {
			*why = "the request line does not end in a newline";
			return -EINVAL;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		ret = wait_fd(fd, POLLIN, deadline);
		if (ret)
			return ret;
	}
	*why = "the request line is longer than 1024 bytes";
	return -EINVAL;
}

/*
 * Split the request @line of @len bytes at spaces and tabs into @argv
 * (ADMIN_ARGS_MAX + 1 slots, NULL-terminated).  Returns the number of
 * words, or -EINVAL with @why.
 */
static int split_words(char *line, size_t len, char **argv, const char **why)
{
	int argc = 0;
	char *p;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			*why = "the request holds a NUL or control byte";
			return -EINVAL;
		}
	}
	for (p = line;;) {
		p += strspn(p, " \t");
		if (!*p)
			break;
		if (argc == ADMIN_ARGS_MAX) {
			*why = "the request has more than 16 words";
			return -EINVAL;
		}
		argv[argc++] = p;
		p += strcspn(p, " \t");
		if (*p)
			*p++ = '\0';
	}
	if (!argc) {
		*why = "the request is empty";
		return -EINVAL;
	}
	argv[argc] = NULL;
	return argc;
}

/*
 * Send the answer of @err (0 or -errno): its status line, then @text with
 * a final '\n' added if it lacks one, by @deadline.  A peer that does not
 * take it in time loses it.
 */
static void send_answer(int fd, int err, const char *text, uint64_t deadline)
{
	size_t tlen = strlen(text);
	char status[256];
	int ret;

	if (err)
		snprintf(status, sizeof(status), "error %d %s\n", -err,
			 err_text(err));
	else
		snprintf(status, sizeof(status), "ok\n");
	ret = send_all(fd, status, strlen(status), deadline);
	if (!ret && tlen)
		ret = send_all(fd, text, tlen, deadline);
	if (!ret && tlen && text[tlen - 1] != '\n')
		ret = send_all(fd, "\n", 1, deadline);
	if (ret)
		log_debug("admin: answer not delivered: %s", err_text(ret));
}

/* Log a request: who sent it and its words. */
static void log_request(const struct ucred *cred, int argc, char **argv)
{
	char words[ADMIN_LINE_MAX];
	size_t len = 0;

	words[0] = '\0';
	for (int i = 0; i < argc && len < sizeof(words); i++)
		len += (size_t)snprintf(words + len, sizeof(words) - len,
					"%s%s", i ? " " : "", argv[i]);
	log_info("admin: pid %d uid %u: %s", (int)cred->pid,
		 (unsigned)cred->uid, words);
}

/* Serve one accepted connection @fd: check, read, call @fn, answer. */
static void admin_serve(int fd, admin_fn fn, void *arg)
{
	uint64_t deadline = shmx__now_ms() + ADMIN_WAIT_MS;
	char line[ADMIN_LINE_MAX + 1], text[ADMIN_TEXT_MAX];
	char *argv[ADMIN_ARGS_MAX + 1];
	const char *why = NULL;
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	int ret, argc = 0;

	text[0] = '\0';
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen)) {
		log_warn("admin: no peer credentials: %s", err_text(errno));
		return;
	}
	if (cred.uid != 0 && cred.uid != geteuid()) {
		log_warn("admin: refused pid %d uid %u: only root and uid %u "
			 "may give commands",
			 (int)cred.pid, (unsigned)cred.uid,
			 (unsigned)geteuid());
		snprintf(text, sizeof(text),
			 "only root and uid %u may give commands\n",
			 (unsigned)geteuid());
		send_answer(fd, -EPERM, text, deadline);
		return;
	}
	ret = read_line(fd, line, deadline, &why);
	if (ret >= 0) {
		argc = split_words(line, (size_t)ret, argv, &why);
		ret = argc < 0 ? argc : 0;
	} else if (ret == -ETIMEDOUT) {
		why = "no request line came within 100 ms";
	}
	if (ret) {
		if (!why) {
			log_debug("admin: pid %d: %s", (int)cred.pid,
				  err_text(ret));
			return;
		}
		log_debug("admin: pid %d: %s", (int)cred.pid, why);
		snprintf(text, sizeof(text), "%s\n", why);
		send_answer(fd, ret, text, deadline);
		return;
	}
	log_request(&cred, argc, argv);
	ret = fn(arg, argc, argv, text, sizeof(text));
	text[sizeof(text) - 1] = '\0';
	if (ret > 0 || ret < -ADMIN_ERRNO_MAX)
		ret = -EIO; /* a handler broke its contract */
	send_answer(fd, ret, text, deadline);
}

/*
 * Discard what a peer sent past its request line: closing a Unix socket
 * with unread data makes the peer's reads fail with ECONNRESET instead of
 * ending at the answer.  Bounded, never waits.
 */
static void drain(int fd)
{
	char buf[4096];

	for (int i = 0; i < 16; i++)
		if (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) <= 0)
			break;
}

void admin_poll(struct admin *a, admin_fn fn, void *arg)
{
	int fd;

	if (!a->open)
		return;
	for (int i = 0; i < ADMIN_ACCEPT_MAX; i++) {
		fd = accept4(a->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				log_warn("admin: accept on %s: %s", a->path,
					 err_text(errno));
			return;
		}
		admin_serve(fd, fn, arg);
		drain(fd);
		close(fd);
	}
}

/*
 * Join @argv into the request @line (ADMIN_LINE_MAX bytes), '\n'-ended;
 * its length in *@lenp.  0, or -EINVAL for words the node would read
 * otherwise than we mean, or too many or too long.
 */
static int build_line(int argc, char **argv, char *line, size_t *lenp)
{
	size_t len = 0, n;

	if (argc < 1 || argc > ADMIN_ARGS_MAX)
		return -EINVAL;
	for (int i = 0; i < argc; i++) {
		n = strlen(argv[i]);
		if (!n || len + n + 1 > ADMIN_LINE_MAX)
			return -EINVAL;
		for (size_t j = 0; j < n; j++) {
			unsigned char c = (unsigned char)argv[i][j];

			if (c <= ' ' || c == 0x7f)
				return -EINVAL;
		}
		memcpy(line + len, argv[i], n);
		len += n;
		line[len++] = i + 1 < argc ? ' ' : '\n';
	}
	*lenp = len;
	return 0;
}

/*
 * Connect @fd (non-blocking) to @sun by @deadline, retrying while the
 * node's backlog is full.  0, -ETIMEDOUT or -errno.
 */
static int connect_by(int fd, const struct sockaddr_un *sun, uint64_t deadline)
{
	for (;;) {
		if (!connect(fd, (const struct sockaddr *)sun, sizeof(*sun)))
			return 0;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -errno;
		if (!ms_left(deadline))
			return -ETIMEDOUT;
		shmx__sleep_us(10000);
	}
}

/*
 * The node at the other end of @fd must run as root or as us (or we are
 * root): else anyone could put a socket where we look and answer for the
 * node.  0, -EPERM or -errno.
 */
static int check_node(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	uid_t euid = geteuid();

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len))
		return -errno;
	if (euid != 0 && cred.uid != 0 && cred.uid != euid)
		return -EPERM;
	return 0;
}

/*
 * Read the answer into @buf (ADMIN_ANSWER_MAX + 1 bytes) until the node
 * closes, by @deadline; its length in *@lenp.  0, -ETIMEDOUT, -EBADMSG
 * (too long) or -errno.
 */
static int read_answer(int fd, char *buf, size_t *lenp, uint64_t deadline)
{
	size_t len = 0;
	ssize_t n;
	int ret;

	for (;;) {
		n = recv(fd, buf + len, ADMIN_ANSWER_MAX + 1 - len,
			 MSG_DONTWAIT);
		if (n > 0) {
			len += (size_t)n;
			if (len > ADMIN_ANSWER_MAX)
				return -EBADMSG;
			continue;
		}
		/* A node that closes with our bytes unread resets. */
		if (n == 0 || (errno == ECONNRESET && len))
			break;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		ret = wait_fd(fd, POLLIN, deadline);
		if (ret)
			return ret;
	}
	*lenp = len;
	return 0;
}

/*
 * Check the answer @ans of @len bytes (room for a NUL after it) and print
 * it to @out.  0, the answer's -ERRNO, or -EBADMSG (printing nothing).
 */
static int print_answer(char *ans, size_t len, FILE *out)
{
	char *nl, *num, *msg;
	uint64_t err;

	ans[len] = '\0';
	nl = memchr(ans, '\n', len);
	if (!nl || memchr(ans, '\0', len))
		return -EBADMSG;
	*nl = '\0';
	if (!strcmp(ans, "ok")) {
		fputs(nl + 1, out);
		return 0;
	}
	if (strncmp(ans, "error ", 6) != 0)
		return -EBADMSG;
	num = ans + 6;
	msg = strchr(num, ' ');
	if (msg)
		*msg++ = '\0';
	if (shmx__parse_u64(num, &err) || !err || err > ADMIN_ERRNO_MAX)
		return -EBADMSG;
	fprintf(out, "%s\n%s", msg && *msg ? msg : err_text((int)err), nl + 1);
	return -(int)err;
}

int admin_request(const char *path, int argc, char **argv, FILE *out,
		  int timeout_ms)
{
	uint64_t deadline = shmx__now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	char line[ADMIN_LINE_MAX], *ans;
	struct sockaddr_un sun;
	size_t len;
	int fd, ret;

	ret = build_line(argc, argv, line, &len);
	if (ret)
		return ret;
	ret = admin_addr(&sun, path);
	if (ret)
		return ret;
	ans = malloc(ADMIN_ANSWER_MAX + 1);
	if (!ans)
		return -ENOMEM;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		ret = -errno;
		goto out_free;
	}
	ret = connect_by(fd, &sun, deadline);
	if (ret)
		goto out_close;
	ret = check_node(fd);
	if (ret)
		goto out_close;
	/* A node that refuses us answers and closes without reading. */
	ret = send_all(fd, line, len, deadline);
	if (ret && ret != -EPIPE && ret != -ECONNRESET)
		goto out_close;
	ret = read_answer(fd, ans, &len, deadline);
	if (!ret)
		ret = print_answer(ans, len, out);
out_close:
	close(fd);
out_free:
	free(ans);
	return ret;
}

int admin_default_path(const char *listen, char *out, size_t outlen)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	uid_t euid = geteuid();
	char host[256];
	uint16_t port;
	int n;

	if (!listen || shmx__parse_host_port(listen, SHMX_DEFAULT_PORT, host,
					     sizeof(host), &port))
		return -EINVAL;
	if (euid == 0)
		n = snprintf(out, outlen, "/run/shmnode-%u.sock", port);
	else if (xdg && xdg[0] == '/')
		n = snprintf(out, outlen, "%s/shmnode-%u.sock", xdg, port);
	else
		n = snprintf(out, outlen, "/tmp/shmnode-%u-%u.sock",
			     (unsigned)euid, port);
	if (n < 0 || (size_t)n >= outlen || n >= ADMIN_PATH_MAX)
		return -ENAMETOOLONG;
	return 0;
}

int admin_socket_path(const char *setting, const char *listen, char *out,
		      size_t outlen)
{
	if (!strcmp(setting, "none"))
		setting = "";
	else if (!*setting)
		return admin_default_path(listen, out, outlen);
	if (strlen(setting) >= ADMIN_PATH_MAX)
		return -ENAMETOOLONG;
	return shmx__strlcpy(out, setting, outlen);
}
