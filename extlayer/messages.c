/* SPDX-License-Identifier: MIT */
/*
 * messages.c - messages between members (docs/messages.md).  A short one
 * travels inside the send to the destination's mailbox (mailbox.c).  A
 * long one is written to a block of the message pool, owned by the sender
 * and the receiver together, and the send carries its address: the
 * receiver reads it and releases the block.  shmx_msg_send_region hands
 * over a reservation the sender already has, without copying.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctx.h"
#include "mailbox.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/parse.h"

#define MSG_POOL_NAME "shmext-messages"
#define MSG_POOL_SIZE ((uint64_t)128 << 20)
/* A sender whose message pool is full looks again this often. */
#define POOL_FULL_PAUSE_US 1000
/* A long message is copied in pieces of this size, COPY_WINDOW at a time:
 * a whole 64 MiB at once is a burst that soft-RoCE between VMs loses
 * packets under, and then retransmits from the first one lost. */
#define COPY_CHUNK ((size_t)4 << 20)
#define COPY_WINDOW 2

/* The message pool: SHMEXT_MSG_POOL (name) and SHMEXT_MSG_POOL_SIZE
 * (bytes, when this member creates it), opened on first use. */
static int msg_pool(struct shmx_ctx *ctx, struct shmx_pool **out)
{
	const char *name = getenv("SHMEXT_MSG_POOL");
	const char *size_s = getenv("SHMEXT_MSG_POOL_SIZE");
	uint64_t size = MSG_POOL_SIZE;
	struct shmx_pool *p;
	int ret;

	pthread_mutex_lock(&ctx->lock);
	p = ctx->msg_pool;
	pthread_mutex_unlock(&ctx->lock);
	if (p) {
		*out = p;
		return 0;
	}
	if (size_s && *size_s) {
		if (shmx__parse_size(size_s, &size) || !size) {
			log_error(
				"SHMEXT_MSG_POOL_SIZE=%s: not a size in bytes",
				size_s);
			return -EINVAL;
		}
	}
	if (!name || !*name)
		name = MSG_POOL_NAME;
	/* Whatever its size when another member made it; made here with
	 * this member's size when none did (and open as it is when another
	 * made it meanwhile). */
	ret = shmx_pool_open(ctx, name, 0, 0, &p);
	if (ret == -ENOENT)
		ret = shmx_pool_open(ctx, name, size, SHMX_CREAT | SHMX_EXCL,
				     &p);
	if (ret == -EEXIST)
		ret = shmx_pool_open(ctx, name, 0, 0, &p);
	if (ret)
		return ret;
	pthread_mutex_lock(&ctx->lock);
	if (ctx->msg_pool) { /* another thread was first */
		pthread_mutex_unlock(&ctx->lock);
		shmx_pool_close(p);
		pthread_mutex_lock(&ctx->lock);
	} else {
		ctx->msg_pool = p;
	}
	*out = ctx->msg_pool;
	pthread_mutex_unlock(&ctx->lock);
	return 0;
}

/* A block of @len bytes in the message pool, waiting for room until
 * @deadline unless @nonblock.  0, -EAGAIN, -ETIMEDOUT, -ENOSPC or -errno. */
static int msg_alloc(struct shmx_ctx *ctx, uint64_t len, int nonblock,
		     uint64_t deadline, shmx_gaddr_t *gaddr)
{
	struct shmx_pool_stat st;
	struct shmx_pool *p;
	int ret = msg_pool(ctx, &p), full = 0;

	if (ret)
		return ret;
	while ((ret = shmx_alloc(p, len, 0, gaddr)) == -ENOMEM) {
		/* The pool's size is asked only when it is full, off the
		 * path of every long message. */
		if (!full++) {
			ret = shmx_pool_stat(p, &st);
			if (ret)
				return ret;
			if (len > st.total)
				return -ENOSPC; /* it would never fit */
		}
		if (nonblock)
			return -EAGAIN;
		if (shmx__now_ns() >= deadline)
			return -ETIMEDOUT;
		/* The receivers free blocks as they take their messages. */
		shmx__sleep_us(POOL_FULL_PAUSE_US);
	}
	return ret;
}

/* Copy @len bytes between @buf and shared memory at @g (@write: to it),
 * piece by piece with COPY_WINDOW pieces in flight.  0 or -errno. */
static int copy_chunked(struct shmx_ctx *ctx, int write, shmx_gaddr_t g,
			void *buf, size_t len)
{
	struct shmx_req *req[COPY_WINDOW] = { NULL };
	size_t pieces = (len + COPY_CHUNK - 1) / COPY_CHUNK;
	int ret = 0;

	for (size_t i = 0; i < pieces + COPY_WINDOW; i++) {
		size_t k = i % COPY_WINDOW, off = i * COPY_CHUNK, n;
		int r;

		if (req[k]) {
			r = shmx_wait(req[k], -1);
			req[k] = NULL;
			if (r && !ret)
				ret = r;
		}
		if (i >= pieces || ret)
			continue;
		n = len - off < COPY_CHUNK ? len - off : COPY_CHUNK;
		ret = write ? shmx_write_nb(ctx, g + off, (uint8_t *)buf + off,
					    n, &req[k])
			    : shmx_read_nb(ctx, g + off, (uint8_t *)buf + off,
					   n, &req[k]);
		if (ret)
			req[k] = NULL;
	}
	return ret;
}

struct send_arg {
	const void *buf;
	size_t len;
	unsigned flags;
	uint64_t deadline;
};

/* A long message: into shared memory, owned by both ends, then its
 * address to @dest. */
static int send_copy(struct shmx_ctx *ctx, uint32_t dest,
		     const struct send_arg *a)
{
	struct shmx_peer_msg m = { .type = SHMX_PEER_MSG_REF };
	shmx_node_t both[2] = { ctx->id, dest };
	shmx_gaddr_t g;
	int ret;

	/* The sweep (shmx__msg_sweep_run) keeps off meanwhile. */
	pthread_rwlock_rdlock(&ctx->msg_rw);
	ret = msg_alloc(ctx, a->len, a->flags & SHMX_MSG_NONBLOCK, a->deadline,
			&g);
	if (ret) {
		pthread_rwlock_unlock(&ctx->msg_rw);
		return ret;
	}
	ret = copy_chunked(ctx, 1, g, (void *)a->buf, a->len);
	/* The receiver may then release it.  A copy to oneself stays
	 * unowned (its creator may release it): a block owned by this
	 * member alone is one whose receiver left (the sweep's sign). */
	if (!ret && dest != ctx->id) {
		__atomic_store_n(&ctx->msg_long_sent, 1, __ATOMIC_RELAXED);
		ret = shmx_own(ctx, g, both, 2, NULL);
	}
	if (ret == -ESRCH)
		ret = -EHOSTDOWN; /* it left meanwhile */
	if (!ret) {
		m.u.ref.gaddr = g;
		m.u.ref.len = a->len;
		m.u.ref.kind = SHMX_PEER_REF_COPY;
		ret = shmx__mbox_send(ctx, dest, &m,
				      a->flags & SHMX_MSG_NONBLOCK,
				      a->deadline);
	}
	/* Not delivered: the block is still the sender's to free.  (A send
	 * that timed out may still arrive; the receiver then reads a
	 * released block, and says so.) */
	if (ret && shmx_release(ctx, g))
		log_warn("messages: a block of %zu bytes at 0x%llx could not "
			 "be released",
			 a->len, (unsigned long long)g);
	pthread_rwlock_unlock(&ctx->msg_rw);
	return ret;
}

static int send_one(struct shmx_ctx *ctx, uint32_t dest, void *arg)
{
	const struct send_arg *a = arg;
	struct shmx_peer_msg m = { .type = SHMX_PEER_MSG };

	if (a->len > SHMX_MSG_INLINE_MAX)
		return send_copy(ctx, dest, a);
	m.u.msg.data = a->buf;
	m.u.msg.len = a->len;
	return shmx__mbox_send(ctx, dest, &m, a->flags & SHMX_MSG_NONBLOCK,
			       a->deadline);
}

/* Check a send's arguments and fill @a.  0 or -errno. */
static int send_arg_make(struct shmx_ctx *ctx, const void *buf, size_t len,
			 unsigned flags, struct send_arg *a)
{
	if (!ctx || (len && !buf) || (flags & ~SHMX_MSG_NONBLOCK))
		return -EINVAL;
	if (len > SHMX_MSG_MAX)
		return -EMSGSIZE;
	a->buf = buf;
	a->len = len;
	a->flags = flags;
	a->deadline = shmx__mbox_deadline(ctx, -1);
	return 0;
}

SHMX_EXPORT int shmx_msg_send(struct shmx_ctx *ctx, shmx_node_t dest,
			      const void *buf, size_t len, unsigned flags)
{
	struct send_arg a;
	int ret = send_arg_make(ctx, buf, len, flags, &a);

	return ret ? ret : send_one(ctx, dest, &a);
}

SHMX_EXPORT int shmx_msg_send_all(struct shmx_ctx *ctx, const void *buf,
				  size_t len, unsigned flags,
				  struct shmx_send_status *st, size_t max,
				  size_t *count)
{
	struct send_arg a;
	int ret = send_arg_make(ctx, buf, len, flags, &a);

	if (!ret && max && !st)
		ret = -EINVAL;
	return ret ? ret : shmx__mbox_each(ctx, send_one, &a, st, max, count);
}

SHMX_EXPORT int shmx_msg_send_region(struct shmx_ctx *ctx, shmx_node_t dest,
				     shmx_gaddr_t gaddr, size_t len,
				     unsigned flags)
{
	struct shmx_peer_msg m = { .type = SHMX_PEER_MSG_REF };
	int ret = 0;

	if (!ctx || !len || gaddr > UINT64_MAX - len ||
	    (flags & ~(SHMX_MSG_NONBLOCK | SHMX_MSG_MOVE)))
		return -EINVAL;
	if (len > SHMX_MSG_MAX)
		return -EMSGSIZE;
	if (flags & SHMX_MSG_MOVE) {
		ret = shmx_own(ctx, gaddr, &dest, 1, NULL);
		if (ret == -EBUSY) /* owned already: pass it on */
			ret = shmx_own_transfer(ctx, gaddr, &dest, 1, NULL);
		if (ret == -ESRCH)
			ret = -EHOSTDOWN;
		if (ret)
			return ret;
	}
	m.u.ref.gaddr = gaddr;
	m.u.ref.len = len;
	m.u.ref.kind = flags & SHMX_MSG_MOVE ? SHMX_PEER_REF_MOVE
					     : SHMX_PEER_REF_REGION;
	return shmx__mbox_send(ctx, dest, &m, flags & SHMX_MSG_NONBLOCK,
			       shmx__mbox_deadline(ctx, -1));
}

/* The message @it is, read from shared memory when it was copied there.
 * 0 or -errno. */
static int msg_make(struct shmx_ctx *ctx, const struct shmx__mbox_item *it,
		    struct shmx_message **out)
{
	int copy =
		it->type == SHMX_PEER_MSG_REF && it->kind == SHMX_PEER_REF_COPY;
	size_t len = it->type == SHMX_PEER_MSG ? it->dlen : it->len;
	size_t room = it->type == SHMX_PEER_MSG || copy ? len : 0;
	struct shmx_message *msg = calloc(1, sizeof(*msg) + room);
	int ret = 0;

	if (!msg)
		ret = -ENOMEM;
	else if (copy)
		ret = copy_chunked(ctx, 0, it->gaddr, msg + 1, len);
	/* The copy is this member's to free, read or not. */
	if (copy && shmx_release(ctx, it->gaddr))
		log_warn("messages: the block of a message from member %u "
			 "could not be released",
			 it->src);
	if (ret) {
		free(msg);
		return ret;
	}
	msg->src = it->src;
	msg->len = len;
	if (room) {
		msg->data = msg + 1;
		if (it->type == SHMX_PEER_MSG)
			memcpy(msg->data, it->data, len);
	} else if (it->type == SHMX_PEER_MSG_REF) {
		msg->flags = SHMX_MSG_REGION;
		if (it->kind == SHMX_PEER_REF_MOVE)
			msg->flags |= SHMX_MSG_MOVE;
		msg->gaddr = it->gaddr;
	}
	*out = msg;
	return 0;
}

SHMX_EXPORT int shmx_msg_recv(struct shmx_ctx *ctx, int timeout_ms,
			      struct shmx_message **msg)
{
	struct shmx__mbox_item *it;
	int ret;

	if (!ctx || !msg)
		return -EINVAL;
	ret = shmx__mbox_take(ctx, SHMX_PEER_MSG,
			      shmx__mbox_deadline(ctx, timeout_ms), &it);
	if (ret)
		return ret;
	ret = msg_make(ctx, it, msg);
	free(it);
	return ret;
}

SHMX_EXPORT void shmx_msg_free(struct shmx_message *msg)
{
	free(msg);
}

/* ---------------------------------------------------------------------- */
/* Blocks nobody will take                                                */
/* ---------------------------------------------------------------------- */

void shmx__msg_member_left(struct shmx_ctx *ctx)
{
	if (__atomic_load_n(&ctx->msg_long_sent, __ATOMIC_RELAXED))
		__atomic_store_n(&ctx->msg_sweep_due, 1, __ATOMIC_RELAXED);
}

/*
 * A long message's block is owned by its sender and its receiver; when
 * the receiver leaves (or dies) before it took the message, the node
 * drops it from the owners and the block is its sender's alone, with
 * nobody to read or free it.  After a member left, walk the message pool
 * and release every block this context made that it owns alone.  No
 * other block looks so: a block being written is unowned, a delivered one
 * has two owners, a taken one is gone, and a copy to oneself stays
 * unowned (send_copy).  Long sends wait meanwhile (msg_rw), so no block
 * changes hands under the walk.
 */
int shmx__msg_sweep_run(struct shmx_ctx *ctx)
{
	struct shmx_block_info bi;
	struct shmx_pool_stat st;
	struct shmx_pool *p;
	shmx_gaddr_t from, end;
	int ret, n = 0;

	if (!__atomic_exchange_n(&ctx->msg_sweep_due, 0, __ATOMIC_RELAXED))
		return 0;
	pthread_rwlock_wrlock(&ctx->msg_rw);
	pthread_mutex_lock(&ctx->lock);
	p = ctx->msg_pool;
	pthread_mutex_unlock(&ctx->lock);
	ret = p ? shmx_pool_stat(p, &st) : 0;
	from = p && !ret ? st.base : 0;
	end = p && !ret ? st.base + st.total : 0;
	while (!ret && from < end) {
		ret = shmx_block_next(ctx, from, &bi);
		if (ret || bi.start >= end)
			break;
		from = bi.start + 1;
		if (bi.creator != ctx->id || bi.nr_owners != 1 ||
		    bi.owners[0] != ctx->id)
			continue;
		ret = shmx_release(ctx, bi.start);
		if (ret == -ENOENT)
			ret = 0;
		else if (!ret)
			n++;
	}
	pthread_rwlock_unlock(&ctx->msg_rw);
	if (ret == -ENOENT)
		ret = 0;
	if (n)
		log_info("messages: released %d block(s) of long messages "
			 "whose receiver left before taking them",
			 n);
	if (ret) {
		/* Another time, at the next departure or heartbeat. */
		__atomic_store_n(&ctx->msg_sweep_due, 1, __ATOMIC_RELAXED);
		log_debug("messages: the sweep of the message pool stopped: %s",
			  shmx_strerror(ret));
		return ret;
	}
	return n;
}

void shmx__msg_drop_untaken(struct shmx_ctx *ctx)
{
	struct shmx__mbox_item *it;

	if (!__atomic_load_n(&ctx->mbox, __ATOMIC_ACQUIRE))
		return;
	/* Taken now or never: their blocks are this member's to free too. */
	while (!shmx__mbox_take(ctx, SHMX_PEER_MSG, 0, &it)) {
		if (it->type == SHMX_PEER_MSG_REF &&
		    it->kind == SHMX_PEER_REF_COPY &&
		    shmx_release(ctx, it->gaddr))
			log_debug("messages: the block of an untaken message "
				  "from member %u could not be released",
				  it->src);
		free(it);
	}
}
