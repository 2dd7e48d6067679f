/* SPDX-License-Identifier: MIT */
/*
 * data.c - the data plane: one-sided reads, writes and 64-bit atomics on
 * the memory node's region, blocking and non-blocking, split at object
 * boundaries and into chunks the transport accepts.  Each piece goes with
 * the key this client holds for its object (the key map, grants.c); a
 * range without one is asked for first (GRANT), and the node answers with
 * the object's key or refuses (-EACCES, -EFAULT).  shmnode's CPU is not
 * on this path.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctx.h"
#include "util/clock.h"

enum data_kind { DATA_READ, DATA_WRITE, DATA_CAS, DATA_FADD };

static uint64_t deadline_after(int timeout_ms)
{
	return shmx__now_ns() + (uint64_t)timeout_ms * 1000000ull;
}

/*
 * [gaddr, gaddr + len) inside one extent of the memory?  0 or -EFAULT.  On
 * a miss, MAP events already here are taken in, then the header's map is
 * read (the node rewrites it before it sends the events): memory grown a
 * moment ago is found even by a call that comes before the event.
 */
static int check_range(struct shmx_ctx *ctx, shmx_gaddr_t gaddr, size_t len)
{
	struct shmx_hdr_map m;
	int i;

	pthread_mutex_lock(&ctx->lock);
	i = shmx__hdr_extent_find(&ctx->map, gaddr, len);
	if (i < 0) {
		(void)shmx__progress_locked(ctx);
		i = shmx__hdr_extent_find(&ctx->map, gaddr, len);
	}
	pthread_mutex_unlock(&ctx->lock);
	if (i >= 0)
		return 0;
	if (shmx__hdr_refresh(ctx, &m))
		return -EFAULT;
	pthread_mutex_lock(&ctx->lock);
	i = shmx__hdr_extent_find(&ctx->map, gaddr, len);
	pthread_mutex_unlock(&ctx->lock);
	return i < 0 ? -EFAULT : 0;
}

/* Take an op from the free list, growing it by a slab.  Lock held. */
static struct shmx_op *op_get(struct shmx_ctx *ctx)
{
	struct shmx_op_slab *slab;
	struct shmx_op *op;

	if (!ctx->free_ops) {
		slab = calloc(1, sizeof(*slab));
		if (!slab)
			return NULL;
		if (ctx->xp->caps.local_mr &&
		    xport_mr_reg(ctx->xp, slab->ops, sizeof(slab->ops),
				 XPORT_LOCAL, &slab->mr)) {
			free(slab);
			return NULL;
		}
		for (int i = SHMX_OPS_PER_SLAB - 1; i >= 0; i--) {
			slab->ops[i].desc = slab->mr ? slab->mr->desc : NULL;
			slab->ops[i].next = ctx->free_ops;
			ctx->free_ops = &slab->ops[i];
		}
		slab->next = ctx->slabs;
		ctx->slabs = slab;
	}
	op = ctx->free_ops;
	ctx->free_ops = op->next;
	op->next = NULL;
	return op;
}

static void op_put(struct shmx_ctx *ctx, struct shmx_op *op)
{
	op->req = NULL;
	op->done_fn = NULL;
	op->next = ctx->free_ops;
	ctx->free_ops = op;
}

void shmx__op_complete(struct shmx_ctx *ctx, struct shmx_op *op, int status)
{
	struct shmx_req *req = op->req;

	if (req) {
		/* Only while the request waits: an abandoned one (timed out)
		 * has handed the caller's buffer back. */
		if (!status && op->copy_to)
			memcpy(op->copy_to, op->bounce, op->len);
		if (status && !req->status)
			req->status = status;
		req->result = op->result;
		req->pending--;
		if (req->nb && status && !ctx->async_err)
			ctx->async_err = status;
	} else if (op->done_fn) {
		op->done_fn(ctx, op, status);
	}
	op_put(ctx, op);
}

static void req_unlink(struct shmx_ctx *ctx, struct shmx_req *req)
{
	if (req->prev)
		req->prev->next = req->next;
	else
		ctx->reqs = req->next;
	if (req->next)
		req->next->prev = req->prev;
}

/* Unlink and free a finished (or abandoned) request.  Lock held. */
static void req_free(struct shmx_ctx *ctx, struct shmx_req *req)
{
	req_unlink(ctx, req);
	if (req->mr)
		xport_mr_dereg(ctx->xp, req->mr);
	free(req);
}

/* Post one op, progressing while the queue is full.  Lock held. */
static int post_op(struct shmx_ctx *ctx, struct shmx_req *req,
		   enum data_kind kind, uint64_t raddr, uint64_t key, void *buf,
		   size_t len, uint64_t a, uint64_t b, uint64_t deadline)
{
	struct shmx_op *op = op_get(ctx);
	void *desc = req->mr ? req->mr->desc : NULL;
	int ret;

	if (!op)
		return -ENOMEM;
	op->req = req;
	op->copy_to = NULL;
	if (req->bounce) {
		if (kind == DATA_WRITE)
			memcpy(op->bounce, buf, len);
		else if (kind == DATA_READ)
			op->copy_to = buf;
		op->len = len;
		buf = op->bounce;
		desc = op->desc;
	}
	for (;;) {
		switch (kind) {
		case DATA_READ:
			ret = xport_read(ctx->xp, ctx->node, buf, len, desc,
					 raddr, key, op);
			break;
		case DATA_WRITE:
			ret = xport_write(ctx->xp, ctx->node, buf, len, desc,
					  raddr, key, op);
			break;
		case DATA_CAS:
			ret = xport_cas64(ctx->xp, ctx->node, raddr, key, a, b,
					  &op->result, op->desc, op);
			break;
		default:
			ret = xport_fadd64(ctx->xp, ctx->node, raddr, key, a,
					   &op->result, op->desc, op);
			break;
		}
		if (ret != -EAGAIN)
			break;
		ret = shmx__progress_locked(ctx);
		if (ret < 0)
			break;
		if (shmx__now_ns() >= deadline) {
			ret = -ETIMEDOUT;
			break;
		}
	}
	if (ret) {
		op_put(ctx, op);
		return ret;
	}
	req->pending++;
	return 0;
}

/* The rights a kind of operation needs (SHMX_KM_*). */
static uint32_t need_of(enum data_kind kind)
{
	switch (kind) {
	case DATA_READ:
		return SHMX_KM_READ;
	case DATA_WRITE:
		return SHMX_KM_WRITE;
	default:
		return SHMX_KM_ATOMIC;
	}
}

/* Most GRANTs one call may need before giving up (objects it spans). */
#define KEYS_ASK_MAX 64

/*
 * Make sure the key map covers [@gaddr, @gaddr + @len) with the rights
 * @kind needs, asking the node (GRANT) for each range it lacks.  Caller
 * holds no lock.  Returns 0, or the node's refusal: -EFAULT (no object
 * there: unallocated memory), -EACCES (this member may not: an owned
 * block, a read-only attach), or -ETIMEDOUT, -ENOTCONN, -ENOMEM, -EAGAIN
 * (the range spans more than KEYS_ASK_MAX objects the map lacks).
 */
static int keys_ensure(struct shmx_ctx *ctx, enum data_kind kind,
		       shmx_gaddr_t gaddr, uint64_t len)
{
	uint32_t need = need_of(kind);
	uint64_t off = 0;
	int asks = 0;

	while (off < len) {
		struct shmx__km_entry e;
		struct shmx_grant g;
		uint64_t cover;
		int ret;

		pthread_mutex_lock(&ctx->lock);
		/* Revocations the node sent are taken in before the map is
		 * first used. */
		if (!off && !asks)
			(void)shmx__progress_locked(ctx);
		ret = shmx__km_lookup(&ctx->keys, gaddr + off, len - off, need,
				      &e, &cover);
		pthread_mutex_unlock(&ctx->lock);
		if (!ret) {
			off += cover;
			continue;
		}
		if (++asks > KEYS_ASK_MAX)
			return -EAGAIN;
		ret = shmx__grant_get(ctx, gaddr + off, need, &g);
		if (ret)
			return ret;
		if (!(g.access & need))
			return -EACCES;
	}
	return 0;
}

/* A registration reached by its transport address and key, not through
 * the key map (the lock table). */
struct raw_target {
	uint64_t raddr;
	uint64_t key;
};

/*
 * Start a transfer or atomic as one request: at @gaddr through the key map,
 * or at @raw (one piece, at most SHMX_BOUNCE bytes).  Returns 0 with *out
 * set (the request may already have failed: see req->status), or -errno
 * when nothing was started.
 */
static int req_start(struct shmx_ctx *ctx, enum data_kind kind,
		     shmx_gaddr_t gaddr, const struct raw_target *raw,
		     void *buf, size_t len, uint64_t a, uint64_t b, int nb,
		     struct shmx_req **out)
{
	uint64_t deadline = deadline_after(ctx->timeout_ms);
	struct shmx_req *req;
	size_t off = 0,
	       max = ctx->xp->caps.max_rma ? ctx->xp->caps.max_rma : len;
	int ret = 0;

	req = calloc(1, sizeof(*req));
	if (!req)
		return -ENOMEM;
	req->ctx = ctx;
	req->nb = nb;
	pthread_mutex_lock(&ctx->lock);
	if (ctx->failed) {
		ret = -ENOTCONN;
		goto out_free;
	}
	/* Not with keys that a restarted node may not know: after the
	 * RESUME (the caller waits for it and starts again). */
	if (ctx->down_since) {
		ret = -EAGAIN;
		goto out_free;
	}
	if (ctx->xp->caps.local_mr && len <= SHMX_BOUNCE &&
	    (kind == DATA_READ || kind == DATA_WRITE)) {
		req->bounce = 1;
	} else if (ctx->xp->caps.local_mr && len &&
		   (kind == DATA_READ || kind == DATA_WRITE)) {
		ret = xport_mr_reg(ctx->xp, buf, len, XPORT_LOCAL, &req->mr);
		if (ret)
			goto out_free;
	}
	req->next = ctx->reqs;
	if (ctx->reqs)
		ctx->reqs->prev = req;
	ctx->reqs = req;
	/* Piece by piece: each within one object's key, and at most what
	 * the transport takes at once.  An atomic is one 8-byte piece. */
	do {
		struct shmx__km_entry e;
		uint64_t cover;
		size_t n;

		if (raw) {
			ret = post_op(ctx, req, kind, raw->raddr, raw->key, buf,
				      len, a, b, deadline);
			break;
		}
		if (shmx__km_lookup(&ctx->keys, gaddr + off, len - off,
				    need_of(kind), &e, &cover) ||
		    ((kind == DATA_CAS || kind == DATA_FADD) && cover < 8)) {
			/* The map changed since keys_ensure(): again. */
			ret = -EAGAIN;
			break;
		}
		n = cover < max ? (size_t)cover : max;
		ret = post_op(ctx, req, kind, shmx__km_raddr(&e, gaddr + off),
			      e.key, buf ? (char *)buf + off : NULL, n, a, b,
			      deadline);
		off += n;
	} while (!ret && off < len);
	if (ret && !req->pending) {
		req_free(ctx, req);
		/* The queue stayed full: the node does not take anything;
		 * or the connection is gone (verbs: the node disconnected,
		 * and no operation can be posted until it is made again).
		 * Nothing started, so with a reconnect window the caller
		 * waits for the node and starts again. */
		if ((ret == -ETIMEDOUT || ret == -ENOTCONN ||
		     ret == -ECONNRESET) &&
		    ctx->reconnect_ms) {
			shmx__broke_locked(ctx);
			ret = -EAGAIN;
		} else if (ret == -ETIMEDOUT) {
			shmx__ctx_fail(ctx, ret);
		}
		pthread_mutex_unlock(&ctx->lock);
		return ret;
	}
	if (ret)
		req->status = ret;
	pthread_mutex_unlock(&ctx->lock);
	*out = req;
	return 0;

out_free:
	pthread_mutex_unlock(&ctx->lock);
	free(req);
	return ret;
}

static int req_done(void *arg)
{
	return ((struct shmx_req *)arg)->pending == 0;
}

/*
 * Wait for @req until @deadline.  On completion (or when the context is
 * lost) frees it and returns its status; on -ETIMEDOUT keeps it.  @fatal:
 * a timeout means the node is gone (blocking calls).
 */
static int req_wait(struct shmx_req *req, uint64_t deadline, int fatal,
		    uint64_t *result)
{
	struct shmx_ctx *ctx = req->ctx;
	int ret = shmx__progress_until(ctx, req_done, req, deadline);

	pthread_mutex_lock(&ctx->lock);
	if (ret == -ETIMEDOUT && !fatal) {
		pthread_mutex_unlock(&ctx->lock);
		return ret;
	}
	/* No completion in time: with a reconnect window the node is
	 * reached again (below) and the call decides whether to repeat
	 * the operation, as after a broken connection. */
	if (ret == -ETIMEDOUT && ctx->reconnect_ms) {
		shmx__broke_locked(ctx);
		ret = -ECONNRESET;
	} else if (ret == -ETIMEDOUT) {
		shmx__ctx_fail(ctx, ret);
	}
	if (!ret)
		ret = req->status;
	/* A transfer the fabric itself gave up on: not -ETIMEDOUT, which
	 * tells a non-blocking caller that the request is still running. */
	if (!fatal && ret == -ETIMEDOUT)
		ret = -EIO;
	if (result)
		*result = req->result;
	/* Ops still in flight keep pointing at req: detach them first. */
	if (req->pending)
		for (struct shmx_op_slab *s = ctx->slabs; s; s = s->next)
			for (int i = 0; i < SHMX_OPS_PER_SLAB; i++)
				if (s->ops[i].req == req)
					s->ops[i].req = NULL;
	req_free(ctx, req);
	pthread_mutex_unlock(&ctx->lock);
	/* A refused key or a flushed queue pair: the connection is made
	 * again now, so that the next call finds it working. */
	if (ret == -ECONNRESET || ret == -EACCES) {
		int r = shmx__reconnect(ctx, fatal ? UINT64_MAX : deadline);

		/* A request is freed: -ETIMEDOUT would say it is not. */
		if (r && r != -ETIMEDOUT)
			return r;
	}
	return ret;
}

/* Drop the keys of [@gaddr, @gaddr + @len): a fabric refused one. */
static void keys_drop(struct shmx_ctx *ctx, shmx_gaddr_t gaddr, uint64_t len)
{
	pthread_mutex_lock(&ctx->lock);
	(void)shmx__km_remove_range(&ctx->keys, gaddr, len);
	pthread_mutex_unlock(&ctx->lock);
}

/* The key the map holds for the word at @gaddr now, or 0.  Lock free. */
static uint64_t key_at(struct shmx_ctx *ctx, enum data_kind kind,
		       shmx_gaddr_t gaddr)
{
	struct shmx__km_entry e;
	uint64_t cover, key = 0;

	pthread_mutex_lock(&ctx->lock);
	if (!shmx__km_lookup(&ctx->keys, gaddr, 8, need_of(kind), &e, &cover))
		key = e.key;
	pthread_mutex_unlock(&ctx->lock);
	return key;
}

/* Which start of shmnode the context knows now.  Lock free. */
static uint64_t boot_now(struct shmx_ctx *ctx)
{
	uint64_t boot;

	pthread_mutex_lock(&ctx->lock);
	boot = ctx->boot;
	pthread_mutex_unlock(&ctx->lock);
	return boot;
}

/*
 * Run one operation to completion with the context's timeout.  Keys come
 * first (keys_ensure).  A key the fabric refuses was revoked meanwhile (an
 * ownership change re-keys a block): the connection is made again if the
 * refusal ended it (req_wait), the keys are dropped and asked for once
 * more, and the node's answer decides (a write by a member that is no
 * longer an owner gets -EACCES from the node).  Reads and writes are
 * idempotent, so repeating one is safe.  An atomic is repeated only when
 * it surely did not run: refused by the fabric (-EACCES), or failed with
 * its connection (-ECONNRESET) while using a key the node has since
 * replaced; with a key that is still good, it may have run before the
 * connection broke, and -ECONNRESET says so.
 */
static int run(struct shmx_ctx *ctx, enum data_kind kind, shmx_gaddr_t gaddr,
	       void *buf, size_t len, uint64_t a, uint64_t b, uint64_t *result)
{
	int atomic = kind == DATA_CAS || kind == DATA_FADD;
	int ret = 0, prev, tries = 0;
	struct shmx_req *req;
	uint64_t used = 0, used_boot = 0;

	do {
		prev = ret;
		if (prev == -EACCES || prev == -ECONNRESET)
			keys_drop(ctx, gaddr, len);
		/* The node is being reached again: after that. */
		ret = shmx__wait_node(ctx, deadline_after(ctx->timeout_ms));
		if (ret)
			return ret;
		ret = keys_ensure(ctx, kind, gaddr, len);
		if (ret)
			return ret;
		/* Broken in flight with a key still good, or across a
		 * restart of shmnode (the old process may have run it
		 * before it died): it may have run. */
		if (atomic && prev == -ECONNRESET && used &&
		    (used == key_at(ctx, kind, gaddr) ||
		     used_boot != boot_now(ctx)))
			return -ECONNRESET;
		used = atomic ? key_at(ctx, kind, gaddr) : 0;
		used_boot = boot_now(ctx);
		ret = req_start(ctx, kind, gaddr, NULL, buf, len, a, b, 0,
				&req);
		if (!ret)
			ret = req_wait(req, deadline_after(ctx->timeout_ms), 1,
				       result);
	} while ((ret == -EAGAIN || ret == -EACCES || ret == -ECONNRESET) &&
		 ++tries < 3);
	return ret;
}

/* A blocking read or write: arguments checked, then run. */
static int transfer(struct shmx_ctx *ctx, enum data_kind kind,
		    shmx_gaddr_t gaddr, void *buf, size_t len)
{
	if (!ctx || (!buf && len))
		return -EINVAL;
	if (check_range(ctx, gaddr, len))
		return -EFAULT;
	if (!len)
		return 0;
	return run(ctx, kind, gaddr, buf, len, 0, 0, NULL);
}

SHMX_EXPORT int shmx_read(struct shmx_ctx *ctx, shmx_gaddr_t gaddr, void *buf,
			  size_t len)
{
	return transfer(ctx, DATA_READ, gaddr, buf, len);
}

SHMX_EXPORT int shmx_write(struct shmx_ctx *ctx, shmx_gaddr_t gaddr,
			   const void *buf, size_t len)
{
	return transfer(ctx, DATA_WRITE, gaddr, (void *)buf, len);
}

static int start_nb(struct shmx_ctx *ctx, enum data_kind kind,
		    shmx_gaddr_t gaddr, void *buf, size_t len,
		    struct shmx_req **req)
{
	int ret, tries = 0;

	if (!ctx || !req || (!buf && len))
		return -EINVAL;

	if (check_range(ctx, gaddr, len))
		return -EFAULT;
	do {
		ret = shmx__wait_node(ctx, deadline_after(ctx->timeout_ms));
		if (!ret)
			ret = keys_ensure(ctx, kind, gaddr, len);
		if (!ret)
			ret = req_start(ctx, kind, gaddr, NULL, buf, len, 0, 0,
					1, req);
	} while (ret == -EAGAIN && ++tries < 3);
	return ret;
}

SHMX_EXPORT int shmx_read_nb(struct shmx_ctx *ctx, shmx_gaddr_t gaddr,
			     void *buf, size_t len, struct shmx_req **req)
{
	return start_nb(ctx, DATA_READ, gaddr, buf, len, req);
}

SHMX_EXPORT int shmx_write_nb(struct shmx_ctx *ctx, shmx_gaddr_t gaddr,
			      const void *buf, size_t len,
			      struct shmx_req **req)
{
	return start_nb(ctx, DATA_WRITE, gaddr, (void *)buf, len, req);
}

SHMX_EXPORT int shmx_wait(struct shmx_req *req, int timeout_ms)
{
	if (!req)
		return -EINVAL;
	if (timeout_ms < 0)
		timeout_ms = req->ctx->timeout_ms;
	return req_wait(req, deadline_after(timeout_ms), 0, NULL);
}

SHMX_EXPORT int shmx_test(struct shmx_req *req)
{
	struct shmx_ctx *ctx;
	int done;

	if (!req)
		return -EINVAL;
	ctx = req->ctx;
	pthread_mutex_lock(&ctx->lock);
	shmx__progress_locked(ctx);
	done = req->pending == 0 || ctx->failed;
	pthread_mutex_unlock(&ctx->lock);
	if (!done)
		return -EINPROGRESS;
	return req_wait(req, 0, 0, NULL);
}

/* Flush: every non-blocking request that exists now has finished. */
struct flush_arg {
	struct shmx_ctx *ctx;
	struct shmx_req **reqs;
	size_t n;
};

static int flush_done(void *arg)
{
	struct flush_arg *f = arg;

	for (size_t i = 0; i < f->n; i++) {
		int live = 0;

		/* A request may have been waited for and freed meanwhile. */
		for (struct shmx_req *r = f->ctx->reqs; r; r = r->next)
			if (r == f->reqs[i])
				live = 1;
		if (live && f->reqs[i]->pending)
			return 0;
	}
	return 1;
}

SHMX_EXPORT int shmx_flush(struct shmx_ctx *ctx)
{
	struct flush_arg f = { .ctx = ctx };
	size_t n = 0;
	int ret;

	if (!ctx)
		return -EINVAL;
	pthread_mutex_lock(&ctx->lock);
	if (ctx->failed) {
		pthread_mutex_unlock(&ctx->lock);
		return -ENOTCONN;
	}
	for (struct shmx_req *r = ctx->reqs; r; r = r->next)
		n++;
	f.reqs = n ? calloc(n, sizeof(*f.reqs)) : NULL;
	if (n && !f.reqs) {
		pthread_mutex_unlock(&ctx->lock);
		return -ENOMEM;
	}
	for (struct shmx_req *r = ctx->reqs; r; r = r->next)
		f.reqs[f.n++] = r;
	pthread_mutex_unlock(&ctx->lock);

	ret = shmx__progress_until(ctx, flush_done, &f,
				   deadline_after(ctx->timeout_ms));
	free(f.reqs);
	pthread_mutex_lock(&ctx->lock);
	if (ret == -ETIMEDOUT && ctx->reconnect_ms) {
		/* The node is reached again, within the window, or the
		 * context is lost; the transfers are the caller's. */
		shmx__broke_locked(ctx);
		pthread_mutex_unlock(&ctx->lock);
		ret = shmx__reconnect(ctx, UINT64_MAX);
		return ret ? ret : -ETIMEDOUT;
	}
	if (ret == -ETIMEDOUT)
		shmx__ctx_fail(ctx, ret);
	if (!ret) {
		ret = ctx->async_err;
		ctx->async_err = 0;
	}
	pthread_mutex_unlock(&ctx->lock);
	return ret;
}

static int atomic(struct shmx_ctx *ctx, enum data_kind kind, shmx_gaddr_t gaddr,
		  uint64_t a, uint64_t b, uint64_t *old)
{
	uint64_t result = 0;
	int ret;

	if (!ctx)
		return -EINVAL;
	if (gaddr % 8)
		return -EINVAL;
	if (check_range(ctx, gaddr, 8))
		return -EFAULT;
	ret = run(ctx, kind, gaddr, NULL, 8, a, b, &result);
	if (!ret && old)
		*old = result;
	return ret;
}

SHMX_EXPORT int shmx_cas64(struct shmx_ctx *ctx, shmx_gaddr_t gaddr,
			   uint64_t expected, uint64_t desired, uint64_t *old)
{
	return atomic(ctx, DATA_CAS, gaddr, expected, desired, old);
}

SHMX_EXPORT int shmx_fadd64(struct shmx_ctx *ctx, shmx_gaddr_t gaddr,
			    uint64_t add, uint64_t *old)
{
	return atomic(ctx, DATA_FADD, gaddr, add, 0, old);
}

/*
 * Raw access (ctx.h): one operation on a registration the node handed out
 * by address and key, run to completion within the context's timeout.
 */
static int raw_run(struct shmx_ctx *ctx, enum data_kind kind, uint64_t raddr,
		   uint64_t key, void *buf, size_t len, uint64_t a, uint64_t b,
		   uint64_t *result)
{
	struct raw_target t = { .raddr = raddr, .key = key };
	struct shmx_req *req;
	int ret, tries = 0;

	if (len > SHMX_BOUNCE)
		return -EINVAL;
	do {
		ret = shmx__wait_node(ctx, deadline_after(ctx->timeout_ms));
		if (!ret)
			ret = req_start(ctx, kind, 0, &t, buf, len, a, b, 0,
					&req);
	} while (ret == -EAGAIN && ++tries < 3);
	if (ret)
		return ret;
	return req_wait(req, deadline_after(ctx->timeout_ms), 1, result);
}

int shmx__raw_cas(struct shmx_ctx *ctx, uint64_t raddr, uint64_t key,
		  uint64_t expected, uint64_t desired, uint64_t *old)
{
	return raw_run(ctx, DATA_CAS, raddr, key, NULL, 8, expected, desired,
		       old);
}

int shmx__raw_fadd(struct shmx_ctx *ctx, uint64_t raddr, uint64_t key,
		   uint64_t add, uint64_t *old)
{
	return raw_run(ctx, DATA_FADD, raddr, key, NULL, 8, add, 0, old);
}

int shmx__raw_read(struct shmx_ctx *ctx, uint64_t raddr, uint64_t key,
		   void *buf, size_t len)
{
	return raw_run(ctx, DATA_READ, raddr, key, buf, len, 0, 0, NULL);
}

/*
 * An op no call waits for: its completion runs @fn (may be NULL: it only
 * gives the op back).  Lock held.  0 with *@out, -ENOTCONN or -ENOMEM.
 */
static int op_detached(struct shmx_ctx *ctx,
		       void (*fn)(struct shmx_ctx *, struct shmx_op *, int),
		       void *arg, struct shmx_op **out)
{
	struct shmx_op *op;

	if (ctx->failed)
		return -ENOTCONN;
	op = op_get(ctx);
	if (!op)
		return -ENOMEM;
	op->req = NULL;
	op->copy_to = NULL;
	op->done_fn = fn;
	op->done_arg = arg;
	*out = op;
	return 0;
}

int shmx__raw_write_post(struct shmx_ctx *ctx, uint64_t raddr, uint64_t key,
			 const void *buf, size_t len)
{
	struct shmx_op *op;
	int ret;

	if (len > SHMX_BOUNCE)
		return -EINVAL;
	pthread_mutex_lock(&ctx->lock);
	ret = op_detached(ctx, NULL, NULL, &op);
	if (ret) {
		pthread_mutex_unlock(&ctx->lock);
		return ret;
	}
	memcpy(op->bounce, buf, len);
	ret = -EAGAIN;
	for (int tries = 0; ret == -EAGAIN && tries < 4; tries++) {
		ret = xport_write(ctx->xp, ctx->node, op->bounce, len, op->desc,
				  raddr, key, op);
		if (ret == -EAGAIN && shmx__progress_locked(ctx) < 0)
			break;
	}
	if (ret)
		op_put(ctx, op);
	pthread_mutex_unlock(&ctx->lock);
	return ret;
}

int shmx__raw_cas_post_locked(struct shmx_ctx *ctx, uint64_t raddr,
			      uint64_t key, uint64_t expected, uint64_t desired,
			      void (*fn)(struct shmx_ctx *, struct shmx_op *,
					 int),
			      void *arg)
{
	struct shmx_op *op;
	int ret = op_detached(ctx, fn, arg, &op);

	if (ret)
		return ret;
	op->done_expect = expected;
	ret = xport_cas64(ctx->xp, ctx->node, raddr, key, expected, desired,
			  &op->result, op->desc, op);
	if (ret)
		op_put(ctx, op);
	return ret;
}

void shmx__data_release(struct shmx_ctx *ctx)
{
	struct shmx_op_slab *slab, *next;

	while (ctx->reqs)
		req_free(ctx, ctx->reqs);
	for (slab = ctx->slabs; slab; slab = next) {
		next = slab->next;
		if (slab->mr)
			xport_mr_dereg(ctx->xp, slab->mr);
		free(slab);
	}
	ctx->slabs = NULL;
	ctx->free_ops = NULL;
}
