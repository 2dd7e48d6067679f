/* SPDX-License-Identifier: MIT */
/*
 * handshake.c - how a client becomes a member and stops being one: HELLO
 * (loopback check, unique name, a slot, a challenge), AUTH (HMAC proof of
 * the shared key), BYE, and expiry of members that fell silent.
 */
#include <stdio.h>
#include <string.h>

#include "server.h"
#include "util/clock.h"
#include "util/errstr.h"
#include "util/log.h"

/* Refuse a HELLO: answer @st and forget the peer once the answer is out. */
static void refuse(struct server *srv, xport_peer_t peer,
		   const struct shmx_msg *req, enum shmx_status st)
{
	struct shmx_msg rep;

	shmx__msg_reply(&rep, req, st);
	server_send(srv, peer, &rep, 1);
}

void handshake_hello(struct server *srv, const struct shmx_msg *req)
{
	const struct shmx_hello *h = &req->u.hello;
	struct shmx_challenge *c;
	char addr[128] = "?";
	struct shmx_msg rep;
	xport_peer_t peer;
	struct member *m;
	int ret;

	ret = xport_peer_insert(srv->xp, h->addr, h->addr_len, &peer);
	if (ret) {
		log_warn("HELLO from '%s' with an unusable address: %s",
			 h->name, shmx__strerror(ret));
		return;
	}
	srv->xp->ops->addr_str(srv->xp, h->addr, h->addr_len, addr,
			       sizeof(addr));
	if (!srv->have_key &&
	    srv->xp->ops->addr_is_local(srv->xp, h->addr, h->addr_len) != 1) {
		log_warn("refused '%s' from %s: without a key file only "
			 "loopback clients are accepted",
			 h->name, addr);
		refuse(srv, peer, req, SHMX_ST_NOT_LOCAL);
		return;
	}
	if (registry_find_name(&srv->reg, h->name)) {
		log_info("refused '%s' from %s: name in use", h->name, addr);
		refuse(srv, peer, req, SHMX_ST_NAME_IN_USE);
		return;
	}
	m = registry_alloc(&srv->reg);
	if (!m) {
		log_warn("refused '%s' from %s: all %u member slots in use",
			 h->name, addr, srv->reg.max);
		refuse(srv, peer, req, SHMX_ST_FULL);
		return;
	}
	if (shmx__random(&m->token, sizeof(m->token)) ||
	    shmx__random(m->node_nonce, sizeof(m->node_nonce))) {
		registry_free(&srv->reg, m);
		refuse(srv, peer, req, SHMX_ST_INTERNAL);
		return;
	}
	m->peer = peer;
	m->last_seen_ms = shmx__now_ms();
	memcpy(m->client_nonce, h->nonce, sizeof(m->client_nonce));
	m->info.pid = h->pid;
	m->info.uid = h->uid;
	m->info.gid = h->gid;
	memcpy(m->info.name, h->name, sizeof(m->info.name));
	memcpy(m->info.host, h->host, sizeof(m->info.host));
	m->addr_len = h->addr_len;
	memcpy(m->addr, h->addr, sizeof(m->addr));

	shmx__msg_reply(&rep, req, SHMX_ST_OK);
	c = &rep.u.challenge;
	c->flags = srv->have_key ? SHMX_CHAL_KEY_REQUIRED : 0;
	c->session = m->info.id;
	c->token = m->token;
	memcpy(c->nonce, m->node_nonce, sizeof(c->nonce));
	server_send_member(srv, m, &rep, 0);
}

enum shmx_status handshake_auth(struct server *srv, struct member *m,
				const struct shmx_msg *req,
				struct shmx_msg *rep)
{
	struct shmx_welcome *w = &rep->u.welcome;
	uint8_t mac[SHMX_MAC_LEN];

	if (srv->have_key) {
		shmx__auth_client_mac(&srv->key, m->node_nonce, m->client_nonce,
				      m->info.id, m->info.name, mac);
		if (!shmx__mac_equal(mac, req->u.auth.mac))
			return SHMX_ST_AUTH;
		shmx__auth_node_mac(&srv->key, m->client_nonce, m->node_nonce,
				    m->info.id, w->mac);
		m->authenticated = 1;
	}
	m->state = MEMBER_LIVE;
	m->info.joined = shmx__wall_s();
	w->node_id = m->info.id;
	w->heartbeat_ms = srv->cfg.heartbeat_ms;
	w->client_timeout_ms = srv->cfg.client_timeout_ms;
	w->authenticated = (uint32_t)m->authenticated;
	w->region_size = srv->mem.total;
	/* The header's read-only key; no key covers the rest of the memory:
	 * keys come with grants. */
	w->hdr_key = srv->hdr_key;
	w->hdr_size = srv->hdr_size;
	w->boot = srv->boot;
	if (regkeys_rbase(&srv->keys, srv->hdr_key, 0, &w->hdr_base))
		return SHMX_ST_INTERNAL;
	header_member(srv, m);
	member_announce(srv, m->info.id, SHMX_MEMBER_JOINED);
	snprintf(w->version, sizeof(w->version), "%d.%d.%d", SHMX_VERSION_MAJOR,
		 SHMX_VERSION_MINOR, SHMX_VERSION_PATCH);
	log_info("member %u '%s' joined from %s (pid %u, uid %u)%s", m->info.id,
		 m->info.name, m->info.host, m->info.pid, m->info.uid,
		 m->authenticated ? ", authenticated" : "");
	return SHMX_ST_OK;
}

enum shmx_status handshake_bye(struct server *srv, struct member *m,
			       const struct shmx_msg *req, struct shmx_msg *rep)
{
	return SHMX_ST_OK;
}

enum shmx_status handshake_resume(struct server *srv, struct member *m,
				  const struct shmx_msg *req,
				  struct shmx_msg *rep)
{
	const struct shmx_resume *r = &req->u.resume;
	struct shmx_resumed *d = &rep->u.resumed;
	xport_peer_t peer;
	int ret;

	d->boot = srv->boot;
	d->region_size = srv->mem.total;
	d->hdr_key = srv->hdr_key;
	d->hdr_size = srv->hdr_size;
	if (regkeys_rbase(&srv->keys, srv->hdr_key, 0, &d->hdr_base))
		return SHMX_ST_INTERNAL;
	if (srv->lock_mr) {
		d->lock_key = srv->lock_mr->key;
		d->lock_base = srv->lock_mr->base;
	}
	/* The same endpoint: its transport reconnected by itself (a member
	 * restored from the backing file has no peer yet). */
	if (m->peer != XPORT_PEER_NONE && r->addr_len == m->addr_len &&
	    !memcmp(r->addr, m->addr, r->addr_len))
		return SHMX_ST_OK;
	if (!srv->have_key &&
	    srv->xp->ops->addr_is_local(srv->xp, r->addr, r->addr_len) != 1)
		return SHMX_ST_NOT_LOCAL;
	ret = xport_peer_insert(srv->xp, r->addr, r->addr_len, &peer);
	if (ret) {
		log_warn("member %u '%s': RESUME from an unusable address: %s",
			 m->info.id, m->info.name, shmx__strerror(ret));
		return SHMX_ST_INVAL;
	}
	if (m->peer != XPORT_PEER_NONE && peer != m->peer)
		server_peer_forget(srv, m->peer);
	m->peer = peer;
	m->addr_len = r->addr_len;
	memset(m->addr, 0, sizeof(m->addr));
	memcpy(m->addr, r->addr, r->addr_len);
	log_info("member %u '%s' goes on over a new connection", m->info.id,
		 m->info.name);
	return SHMX_ST_OK;
}

void member_end(struct server *srv, struct member *m, const char *why)
{
	int live = m->state == MEMBER_LIVE;

	if (live) {
		log_info("member %u '%s' %s", m->info.id, m->info.name, why);
		/* Nothing more is sent to it: of the keys that go with it,
		 * only the others are told. */
		srv->ending = m->info.id;
		mem_member_gone(srv, m->info.id);
		lock_member_gone(srv, m->info.id);
		srv->ending = 0;
	} else
		log_warn("client '%s' (pid %u on %s) %s", m->info.name,
			 m->info.pid, m->info.host, why);
	registry_free(&srv->reg, m);
	if (live) {
		header_member(srv, m);
		member_announce(srv, m->info.id, SHMX_MEMBER_LEFT);
		/* Its opens, ownerships, attachments and reservations went:
		 * the journal is written again whole. */
		persist_everything(srv);
		(void)persist_commit(srv);
	}
}

void member_announce(struct server *srv, uint32_t id, uint32_t what)
{
	struct shmx_msg ev;

	shmx__msg_init(&ev, SHMX_OP_MEMBER, 0, 0, 0);
	ev.hdr.flags = SHMX_HDR_EVENT;
	ev.u.member.id = id;
	ev.u.member.what = what;
	for (struct member *o = registry_next_live(&srv->reg, 1); o;
	     o = registry_next_live(&srv->reg, o->info.id + 1))
		if (o->info.id != id)
			server_send_member(srv, o, &ev, 0);
}

void handshake_sweep(struct server *srv, uint64_t now_ms)
{
	for (uint32_t id = 1; id <= srv->reg.max; id++) {
		struct member *m = registry_get(&srv->reg, id);

		if (!m ||
		    now_ms - m->last_seen_ms <= srv->cfg.client_timeout_ms)
			continue;
		server_peer_forget(srv, m->peer);
		if (m->state == MEMBER_LIVE)
			stats_expired(&srv->stats);
		member_end(
			srv, m,
			m->state == MEMBER_LIVE
				? "left: no heartbeat within the client timeout"
				: "did not finish the handshake in time");
	}
}
