/* SPDX-License-Identifier: MIT */
/* queries.c - shmnode's answers to live members: ping, info, members,
 * lookup, the root pointer, and where a member's mailbox listens. */
#include <stdio.h>
#include <string.h>

#include "server.h"

enum shmx_status query_ping(struct server *srv, struct member *m,
			    const struct shmx_msg *req, struct shmx_msg *rep)
{
	return SHMX_ST_OK;
}

enum shmx_status query_info(struct server *srv, struct member *m,
			    const struct shmx_msg *req, struct shmx_msg *rep)
{
	struct shmx_info_rep *i = &rep->u.info;

	i->region_size = srv->mem.total;
	i->member_count = registry_count(&srv->reg, MEMBER_LIVE);
	i->max_members = srv->reg.max;
	snprintf(i->version, sizeof(i->version), "%d.%d.%d", SHMX_VERSION_MAJOR,
		 SHMX_VERSION_MINOR, SHMX_VERSION_PATCH);
	return SHMX_ST_OK;
}

enum shmx_status query_members(struct server *srv, struct member *m,
			       const struct shmx_msg *req, struct shmx_msg *rep)
{
	struct shmx_members_rep *p = &rep->u.members;
	struct member *it =
		registry_next_live(&srv->reg, req->u.members_req.start_id);

	p->total = registry_count(&srv->reg, MEMBER_LIVE);
	while (it && p->count < SHMX_MEMBERS_PER_MSG) {
		p->m[p->count++] = it->info;
		it = registry_next_live(&srv->reg, it->info.id + 1);
	}
	p->next_id = it ? it->info.id : 0;
	return SHMX_ST_OK;
}

enum shmx_status query_lookup(struct server *srv, struct member *m,
			      const struct shmx_msg *req, struct shmx_msg *rep)
{
	struct member *found =
		registry_find_name(&srv->reg, req->u.lookup_req.name);

	if (!found || found->state != MEMBER_LIVE)
		return SHMX_ST_NOT_FOUND;
	rep->u.lookup.id = found->info.id;
	return SHMX_ST_OK;
}

enum shmx_status query_root_get(struct server *srv, struct member *m,
				const struct shmx_msg *req,
				struct shmx_msg *rep)
{
	rep->u.root.gaddr = srv->root;
	return SHMX_ST_OK;
}

enum shmx_status query_root_set(struct server *srv, struct member *m,
				const struct shmx_msg *req,
				struct shmx_msg *rep)
{
	shmx_gaddr_t g = req->u.root.gaddr;

	if (g != SHMX_GADDR_NULL && !extents_ptr(&srv->mem, g, 1))
		return SHMX_ST_RANGE;
	srv->root = g;
	header_map(srv);
	return SHMX_ST_OK;
}

/* The decoder checked the address and its tag and window (proto.c). */
enum shmx_status query_mailbox(struct server *srv, struct member *m,
			       const struct shmx_msg *req, struct shmx_msg *rep)
{
	const struct shmx_mailbox *mb = &req->u.mailbox;

	memcpy(m->mbox_addr, mb->addr, sizeof(m->mbox_addr));
	m->mbox_tag = mb->tag;
	m->mbox_window = mb->window;
	header_member(srv, m);
	return SHMX_ST_OK;
}
