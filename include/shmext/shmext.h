/* SPDX-License-Identifier: MIT */
/*
 * shmext.h - the public interface of libshmext, the shared-memory OS
 * extension layer.  This header is the specification: every call states its
 * arguments, its return codes, its thread safety and who owns what.
 *
 * Conventions
 *  - Every call that can fail returns 0 on success or a negative errno.
 *    shmx_strerror() turns such a value into text.
 *  - Objects are opaque; constructors return int and hand the object back
 *    through an out-parameter.
 *  - Attribute structs carry comp_mask: set the bit of every field you fill
 *    in.  Unknown bits are rejected with -EINVAL.
 *  - A context (struct shmx_ctx) may be used from several threads at once.
 *    A non-blocking request (struct shmx_req) belongs to the thread that
 *    waits for it.
 *  - No call blocks forever: blocking calls give up after the context's
 *    timeout (SHMX_DEFAULT_TIMEOUT_MS unless set) with -ETIMEDOUT.
 *
 * Shared memory is named by global addresses (shmx_gaddr_t): byte offsets
 * into the memory node's exported region, the same on every compute node and
 * across restarts of a client.  64-bit words changed by shmx_cas64 and
 * shmx_fadd64 are in the memory node's byte order (little-endian on every
 * platform shmext supports).
 *
 * Diagnostics: the library writes warnings (e.g. "connection lost") to
 * stderr; the environment variable SHMEXT_LOG=error|warn|info|debug sets how
 * much (default warn).
 */
#ifndef SHMEXT_SHMEXT_H
#define SHMEXT_SHMEXT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(SHMX_BUILDING_LIBRARY)
#define SHMX_EXPORT __attribute__((visibility("default")))
#else
#define SHMX_EXPORT
#endif

#define SHMX_VERSION_MAJOR 0
#define SHMX_VERSION_MINOR 1
#define SHMX_VERSION_PATCH 0

/* The port shmnode listens on unless told otherwise. */
#define SHMX_DEFAULT_PORT 7470
/* The node address a client uses when neither attr nor SHMEXT_NODE names one. */
#define SHMX_DEFAULT_NODE "127.0.0.1:7470"
/* The libfabric provider used unless attr or SHMEXT_PROVIDER names one. */
#define SHMX_DEFAULT_PROVIDER "tcp;ofi_rxm"
/* How long a blocking call waits before it returns -ETIMEDOUT. */
#define SHMX_DEFAULT_TIMEOUT_MS 5000
/* Longest descriptive name of a member, including the terminating NUL. */
#define SHMX_NAME_MAX 64
/* Longest host name reported for a member, including the terminating NUL. */
#define SHMX_HOST_MAX 64

/* A global address: a byte of shared memory, named the same everywhere. */
typedef uint64_t shmx_gaddr_t;
/* A member's node id, unique among the live members of one shmnode. */
typedef uint32_t shmx_node_t;

/* The null global address, used as "no root set". */
#define SHMX_GADDR_NULL ((shmx_gaddr_t)UINT64_MAX)

struct shmx_ctx;
struct shmx_req;

/* --------------------------------------------------------------------- */
/* Context                                                                */
/* --------------------------------------------------------------------- */

enum shmx_open_attr_mask {
	SHMX_OPEN_ATTR_NODE = 1u << 0,
	SHMX_OPEN_ATTR_NAME = 1u << 1,
	SHMX_OPEN_ATTR_TRANSPORT = 1u << 2,
	SHMX_OPEN_ATTR_PROVIDER = 1u << 3,
	SHMX_OPEN_ATTR_KEY_FILE = 1u << 4,
	SHMX_OPEN_ATTR_TIMEOUT = 1u << 5,
};

/*
 * How to reach a memory node.  Every field is optional; a field whose bit is
 * not set in comp_mask (or that is NULL) falls back to the environment, then
 * to the built-in default:
 *
 *  node       "HOST:PORT" of shmnode        SHMEXT_NODE      SHMX_DEFAULT_NODE
 *  name       descriptive member name:      SHMEXT_NAME      "PROG-PID"
 *             1 to SHMX_NAME_MAX - 1 printable ASCII characters
 *  transport  "auto", "verbs" or "ofi"      SHMEXT_TRANSPORT "auto"
 *  provider   libfabric provider            SHMEXT_PROVIDER  "tcp;ofi_rxm"
 *  key_file   shared key file               SHMEXT_KEY_FILE  none
 *  timeout_ms blocking-call timeout         SHMEXT_TIMEOUT_MS 5000
 *  (none)     reconnect window, in ms       SHMEXT_RECONNECT_MS 10000
 *             (0: a lost node loses the context at once; see shmx_open)
 *
 * Transport "auto" takes verbs (rdma-core, NIC atomics) when this host has
 * an RDMA device with an active port and verbs reaches the node, else ofi
 * (libfabric, with the provider above); shmx_info says which and why.  The
 * node must run the same transport (shmnode's --transport, also "auto").
 */
struct shmx_open_attr {
	uint32_t comp_mask;
	const char *node;
	const char *name;
	const char *transport;
	const char *provider;
	const char *key_file;
	int timeout_ms;
};

/*
 * shmx_open - connect to a memory node and join its membership registry.
 * @attr: how to connect, or NULL for every default.
 * @ctx: receives the new context.
 *
 * Authenticates with the node (challenge and response over the shared key in
 * the key file; the key itself never crosses the wire) and receives a node
 * id, the region's size and the keys to reach it.
 *
 * Returns 0, or
 *  -EINVAL        bad attr (unknown comp_mask bit, malformed node address,
 *                 name too long or empty, timeout <= 0), or ctx is NULL
 *  -ENOENT        the key file does not exist
 *  -ECONNREFUSED  no shmnode answers at that address (within the timeout)
 *  -EACCES        the node refused the key, or requires one and none was given
 *  -EPERM         the node accepts only loopback clients and this is not one
 *  -EADDRINUSE    another live member already uses that name
 *  -EUSERS        the node has no room for another member
 *  -EPROTO        the node speaks another protocol version
 *  -ENODEV        the transport or provider is not available on this machine
 *  -ENOTSUP       (verbs) this process was forked from one that had already
 *                 opened a verbs context: RDMA device contexts do not survive
 *                 fork.  Fork first, or exec, then open.
 *  -ENOMEM        out of memory
 * Thread safety: may be called from any thread.
 * Fork: a context belongs to the process that opened it.  Never use it in a
 * forked child; with the ofi transport a child may open its own context as
 * long as the parent held none open at the fork (a context has threads).
 *
 * When the node goes away and comes back.  A context whose node stops
 * answering (a call or the heartbeat gets no reply within the timeout, a
 * send or a one-sided operation fails with its connection, or nothing has
 * come from the node for one and a half heartbeats) does not give up at
 * once: it connects again and sends RESUME, with pauses from 20 ms
 * doubling to 1 s, for the reconnect window (SHMEXT_RECONNECT_MS, default
 * 10000 ms, counted from when the node was found gone; 0 gives up at
 * once).  Meanwhile:
 *  - the call that found the node gone waits for it, at most the window
 *    and one timeout; calls other threads make meanwhile wait no longer
 *    than their own timeout (-ETIMEDOUT; the context goes on);
 *  - once the node answers, reads, writes, key requests and requests that
 *    change nothing are made again and succeed; a request that changes
 *    something (shmx_alloc, shmx_own, shmx_lock_reserve...) and was on its
 *    way is not sent twice: it says -ETIMEDOUT (the same shmnode: it may
 *    still be carried out) or -ECONNRESET (shmnode restarted: it may or
 *    may not have been); an atomic on its way says -ECONNRESET too (read
 *    the word to know);
 *  - shmnode restarted from its backing file (shmnode --backing) keeps
 *    this member's session: the same node id, blocks, ownerships, segment
 *    attachments, locks and root.  The library takes the restart in by
 *    itself (new keys, asked for again; the header; the lock table) and
 *    logs it at info level; a hold of a lock may pass on if the restart
 *    lasts past its lease (shmx_lock_release says -ESTALE);
 *  - when the window passes without an answer (a shmnode started again
 *    without --backing never answers: it does not know this member), or
 *    the node answers that it ended this member's session (this process
 *    was paused past the node's client timeout, or did not come back
 *    within it after a restart), the context is lost: the call says
 *    -ENOTCONN and so does every call after it.
 */
SHMX_EXPORT int shmx_open(const struct shmx_open_attr *attr,
			  struct shmx_ctx **ctx);

/*
 * shmx_close - leave the registry and free the context.
 * Outstanding non-blocking requests are cancelled and freed, and so are
 * the context's lock handles (the node ends their reservations and the
 * leases of their holds run out).  Passing NULL
 * does nothing.  Returns 0, or -ETIMEDOUT / -ENOTCONN when the goodbye could
 * not be delivered (the context is freed all the same).
 * Thread safety: no other thread may use @ctx during or after the call.
 */
SHMX_EXPORT int shmx_close(struct shmx_ctx *ctx);

/* shmx_self - this context's node id (never 0); 0 for a NULL context. */
SHMX_EXPORT shmx_node_t shmx_self(const struct shmx_ctx *ctx);

/*
 * shmx_strerror - text for a value returned by any shmx_ call: 0, a
 * negative errno, or a positive errno.  Never returns NULL; the string is
 * static.  Thread safety: safe.
 */
SHMX_EXPORT const char *shmx_strerror(int err);

/* What shmx_info reports about the connection. */
struct shmx_info {
	uint64_t region_size;	    /* bytes of shared memory now, in all
				     * extents (shmx_extents) */
	shmx_node_t self;	    /* my node id */
	uint32_t protocol_version;  /* wire protocol spoken */
	uint32_t member_count;	    /* live members right now */
	uint32_t authenticated;	    /* 1 if a key was verified */
	char node[128];		    /* "HOST:PORT" of shmnode */
	char transport[16];	    /* "verbs" or "ofi" */
	char provider[64];	    /* e.g. "tcp;ofi_rxm"; verbs: the device */
	char transport_reason[160]; /* why this transport (the auto choice) */
	char node_version[32];	    /* shmnode's version string */
};

/*
 * shmx_info - describe the connection.
 * Returns 0, -EINVAL (NULL argument), -ETIMEDOUT or -ENOTCONN.
 */
SHMX_EXPORT int shmx_info(struct shmx_ctx *ctx, struct shmx_info *info);

/* --------------------------------------------------------------------- */
/* Membership                                                             */
/* --------------------------------------------------------------------- */

struct shmx_member {
	shmx_node_t id;
	uint32_t pid;
	uint32_t uid;
	uint32_t gid;
	int64_t joined; /* join time, seconds since the epoch */
	char name[SHMX_NAME_MAX];
	char host[SHMX_HOST_MAX];
};

/*
 * shmx_members - list the live members, read one-sidedly from the header
 * area of the node's memory (no request to the node): each entry is
 * checked (sequence numbers, CRC32C) and read again while the node is
 * rewriting it, so no entry is ever torn.
 * @out: array of @max entries (may be NULL when @max is 0).
 * @count: receives the number of live members, which may exceed @max; the
 *         first min(@max, *count) entries of @out are filled, by id.
 * Returns 0, -EINVAL, -ENOMEM, -EAGAIN (an entry kept changing for a
 * thousand reads), -EBADMSG (the header area is damaged), -ETIMEDOUT or
 * -ENOTCONN.
 */
SHMX_EXPORT int shmx_members(struct shmx_ctx *ctx, struct shmx_member *out,
			     size_t max, size_t *count);

/*
 * shmx_lookup - the node id of the live member called @name.
 * Returns 0, -EINVAL, -ENOENT (no such member), -ETIMEDOUT or -ENOTCONN.
 */
SHMX_EXPORT int shmx_lookup(struct shmx_ctx *ctx, const char *name,
			    shmx_node_t *id);

/* --------------------------------------------------------------------- */
/* Root pointer                                                           */
/* --------------------------------------------------------------------- */

/*
 * shmx_root_get / shmx_root_set - the one global address every client can
 * start from (seed 000's "pointer to the root data structure").  It is
 * SHMX_GADDR_NULL until set.  shmx_root_set accepts SHMX_GADDR_NULL or an
 * address inside the memory; it is a request to the node, which publishes
 * the root in its header area; shmx_root_get reads it from there
 * one-sidedly, so a client that starts or restarts finds it at once.
 * Returns 0, -EINVAL (NULL argument), -EFAULT (address outside the memory),
 * -EBADMSG (damaged header), -ETIMEDOUT or -ENOTCONN.
 */
SHMX_EXPORT int shmx_root_get(struct shmx_ctx *ctx, shmx_gaddr_t *root);
SHMX_EXPORT int shmx_root_set(struct shmx_ctx *ctx, shmx_gaddr_t root);

/* --------------------------------------------------------------------- */
/* The memory's extents: growth and shrinking                             */
/* --------------------------------------------------------------------- */

/* One extent of the memory: global addresses [base, base + len). */
struct shmx_extent {
	shmx_gaddr_t base;
	uint64_t len;
};

/*
 * shmx_extents - the memory as this context knows it: extent 0 starts at
 * global address 0 (its first bytes are the node's read-only header area);
 * every grow adds one at higher addresses, with unmapped addresses between
 * them, so that no object spans two.  A context reads the whole map at
 * connect and then follows the MAP events the node pushes at every grow
 * and shrink (taken in by any call, by this one first, and by the
 * heartbeat at least every heartbeat period): no request to the node.
 * @out: @max entries (may be NULL when @max is 0), by increasing base;
 * @count: receives the number of extents (up to 128); @generation (may be
 * NULL): the map's generation, which grows with every change.
 * Returns 0, -EINVAL, or -ENOTCONN once the connection is lost.
 */
SHMX_EXPORT int shmx_extents(struct shmx_ctx *ctx, struct shmx_extent *out,
			     size_t max, size_t *count, uint64_t *generation);

/*
 * shmx_grow - ask the node to add @bytes (rounded up to 4 KiB, or to whole
 * huge pages on a node run with --hugepages) of memory as a new extent.
 * Nothing is registered with the fabric until pools and segments are made
 * there (registrations are per object).  Every connected member is
 * sent the new map before this returns, and this context holds it when it
 * returns: pools and segments can be made in the new memory at once.
 * Allowed to a member whose uid is 0 or the node's own (shmnode's admin
 * command `shmnode admin grow SIZE` does the same).
 * @base (may be NULL): the new extent's global address.
 * Returns 0, -EINVAL (@bytes 0, or past 2^64 when rounded), -EPERM (not
 * allowed to this member), -EFBIG (the memory would pass the node's
 * max-memory, by default its physical memory), -ENOSPC (the node has 128
 * extents already), -ENOMEM (the node cannot map that much, or the file
 * system of its backing file cannot hold it), -ETIMEDOUT
 * or -ENOTCONN.
 */
SHMX_EXPORT int shmx_grow(struct shmx_ctx *ctx, uint64_t bytes,
			  shmx_gaddr_t *base);

/*
 * shmx_shrink - ask the node to take @bytes (rounded up as by shmx_grow)
 * off the top of the memory: the newest extents first, an extent emptied is
 * unmapped, extent 0 keeps at least its header.  Only memory no object
 * uses can go: all of @bytes or nothing.  Same permission as shmx_grow.
 * Returns 0, -EINVAL, -EPERM, -EBUSY (a pool or segment lies there),
 * -ENOSPC (less than @bytes above the header), -ETIMEDOUT or -ENOTCONN.
 */
SHMX_EXPORT int shmx_shrink(struct shmx_ctx *ctx, uint64_t bytes);

/* --------------------------------------------------------------------- */
/* Data: one-sided reads, writes and atomics                              */
/* --------------------------------------------------------------------- */

/*
 * shmx_read / shmx_write - copy @len bytes between local memory and shared
 * memory at @gaddr, with one-sided RMA: the memory node's CPU is not on the
 * path.  Any alignment and any length, over memory that belongs to objects
 * (allocated blocks, pools, attached segments); a transfer that spans
 * several objects is split at their boundaries.  A zero-length call
 * succeeds without touching the fabric.  When shmx_write returns, the data
 * is in the node's memory and visible to every reader.
 *
 * Access is enforced by the fabric: each object has its own remote key,
 * and the library asks the node for it (one round trip) the first time
 * this context touches the object.  Blocks that are not owned, and
 * segments attached read-write, can be written by anyone who may; owned
 * blocks only by their owners (others may read); read-only attachments
 * only read.  An ownership change (or a release, a destroy, a freeze)
 * revokes every earlier key to the object and the node tells the members
 * that held one, whose libraries drop it before their next call: a write
 * then asks the node again and is refused (-EACCES), and the context
 * carries on.  A write already on its way with the old key is refused by
 * the fabric and the memory is unchanged; on verbs (and libfabric's tcp
 * provider) that refusal also ends the connection, and the library makes
 * a new one in the same session (the node is told where the member is
 * now), asks the node for the key again and repeats the transfer (reads
 * and writes may be repeated: they put the same bytes).  Not over
 * libfabric's verbs;ofi_rxm, which cannot make a new connection to the
 * same node: there the context is lost (-ENOTCONN).
 * Returns 0, or
 *  -EINVAL     NULL ctx, or NULL buf with a non-zero length
 *  -EFAULT     [gaddr, gaddr + len) is not inside one extent of the memory,
 *              or part of it is in no object (nothing is transferred)
 *  -EACCES     this member may not (an owned block, a read-only attach)
 *  -ECONNRESET the connection broke under the transfer three times in a
 *              row (each time a key revoked under it, or the fabric); the
 *              context goes on
 *  -ETIMEDOUT  no completion within the context's timeout (with a
 *              reconnect window: another thread was still reaching the
 *              node again when it passed; the context goes on)
 *  -ENOTCONN   the connection to the node is lost (the node went away, or
 *              could not be reached again after a break, within the
 *              reconnect window: see shmx_open)
 * Thread safety: safe; concurrent calls proceed in parallel.
 */
SHMX_EXPORT int shmx_read(struct shmx_ctx *ctx, shmx_gaddr_t gaddr, void *buf,
			  size_t len);
SHMX_EXPORT int shmx_write(struct shmx_ctx *ctx, shmx_gaddr_t gaddr,
			   const void *buf, size_t len);

/*
 * shmx_read_nb / shmx_write_nb - start a read or write and return at once.
 * @req receives a request handle that must be finished with shmx_wait or
 * shmx_test.  @buf must stay valid (and, for a read, untouched) until then.
 * Returns 0 (started), or the errors of shmx_read / shmx_write that can be
 * known before the transfer starts (-EINVAL, -EFAULT, -EACCES, -ENOTCONN,
 * -ENOMEM; asking the node for a key may take one round trip).  A
 * started transfer is not repeated: when its key was revoked under it,
 * shmx_wait gives -EACCES or -ECONNRESET (the connection is made again
 * first) and the caller decides whether to start it again.
 */
SHMX_EXPORT int shmx_read_nb(struct shmx_ctx *ctx, shmx_gaddr_t gaddr,
			     void *buf, size_t len, struct shmx_req **req);
SHMX_EXPORT int shmx_write_nb(struct shmx_ctx *ctx, shmx_gaddr_t gaddr,
			      const void *buf, size_t len,
			      struct shmx_req **req);

/*
 * shmx_wait - wait up to @timeout_ms (negative: the context's timeout) for
 * @req to finish.  On completion frees @req and returns the transfer's
 * status (0 or an error of shmx_read / shmx_write, except that a transfer
 * the fabric itself timed out returns -EIO).  Returns -ETIMEDOUT, and
 * only then, without freeing @req when it is still running; wait again or
 * close the context.  -EINVAL for a NULL request.
 */
SHMX_EXPORT int shmx_wait(struct shmx_req *req, int timeout_ms);

/*
 * shmx_test - check @req without blocking.  Returns -EINPROGRESS while it
 * runs; once finished frees @req and returns its status as shmx_wait does.
 */
SHMX_EXPORT int shmx_test(struct shmx_req *req);

/*
 * shmx_flush - wait until every read and write this context started before
 * the call has finished, and every write is visible at the node.
 * Returns 0, or the first error among those transfers, -EINVAL (NULL),
 * -ENOMEM, -ETIMEDOUT (the transfers did not finish within the context's
 * timeout; without a reconnect window the context is lost, and every
 * later call returns -ENOTCONN, with one it goes on once the node answers
 * again) or -ENOTCONN.  Requests still need shmx_wait / shmx_test to be freed.
 */
SHMX_EXPORT int shmx_flush(struct shmx_ctx *ctx);

/*
 * shmx_cas64 - atomic compare-and-swap of the 8-byte word at @gaddr,
 * executed at the memory node by the fabric: if the word equals @expected it
 * becomes @desired.  @old (may be NULL) receives the word's value before the
 * operation; the swap happened exactly when *old == @expected.
 * shmx_fadd64 - atomically add @add to the word and return its previous
 * value in @old (may be NULL).
 * Returns 0, -EINVAL (@gaddr not 8-byte aligned), or the errors of
 * shmx_read.  An atomic is repeated after a break only when it surely did
 * not run (the fabric refused its key, or the node has since replaced the
 * key it used); -ECONNRESET means the connection broke while it was in
 * flight with a key that is still good, so it may or may not have run
 * (read the word to know).  Thread safety: safe.
 */
SHMX_EXPORT int shmx_cas64(struct shmx_ctx *ctx, shmx_gaddr_t gaddr,
			   uint64_t expected, uint64_t desired, uint64_t *old);
SHMX_EXPORT int shmx_fadd64(struct shmx_ctx *ctx, shmx_gaddr_t gaddr,
			    uint64_t add, uint64_t *old);

/* --------------------------------------------------------------------- */
/* Pools and allocation                                                   */
/* --------------------------------------------------------------------- */

/*
 * A pool is a named, fixed-size stretch of the node's memory from which
 * members allocate contiguous blocks.  The allocator runs in shmnode (best
 * fit, coalescing, O(log n)); its bookkeeping is out of every client's
 * reach.  An allocation is shared memory: any member may read and write it
 * by its global address (the library asks the node for the key the first
 * time), until it is owned (shmx_own).
 */
struct shmx_pool;

/* Open flags of shmx_pool_open (and shmx_seg_open). */
#define SHMX_CREAT 0x1u	 /* create it if it does not exist */
#define SHMX_EXCL 0x2u	 /* with SHMX_CREAT: fail if it exists */
#define SHMX_RDONLY 0x4u /* shmx_seg_open: attach read-only */

/* Largest alignment shmx_alloc accepts (1 MiB). */
#define SHMX_ALIGN_MAX ((uint64_t)1 << 20)

/*
 * shmx_pool_open - open the pool @name (1 to SHMX_NAME_MAX - 1 printable
 * ASCII characters), creating it with @size bytes when @flags has
 * SHMX_CREAT and it does not exist.  A new pool is zeroed; a block keeps
 * whatever an earlier block of the same pool left there (as malloc).  @size 0 opens a pool whatever its
 * size.  The pool stays until shmx_pool_destroy, whoever opened it.
 * Returns 0 with *@pool set, or
 *  -EINVAL   bad name, flags, or @size 0 with SHMX_CREAT
 *  -ENOENT   no such pool and no SHMX_CREAT
 *  -EEXIST   SHMX_CREAT | SHMX_EXCL and it exists
 *  -ENOSPC   the node has no room for a pool of that size
 *  -EFBIG    the size is over the node's maximum pool size
 *  -ETIMEDOUT, -ENOTCONN, -ENOMEM
 * Thread safety: safe; the handle may be used by every thread of @ctx.
 */
SHMX_EXPORT int shmx_pool_open(struct shmx_ctx *ctx, const char *name,
			       uint64_t size, unsigned flags,
			       struct shmx_pool **pool);

/* shmx_pool_close - forget the handle (the pool and its blocks stay).
 * Returns 0, -EINVAL (NULL), -ETIMEDOUT or -ENOTCONN (the handle is freed
 * all the same). */
SHMX_EXPORT int shmx_pool_close(struct shmx_pool *pool);

/*
 * shmx_pool_destroy - give the pool's memory back to the node and free the
 * handle.  Returns 0, -EINVAL (NULL), -EBUSY (blocks are still allocated
 * in it: release them first), -EPERM (the node does not count this member
 * among the pool's openers), -ENOENT (another member destroyed it; the
 * handle is freed), -ETIMEDOUT, -ENOTCONN.  The handle stays valid after
 * -EBUSY and -EPERM.
 */
SHMX_EXPORT int shmx_pool_destroy(struct shmx_pool *pool);

struct shmx_pool_stat {
	uint64_t total;		 /* bytes */
	uint64_t free;		 /* bytes not allocated */
	uint64_t largest_free;	 /* the largest contiguous free block */
	uint64_t nr_alloc;	 /* allocated blocks */
	uint64_t nr_free_blocks; /* free fragments */
	uint32_t open_count;	 /* members that have it open */
	shmx_gaddr_t base;	 /* the pool's first byte */
};

/* shmx_pool_stat - the pool's numbers, now.  Returns 0, -EINVAL (NULL),
 * -ETIMEDOUT, -ENOTCONN, -ENOENT (destroyed meanwhile). */
SHMX_EXPORT int shmx_pool_stat(struct shmx_pool *pool,
			       struct shmx_pool_stat *st);

/*
 * shmx_alloc - allocate @size bytes (any size from 1 to the pool's; rounded
 * up to a multiple of 8), contiguous, starting at a multiple of @align (a
 * power of two up to SHMX_ALIGN_MAX; 0 means 8), and return its global
 * address in *@gaddr.  This member gets read, write and atomic access to
 * it at once.  Costs one round trip to the node.
 * Returns 0, or
 *  -EINVAL   size 0, bad alignment, NULL argument
 *  -ENOMEM   no free block of that size (and alignment) in the pool
 *  -EDQUOT   this member would hold more than the node allows one member
 *  -ENOENT   the pool was destroyed
 *  -ETIMEDOUT, -ENOTCONN
 */
SHMX_EXPORT int shmx_alloc(struct shmx_pool *pool, uint64_t size,
			   uint64_t align, shmx_gaddr_t *gaddr);

/*
 * shmx_release - give back the block that starts at @gaddr.  While the
 * block is owned, only its owners may; otherwise the member that allocated
 * it, or any member once that one has left.
 * Returns 0, or
 *  -ENOENT   no block there: never allocated, or already released
 *  -EINVAL   @gaddr is inside a block but not its start
 *  -EPERM    this member may not release it
 *  -ETIMEDOUT, -ENOTCONN
 */
SHMX_EXPORT int shmx_release(struct shmx_ctx *ctx, shmx_gaddr_t gaddr);

/* --------------------------------------------------------------------- */
/* Ownership                                                              */
/* --------------------------------------------------------------------- */

/*
 * shmx_own - make the block that starts at @gaddr exclusive to the @n
 * members in @nodes (1 to 64 distinct node ids; the caller need not be one
 * of them).  From then on only they can write it: the node revokes every
 * earlier write key to the block (the fabric refuses them) before it hands
 * the new key to the owners.  Non-owners may still read it.  *@epoch (may
 * be NULL) receives the block's ownership epoch, which grows by one at
 * every change of owners: a fencing token.
 * shmx_own_transfer - an owner passes the block to a new owner set; the
 * old owners' write access is revoked first.
 * shmx_disown - an owner makes the block shared again (everyone may write).
 * shmx_own_epoch - the current epoch of the block that holds @gaddr (any
 * address inside it), and whether this member is an owner (1 or 0 in
 * *@owner, may be NULL); -EFAULT when no block holds @gaddr.
 * Returns 0, or
 *  -ENOENT   no block starts at @gaddr (-EINVAL: inside a block)
 *  -EINVAL   @n is 0 or over 64, a node id is 0 or repeats, NULL
 *            argument (shmx_own_epoch: @epoch NULL)
 *  -EBUSY    shmx_own on a block that is already owned (use transfer)
 *  -EPERM    transfer or disown by a member that is not an owner
 *  -ESRCH    a node id in @nodes is not a live member
 *  -ETIMEDOUT, -ENOTCONN
 * A write by a member that is not an owner fails with -EACCES and leaves
 * the memory unchanged; one through a key taken before the change is
 * refused by the fabric (see shmx_write).  Thread safety: safe.
 */
SHMX_EXPORT int shmx_own(struct shmx_ctx *ctx, shmx_gaddr_t gaddr,
			 const shmx_node_t *nodes, unsigned n, uint64_t *epoch);
SHMX_EXPORT int shmx_own_transfer(struct shmx_ctx *ctx, shmx_gaddr_t gaddr,
				  const shmx_node_t *nodes, unsigned n,
				  uint64_t *epoch);
SHMX_EXPORT int shmx_disown(struct shmx_ctx *ctx, shmx_gaddr_t gaddr,
			    uint64_t *epoch);
SHMX_EXPORT int shmx_own_epoch(struct shmx_ctx *ctx, shmx_gaddr_t gaddr,
			       uint64_t *epoch, int *owner);

/* --------------------------------------------------------------------- */
/* Named segments                                                         */
/* --------------------------------------------------------------------- */

/*
 * A named segment is a stretch of the node's memory with System V
 * semantics (shmget, shmat, shmdt, shmctl): created once under a name with
 * a size and permission bits, attached by any member those bits allow,
 * read and written by its global address, and destroyed only after it was
 * removed and its last attachment ended.  A handle is one attachment.
 *
 * Permissions are checked by the node against the uid and gid this
 * process claimed when it joined (its real uid and primary gid), as Linux
 * does: the owner bits for the owner or the creator uid, else the group
 * bits for the owner or creator gid, else the other bits; a read-only
 * attach needs r, any other needs r and w; uid 0 passes every check.
 * The x bits are kept but mean nothing.
 *
 * A member that leaves or dies (no heartbeat within the node's client
 * timeout) is detached from every segment it held.
 */
struct shmx_seg;

/*
 * shmx_seg_open - attach the segment @name (1 to SHMX_NAME_MAX - 1
 * printable ASCII characters; a numeric SysV key is just a name, e.g.
 * "key:0x1234"), creating it when it does not exist and @flags has
 * SHMX_CREAT.
 * @size: creating, the segment's size in bytes (rounded up to a multiple
 *        of 8; it starts at a 4096-byte boundary, zeroed); attaching, 0 for any
 *        size, else at most the segment's size.
 * @flags: SHMX_CREAT, SHMX_EXCL (with SHMX_CREAT: fail if it exists),
 *        SHMX_RDONLY (attach for reading only; else read and write).
 * @mode: creating, its permission bits (0 to 0777; this member is its
 *        owner and creator, and must itself be allowed the access it
 *        asks for); attaching, ignored (but still at most 0777).
 * @seg: receives the attachment.
 * Returns 0 with *@seg set, or
 *  -EINVAL   NULL argument, bad name, unknown flag, SHMX_EXCL without
 *            SHMX_CREAT, @mode over 0777; creating: @size 0 or over the
 *            node's maximum segment size; attaching: @size over the
 *            segment's size
 *  -ENOENT   no segment of that name and no SHMX_CREAT
 *  -EEXIST   SHMX_CREAT | SHMX_EXCL and it exists
 *  -EACCES   the permission bits refuse this member the access
 *  -EBUSY    a read-write attach while the segment is frozen for a save
 *  -ENOSPC   the node has no room for a segment of that size
 *  -ENOMEM   out of memory (here or at the node), or the node is out of
 *            remote registrations
 *  -EIO      the node failed to hand out the segment's key (nothing is
 *            attached or created)
 *  -ETIMEDOUT, -ENOTCONN
 * Thread safety: safe; the handle may be used by every thread of @ctx.
 */
SHMX_EXPORT int shmx_seg_open(struct shmx_ctx *ctx, const char *name,
			      uint64_t size, unsigned flags, unsigned mode,
			      struct shmx_seg **seg);

/*
 * shmx_seg_addr / shmx_seg_size - the global address of the segment's
 * first byte, and its size in bytes.  No call to the node.  For a NULL
 * handle: SHMX_GADDR_NULL and 0.
 */
SHMX_EXPORT shmx_gaddr_t shmx_seg_addr(const struct shmx_seg *seg);
SHMX_EXPORT uint64_t shmx_seg_size(const struct shmx_seg *seg);

/*
 * shmx_seg_close - detach (shmdt) and free the handle.  The segment stays
 * unless it was removed and this was its last attachment, in which case
 * the node destroys it.  Returns 0, -EINVAL (NULL), -ETIMEDOUT or
 * -ENOTCONN (the handle is freed all the same; a member that is gone is
 * detached by the node).
 */
SHMX_EXPORT int shmx_seg_close(struct shmx_seg *seg);

/*
 * shmx_seg_remove - remove the segment (shmctl IPC_RMID): its name is free
 * at once (a new segment may be created under it, and opening the name no
 * longer finds this one); the segment and its memory stay while anyone is
 * attached and go at the last detach.  @seg stays attached and valid
 * (close it as usual).  Removing twice is harmless.  Allowed to the
 * owner uid, the creator uid and uid 0.
 * Returns 0, or -EINVAL (NULL), -EPERM (this member's uid may not),
 * -ETIMEDOUT, -ENOTCONN.
 */
SHMX_EXPORT int shmx_seg_remove(struct shmx_seg *seg);

/* What shmx_seg_stat reports (SysV struct shmid_ds, and more). */
struct shmx_seg_stat {
	shmx_gaddr_t addr;	      /* first byte */
	uint64_t size;		      /* bytes */
	uint32_t uid, gid;	      /* owner */
	uint32_t mode;		      /* permission bits, 0..0777 */
	uint32_t cuid, cgid;	      /* creator (never changes) */
	shmx_node_t creator_node;     /* member that created it */
	shmx_node_t last_attach_node; /* 0 = never (SysV shm_lpid) */
	shmx_node_t last_detach_node; /* 0 = never */
	uint32_t nattch;	      /* attachments, every member's */
	int removed;		      /* 1: name gone, freed at last detach */
	/* Last attach, last detach, last change (create, set, remove):
	 * seconds since the epoch, 0 = never. */
	int64_t atime, dtime, ctime;
	char name[SHMX_NAME_MAX]; /* kept after removal */
};

/*
 * shmx_seg_stat - the segment's numbers, now (shmctl IPC_STAT).  Works
 * after shmx_seg_remove too.  Returns 0, -EINVAL (NULL), -ETIMEDOUT,
 * -ENOTCONN.
 */
SHMX_EXPORT int shmx_seg_stat(struct shmx_seg *seg, struct shmx_seg_stat *st);

/*
 * shmx_seg_set - give the segment the owner @uid / @gid and the permission
 * bits @mode (shmctl IPC_SET); the creator stays the creator, and ctime is
 * set.  Attachments already made keep their access.  Allowed to the owner
 * uid, the creator uid and uid 0.
 * Returns 0, or -EINVAL (NULL, @mode over 0777, @uid or @gid is
 * (uint32_t)-1), -EPERM (this member's uid may not), -ETIMEDOUT, -ENOTCONN.
 */
SHMX_EXPORT int shmx_seg_set(struct shmx_seg *seg, uint32_t uid, uint32_t gid,
			     unsigned mode);

/*
 * Progress of a long call (save, load): @done of @total bytes so far.
 * Called from the calling thread, after each chunk; it must not call into
 * the same segment.
 */
typedef void (*shmx_progress_fn)(void *arg, uint64_t done, uint64_t total);

/*
 * shmx_seg_save - write a consistent snapshot of the segment to the file
 * @path (format: docs/segfile.md; mode 0600; atomically replaces @path on
 * success, leaves it untouched on failure).  Writers are held off by the
 * fabric while the image is read: the node freezes the segment (its
 * read/write key is dropped, so no write can land and read-write attaches
 * and write grants answer -EBUSY), this member reads it through the
 * read-only key in 1 MiB chunks (memory use is bounded), then the node
 * thaws it under a new key.  Another member that writes the segment during
 * a save is refused (-EBUSY from the node, or by the fabric with the end of
 * its connection when it still held the old key: see shmx_write).
 * @fn (may be NULL) reports progress.
 * Returns 0, or -EINVAL (NULL), -EBUSY (being saved by another member),
 * the file's errors (-ENOENT: no such directory, -EACCES, -ENOSPC, ...),
 * -ETIMEDOUT, -ENOTCONN.
 */
SHMX_EXPORT int shmx_seg_save(struct shmx_seg *seg, const char *path,
			      shmx_progress_fn fn, void *arg);

/*
 * shmx_seg_load - write the contents saved in @path into the segment (an
 * attachment for reading and writing).  The file is checked whole before
 * anything is written: a damaged file or a file of another segment size
 * changes nothing.  Loading does not apply the file's mode or owner.
 * @fn (may be NULL) reports progress.
 * Returns 0, or -EINVAL (NULL; or @path is not a segment file), -EMSGSIZE
 * (the file holds another size than the segment's), -EBADMSG (damaged:
 * checksum or length wrong), -EPROTO (a newer file format), -EACCES (a
 * read-only attachment), -EBUSY (frozen for a save), the file's errors
 * (-ENOENT, -EACCES), -ETIMEDOUT, -ENOTCONN.
 */
SHMX_EXPORT int shmx_seg_load(struct shmx_seg *seg, const char *path,
			      shmx_progress_fn fn, void *arg);

/* --------------------------------------------------------------------- */
/* Listings (ipcs)                                                        */
/* --------------------------------------------------------------------- */

/* A pool, as shmx_pool_next reports it. */
struct shmx_pool_info {
	uint64_t id; /* the node's id of the pool, from 1 */
	char name[SHMX_NAME_MAX];
	shmx_gaddr_t base;	 /* first byte */
	uint64_t size;		 /* bytes */
	shmx_node_t creator;	 /* member that created it */
	uint32_t open_count;	 /* members that have it open */
	uint64_t free;		 /* bytes not allocated */
	uint64_t largest_free;	 /* largest contiguous free block */
	uint64_t nr_alloc;	 /* allocated blocks */
	uint64_t nr_free_blocks; /* free fragments */
};

/* An allocated block, as shmx_block_next reports it. */
struct shmx_block_info {
	shmx_gaddr_t start;
	uint64_t len;		/* bytes (the size asked for, rounded to 8) */
	uint64_t pool;		/* its pool's id */
	shmx_node_t creator;	/* member that allocated it */
	shmx_node_t holder;	/* member charged for it; 0 once it left */
	uint64_t epoch;		/* ownership epoch, from 1 */
	uint32_t nr_owners;	/* 0: unowned (shared) */
	shmx_node_t owners[64]; /* ascending */
};

/* A named segment, as shmx_seg_next reports it (removed ones too). */
struct shmx_seg_info {
	uint64_t id; /* the node's id of the segment, from 1 */
	struct shmx_seg_stat st;
};

/*
 * shmx_pool_next / shmx_block_next / shmx_seg_next - walk the node's
 * objects, one round trip each: the pool or segment with the smallest id
 * >= @from, or the block with the smallest start >= @from.  Start from 0;
 * go on from the last id + 1 (or the last block's start + 1).  Every
 * member may list everything (as /proc/sysvipc does).
 * Returns 0 with *@info filled, or -ENOENT (no more), -EINVAL (NULL),
 * -ETIMEDOUT, -ENOTCONN.  Thread safety: safe.
 */
SHMX_EXPORT int shmx_pool_next(struct shmx_ctx *ctx, uint64_t from,
			       struct shmx_pool_info *info);
SHMX_EXPORT int shmx_block_next(struct shmx_ctx *ctx, shmx_gaddr_t from,
				struct shmx_block_info *info);
SHMX_EXPORT int shmx_seg_next(struct shmx_ctx *ctx, uint64_t from,
			      struct shmx_seg_info *info);

/* --------------------------------------------------------------------- */
/* Global locks (docs/locks.md)                                           */
/* --------------------------------------------------------------------- */

/*
 * A global lock is a 64-bit lock word in the memory node's lock table,
 * changed only by the fabric's atomics (fetch-and-add to take a ticket,
 * compare-and-swap to release).  An uncontended acquire and release are
 * two remote atomics and no message to shmnode.  Waiting is first come,
 * first served (a ticket queue, readers admitted together); the queue is
 * rebuilt in arrival order after every 4096 acquisitions and after a
 * lease runs out (docs/locks.md states the bound).
 *
 * Leases: a hold lasts at most the lock's lease (SHMX_LOCK_LEASE_MS unless
 * set when the lock is created, or shmnode's --lock-lease).  Past it the
 * holder no longer holds the lock: a waiter that has seen no progress for
 * the lease takes it over, so a holder that died, hung or lost its
 * connection blocks the others for at most about one lease.
 *
 * Fences: every acquire returns a fence (never 0), a number that grows with every
 * acquisition of that lock and across takeovers.  Hand it to whatever the
 * lock protects so it can refuse a holder whose lease ran out (its fence
 * is lower than one it has seen); shmx_lock_check says whether a fence is
 * still held.
 *
 * A handle (struct shmx_lock) holds one reservation of the lock and at
 * most one hold at a time; give each thread that takes the lock its own
 * handle (reserve the same name again).  Calls on one handle are not
 * thread-safe; different handles are.
 */
struct shmx_lock;

/* The lease a lock gets unless its creator sets one. */
#define SHMX_LOCK_LEASE_MS 1000

enum shmx_lock_mode {
	SHMX_LOCK_EXCLUSIVE = 1, /* one holder: writers */
	SHMX_LOCK_SHARED = 2,	 /* any number of holders: readers */
};

enum shmx_lock_attr_mask {
	SHMX_LOCK_ATTR_LEASE = 1u << 0,
};

/* How to create a lock (used only by the call that creates it). */
struct shmx_lock_attr {
	uint32_t comp_mask;
	uint32_t lease_ms; /* 1 .. 3600000; shmnode's --lock-lease if unset */
};

/*
 * shmx_lock_reserve - reserve a global lock id.  With @name (1 to
 * SHMX_NAME_MAX - 1 printable ASCII characters) the lock of that name,
 * created if there is none yet: every member that reserves the name gets
 * the same lock.  With @name NULL a new anonymous lock; others reach it by
 * its id (shmx_lock_id, shmx_lock_open).  @attr (may be NULL) applies
 * when this call creates the lock.  Each handle is one reservation; the
 * lock exists while any member holds a reservation (a member that leaves
 * or dies gives up its reservations).
 * shmx_lock_open - reserve the existing lock @id.
 * Returns 0 with *@lock set, or -EINVAL (bad name, attr or NULL), -ENOENT
 * (shmx_lock_open: no lock has that id), -ENOSPC (the node's lock table is
 * full: shmnode's --max-locks), -ENOMEM, -ETIMEDOUT, -ENOTCONN.  Thread
 * safety: safe.
 */
SHMX_EXPORT int shmx_lock_reserve(struct shmx_ctx *ctx, const char *name,
				  struct shmx_lock **lock);
SHMX_EXPORT int shmx_lock_reserve_attr(struct shmx_ctx *ctx, const char *name,
				       const struct shmx_lock_attr *attr,
				       struct shmx_lock **lock);
SHMX_EXPORT int shmx_lock_open(struct shmx_ctx *ctx, uint64_t id,
			       struct shmx_lock **lock);

/*
 * shmx_lock_unreserve - give up this handle's reservation and free the
 * handle; the id is released with the last reservation.  Refused with
 * -EBUSY, the handle kept, while the lock is held or waited for by anyone.
 * Returns 0, -EBUSY, -EINVAL (NULL or not a lock handle), -ETIMEDOUT,
 * -ENOTCONN (the handle is freed: the node gave the reservation up with
 * the session).
 */
SHMX_EXPORT int shmx_lock_unreserve(struct shmx_lock *lock);

/* The lock's id (nonzero; the same on every member), or 0 for NULL. */
SHMX_EXPORT uint64_t shmx_lock_id(const struct shmx_lock *lock);

/*
 * shmx_lock_acquire - take the lock in @mode, waiting in line up to
 * @timeout_ms (< 0: the context's timeout).  @fence (may be NULL) receives
 * the hold's fence.
 * shmx_lock_try - take it only if that needs no waiting.
 * Returns 0, or
 *  -EBUSY      (try) held in a conflicting mode, or others wait
 *  -ETIMEDOUT  (acquire) not granted within @timeout_ms; the place in line
 *              is given up (the context passes the lock on if it comes)
 *  -EDEADLK    this handle holds the lock already
 *  -EINVAL     NULL, not a lock handle, or a bad @mode
 *  -ENOTCONN   the context is lost
 * A connection that breaks and is made again meanwhile costs the waiter
 * its place in line (it takes another ticket; the one it may have taken
 * holds the line up for a lease when its turn comes).
 * Thread safety: per handle (see above).
 */
SHMX_EXPORT int shmx_lock_acquire(struct shmx_lock *lock, int mode,
				  int timeout_ms, uint64_t *fence);
SHMX_EXPORT int shmx_lock_try(struct shmx_lock *lock, int mode,
			      uint64_t *fence);

/*
 * shmx_lock_release - release the hold of this handle.  Within the lease
 * it posts the releasing compare-and-swap and returns; the lock is free
 * for others when that lands (this context's later try, unreserve,
 * listing and close wait for it).  Writes of the critical section must be
 * complete before (blocking shmx_write is; wait for non-blocking ones).
 * Returns 0, or
 *  -EPERM      this handle does not hold the lock
 *  -ESTALE     the lease ran out before the release: the lock was taken
 *              over (or could have been), the fence is stale; the handle
 *              no longer holds it either way
 *  -EINVAL     NULL or not a lock handle
 *  -ETIMEDOUT, -ENOTCONN (the lock passes on when its lease ends)
 */
SHMX_EXPORT int shmx_lock_release(struct shmx_lock *lock);

/*
 * shmx_lock_check - does this handle still hold the lock with @fence,
 * within its lease?  Reads the lock word (one remote read).  Returns 0,
 * -ESTALE (not any more, or never: another fence), -EPERM (not held by
 * this handle), -EINVAL, -ETIMEDOUT, -ENOTCONN.
 */
SHMX_EXPORT int shmx_lock_check(struct shmx_lock *lock, uint64_t fence);

/*
 * Most holders a listing names (the rest are only counted).  A holder is
 * named once its hold is about 1 ms old: its context's heartbeat thread
 * writes its record then (docs/locks.md), so brief holds are counted, not
 * named.
 */
#define SHMX_LOCK_HOLDERS_MAX 4

/* A lock, as shmx_lock_next reports it. */
struct shmx_lock_info {
	uint64_t id;
	char name[SHMX_NAME_MAX]; /* "" for an anonymous lock */
	uint32_t lease_ms;
	uint32_t reservations; /* handles reserving it, on every member */
	shmx_node_t creator;
	int mode; /* 0 free (or not known: see holding), SHMX_LOCK_EXCLUSIVE
		   * or SHMX_LOCK_SHARED */
	uint32_t holding;    /* holds granted and not released */
	uint32_t nr_holders; /* of them, those named in holders[] */
	struct {
		shmx_node_t node;
		uint64_t fence;
		uint64_t since_ns; /* realtime (CLOCK_REALTIME) of the grant,
				    * on the holder's clock */
	} holders[SHMX_LOCK_HOLDERS_MAX];
	uint32_t waiters; /* tickets taken and not yet granted */
	uint64_t fence;	  /* the fence of the latest acquisition */
	uint64_t word;	  /* the raw lock word, for debugging */
};

/*
 * shmx_lock_next - the lock with the smallest id >= @from (walk from 0,
 * then last id + 1), read by shmnode from its lock table.  Returns 0,
 * -ENOENT (no more), -EINVAL, -ETIMEDOUT, -ENOTCONN.  Thread safety: safe.
 */
SHMX_EXPORT int shmx_lock_next(struct shmx_ctx *ctx, uint64_t from,
			       struct shmx_lock_info *info);

/* --------------------------------------------------------------------- */
/* Signals and messages                                                   */
/* --------------------------------------------------------------------- */

/*
 * Members signal and message each other directly over the fabric
 * (docs/messages.md); shmnode is not a relay.  A context has a mailbox:
 * an endpoint that listens where the other members can reach it,
 * published in its member entry.  It opens at the context's first call of
 * any function below (shmx_event_fd included); a member that never made
 * one cannot be sent to (-ESRCH; one that joined less than 2 s ago is
 * waited for that long).  A sender connects to a destination's mailbox on
 * first use.
 *
 * Delivery is reliable and in order per sender: signals and messages from
 * one sender are taken in the order it sent them (signals through
 * shmx_signal_wait, messages through shmx_msg_recv).  Flow control: one
 * sender may have at most the destination's window of signals and
 * messages sent and not yet taken (SHMEXT_MSG_WINDOW, default
 * SHMX_MSG_WINDOW_DEFAULT); a sender at the window waits for the receiver
 * to take some, up to its timeout, and nothing is ever dropped.  So a
 * receiver holds at most window x senders items, each at most
 * SHMX_MSG_INLINE_MAX bytes; larger messages wait in shared memory.
 *
 * Errors of every send:
 *  -EINVAL     a bad argument (NULL context, signo 0 or > SHMX_SIGNO_MAX)
 *  -ESRCH      @dest is not a live member, or it has no mailbox (it
 *              made no messaging call)
 *  -EHOSTDOWN  @dest left or died before it took delivery
 *  -EAGAIN     (SHMX_MSG_NONBLOCK) the destination's window is full
 *  -ETIMEDOUT  the window stayed full for the context's timeout
 *  -EMSGSIZE   longer than SHMX_MSG_MAX
 *  -ENOTCONN   this context lost its node
 * and the error the mailbox failed to open with, when it did not (the
 * context works for everything else).
 */

/* The largest signal number. */
#define SHMX_SIGNO_MAX 65535u
/* The longest message. */
#define SHMX_MSG_MAX ((size_t)64 << 20)
/* Messages up to this long travel inside the send; longer ones through
 * shared memory. */
#define SHMX_MSG_INLINE_MAX 4048u
/* Signals and messages one sender may have unread at a receiver, unless
 * the receiver's SHMEXT_MSG_WINDOW says otherwise (1..65536). */
#define SHMX_MSG_WINDOW_DEFAULT 64u

/* Send flags. */
#define SHMX_MSG_NONBLOCK 0x1u /* -EAGAIN instead of waiting for room */
#define SHMX_MSG_MOVE 0x2u     /* send_region: hand the ownership over */

/* What one destination of a broadcast made of it. */
struct shmx_send_status {
	shmx_node_t dest;
	int status; /* 0 or -errno, as a send to @dest alone */
};

/*
 * shmx_signal - send signal @signo (1..SHMX_SIGNO_MAX) with @value to
 * member @dest (which may be this context itself).  Returns 0 once it is
 * in @dest's mailbox, or an error above.  Thread safety: safe.
 */
SHMX_EXPORT int shmx_signal(struct shmx_ctx *ctx, shmx_node_t dest,
			    uint32_t signo, uint64_t value);

/*
 * shmx_signal_all - shmx_signal to every other member live at the call.
 * @st (may be NULL): array of @max statuses, by destination; @count (may
 * be NULL): receives the number of destinations.  Returns 0 when every
 * destination has it, else the error of the first that does not.
 */
SHMX_EXPORT int shmx_signal_all(struct shmx_ctx *ctx, uint32_t signo,
				uint64_t value, struct shmx_send_status *st,
				size_t max, size_t *count);

struct shmx_signal_info {
	shmx_node_t src; /* the sender */
	uint32_t signo;
	uint64_t value;
};

/*
 * shmx_signal_wait - take the oldest signal that waits, waiting up to
 * @timeout_ms for one (0: only look; < 0: the context's timeout).
 * Returns 0, -ETIMEDOUT (none came), -EINVAL, or the mailbox's error.
 */
SHMX_EXPORT int shmx_signal_wait(struct shmx_ctx *ctx, int timeout_ms,
				 struct shmx_signal_info *info);

/* A received message (shmx_msg_recv); free it with shmx_msg_free. */
struct shmx_message {
	shmx_node_t src; /* the sender */
	uint32_t flags;	 /* SHMX_MSG_REGION, SHMX_MSG_MOVE */
	void *data;	 /* the bytes (NULL for a region or an empty one) */
	size_t len;	 /* their number */
	/* SHMX_MSG_REGION: the sender's reservation, not copied: data is
	 * NULL, and gaddr and len name it.  With SHMX_MSG_MOVE this member
	 * now owns it alone (shmx_release frees it). */
	shmx_gaddr_t gaddr;
};
#define SHMX_MSG_REGION 0x100u

/*
 * shmx_msg_send - send @len bytes at @buf (0..SHMX_MSG_MAX) to @dest.
 * Up to SHMX_MSG_INLINE_MAX bytes travel in the send itself; longer ones
 * are written to shared memory (the pool named by SHMEXT_MSG_POOL,
 * default "shmext-messages", created when first needed) and handed to the
 * receiver, which reads and frees them.  Nothing is left in the pool
 * when the receiver goes without taking them: it frees them at
 * shmx_close, and when it died the sender frees them once it hears that
 * it left.  @flags: SHMX_MSG_NONBLOCK.
 * Returns 0 once it is in @dest's mailbox, an error above, or -ENOSPC
 * (the message pool has no room).  Thread safety: safe.
 */
SHMX_EXPORT int shmx_msg_send(struct shmx_ctx *ctx, shmx_node_t dest,
			      const void *buf, size_t len, unsigned flags);

/* shmx_msg_send_all - shmx_msg_send to every other live member; as
 * shmx_signal_all. */
SHMX_EXPORT int shmx_msg_send_all(struct shmx_ctx *ctx, const void *buf,
				  size_t len, unsigned flags,
				  struct shmx_send_status *st, size_t max,
				  size_t *count);

/*
 * shmx_msg_send_region - hand [@gaddr, @gaddr + @len), part of a
 * reservation of this member's, to @dest without copying: the receiver
 * gets a message with SHMX_MSG_REGION set, and reads or writes the memory
 * itself.  With SHMX_MSG_MOVE the reservation's ownership goes to @dest
 * alone first (shmx_own_transfer): from then on this member cannot write
 * it.  @flags: SHMX_MSG_MOVE, SHMX_MSG_NONBLOCK.  Returns as
 * shmx_msg_send, and as shmx_own_transfer for a move.
 */
SHMX_EXPORT int shmx_msg_send_region(struct shmx_ctx *ctx, shmx_node_t dest,
				     shmx_gaddr_t gaddr, size_t len,
				     unsigned flags);

/*
 * shmx_msg_recv - take the oldest message that waits, waiting up to
 * @timeout_ms (0: only look; < 0: the context's timeout).  *@msg receives
 * it.  Returns 0, -ETIMEDOUT, -EINVAL, -ENOMEM, an error of shmx_read for
 * a message in shared memory (it is then dropped), or the mailbox's error.
 */
SHMX_EXPORT int shmx_msg_recv(struct shmx_ctx *ctx, int timeout_ms,
			      struct shmx_message **msg);

/* shmx_msg_free - free a message from shmx_msg_recv (NULL: nothing). */
SHMX_EXPORT void shmx_msg_free(struct shmx_message *msg);

/* --------------------------------------------------------------------- */
/* Events                                                                 */
/* --------------------------------------------------------------------- */

/* What happened (shmx_event_next). */
enum shmx_event_type {
	SHMX_EVENT_JOIN = 1,  /* member @node joined */
	SHMX_EVENT_LEAVE = 2, /* member @node left, or the node dropped it */
	SHMX_EVENT_MAP = 3,   /* the memory grew or shrank: the map of
			       * @generation, @total bytes (shmx_extents) */
	SHMX_EVENT_LOST = 4,  /* @count older events were dropped (the queue
			       * was full): look again (shmx_members,
			       * shmx_extents) */
};

struct shmx_event {
	int type; /* enum shmx_event_type */
	shmx_node_t node;
	uint64_t generation;
	uint64_t total;
	uint64_t count;
};

/* Events a context keeps for its application; the oldest go beyond. */
#define SHMX_EVENTS_MAX 1024

/*
 * shmx_event_next - take the oldest membership or memory event (the node
 * tells every member of the others' joins and leaves and of every grow and
 * shrink).  They come in whenever the context talks to its node: at once
 * while it is in use, and within the heartbeat interval (shmnode's
 * --heartbeat, 500 ms by default) while it is idle.  Returns 0, -EAGAIN
 * (none waits) or -EINVAL.  Thread safety: safe.
 */
SHMX_EXPORT int shmx_event_next(struct shmx_ctx *ctx, struct shmx_event *ev);

/*
 * shmx_event_fd - a file descriptor that is readable (POLLIN, EPOLLIN)
 * while signals, messages or events wait in this context; it works with
 * poll, select and epoll, level-triggered.  Do not read it or close it: it
 * is the context's.  It opens the mailbox too (signals and messages).
 * Returns the descriptor, or -EINVAL.
 */
SHMX_EXPORT int shmx_event_fd(struct shmx_ctx *ctx);

/* --------------------------------------------------------------------- */
/* The node's statistics                                                  */
/* --------------------------------------------------------------------- */

/* Most entries of struct shmx_stats's op[] and errs[]. */
#define SHMX_STATS_OPS 64
#define SHMX_STATS_ERRS 32

/* Requests of one kind (a protocol opcode) the node answered. */
struct shmx_stats_op {
	char name[24];	   /* the protocol's name: "alloc", "seg_open"... */
	uint32_t opcode;   /* its number (docs/protocol.md) */
	uint64_t requests; /* answered */
	uint64_t errors;   /* answered with an error */
};

/* Error answers of one kind, every request together. */
struct shmx_stats_err {
	char name[40];	/* the node's word for it: "not found"... */
	int err;	/* what a call returns for it: a negative errno */
	uint64_t count; /* answers */
};

/*
 * What shmx_stats reports: counters since the node started, and figures
 * as they are now.  The same numbers as shmnode's --metrics endpoint
 * (docs/operations.md has their Prometheus names).
 */
struct shmx_stats {
	uint64_t uptime_ms; /* since shmnode started */
	/* Control messages (the data plane never passes the node's CPU). */
	uint64_t msgs_received;	 /* every message that came in */
	uint64_t bytes_received; /* their bytes */
	uint64_t msgs_sent;	 /* sends that completed */
	uint64_t bytes_sent;
	/* Memory handed out and taken back. */
	uint64_t allocs;	    /* blocks allocated (shmx_alloc) */
	uint64_t alloc_bytes;	    /* their bytes (rounded as allocated) */
	uint64_t releases;	    /* blocks released (shmx_release) */
	uint64_t release_bytes;	    /* their bytes */
	uint64_t segs_created;	    /* named segments created */
	uint64_t seg_bytes_created; /* their bytes */
	/* Members. */
	uint64_t members_joined;  /* contexts opened */
	uint64_t members_left;	  /* closed, saying goodbye */
	uint64_t members_expired; /* silent past the client timeout */
	uint32_t members;	  /* live now */
	uint32_t max_members;	  /* the node's slots */
	/* Objects now. */
	uint64_t pools;
	uint64_t blocks;   /* in every pool */
	uint64_t segments; /* removed ones still attached count too */
	/* Global locks now, as their lock words say. */
	uint32_t locks;	       /* reserved (in the lock table) */
	uint32_t lock_slots;   /* the table's size (--max-locks) */
	uint32_t locks_held;   /* locks with a hold granted */
	uint32_t lock_holds;   /* holds granted, every lock */
	uint32_t lock_waiters; /* acquirers waiting, every lock */
	/* The memory and its allocator (where pools and segments come
	 * from; the header area is not in it). */
	uint64_t memory;	      /* bytes in every extent */
	uint64_t region_total;	      /* bytes the allocator manages */
	uint64_t region_free;	      /* free bytes */
	uint64_t region_largest_free; /* the largest free block */
	uint64_t region_free_blocks;  /* free blocks (fragments) */
	double fragmentation; /* 1 - largest free / free; 0: none free */
	/* Requests by kind: every opcode the node counts, by number. */
	uint32_t nr_ops;
	struct shmx_stats_op op[SHMX_STATS_OPS];
	/* Error answers by kind, each error status the node has. */
	uint32_t nr_errs;
	struct shmx_stats_err errs[SHMX_STATS_ERRS];
};

/*
 * shmx_stats - the node's counters and figures (one request to the node).
 * The node counts a request once it answers it: HELLO, and requests
 * refused before they are looked at (malformed, or not allowed in the
 * sender's state), are in msgs_received only; this call's own request is
 * not in the numbers it returns.  A name the library does not know (a
 * newer node) reads "opN" or "status N".
 * Returns 0, -EINVAL (NULL argument), -EOPNOTSUPP (a node older than this
 * call), -EBADMSG (an answer that does not add up), -ETIMEDOUT or
 * -ENOTCONN.
 * Thread safety: safe.
 */
SHMX_EXPORT int shmx_stats(struct shmx_ctx *ctx, struct shmx_stats *st);

#ifdef __cplusplus
}
#endif

#endif /* SHMEXT_SHMEXT_H */
