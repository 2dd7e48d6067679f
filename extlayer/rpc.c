/* SPDX-License-Identifier: MIT */
/*
 * rpc.c - libshmext's progress engine and control-plane calls: poll the
 * transport, hand completions to whoever waits for them, and send requests
 * to shmnode and match their replies by req_id.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "ctx.h"
#include "util/clock.h"
#include "util/log.h"

#define POLL_BATCH 16
/* Spin this long without completions before sleeping between polls. */
#define SPIN_NS 200000ull
#define IDLE_SLEEP_US 20
/* After this long without completions the sleeps grow, up to the cap, so a
 * long wait (a dead node, a slow peer) does not burn a core. */
#define BACKOFF_NS 2000000ull
#define IDLE_SLEEP_MAX_US 200
/* A request whose send failed is sent again after a reconnect: this many
 * sends in all, the n-th after a pause of RESEND_PAUSE_US << 2n while the
 * transport progresses (libfabric's rxm makes a new connection only once
 * it has seen the old one close). */
#define RPC_SENDS 8
#define RESEND_PAUSE_US 250
/*
 * A request that changes nothing at the node is sent again when its reply
 * is this late (doubling each time): a reply lost with a broken
 * connection is asked for again.  Others are sent once (at most once).
 */
#define RESEND_LATE_MS 250
/* Pauses between the rounds of a reconnect within the window: from the
 * first, doubling up to the last. */
#define RECONNECT_PAUSE_MIN_MS 20
#define RECONNECT_PAUSE_MAX_MS 1000
/* A round's RESUME waits at least this long, even at the window's end. */
#define RESUME_WAIT_MIN_MS 100

/* Percent of a heartbeat without a word from the node after which a call
 * first makes sure (RESUME) that the node it reaches is the one it knows. */
#define SILENT_PCT 150

/* Times one call waits for the node to be reached again. */
#define RPC_WAITS 3

/* rpc_call's flags.  RPC_RESEND: a send that failed is sent again once
 * the connection is made again (RPC_SENDS sends).  RPC_WAIT: a node that
 * does not answer is waited for, within the reconnect window. */
#define RPC_RESEND 0x1
#define RPC_WAIT 0x2

void shmx__broke_locked(struct shmx_ctx *ctx)
{
	ctx->broken = 1;
	if (ctx->reconnect_ms && !ctx->down_since)
		__atomic_store_n(&ctx->down_since, shmx__now_ns() | 1,
				 __ATOMIC_RELAXED);
}

void shmx__ctx_fail(struct shmx_ctx *ctx, int err)
{
	if (ctx->failed)
		return;
	ctx->failed = err < 0 ? err : -ECONNRESET;
	log_warn("connection to %s lost: %s", ctx->node_addr,
		 shmx_strerror(ctx->failed));
}

/* A received message: a reply to one of our RPCs, or something to drop. */
/*
 * An event the node sent unasked.  REVOKE: the node drops the keys of a
 * range (an ownership change, a freeze); drop them here too, so the next
 * access asks for the key it may have now instead of using a dead one
 * (which the fabric would refuse, ending the connection).  MAP: the memory
 * grew or shrank; the new map is usable at once.  MAP and MEMBER go to the
 * application's events too (shmx_event_next).  Lock held.
 */
static void handle_event(struct shmx_ctx *ctx, const void *buf, size_t len)
{
	struct shmx_msg ev;

	if (shmx__proto_decode(buf, len, &ev) != SHMX_ST_OK ||
	    !(ev.hdr.flags & SHMX_HDR_EVENT)) {
		log_warn("malformed event from the node: dropped");
		return;
	}
	if (ev.hdr.opcode == SHMX_OP_REVOKE)
		(void)shmx__km_remove_range(&ctx->keys, ev.u.revoke.start,
					    ev.u.revoke.len);
	if (ev.hdr.opcode == SHMX_OP_MAP) {
		struct shmx_hdr_map m = {
			.generation = ev.u.map.generation,
			.total = ev.u.map.total,
			.nr_extents = ev.u.map.nr,
		};

		for (uint32_t i = 0; i < ev.u.map.nr; i++) {
			m.ext[i].base = ev.u.map.ext[i].base;
			m.ext[i].len = ev.u.map.ext[i].len;
		}
		shmx__map_adopt_locked(ctx, &m);
		shmx__events_push(
			ctx,
			&(struct shmx_event){ .type = SHMX_EVENT_MAP,
					      .generation = ev.u.map.generation,
					      .total = ev.u.map.total });
	}
	if (ev.hdr.opcode == SHMX_OP_MEMBER &&
	    ev.u.member.what != SHMX_MEMBER_JOINED)
		shmx__msg_member_left(ctx);
	if (ev.hdr.opcode == SHMX_OP_MEMBER)
		shmx__events_push(
			ctx,
			&(struct shmx_event){
				.type = ev.u.member.what == SHMX_MEMBER_JOINED
						? SHMX_EVENT_JOIN
						: SHMX_EVENT_LEAVE,
				.node = ev.u.member.id });
}

static void handle_recv(struct shmx_ctx *ctx, const void *buf, size_t len)
{
	struct shmx_rpc **pp, *rpc;
	struct shmx_msg *msg;
	enum shmx_status st;
	uint64_t id = 0;

	/* Decode into the waiter's slot directly: find it by req_id first. */
	if (len < SHMX_HDR_LEN)
		return;
	__atomic_store_n(&ctx->heard_ns, shmx__now_ns(), __ATOMIC_RELAXED);
	if (((const uint8_t *)buf)[28] & SHMX_HDR_EVENT) {
		handle_event(ctx, buf, len);
		return;
	}
	for (int i = 0; i < 8; i++)
		id |= (uint64_t)((const uint8_t *)buf)[16 + i] << (8 * i);
	for (pp = &ctx->rpcs; (rpc = *pp); pp = &rpc->next)
		if (rpc->req_id == id)
			break;
	if (!rpc) {
		log_debug("dropping a message that answers nothing we asked");
		return;
	}
	msg = &rpc->reply;
	st = shmx__proto_decode(buf, len, msg);
	if (st == SHMX_ST_OK && !(msg->hdr.flags & SHMX_HDR_REPLY))
		st = SHMX_ST_BAD_MSG;
	if (st != SHMX_ST_OK) {
		log_warn("malformed reply from the node: %s",
			 shmx__status_name(st));
		shmx__msg_init(msg, SHMX_OP_PING, rpc->req_id, 0, 0);
		msg->hdr.status = st == SHMX_ST_VERSION ? SHMX_ST_VERSION
							: SHMX_ST_BAD_MSG;
	}
	rpc->done = 1;
	*pp = rpc->next;
}

/* The send of @rpc completed.  A failed one is sent again by its caller
 * once the connection is made again.  Lock held. */
static void send_complete(struct shmx_ctx *ctx, struct shmx_rpc *rpc,
			  int status)
{
	if (!rpc)
		return;
	rpc->sends_busy--;
	if (status) {
		rpc->send_err = status;
		shmx__broke_locked(ctx);
	} else {
		rpc->delivered = 1;
	}
	if (!rpc->orphan || rpc->sends_busy)
		return;
	for (struct shmx_rpc **pp = &ctx->orphans; *pp; pp = &(*pp)->next) {
		if (*pp == rpc) {
			*pp = rpc->next;
			break;
		}
	}
	free(rpc);
}

static void dispatch(struct shmx_ctx *ctx, struct xport_completion *c)
{
	switch (c->op) {
	case XPORT_OP_RECV:
		if (c->status == 0)
			handle_recv(ctx, c->buf, c->len);
		if (c->buf)
			xport_recv_done(ctx->xp, c->buf);
		break;
	case XPORT_OP_SEND:
		send_complete(ctx, c->op_ctx, c->status);
		break;
	case XPORT_OP_READ:
	case XPORT_OP_WRITE:
	case XPORT_OP_ATOMIC:
		shmx__op_complete(ctx, c->op_ctx, c->status);
		/* A key the fabric refused, or a flushed queue pair: the
		 * connection may be gone; the next call makes it again. */
		if (c->status == -ECONNRESET || c->status == -EACCES)
			shmx__broke_locked(ctx);
		break;
	}
}

int shmx__progress_locked(struct shmx_ctx *ctx)
{
	struct xport_completion c[POLL_BATCH];
	int n;

	/* Lost (maybe by another thread while this one waited): every
	 * call says -ENOTCONN from then on; ctx->failed keeps why. */
	if (ctx->failed)
		return -ENOTCONN;
	n = xport_poll(ctx->xp, c, POLL_BATCH);
	if (n < 0) {
		shmx__ctx_fail(ctx, n);
		return n;
	}
	for (int i = 0; i < n; i++)
		dispatch(ctx, &c[i]);
	return n;
}

/*
 * How long to spin before sleeping: twice the usual wait (a moving average
 * of how long waits that ended in a completion took), at least SPIN_NS and
 * at most BACKOFF_NS.  A fabric whose round trip is longer than SPIN_NS (a
 * loaded or emulated one) is then still waited for without sleeping.
 */
static uint64_t spin_window(const struct shmx_ctx *ctx)
{
	uint64_t w = 2 * ctx->wait_avg_ns;

	return w < SPIN_NS ? SPIN_NS : w > BACKOFF_NS ? BACKOFF_NS : w;
}

int shmx__progress_until(struct shmx_ctx *ctx, int (*done)(void *arg),
			 void *arg, uint64_t deadline_ns)
{
	uint64_t start = shmx__now_ns(), idle_since = 0, now, spin;
	int n, ret;

	pthread_mutex_lock(&ctx->lock);
	spin = spin_window(ctx);
	pthread_mutex_unlock(&ctx->lock);
	for (;;) {
		pthread_mutex_lock(&ctx->lock);
		if (done(arg)) {
			pthread_mutex_unlock(&ctx->lock);
			return 0;
		}
		n = shmx__progress_locked(ctx);
		ret = done(arg) ? 0 : n < 0 ? n : 1;
		if (!ret) /* average of 8, in integers */
			ctx->wait_avg_ns += ((int64_t)(shmx__now_ns() - start) -
					     (int64_t)ctx->wait_avg_ns) /
					    8;
		pthread_mutex_unlock(&ctx->lock);
		if (ret <= 0)
			return ret;
		now = shmx__now_ns();
		if (now >= deadline_ns)
			return -ETIMEDOUT;
		if (n > 0) {
			idle_since = 0;
		} else if (!idle_since) {
			idle_since = now;
		} else if (now - idle_since > BACKOFF_NS) {
			uint64_t us = (now - idle_since) / 10000;

			shmx__sleep_us(us < IDLE_SLEEP_MAX_US
					       ? us
					       : IDLE_SLEEP_MAX_US);
		} else if (now - idle_since > spin) {
			shmx__sleep_us(IDLE_SLEEP_US);
		} else {
			sched_yield();
		}
	}
}

static void rpc_unlink(struct shmx_ctx *ctx, struct shmx_rpc *rpc)
{
	for (struct shmx_rpc **pp = &ctx->rpcs; *pp; pp = &(*pp)->next) {
		if (*pp == rpc) {
			*pp = rpc->next;
			return;
		}
	}
}

/* Post @rpc's request.  Lock held.  0 or -errno (-ETIMEDOUT: the send
 * queue stayed full until @deadline). */
static int rpc_post(struct shmx_ctx *ctx, struct shmx_rpc *rpc,
		    uint64_t deadline)
{
	int ret;

	rpc->send_err = 0;
	while ((ret = xport_send(ctx->xp, ctx->node, rpc->buf, rpc->len,
				 rpc)) == -EAGAIN) {
		if (shmx__progress_locked(ctx) < 0 ||
		    shmx__now_ns() >= deadline)
			return -ETIMEDOUT;
	}
	rpc->sends_busy += !ret;
	return ret;
}

/* Requests the node may answer twice without harm. */
static int idempotent(unsigned opcode)
{
	switch (opcode) {
	case SHMX_OP_PING:
	case SHMX_OP_INFO:
	case SHMX_OP_MEMBERS:
	case SHMX_OP_LOOKUP:
	case SHMX_OP_ROOT_GET:
	case SHMX_OP_POOL_STAT:
	case SHMX_OP_GRANT:
	case SHMX_OP_SEG_STAT:
	case SHMX_OP_POOL_NEXT:
	case SHMX_OP_BLOCK_NEXT:
	case SHMX_OP_SEG_NEXT:
	case SHMX_OP_RESUME:
		return 1;
	default:
		return 0;
	}
}

static int never(void *arg)
{
	(void)arg;
	return 0;
}

static int rpc_answered(void *arg)
{
	const struct shmx_rpc *rpc = arg;

	return rpc->done || rpc->send_err;
}

static int rpc_done(void *arg)
{
	return ((const struct shmx_rpc *)arg)->done;
}

/*
 * Send @req and wait for the reply until @timeout_ms.  With RPC_RESEND,
 * a send that fails (it never reached the node) is sent again once the
 * connection is made again, up to RPC_SENDS times.  With RPC_WAIT and a
 * reconnect window, a node that does not answer in time (or whose
 * connection keeps failing) is waited for (shmx__reconnect); then the
 * request is sent again if the node cannot have had it or may answer it
 * twice; else its reply is waited for once more (the same start of
 * shmnode), or the call says -ECONNRESET (shmnode restarted: the request
 * may or may not have been carried out).  Without RPC_RESEND the
 * caller decides what a failure means (RESUME of a round); otherwise a
 * request that got no answer loses the context, unless the window let
 * the connection be made again.
 */
static int rpc_call(struct shmx_ctx *ctx, struct shmx_msg *req,
		    struct shmx_msg *rep, int timeout_ms, unsigned flags)
{
	uint64_t deadline = shmx__now_ns() + (uint64_t)timeout_ms * 1000000ull;
	struct shmx_rpc *rpc;
	uint64_t boot;
	int len, ret, sends = 0, late = 0, waits = 0;
	int keep = !(flags & RPC_RESEND);

	if (flags & RPC_WAIT) {
		/* The connection is being made again: after it. */
		ret = shmx__wait_node(ctx, deadline);
		if (ret)
			return ret;
	}
	rpc = calloc(1, sizeof(*rpc));
	if (!rpc)
		return -ENOMEM;
	pthread_mutex_lock(&ctx->lock);
	if (ctx->failed) {
		ret = -ENOTCONN;
		goto out_unlock;
	}
	boot = ctx->boot;
	rpc->req_id = ++ctx->next_req_id;
	req->hdr.req_id = rpc->req_id;
	req->hdr.session = ctx->id;
	req->hdr.token = ctx->token;
	len = shmx__proto_encode(req, rpc->buf, sizeof(rpc->buf));
	if (len < 0) {
		ret = len;
		goto out_unlock;
	}
	rpc->len = (size_t)len;
	rpc->next = ctx->rpcs;
	ctx->rpcs = rpc;
	for (;;) {
		ret = rpc_post(ctx, rpc, deadline);
		while (!ret) {
			uint64_t until = deadline;

			if (idempotent(req->hdr.opcode)) {
				until = shmx__now_ns() +
					((uint64_t)RESEND_LATE_MS << late) *
						1000000ull;
				until = until < deadline ? until : deadline;
			}
			pthread_mutex_unlock(&ctx->lock);
			ret = shmx__progress_until(ctx, rpc_answered, rpc,
						   until);
			pthread_mutex_lock(&ctx->lock);
			if (!ret && rpc->done)
				break;
			if (!ret) {
				ret = rpc->send_err;
				break;
			}
			if (ret != -ETIMEDOUT || until == deadline)
				break;
			/* Late: ask again (the node answers twice). */
			late++;
			ret = rpc_post(ctx, rpc, deadline);
		}
		if (!ret && rpc->done)
			break;
		if (!(flags & RPC_RESEND) || ctx->failed)
			break;
		if (ret != -ETIMEDOUT && ++sends < RPC_SENDS &&
		    !ctx->reconnect_ms) {
			/* The request never reached the node: again, once
			 * the connection works. */
			ctx->broken = 1;
			pthread_mutex_unlock(&ctx->lock);
			ret = shmx__progress_until(
				ctx, never, NULL,
				shmx__now_ns() + ((uint64_t)RESEND_PAUSE_US
						  << (2 * sends)) *
							 1000);
			ret = ret == -ETIMEDOUT ? shmx__reconnect(ctx, deadline)
						: ret;
			pthread_mutex_lock(&ctx->lock);
			if (ret)
				break;
			continue;
		}
		/* No answer in time, or the connection failed: wait for the
		 * node within the window, if there is one. */
		if (!(flags & RPC_WAIT) || !ctx->reconnect_ms)
			break;
		if (++waits > RPC_WAITS) {
			/* It answers RESUME, not this: the context goes on. */
			keep = 1;
			break;
		}
		shmx__broke_locked(ctx);
		pthread_mutex_unlock(&ctx->lock);
		ret = shmx__reconnect(ctx, UINT64_MAX);
		pthread_mutex_lock(&ctx->lock);
		if (ret || rpc->done)
			break;
		deadline = shmx__now_ns() + (uint64_t)timeout_ms * 1000000ull;
		sends = 0;
		late = 0;
		if (idempotent(req->hdr.opcode) ||
		    (!rpc->delivered && !rpc->sends_busy))
			continue;
		/* The node may have had it: not twice. */
		keep = 1;
		if (ctx->boot != boot) {
			ret = -ECONNRESET;
			break;
		}
		pthread_mutex_unlock(&ctx->lock);
		ret = shmx__progress_until(ctx, rpc_done, rpc, deadline);
		pthread_mutex_lock(&ctx->lock);
		break;
	}
	if (!rpc->done) {
		log_debug("%s (request %llu) failed after %d sends: %s",
			  shmx__op_name(req->hdr.opcode),
			  (unsigned long long)rpc->req_id, sends + 1,
			  shmx_strerror(ret));
		rpc_unlink(ctx, rpc);
		if (!ret)
			ret = -ETIMEDOUT;
		if (!keep)
			shmx__ctx_fail(ctx, ret);
		goto out_unlock;
	}
	*rep = rpc->reply;
	ret = shmx__status_to_errno(rep->hdr.status);
	if (rep->hdr.status == SHMX_ST_NO_SESSION)
		shmx__ctx_fail(ctx, -ENOTCONN);
	else if (rep->hdr.opcode != req->hdr.opcode)
		ret = -EPROTO;
out_unlock:
	if (rpc->sends_busy) {
		rpc->orphan = 1;
		rpc->next = ctx->orphans;
		ctx->orphans = rpc;
		rpc = NULL;
	}
	pthread_mutex_unlock(&ctx->lock);
	free(rpc);
	return ret;
}

int shmx__rpc(struct shmx_ctx *ctx, struct shmx_msg *req, struct shmx_msg *rep,
	      int timeout_ms)
{
	/* A goodbye does not wait for a node that went away. */
	return rpc_call(
		ctx, req, rep, timeout_ms,
		RPC_RESEND | (req->hdr.opcode == SHMX_OP_BYE ? 0 : RPC_WAIT));
}

/*
 * The reply to RESUME: which start of shmnode serves the session.
 * Another one than before restarted from its backing file: every key
 * the context held was a registration of the old process, so the key
 * map is emptied (data calls ask again), the lock handles are moved to
 * the lock table's new key and address, and the header is read again
 * with its new key.  No lock held.  0 or -errno (the header could not be
 * read: the next round reads it again).
 */
static int resumed(struct shmx_ctx *ctx, const struct shmx_resumed *r)
{
	int restarted, ret = 0;

	pthread_mutex_lock(&ctx->lock);
	restarted = ctx->boot && r->boot != ctx->boot;
	if (restarted) {
		shmx__km_clear(&ctx->keys);
		ctx->boot = r->boot;
		ctx->hdr_stale = 1;
		/* The restarted node's map, whatever its generation. */
		ctx->map.generation = 0;
	}
	pthread_mutex_unlock(&ctx->lock);
	/* Before anything else may reach the node again. */
	shmx__locks_rebase(ctx, r->lock_key, r->lock_base);
	pthread_mutex_lock(&ctx->lock);
	ctx->broken = 0;
	__atomic_store_n(&ctx->down_since, 0, __ATOMIC_RELAXED);
	if (restarted)
		log_info("shmnode at %s restarted: member %u goes on",
			 ctx->node_addr, ctx->id);
	if (ctx->hdr_stale) {
		pthread_mutex_unlock(&ctx->lock);
		ret = shmx__hdr_connect(ctx, r->hdr_key, r->hdr_base,
					r->hdr_size);
		pthread_mutex_lock(&ctx->lock);
		if (!ret)
			ctx->hdr_stale = 0;
	}
	pthread_mutex_unlock(&ctx->lock);
	return ret;
}

/* RESUME from the address this endpoint has now, and its reply taken in.
 * @flags: rpc_call's.  0 or -errno. */
static int resume(struct shmx_ctx *ctx, int timeout_ms, unsigned flags)
{
	uint8_t addr[XPORT_ADDR_MAX];
	size_t alen = sizeof(addr);
	struct shmx_msg req, rep;
	int ret;

	pthread_mutex_lock(&ctx->lock);
	ret = xport_getname(ctx->xp, addr, &alen);
	pthread_mutex_unlock(&ctx->lock);
	if (!ret && alen > SHMX_WIRE_ADDR_MAX)
		ret = -EPROTO;
	if (ret)
		return ret;
	shmx__msg_init(&req, SHMX_OP_RESUME, 0, 0, 0);
	req.u.resume.addr_len = (uint8_t)alen;
	memcpy(req.u.resume.addr, addr, alen);
	ret = rpc_call(ctx, &req, &rep, timeout_ms, flags);
	return ret ? ret : resumed(ctx, &rep.u.resumed);
}

/*
 * One round: a working connection (xport_reconnect) and, when it is new
 * or a window is set (after the node went away, a restarted shmnode
 * knows no peer for this member until it hears RESUME), RESUME.  Its
 * RESUME waits up to @timeout_ms.  0 or -errno.
 */
static int reconnect_round(struct shmx_ctx *ctx, int timeout_ms)
{
	xport_peer_t peer;
	int ret;

	pthread_mutex_lock(&ctx->lock);
	ctx->broken = 0;
	ret = xport_reconnect(ctx->xp, ctx->node, &peer);
	if (ret == 1)
		ctx->node = peer;
	if (!ret && !ctx->reconnect_ms) {
		pthread_mutex_unlock(&ctx->lock);
		return 0;
	}
	pthread_mutex_unlock(&ctx->lock);
	return ret < 0 ? ret : resume(ctx, timeout_ms, 0);
}

/*
 * Rounds until one works or the window (ctx->reconnect_ms after
 * ctx->down_since) has passed, with pauses from RECONNECT_PAUSE_MIN_MS
 * doubling up to RECONNECT_PAUSE_MAX_MS in which the transport makes
 * progress.  Without a window, one round.  The caller is
 * ctx->reconnector.  0 or -ENOTCONN (the context is lost).
 */
static int reconnect_rounds(struct shmx_ctx *ctx)
{
	unsigned pause_ms = RECONNECT_PAUSE_MIN_MS;
	int ret, wait_ms, failures = 0;
	uint64_t end, now;

	for (;;) {
		/* A round's RESUME waits no longer than the window lasts. */
		pthread_mutex_lock(&ctx->lock);
		end = ctx->down_since +
		      (uint64_t)ctx->reconnect_ms * 1000000ull;
		wait_ms = ctx->timeout_ms;
		if (ctx->down_since) {
			now = shmx__now_ns();
			now = end > now ? (end - now) / 1000000ull : 0;
			if (now < RESUME_WAIT_MIN_MS)
				now = RESUME_WAIT_MIN_MS;
			if (now < (uint64_t)wait_ms)
				wait_ms = (int)now;
		}
		pthread_mutex_unlock(&ctx->lock);
		ret = reconnect_round(ctx, wait_ms);
		pthread_mutex_lock(&ctx->lock);
		if (!ret) {
			if (failures)
				log_info("%s answers again: member %u goes on",
					 ctx->node_addr, ctx->id);
			pthread_mutex_unlock(&ctx->lock);
			return 0;
		}
		if (ctx->failed) /* NO_SESSION: the node ended us */
			break;
		if (!ctx->reconnect_ms || ctx->closing) {
			shmx__ctx_fail(ctx, ret);
			break;
		}
		shmx__broke_locked(ctx);
		now = shmx__now_ns();
		end = ctx->down_since +
		      (uint64_t)ctx->reconnect_ms * 1000000ull;
		if (!failures++) {
			log_info("%s does not answer (%s): trying again for "
				 "%d ms",
				 ctx->node_addr, shmx_strerror(ret),
				 ctx->reconnect_ms);
		}
		if (now >= end) {
			log_warn("%s did not answer for %d ms "
				 "(SHMEXT_RECONNECT_MS)",
				 ctx->node_addr, ctx->reconnect_ms);
			shmx__ctx_fail(ctx, ret);
			break;
		}
		pthread_mutex_unlock(&ctx->lock);
		now += (uint64_t)pause_ms * 1000000ull;
		ret = shmx__progress_until(ctx, never, NULL,
					   now < end ? now : end);
		if (ret != -ETIMEDOUT)
			return -ENOTCONN;
		pause_ms = pause_ms * 2 < RECONNECT_PAUSE_MAX_MS
				   ? pause_ms * 2
				   : RECONNECT_PAUSE_MAX_MS;
	}
	pthread_mutex_unlock(&ctx->lock);
	return -ENOTCONN;
}

int shmx__reconnect(struct shmx_ctx *ctx, uint64_t deadline)
{
	int ret;

	pthread_mutex_lock(&ctx->lock);
	for (;;) {
		if (ctx->failed) {
			ret = -ENOTCONN;
			goto out_unlock;
		}
		if (!ctx->broken && !ctx->down_since) {
			ret = 0;
			goto out_unlock;
		}
		if (!ctx->reconnecting)
			break;
		/* Another thread makes the connection again; the one that
		 * does (reading a restarted node's header) waits for no one. */
		if (pthread_equal(ctx->reconnector, pthread_self()) ||
		    !ctx->down_since) {
			ret = ctx->down_since ? -ECONNRESET : 0;
			goto out_unlock;
		}
		if (shmx__now_ns() >= deadline) {
			ret = -ETIMEDOUT;
			goto out_unlock;
		}
		pthread_mutex_unlock(&ctx->lock);
		shmx__sleep_us(1000);
		pthread_mutex_lock(&ctx->lock);
	}
	ctx->reconnecting = 1;
	ctx->reconnector = pthread_self();
	pthread_mutex_unlock(&ctx->lock);
	ret = reconnect_rounds(ctx);
	pthread_mutex_lock(&ctx->lock);
	ctx->reconnecting = 0;
out_unlock:
	pthread_mutex_unlock(&ctx->lock);
	return ret;
}

int shmx__wait_node(struct shmx_ctx *ctx, uint64_t deadline)
{
	uint64_t heard = __atomic_load_n(&ctx->heard_ns, __ATOMIC_RELAXED);

	/*
	 * Silent for longer than the heartbeat allows: it may have gone and
	 * come back as a new process that answers nothing until RESUME,
	 * while one-sided operations with the old keys could still reach
	 * it.  RESUME first, and learn which start of shmnode it is.
	 */
	if (ctx->reconnect_ms && heard &&
	    shmx__now_ns() - heard >
		    (uint64_t)ctx->heartbeat_ms * SILENT_PCT * 10000ull) {
		pthread_mutex_lock(&ctx->lock);
		if (!ctx->down_since && !ctx->failed) {
			log_debug(
				"no word from %s for %llu ms: RESUME first",
				ctx->node_addr,
				(unsigned long long)((shmx__now_ns() - heard) /
						     1000000ull));
			shmx__broke_locked(ctx);
		}
		pthread_mutex_unlock(&ctx->lock);
	}
	if (!__atomic_load_n(&ctx->down_since, __ATOMIC_RELAXED))
		return 0;
	return shmx__reconnect(ctx, deadline);
}

int shmx__lock_table_learn(struct shmx_ctx *ctx)
{
	int known;

	pthread_mutex_lock(&ctx->lock);
	known = ctx->lock_table_known;
	pthread_mutex_unlock(&ctx->lock);
	return known ? 0 : resume(ctx, ctx->timeout_ms, RPC_RESEND | RPC_WAIT);
}

void shmx__rpc_release(struct shmx_ctx *ctx)
{
	struct shmx_rpc *rpc;

	while ((rpc = ctx->orphans)) {
		ctx->orphans = rpc->next;
		free(rpc);
	}
}
