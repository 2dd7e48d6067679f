/* SPDX-License-Identifier: MIT */
/*
 * header.c - the node's header area, read one-sidedly through the
 * read-only key every member gets in WELCOME: the extent map, the root
 * pointer and the member registry (proto/header.h).  A block caught while
 * the node rewrites it fails its check and is read again; the extent map a
 * context uses is the newest of what it read and what MAP events said.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctx.h"
#include "proto/header.h"

/* Torn reads of one block before giving up (the node rewrites a block in
 * well under a microsecond; this many in a row means it is broken). */
#define HDR_TRIES 1000

/* Read the block at @off of @len bytes until it checks.  @parse is the
 * block's reader; 0 or -errno. */
static int fetch(struct shmx_ctx *ctx, uint64_t off, void *blk, size_t len,
		 int (*parse)(const void *blk, void *out), void *out)
{
	int ret = -EAGAIN;

	for (int i = 0; i < HDR_TRIES && ret == -EAGAIN; i++) {
		ret = shmx_read(ctx, off, blk, len);
		if (!ret)
			ret = parse(blk, out);
	}
	return ret;
}

static int parse_map(const void *blk, void *out)
{
	return shmx__hdr_map_read(blk, out);
}

static int parse_member(const void *blk, void *out)
{
	return shmx__hdr_member_read(blk, out);
}

int shmx__hdr_fetch_map(struct shmx_ctx *ctx, struct shmx_hdr_map *m)
{
	uint8_t blk[SHMX_HDR_MAP_SIZE];

	return fetch(ctx, 0, blk, sizeof(blk), parse_map, m);
}

int shmx__hdr_refresh(struct shmx_ctx *ctx, struct shmx_hdr_map *m)
{
	int ret = shmx__hdr_fetch_map(ctx, m);

	if (ret)
		return ret;
	pthread_mutex_lock(&ctx->lock);
	shmx__map_adopt_locked(ctx, m);
	pthread_mutex_unlock(&ctx->lock);
	return 0;
}

void shmx__map_adopt_locked(struct shmx_ctx *ctx, const struct shmx_hdr_map *m)
{
	uint64_t end = 0;

	if (m->generation <= ctx->map.generation)
		return;
	/* Keys to memory the map no longer holds (a shrink) are dead. */
	for (uint32_t i = 0; i < m->nr_extents; i++) {
		if (m->ext[i].base > end)
			(void)shmx__km_remove_range(&ctx->keys, end,
						    m->ext[i].base - end);
		end = m->ext[i].base + m->ext[i].len;
	}
	if (end)
		(void)shmx__km_remove_range(&ctx->keys, end, UINT64_MAX - end);
	ctx->map.generation = m->generation;
	ctx->map.total = m->total;
	ctx->map.nr_extents = m->nr_extents;
	memcpy(ctx->map.ext, m->ext, m->nr_extents * sizeof(m->ext[0]));
}

int shmx__hdr_connect(struct shmx_ctx *ctx, uint64_t key, uint64_t rbase,
		      uint64_t size)
{
	struct shmx_grant g = {
		.start = 0,
		.len = size,
		.key = key,
		.rbase = rbase,
		.access = SHMX_ACC_READ,
	};
	struct shmx_hdr_map m;
	int ret;

	ctx->hdr_size = size;
	shmx__grant_learn(ctx, &g);
	ret = shmx__hdr_fetch_map(ctx, &m);
	if (ret)
		return ret;
	if (m.hdr_size != size)
		return -EBADMSG;
	pthread_mutex_lock(&ctx->lock);
	ctx->max_members = m.max_members;
	shmx__map_adopt_locked(ctx, &m);
	pthread_mutex_unlock(&ctx->lock);
	return 0;
}

int shmx__hdr_member_get(struct shmx_ctx *ctx, uint32_t id,
			 struct shmx_hdr_member *e)
{
	uint8_t blk[SHMX_HDR_ENTRY_SIZE];
	int ret;

	if (!id || id > ctx->max_members)
		return -ENOENT;
	ret = fetch(ctx, shmx__hdr_entry_off(id), blk, sizeof(blk),
		    parse_member, e);
	if (!ret && e->id != id)
		ret = -EBADMSG;
	return ret;
}

/* One member entry from @blk, read again alone while it is torn.  1 if
 * it is a live member (copied to @out), 0 if not, or -errno. */
static int member_of(struct shmx_ctx *ctx, uint32_t id, uint8_t *blk,
		     struct shmx_member *out)
{
	struct shmx_hdr_member e;
	int ret = shmx__hdr_member_read(blk, &e);

	if (ret == -EAGAIN)
		ret = fetch(ctx, shmx__hdr_entry_off(id), blk,
			    SHMX_HDR_ENTRY_SIZE, parse_member, &e);
	if (ret == -ENOENT)
		return 0;
	if (ret)
		return ret;
	if (e.id != id)
		return -EBADMSG;
	if (!e.live)
		return 0;
	out->id = e.id;
	out->pid = e.pid;
	out->uid = e.uid;
	out->gid = e.gid;
	out->joined = e.joined;
	memcpy(out->name, e.name, sizeof(out->name));
	memcpy(out->host, e.host, sizeof(out->host));
	return 1;
}

SHMX_EXPORT int shmx_members(struct shmx_ctx *ctx, struct shmx_member *out,
			     size_t max, size_t *count)
{
	size_t len, n = 0;
	uint8_t *all;
	int ret;

	if (!ctx || !count || (max && !out))
		return -EINVAL;
	/* Every entry in one read; a torn one is read again alone. */
	len = (size_t)ctx->max_members * SHMX_HDR_ENTRY_SIZE;
	all = malloc(len);
	if (!all)
		return -ENOMEM;
	ret = shmx_read(ctx, shmx__hdr_entry_off(1), all, len);
	for (uint32_t id = 1; !ret && id <= ctx->max_members; id++) {
		struct shmx_member m;
		int live = member_of(
			ctx, id, all + (size_t)(id - 1) * SHMX_HDR_ENTRY_SIZE,
			&m);

		if (live < 0)
			ret = live;
		else if (live && n++ < max)
			out[n - 1] = m;
	}
	free(all);
	if (!ret)
		*count = n;
	return ret;
}

SHMX_EXPORT int shmx_root_get(struct shmx_ctx *ctx, shmx_gaddr_t *root)
{
	struct shmx_hdr_map m;
	int ret;

	if (!ctx || !root)
		return -EINVAL;
	ret = shmx__hdr_refresh(ctx, &m);
	if (!ret)
		*root = m.root;
	return ret;
}

SHMX_EXPORT int shmx_extents(struct shmx_ctx *ctx, struct shmx_extent *out,
			     size_t max, size_t *count, uint64_t *generation)
{
	int ret;

	if (!ctx || !count || (max && !out))
		return -EINVAL;
	pthread_mutex_lock(&ctx->lock);
	/* MAP events the node sent are taken in first. */
	(void)shmx__progress_locked(ctx);
	for (uint32_t i = 0; i < ctx->map.nr_extents && i < max; i++)
		out[i] = ctx->map.ext[i];
	*count = ctx->map.nr_extents;
	if (generation)
		*generation = ctx->map.generation;
	ret = ctx->failed ? -ENOTCONN : 0;
	pthread_mutex_unlock(&ctx->lock);
	return ret;
}
