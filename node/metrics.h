/* SPDX-License-Identifier: MIT */
/*
 * metrics.h - shmnode's metrics endpoint (--metrics HOST:PORT): a small
 * HTTP/1.0 and 1.1 server that answers GET /metrics with the text a
 * callback renders (stats.c: Prometheus text format), from the node's
 * single-threaded event loop, without ever waiting on a client.
 *
 * Each connection lives at most METRICS_WAIT_MS from its accept, sends at
 * most METRICS_REQ_MAX bytes of request head (the request line and
 * headers, up to the empty line; a body is never read) and gets one
 * answer, then the node closes it:
 *   200  GET or HEAD of /metrics (a query string is ignored):
 *        "Content-Type: text/plain; version=0.0.4"
 *   404  another path           405  another method (Allow: GET, HEAD)
 *   400  not an HTTP/1.0 or 1.1 request head, or control bytes in it
 *   408  no complete head in time          431  a head over the limit
 *   500  the callback failed
 * At most METRICS_CONN_MAX connections are served at once; more wait in
 * the listen backlog.  metrics_poll does at most one non-blocking accept,
 * receive and send per connection per call, and renders only for a
 * complete request: a slow or silent client costs a slot, never time.
 */
#ifndef SHMX_NODE_METRICS_H
#define SHMX_NODE_METRICS_H

#include <stddef.h>
#include <stdint.h>

#define METRICS_ADDR_MAX 128	     /* the setting, "HOST:PORT" */
#define METRICS_REQ_MAX 4096	     /* request head bytes */
#define METRICS_CONN_MAX 8	     /* connections served at once */
#define METRICS_WAIT_MS 2000	     /* a connection's whole life */
#define METRICS_BODY_MAX (256 << 10) /* what the callback may render */
#define METRICS_POLL_MS 5	     /* metrics_poll looks this often */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4"

/*
 * Render the answer's body into @out (@len bytes, NUL-terminated).
 * Returns its length, or a negative errno (the client gets 500).
 */
typedef int (*metrics_fn)(void *arg, char *out, size_t len);

struct metrics_conn {
	int fd;		   /* -1: the slot is free */
	uint64_t deadline; /* monotonic ms */
	size_t in_len;
	char in[METRICS_REQ_MAX];
	char *out; /* the answer, once there is one (malloc'ed) */
	size_t out_len, out_off;
};

/* The listener.  All zero but the fds (metrics_open sets them) is closed. */
struct metrics {
	int fd;				  /* listening socket, when @open */
	int open;			  /* listening */
	char where[METRICS_ADDR_MAX + 8]; /* "HOST:PORT" bound, for logs */
	uint64_t next_poll_ms;
	struct metrics_conn conn[METRICS_CONN_MAX];
};

/*
 * Parse the --metrics setting @setting: "HOST:PORT", "[V6ADDR]:PORT",
 * ":PORT" or "PORT" (the last two on 127.0.0.1).  Returns 0 with @host
 * (@hostlen bytes) and *@port (1..65535) filled, -ENOENT for "" (no
 * endpoint), -EINVAL (no port, or not an address) or -ENAMETOOLONG.
 */
int metrics_parse_addr(const char *setting, char *host, size_t hostlen,
		       uint16_t *port);

/*
 * Listen on @setting (metrics_parse_addr; a host name is resolved): a
 * non-blocking TCP socket.  Returns 0, or -EINVAL / -ENAMETOOLONG (the
 * setting), -EADDRNOTAVAIL (the host does not resolve), -EADDRINUSE or
 * the -errno of a failed call.  On failure @m is closed (metrics_close is
 * harmless on it).
 */
int metrics_open(struct metrics *m, const char *setting);

/*
 * Serve the endpoint, at most every METRICS_POLL_MS (returns at once in
 * between and on a closed @m): accept what waits into free slots, take
 * what each connection sent, answer complete requests (calling @fn(@arg)
 * for GET /metrics), send what the socket takes, and close connections
 * that are answered or past their time.
 */
void metrics_poll(struct metrics *m, metrics_fn fn, void *arg);

/* Close every connection and the listener.  Harmless on a closed @m. */
void metrics_close(struct metrics *m);

/*
 * Parse the request head in @buf (@len bytes, not NUL-terminated).  Pure.
 * Returns 0 while it is not complete (no empty line yet, and nothing
 * wrong so far), else the status to answer: 200 (GET or HEAD of
 * /metrics; *@head is 1 for HEAD), 404, 405 or 400, as above.
 */
int metrics_parse_request(const char *buf, size_t len, int *head);

#endif /* SHMX_NODE_METRICS_H */
