/* SPDX-License-Identifier: MIT */
/*
 * growth.c - growing and shrinking the exported memory while members use
 * it: a new extent is mapped and handed to the region allocator, a shrink
 * takes only free memory off the top; either way the header's map is
 * rewritten and every live member is sent the new map (MAP event), so each
 * can use the new memory at once without asking.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "server.h"
#include "util/errstr.h"
#include "util/log.h"

_Static_assert(SHMX_MAP_EXTENTS_MAX == SHMX_EXTENTS_MAX,
	       "a MAP event carries the whole header map");

/* The new map in the header and to every live member. */
static void announce(struct server *srv)
{
	const struct node_extents *x = &srv->mem;
	struct shmx_msg ev;

	header_map(srv);
	shmx__msg_init(&ev, SHMX_OP_MAP, 0, 0, 0);
	ev.hdr.flags = SHMX_HDR_EVENT;
	ev.u.map.generation = x->generation;
	ev.u.map.total = x->total;
	ev.u.map.nr = x->nr;
	for (uint32_t i = 0; i < x->nr; i++) {
		ev.u.map.ext[i].base = x->ext[i].base;
		ev.u.map.ext[i].len = x->ext[i].len;
	}
	for (struct member *m = registry_next_live(&srv->reg, 1); m;
	     m = registry_next_live(&srv->reg, m->info.id + 1))
		server_send_member(srv, m, &ev, 0);
}

/* Most bytes of memory growing may reach: the config's, or the RAM's. */
static uint64_t max_memory(const struct server *srv)
{
	long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);

	if (srv->cfg.max_memory)
		return srv->cfg.max_memory;
	return pages > 0 && size > 0 ? (uint64_t)pages * (uint64_t)size
				     : UINT64_MAX;
}

int growth_grow(struct server *srv, uint64_t len, uint64_t *base)
{
	uint64_t b, max = max_memory(srv);
	int ret;

	len = extents_round(&srv->mem, len);
	if (!len)
		return -EINVAL;
	if (len > max || srv->mem.total > max - len)
		return -EFBIG;
	ret = extents_add(&srv->mem, len, &b);
	if (ret)
		return ret;
	ret = shmx__alloc_add(&srv->space, b, len);
	if (ret) {
		(void)extents_trim(&srv->mem, len, srv->hdr_size);
		return ret;
	}
	log_info("memory grew by %llu bytes at %#llx: %llu bytes in %u "
		 "extents",
		 (unsigned long long)len, (unsigned long long)b,
		 (unsigned long long)srv->mem.total, srv->mem.nr);
	announce(srv);
	persist_node(srv);
	(void)persist_commit(srv);
	if (base)
		*base = b;
	return 0;
}

int growth_shrink(struct server *srv, uint64_t len)
{
	struct shmx_extent plan[SHMX_EXTENTS_MAX];
	int n, i, ret = 0;

	len = extents_round(&srv->mem, len);
	if (!len)
		return -EINVAL;
	n = extents_trim_plan(&srv->mem, len, srv->hdr_size, plan);
	if (n < 0)
		return n;
	/* The root pointer is in use like any object. */
	for (i = 0; i < n && srv->root != SHMX_GADDR_NULL; i++)
		if (srv->root - plan[i].base < plan[i].len)
			return -EBUSY;
	/* Every piece leaves the allocator, or none does. */
	for (i = 0; i < n; i++) {
		ret = shmx__alloc_remove(&srv->space, plan[i].base,
					 plan[i].len);
		if (ret)
			break;
	}
	if (ret) {
		while (i-- > 0)
			(void)shmx__alloc_add(&srv->space, plan[i].base,
					      plan[i].len);
		/* -ENOENT: part of it is not managed, i.e. the header. */
		return ret == -ENOENT ? -ENOSPC : ret;
	}
	ret = extents_trim(&srv->mem, len, srv->hdr_size);
	if (ret) /* planned above: cannot fail */
		return ret;
	log_info("memory shrank by %llu bytes: %llu bytes in %u extents",
		 (unsigned long long)len, (unsigned long long)srv->mem.total,
		 srv->mem.nr);
	announce(srv);
	persist_node(srv);
	(void)persist_commit(srv);
	return 0;
}

/* Resizing is the node's administrator's: root, or shmnode's own user. */
static int may_resize(const struct member *m)
{
	return m->info.uid == 0 || m->info.uid == (uint32_t)geteuid();
}

enum shmx_status growth_op_resize(struct server *srv, struct member *m,
				  const struct shmx_msg *req,
				  struct shmx_msg *rep)
{
	struct shmx_resize_rep *r = &rep->u.resize_rep;
	uint64_t base = 0;
	int ret;

	if (!may_resize(m))
		return SHMX_ST_NOT_OWNER;
	if (req->hdr.opcode == SHMX_OP_GROW)
		ret = growth_grow(srv, req->u.resize.len, &base);
	else
		ret = growth_shrink(srv, req->u.resize.len);
	if (ret) {
		log_info("member %u (%s): %s of %llu bytes refused: %s",
			 m->info.id, m->info.name,
			 shmx__op_name(req->hdr.opcode),
			 (unsigned long long)req->u.resize.len,
			 shmx__strerror(ret));
		return shmx__errno_to_status(ret);
	}
	r->base = base;
	r->total = srv->mem.total;
	r->generation = srv->mem.generation;
	return SHMX_ST_OK;
}
