/* SPDX-License-Identifier: MIT */
/*
 * server.h - shmnode's state and its single-threaded event loop: the
 * transport endpoint, the exported region, the registry and the handlers
 * of every control message.
 */
#ifndef SHMX_NODE_SERVER_H
#define SHMX_NODE_SERVER_H

#include <signal.h>

#include "admin.h"
#include "alloc.h"
#include "config.h"
#include "extents.h"
#include "locks.h"
#include "persist.h"
#include "metrics.h"
#include "pools.h"
#include "proto/auth.h"
#include "proto/proto.h"
#include "regkeys.h"
#include "registry.h"
#include "segments.h"
#include "stats.h"
#include "xport/xport.h"

/*
 * A message to a client, from server_send until its send completes: in
 * the queue while the transport has no room (or while it waits to be sent
 * again), then in flight as the send's op_ctx.
 */
struct outmsg {
	struct outmsg *next;		  /* in the queue */
	struct outmsg *fl_next, *fl_prev; /* in flight */
	xport_peer_t peer;
	uint32_t member;     /* node id it is for, 0 if no member yet */
	int close_after;     /* remove the peer once this is sent */
	unsigned tries;	     /* sends that failed */
	uint64_t not_before; /* monotonic ns: not sent again before */
	size_t len;
	uint8_t buf[SHMX_WIRE_MAX];
};

struct server {
	struct node_config cfg;
	struct xport *xp;
	struct registry reg;
	struct shmx_key key;
	int have_key;
	uint64_t boot; /* random, new at every start (WELCOME, RESUME) */

	/* The exported memory, and its header area (the first hdr_size
	 * bytes of extent 0: header.c), read-only to every member. */
	struct node_extents mem;
	shmx_gaddr_t root;
	uint64_t hdr_size;
	uint64_t hdr_key;
	void *hdr_handle;

	/* Memory management: the free space of the extents past the
	 * header, keys for its ranges, and the objects carved from it. */
	struct shmx__alloc space;
	struct regkeys keys;
	struct node_pools pools;
	struct node_segs segs;

	/* Global locks: the lock table's memory (lock_ops.c), one
	 * registration with remote read, write and atomic rights, and the
	 * table of which lock is in which slot. */
	struct node_locks locks;
	void *lock_mem;
	size_t lock_mem_len;
	struct xport_mr *lock_mr; /* NULL until registered */

	struct outmsg *outq, **outq_tail;
	struct outmsg *in_flight; /* posted, send not complete */
	unsigned outq_len;	  /* bounded by OUTQ_MAX */
	unsigned closing;	  /* sends that end their peer, in flight */
	char transport_why[160];  /* how the transport was chosen */
	struct admin admin;	  /* the local admin socket (admin.c) */
	struct persist persist;	  /* --backing: files (persist.c) */
	struct node_stats stats;  /* counters (stats.c) */
	struct metrics metrics;	  /* the --metrics endpoint (metrics.c) */
	uint64_t next_sweep_ms;
	uint32_t asker;	 /* the member whose request runs, 0 if none */
	uint32_t ending; /* the member member_end is ending, 0 if none */
	int stopping;	 /* server_fini: nobody is told of dropped keys */
	volatile sig_atomic_t *stop;
};

/* server.c */
/* Open the transport, map and register the region.  0 or -errno. */
int server_init(struct server *srv, const struct node_config *cfg,
		volatile sig_atomic_t *stop);
/* Serve until *stop is set.  0, or -errno on a fatal transport error. */
int server_run(struct server *srv);
void server_fini(struct server *srv);
/*
 * Encode @rep and send it to @peer (queued if the transport is busy).
 * @close_after: forget the peer once the message is out.
 */
void server_send(struct server *srv, xport_peer_t peer,
		 const struct shmx_msg *rep, int close_after);
/*
 * The same for a message to member @m (pending or live): a send that
 * fails (its connection broke: a key the node refused ends it on some
 * fabrics) is made again, to wherever the member is then (RESUME), a few
 * times over about 5 s, while the member lives.
 */
void server_send_member(struct server *srv, const struct member *m,
			const struct shmx_msg *msg, int close_after);

/*
 * Drop every queued message for @peer and remove it from the transport:
 * nothing is ever sent to a removed peer.  Returns nothing.
 */
void server_peer_forget(struct server *srv, xport_peer_t peer);

/* A handler fills @rep's payload and returns the status of the reply. */
typedef enum shmx_status (*handler_fn)(struct server *srv, struct member *m,
				       const struct shmx_msg *req,
				       struct shmx_msg *rep);

/* handshake.c: HELLO and AUTH come before a session exists. */
void handshake_hello(struct server *srv, const struct shmx_msg *req);
enum shmx_status handshake_auth(struct server *srv, struct member *m,
				const struct shmx_msg *req,
				struct shmx_msg *rep);
enum shmx_status handshake_bye(struct server *srv, struct member *m,
			       const struct shmx_msg *req,
			       struct shmx_msg *rep);
/* RESUME: the member's connection broke; go on at its new address. */
enum shmx_status handshake_resume(struct server *srv, struct member *m,
				  const struct shmx_msg *req,
				  struct shmx_msg *rep);
/* End a member: log why, forget its peer once @rep (if any) is sent. */
void member_end(struct server *srv, struct member *m, const char *why);
/* Tell every live member but @id that member @id joined or left
 * (MEMBER event, @what SHMX_MEMBER_JOINED or SHMX_MEMBER_LEFT). */
void member_announce(struct server *srv, uint32_t id, uint32_t what);
/* Expire members silent for longer than the client timeout. */
void handshake_sweep(struct server *srv, uint64_t now_ms);

/* queries.c: requests of live members. */
enum shmx_status query_ping(struct server *srv, struct member *m,
			    const struct shmx_msg *req, struct shmx_msg *rep);
enum shmx_status query_info(struct server *srv, struct member *m,
			    const struct shmx_msg *req, struct shmx_msg *rep);
enum shmx_status query_members(struct server *srv, struct member *m,
			       const struct shmx_msg *req,
			       struct shmx_msg *rep);
enum shmx_status query_lookup(struct server *srv, struct member *m,
			      const struct shmx_msg *req, struct shmx_msg *rep);
enum shmx_status query_root_get(struct server *srv, struct member *m,
				const struct shmx_msg *req,
				struct shmx_msg *rep);
enum shmx_status query_root_set(struct server *srv, struct member *m,
				const struct shmx_msg *req,
				struct shmx_msg *rep);
enum shmx_status query_mailbox(struct server *srv, struct member *m,
			       const struct shmx_msg *req,
			       struct shmx_msg *rep);

/* mem_ops.c: pools, allocation, grants, ownership. */
/*
 * Fill the wire grant *@w from a table's (@start, @len, @key, @access,
 * @epoch, @owned), with the transport's remote base of @key, and note
 * the asking member as a holder of @key (regkeys_hold).  Returns
 * SHMX_ST_OK, or SHMX_ST_INTERNAL when no registration is behind @key.
 */
enum shmx_status put_grant(struct server *srv, struct shmx_grant *w,
			   uint64_t start, uint64_t len, uint64_t key,
			   unsigned access, uint64_t epoch, int owned);
enum shmx_status mem_pool_open(struct server *srv, struct member *m,
			       const struct shmx_msg *req,
			       struct shmx_msg *rep);
enum shmx_status mem_pool_close(struct server *srv, struct member *m,
				const struct shmx_msg *req,
				struct shmx_msg *rep);
enum shmx_status mem_pool_destroy(struct server *srv, struct member *m,
				  const struct shmx_msg *req,
				  struct shmx_msg *rep);
enum shmx_status mem_pool_stat(struct server *srv, struct member *m,
			       const struct shmx_msg *req,
			       struct shmx_msg *rep);
/* Listings: POOL_NEXT, BLOCK_NEXT (and seg_op_next: SEG_NEXT). */
enum shmx_status mem_pool_next(struct server *srv, struct member *m,
			       const struct shmx_msg *req,
			       struct shmx_msg *rep);
enum shmx_status mem_block_next(struct server *srv, struct member *m,
				const struct shmx_msg *req,
				struct shmx_msg *rep);
enum shmx_status mem_alloc(struct server *srv, struct member *m,
			   const struct shmx_msg *req, struct shmx_msg *rep);
enum shmx_status mem_release(struct server *srv, struct member *m,
			     const struct shmx_msg *req, struct shmx_msg *rep);
enum shmx_status mem_grant(struct server *srv, struct member *m,
			   const struct shmx_msg *req, struct shmx_msg *rep);
/* OWN and OWN_TRANSFER. */
enum shmx_status mem_own(struct server *srv, struct member *m,
			 const struct shmx_msg *req, struct shmx_msg *rep);
enum shmx_status mem_disown(struct server *srv, struct member *m,
			    const struct shmx_msg *req, struct shmx_msg *rep);
/*
 * Zero [@gaddr, @gaddr + @len) of the region: a new pool or segment starts
 * zeroed (SysV semantics, and no bytes of an earlier user leak).  Only
 * before anyone holds a key to it: shmnode's CPU never writes memory
 * clients may be using (design principle 3).
 */
void mem_zero(struct server *srv, uint64_t gaddr, uint64_t len);
/*
 * A regkeys_dropped_fn (@arg the server): the key of [@start, @start +
 * @len) goes; tell the live members it was handed to, so that they drop it
 * instead of presenting a dead key to the fabric (REVOKE).
 */
void mem_keys_dropped(void *arg, uint64_t start, uint64_t len,
		      const uint32_t *holders, uint32_t n);
/* A live member left: its opens end, its ownerships pass.  */
void mem_member_gone(struct server *srv, uint32_t id);

/* lock_ops.c: global locks (docs/locks.md). */
/*
 * Map the lock table's memory (cfg.max_locks slots, zeroed), register it
 * once for remote read, write and atomics, and start the table.  Returns
 * 0 or -errno (said in the log); nothing is left behind on error.
 */
int lock_table_init(struct server *srv);
/* Forget the locks and drop the registration (before the transport
 * closes).  Returns nothing. */
void lock_table_fini(struct server *srv);
/* Unmap the lock table's memory (after the transport closed). */
void lock_table_unmap(struct server *srv);
enum shmx_status lock_op_reserve(struct server *srv, struct member *m,
				 const struct shmx_msg *req,
				 struct shmx_msg *rep);
enum shmx_status lock_op_unreserve(struct server *srv, struct member *m,
				   const struct shmx_msg *req,
				   struct shmx_msg *rep);
enum shmx_status lock_op_next(struct server *srv, struct member *m,
			      const struct shmx_msg *req, struct shmx_msg *rep);
/* A live member left: its reservations end, whatever the lock words say. */
void lock_member_gone(struct server *srv, uint32_t id);

/* header.c: the header area (proto/header.h), rewritten on every change. */
/* Size it, register its read-only key, write every block.  0 or -errno. */
int header_init(struct server *srv);
void header_fini(struct server *srv);
/* Publish the extent map and the root pointer. */
void header_map(struct server *srv);
/* Publish the entry of @m's slot (live or free). */
void header_member(struct server *srv, const struct member *m);

/* growth.c: growing and shrinking the memory while it is in use. */
/*
 * Add an extent of @len bytes (rounded up to NODE_EXTENT_GRAIN), give it
 * to the region allocator, publish the map and send every member a MAP
 * event.  *@base (may be NULL): its global address.  0 or -errno:
 * -EFBIG past the node's max-memory, or extents_add's errors.
 */
int growth_grow(struct server *srv, uint64_t len, uint64_t *base);
/*
 * Take @len bytes (rounded up to NODE_EXTENT_GRAIN) off the top of the
 * memory, all of them free: -EBUSY when an object lies there, -ENOSPC
 * when less than @len is above the header; nothing changes then.
 */
int growth_shrink(struct server *srv, uint64_t len);
enum shmx_status growth_op_resize(struct server *srv, struct member *m,
				  const struct shmx_msg *req,
				  struct shmx_msg *rep);

/* admin_cmds.c: the admin channel's commands (an admin_fn, @arg the
 * server): status, grow SIZE, shrink SIZE. */
int admin_command(void *arg, int argc, char **argv, char *out, size_t len);

/* seg_ops.c: named segments (SysV shmget/shmat/shmdt/shmctl). */
enum shmx_status seg_op_open(struct server *srv, struct member *m,
			     const struct shmx_msg *req, struct shmx_msg *rep);
enum shmx_status seg_op_close(struct server *srv, struct member *m,
			      const struct shmx_msg *req, struct shmx_msg *rep);
enum shmx_status seg_op_next(struct server *srv, struct member *m,
			     const struct shmx_msg *req, struct shmx_msg *rep);
enum shmx_status seg_op_stat(struct server *srv, struct member *m,
			     const struct shmx_msg *req, struct shmx_msg *rep);
enum shmx_status seg_op_set(struct server *srv, struct member *m,
			    const struct shmx_msg *req, struct shmx_msg *rep);
enum shmx_status seg_op_remove(struct server *srv, struct member *m,
			       const struct shmx_msg *req,
			       struct shmx_msg *rep);
enum shmx_status seg_op_freeze(struct server *srv, struct member *m,
			       const struct shmx_msg *req,
			       struct shmx_msg *rep);
enum shmx_status seg_op_thaw(struct server *srv, struct member *m,
			     const struct shmx_msg *req, struct shmx_msg *rep);

#endif /* SHMX_NODE_SERVER_H */
