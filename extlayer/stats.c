/* SPDX-License-Identifier: MIT */
/*
 * stats.c - shmx_stats: the node's counters and figures, one STATS request,
 * with the protocol's names of opcodes and statuses put beside the numbers.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ctx.h"
#include "util/parse.h"

_Static_assert(SHMX_STATS_OPS == SHMX_STATS_OPS_MAX &&
		       SHMX_STATS_ERRS == SHMX_STATS_STATUS_MAX,
	       "struct shmx_stats holds every entry a STATS reply may carry");

/* The figures of @r into @st; the names of opcodes and statuses. */
static void stats_fill(const struct shmx_stats_rep *r, struct shmx_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->uptime_ms = r->uptime_ms;
	st->msgs_received = r->msgs_received;
	st->bytes_received = r->bytes_received;
	st->msgs_sent = r->msgs_sent;
	st->bytes_sent = r->bytes_sent;
	st->allocs = r->allocs;
	st->alloc_bytes = r->alloc_bytes;
	st->releases = r->releases;
	st->release_bytes = r->release_bytes;
	st->segs_created = r->segs_created;
	st->seg_bytes_created = r->seg_bytes_created;
	st->members_joined = r->members_joined;
	st->members_left = r->members_left;
	st->members_expired = r->members_expired;
	st->members = r->members;
	st->max_members = r->max_members;
	st->pools = r->pools;
	st->blocks = r->blocks;
	st->segments = r->segments;
	st->locks = r->locks;
	st->lock_slots = r->lock_slots;
	st->locks_held = r->locks_held;
	st->lock_holds = r->lock_holds;
	st->lock_waiters = r->lock_waiters;
	st->memory = r->memory;
	st->region_total = r->region_total;
	st->region_free = r->region_free;
	st->region_largest_free = r->region_largest_free;
	st->region_free_blocks = r->region_free_blocks;
	st->fragmentation = r->region_free
				    ? 1.0 - (double)r->region_largest_free /
						      (double)r->region_free
				    : 0.0;
	/* Opcode 0 is no request; the rest by number. */
	for (uint32_t op = 1; op < r->nr_ops; op++) {
		struct shmx_stats_op *o = &st->op[st->nr_ops++];
		const char *name = shmx__op_name(op);

		if (strcmp(name, "?"))
			shmx__strlcpy(o->name, name, sizeof(o->name));
		else
			snprintf(o->name, sizeof(o->name), "op%u", op);
		o->opcode = op;
		o->requests = r->op[op].requests;
		o->errors = r->op[op].errors;
	}
	/* Status 0 is OK: no error. */
	for (uint32_t s = 1; s < r->nr_status; s++) {
		struct shmx_stats_err *e = &st->errs[st->nr_errs++];

		if (s < SHMX_ST_MAX)
			shmx__strlcpy(e->name, shmx__status_name((int)s),
				      sizeof(e->name));
		else
			snprintf(e->name, sizeof(e->name), "status %u", s);
		e->err = shmx__status_to_errno((int)s);
		e->count = r->status_errors[s];
	}
}

SHMX_EXPORT int shmx_stats(struct shmx_ctx *ctx, struct shmx_stats *st)
{
	struct shmx_msg req, rep;
	int ret;

	if (!ctx || !st)
		return -EINVAL;
	shmx__msg_init(&req, SHMX_OP_STATS, 0, 0, 0);
	ret = shmx__rpc(ctx, &req, &rep, ctx->timeout_ms);
	if (ret)
		return ret;
	stats_fill(&rep.u.stats, st);
	return 0;
}
