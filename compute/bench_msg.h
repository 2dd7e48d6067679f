/* SPDX-License-Identifier: MIT */
/*
 * bench_msg.h - the echo process shmext bench measures signals and
 * messages against (bench_msg.c), and the measured operations.
 */
#ifndef SHMX_BENCH_MSG_H
#define SHMX_BENCH_MSG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "shmext/shmext.h"

struct bench_echo {
	pid_t pid;	/* the echo process, -1 when none */
	int fd;		/* where it reports its node id */
	shmx_node_t id; /* its node id, once joined */
};

/* Fork the echo (before this process opens any context), which joins
 * with @attr.  0 or -errno. */
int bench_echo_start(const struct shmx_open_attr *attr, struct bench_echo *e);
/* Wait up to @timeout_ms for the echo to join: 0 with e->id set,
 * -ECHILD (it could not join), -ETIMEDOUT or -errno. */
int bench_echo_join(struct bench_echo *e, int timeout_ms);
/* Echo what comes to @c until told to leave (0), nothing came for
 * @idle_ms (0; < 0: never), or an error (-errno). */
int bench_echo_serve(struct shmx_ctx *c, int idle_ms);
/* Tell the echo this process forked to leave (or kill it) and reap it;
 * nothing for another's. */
void bench_echo_stop(struct shmx_ctx *ctx, struct bench_echo *e);

/* One signal there and back.  0 or -errno. */
int bench_signal_rtt(struct shmx_ctx *ctx, const struct bench_echo *e,
		     uint64_t value);
/* One message of @len bytes there and back.  0 or -errno. */
int bench_msg_rtt(struct shmx_ctx *ctx, const struct bench_echo *e,
		  const void *buf, size_t len);
/* @n messages of @len bytes one after the other, until the echo says it
 * took the last.  0 or -errno. */
int bench_msg_stream(struct shmx_ctx *ctx, const struct bench_echo *e,
		     const void *buf, size_t len, unsigned n);

#endif /* SHMX_BENCH_MSG_H */
