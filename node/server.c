/* SPDX-License-Identifier: MIT */
/*
 * server.c - shmnode's event loop: keep the endpoint progressing at all
 * times (with tcp;ofi_rxm, clients' RMA and atomics complete only while the
 * node polls), validate every received message, dispatch it to its handler,
 * send replies, and expire silent members.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "server.h"
#include "util/clock.h"
#include "util/errstr.h"
#include "util/log.h"

#define POLL_BATCH 32
#define SWEEP_INTERVAL_MS 100
/* Poll without sleeping this long after the last completion. */
#define BUSY_POLL_NS 2000000ull
#define IDLE_WAIT_MS 5
/* Replies waiting for the transport; past this, new ones are dropped (a
 * client flooding the node without reading its replies costs it nothing). */
#define OUTQ_MAX 4096

/* Sends to a member that fail are made again this many times, the n-th
 * RESEND_PAUSE_NS << 2n after the n-th failure (4 ms up to 4 s, about
 * 5.5 s in all). */
#define RESEND_MAX 6
#define RESEND_PAUSE_NS 1000000ull

/* How long shutdown waits for goodbyes in flight. */
#define FINI_DRAIN_MS 500

static const handler_fn handlers[SHMX_OP_MAX] = {
	[SHMX_OP_AUTH] = handshake_auth,
	[SHMX_OP_BYE] = handshake_bye,
	[SHMX_OP_PING] = query_ping,
	[SHMX_OP_INFO] = query_info,
	[SHMX_OP_MEMBERS] = query_members,
	[SHMX_OP_LOOKUP] = query_lookup,
	[SHMX_OP_ROOT_GET] = query_root_get,
	[SHMX_OP_ROOT_SET] = query_root_set,
	[SHMX_OP_POOL_OPEN] = mem_pool_open,
	[SHMX_OP_POOL_CLOSE] = mem_pool_close,
	[SHMX_OP_POOL_DESTROY] = mem_pool_destroy,
	[SHMX_OP_POOL_STAT] = mem_pool_stat,
	[SHMX_OP_ALLOC] = mem_alloc,
	[SHMX_OP_RELEASE] = mem_release,
	[SHMX_OP_GRANT] = mem_grant,
	[SHMX_OP_OWN] = mem_own,
	[SHMX_OP_OWN_TRANSFER] = mem_own,
	[SHMX_OP_DISOWN] = mem_disown,
	[SHMX_OP_POOL_NEXT] = mem_pool_next,
	[SHMX_OP_BLOCK_NEXT] = mem_block_next,
	[SHMX_OP_SEG_NEXT] = seg_op_next,
	[SHMX_OP_SEG_OPEN] = seg_op_open,
	[SHMX_OP_SEG_CLOSE] = seg_op_close,
	[SHMX_OP_SEG_STAT] = seg_op_stat,
	[SHMX_OP_SEG_SET] = seg_op_set,
	[SHMX_OP_SEG_REMOVE] = seg_op_remove,
	[SHMX_OP_SEG_FREEZE] = seg_op_freeze,
	[SHMX_OP_SEG_THAW] = seg_op_thaw,
	[SHMX_OP_GROW] = growth_op_resize,
	[SHMX_OP_SHRINK] = growth_op_resize,
	[SHMX_OP_RESUME] = handshake_resume,
	[SHMX_OP_LOCK_RESERVE] = lock_op_reserve,
	[SHMX_OP_LOCK_UNRESERVE] = lock_op_unreserve,
	[SHMX_OP_LOCK_NEXT] = lock_op_next,
	[SHMX_OP_MAILBOX] = query_mailbox,
	[SHMX_OP_STATS] = stats_op,
};

/* Peers a flush may find blocked before it stops for this round. */
#define OUTQ_BLOCKED_MAX 8

/*
 * Take every queued message for @peer out of the queue, in order, and
 * return them as a list (linked by next).
 */
static struct outmsg *outq_take(struct server *srv, xport_peer_t peer)
{
	struct outmsg **pp = &srv->outq, *o, *taken = NULL, **tail = &taken;

	while ((o = *pp)) {
		if (o->peer != peer) {
			pp = &o->next;
			continue;
		}
		*pp = o->next;
		if (!*pp)
			srv->outq_tail = pp;
		srv->outq_len--;
		o->next = NULL;
		*tail = o;
		tail = &o->next;
	}
	return taken;
}

void server_peer_forget(struct server *srv, xport_peer_t peer)
{
	struct outmsg *o = outq_take(srv, peer), *next;

	/* Nothing may be sent to a removed peer: the transport may have
	 * freed its connection (libfabric 1.17's rxm crashed sending to
	 * one), or may hand its address to the next peer. */
	for (; o; o = next) {
		next = o->next;
		free(o);
	}
	xport_peer_remove(srv->xp, peer);
}

static int peer_in(const xport_peer_t *set, unsigned n, xport_peer_t peer)
{
	for (unsigned i = 0; i < n; i++)
		if (set[i] == peer)
			return 1;
	return 0;
}

static void flight_add(struct server *srv, struct outmsg *o)
{
	o->fl_prev = NULL;
	o->fl_next = srv->in_flight;
	if (o->fl_next)
		o->fl_next->fl_prev = o;
	srv->in_flight = o;
}

static void flight_del(struct server *srv, struct outmsg *o)
{
	if (o->fl_prev)
		o->fl_prev->fl_next = o->fl_next;
	else
		srv->in_flight = o->fl_next;
	if (o->fl_next)
		o->fl_next->fl_prev = o->fl_prev;
}

/* Unlink *@pp (the message @o) from the queue. */
static void outq_unlink(struct server *srv, struct outmsg **pp,
			struct outmsg *o)
{
	*pp = o->next;
	if (!*pp)
		srv->outq_tail = pp;
	srv->outq_len--;
}

/*
 * Hand queued messages to the transport, in order for each peer.  A peer
 * the transport cannot take more for (a full queue, a connection that is
 * broken until the member times out), or whose next message waits to be
 * sent again, does not hold the others back.  A posted message is the
 * send's op_ctx until it completes (send_done).
 */
static void outq_flush(struct server *srv)
{
	xport_peer_t blocked[OUTQ_BLOCKED_MAX];
	struct outmsg **pp = &srv->outq, *o;
	uint64_t now = shmx__now_ns();
	unsigned nb = 0;

	while ((o = *pp)) {
		xport_peer_t peer = o->peer;
		int ret = -EAGAIN;

		if (peer_in(blocked, nb, peer)) {
			pp = &o->next;
			continue;
		}
		if (o->not_before <= now)
			ret = xport_send(srv->xp, peer, o->buf, o->len, o);
		if (ret == -EAGAIN) {
			if (nb == OUTQ_BLOCKED_MAX)
				return;
			blocked[nb++] = peer;
			pp = &o->next;
			continue;
		}
		outq_unlink(srv, pp, o);
		if (!ret) {
			srv->closing += !!o->close_after;
			flight_add(srv, o);
			continue;
		}
		/* Could not send at all: still forget the peer. */
		log_debug("reply dropped: %s", shmx__strerror(ret));
		if (o->close_after)
			server_peer_forget(srv, peer);
		free(o);
	}
}

/* Put @o at the end of the queue. */
static void outq_add(struct server *srv, struct outmsg *o)
{
	o->next = NULL;
	*srv->outq_tail = o;
	srv->outq_tail = &o->next;
	srv->outq_len++;
}

/*
 * A send completed.  A failed one to a member that still lives is queued
 * again for where the member is now, after a pause; the last failure, or
 * a message for no member, is dropped.
 */
static void send_done(struct server *srv, struct outmsg *o, int status)
{
	const struct member *m =
		o->member ? registry_get(&srv->reg, o->member) : NULL;

	flight_del(srv, o);
	stats_sent(&srv->stats, o->len, status);
	if (o->close_after) {
		srv->closing--;
		server_peer_forget(srv, o->peer);
		free(o);
		return;
	}
	if (!status) {
		free(o);
		return;
	}
	if (!m || ++o->tries > RESEND_MAX) {
		if (m)
			log_warn("member %u '%s': a message dropped after %u "
				 "failed sends: %s",
				 m->info.id, m->info.name, o->tries,
				 shmx__strerror(status));
		else
			log_debug("send failed: %s", shmx__strerror(status));
		free(o);
		return;
	}
	if (m->peer == XPORT_PEER_NONE) {
		free(o);
		return;
	}
	o->peer = m->peer;
	o->not_before = shmx__now_ns() + (RESEND_PAUSE_NS << (2 * o->tries));
	outq_add(srv, o);
}

static void send_msg(struct server *srv, xport_peer_t peer, uint32_t member,
		     const struct shmx_msg *rep, int close_after)
{
	struct outmsg *o;
	int len;

	if (peer == XPORT_PEER_NONE) /* forgotten: nowhere to send */
		return;
	if (srv->outq_len >= OUTQ_MAX) {
		log_warn("%u replies waiting for the fabric: %s reply dropped",
			 srv->outq_len, shmx__op_name(rep->hdr.opcode));
		if (close_after)
			server_peer_forget(srv, peer);
		return;
	}
	o = calloc(1, sizeof(*o));
	if (!o) {
		log_error("out of memory: reply dropped");
		return;
	}
	len = shmx__proto_encode(rep, o->buf, sizeof(o->buf));
	if (len < 0) {
		log_error("cannot encode %s reply: %s",
			  shmx__op_name(rep->hdr.opcode), shmx__strerror(len));
		free(o);
		return;
	}
	o->peer = peer;
	o->member = member;
	o->close_after = close_after;
	o->len = (size_t)len;
	outq_add(srv, o);
	outq_flush(srv);
}

void server_send(struct server *srv, xport_peer_t peer,
		 const struct shmx_msg *rep, int close_after)
{
	send_msg(srv, peer, 0, rep, close_after);
}

void server_send_member(struct server *srv, const struct member *m,
			const struct shmx_msg *msg, int close_after)
{
	send_msg(srv, m->peer, m->info.id, msg, close_after);
}

/*
 * Tell the sender of a request for a dead session that it is gone: at
 * the session's last address, or, for a RESUME (@resume: decoded), at the
 * address it says it has now (over verbs a new connection: the old one
 * is gone with the session, and the answer would reach nobody).
 */
static void answer_tombstone(struct server *srv, struct member *m,
			     const struct shmx_msg *req, int resume)
{
	const uint8_t *addr = m->addr;
	size_t len = m->addr_len;
	struct shmx_msg rep;
	xport_peer_t peer;

	if (resume) {
		addr = req->u.resume.addr;
		len = req->u.resume.addr_len;
		if (!srv->have_key &&
		    srv->xp->ops->addr_is_local(srv->xp, addr, len) != 1)
			return;
	}
	if (!len || xport_peer_insert(srv->xp, addr, len, &peer))
		return;
	shmx__msg_reply(&rep, req, SHMX_ST_NO_SESSION);
	server_send(srv, peer, &rep, 1);
}

static void answer_version(struct server *srv, const void *buf, size_t len,
			   unsigned version)
{
	uint8_t copy[SHMX_WIRE_MAX];
	struct shmx_msg req, rep;
	xport_peer_t peer;

	log_warn("refused a client speaking protocol version %u (this node "
		 "speaks %u)",
		 version, SHMX_PROTO_VERSION);
	memcpy(copy, buf, len);
	copy[4] = SHMX_PROTO_VERSION & 0xff;
	copy[5] = SHMX_PROTO_VERSION >> 8;
	if (shmx__proto_decode(copy, len, &req) != SHMX_ST_OK ||
	    xport_peer_insert(srv->xp, req.u.hello.addr, req.u.hello.addr_len,
			      &peer))
		return;
	shmx__msg_reply(&rep, &req, SHMX_ST_VERSION);
	server_send(srv, peer, &rep, 1);
}

static void handle_msg(struct server *srv, const void *buf, size_t len)
{
	struct shmx_msg req, rep;
	enum shmx_status st;
	struct member *m;
	int end;

	stats_received(&srv->stats, len);
	st = shmx__proto_decode(buf, len, &req);
	if (st == SHMX_ST_VERSION && req.hdr.opcode == SHMX_OP_HELLO) {
		answer_version(srv, buf, len, req.hdr.version);
		return;
	}
	if (st == SHMX_ST_OK && req.hdr.opcode == SHMX_OP_HELLO) {
		handshake_hello(srv, &req);
		return;
	}
	m = registry_slot(&srv->reg, req.hdr.session);
	if (!m) {
		log_debug("dropped a message without a session (%s)",
			  shmx__status_name(st));
		return;
	}
	if (m->token != req.hdr.token) {
		log_debug("dropped a message with a wrong token for %u",
			  req.hdr.session);
		return;
	}
	if (m->state == MEMBER_FREE) {
		answer_tombstone(srv, m, &req,
				 st == SHMX_ST_OK &&
					 req.hdr.opcode == SHMX_OP_RESUME);
		return;
	}
	if (st == SHMX_ST_OK &&
	    (req.hdr.flags & (SHMX_HDR_REPLY | SHMX_HDR_EVENT)))
		st = SHMX_ST_BAD_MSG;
	if (st == SHMX_ST_OK &&
	    (req.hdr.opcode == SHMX_OP_AUTH) != (m->state == MEMBER_PENDING))
		st = SHMX_ST_STATE;
	m->last_seen_ms = shmx__now_ms();
	if (st != SHMX_ST_OK) {
		log_warn("member %u (%s): bad %s request: %s", m->info.id,
			 m->info.name, shmx__op_name(req.hdr.opcode),
			 shmx__status_name(st));
		shmx__msg_reply(&rep, &req, st);
		server_send_member(srv, m, &rep, 0);
		return;
	}
	shmx__msg_reply(&rep, &req, SHMX_ST_OK);
	srv->asker = m->info.id;
	rep.hdr.status = handlers[req.hdr.opcode]
				 ? handlers[req.hdr.opcode](srv, m, &req, &rep)
				 : SHMX_ST_UNKNOWN_OP;
	srv->asker = 0;
	stats_request(&srv->stats, &req, &rep);
	end = req.hdr.opcode == SHMX_OP_BYE ||
	      (req.hdr.opcode == SHMX_OP_AUTH && rep.hdr.status);
	/* What the request changed is kept before it is answered. */
	(void)persist_request(srv, m, &req, &rep);
	server_send_member(srv, m, &rep, end);
	if (end)
		member_end(srv, m,
			   req.hdr.opcode == SHMX_OP_BYE
				   ? "left"
				   : "failed to authenticate");
}

static void handle_completion(struct server *srv, struct xport_completion *c)
{

	switch (c->op) {
	case XPORT_OP_RECV:
		if (c->status == 0)
			handle_msg(srv, c->buf, c->len);
		if (c->buf)
			xport_recv_done(srv->xp, c->buf);
		break;
	case XPORT_OP_SEND:
		if (c->op_ctx)
			send_done(srv, c->op_ctx, c->status);
		break;
	default:
		log_debug("unexpected completion %d", c->op);
		break;
	}
}

/*
 * The memory's header, its free space, its keys and the object tables.
 * 0 or -errno.
 */
static int memory_init(struct server *srv)
{
	struct node_pools_limits pl = {
		.max_pool_size = srv->cfg.max_pool_size,
		.member_cap = srv->cfg.member_cap,
	};
	struct node_segs_limits sl = { .max_seg_size = srv->cfg.max_seg_size };
	int ret;

	regkeys_init(&srv->keys, srv->xp, &srv->mem);
	srv->keys.dropped = mem_keys_dropped;
	srv->keys.dropped_arg = srv;
	ret = header_init(srv);
	if (ret)
		return ret;
	ret = shmx__alloc_init(&srv->space, srv->hdr_size,
			       srv->mem.ext[0].len - srv->hdr_size);
	if (ret) {
		header_fini(srv);
		return ret;
	}
	ret = node_pools_init(&srv->pools, &srv->space, &srv->keys.ops, &pl);
	if (!ret)
		ret = node_segs_init(&srv->segs, &srv->space, &srv->keys.ops,
				     &sl);
	if (ret) {
		log_error("cannot set up the memory tables: %s",
			  shmx__strerror(ret));
		shmx__alloc_fini(&srv->space);
		header_fini(srv);
	}
	return ret;
}

static void memory_fini(struct server *srv)
{
	node_segs_fini(&srv->segs);
	node_pools_fini(&srv->pools);
	header_fini(srv);
	regkeys_fini(&srv->keys);
	shmx__alloc_fini(&srv->space);
}

/*
 * The admin socket, unless the config says none.  0 or -errno; a default
 * path that cannot be used (a read-only /run, another node's socket)
 * only costs the admin commands, and is said.
 */
static int admin_init(struct server *srv)
{
	char path[ADMIN_PATH_MAX] = "";
	const char *why;
	int ret;

	ret = admin_socket_path(srv->cfg.admin_socket, srv->cfg.listen, path,
				sizeof(path));
	if (!ret && path[0])
		ret = admin_open(&srv->admin, path);
	if (!ret) {
		if (path[0])
			log_info("admin socket %s", path);
		return 0;
	}
	why = ret == -EADDRINUSE ? "another shmnode answers there"
	      : ret == -EEXIST	 ? "a file that is not a socket is in the way"
				 : shmx__strerror(ret);
	if (srv->cfg.admin_socket[0]) {
		log_error("admin socket %s: %s", path, why);
		return ret;
	}
	log_warn("no admin socket (%s: %s); --admin-socket sets another path",
		 path, why);
	return 0;
}

int server_init(struct server *srv, const struct node_config *cfg,
		volatile sig_atomic_t *stop)
{
	struct xport_attr xattr = { 0 };
	int ret, loose = 0;
	uint64_t size0;

	memset(srv, 0, sizeof(*srv));
	srv->cfg = *cfg;
	srv->stop = stop;
	srv->root = SHMX_GADDR_NULL;
	srv->outq_tail = &srv->outq;
	ret = shmx__random(&srv->boot, sizeof(srv->boot));
	if (ret)
		return ret;

	if (cfg->key_file[0]) {
		ret = shmx__key_load(cfg->key_file, &srv->key, &loose);
		if (ret) {
			log_error("key file %s: %s", cfg->key_file,
				  ret == -EINVAL ? "must hold at least 16 bytes"
						 : shmx__strerror(ret));
			return ret;
		}
		if (loose)
			log_warn("key file %s is readable by group or others",
				 cfg->key_file);
		srv->have_key = 1;
	}
	ret = registry_init(&srv->reg, cfg->max_members);
	if (ret)
		goto out_wipe_key;
	/* The backing files first: a node refused them listens nowhere. */
	ret = persist_open(srv, &size0);
	if (ret)
		goto out_registry;

	xattr.provider = cfg->provider;
	xattr.bind = cfg->listen;
	xattr.passive = 1;
	ret = shmx__xport_open(cfg->transport, &xattr, &srv->xp,
			       srv->transport_why, sizeof(srv->transport_why));
	if (ret) {
		log_error("cannot listen on %s with transport %s%s%s: %s",
			  cfg->listen, cfg->transport,
			  strcmp(cfg->transport, "verbs") ? ", provider " : "",
			  strcmp(cfg->transport, "verbs") ? cfg->provider : "",
			  ret == -EADDRINUSE ? "address already in use"
					     : shmx__strerror(ret));
		goto out_persist;
	}

	ret = extents_init(&srv->mem, size0, cfg->hugepages, persist_fd(srv),
			   persist_file_off(srv));
	if (ret) {
		log_error("cannot map a region of %llu bytes%s: %s",
			  (unsigned long long)size0,
			  cfg->hugepages == NODE_HUGE_REQUIRE
				  ? " in huge pages (hugepages = require)"
				  : "",
			  shmx__strerror(ret));
		goto out_close_xport;
	}
	if (srv->mem.ext[0].huge)
		log_info("region in huge pages of %llu kB",
			 (unsigned long long)srv->mem.huge_size / 1024);
	/* No registration covers the whole region: each object gets its
	 * own, with exact rights, when it is made (regkeys.c). */
	ret = memory_init(srv);
	if (ret)
		goto out_unmap;
	ret = lock_table_init(srv);
	if (ret)
		goto out_memory;
	ret = persist_restore(srv);
	if (ret)
		goto out_locks;
	ret = admin_init(srv);
	if (ret)
		goto out_locks;
	ret = stats_init(srv);
	if (ret)
		goto out_admin;
	return 0;

out_admin:
	admin_close(&srv->admin);
out_locks:
	lock_table_fini(srv);
	lock_table_unmap(srv);
out_memory:
	memory_fini(srv);
out_unmap:
	extents_fini(&srv->mem);
out_close_xport:
	srv->xp->ops->close(srv->xp);
out_persist:
	persist_close(srv);
out_registry:
	registry_fini(&srv->reg);
out_wipe_key:
	shmx__key_wipe(&srv->key);
	return ret;
}

int server_run(struct server *srv)
{
	struct xport_completion c[POLL_BATCH];
	uint64_t last_busy = shmx__now_ns(), now_ms;
	int n;

	while (!*srv->stop) {
		n = xport_poll(srv->xp, c, POLL_BATCH);
		if (n < 0) {
			log_error("transport failed: %s", shmx__strerror(n));
			return n;
		}
		for (int i = 0; i < n; i++)
			handle_completion(srv, &c[i]);
		if (srv->outq)
			outq_flush(srv);
		now_ms = shmx__now_ms();
		if (now_ms >= srv->next_sweep_ms) {
			handshake_sweep(srv, now_ms);
			admin_poll(&srv->admin, admin_command, srv);
			srv->next_sweep_ms = now_ms + SWEEP_INTERVAL_MS;
		}
		metrics_poll(&srv->metrics, stats_metrics_body, srv);
		if (n > 0)
			last_busy = shmx__now_ns();
		else if (shmx__now_ns() - last_busy > BUSY_POLL_NS)
			xport_wait(srv->xp, IDLE_WAIT_MS);
	}
	return 0;
}

void server_fini(struct server *srv)
{
	uint64_t give_up = shmx__now_ms() + FINI_DRAIN_MS;
	struct xport_completion c[POLL_BATCH];
	struct outmsg *o;

	/* Last answers (goodbyes) still on the wire: let them complete. */
	while (srv->closing && shmx__now_ms() < give_up) {
		int n = xport_poll(srv->xp, c, POLL_BATCH);

		if (n < 0)
			break;
		for (int i = 0; i < n; i++)
			if (c[i].op == XPORT_OP_SEND)
				handle_completion(srv, &c[i]);
			else if (c[i].op == XPORT_OP_RECV && c[i].buf)
				xport_recv_done(srv->xp, c[i].buf);
	}

	while ((o = srv->outq)) {
		srv->outq = o->next;
		free(o);
	}
	admin_close(&srv->admin);
	stats_fini(srv);
	srv->stopping = 1;
	lock_table_fini(srv);
	memory_fini(srv);
	srv->xp->ops->close(srv->xp);
	/* Sends never completed: nothing reports them any more. */
	while ((o = srv->in_flight)) {
		srv->in_flight = o->fl_next;
		free(o);
	}
	lock_table_unmap(srv);
	extents_fini(&srv->mem);
	persist_close(srv);
	registry_fini(&srv->reg);
	shmx__key_wipe(&srv->key);
}
