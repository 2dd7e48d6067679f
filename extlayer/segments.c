/* SPDX-License-Identifier: MIT */
/*
 * segments.c - named segments with System V semantics: each call is one
 * RPC to shmnode, whose table (node/segments.c) keeps the segments, checks
 * permissions and counts attachments.  A handle is one attachment: the
 * segment's id and range, local to this process; the key its open brings
 * is learnt into the key map and forgotten at the detach.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctx.h"
#include "util/parse.h"

SHMX_EXPORT int shmx_seg_open(struct shmx_ctx *ctx, const char *name,
			      uint64_t size, unsigned flags, unsigned mode,
			      struct shmx_seg **seg)
{
	const unsigned known = SHMX_CREAT | SHMX_EXCL | SHMX_RDONLY;
	struct shmx_msg req, rep;
	struct shmx_seg *s;
	int ret;

	if (!ctx || !seg || !shmx__name_valid(name) || (flags & ~known) ||
	    ((flags & SHMX_EXCL) && !(flags & SHMX_CREAT)) || mode > 0777)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	shmx__msg_init(&req, SHMX_OP_SEG_OPEN, 0, 0, 0);
	req.u.seg_open.flags = (flags & SHMX_CREAT ? SHMX_WIRE_CREAT : 0) |
			       (flags & SHMX_EXCL ? SHMX_WIRE_EXCL : 0) |
			       (flags & SHMX_RDONLY ? SHMX_WIRE_RDONLY : 0);
	req.u.seg_open.mode = mode;
	req.u.seg_open.size = size;
	shmx__strlcpy(req.u.seg_open.name, name, sizeof(req.u.seg_open.name));
	ret = shmx__rpc(ctx, &req, &rep, ctx->timeout_ms);
	if (ret) {
		free(s);
		return ret;
	}
	shmx__grant_learn(ctx, &rep.u.seg.key);
	s->ctx = ctx;
	s->id = rep.u.seg.id;
	s->base = rep.u.seg.key.start;
	s->size = rep.u.seg.key.len;
	s->rdonly = !!(flags & SHMX_RDONLY);
	shmx__strlcpy(s->name, name, sizeof(s->name));
	*seg = s;
	return 0;
}

SHMX_EXPORT shmx_gaddr_t shmx_seg_addr(const struct shmx_seg *seg)
{
	return seg ? seg->base : SHMX_GADDR_NULL;
}

SHMX_EXPORT uint64_t shmx_seg_size(const struct shmx_seg *seg)
{
	return seg ? seg->size : 0;
}

/* SEG_CLOSE or SEG_REMOVE of @s. */
static int seg_call(struct shmx_seg *s, uint16_t op)
{
	struct shmx_msg req, rep;

	shmx__msg_init(&req, op, 0, 0, 0);
	req.u.obj.id = s->id;
	return shmx__rpc(s->ctx, &req, &rep, s->ctx->timeout_ms);
}

SHMX_EXPORT int shmx_seg_close(struct shmx_seg *seg)
{
	int ret;

	if (!seg)
		return -EINVAL;
	{
		struct shmx_msg req, rep;

		/* Say which kind of attachment ends: a member may hold both. */
		shmx__msg_init(&req, SHMX_OP_SEG_CLOSE, 0, 0, 0);
		req.u.seg_close.id = seg->id;
		req.u.seg_close.rdonly = (uint32_t)seg->rdonly;
		ret = shmx__rpc(seg->ctx, &req, &rep, seg->ctx->timeout_ms);
	}
	/* Detaching ends this member's right to the key (another handle
	 * to the same segment asks for it again). */
	shmx__grant_forget(seg->ctx, seg->base);
	free(seg);
	return ret;
}

SHMX_EXPORT int shmx_seg_remove(struct shmx_seg *seg)
{
	if (!seg)
		return -EINVAL;
	return seg_call(seg, SHMX_OP_SEG_REMOVE);
}

/* The wire's stat of a segment at @addr, as the API reports it. */
static void seg_stat_from(struct shmx_seg_stat *st,
			  const struct shmx_seg_stat_rep *r, shmx_gaddr_t addr)
{
	memset(st, 0, sizeof(*st));
	st->addr = addr;
	st->size = r->size;
	st->uid = r->uid;
	st->gid = r->gid;
	st->mode = r->mode;
	st->cuid = r->cuid;
	st->cgid = r->cgid;
	st->creator_node = r->creator_node;
	st->last_attach_node = r->last_attach_node;
	st->last_detach_node = r->last_detach_node;
	st->nattch = r->nattch;
	st->removed = (int)r->removed;
	st->atime = r->atime;
	st->dtime = r->dtime;
	st->ctime = r->ctime;
	shmx__strlcpy(st->name, r->name, sizeof(st->name));
}

SHMX_EXPORT int shmx_seg_stat(struct shmx_seg *seg, struct shmx_seg_stat *st)
{
	struct shmx_msg req, rep;
	int ret;

	if (!seg || !st)
		return -EINVAL;
	shmx__msg_init(&req, SHMX_OP_SEG_STAT, 0, 0, 0);
	req.u.obj.id = seg->id;
	ret = shmx__rpc(seg->ctx, &req, &rep, seg->ctx->timeout_ms);
	if (ret)
		return ret;
	seg_stat_from(st, &rep.u.seg_stat, seg->base);
	return 0;
}

SHMX_EXPORT int shmx_seg_next(struct shmx_ctx *ctx, uint64_t from,
			      struct shmx_seg_info *info)
{
	struct shmx_msg req, rep;
	int ret;

	if (!ctx || !info)
		return -EINVAL;
	shmx__msg_init(&req, SHMX_OP_SEG_NEXT, 0, 0, 0);
	req.u.next.from = from;
	ret = shmx__rpc(ctx, &req, &rep, ctx->timeout_ms);
	if (ret)
		return ret;
	info->id = rep.u.seg_info.id;
	seg_stat_from(&info->st, &rep.u.seg_info.st, rep.u.seg_info.gaddr);
	return 0;
}

SHMX_EXPORT int shmx_seg_set(struct shmx_seg *seg, uint32_t uid, uint32_t gid,
			     unsigned mode)
{
	struct shmx_msg req, rep;

	if (!seg || mode > 0777 || uid == UINT32_MAX || gid == UINT32_MAX)
		return -EINVAL;
	shmx__msg_init(&req, SHMX_OP_SEG_SET, 0, 0, 0);
	req.u.seg_set.id = seg->id;
	req.u.seg_set.uid = uid;
	req.u.seg_set.gid = gid;
	req.u.seg_set.mode = mode;
	return shmx__rpc(seg->ctx, &req, &rep, seg->ctx->timeout_ms);
}
