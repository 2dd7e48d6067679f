/* SPDX-License-Identifier: MIT */
/*
 * members.c - control-plane queries: the membership registry, the root
 * pointer and shmx_info.  Each is one RPC to shmnode (MEMBERS pages).
 */
#include <errno.h>
#include <string.h>

#include "ctx.h"
#include "util/parse.h"

SHMX_EXPORT int shmx_members(struct shmx_ctx *ctx, struct shmx_member *out,
			     size_t max, size_t *count)
{
	struct shmx_msg req, rep;
	uint32_t start = 0;
	size_t n = 0;
	int ret;

	if (!ctx || !count || (max && !out))
		return -EINVAL;
	do {
		shmx__msg_init(&req, SHMX_OP_MEMBERS, 0, 0, 0);
		req.u.members_req.start_id = start;
		ret = shmx__rpc(ctx, &req, &rep, ctx->timeout_ms);
		if (ret)
			return ret;
		for (uint32_t i = 0; i < rep.u.members.count; i++, n++) {
			const struct shmx_member_wire *w = &rep.u.members.m[i];

			if (n >= max)
				continue;
			out[n].id = w->id;
			out[n].pid = w->pid;
			out[n].uid = w->uid;
			out[n].gid = w->gid;
			out[n].joined = w->joined;
			memcpy(out[n].name, w->name, sizeof(out[n].name));
			memcpy(out[n].host, w->host, sizeof(out[n].host));
		}
		/* Pages go by increasing id; a next_id that does not grow
		 * would loop forever, so it ends the walk. */
		if (rep.u.members.next_id <= start)
			break;
		start = rep.u.members.next_id;
	} while (1);
	*count = n;
	return 0;
}

SHMX_EXPORT int shmx_lookup(struct shmx_ctx *ctx, const char *name,
			    shmx_node_t *id)
{
	struct shmx_msg req, rep;
	int ret;

	if (!ctx || !name || !id || !*name || strlen(name) >= SHMX_NAME_MAX)
		return -EINVAL;
	shmx__msg_init(&req, SHMX_OP_LOOKUP, 0, 0, 0);
	shmx__strlcpy(req.u.lookup_req.name, name,
		      sizeof(req.u.lookup_req.name));
	ret = shmx__rpc(ctx, &req, &rep, ctx->timeout_ms);
	if (ret == -EBADMSG)
		return -EINVAL; /* e.g. a name with non-printable bytes */
	if (!ret)
		*id = rep.u.lookup.id;
	return ret;
}

SHMX_EXPORT int shmx_root_get(struct shmx_ctx *ctx, shmx_gaddr_t *root)
{
	struct shmx_msg req, rep;
	int ret;

	if (!ctx || !root)
		return -EINVAL;
	shmx__msg_init(&req, SHMX_OP_ROOT_GET, 0, 0, 0);
	ret = shmx__rpc(ctx, &req, &rep, ctx->timeout_ms);
	if (!ret)
		*root = rep.u.root.gaddr;
	return ret;
}

SHMX_EXPORT int shmx_root_set(struct shmx_ctx *ctx, shmx_gaddr_t root)
{
	struct shmx_msg req, rep;

	if (!ctx)
		return -EINVAL;
	if (root != SHMX_GADDR_NULL && root >= ctx->region_size)
		return -EFAULT;
	shmx__msg_init(&req, SHMX_OP_ROOT_SET, 0, 0, 0);
	req.u.root.gaddr = root;
	return shmx__rpc(ctx, &req, &rep, ctx->timeout_ms);
}

SHMX_EXPORT int shmx_info(struct shmx_ctx *ctx, struct shmx_info *info)
{
	struct shmx_msg req, rep;
	int ret;

	if (!ctx || !info)
		return -EINVAL;
	shmx__msg_init(&req, SHMX_OP_INFO, 0, 0, 0);
	ret = shmx__rpc(ctx, &req, &rep, ctx->timeout_ms);
	if (ret)
		return ret;
	memset(info, 0, sizeof(*info));
	info->region_size = rep.u.info.region_size;
	info->self = ctx->id;
	info->protocol_version = SHMX_PROTO_VERSION;
	info->member_count = rep.u.info.member_count;
	info->authenticated = (uint32_t)ctx->authenticated;
	shmx__strlcpy(info->node, ctx->node_addr, sizeof(info->node));
	shmx__strlcpy(info->transport, ctx->transport, sizeof(info->transport));
	shmx__strlcpy(info->transport_reason, ctx->transport_why,
		      sizeof(info->transport_reason));
	shmx__strlcpy(info->provider, ctx->xp->caps.provider,
		      sizeof(info->provider));
	shmx__strlcpy(info->node_version, rep.u.info.version,
		      sizeof(info->node_version));
	return 0;
}
