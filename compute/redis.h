/* SPDX-License-Identifier: MIT */
/*
 * redis.h - a tiny Redis client for shmext bench's lock comparison: one
 * plain TCP connection, commands sent as RESP arrays of bulk strings, one
 * reply read per command.  No pipelining, no pub/sub, no TLS, no external
 * library.  Every call returns 0 or a negative errno.
 */
#ifndef SHMX_REDIS_H
#define SHMX_REDIS_H

#include <stddef.h>
#include <stdint.h>

struct redis;

/* The kinds of RESP reply (their first byte). */
enum redis_type {
	REDIS_STATUS = '+',
	REDIS_ERROR = '-',
	REDIS_INT = ':',
	REDIS_BULK = '$',
	REDIS_ARRAY = '*',
};

#define REDIS_STR_MAX 256

/* One reply.  Arrays are read whole but only their length is kept. */
struct redis_reply {
	enum redis_type type;
	int nil;		 /* a null bulk string or array */
	int64_t num;		 /* REDIS_INT: the value; arrays: the length */
	char str[REDIS_STR_MAX]; /* status, error or bulk text, truncated */
};

/*
 * redis_connect - connect to "HOST:PORT" (port 6379 when left out) within
 * @timeout_ms; the same timeout then bounds every command.
 * Returns 0, -EINVAL (bad address), -EHOSTUNREACH (the host name does not
 * resolve), -ECONNREFUSED, -ETIMEDOUT, -ENOMEM or another socket error.
 */
int redis_connect(const char *addr, int timeout_ms, struct redis **out);

/*
 * redis_cmd - send the command @argv[0..@argc) and read its reply into
 * @rep.  Returns 0, -EREMOTEIO (Redis answered with an error; its text is
 * in @rep->str), -EPROTO (not RESP), -ETIMEDOUT, -ECONNRESET (the server
 * closed the connection) or another socket error; after any error but
 * -EREMOTEIO the connection is unusable.
 */
int redis_cmd(struct redis *r, struct redis_reply *rep, int argc,
	      const char *const *argv);

/* redis_close - close and free (NULL does nothing).  Returns 0 or -errno. */
int redis_close(struct redis *r);

#endif /* SHMX_REDIS_H */
