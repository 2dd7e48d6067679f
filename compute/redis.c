/* SPDX-License-Identifier: MIT */
/*
 * redis.c - a tiny Redis (RESP) client over a plain TCP socket, for the
 * lock comparison of shmext bench: connect with a timeout, send a command
 * as an array of bulk strings, read one reply.  The socket is non-blocking
 * and every wait is a poll bounded by the connection's timeout.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "redis.h"
#include "util/clock.h"
#include "util/parse.h"

#define REDIS_DEFAULT_PORT 6379
#define REDIS_DEPTH_MAX 8 /* nested arrays we follow */
#define REDIS_CMD_STACK 512

struct redis {
	int fd;
	int timeout_ms;
	uint64_t deadline; /* of the call in progress, shmx__now_ms */
	size_t rpos, rlen; /* unread bytes: rbuf[rpos, rlen) */
	char rbuf[16384];
};

/* Wait for @events on @fd until @deadline (ms). */
static int wait_fd(int fd, short events, uint64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	uint64_t now;
	int n;

	for (;;) {
		now = shmx__now_ms();
		if (now >= deadline)
			return -ETIMEDOUT;
		n = poll(&p, 1, (int)(deadline - now));
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -errno;
	}
}

/* Connect the non-blocking socket @fd to @ai by @deadline. */
static int connect_one(int fd, const struct addrinfo *ai, uint64_t deadline)
{
	socklen_t len = sizeof(int);
	int err = 0, ret;

	if (!connect(fd, ai->ai_addr, ai->ai_addrlen))
		return 0;
	if (errno != EINPROGRESS)
		return -errno;
	ret = wait_fd(fd, POLLOUT, deadline);
	if (ret)
		return ret;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len))
		return -errno;
	return -err;
}

int redis_connect(const char *addr, int timeout_ms, struct redis **out)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICSERV };
	struct addrinfo *res, *ai;
	char host[256], port_s[8];
	uint64_t deadline;
	struct redis *r;
	uint16_t port;
	int ret, one = 1;

	if (!addr || !out || timeout_ms <= 0)
		return -EINVAL;
	ret = shmx__parse_host_port(addr, REDIS_DEFAULT_PORT, host,
				    sizeof(host), &port);
	if (ret)
		return -EINVAL;
	snprintf(port_s, sizeof(port_s), "%u", port);
	if (getaddrinfo(host, port_s, &hints, &res))
		return -EHOSTUNREACH;
	r = calloc(1, sizeof(*r));
	if (!r) {
		freeaddrinfo(res);
		return -ENOMEM;
	}
	r->timeout_ms = timeout_ms;
	r->fd = -1;
	deadline = shmx__now_ms() + (uint64_t)timeout_ms;
	ret = -ECONNREFUSED;
	for (ai = res; ai; ai = ai->ai_next) {
		r->fd = socket(ai->ai_family,
			       ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			       ai->ai_protocol);
		if (r->fd < 0) {
			ret = -errno;
			continue;
		}
		ret = connect_one(r->fd, ai, deadline);
		if (!ret)
			break;
		close(r->fd);
		r->fd = -1;
	}
	freeaddrinfo(res);
	if (ret) {
		free(r);
		return ret;
	}
	/* Small requests and replies: send each at once. */
	setsockopt(r->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	*out = r;
	return 0;
}

static int write_all(struct redis *r, const char *p, size_t n)
{
	ssize_t k;
	int ret;

	while (n) {
		k = send(r->fd, p, n, MSG_NOSIGNAL);
		if (k > 0) {
			p += k;
			n -= (size_t)k;
			continue;
		}
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && errno != EAGAIN)
			return errno == EPIPE ? -ECONNRESET : -errno;
		ret = wait_fd(r->fd, POLLOUT, r->deadline);
		if (ret)
			return ret;
	}
	return 0;
}

/* Read more bytes into the buffer (moving the unread ones to its start). */
static int fill(struct redis *r)
{
	ssize_t k;
	int ret;

	if (r->rpos) {
		memmove(r->rbuf, r->rbuf + r->rpos, r->rlen - r->rpos);
		r->rlen -= r->rpos;
		r->rpos = 0;
	}
	if (r->rlen == sizeof(r->rbuf))
		return -EPROTO; /* a line longer than the buffer */
	for (;;) {
		k = recv(r->fd, r->rbuf + r->rlen, sizeof(r->rbuf) - r->rlen,
			 0);
		if (k > 0) {
			r->rlen += (size_t)k;
			return 0;
		}
		if (!k)
			return -ECONNRESET;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -errno;
		ret = wait_fd(r->fd, POLLIN, r->deadline);
		if (ret)
			return ret;
	}
}

/* The next line, without its CRLF, NUL-terminated in place. */
static int read_line(struct redis *r, char **line)
{
	char *p, *start;
	int ret;

	for (;;) {
		start = r->rbuf + r->rpos;
		p = memmem(start, r->rlen - r->rpos, "\r\n", 2);
		if (p)
			break;
		ret = fill(r);
		if (ret)
			return ret;
	}
	*p = 0;
	*line = start;
	r->rpos = (size_t)(p + 2 - r->rbuf);
	return 0;
}

/* @s as a whole signed number. */
static int parse_num(const char *s, int64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoll(s, &end, 10);
	return !*s || *end || errno ? -EPROTO : 0;
}

/* A bulk string's @len bytes and CRLF; keep what fits in @rep->str. */
static int read_bulk(struct redis *r, int64_t len, struct redis_reply *rep)
{
	size_t want = (size_t)len + 2, kept = 0, k;
	char crlf[2] = { 0, 0 };
	int ret;

	while (want) {
		if (r->rpos == r->rlen) {
			ret = fill(r);
			if (ret)
				return ret;
		}
		k = r->rlen - r->rpos < want ? r->rlen - r->rpos : want;
		for (size_t i = 0; i < k; i++) {
			char c = r->rbuf[r->rpos + i];
			size_t left = want - i; /* this byte included */

			if (left <= 2)
				crlf[2 - left] = c;
			else if (kept < sizeof(rep->str) - 1)
				rep->str[kept++] = c;
		}
		r->rpos += k;
		want -= k;
	}
	rep->str[kept] = 0;
	return crlf[0] == '\r' && crlf[1] == '\n' ? 0 : -EPROTO;
}

static int read_reply(struct redis *r, struct redis_reply *rep, int depth)
{
	struct redis_reply elem;
	char *line;
	int ret;

	if (depth > REDIS_DEPTH_MAX)
		return -EPROTO;
	ret = read_line(r, &line);
	if (ret)
		return ret;
	memset(rep, 0, sizeof(*rep));
	rep->type = (enum redis_type)line[0];
	switch (line[0]) {
	case REDIS_STATUS:
	case REDIS_ERROR:
		snprintf(rep->str, sizeof(rep->str), "%s", line + 1);
		return 0;
	case REDIS_INT:
		return parse_num(line + 1, &rep->num);
	case REDIS_BULK:
		ret = parse_num(line + 1, &rep->num);
		if (ret || rep->num < -1)
			return -EPROTO;
		rep->nil = rep->num == -1;
		return rep->nil ? 0 : read_bulk(r, rep->num, rep);
	case REDIS_ARRAY:
		ret = parse_num(line + 1, &rep->num);
		if (ret || rep->num < -1)
			return -EPROTO;
		rep->nil = rep->num == -1;
		for (int64_t i = 0; i < rep->num && !ret; i++)
			ret = read_reply(r, &elem, depth + 1);
		return ret;
	}
	return -EPROTO;
}

int redis_cmd(struct redis *r, struct redis_reply *rep, int argc,
	      const char *const *argv)
{
	char stack[REDIS_CMD_STACK], *buf = stack;
	size_t len = 16, o;
	int ret;

	if (!r || !rep || argc <= 0 || !argv)
		return -EINVAL;
	for (int i = 0; i < argc; i++)
		len += 32 + strlen(argv[i]);
	if (len > sizeof(stack)) {
		buf = malloc(len);
		if (!buf)
			return -ENOMEM;
	}
	o = (size_t)snprintf(buf, len, "*%d\r\n", argc);
	for (int i = 0; i < argc; i++) {
		size_t n = strlen(argv[i]);

		o += (size_t)snprintf(buf + o, len - o, "$%zu\r\n", n);
		memcpy(buf + o, argv[i], n);
		memcpy(buf + o + n, "\r\n", 2);
		o += n + 2;
	}
	r->deadline = shmx__now_ms() + (uint64_t)r->timeout_ms;
	ret = write_all(r, buf, o);
	if (buf != stack)
		free(buf);
	if (!ret)
		ret = read_reply(r, rep, 0);
	if (!ret && rep->type == REDIS_ERROR)
		ret = -EREMOTEIO;
	return ret;
}

int redis_close(struct redis *r)
{
	int ret = 0;

	if (!r)
		return 0;
	if (close(r->fd))
		ret = -errno;
	free(r);
	return ret;
}
