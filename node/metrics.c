/* SPDX-License-Identifier: MIT */
/*
 * metrics.c - shmnode's HTTP metrics endpoint (metrics.h): a listening TCP
 * socket and a few connections, each a small state machine (reading the
 * request head, then sending the answer) stepped without blocking from
 * the event loop; and the pure parser of request heads.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "metrics.h"
#include "util/clock.h"
#include "util/errstr.h"
#include "util/log.h"
#include "util/parse.h"

#define METRICS_DEFAULT_HOST "127.0.0.1"
#define DIGITS "0123456789"

int metrics_parse_addr(const char *setting, char *host, size_t hostlen,
		       uint16_t *port)
{
	const char *p = setting;
	uint64_t n;

	if (!setting || !*setting)
		return -ENOENT;
	if (*p == ':')
		p++;
	if (p != setting || strspn(p, DIGITS) == strlen(p)) {
		if (!*p || strspn(p, DIGITS) != strlen(p) ||
		    shmx__parse_u64(p, &n) || n == 0 || n > 65535)
			return -EINVAL;
		*port = (uint16_t)n;
		return shmx__strlcpy(host, METRICS_DEFAULT_HOST, hostlen);
	}
	/* Default port 0: a host alone is refused. */
	return shmx__parse_host_port(setting, 0, host, hostlen, port);
}

int metrics_open(struct metrics *m, const char *setting)
{
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_PASSIVE | AI_NUMERICSERV,
	};
	struct addrinfo *res = NULL, *ai;
	char host[METRICS_ADDR_MAX], serv[8];
	int fd = -1, ret, one = 1;
	uint16_t port;

	memset(m, 0, sizeof(*m));
	m->fd = -1;
	for (int i = 0; i < METRICS_CONN_MAX; i++)
		m->conn[i].fd = -1;
	ret = metrics_parse_addr(setting, host, sizeof(host), &port);
	if (ret)
		return ret == -ENOENT ? -EINVAL : ret;
	snprintf(serv, sizeof(serv), "%u", port);
	if (getaddrinfo(host, serv, &hints, &res) || !res)
		return -EADDRNOTAVAIL;
	ret = -EADDRNOTAVAIL;
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family,
			    ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			    ai->ai_protocol);
		if (fd < 0) {
			ret = -errno;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (!bind(fd, ai->ai_addr, ai->ai_addrlen) && !listen(fd, 16))
			break;
		ret = -errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return ret;
	snprintf(m->where, sizeof(m->where), "%s%s%s:%u",
		 strchr(host, ':') ? "[" : "", host,
		 strchr(host, ':') ? "]" : "", port);
	m->fd = fd;
	m->open = 1;
	return 0;
}

/* Free slot @c: close its socket, drop its buffers. */
static void conn_end(struct metrics_conn *c)
{
	char sink[4096];

	/* Unread bytes at close would reset the connection under the
	 * answer: take what is there first (bounded, never waits). */
	for (int i = 0; i < 4; i++)
		if (recv(c->fd, sink, sizeof(sink), MSG_DONTWAIT) <= 0)
			break;
	close(c->fd);
	free(c->out);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

void metrics_close(struct metrics *m)
{
	if (!m->open)
		return;
	for (int i = 0; i < METRICS_CONN_MAX; i++)
		if (m->conn[i].fd >= 0)
			conn_end(&m->conn[i]);
	close(m->fd);
	m->fd = -1;
	m->open = 0;
}

/* 1 for a byte of an HTTP token (a method, a header name). */
static int tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* A line of @n bytes (its '\n' and any '\r' before it left out) has
 * control bytes other than tab. */
static int has_ctl(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return 1;
	}
	return 0;
}

/*
 * The request line @s of @n bytes: 0 with its status in *@status (200,
 * 404 or 405) and *@head, or 400 when it is not "METHOD TARGET HTTP/1.x".
 */
static int request_line(const char *s, size_t n, int *status, int *head)
{
	const char *sp1 = memchr(s, ' ', n), *sp2, *target, *q;
	size_t mlen, tlen, plen;

	if (!sp1 || sp1 == s)
		return 400;
	mlen = (size_t)(sp1 - s);
	for (size_t i = 0; i < mlen; i++)
		if (!tchar((unsigned char)s[i]))
			return 400;
	target = sp1 + 1;
	sp2 = memchr(target, ' ', n - mlen - 1);
	if (!sp2 || sp2 == target || *target != '/')
		return 400;
	tlen = (size_t)(sp2 - target);
	if (n - mlen - 1 - tlen - 1 != 8 ||
	    (memcmp(sp2 + 1, "HTTP/1.0", 8) && memcmp(sp2 + 1, "HTTP/1.1", 8)))
		return 400;
	q = memchr(target, '?', tlen);
	plen = q ? (size_t)(q - target) : tlen;
	*head = mlen == 4 && !memcmp(s, "HEAD", 4);
	if (!*head && !(mlen == 3 && !memcmp(s, "GET", 3)))
		*status = 405;
	else if (plen != 8 || memcmp(target, "/metrics", 8))
		*status = 404;
	else
		*status = 200;
	return 0;
}

int metrics_parse_request(const char *buf, size_t len, int *head)
{
	size_t at = 0, n;
	int status = 0, lines = 0;
	const char *nl, *colon;

	*head = 0;
	while (at < len) {
		nl = memchr(buf + at, '\n', len - at);
		if (!nl) /* a partial line: wrong already? */
			return has_ctl(buf + at, len - at) ? 400 : 0;
		n = (size_t)(nl - (buf + at));
		if (n && buf[at + n - 1] == '\r')
			n--;
		if (has_ctl(buf + at, n))
			return 400;
		if (!lines++) {
			if (request_line(buf + at, n, &status, head))
				return 400;
		} else if (!n) {
			return status; /* the empty line: the head is whole */
		} else {
			/* "Name: value"; no folded (obsolete) lines. */
			colon = memchr(buf + at, ':', n);
			if (!colon || colon == buf + at)
				return 400;
			for (const char *p = buf + at; p < colon; p++)
				if (!tchar((unsigned char)*p))
					return 400;
		}
		at = (size_t)(nl - buf) + 1;
	}
	return 0;
}

static const char *reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	default:
		return "Bad Request";
	}
}

/*
 * Make @c's answer of @status: for 200 the body @fn renders (not sent
 * for HEAD), else a line of text.  On no memory the connection ends.
 */
static void conn_answer(struct metrics_conn *c, int status, int head,
			metrics_fn fn, void *arg)
{
	char hdr[256], text[64], *body = NULL;
	int blen = 0, hlen;

	if (status == 200) {
		body = malloc(METRICS_BODY_MAX);
		blen = body ? fn(arg, body, METRICS_BODY_MAX) : -ENOMEM;
		if (blen < 0) {
			log_warn("metrics: no answer: %s",
				 shmx__strerror(blen));
			status = 500;
		}
	}
	if (status != 200) {
		blen = snprintf(text, sizeof(text), "%d %s\n", status,
				reason(status));
		free(body);
		body = text;
	}
	hlen = snprintf(hdr, sizeof(hdr),
			"HTTP/1.1 %d %s\r\n"
			"Content-Type: %s\r\n"
			"Content-Length: %d\r\n"
			"%s"
			"Connection: close\r\n\r\n",
			status, reason(status),
			status == 200 ? METRICS_CONTENT_TYPE
				      : "text/plain; charset=utf-8",
			blen, status == 405 ? "Allow: GET, HEAD\r\n" : "");
	if (head)
		blen = 0;
	c->out = malloc((size_t)hlen + (size_t)blen);
	if (c->out) {
		memcpy(c->out, hdr, (size_t)hlen);
		memcpy(c->out + hlen, body, (size_t)blen);
		c->out_len = (size_t)hlen + (size_t)blen;
	}
	if (body != text)
		free(body);
	if (!c->out)
		conn_end(c);
}

/* One step of connection @c at @now: read, answer, send or end. */
static void conn_step(struct metrics_conn *c, uint64_t now, metrics_fn fn,
		      void *arg)
{
	int status, head = 0;
	ssize_t n;

	if (!c->out) {
		n = recv(c->fd, c->in + c->in_len, METRICS_REQ_MAX - c->in_len,
			 MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN &&
			       errno != EWOULDBLOCK && errno != EINTR)) {
			conn_end(c); /* gone before it asked */
			return;
		}
		if (n > 0)
			c->in_len += (size_t)n;
		status = metrics_parse_request(c->in, c->in_len, &head);
		if (!status && c->in_len == METRICS_REQ_MAX)
			status = 431;
		if (!status && now >= c->deadline)
			status = 408;
		if (!status)
			return;
		conn_answer(c, status, head, fn, arg);
		if (c->fd < 0)
			return;
	}
	n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
		 MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n > 0)
		c->out_off += (size_t)n;
	if (c->out_off == c->out_len) {
		shutdown(c->fd, SHUT_WR);
		conn_end(c);
	} else if ((n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR) ||
		   now >= c->deadline) {
		conn_end(c); /* a client that does not read loses it */
	}
}

void metrics_poll(struct metrics *m, metrics_fn fn, void *arg)
{
	uint64_t now = shmx__now_ms();
	struct metrics_conn *c;
	int fd, waiting = 1;

	if (!m->open || now < m->next_poll_ms)
		return;
	m->next_poll_ms = now + METRICS_POLL_MS;
	for (int i = 0; i < METRICS_CONN_MAX; i++) {
		c = &m->conn[i];
		if (c->fd < 0) {
			if (!waiting)
				continue;
			fd = accept4(m->fd, NULL, NULL,
				     SOCK_NONBLOCK | SOCK_CLOEXEC);
			if (fd < 0) {
				/* Nobody (else) waits: no more accepts. */
				waiting =
					errno == EINTR || errno == ECONNABORTED;
				if (errno != EAGAIN && errno != EWOULDBLOCK &&
				    errno != EINTR && errno != ECONNABORTED)
					log_warn("metrics: accept on %s: %s",
						 m->where,
						 shmx__strerror(-errno));
				continue;
			}
			c->fd = fd;
			c->deadline = now + METRICS_WAIT_MS;
		}
		conn_step(c, now, fn, arg);
	}
}
