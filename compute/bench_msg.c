/* SPDX-License-Identifier: MIT */
/*
 * bench_msg.c - the peer shmext bench measures signals and messages
 * against: a forked process with a context of its own that echoes, or a
 * member elsewhere running shmext echo (bench --peer).
 *
 * What the echo does with what it takes:
 *  - signal ECHO_SIG (value v): signal ECHO_SIG v back;
 *  - signal STREAM_SIG (value n): signal STREAM_SIG n back; the next n
 *    messages are only counted, and after the last it signals STREAM_DONE
 *    back;
 *  - signal QUIT_SIG: leave;
 *  - any other message: sent back as it came.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_msg.h"
#include "util/clock.h"

#define ECHO_SIG 1
#define STREAM_SIG 2
#define STREAM_DONE 3
#define QUIT_SIG 4
/* The echo waits in the call for more of what came last, ECHO_SLICE_MS
 * at a time, for ECHO_HOT_MS in all: longer than a round trip on any
 * fabric it is measured over (3 ms between emulated VMs), or it would go
 * back to its event fd between every two. */
#define ECHO_HOT_MS 100
#define ECHO_SLICE_MS 2
/* The echo leaves after this long without anything to do. */
#define ECHO_IDLE_MS 60000

/* What came last: the echo waits for more of it in the call. */
enum { SEEN_NONE, SEEN_SIGNAL, SEEN_MESSAGE };

/* Answer signal @si.  1 while it goes on, 0 to leave, -errno. */
static int echo_signal(struct shmx_ctx *c, const struct shmx_signal_info *si,
		       uint64_t *stream_left)
{
	int ret = 0;

	if (si->signo == QUIT_SIG)
		return 0;
	if (si->signo == STREAM_SIG) {
		*stream_left = si->value;
		ret = shmx_signal(c, si->src, STREAM_SIG, si->value);
	} else if (si->signo == ECHO_SIG) {
		ret = shmx_signal(c, si->src, ECHO_SIG, si->value);
	}
	return ret ? ret : 1;
}

/* Answer message @m (counted while a stream goes on).  1 or -errno. */
static int echo_message(struct shmx_ctx *c, struct shmx_message *m,
			uint64_t *stream_left)
{
	int ret;

	if (*stream_left)
		ret = --*stream_left ? 0
				     : shmx_signal(c, m->src, STREAM_DONE, 0);
	else
		ret = shmx_msg_send(c, m->src, m->data, m->len, 0);
	shmx_msg_free(m);
	return ret ? ret : 1;
}

/*
 * Take and answer one signal or message.  A peer measuring round trips
 * sends the next at once, and a wait in the call, which polls the
 * endpoint itself, answers sooner than one on the event fd; so the echo
 * waits in the call for the kind that came last (*@seen), ECHO_SLICE_MS
 * at a time, looking at the other kind between slices (a change of kind
 * costs a slice at most), for up to ECHO_HOT_MS in all.  1 when one was
 * answered, 0 to leave, -EAGAIN when none came, or -errno.
 */
static int echo_round(struct shmx_ctx *c, uint64_t *stream_left, int *seen)
{
	uint64_t end = shmx__now_ms() + (*seen == SEEN_NONE ? 0 : ECHO_HOT_MS);
	struct shmx_signal_info si;
	struct shmx_message *m;
	int ret;

	do {
		for (int kind = *seen == SEEN_MESSAGE ? SEEN_MESSAGE
						      : SEEN_SIGNAL,
			 tries = 0;
		     tries < 2;
		     tries++, kind = kind == SEEN_SIGNAL ? SEEN_MESSAGE
							 : SEEN_SIGNAL) {
			int ms = kind == *seen ? ECHO_SLICE_MS : 0;

			ret = kind == SEEN_SIGNAL ? shmx_signal_wait(c, ms, &si)
						  : shmx_msg_recv(c, ms, &m);
			if (ret == -ETIMEDOUT)
				continue;
			if (ret)
				return ret;
			/* A stream's messages come after its signal. */
			*seen = kind == SEEN_SIGNAL && si.signo == STREAM_SIG
					? SEEN_MESSAGE
					: kind;
			return kind == SEEN_SIGNAL
				       ? echo_signal(c, &si, stream_left)
				       : echo_message(c, m, stream_left);
		}
	} while (shmx__now_ms() < end);
	*seen = SEEN_NONE;
	return -EAGAIN;
}

int bench_echo_serve(struct shmx_ctx *c, int idle_ms)
{
	uint64_t stream_left = 0, idle_since = shmx__now_ms();
	int ret, seen = SEEN_NONE;

	for (;;) {
		struct pollfd p = { .fd = shmx_event_fd(c), .events = POLLIN };
		struct shmx_event ev;

		while (shmx_event_next(c, &ev) == 0)
			; /* joins and leaves: not the echo's business */
		ret = echo_round(c, &stream_left, &seen);
		if (ret == 0 || (ret < 0 && ret != -EAGAIN))
			return ret;
		if (ret > 0) {
			idle_since = shmx__now_ms();
			continue;
		}
		if (idle_ms >= 0 &&
		    shmx__now_ms() - idle_since > (uint64_t)idle_ms)
			return 0;
		(void)poll(&p, 1, 100);
	}
}

static void __attribute__((noreturn))
echo_main(const struct shmx_open_attr *base, int fd)
{
	struct shmx_open_attr attr = *base;
	struct shmx_ctx *c = NULL;
	char name[SHMX_NAME_MAX];
	shmx_node_t id = 0;
	int ret;

	snprintf(name, sizeof(name), "bench-echo-%d", (int)getpid());
	attr.comp_mask |= SHMX_OPEN_ATTR_NAME;
	attr.name = name;
	ret = shmx_open(&attr, &c);
	/* Its mailbox open before the bench hears of it. */
	if (!ret && shmx_event_fd(c) >= 0)
		id = shmx_self(c);
	if (write(fd, &id, sizeof(id)) != (ssize_t)sizeof(id) || ret)
		_exit(1);
	close(fd);
	ret = bench_echo_serve(c, ECHO_IDLE_MS);
	shmx_close(c);
	_exit(ret ? 1 : 0);
}

int bench_echo_start(const struct shmx_open_attr *attr, struct bench_echo *e)
{
	int p[2];

	e->pid = -1;
	e->id = 0;
	if (pipe(p))
		return -errno;
	fflush(NULL);
	e->pid = fork();
	if (e->pid < 0) {
		close(p[0]);
		close(p[1]);
		return -errno;
	}
	if (!e->pid) {
		close(p[0]);
		echo_main(attr, p[1]);
	}
	close(p[1]);
	e->fd = p[0];
	return 0;
}

int bench_echo_join(struct bench_echo *e, int timeout_ms)
{
	struct pollfd p = { .fd = e->fd, .events = POLLIN };
	int ret = poll(&p, 1, timeout_ms);

	if (ret <= 0)
		return ret < 0 ? -errno : -ETIMEDOUT;
	if (read(e->fd, &e->id, sizeof(e->id)) != (ssize_t)sizeof(e->id) ||
	    !e->id)
		return -ECHILD; /* it could not join: it said why */
	return 0;
}

void bench_echo_stop(struct shmx_ctx *ctx, struct bench_echo *e)
{
	if (e->pid <= 0)
		return; /* none, or another's (bench --peer) */
	if (!ctx || !e->id || shmx_signal(ctx, e->id, QUIT_SIG, 0))
		kill(e->pid, SIGKILL);
	waitpid(e->pid, NULL, 0);
	close(e->fd);
	e->pid = -1;
}

int bench_signal_rtt(struct shmx_ctx *ctx, const struct bench_echo *e,
		     uint64_t value)
{
	struct shmx_signal_info si;
	int ret = shmx_signal(ctx, e->id, ECHO_SIG, value);

	if (!ret)
		ret = shmx_signal_wait(ctx, -1, &si);
	if (!ret && (si.src != e->id || si.value != value))
		ret = -EBADMSG;
	return ret;
}

int bench_msg_rtt(struct shmx_ctx *ctx, const struct bench_echo *e,
		  const void *buf, size_t len)
{
	struct shmx_message *m;
	int ret = shmx_msg_send(ctx, e->id, buf, len, 0);

	if (!ret)
		ret = shmx_msg_recv(ctx, -1, &m);
	if (ret)
		return ret;
	if (m->src != e->id || m->len != len)
		ret = -EBADMSG;
	shmx_msg_free(m);
	return ret;
}

int bench_msg_stream(struct shmx_ctx *ctx, const struct bench_echo *e,
		     const void *buf, size_t len, unsigned n)
{
	struct shmx_signal_info si;
	int ret = shmx_signal(ctx, e->id, STREAM_SIG, n);

	/* The echo says it counts from now on. */
	if (!ret)
		ret = shmx_signal_wait(ctx, -1, &si);
	if (!ret && (si.src != e->id || si.signo != STREAM_SIG))
		ret = -EBADMSG;
	for (unsigned i = 0; !ret && i < n; i++)
		ret = shmx_msg_send(ctx, e->id, buf, len, 0);
	if (!ret)
		ret = shmx_signal_wait(ctx, -1, &si);
	if (!ret && (si.src != e->id || si.signo != STREAM_DONE))
		ret = -EBADMSG;
	return ret;
}
