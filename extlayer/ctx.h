/* SPDX-License-Identifier: MIT */
/*
 * ctx.h - libshmext's private view of a context: the connection to one
 * shmnode, the operations in flight on it, and the progress engine that
 * completes them.  Internal to extlayer/.
 *
 * Locking: ctx->lock guards the transport (which is not thread-safe), the
 * op table and the RPC list.  Threads never sleep holding it: a waiting
 * thread takes the lock for one poll round, hands out whatever completed
 * (to itself or to other waiters), and lets go.
 */
#ifndef SHMX_EXT_CTX_H
#define SHMX_EXT_CTX_H

#include <pthread.h>
#include <stdint.h>

#include "keymap.h"
#include "proto/header.h"
#include "proto/proto.h"
#include "shmext/shmext.h"
#include "xport/xport.h"

/*
 * One posted transport operation (an RMA chunk or an atomic).  Ops live in
 * slabs (registered when the provider needs local registration, so that an
 * atomic's result slot has a descriptor) that are freed only at close: a
 * late completion can never touch freed memory.
 */
/*
 * Transfers up to SHMX_BOUNCE bytes on a transport that needs registered
 * local buffers go through the op's own bounce buffer (registered with its
 * slab) instead of registering the caller's buffer for each call.
 */
#define SHMX_BOUNCE 4096

struct shmx_op {
	struct shmx_op *next; /* free list */
	struct shmx_req *req; /* the request it belongs to */
	/* Or, for an op no call waits for: run with ctx->lock held when it
	 * completes (locks.c's releases). */
	void (*done_fn)(struct shmx_ctx *ctx, struct shmx_op *op, int status);
	void *done_arg;
	uint64_t done_expect; /* a compare-and-swap's expected value */
	uint64_t result;      /* atomic: the previous value */
	void *desc;	      /* local descriptor of this op's slab */
	void *copy_to;	      /* bounced read: the caller's buffer */
	size_t len;	      /* bounced read: bytes to copy there */
	uint8_t bounce[SHMX_BOUNCE];
};

#define SHMX_OPS_PER_SLAB 64
struct shmx_op_slab {
	struct shmx_op_slab *next;
	struct xport_mr *mr;
	struct shmx_op ops[SHMX_OPS_PER_SLAB];
};

/* A read or write (blocking or not): one or more ops, counted down. */
struct shmx_req {
	struct shmx_ctx *ctx;
	struct shmx_req *next, *prev; /* ctx->reqs, for flush and close */
	unsigned pending;	      /* ops not yet complete */
	int status;		      /* first error, else 0 */
	int nb;			      /* created by a _nb call */
	struct xport_mr *mr;	      /* local registration, if needed */
	int bounce;	 /* small: through the ops' bounce buffers */
	uint64_t result; /* atomic: previous value */
};

/*
 * A control-plane call waiting for its reply.  It is its send's op_ctx, so
 * it lives until that send completes: a call that ends first leaves it on
 * ctx->orphans, freed by the send's completion (or at close).
 */
struct shmx_rpc {
	struct shmx_rpc *next; /* ctx->rpcs, then ctx->orphans */
	uint64_t req_id;
	int done;
	int sends_busy; /* its sends posted and not complete */
	int send_err;	/* its send failed: the node never had it */
	int delivered;	/* a send of it completed: the node may have it */
	int orphan;
	size_t len;
	uint8_t buf[SHMX_WIRE_MAX]; /* the encoded request, to send again */
	struct shmx_msg reply;
};

struct shmx_ctx {
	pthread_mutex_t lock;
	struct xport *xp;
	xport_peer_t node;

	/* Identity and header, fixed after the handshake. */
	shmx_node_t id;
	uint64_t token;
	uint64_t hdr_size;    /* bytes of the header area, at gaddr 0 */
	uint32_t max_members; /* entries in the header's registry */
	int authenticated;
	int timeout_ms;
	/* How long an unreachable node is tried again before the context
	 * is lost (SHMEXT_RECONNECT_MS); 0: at once. */
	int reconnect_ms;
	unsigned heartbeat_ms;
	char node_addr[128];
	char name[SHMX_NAME_MAX];
	char transport[16];
	char transport_why[160]; /* how it was chosen (shmx_info) */
	char node_version[SHMX_VERSION_STR_MAX];

	/* Guarded by lock. */
	int failed; /* -errno once the connection is lost */
	int broken; /* an operation failed: the connection may need making
		     * again (shmx__reconnect) */
	/* With a reconnect window: when the connection broke or the node
	 * stopped answering (monotonic ns, 0 while it answers).  Nothing
	 * but RESUME goes to the node until it answers again. */
	uint64_t down_since;
	uint64_t heard_ns;	  /* when the node last sent something */
	int reconnecting;	  /* a thread runs shmx__reconnect's rounds */
	pthread_t reconnector;	  /* ... this one */
	int closing;		  /* shmx_close began: no more rounds */
	uint64_t boot;		  /* which start of shmnode serves us */
	int hdr_stale;		  /* shmnode restarted: read the header again */
	uint64_t lock_key;	  /* the lock table's key, ... */
	uint64_t lock_base;	  /* ... the address of its slot 0, ... */
	int lock_table_known;	  /* ... once a RESUME said them */
	struct shmx_rpc *orphans; /* calls ended before their send did */
	uint64_t next_req_id;
	struct shmx_rpc *rpcs;
	struct shmx_req *reqs; /* every live request */
	struct shmx_op *free_ops;
	struct shmx_op_slab *slabs;
	int async_err;		  /* first error of a non-blocking transfer */
	int busy_polling;	  /* a thread is inside xport_poll */
	uint64_t wait_avg_ns;	  /* usual time to a completion (spin window) */
	struct shmx__keymap keys; /* keys held for ranges (grants.c) */
	struct shmx_hdr_map map;  /* the newest extent map seen (header.c) */

	/* Heartbeat thread. */
	pthread_t hb_thread;
	int hb_started;
	pthread_mutex_t hb_lock;
	pthread_cond_t hb_cond;
	int hb_stop;
	/* Lock tickets given up by waiters that timed out (locks.c),
	 * guarded by hb_lock. */
	struct shmx__lock_orphan *lock_orphans;
	/* Lock handles holding their lock, guarded by hb_lock: the
	 * heartbeat thread writes the holder record of a hold that lasts. */
	struct shmx_lock *held;
	unsigned lock_releasing; /* releases in flight (atomic counter) */
	/* Every lock handle of the context, freed at close (locks.c);
	 * guarded by lock. */
	struct shmx_lock *locks;
	unsigned nr_locks; /* how many; read unlocked by the heartbeat */

	/* The mailbox (mailbox.c), opened at the first messaging call under
	 * mbox_open_lock: NULL until then, or with mbox_err saying why it
	 * could not be opened.  Read with atomic loads. */
	struct shmx_mbox *mbox;
	int mbox_err;
	pthread_mutex_t mbox_open_lock;
	/* The pool long messages go through (messages.c), opened on first
	 * use; guarded by lock. */
	struct shmx_pool *msg_pool;
	/* Long sends hold msg_rw for reading, the sweep for blocks whose
	 * receiver left holds it for writing (messages.c).  msg_long_sent:
	 * a long message went to another member; msg_sweep_due: a member
	 * left since (both atomic). */
	pthread_rwlock_t msg_rw;
	int msg_long_sent, msg_sweep_due;

	/* Events for the application and the event fd (events.c): a ring
	 * of SHMX_EVENTS_MAX guarded by ev_lock, a leaf lock. */
	int event_fd;
	pthread_mutex_t ev_lock;
	struct shmx_event *ev_ring;
	unsigned ev_head, ev_count;
	uint64_t ev_lost; /* dropped since the application last looked */
};

/* rpc.c */
/*
 * One progress round with ctx->lock held: poll the transport once and
 * dispatch what completed.  Returns the number of completions handled,
 * the -errno that lost the context now, or -ENOTCONN once it is lost.
 */
/* events.c */
int shmx__events_init(struct shmx_ctx *ctx);
void shmx__events_fini(struct shmx_ctx *ctx);
/* Queue @ev for shmx_event_next (the oldest goes when the ring is full). */
void shmx__events_push(struct shmx_ctx *ctx, const struct shmx_event *ev);
/* One more, or one less, thing waits (the event fd's count). */
void shmx__ready_add(struct shmx_ctx *ctx);
void shmx__ready_take(struct shmx_ctx *ctx);

int shmx__progress_locked(struct shmx_ctx *ctx);
/*
 * Drive progress until @done(@arg) is true (evaluated with ctx->lock held),
 * the context fails, or @deadline_ns (monotonic) passes.  Returns 0,
 * ctx->failed, or -ETIMEDOUT.  Caller holds no lock.
 */
int shmx__progress_until(struct shmx_ctx *ctx, int (*done)(void *arg),
			 void *arg, uint64_t deadline_ns);
/*
 * Send @req (header filled except req_id/session/token) and wait up to
 * @timeout_ms for the reply.  Returns 0 with *rep filled and rep->hdr.status
 * already checked (a non-OK status is returned as its errno), or -errno.
 */
int shmx__rpc(struct shmx_ctx *ctx, struct shmx_msg *req, struct shmx_msg *rep,
	      int timeout_ms);
/* Mark the context lost (first reason wins).  Caller holds ctx->lock. */
void shmx__ctx_fail(struct shmx_ctx *ctx, int err);
/*
 * After an operation failed (ctx->broken) or the node stopped answering
 * (ctx->down_since): make sure the connection to the node works, making
 * a new one if the transport lost it (a key the node refused ends a
 * connection on verbs and on libfabric's tcp) and telling the node where
 * this member is now (RESUME; always, with a reconnect window); the
 * session goes on.  With a window, rounds are tried again with growing
 * pauses (20 ms to 1 s) until ctx->reconnect_ms after the break; a
 * RESUME whose reply names another start of shmnode takes the restart
 * in (keys, header, lock table).  One thread runs the rounds; another
 * that comes meanwhile waits for them until @deadline (-ETIMEDOUT).
 * Caller holds no lock.  0, -ETIMEDOUT, or -ENOTCONN: the context is
 * lost (ctx->failed says why).
 */
int shmx__reconnect(struct shmx_ctx *ctx, uint64_t deadline);
/*
 * Before a call sends anything to the node: while the connection is
 * being made again (ctx->down_since), wait for it until @deadline, or
 * make it (shmx__reconnect).  0, -ETIMEDOUT (still unreachable at
 * @deadline; the context goes on) or -ENOTCONN.  No lock held.
 */
int shmx__wait_node(struct shmx_ctx *ctx, uint64_t deadline);
/*
 * The connection broke or the node did not answer: with a reconnect
 * window, note when (ctx->down_since).  Lock held.
 */
void shmx__broke_locked(struct shmx_ctx *ctx);
/*
 * Learn where the lock table is (ctx->lock_base, with a RESUME at the
 * address the member has now) if no RESUME said it yet.  0 or -errno.
 */
int shmx__lock_table_learn(struct shmx_ctx *ctx);
/* Free the calls left on ctx->orphans (at close, transport closed). */
void shmx__rpc_release(struct shmx_ctx *ctx);

/* grants.c: the key map, ctx->keys (each takes ctx->lock). */
/* Put the key of a reply in the map (replacing what it overlaps). */
void shmx__grant_learn(struct shmx_ctx *ctx, const struct shmx_grant *g);
/* Drop the key of the range that holds @gaddr. */
void shmx__grant_forget(struct shmx_ctx *ctx, shmx_gaddr_t gaddr);
/* GRANT: the best key for @gaddr with at least @access (SHMX_ACC_*),
 * learnt and copied to *@g.  0 or -errno. */
int shmx__grant_get(struct shmx_ctx *ctx, shmx_gaddr_t gaddr, uint32_t access,
		    struct shmx_grant *g);

/* header.c: the header area, read one-sidedly. */
/* Learn the header's key from WELCOME, read the map and the registry's
 * size.  0 or -errno (-EBADMSG: not a header). */
int shmx__hdr_connect(struct shmx_ctx *ctx, uint64_t key, uint64_t rbase,
		      uint64_t size);
/* Read the map block (extents, root) until it checks.  0 or -errno. */
int shmx__hdr_fetch_map(struct shmx_ctx *ctx, struct shmx_hdr_map *m);
/* Member @id's entry, as the registry has it now: 0, -ENOENT (no such
 * id, or never written) or -errno. */
int shmx__hdr_member_get(struct shmx_ctx *ctx, uint32_t id,
			 struct shmx_hdr_member *e);
/* Read the map block and take it as ctx->map if newer (*@m: what was
 * read).  Caller holds no lock.  0 or -errno. */
int shmx__hdr_refresh(struct shmx_ctx *ctx, struct shmx_hdr_map *m);
/* Take @m as ctx->map if its generation is newer.  Lock held. */
void shmx__map_adopt_locked(struct shmx_ctx *ctx, const struct shmx_hdr_map *m);

/* segments.c: an attachment (struct shmx_seg of the API). */
struct shmx_seg {
	struct shmx_ctx *ctx;
	uint64_t id;
	shmx_gaddr_t base;
	uint64_t size;
	int rdonly; /* a read-only attachment */
	char name[SHMX_NAME_MAX];
};

/* data.c */
/* Complete one op of a request (progress engine, ctx->lock held). */
void shmx__op_complete(struct shmx_ctx *ctx, struct shmx_op *op, int status);
/* Free every request, op and slab at close, once nothing polls any more. */
void shmx__data_release(struct shmx_ctx *ctx);
/*
 * Raw access to a registration the node handed out by transport address
 * and key rather than by global address (the lock table): one operation
 * of at most SHMX_BOUNCE bytes, no key map, no GRANT.  Caller holds no
 * lock.  The blocking ones wait up to the context's timeout and return 0
 * or -errno as the data calls do (a timeout loses the context).
 * shmx__raw_write_post posts a write and does not wait for it: it lands
 * before any later operation of this context on an ordered transport;
 * its failure is only seen by later ones.
 */
int shmx__raw_cas(struct shmx_ctx *ctx, uint64_t raddr, uint64_t key,
		  uint64_t expected, uint64_t desired, uint64_t *old);
int shmx__raw_fadd(struct shmx_ctx *ctx, uint64_t raddr, uint64_t key,
		   uint64_t add, uint64_t *old);
int shmx__raw_read(struct shmx_ctx *ctx, uint64_t raddr, uint64_t key,
		   void *buf, size_t len);
int shmx__raw_write_post(struct shmx_ctx *ctx, uint64_t raddr, uint64_t key,
			 const void *buf, size_t len);
/*
 * Post a compare-and-swap no call waits for; @fn(@ctx, op, status) runs
 * when it completes, with ctx->lock held (op->result: the word before;
 * op->done_arg: @arg).  Caller holds ctx->lock (so @fn may post the next
 * one).  0, or -EAGAIN (the queue is full), -ENOTCONN, -ENOMEM.
 */
int shmx__raw_cas_post_locked(struct shmx_ctx *ctx, uint64_t raddr,
			      uint64_t key, uint64_t expected, uint64_t desired,
			      void (*fn)(struct shmx_ctx *, struct shmx_op *,
					 int),
			      void *arg);

/* locks.c */
struct shmx__lock_orphan;
/* Pass on the lock of every given-up ticket whose turn came (release it);
 * forget void ones.  Heartbeat thread, no lock held.  Returns how many
 * are still in line. */
int shmx__lock_orphans_run(struct shmx_ctx *ctx);
/* Drive the completions of releases in flight (their next swap, when
 * others took tickets).  Heartbeat thread, no lock held.  Returns how many
 * were in flight. */
int shmx__lock_releases_run(struct shmx_ctx *ctx);
/* Wait until no release of this context is in flight (before BYE, an
 * unreserve or a listing: the node judges by the word).  0 or -errno. */
int shmx__lock_settle(struct shmx_ctx *ctx);
/* A hold that lasts this long gets its holder record (for listings). */
#define SHMX_LOCK_RECORD_AFTER_NS 1000000ull
/* While the context has lock handles, the heartbeat thread looks at least
 * this often for holds whose record is due. */
#define SHMX_LOCK_RECORD_EVERY_NS 10000000ull
/* Write the holder record of every hold that has lasted
 * SHMX_LOCK_RECORD_AFTER_NS.  Heartbeat thread, no lock held.  Returns
 * the number of holds. */
int shmx__lock_records_run(struct shmx_ctx *ctx);
/* shmnode restarted: the lock table's key is @key and its slot 0 is at
 * @base now (it was at ctx->lock_base); move every handle and given-up
 * ticket there.  No lock held. */
void shmx__locks_rebase(struct shmx_ctx *ctx, uint64_t key, uint64_t base);
/* Free them all, and every lock handle (close, heartbeat stopped). */
void shmx__lock_orphans_free(struct shmx_ctx *ctx);

/* messages.c */
/* A member left: when this context sent long messages to others, give
 * the heartbeat thread a sweep to do.  Any thread, any lock held. */
void shmx__msg_member_left(struct shmx_ctx *ctx);
/* The sweep, when one is due: release the blocks of long messages this
 * context sent that no live receiver can take any more.  Heartbeat
 * thread, no lock held.  Returns how many it released, or -errno. */
int shmx__msg_sweep_run(struct shmx_ctx *ctx);
/* At close: release the blocks of long messages that came and were never
 * taken.  No lock held. */
void shmx__msg_drop_untaken(struct shmx_ctx *ctx);

#endif /* SHMX_EXT_CTX_H */
