/* SPDX-License-Identifier: MIT */
/*
 * stats.h - shmnode's counters (requests and errors per opcode and status,
 * control-message bytes, bytes allocated and released, members joined,
 * left and expired), the snapshot of every figure the node can tell (the
 * counters and the live ones: members, pools, blocks, segments, locks
 * held and waited for, the region's free space and fragmentation, the
 * journal's size and writes), its
 * Prometheus text rendering for --metrics (metrics.c) and the STATS
 * request of "shmext stats".
 *
 * Everything runs in the server's event loop: no locking.  The lock table
 * is only read, a word at a time (node_lock_slot_read), never written.
 */
#ifndef SHMX_NODE_STATS_H
#define SHMX_NODE_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "proto/proto.h"

struct server;
struct member;

/* The counters, from zero at the node's start. */
struct node_stats {
	uint64_t start_ms;			   /* monotonic, stats_start */
	uint64_t requests[SHMX_OP_MAX];		   /* answered, by opcode */
	uint64_t errors[SHMX_OP_MAX][SHMX_ST_MAX]; /* error replies */
	uint64_t msgs_received, bytes_received;	   /* every message */
	uint64_t msgs_sent, bytes_sent;		   /* sends completed */
	uint64_t allocs, alloc_bytes;		   /* ALLOC answered OK */
	uint64_t releases, release_bytes;	   /* RELEASE answered OK */
	uint64_t segs_created, seg_bytes_created;  /* SEG_OPEN that created */
	uint64_t members_joined, members_left, members_expired;
};

/* What the node holds now, next to the counters. */
struct node_stats_live {
	uint64_t uptime_ms;
	uint32_t members, max_members;
	uint64_t pools, blocks, segments;
	uint32_t locks, lock_slots; /* reserved; the table's size */
	uint32_t locks_held;	    /* locks with a hold granted */
	uint32_t lock_holds;	    /* holds granted, every lock */
	uint32_t lock_waiters;	    /* tickets waiting, every lock */
	uint64_t memory;	    /* bytes in every extent */
	uint64_t region_total, region_free, region_largest_free;
	uint64_t region_free_blocks; /* free fragments */
	/* With a backing file (backing set): the journal's size, and its
	 * writes, rewrites and failed writes since the start. */
	int backing;
	uint64_t journal_bytes, journal_writes, journal_rewrites;
	uint64_t journal_errors;
};

/* Start counting: zero @st, note the start time. */
void stats_start(struct node_stats *st);

/*
 * Count a request the server answered: @req (its opcode) and its reply
 * @rep (its status; ALLOC's grant, SEG_OPEN's segment).  HELLO,
 * answered before a session exists, and requests refused before their
 * handler (malformed, wrong state) are not counted here.
 */
void stats_request(struct node_stats *st, const struct shmx_msg *req,
		   const struct shmx_msg *rep);
/* A RELEASE freed a block of @len bytes (mem_ops.c). */
void stats_released(struct node_stats *st, uint64_t len);
/* A control message of @len bytes came in. */
void stats_received(struct node_stats *st, size_t len);
/* A send of @len bytes completed with @status (0: it went out). */
void stats_sent(struct node_stats *st, size_t len, int status);
/* A live member was timed out (handshake_sweep). */
void stats_expired(struct node_stats *st);

/*
 * Read every live figure of @srv into *@live: O(L log L + P) for L locks
 * and P pools; the lock words are read, never written.
 */
void stats_snapshot(struct server *srv, struct node_stats_live *live);

/* The wire form of the counters @st and the figures @live. */
void stats_to_wire(const struct node_stats *st,
		   const struct node_stats_live *live,
		   struct shmx_stats_rep *out);

/*
 * Render @st and @live in the Prometheus text exposition format (version
 * 0.0.4): "# HELP" and "# TYPE" lines, then samples; names start with
 * "shmext_", per-opcode ones carry op="NAME" (and status="TEXT" for
 * errors).  Pure.  Returns the length written (a NUL follows), or
 * -ENOSPC when it does not fit in @len bytes.
 */
int stats_render(const struct node_stats *st,
		 const struct node_stats_live *live, char *out, size_t len);

/* A metrics_fn (metrics.h), @arg the server: snapshot and render. */
int stats_metrics_body(void *arg, char *out, size_t len);

/* STATS: the node's counters and figures. */
enum shmx_status stats_op(struct server *srv, struct member *m,
			  const struct shmx_msg *req, struct shmx_msg *rep);

/*
 * Start the counters and, when the config names one, the metrics
 * listener (--metrics).  0 or -errno (said in the log).
 */
int stats_init(struct server *srv);
/* Close the metrics listener.  Harmless when there is none. */
void stats_fini(struct server *srv);

#endif /* SHMX_NODE_STATS_H */
