/* SPDX-License-Identifier: MIT */
/*
 * seg_ops.c - shmnode's answers about named segments (SysV shmget, shmat,
 * shmdt, shmctl; docs/memory.md): open (create and attach), close
 * (detach), stat, set, remove, and the freeze and thaw of a save.  The
 * table (segments.c) keeps the books and checks permissions against the
 * member's uid/gid; this file turns its results into replies and its
 * errors into statuses.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "server.h"
#include "util/log.h"

static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

enum shmx_status seg_op_open(struct server *srv, struct member *m,
			     const struct shmx_msg *req, struct shmx_msg *rep)
{
	const struct shmx_seg_open_req *o = &req->u.seg_open;
	struct node_seg_attach a;
	enum shmx_status st;
	int ret;

	ret = node_seg_open(&srv->segs, m->info.id, m->info.uid, m->info.gid,
			    o->name, o->size, o->flags, o->mode, now_s(), &a);
	if (ret)
		return shmx__errno_to_status(ret);
	st = put_grant(srv, &rep->u.seg.key, a.g.start, a.g.len, a.g.key,
		       a.g.access, 1, 0);
	if (st != SHMX_ST_OK) {
		/* The member will never know of this attach: undo it. */
		if (a.created)
			(void)node_seg_remove(&srv->segs, m->info.uid, a.id,
					      now_s());
		(void)node_seg_close(&srv->segs, m->info.id, a.id, now_s());
		return st;
	}
	if (a.created) {
		mem_zero(srv, a.g.start, a.g.len);
		log_info("member %u '%s' created segment %llu '%s' of %llu "
			 "bytes, mode %03o",
			 m->info.id, m->info.name, (unsigned long long)a.id,
			 o->name, (unsigned long long)a.g.len, o->mode);
	}
	rep->u.seg.id = a.id;
	rep->u.seg.created = (uint32_t)a.created;
	return SHMX_ST_OK;
}

enum shmx_status seg_op_close(struct server *srv, struct member *m,
			      const struct shmx_msg *req, struct shmx_msg *rep)
{
	const struct shmx_seg_close_req *c = &req->u.seg_close;
	struct node_seg_info info;
	int ret, removed;

	removed = !node_seg_stat(&srv->segs, c->id, &info) && info.removed;
	ret = node_seg_close_kind(&srv->segs, m->info.id, c->id, (int)c->rdonly,
				  now_s());
	if (!ret && removed &&
	    node_seg_stat(&srv->segs, c->id, &info) == -ENOENT)
		log_info("segment %llu '%s' destroyed at its last detach "
			 "(member %u '%s')",
			 (unsigned long long)c->id, info.name, m->info.id,
			 m->info.name);
	return shmx__errno_to_status(ret);
}

/* A segment's record as the wire's stat. */
static void put_seg_stat(struct shmx_seg_stat_rep *s,
			 const struct node_seg_info *info)
{
	s->size = info->size;
	s->uid = info->uid;
	s->gid = info->gid;
	s->mode = info->mode;
	s->cuid = info->cuid;
	s->cgid = info->cgid;
	s->creator_node = info->creator_node;
	s->last_attach_node = info->last_attach_node;
	s->last_detach_node = info->last_detach_node;
	s->nattch = info->nattch;
	s->removed = (uint32_t) !!info->removed;
	s->atime = info->atime;
	s->dtime = info->dtime;
	s->ctime = info->ctime;
	memcpy(s->name, info->name, sizeof(s->name));
}

enum shmx_status seg_op_stat(struct server *srv, struct member *m,
			     const struct shmx_msg *req, struct shmx_msg *rep)
{
	struct node_seg_info info;
	int ret;

	ret = node_seg_stat(&srv->segs, req->u.obj.id, &info);
	if (ret)
		return shmx__errno_to_status(ret);
	put_seg_stat(&rep->u.seg_stat, &info);
	return SHMX_ST_OK;
}

enum shmx_status seg_op_next(struct server *srv, struct member *m,
			     const struct shmx_msg *req, struct shmx_msg *rep)
{
	struct node_seg_info info;
	int ret;

	ret = node_seg_next(&srv->segs, req->u.next.from, &info);
	if (ret)
		return shmx__errno_to_status(ret);
	rep->u.seg_info.id = info.id;
	rep->u.seg_info.gaddr = info.gaddr;
	put_seg_stat(&rep->u.seg_info.st, &info);
	return SHMX_ST_OK;
}

enum shmx_status seg_op_set(struct server *srv, struct member *m,
			    const struct shmx_msg *req, struct shmx_msg *rep)
{
	const struct shmx_seg_set_req *s = &req->u.seg_set;

	return shmx__errno_to_status(node_seg_set(&srv->segs, m->info.uid,
						  s->id, s->uid, s->gid,
						  s->mode, now_s()));
}

enum shmx_status seg_op_remove(struct server *srv, struct member *m,
			       const struct shmx_msg *req, struct shmx_msg *rep)
{
	uint64_t id = req->u.obj.id;
	struct node_seg_info info;
	int ret;

	ret = node_seg_stat(&srv->segs, id, &info);
	if (!ret)
		ret = node_seg_remove(&srv->segs, m->info.uid, id, now_s());
	if (ret)
		return shmx__errno_to_status(ret);
	if (!info.removed)
		log_info("member %u '%s' removed segment %llu '%s'%s",
			 m->info.id, m->info.name, (unsigned long long)id,
			 info.name,
			 node_seg_stat(&srv->segs, id, &info) == -ENOENT
				 ? ": destroyed"
				 : ": destroyed at its last detach");
	return SHMX_ST_OK;
}

enum shmx_status seg_op_freeze(struct server *srv, struct member *m,
			       const struct shmx_msg *req, struct shmx_msg *rep)
{
	struct node_seg_grant g;
	enum shmx_status st;
	int ret;

	ret = node_seg_freeze(&srv->segs, m->info.id, req->u.obj.id, &g);
	if (ret)
		return shmx__errno_to_status(ret);
	st = put_grant(srv, &rep->u.grant, g.start, g.len, g.key, g.access, 1,
		       0);
	if (st != SHMX_ST_OK) {
		/* No image can be read without the key: do not stay frozen. */
		(void)node_seg_thaw(&srv->segs, m->info.id, req->u.obj.id);
		return st;
	}
	/* Writers were told the read/write key went (mem_keys_dropped). */
	log_info("member %u '%s' froze segment %llu", m->info.id, m->info.name,
		 (unsigned long long)req->u.obj.id);
	return SHMX_ST_OK;
}

enum shmx_status seg_op_thaw(struct server *srv, struct member *m,
			     const struct shmx_msg *req, struct shmx_msg *rep)
{
	int ret = node_seg_thaw(&srv->segs, m->info.id, req->u.obj.id);

	if (!ret)
		log_info("member %u '%s' thawed segment %llu", m->info.id,
			 m->info.name, (unsigned long long)req->u.obj.id);
	return shmx__errno_to_status(ret);
}
