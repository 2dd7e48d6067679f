/* SPDX-License-Identifier: MIT */
/*
 * mailbox.h - a context's mailbox (docs/messages.md): the endpoint other
 * members send signals and messages to, its receive queues, and the
 * sending side's connections and credits.  signals.c and messages.c are
 * built on these calls.
 */
#ifndef SHMX_EXT_MAILBOX_H
#define SHMX_EXT_MAILBOX_H

#include <stddef.h>
#include <stdint.h>

#include "proto/peer.h"
#include "shmext/shmext.h"

struct shmx_ctx;

/* Something taken from the mailbox: a signal, or a message inline or in
 * shared memory. */
struct shmx__mbox_item {
	struct shmx__mbox_item *next;
	uint16_t type; /* SHMX_PEER_SIGNAL, _MSG or _MSG_REF */
	uint32_t src;
	uint64_t src_tag; /* the sender's mailbox tag */
	uint32_t signo;
	uint64_t value;
	uint64_t gaddr, len; /* MSG_REF */
	uint32_t kind;	     /* MSG_REF: enum shmx_peer_ref */
	size_t dlen;	     /* MSG: the bytes in data */
	uint8_t data[];
};

/*
 * The context's mailbox, opened and published (MAILBOX) at the first call:
 * NULL when it could not be opened (ctx->mbox_err says why, and every
 * later call returns NULL at once; the context works for everything
 * else).  Thread-safe.
 */
struct shmx_mbox *shmx__mbox_get(struct shmx_ctx *ctx);
/* Stop its thread and free it (at close). */
void shmx__mbox_close(struct shmx_ctx *ctx);

/*
 * Send @m (type and payload filled in; the header is the mailbox's) to
 * @dest: wait for room in its window (unless @nonblock) until the
 * monotonic @deadline_ns, then until the send completed.  0 or -errno (the
 * errors of shmx_signal).
 */
int shmx__mbox_send(struct shmx_ctx *ctx, uint32_t dest,
		    struct shmx_peer_msg *m, int nonblock,
		    uint64_t deadline_ns);

/*
 * Take the oldest signal (@type SHMX_PEER_SIGNAL) or message (any other)
 * that waits, waiting until @deadline_ns.  *@item is the caller's to
 * free().  0, -ETIMEDOUT or the mailbox's error.
 */
int shmx__mbox_take(struct shmx_ctx *ctx, int type, uint64_t deadline_ns,
		    struct shmx__mbox_item **item);

/* The deadline of a call with @timeout_ms (< 0: the context's). */
uint64_t shmx__mbox_deadline(const struct shmx_ctx *ctx, int timeout_ms);

/*
 * Call @send(@ctx, id, @arg) for every other member live now, in id
 * order; statuses in @st (may be NULL) up to @max, their number in *@count
 * (may be NULL).  0 when every send returned 0, else the first error.
 */
int shmx__mbox_each(struct shmx_ctx *ctx,
		    int (*send)(struct shmx_ctx *ctx, uint32_t dest, void *arg),
		    void *arg, struct shmx_send_status *st, size_t max,
		    size_t *count);

#endif /* SHMX_EXT_MAILBOX_H */
