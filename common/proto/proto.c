/* SPDX-License-Identifier: MIT */
/*
 * proto.c - encode, decode and validate the control messages of proto.h.
 * Pure functions over byte buffers: no allocation, no I/O, so the decoder
 * can be fuzzed.  Every length is checked before a byte is read.
 */
#include <errno.h>
#include <string.h>

#include "proto/proto.h"
#include "util/parse.h"

/* Writing cursor: any overflow or bad field sets err, later puts do nothing. */
struct wcur {
	uint8_t *p;
	size_t cap;
	size_t off;
	int err;
};

/* Reading cursor: any short read or bad field sets bad. */
struct rcur {
	const uint8_t *p;
	size_t len;
	size_t off;
	int bad;
};

static uint8_t *w_take(struct wcur *w, size_t n)
{
	uint8_t *at;

	if (w->err)
		return NULL;
	if (n > w->cap - w->off) {
		w->err = -EMSGSIZE;
		return NULL;
	}
	at = w->p + w->off;
	w->off += n;
	return at;
}

static void put_le(struct wcur *w, uint64_t v, size_t n)
{
	uint8_t *at = w_take(w, n);

	for (size_t i = 0; at && i < n; i++)
		at[i] = (uint8_t)(v >> (8 * i));
}

static void put_u8(struct wcur *w, uint8_t v)
{
	put_le(w, v, 1);
}

static void put_u16(struct wcur *w, uint16_t v)
{
	put_le(w, v, 2);
}

static void put_u32(struct wcur *w, uint32_t v)
{
	put_le(w, v, 4);
}

static void put_u64(struct wcur *w, uint64_t v)
{
	put_le(w, v, 8);
}

static void put_bytes(struct wcur *w, const void *src, size_t n)
{
	uint8_t *at = w_take(w, n);

	if (at)
		memcpy(at, src, n);
}

static int printable(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return 0;
	return 1;
}

int shmx__name_valid(const char *name)
{
	size_t n;

	if (!name)
		return 0;
	n = strnlen(name, SHMX_NAME_MAX);
	return n && n < SHMX_NAME_MAX && printable(name, n);
}

/* A string field of at most @max - 1 bytes; empty allowed iff !@need. */
static void put_str(struct wcur *w, const char *s, size_t max, int need)
{
	size_t n = strnlen(s, max);

	if (n >= max || (need && !n) || !printable(s, n)) {
		if (!w->err)
			w->err = -EINVAL;
		return;
	}
	put_u8(w, (uint8_t)n);
	put_bytes(w, s, n);
}

static void put_blob(struct wcur *w, const uint8_t *b, size_t n, size_t max)
{
	if (!n || n > max) {
		if (!w->err)
			w->err = -EINVAL;
		return;
	}
	put_u8(w, (uint8_t)n);
	put_bytes(w, b, n);
}

static const uint8_t *r_take(struct rcur *r, size_t n)
{
	const uint8_t *at;

	if (r->bad || n > r->len - r->off) {
		r->bad = 1;
		return NULL;
	}
	at = r->p + r->off;
	r->off += n;
	return at;
}

static uint64_t get_le(struct rcur *r, size_t n)
{
	const uint8_t *at = r_take(r, n);
	uint64_t v = 0;

	for (size_t i = 0; at && i < n; i++)
		v |= (uint64_t)at[i] << (8 * i);
	return v;
}

static uint8_t get_u8(struct rcur *r)
{
	return (uint8_t)get_le(r, 1);
}

static uint16_t get_u16(struct rcur *r)
{
	return (uint16_t)get_le(r, 2);
}

static uint32_t get_u32(struct rcur *r)
{
	return (uint32_t)get_le(r, 4);
}

static uint64_t get_u64(struct rcur *r)
{
	return get_le(r, 8);
}

static void get_bytes(struct rcur *r, void *dst, size_t n)
{
	const uint8_t *at = r_take(r, n);

	if (at)
		memcpy(dst, at, n);
}

/* Read a string into @dst of @max bytes (NUL-terminated), validating it. */
static void get_str(struct rcur *r, char *dst, size_t max, int need)
{
	size_t n = get_u8(r);
	const uint8_t *at;

	dst[0] = '\0';
	if (n >= max || (need && !n)) {
		r->bad = 1;
		return;
	}
	at = r_take(r, n);
	if (!at)
		return;
	if (!printable((const char *)at, n)) {
		r->bad = 1;
		return;
	}
	memcpy(dst, at, n);
	dst[n] = '\0';
}

static uint8_t get_blob(struct rcur *r, uint8_t *dst, size_t max)
{
	size_t n = get_u8(r);

	if (!n || n > max) {
		r->bad = 1;
		return 0;
	}
	get_bytes(r, dst, n);
	return (uint8_t)n;
}

/* ---- payloads, one encode/decode pair each ---------------------------- */

static void enc_hello(struct wcur *w, const struct shmx_msg *m)
{
	const struct shmx_hello *h = &m->u.hello;

	put_u32(w, h->pid);
	put_u32(w, h->uid);
	put_u32(w, h->gid);
	put_bytes(w, h->nonce, SHMX_NONCE_LEN);
	put_str(w, h->name, SHMX_NAME_MAX, 1);
	put_str(w, h->host, SHMX_HOST_MAX, 1);
	put_blob(w, h->addr, h->addr_len, SHMX_WIRE_ADDR_MAX);
}

static void dec_hello(struct rcur *r, struct shmx_msg *m)
{
	struct shmx_hello *h = &m->u.hello;

	h->pid = get_u32(r);
	h->uid = get_u32(r);
	h->gid = get_u32(r);
	get_bytes(r, h->nonce, SHMX_NONCE_LEN);
	get_str(r, h->name, SHMX_NAME_MAX, 1);
	get_str(r, h->host, SHMX_HOST_MAX, 1);
	h->addr_len = get_blob(r, h->addr, SHMX_WIRE_ADDR_MAX);
}

static void enc_challenge(struct wcur *w, const struct shmx_msg *m)
{
	const struct shmx_challenge *c = &m->u.challenge;

	put_u32(w, c->flags);
	put_u32(w, c->session);
	put_u64(w, c->token);
	put_bytes(w, c->nonce, SHMX_NONCE_LEN);
}

static void dec_challenge(struct rcur *r, struct shmx_msg *m)
{
	struct shmx_challenge *c = &m->u.challenge;

	c->flags = get_u32(r);
	if (c->flags & ~SHMX_CHAL_KEY_REQUIRED)
		r->bad = 1;
	c->session = get_u32(r);
	c->token = get_u64(r);
	get_bytes(r, c->nonce, SHMX_NONCE_LEN);
}

static void enc_auth(struct wcur *w, const struct shmx_msg *m)
{
	put_bytes(w, m->u.auth.mac, SHMX_MAC_LEN);
}

static void dec_auth(struct rcur *r, struct shmx_msg *m)
{
	get_bytes(r, m->u.auth.mac, SHMX_MAC_LEN);
}

static void enc_welcome(struct wcur *w, const struct shmx_msg *m)
{
	const struct shmx_welcome *v = &m->u.welcome;

	put_u32(w, v->node_id);
	put_u32(w, v->heartbeat_ms);
	put_u32(w, v->client_timeout_ms);
	put_u32(w, v->authenticated);
	put_u64(w, v->region_size);
	put_u64(w, v->hdr_key);
	put_u64(w, v->hdr_base);
	put_u64(w, v->hdr_size);
	put_u64(w, v->boot);
	put_bytes(w, v->mac, SHMX_MAC_LEN);
	put_str(w, v->version, SHMX_VERSION_STR_MAX, 1);
}

static void dec_welcome(struct rcur *r, struct shmx_msg *m)
{
	struct shmx_welcome *v = &m->u.welcome;

	v->node_id = get_u32(r);
	v->heartbeat_ms = get_u32(r);
	v->client_timeout_ms = get_u32(r);
	v->authenticated = get_u32(r);
	v->region_size = get_u64(r);
	v->hdr_key = get_u64(r);
	v->hdr_base = get_u64(r);
	v->hdr_size = get_u64(r);
	v->boot = get_u64(r);
	get_bytes(r, v->mac, SHMX_MAC_LEN);
	get_str(r, v->version, SHMX_VERSION_STR_MAX, 1);
	if (!v->node_id || v->authenticated > 1 || !v->hdr_size ||
	    v->hdr_size > v->region_size)
		r->bad = 1;
}

static void enc_info(struct wcur *w, const struct shmx_msg *m)
{
	const struct shmx_info_rep *i = &m->u.info;

	put_u64(w, i->region_size);
	put_u32(w, i->member_count);
	put_u32(w, i->max_members);
	put_str(w, i->version, SHMX_VERSION_STR_MAX, 1);
}

static void dec_info(struct rcur *r, struct shmx_msg *m)
{
	struct shmx_info_rep *i = &m->u.info;

	i->region_size = get_u64(r);
	i->member_count = get_u32(r);
	i->max_members = get_u32(r);
	get_str(r, i->version, SHMX_VERSION_STR_MAX, 1);
}

static void enc_members_req(struct wcur *w, const struct shmx_msg *m)
{
	put_u32(w, m->u.members_req.start_id);
}

static void dec_members_req(struct rcur *r, struct shmx_msg *m)
{
	m->u.members_req.start_id = get_u32(r);
}

static void enc_members(struct wcur *w, const struct shmx_msg *m)
{
	const struct shmx_members_rep *p = &m->u.members;

	if (p->count > SHMX_MEMBERS_PER_MSG) {
		w->err = -EINVAL;
		return;
	}
	put_u32(w, p->total);
	put_u32(w, p->next_id);
	put_u32(w, p->count);
	for (uint32_t i = 0; i < p->count; i++) {
		put_u32(w, p->m[i].id);
		put_u32(w, p->m[i].pid);
		put_u32(w, p->m[i].uid);
		put_u32(w, p->m[i].gid);
		put_u64(w, (uint64_t)p->m[i].joined);
		put_str(w, p->m[i].name, SHMX_NAME_MAX, 1);
		put_str(w, p->m[i].host, SHMX_HOST_MAX, 1);
	}
}

static void dec_members(struct rcur *r, struct shmx_msg *m)
{
	struct shmx_members_rep *p = &m->u.members;

	p->total = get_u32(r);
	p->next_id = get_u32(r);
	p->count = get_u32(r);
	if (p->count > SHMX_MEMBERS_PER_MSG || p->count > p->total) {
		r->bad = 1;
		return;
	}
	for (uint32_t i = 0; i < p->count && !r->bad; i++) {
		p->m[i].id = get_u32(r);
		p->m[i].pid = get_u32(r);
		p->m[i].uid = get_u32(r);
		p->m[i].gid = get_u32(r);
		p->m[i].joined = (int64_t)get_u64(r);
		get_str(r, p->m[i].name, SHMX_NAME_MAX, 1);
		get_str(r, p->m[i].host, SHMX_HOST_MAX, 1);
	}
}

static void enc_lookup_req(struct wcur *w, const struct shmx_msg *m)
{
	put_str(w, m->u.lookup_req.name, SHMX_NAME_MAX, 1);
}

static void dec_lookup_req(struct rcur *r, struct shmx_msg *m)
{
	get_str(r, m->u.lookup_req.name, SHMX_NAME_MAX, 1);
}

static void enc_lookup(struct wcur *w, const struct shmx_msg *m)
{
	put_u32(w, m->u.lookup.id);
}

static void dec_lookup(struct rcur *r, struct shmx_msg *m)
{
	m->u.lookup.id = get_u32(r);
}

static void enc_root(struct wcur *w, const struct shmx_msg *m)
{
	put_u64(w, m->u.root.gaddr);
}

static void dec_root(struct rcur *r, struct shmx_msg *m)
{
	m->u.root.gaddr = get_u64(r);
}

/* ---- memory management (version 2) ------------------------------------ */

static void enc_grant_body(struct wcur *w, const struct shmx_grant *g)
{
	put_u64(w, g->start);
	put_u64(w, g->len);
	put_u64(w, g->key);
	put_u64(w, g->rbase);
	put_u64(w, g->epoch);
	put_u32(w, g->access);
}

static void dec_grant_body(struct rcur *r, struct shmx_grant *g)
{
	g->start = get_u64(r);
	g->len = get_u64(r);
	g->key = get_u64(r);
	g->rbase = get_u64(r);
	g->epoch = get_u64(r);
	g->access = get_u32(r);
	/* A range that wraps, is empty, or rights that are none or unknown. */
	if (!g->len || g->start + g->len < g->start ||
	    !(g->access & SHMX_ACC_ALL) ||
	    (g->access & ~(SHMX_ACC_ALL | SHMX_ACC_OWNED)))
		r->bad = 1;
}

static void enc_grant(struct wcur *w, const struct shmx_msg *m)
{
	enc_grant_body(w, &m->u.grant);
}

static void dec_grant(struct rcur *r, struct shmx_msg *m)
{
	dec_grant_body(r, &m->u.grant);
}

static void enc_obj(struct wcur *w, const struct shmx_msg *m)
{
	put_u64(w, m->u.obj.id);
}

static void dec_obj(struct rcur *r, struct shmx_msg *m)
{
	m->u.obj.id = get_u64(r);
	if (!m->u.obj.id)
		r->bad = 1;
}

static void enc_addr(struct wcur *w, const struct shmx_msg *m)
{
	put_u64(w, m->u.addr.gaddr);
}

static void dec_addr(struct rcur *r, struct shmx_msg *m)
{
	m->u.addr.gaddr = get_u64(r);
}

static void enc_pool_open(struct wcur *w, const struct shmx_msg *m)
{
	const struct shmx_pool_open *p = &m->u.pool_open;

	put_u32(w, p->flags);
	put_u64(w, p->size);
	put_str(w, p->name, SHMX_NAME_MAX, 1);
}

static void dec_pool_open(struct rcur *r, struct shmx_msg *m)
{
	struct shmx_pool_open *p = &m->u.pool_open;

	p->flags = get_u32(r);
	if (p->flags & ~(SHMX_WIRE_CREAT | SHMX_WIRE_EXCL))
		r->bad = 1;
	p->size = get_u64(r);
	get_str(r, p->name, SHMX_NAME_MAX, 1);
}

static void enc_pool(struct wcur *w, const struct shmx_msg *m)
{
	put_u64(w, m->u.pool.id);
	put_u32(w, m->u.pool.created);
	enc_grant_body(w, &m->u.pool.ro);
}

static void dec_pool(struct rcur *r, struct shmx_msg *m)
{
	m->u.pool.id = get_u64(r);
	m->u.pool.created = get_u32(r);
	dec_grant_body(r, &m->u.pool.ro);
	if (!m->u.pool.id || m->u.pool.created > 1)
		r->bad = 1;
}

static void enc_pool_stat_body(struct wcur *w,
			       const struct shmx_pool_stat_rep *s)
{
	put_u64(w, s->total);
	put_u64(w, s->free);
	put_u64(w, s->largest_free);
	put_u64(w, s->nr_alloc);
	put_u64(w, s->nr_free_blocks);
	put_u32(w, s->open_count);
}

static void enc_pool_stat(struct wcur *w, const struct shmx_msg *m)
{
	enc_pool_stat_body(w, &m->u.pool_stat);
}

static void dec_pool_stat_body(struct rcur *r, struct shmx_pool_stat_rep *s)
{
	s->total = get_u64(r);
	s->free = get_u64(r);
	s->largest_free = get_u64(r);
	s->nr_alloc = get_u64(r);
	s->nr_free_blocks = get_u64(r);
	s->open_count = get_u32(r);
	if (s->free > s->total || s->largest_free > s->free)
		r->bad = 1;
}

static void dec_pool_stat(struct rcur *r, struct shmx_msg *m)
{
	dec_pool_stat_body(r, &m->u.pool_stat);
}

static void enc_alloc(struct wcur *w, const struct shmx_msg *m)
{
	put_u64(w, m->u.alloc.pool);
	put_u64(w, m->u.alloc.size);
	put_u64(w, m->u.alloc.align);
}

static void dec_alloc(struct rcur *r, struct shmx_msg *m)
{
	struct shmx_alloc_req *a = &m->u.alloc;

	a->pool = get_u64(r);
	a->size = get_u64(r);
	a->align = get_u64(r);
	if (!a->pool || !a->size || (a->align & (a->align - 1)))
		r->bad = 1;
}

static void enc_grant_req(struct wcur *w, const struct shmx_msg *m)
{
	put_u64(w, m->u.grant_req.gaddr);
	put_u32(w, m->u.grant_req.access);
}

static void dec_grant_req(struct rcur *r, struct shmx_msg *m)
{
	m->u.grant_req.gaddr = get_u64(r);
	m->u.grant_req.access = get_u32(r);
	if (!m->u.grant_req.access || (m->u.grant_req.access & ~SHMX_ACC_ALL))
		r->bad = 1;
}

static void enc_own(struct wcur *w, const struct shmx_msg *m)
{
	const struct shmx_own_req *o = &m->u.own;

	if (!o->count || o->count > SHMX_OWNERS_MAX) {
		w->err = -EINVAL;
		return;
	}
	put_u64(w, o->gaddr);
	put_u32(w, o->count);
	for (uint32_t i = 0; i < o->count; i++)
		put_u32(w, o->nodes[i]);
}

static void dec_own(struct rcur *r, struct shmx_msg *m)
{
	struct shmx_own_req *o = &m->u.own;

	o->gaddr = get_u64(r);
	o->count = get_u32(r);
	if (!o->count || o->count > SHMX_OWNERS_MAX) {
		r->bad = 1;
		return;
	}
	for (uint32_t i = 0; i < o->count && !r->bad; i++) {
		o->nodes[i] = get_u32(r);
		if (!o->nodes[i])
			r->bad = 1;
		for (uint32_t j = 0; j < i; j++)
			if (o->nodes[j] == o->nodes[i])
				r->bad = 1; /* duplicates */
	}
}

static void enc_seg_open(struct wcur *w, const struct shmx_msg *m)
{
	const struct shmx_seg_open_req *s = &m->u.seg_open;

	put_u32(w, s->flags);
	put_u32(w, s->mode);
	put_u64(w, s->size);
	put_str(w, s->name, SHMX_NAME_MAX, 1);
}

static void dec_seg_open(struct rcur *r, struct shmx_msg *m)
{
	struct shmx_seg_open_req *s = &m->u.seg_open;

	s->flags = get_u32(r);
	s->mode = get_u32(r);
	s->size = get_u64(r);
	get_str(r, s->name, SHMX_NAME_MAX, 1);
	if ((s->flags &
	     ~(SHMX_WIRE_CREAT | SHMX_WIRE_EXCL | SHMX_WIRE_RDONLY)) ||
	    s->mode > 0777)
		r->bad = 1;
}

static void enc_seg(struct wcur *w, const struct shmx_msg *m)
{
	put_u64(w, m->u.seg.id);
	put_u32(w, m->u.seg.created);
	enc_grant_body(w, &m->u.seg.key);
}

static void dec_seg(struct rcur *r, struct shmx_msg *m)
{
	m->u.seg.id = get_u64(r);
	m->u.seg.created = get_u32(r);
	dec_grant_body(r, &m->u.seg.key);
	if (!m->u.seg.id || m->u.seg.created > 1)
		r->bad = 1;
}

static void enc_seg_stat_body(struct wcur *w, const struct shmx_seg_stat_rep *s)
{
	put_u64(w, s->size);
	put_u32(w, s->uid);
	put_u32(w, s->gid);
	put_u32(w, s->mode);
	put_u32(w, s->cuid);
	put_u32(w, s->cgid);
	put_u32(w, s->creator_node);
	put_u32(w, s->last_attach_node);
	put_u32(w, s->last_detach_node);
	put_u32(w, s->nattch);
	put_u32(w, s->removed);
	put_u64(w, (uint64_t)s->atime);
	put_u64(w, (uint64_t)s->dtime);
	put_u64(w, (uint64_t)s->ctime);
	put_str(w, s->name, SHMX_NAME_MAX, 1);
}

static void enc_seg_stat(struct wcur *w, const struct shmx_msg *m)
{
	enc_seg_stat_body(w, &m->u.seg_stat);
}

static void dec_seg_stat_body(struct rcur *r, struct shmx_seg_stat_rep *s)
{
	s->size = get_u64(r);
	s->uid = get_u32(r);
	s->gid = get_u32(r);
	s->mode = get_u32(r);
	s->cuid = get_u32(r);
	s->cgid = get_u32(r);
	s->creator_node = get_u32(r);
	s->last_attach_node = get_u32(r);
	s->last_detach_node = get_u32(r);
	s->nattch = get_u32(r);
	s->removed = get_u32(r);
	s->atime = (int64_t)get_u64(r);
	s->dtime = (int64_t)get_u64(r);
	s->ctime = (int64_t)get_u64(r);
	get_str(r, s->name, SHMX_NAME_MAX, 1);
	if (s->mode > 0777 || s->removed > 1)
		r->bad = 1;
}

static void dec_seg_stat(struct rcur *r, struct shmx_msg *m)
{
	dec_seg_stat_body(r, &m->u.seg_stat);
}

static void enc_seg_close(struct wcur *w, const struct shmx_msg *m)
{
	put_u64(w, m->u.seg_close.id);
	put_u32(w, m->u.seg_close.rdonly);
}

static void dec_seg_close(struct rcur *r, struct shmx_msg *m)
{
	m->u.seg_close.id = get_u64(r);
	m->u.seg_close.rdonly = get_u32(r);
	if (!m->u.seg_close.id || m->u.seg_close.rdonly > 1)
		r->bad = 1;
}

static void enc_seg_set(struct wcur *w, const struct shmx_msg *m)
{
	put_u64(w, m->u.seg_set.id);
	put_u32(w, m->u.seg_set.uid);
	put_u32(w, m->u.seg_set.gid);
	put_u32(w, m->u.seg_set.mode);
}

static void dec_seg_set(struct rcur *r, struct shmx_msg *m)
{
	m->u.seg_set.id = get_u64(r);
	m->u.seg_set.uid = get_u32(r);
	m->u.seg_set.gid = get_u32(r);
	m->u.seg_set.mode = get_u32(r);
	if (!m->u.seg_set.id || m->u.seg_set.mode > 0777)
		r->bad = 1;
}

static void enc_next(struct wcur *w, const struct shmx_msg *m)
{
	put_u64(w, m->u.next.from);
}

static void dec_next(struct rcur *r, struct shmx_msg *m)
{
	m->u.next.from = get_u64(r);
}

static void enc_pool_info(struct wcur *w, const struct shmx_msg *m)
{
	const struct shmx_pool_info_rep *p = &m->u.pool_info;

	put_u64(w, p->id);
	put_u64(w, p->base);
	put_u64(w, p->size);
	put_u32(w, p->creator);
	put_u32(w, p->open_count);
	enc_pool_stat_body(w, &p->st);
	put_str(w, p->name, SHMX_NAME_MAX, 1);
}

static void dec_pool_info(struct rcur *r, struct shmx_msg *m)
{
	struct shmx_pool_info_rep *p = &m->u.pool_info;

	p->id = get_u64(r);
	p->base = get_u64(r);
	p->size = get_u64(r);
	p->creator = get_u32(r);
	p->open_count = get_u32(r);
	dec_pool_stat_body(r, &p->st);
	get_str(r, p->name, SHMX_NAME_MAX, 1);
	if (!p->id || p->st.total != p->size)
		r->bad = 1;
}

static void enc_block_info(struct wcur *w, const struct shmx_msg *m)
{
	const struct shmx_block_info_rep *b = &m->u.block_info;

	put_u64(w, b->start);
	put_u64(w, b->len);
	put_u64(w, b->pool);
	put_u32(w, b->creator);
	put_u32(w, b->holder);
	put_u64(w, b->epoch);
	if (b->nr_owners > SHMX_OWNERS_MAX)
		w->err = -EINVAL;
	put_u32(w, b->nr_owners);
	for (uint32_t i = 0; i < b->nr_owners && i < SHMX_OWNERS_MAX; i++)
		put_u32(w, b->owners[i]);
}

static void dec_block_info(struct rcur *r, struct shmx_msg *m)
{
	struct shmx_block_info_rep *b = &m->u.block_info;

	b->start = get_u64(r);
	b->len = get_u64(r);
	b->pool = get_u64(r);
	b->creator = get_u32(r);
	b->holder = get_u32(r);
	b->epoch = get_u64(r);
	b->nr_owners = get_u32(r);
	if (!b->len || !b->pool || !b->epoch ||
	    b->nr_owners > SHMX_OWNERS_MAX) {
		r->bad = 1;
		return;
	}
	for (uint32_t i = 0; i < b->nr_owners; i++)
		b->owners[i] = get_u32(r);
}

static void enc_seg_info(struct wcur *w, const struct shmx_msg *m)
{
	const struct shmx_seg_info_rep *g = &m->u.seg_info;

	put_u64(w, g->id);
	put_u64(w, g->gaddr);
	enc_seg_stat_body(w, &g->st);
}

static void dec_seg_info(struct rcur *r, struct shmx_msg *m)
{
	struct shmx_seg_info_rep *g = &m->u.seg_info;

	g->id = get_u64(r);
	g->gaddr = get_u64(r);
	dec_seg_stat_body(r, &g->st);
	if (!g->id)
		r->bad = 1;
}

static void enc_revoke(struct wcur *w, const struct shmx_msg *m)
{
	put_u64(w, m->u.revoke.start);
	put_u64(w, m->u.revoke.len);
	put_u64(w, m->u.revoke.epoch);
}

static void dec_revoke(struct rcur *r, struct shmx_msg *m)
{
	struct shmx_revoke *v = &m->u.revoke;

	v->start = get_u64(r);
	v->len = get_u64(r);
	v->epoch = get_u64(r);
	if (!v->len || v->len > UINT64_MAX - v->start)
		r->bad = 1;
}

static void enc_map(struct wcur *w, const struct shmx_msg *m)
{
	const struct shmx_map_ev *v = &m->u.map;

	put_u64(w, v->generation);
	put_u64(w, v->total);
	put_u32(w, v->nr);
	for (uint32_t i = 0; i < v->nr && i < SHMX_MAP_EXTENTS_MAX; i++) {
		put_u64(w, v->ext[i].base);
		put_u64(w, v->ext[i].len);
	}
}

/* Extents by increasing base, none empty, none overlapping or wrapping,
 * their lengths summing to total. */
static void dec_map(struct rcur *r, struct shmx_msg *m)
{
	struct shmx_map_ev *v = &m->u.map;
	uint64_t end = 0, sum = 0;

	v->generation = get_u64(r);
	v->total = get_u64(r);
	v->nr = get_u32(r);
	if (!v->nr || v->nr > SHMX_MAP_EXTENTS_MAX) {
		r->bad = 1;
		return;
	}
	for (uint32_t i = 0; i < v->nr; i++) {
		struct shmx_wire_extent *e = &v->ext[i];

		e->base = get_u64(r);
		e->len = get_u64(r);
		if (!e->len || e->len > UINT64_MAX - e->base ||
		    (i && e->base < end) || e->len > UINT64_MAX - sum)
			r->bad = 1;
		end = e->base + e->len;
		sum += e->len;
	}
	if (sum != v->total)
		r->bad = 1;
}

static void enc_resize(struct wcur *w, const struct shmx_msg *m)
{
	put_u64(w, m->u.resize.len);
}

static void dec_resize(struct rcur *r, struct shmx_msg *m)
{
	m->u.resize.len = get_u64(r);
	if (!m->u.resize.len)
		r->bad = 1;
}

static void enc_resize_rep(struct wcur *w, const struct shmx_msg *m)
{
	put_u64(w, m->u.resize_rep.base);
	put_u64(w, m->u.resize_rep.total);
	put_u64(w, m->u.resize_rep.generation);
}

static void dec_resize_rep(struct rcur *r, struct shmx_msg *m)
{
	m->u.resize_rep.base = get_u64(r);
	m->u.resize_rep.total = get_u64(r);
	m->u.resize_rep.generation = get_u64(r);
}

static void enc_resume(struct wcur *w, const struct shmx_msg *m)
{
	put_blob(w, m->u.resume.addr, m->u.resume.addr_len, SHMX_WIRE_ADDR_MAX);
}

static void dec_resume(struct rcur *r, struct shmx_msg *m)
{
	m->u.resume.addr_len =
		get_blob(r, m->u.resume.addr, SHMX_WIRE_ADDR_MAX);
}

static void enc_resumed(struct wcur *w, const struct shmx_msg *m)
{
	const struct shmx_resumed *v = &m->u.resumed;

	put_u64(w, v->boot);
	put_u64(w, v->region_size);
	put_u64(w, v->hdr_key);
	put_u64(w, v->hdr_base);
	put_u64(w, v->hdr_size);
	put_u64(w, v->lock_key);
	put_u64(w, v->lock_base);
}

static void dec_resumed(struct rcur *r, struct shmx_msg *m)
{
	struct shmx_resumed *v = &m->u.resumed;

	v->boot = get_u64(r);
	v->region_size = get_u64(r);
	v->hdr_key = get_u64(r);
	v->hdr_base = get_u64(r);
	v->hdr_size = get_u64(r);
	v->lock_key = get_u64(r);
	v->lock_base = get_u64(r);
	if (!v->hdr_size || v->hdr_size > v->region_size)
		r->bad = 1;
}

/* ---- global locks (docs/locks.md) -------------------------------------- */

/* A lease on the wire: 1..SHMX_LOCK_LEASE_MAX_MS, or 0 where @zero_ok. */
static int lease_ok(uint32_t lease_ms, int zero_ok)
{
	return lease_ms ? lease_ms <= SHMX_LOCK_LEASE_MAX_MS : zero_ok;
}

/* A reservation by id names no lock; the lease is 0 or in range. */
static int lock_reserve_ok(const struct shmx_lock_reserve *l)
{
	return (!l->id || !l->name[0]) && lease_ok(l->lease_ms, 1);
}

static void enc_lock_reserve(struct wcur *w, const struct shmx_msg *m)
{
	const struct shmx_lock_reserve *l = &m->u.lock_reserve;

	if (!lock_reserve_ok(l) && !w->err)
		w->err = -EINVAL;
	put_u64(w, l->id);
	put_u32(w, l->lease_ms);
	put_str(w, l->name, SHMX_NAME_MAX, 0);
}

static void dec_lock_reserve(struct rcur *r, struct shmx_msg *m)
{
	struct shmx_lock_reserve *l = &m->u.lock_reserve;

	l->id = get_u64(r);
	l->lease_ms = get_u32(r);
	get_str(r, l->name, SHMX_NAME_MAX, 0);
	if (!lock_reserve_ok(l))
		r->bad = 1;
}

static void enc_lock(struct wcur *w, const struct shmx_msg *m)
{
	const struct shmx_lock_rep *l = &m->u.lock;

	put_u64(w, l->id);
	put_u64(w, l->raddr);
	put_u64(w, l->key);
	put_u32(w, l->lease_ms);
	put_u32(w, l->created);
}

static void dec_lock(struct rcur *r, struct shmx_msg *m)
{
	struct shmx_lock_rep *l = &m->u.lock;

	l->id = get_u64(r);
	l->raddr = get_u64(r);
	l->key = get_u64(r);
	l->lease_ms = get_u32(r);
	l->created = get_u32(r);
	if (!l->id || !lease_ok(l->lease_ms, 0) || l->created > 1)
		r->bad = 1;
}

static void enc_lock_info(struct wcur *w, const struct shmx_msg *m)
{
	const struct shmx_lock_info_rep *l = &m->u.lock_info;

	put_u64(w, l->id);
	put_u32(w, l->lease_ms);
	put_u32(w, l->reservations);
	put_u32(w, l->creator);
	put_str(w, l->name, SHMX_NAME_MAX, 0);
	put_bytes(w, l->slot, sizeof(l->slot));
}

static void dec_lock_info(struct rcur *r, struct shmx_msg *m)
{
	struct shmx_lock_info_rep *l = &m->u.lock_info;

	l->id = get_u64(r);
	l->lease_ms = get_u32(r);
	l->reservations = get_u32(r);
	l->creator = get_u32(r);
	get_str(r, l->name, SHMX_NAME_MAX, 0);
	get_bytes(r, l->slot, sizeof(l->slot));
	if (!l->id || !lease_ok(l->lease_ms, 0) || !l->reservations)
		r->bad = 1;
}

/* Opcodes that are events (carry SHMX_HDR_EVENT, and only they). */
static int is_event(unsigned opcode)
{
	return opcode == SHMX_OP_REVOKE || opcode == SHMX_OP_MAP ||
	       opcode == SHMX_OP_MEMBER;
}

/* Payload codecs by opcode; [0] request or event, [1] reply; NULL = empty
 * payload. */
struct codec {
	const char *name;
	void (*enc[2])(struct wcur *w, const struct shmx_msg *m);
	void (*dec[2])(struct rcur *r, struct shmx_msg *m);
};

/* ---- messages between members (docs/messages.md) ---------------------- */

/* An address parses as HOST:PORT with a tag and a window, or is empty with
 * neither. */
static int mailbox_ok(const struct shmx_mailbox *mb)
{
	char host[SHMX_MAILBOX_ADDR_MAX];
	uint16_t port;

	if (!mb->addr[0])
		return !mb->tag && !mb->window;
	return mb->tag && mb->window && mb->window <= SHMX_MAILBOX_WINDOW_MAX &&
	       !shmx__parse_host_port(mb->addr, 0, host, sizeof(host), &port);
}

static void enc_mailbox(struct wcur *w, const struct shmx_msg *m)
{
	const struct shmx_mailbox *mb = &m->u.mailbox;

	if (!mailbox_ok(mb) && !w->err)
		w->err = -EINVAL;
	put_str(w, mb->addr, SHMX_MAILBOX_ADDR_MAX, 0);
	put_u64(w, mb->tag);
	put_u32(w, mb->window);
}

static void dec_mailbox(struct rcur *r, struct shmx_msg *m)
{
	struct shmx_mailbox *mb = &m->u.mailbox;

	get_str(r, mb->addr, SHMX_MAILBOX_ADDR_MAX, 0);
	mb->tag = get_u64(r);
	mb->window = get_u32(r);
	if (!r->bad && !mailbox_ok(mb))
		r->bad = 1;
}

static void enc_member_ev(struct wcur *w, const struct shmx_msg *m)
{
	put_u32(w, m->u.member.id);
	put_u32(w, m->u.member.what);
}

static void dec_member_ev(struct rcur *r, struct shmx_msg *m)
{
	m->u.member.id = get_u32(r);
	m->u.member.what = get_u32(r);
	if (!m->u.member.id || (m->u.member.what != SHMX_MEMBER_JOINED &&
				m->u.member.what != SHMX_MEMBER_LEFT))
		r->bad = 1;
}

/* ---- the node's counters and figures (STATS) --------------------------- */

/* The fixed u64 and u32 fields of a STATS reply, in wire order. */
#define STATS_U64(s)                                                           \
	&(s)->uptime_ms, &(s)->msgs_received, &(s)->bytes_received,            \
		&(s)->msgs_sent, &(s)->bytes_sent, &(s)->allocs,               \
		&(s)->alloc_bytes, &(s)->releases, &(s)->release_bytes,        \
		&(s)->segs_created, &(s)->seg_bytes_created,                   \
		&(s)->members_joined, &(s)->members_left,                      \
		&(s)->members_expired

static int stats_ok(const struct shmx_stats_rep *s)
{
	if (s->nr_ops > SHMX_STATS_OPS_MAX ||
	    s->nr_status > SHMX_STATS_STATUS_MAX ||
	    s->region_free > s->region_total ||
	    s->region_largest_free > s->region_free ||
	    (s->nr_status && s->status_errors[0]) ||
	    (s->nr_ops && (s->op[0].requests || s->op[0].errors)))
		return 0;
	for (uint32_t i = 0; i < s->nr_ops; i++)
		if (s->op[i].errors > s->op[i].requests)
			return 0;
	return 1;
}

static void enc_stats(struct wcur *w, const struct shmx_msg *m)
{
	const struct shmx_stats_rep *s = &m->u.stats;
	const uint64_t *u64[] = { STATS_U64(s) };

	if (!stats_ok(s)) {
		if (!w->err)
			w->err = -EINVAL;
		return;
	}
	for (size_t i = 0; i < sizeof(u64) / sizeof(u64[0]); i++)
		put_u64(w, *u64[i]);
	put_u32(w, s->members);
	put_u32(w, s->max_members);
	put_u64(w, s->pools);
	put_u64(w, s->blocks);
	put_u64(w, s->segments);
	put_u32(w, s->locks);
	put_u32(w, s->lock_slots);
	put_u32(w, s->locks_held);
	put_u32(w, s->lock_holds);
	put_u32(w, s->lock_waiters);
	put_u64(w, s->memory);
	put_u64(w, s->region_total);
	put_u64(w, s->region_free);
	put_u64(w, s->region_largest_free);
	put_u64(w, s->region_free_blocks);
	put_u32(w, s->nr_ops);
	for (uint32_t i = 0; i < s->nr_ops; i++) {
		put_u64(w, s->op[i].requests);
		put_u64(w, s->op[i].errors);
	}
	put_u32(w, s->nr_status);
	for (uint32_t i = 0; i < s->nr_status; i++)
		put_u64(w, s->status_errors[i]);
}

static void dec_stats(struct rcur *r, struct shmx_msg *m)
{
	struct shmx_stats_rep *s = &m->u.stats;
	uint64_t *u64[] = { STATS_U64(s) };

	for (size_t i = 0; i < sizeof(u64) / sizeof(u64[0]); i++)
		*u64[i] = get_u64(r);
	s->members = get_u32(r);
	s->max_members = get_u32(r);
	s->pools = get_u64(r);
	s->blocks = get_u64(r);
	s->segments = get_u64(r);
	s->locks = get_u32(r);
	s->lock_slots = get_u32(r);
	s->locks_held = get_u32(r);
	s->lock_holds = get_u32(r);
	s->lock_waiters = get_u32(r);
	s->memory = get_u64(r);
	s->region_total = get_u64(r);
	s->region_free = get_u64(r);
	s->region_largest_free = get_u64(r);
	s->region_free_blocks = get_u64(r);
	s->nr_ops = get_u32(r);
	if (s->nr_ops > SHMX_STATS_OPS_MAX) {
		r->bad = 1;
		return;
	}
	for (uint32_t i = 0; i < s->nr_ops; i++) {
		s->op[i].requests = get_u64(r);
		s->op[i].errors = get_u64(r);
	}
	s->nr_status = get_u32(r);
	if (s->nr_status > SHMX_STATS_STATUS_MAX) {
		r->bad = 1;
		return;
	}
	for (uint32_t i = 0; i < s->nr_status; i++)
		s->status_errors[i] = get_u64(r);
	if (!r->bad && !stats_ok(s))
		r->bad = 1;
}

static const struct codec codecs[SHMX_OP_MAX] = {
	[SHMX_OP_HELLO] = { "hello",
			    { enc_hello, enc_challenge },
			    { dec_hello, dec_challenge } },
	[SHMX_OP_AUTH] = { "auth",
			   { enc_auth, enc_welcome },
			   { dec_auth, dec_welcome } },
	[SHMX_OP_BYE] = { "bye", { NULL, NULL }, { NULL, NULL } },
	[SHMX_OP_PING] = { "ping", { NULL, NULL }, { NULL, NULL } },
	[SHMX_OP_INFO] = { "info", { NULL, enc_info }, { NULL, dec_info } },
	[SHMX_OP_MEMBERS] = { "members",
			      { enc_members_req, enc_members },
			      { dec_members_req, dec_members } },
	[SHMX_OP_LOOKUP] = { "lookup",
			     { enc_lookup_req, enc_lookup },
			     { dec_lookup_req, dec_lookup } },
	[SHMX_OP_ROOT_GET] = { "root_get",
			       { NULL, enc_root },
			       { NULL, dec_root } },
	[SHMX_OP_ROOT_SET] = { "root_set",
			       { enc_root, NULL },
			       { dec_root, NULL } },
	[SHMX_OP_POOL_OPEN] = { "pool_open",
				{ enc_pool_open, enc_pool },
				{ dec_pool_open, dec_pool } },
	[SHMX_OP_POOL_CLOSE] = { "pool_close",
				 { enc_obj, NULL },
				 { dec_obj, NULL } },
	[SHMX_OP_POOL_DESTROY] = { "pool_destroy",
				   { enc_obj, NULL },
				   { dec_obj, NULL } },
	[SHMX_OP_POOL_STAT] = { "pool_stat",
				{ enc_obj, enc_pool_stat },
				{ dec_obj, dec_pool_stat } },
	[SHMX_OP_ALLOC] = { "alloc",
			    { enc_alloc, enc_grant },
			    { dec_alloc, dec_grant } },
	[SHMX_OP_RELEASE] = { "release",
			      { enc_addr, NULL },
			      { dec_addr, NULL } },
	[SHMX_OP_GRANT] = { "grant",
			    { enc_grant_req, enc_grant },
			    { dec_grant_req, dec_grant } },
	[SHMX_OP_OWN] = { "own",
			  { enc_own, enc_grant },
			  { dec_own, dec_grant } },
	[SHMX_OP_OWN_TRANSFER] = { "own_transfer",
				   { enc_own, enc_grant },
				   { dec_own, dec_grant } },
	[SHMX_OP_DISOWN] = { "disown",
			     { enc_addr, enc_grant },
			     { dec_addr, dec_grant } },
	[SHMX_OP_SEG_OPEN] = { "seg_open",
			       { enc_seg_open, enc_seg },
			       { dec_seg_open, dec_seg } },
	[SHMX_OP_SEG_CLOSE] = { "seg_close",
				{ enc_seg_close, NULL },
				{ dec_seg_close, NULL } },
	[SHMX_OP_SEG_STAT] = { "seg_stat",
			       { enc_obj, enc_seg_stat },
			       { dec_obj, dec_seg_stat } },
	[SHMX_OP_SEG_SET] = { "seg_set",
			      { enc_seg_set, NULL },
			      { dec_seg_set, NULL } },
	[SHMX_OP_SEG_REMOVE] = { "seg_remove",
				 { enc_obj, NULL },
				 { dec_obj, NULL } },
	[SHMX_OP_SEG_FREEZE] = { "seg_freeze",
				 { enc_obj, enc_grant },
				 { dec_obj, dec_grant } },
	[SHMX_OP_SEG_THAW] = { "seg_thaw",
			       { enc_obj, NULL },
			       { dec_obj, NULL } },
	[SHMX_OP_POOL_NEXT] = { "pool_next",
				{ enc_next, enc_pool_info },
				{ dec_next, dec_pool_info } },
	[SHMX_OP_BLOCK_NEXT] = { "block_next",
				 { enc_next, enc_block_info },
				 { dec_next, dec_block_info } },
	[SHMX_OP_SEG_NEXT] = { "seg_next",
			       { enc_next, enc_seg_info },
			       { dec_next, dec_seg_info } },
	[SHMX_OP_REVOKE] = { "revoke",
			     { enc_revoke, NULL },
			     { dec_revoke, NULL } },
	[SHMX_OP_MAP] = { "map", { enc_map, NULL }, { dec_map, NULL } },
	[SHMX_OP_GROW] = { "grow",
			   { enc_resize, enc_resize_rep },
			   { dec_resize, dec_resize_rep } },
	[SHMX_OP_SHRINK] = { "shrink",
			     { enc_resize, enc_resize_rep },
			     { dec_resize, dec_resize_rep } },
	[SHMX_OP_RESUME] = { "resume",
			     { enc_resume, enc_resumed },
			     { dec_resume, dec_resumed } },
	[SHMX_OP_LOCK_RESERVE] = { "lock_reserve",
				   { enc_lock_reserve, enc_lock },
				   { dec_lock_reserve, dec_lock } },
	[SHMX_OP_LOCK_UNRESERVE] = { "lock_unreserve",
				     { enc_obj, NULL },
				     { dec_obj, NULL } },
	[SHMX_OP_LOCK_NEXT] = { "lock_next",
				{ enc_next, enc_lock_info },
				{ dec_next, dec_lock_info } },
	[SHMX_OP_MAILBOX] = { "mailbox",
			      { enc_mailbox, NULL },
			      { dec_mailbox, NULL } },
	[SHMX_OP_MEMBER] = { "member",
			     { enc_member_ev, NULL },
			     { dec_member_ev, NULL } },
	[SHMX_OP_STATS] = { "stats", { NULL, enc_stats }, { NULL, dec_stats } },
};

_Static_assert(SHMX_HDR_LEN == 40, "header layout is part of the protocol");
_Static_assert(SHMX_WIRE_MAX >=
		       SHMX_HDR_LEN + 12 +
			       SHMX_MEMBERS_PER_MSG * (24 + 2 + SHMX_NAME_MAX -
						       1 + SHMX_HOST_MAX - 1),
	       "a full MEMBERS page fits in one message");
_Static_assert(SHMX_WIRE_MAX >= SHMX_HDR_LEN + 20 + SHMX_MAP_EXTENTS_MAX * 16,
	       "a full MAP event fits in one message");
_Static_assert(SHMX_OP_MAX <= SHMX_STATS_OPS_MAX &&
		       SHMX_ST_MAX <= SHMX_STATS_STATUS_MAX,
	       "a STATS reply carries every opcode and status");
_Static_assert(SHMX_WIRE_MAX >= SHMX_HDR_LEN + 22 * 8 + 9 * 4 +
					SHMX_STATS_OPS_MAX * 16 +
					SHMX_STATS_STATUS_MAX * 8,
	       "a full STATS reply fits in one message");

const char *shmx__op_name(unsigned opcode)
{
	if (opcode == 0 || opcode >= SHMX_OP_MAX)
		return "?";
	return codecs[opcode].name;
}

void shmx__msg_init(struct shmx_msg *msg, uint16_t opcode, uint64_t req_id,
		    uint32_t session, uint64_t token)
{
	memset(msg, 0, sizeof(*msg));
	msg->hdr.magic = SHMX_WIRE_MAGIC;
	msg->hdr.version = SHMX_PROTO_VERSION;
	msg->hdr.opcode = opcode;
	msg->hdr.req_id = req_id;
	msg->hdr.session = session;
	msg->hdr.token = token;
}

void shmx__msg_reply(struct shmx_msg *rep, const struct shmx_msg *req,
		     enum shmx_status status)
{
	shmx__msg_init(rep, req->hdr.opcode, req->hdr.req_id, 0, 0);
	rep->hdr.flags = SHMX_HDR_REPLY;
	rep->hdr.status = status;
}

int shmx__proto_encode(const struct shmx_msg *msg, void *buf, size_t cap)
{
	struct wcur w = { .p = buf, .cap = cap };
	const struct shmx_hdr *h = &msg->hdr;
	int reply = !!(h->flags & SHMX_HDR_REPLY);

	if (h->opcode == 0 || h->opcode >= SHMX_OP_MAX ||
	    (h->flags & ~(SHMX_HDR_REPLY | SHMX_HDR_EVENT)) || h->status < 0 ||
	    h->status >= SHMX_ST_MAX || (!reply && h->status) ||
	    !!(h->flags & SHMX_HDR_EVENT) != is_event(h->opcode) ||
	    (reply && is_event(h->opcode)))
		return -EINVAL;
	put_u32(&w, SHMX_WIRE_MAGIC);
	put_u16(&w, SHMX_PROTO_VERSION);
	put_u16(&w, h->opcode);
	put_u32(&w, 0); /* length, patched below */
	put_u32(&w, (uint32_t)h->status);
	put_u64(&w, h->req_id);
	put_u32(&w, h->session);
	put_u32(&w, h->flags);
	put_u64(&w, h->token);
	if (h->status == SHMX_ST_OK && codecs[h->opcode].enc[reply])
		codecs[h->opcode].enc[reply](&w, msg);
	if (w.err)
		return w.err;
	if (w.off > SHMX_WIRE_MAX)
		return -EMSGSIZE;
	for (int i = 0; i < 4; i++)
		w.p[8 + i] = (uint8_t)(w.off >> (8 * i));
	return (int)w.off;
}

enum shmx_status shmx__proto_decode(const void *buf, size_t len,
				    struct shmx_msg *msg)
{
	struct rcur r = { .p = buf, .len = len };
	struct shmx_hdr *h = &msg->hdr;
	int reply;

	memset(msg, 0, sizeof(*msg));
	if (!buf || len < SHMX_HDR_LEN || len > SHMX_WIRE_MAX)
		return SHMX_ST_BAD_MSG;
	h->magic = get_u32(&r);
	h->version = get_u16(&r);
	h->opcode = get_u16(&r);
	h->length = get_u32(&r);
	h->status = (int32_t)get_u32(&r);
	h->req_id = get_u64(&r);
	h->session = get_u32(&r);
	h->flags = get_u32(&r);
	h->token = get_u64(&r);
	if (h->magic != SHMX_WIRE_MAGIC || h->length != len)
		return SHMX_ST_BAD_MSG;
	if (h->version != SHMX_PROTO_VERSION)
		return SHMX_ST_VERSION;
	if (h->opcode == 0 || h->opcode >= SHMX_OP_MAX)
		return SHMX_ST_UNKNOWN_OP;
	if ((h->flags & ~(SHMX_HDR_REPLY | SHMX_HDR_EVENT)) ||
	    !!(h->flags & SHMX_HDR_EVENT) != is_event(h->opcode) ||
	    ((h->flags & SHMX_HDR_REPLY) && is_event(h->opcode)))
		return SHMX_ST_BAD_MSG;
	reply = !!(h->flags & SHMX_HDR_REPLY);
	if (h->status < 0 || h->status >= SHMX_ST_MAX || (!reply && h->status))
		return SHMX_ST_BAD_MSG;
	if (h->status == SHMX_ST_OK && codecs[h->opcode].dec[reply])
		codecs[h->opcode].dec[reply](&r, msg);
	if (r.bad || r.off != len)
		return SHMX_ST_BAD_MSG;
	return SHMX_ST_OK;
}
