/* SPDX-License-Identifier: MIT */
/*
 * events.c - what a context has waiting for its application, and the
 * descriptor that says so: membership and memory-map events (from the
 * node's MEMBER and MAP events, queued here), and the readiness of the
 * mailbox's signals and messages (mailbox.c).
 *
 * The event fd is an eventfd in semaphore mode whose count is the number
 * of things waiting: each producer adds one per item, each consumer takes
 * one per item, so it is readable exactly while something waits and no
 * producer needs another's lock.  ev_lock guards the event ring; it is a
 * leaf (nothing else is taken while it is held), so the node's events can
 * be queued with ctx->lock held.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "ctx.h"
#include "mailbox.h"

int shmx__events_init(struct shmx_ctx *ctx)
{
	ctx->event_fd = -1;
	pthread_mutex_init(&ctx->ev_lock, NULL);
	ctx->ev_ring = calloc(SHMX_EVENTS_MAX, sizeof(*ctx->ev_ring));
	if (!ctx->ev_ring)
		return -ENOMEM;
	ctx->event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC | EFD_SEMAPHORE);
	return ctx->event_fd < 0 ? -errno : 0;
}

void shmx__events_fini(struct shmx_ctx *ctx)
{
	if (ctx->event_fd >= 0)
		close(ctx->event_fd);
	free(ctx->ev_ring);
	pthread_mutex_destroy(&ctx->ev_lock);
}

void shmx__ready_add(struct shmx_ctx *ctx)
{
	uint64_t one = 1;

	(void)!write(ctx->event_fd, &one, sizeof(one));
}

void shmx__ready_take(struct shmx_ctx *ctx)
{
	uint64_t v;

	(void)!read(ctx->event_fd, &v, sizeof(v));
}

void shmx__events_push(struct shmx_ctx *ctx, const struct shmx_event *ev)
{
	pthread_mutex_lock(&ctx->ev_lock);
	if (ctx->ev_count == SHMX_EVENTS_MAX) {
		/* Full: the oldest goes, and the application is told. */
		ctx->ev_head = (ctx->ev_head + 1) % SHMX_EVENTS_MAX;
		ctx->ev_count--;
		ctx->ev_lost++;
		shmx__ready_take(ctx);
	}
	ctx->ev_ring[(ctx->ev_head + ctx->ev_count++) % SHMX_EVENTS_MAX] = *ev;
	shmx__ready_add(ctx);
	pthread_mutex_unlock(&ctx->ev_lock);
}

SHMX_EXPORT int shmx_event_next(struct shmx_ctx *ctx, struct shmx_event *ev)
{
	int ret = 0;

	if (!ctx || !ev)
		return -EINVAL;
	pthread_mutex_lock(&ctx->ev_lock);
	if (ctx->ev_lost) {
		/* Before what is left: the losses (no count to take). */
		*ev = (struct shmx_event){ .type = SHMX_EVENT_LOST,
					   .count = ctx->ev_lost };
		ctx->ev_lost = 0;
	} else if (ctx->ev_count) {
		*ev = ctx->ev_ring[ctx->ev_head];
		ctx->ev_head = (ctx->ev_head + 1) % SHMX_EVENTS_MAX;
		ctx->ev_count--;
		shmx__ready_take(ctx);
	} else {
		ret = -EAGAIN;
	}
	pthread_mutex_unlock(&ctx->ev_lock);
	return ret;
}

SHMX_EXPORT int shmx_event_fd(struct shmx_ctx *ctx)
{
	if (!ctx)
		return -EINVAL;
	/* Whoever waits on it wants its messages too. */
	(void)shmx__mbox_get(ctx);
	return ctx->event_fd;
}
