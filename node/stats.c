/* SPDX-License-Identifier: MIT */
/*
 * stats.c - shmnode's counters and figures (stats.h): counting requests,
 * messages, allocations and members as the server handles them; the
 * snapshot of the live figures; their Prometheus text rendering for the
 * metrics endpoint (metrics.c); the STATS request; and starting and
 * stopping the endpoint with the server.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "proto/lockword.h"
#include "server.h"
#include "stats.h"
#include "util/clock.h"
#include "util/errstr.h"
#include "util/log.h"

void stats_start(struct node_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->start_ms = shmx__now_ms();
}

void stats_request(struct node_stats *st, const struct shmx_msg *req,
		   const struct shmx_msg *rep)
{
	unsigned op = req->hdr.opcode;
	int status = rep->hdr.status;

	if (op >= SHMX_OP_MAX)
		return;
	st->requests[op]++;
	if (status > 0 && status < SHMX_ST_MAX)
		st->errors[op][status]++;
	if (status != SHMX_ST_OK)
		return;
	switch (op) {
	case SHMX_OP_AUTH:
		st->members_joined++;
		break;
	case SHMX_OP_BYE:
		st->members_left++;
		break;
	case SHMX_OP_ALLOC:
		st->allocs++;
		st->alloc_bytes += rep->u.grant.len;
		break;
	case SHMX_OP_RELEASE:
		st->releases++; /* its bytes: stats_released */
		break;
	case SHMX_OP_SEG_OPEN:
		if (rep->u.seg.created) {
			st->segs_created++;
			st->seg_bytes_created += rep->u.seg.key.len;
		}
		break;
	default:
		break;
	}
}

void stats_released(struct node_stats *st, uint64_t len)
{
	st->release_bytes += len;
}

void stats_received(struct node_stats *st, size_t len)
{
	st->msgs_received++;
	st->bytes_received += len;
}

void stats_sent(struct node_stats *st, size_t len, int status)
{
	if (status)
		return;
	st->msgs_sent++;
	st->bytes_sent += len;
}

void stats_expired(struct node_stats *st)
{
	st->members_expired++;
}

/* node_pools_foreach: count pools and their blocks. */
static int count_pool(void *arg, const struct node_pool_info *info)
{
	struct node_stats_live *live = arg;

	live->pools++;
	live->blocks += info->st.nr_alloc;
	return 0;
}

/* Every lock's word: held, holds and waiters (read only). */
static void count_locks(const struct node_locks *lt,
			struct node_stats_live *live)
{
	uint8_t slot[NODE_LOCK_INFO_BYTES];
	struct shmx_lock_summary sum;
	struct node_lock_info info;

	for (uint64_t from = 1; !node_lock_next(lt, from, &info);
	     from = info.id + 1) {
		if (node_lock_slot_read(lt, info.slot, slot))
			continue;
		shmx__lock_summarize(slot, &sum);
		live->locks_held += sum.holding > 0;
		live->lock_holds += sum.holding;
		live->lock_waiters += sum.waiters;
	}
}

void stats_snapshot(struct server *srv, struct node_stats_live *live)
{
	struct shmx__alloc_stat as;

	memset(live, 0, sizeof(*live));
	live->uptime_ms = shmx__now_ms() - srv->stats.start_ms;
	live->members = registry_count(&srv->reg, MEMBER_LIVE);
	live->max_members = srv->reg.max;
	(void)node_pools_foreach(&srv->pools, count_pool, live);
	live->segments = node_segs_count(&srv->segs);
	(void)node_locks_count(&srv->locks, &live->locks, NULL);
	live->lock_slots = srv->cfg.max_locks;
	count_locks(&srv->locks, live);
	live->memory = srv->mem.total;
	shmx__alloc_stat(&srv->space, &as);
	live->region_total = as.total;
	live->region_free = as.free;
	live->region_largest_free = as.largest_free;
	live->region_free_blocks = as.nr_free_blocks;
	live->backing = srv->persist.on;
	if (live->backing) {
		live->journal_bytes = srv->persist.j.size;
		live->journal_writes = srv->persist.commits;
		live->journal_rewrites = srv->persist.rewrites;
		live->journal_errors = srv->persist.errors;
	}
}

void stats_to_wire(const struct node_stats *st,
		   const struct node_stats_live *live,
		   struct shmx_stats_rep *out)
{
	memset(out, 0, sizeof(*out));
	out->uptime_ms = live->uptime_ms;
	out->msgs_received = st->msgs_received;
	out->bytes_received = st->bytes_received;
	out->msgs_sent = st->msgs_sent;
	out->bytes_sent = st->bytes_sent;
	out->allocs = st->allocs;
	out->alloc_bytes = st->alloc_bytes;
	out->releases = st->releases;
	out->release_bytes = st->release_bytes;
	out->segs_created = st->segs_created;
	out->seg_bytes_created = st->seg_bytes_created;
	out->members_joined = st->members_joined;
	out->members_left = st->members_left;
	out->members_expired = st->members_expired;
	out->members = live->members;
	out->max_members = live->max_members;
	out->pools = live->pools;
	out->blocks = live->blocks;
	out->segments = live->segments;
	out->locks = live->locks;
	out->lock_slots = live->lock_slots;
	out->locks_held = live->locks_held;
	out->lock_holds = live->lock_holds;
	out->lock_waiters = live->lock_waiters;
	out->memory = live->memory;
	out->region_total = live->region_total;
	out->region_free = live->region_free;
	out->region_largest_free = live->region_largest_free;
	out->region_free_blocks = live->region_free_blocks;
	out->nr_ops = SHMX_OP_MAX;
	out->nr_status = SHMX_ST_MAX;
	for (unsigned op = 0; op < SHMX_OP_MAX; op++) {
		out->op[op].requests = st->requests[op];
		for (unsigned s = 1; s < SHMX_ST_MAX; s++) {
			out->op[op].errors += st->errors[op][s];
			out->status_errors[s] += st->errors[op][s];
		}
	}
}

/* ---- Prometheus text format ------------------------------------------- */

/* Where rendering writes: @at bytes of @len written; @full once it did
 * not fit. */
struct out {
	char *p;
	size_t len, at;
	int full;
};

static void put(struct out *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->p + o->at, o->len - o->at, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->len - o->at)
		o->full = 1;
	else
		o->at += (size_t)n;
}

/* A label value, escaped as the format wants (\\, \", \n). */
static void put_label(struct out *o, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			put(o, "\\%c", *v);
		else if (*v == '\n')
			put(o, "\\n");
		else
			put(o, "%c", *v);
	}
}

static void family(struct out *o, const char *name, const char *type,
		   const char *help)
{
	put(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A family of one sample without labels. */
struct sample {
	const char *name, *type, *help;
	uint64_t v;
};

static void samples(struct out *o, const struct sample *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		family(o, s[i].name, s[i].type, s[i].help);
		put(o, "%s %llu\n", s[i].name, (unsigned long long)s[i].v);
	}
}

/* Opcodes counted per request: not HELLO (before any session), not the
 * events the node sends. */
static int counted(unsigned op)
{
	return op && op != SHMX_OP_HELLO && op != SHMX_OP_REVOKE &&
	       op != SHMX_OP_MAP && op != SHMX_OP_MEMBER;
}

int stats_render(const struct node_stats *st,
		 const struct node_stats_live *live, char *buf, size_t len)
{
	const char *C = "counter", *G = "gauge";
	struct out o = { .p = buf, .len = len };
	const struct sample scalars[] = {
		{ "shmext_received_messages_total", C,
		  "Control messages received.", st->msgs_received },
		{ "shmext_received_bytes_total", C,
		  "Bytes of control messages received.", st->bytes_received },
		{ "shmext_sent_messages_total", C,
		  "Control messages sent (sends completed).", st->msgs_sent },
		{ "shmext_sent_bytes_total", C,
		  "Bytes of control messages sent.", st->bytes_sent },
		{ "shmext_allocs_total", C, "Blocks allocated (ALLOC).",
		  st->allocs },
		{ "shmext_allocated_bytes_total", C,
		  "Bytes of the blocks allocated.", st->alloc_bytes },
		{ "shmext_releases_total", C, "Blocks released (RELEASE).",
		  st->releases },
		{ "shmext_released_bytes_total", C,
		  "Bytes of the blocks released.", st->release_bytes },
		{ "shmext_segments_created_total", C, "Segments created.",
		  st->segs_created },
		{ "shmext_segment_created_bytes_total", C,
		  "Bytes of the segments created.", st->seg_bytes_created },
		{ "shmext_members_joined_total", C,
		  "Members that joined (authenticated).", st->members_joined },
		{ "shmext_members_left_total", C,
		  "Members that left saying goodbye.", st->members_left },
		{ "shmext_members_expired_total", C,
		  "Members dropped after the client timeout.",
		  st->members_expired },
		{ "shmext_members", G, "Live members.", live->members },
		{ "shmext_members_max", G, "Member slots.", live->max_members },
		{ "shmext_pools", G, "Pools.", live->pools },
		{ "shmext_blocks", G, "Blocks allocated in every pool.",
		  live->blocks },
		{ "shmext_segments", G, "Named segments.", live->segments },
		{ "shmext_locks_reserved", G, "Global locks reserved.",
		  live->locks },
		{ "shmext_lock_slots", G, "Slots of the lock table.",
		  live->lock_slots },
		{ "shmext_locks_held", G, "Locks with a hold granted.",
		  live->locks_held },
		{ "shmext_lock_holds", G, "Holds granted, every lock.",
		  live->lock_holds },
		{ "shmext_lock_waiters", G,
		  "Acquirers waiting for a lock, every lock.",
		  live->lock_waiters },
		{ "shmext_memory_bytes", G, "Bytes of memory, every extent.",
		  live->memory },
		{ "shmext_region_bytes", G,
		  "Bytes the region allocator manages.", live->region_total },
		{ "shmext_region_free_bytes", G, "Free bytes of the region.",
		  live->region_free },
		{ "shmext_region_largest_free_bytes", G,
		  "The region's largest free block.",
		  live->region_largest_free },
		{ "shmext_region_free_fragments", G,
		  "Free blocks (fragments) of the region.",
		  live->region_free_blocks },
	};
	/* Only with a backing file. */
	const struct sample journal[] = {
		{ "shmext_journal_bytes", G, "Bytes of the metadata journal.",
		  live->journal_bytes },
		{ "shmext_journal_writes_total", C,
		  "Writes of changes to the journal.", live->journal_writes },
		{ "shmext_journal_rewrites_total", C,
		  "Rewrites of the whole journal.", live->journal_rewrites },
		{ "shmext_journal_write_errors_total", C,
		  "Journal writes and rewrites that failed: the changes since "
		  "the last one that succeeded would not survive a restart.",
		  live->journal_errors },
	};
	double frag = live->region_free
			      ? 1.0 - (double)live->region_largest_free /
						(double)live->region_free
			      : 0.0;

	family(&o, "shmext_uptime_seconds", G,
	       "Seconds since shmnode started.");
	put(&o, "shmext_uptime_seconds %.3f\n",
	    (double)live->uptime_ms / 1000.0);
	family(&o, "shmext_requests_total", C, "Requests answered, by opcode.");
	for (unsigned op = 0; op < SHMX_OP_MAX; op++)
		if (counted(op))
			put(&o, "shmext_requests_total{op=\"%s\"} %llu\n",
			    shmx__op_name(op),
			    (unsigned long long)st->requests[op]);
	family(&o, "shmext_request_errors_total", C,
	       "Requests answered with an error, by opcode and status.");
	for (unsigned op = 0; op < SHMX_OP_MAX; op++)
		for (unsigned s = 1; s < SHMX_ST_MAX; s++) {
			if (!st->errors[op][s])
				continue;
			put(&o,
			    "shmext_request_errors_total{op=\"%s\",status=\"",
			    shmx__op_name(op));
			put_label(&o, shmx__status_name((int)s));
			put(&o, "\"} %llu\n",
			    (unsigned long long)st->errors[op][s]);
		}
	samples(&o, scalars, sizeof(scalars) / sizeof(scalars[0]));
	family(&o, "shmext_region_fragmentation_ratio", G,
	       "1 - largest free block / free bytes (0: none free).");
	put(&o, "shmext_region_fragmentation_ratio %.6f\n", frag);
	if (live->backing)
		samples(&o, journal, sizeof(journal) / sizeof(journal[0]));
	return o.full ? -ENOSPC : (int)o.at;
}

int stats_metrics_body(void *arg, char *out, size_t len)
{
	struct server *srv = arg;
	struct node_stats_live live;

	stats_snapshot(srv, &live);
	return stats_render(&srv->stats, &live, out, len);
}

enum shmx_status stats_op(struct server *srv, struct member *m,
			  const struct shmx_msg *req, struct shmx_msg *rep)
{
	struct node_stats_live live;

	(void)m;
	(void)req;
	stats_snapshot(srv, &live);
	stats_to_wire(&srv->stats, &live, &rep->u.stats);
	return SHMX_ST_OK;
}

int stats_init(struct server *srv)
{
	int ret;

	stats_start(&srv->stats);
	if (!srv->cfg.metrics[0])
		return 0;
	ret = metrics_open(&srv->metrics, srv->cfg.metrics);
	if (ret) {
		log_error("metrics endpoint %s: %s", srv->cfg.metrics,
			  ret == -EADDRINUSE ? "address already in use"
					     : shmx__strerror(ret));
		return ret;
	}
	log_info("metrics on http://%s/metrics", srv->metrics.where);
	return 0;
}

void stats_fini(struct server *srv)
{
	metrics_close(&srv->metrics);
}
