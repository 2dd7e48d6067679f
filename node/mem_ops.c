/* SPDX-License-Identifier: MIT */
/*
 * mem_ops.c - shmnode's answers about memory: pools, allocation, grants of
 * remote keys, and ownership (docs/memory.md).  The tables (pools.c,
 * segments.c) keep the books; this file checks who asks, turns their
 * results into replies and their errors into statuses, and ends a leaving
 * member's holdings.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server.h"
#include "util/log.h"

/* Status of a table's -errno (0 -> OK). */
static enum shmx_status st_of(int ret)
{
	return shmx__errno_to_status(ret);
}

enum shmx_status put_grant(struct server *srv, struct shmx_grant *w,
			   uint64_t start, uint64_t len, uint64_t key,
			   unsigned access, uint64_t epoch, int owned)
{
	uint64_t rbase;

	if (regkeys_rbase(&srv->keys, key, start, &rbase)) {
		log_error("no registration behind key %#llx of [%#llx, +%llu)",
			  (unsigned long long)key, (unsigned long long)start,
			  (unsigned long long)len);
		return SHMX_ST_INTERNAL;
	}
	/* Whoever asked is told when the key is dropped. */
	if (srv->asker && regkeys_hold(&srv->keys, key, srv->asker))
		log_warn("out of memory: member %u will not hear that key "
			 "%#llx is dropped",
			 srv->asker, (unsigned long long)key);
	w->start = start;
	w->len = len;
	w->key = key;
	w->rbase = rbase;
	w->epoch = epoch;
	w->access = access | (owned ? SHMX_ACC_OWNED : 0);
	return SHMX_ST_OK;
}

static enum shmx_status put_node_grant(struct server *srv, struct shmx_grant *w,
				       const struct node_grant *g)
{
	return put_grant(srv, w, g->start, g->len, g->key, g->access, g->epoch,
			 g->owned);
}

void mem_keys_dropped(void *arg, uint64_t start, uint64_t len,
		      const uint32_t *holders, uint32_t n)
{
	struct server *srv = arg;
	struct shmx_msg ev;

	if (srv->stopping)
		return;
	shmx__msg_init(&ev, SHMX_OP_REVOKE, 0, 0, 0);
	ev.hdr.flags = SHMX_HDR_EVENT;
	ev.u.revoke.start = start;
	ev.u.revoke.len = len;
	for (uint32_t i = 0; i < n; i++) {
		struct member *x = registry_get(&srv->reg, holders[i]);

		/* Not the member ending, nor the one whose request drops the
		 * key: its reply says what it holds now (a new key, or none:
		 * release, destroy and detach forget theirs). */
		if (x && x->state == MEMBER_LIVE && holders[i] != srv->ending &&
		    holders[i] != srv->asker)
			server_send_member(srv, x, &ev, 0);
	}
}

void mem_zero(struct server *srv, uint64_t gaddr, uint64_t len)
{
	uint8_t *p = extents_ptr(&srv->mem, gaddr, len);

	if (p) /* objects lie inside one extent */
		memset(p, 0, len);
}

enum shmx_status mem_pool_open(struct server *srv, struct member *m,
			       const struct shmx_msg *req, struct shmx_msg *rep)
{
	const struct shmx_pool_open *o = &req->u.pool_open;
	struct node_grant ro;
	uint64_t id;
	int created, ret;

	ret = node_pool_open(&srv->pools, m->info.id, o->name, o->size,
			     o->flags, &id, &created, &ro);
	if (ret)
		return st_of(ret);
	if (created) {
		mem_zero(srv, ro.start, ro.len);
		log_info("member %u '%s' created pool %llu '%s' of %llu bytes",
			 m->info.id, m->info.name, (unsigned long long)id,
			 o->name, (unsigned long long)ro.len);
	}
	rep->u.pool.id = id;
	rep->u.pool.created = (uint32_t)created;
	return put_node_grant(srv, &rep->u.pool.ro, &ro);
}

enum shmx_status mem_pool_close(struct server *srv, struct member *m,
				const struct shmx_msg *req,
				struct shmx_msg *rep)
{
	return st_of(node_pool_close(&srv->pools, req->u.obj.id, m->info.id));
}

enum shmx_status mem_pool_destroy(struct server *srv, struct member *m,
				  const struct shmx_msg *req,
				  struct shmx_msg *rep)
{
	int ret = node_pool_destroy(&srv->pools, req->u.obj.id, m->info.id);

	if (!ret)
		log_info("member %u '%s' destroyed pool %llu", m->info.id,
			 m->info.name, (unsigned long long)req->u.obj.id);
	return st_of(ret);
}

/* A pool's numbers as the wire's POOL_STAT (also inside POOL_NEXT). */
static void put_pool_stat(struct shmx_pool_stat_rep *s,
			  const struct node_pool_info *info)
{
	s->total = info->st.total;
	s->free = info->st.free;
	s->largest_free = info->st.largest_free;
	s->nr_alloc = info->st.nr_alloc;
	s->nr_free_blocks = info->st.nr_free_blocks;
	s->open_count = info->open_count;
}

enum shmx_status mem_pool_stat(struct server *srv, struct member *m,
			       const struct shmx_msg *req, struct shmx_msg *rep)
{
	struct node_pool_info info;
	int ret;

	ret = node_pool_stat(&srv->pools, req->u.obj.id, &info);
	if (ret)
		return st_of(ret);
	put_pool_stat(&rep->u.pool_stat, &info);
	return SHMX_ST_OK;
}

enum shmx_status mem_pool_next(struct server *srv, struct member *m,
			       const struct shmx_msg *req, struct shmx_msg *rep)
{
	struct shmx_pool_info_rep *p = &rep->u.pool_info;
	struct node_pool_info info;
	int ret;

	ret = node_pool_next(&srv->pools, req->u.next.from, &info);
	if (ret)
		return st_of(ret);
	p->id = info.id;
	p->base = info.base;
	p->size = info.size;
	p->creator = info.creator;
	p->open_count = info.open_count;
	put_pool_stat(&p->st, &info);
	memcpy(p->name, info.name, sizeof(p->name));
	return SHMX_ST_OK;
}

enum shmx_status mem_block_next(struct server *srv, struct member *m,
				const struct shmx_msg *req,
				struct shmx_msg *rep)
{
	struct shmx_block_info_rep *b = &rep->u.block_info;
	struct node_block_info info;
	int ret;

	ret = node_block_next(&srv->pools, req->u.next.from, &info);
	if (ret)
		return st_of(ret);
	b->start = info.start;
	b->len = info.len;
	b->pool = info.pool;
	b->creator = info.creator;
	b->holder = info.holder;
	b->epoch = info.epoch;
	b->nr_owners = info.nr_owners;
	memcpy(b->owners, info.owners, sizeof(b->owners));
	return SHMX_ST_OK;
}

enum shmx_status mem_alloc(struct server *srv, struct member *m,
			   const struct shmx_msg *req, struct shmx_msg *rep)
{
	const struct shmx_alloc_req *a = &req->u.alloc;
	struct node_grant g;
	int ret;

	ret = node_pool_alloc(&srv->pools, a->pool, m->info.id, a->size,
			      a->align, &g);
	if (ret)
		return st_of(ret);
	return put_node_grant(srv, &rep->u.grant, &g);
}

enum shmx_status mem_release(struct server *srv, struct member *m,
			     const struct shmx_msg *req, struct shmx_msg *rep)
{
	uint64_t len;
	int ret = node_block_release(&srv->pools, m->info.id, req->u.addr.gaddr,
				     &len);

	if (!ret)
		stats_released(&srv->stats, len);
	/* A middle address has its own status: the client says -EINVAL. */
	if (ret == -EINVAL)
		return SHMX_ST_MIDDLE;
	return st_of(ret);
}

enum shmx_status mem_grant(struct server *srv, struct member *m,
			   const struct shmx_msg *req, struct shmx_msg *rep)
{
	const struct shmx_grant_req *q = &req->u.grant_req;
	int want_write = !!(q->access & (SHMX_ACC_WRITE | SHMX_ACC_ATOMIC));
	struct node_grant g;
	int ret;

	if (!q->access || (q->access & ~SHMX_ACC_ALL))
		return SHMX_ST_INVAL;
	/* The header area: its read-only key, to every member. */
	if (q->gaddr < srv->hdr_size)
		return want_write
			       ? SHMX_ST_DENIED
			       : put_grant(srv, &rep->u.grant, 0, srv->hdr_size,
					   srv->hdr_key, SHMX_ACC_READ, 0, 0);
	ret = node_block_grant(&srv->pools, m->info.id, q->gaddr, want_write,
			       &g);
	if (ret == -EFAULT) {
		struct node_seg_grant sg;

		ret = node_seg_grant(&srv->segs, m->info.id, q->gaddr,
				     want_write, &sg);
		if (!ret)
			return put_grant(srv, &rep->u.grant, sg.start, sg.len,
					 sg.key, sg.access, 1, 0);
	}
	if (ret)
		return st_of(ret);
	return put_node_grant(srv, &rep->u.grant, &g);
}

/* Every id of an owner list must be a live member: -ESRCH otherwise. */
static int owners_live(struct server *srv, const struct shmx_own_req *o)
{
	for (uint32_t i = 0; i < o->count; i++) {
		struct member *x = registry_get(&srv->reg, o->nodes[i]);

		if (!x || x->state != MEMBER_LIVE)
			return -ESRCH;
	}
	return 0;
}

/* OWN and OWN_TRANSFER. */
enum shmx_status mem_own(struct server *srv, struct member *m,
			 const struct shmx_msg *req, struct shmx_msg *rep)
{
	const struct shmx_own_req *o = &req->u.own;
	struct node_grant g;
	int ret;

	ret = owners_live(srv, o);
	if (ret)
		return st_of(ret);
	if (req->hdr.opcode == SHMX_OP_OWN)
		ret = node_block_own(&srv->pools, m->info.id, o->gaddr,
				     o->nodes, o->count, &g);
	else
		ret = node_block_own_transfer(&srv->pools, m->info.id, o->gaddr,
					      o->nodes, o->count, &g);
	if (ret)
		return st_of(ret);
	return put_node_grant(srv, &rep->u.grant, &g);
}

enum shmx_status mem_disown(struct server *srv, struct member *m,
			    const struct shmx_msg *req, struct shmx_msg *rep)
{
	struct node_grant g;
	int ret;

	ret = node_block_disown(&srv->pools, m->info.id, req->u.addr.gaddr, &g);
	if (ret == -EINVAL)
		return SHMX_ST_MIDDLE;
	if (ret)
		return st_of(ret);
	return put_node_grant(srv, &rep->u.grant, &g);
}

void mem_member_gone(struct server *srv, uint32_t id)
{
	/* Blocks it owned are re-keyed, segments it alone held detached:
	 * the holders of the keys that go are told (mem_keys_dropped). */
	node_pools_member_gone(&srv->pools, id);
	node_segs_member_gone(&srv->segs, id, (int64_t)time(NULL));
}
