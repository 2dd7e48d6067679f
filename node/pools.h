/* SPDX-License-Identifier: MIT */
/*
 * pools.h - shmnode's table of pools, the blocks allocated in them, and who
 * owns those blocks (docs/memory.md).
 *
 * Pure bookkeeping: no transport and no wire protocol.  Pools are carved
 * from a region allocator the caller owns; remote keys are got and dropped
 * through a struct node_keys (keys.h), so the table runs in unit tests
 * against a fake.  The managed memory is never read or written: every
 * record lives in shmnode's heap.  Not thread-safe: the caller (the server
 * loop) serialises every call on one table.
 *
 * Objects and keys:
 *  - a pool: a name, an id, [base, base + size) carved from the region at a
 *    4096-byte boundary, its own best-fit allocator (alloc.h), ONE
 *    read-only key over the whole pool, and the members that have it open
 *    (with a count per member: every open needs its close);
 *  - a block: an allocation of a pool, [start, start + len), with ONE
 *    read/write/atomic key over it, the member that allocated it, an owner
 *    set (empty = unowned) and an epoch (1 at allocation, +1 at every
 *    change of the owner set: a fencing token).  Every change of the owner
 *    set registers a NEW read/write key before it drops the old one, so a
 *    failure changes nothing and every holder of the old key is revoked.
 *
 * Members are node ids (nonzero u32).  The table does not know whether a
 * member is live: the server checks that (for example the owners of
 * node_block_own, -ESRCH) and calls node_pools_member_gone() when one
 * leaves.
 *
 * Errors: every call returns 0 or a negative errno and, on error, leaves
 * the table exactly as it was (and every key registered before the call
 * still registered, nothing more).  A failure of keys->reg is reported as
 * -ENOMEM whatever its own errno (the node is out of registrations).
 *
 * Cost, P = pools, B = blocks of the pool concerned, O = openers of a
 * pool, M = members holding memory: lookups by id, name or address,
 * allocation, release, grant and ownership changes are O(log P + log B +
 * log M); open and close add O(O); node_pools_member_gone and the
 * foreach calls are O(everything).
 */
#ifndef SHMX_NODE_POOLS_H
#define SHMX_NODE_POOLS_H

#include <stdint.h>

#include "alloc.h"
#include "keys.h"
#include "proto/proto.h"
#include "rbtree.h"

/* Open flags (the wire's values). */
#define NODE_POOL_CREAT SHMX_WIRE_CREAT /* create it when absent */
#define NODE_POOL_EXCL SHMX_WIRE_EXCL	/* with CREAT: fail when present */

/* Pools start at a multiple of this in the region. */
#define NODE_POOL_ALIGN ((uint64_t)4096)

/* Settings; 0 in a field means "no limit". */
struct node_pools_limits {
	uint64_t max_pool_size; /* bytes a pool may have */
	uint64_t member_cap;	/* bytes of blocks one member may hold */
};

/* The table.  Embed it; every field is private to pools.c. */
struct node_pools {
	struct shmx__alloc *region;   /* where pools are carved from */
	const struct node_keys *keys; /* remote keys */
	struct node_pools_limits limits;
	struct shmx__rb_root by_id;   /* pools by id */
	struct shmx__rb_root by_name; /* pools by name */
	struct shmx__rb_root by_addr; /* pools by base */
	struct shmx__rb_root charges; /* bytes held, by member */
	uint64_t next_id;	      /* ids are never reused */
	uint64_t nr_pools;
};

/*
 * A key and the range it is handed out for: what a GRANT reply carries
 * (the server adds the transport's remote base of @start).
 */
struct node_grant {
	uint64_t start;	 /* the object's first byte */
	uint64_t len;	 /* its length */
	uint64_t key;	 /* what the client presents */
	uint64_t epoch;	 /* the block's ownership epoch (1 for a pool) */
	unsigned access; /* NODE_KEY_RW, or NODE_KEY_READ */
	int owned;	 /* the block has owners (with RW: you are one) */
};

/* A pool, for stat and listings. */
struct node_pool_info {
	uint64_t id;
	char name[SHMX_NAME_MAX];
	uint64_t base;		    /* first byte */
	uint64_t size;		    /* bytes, a multiple of 8 */
	uint32_t creator;	    /* member that created it */
	uint32_t open_count;	    /* members that have it open */
	struct shmx__alloc_stat st; /* total, free, largest free block... */
};

/* A block, for listings. */
struct node_block_info {
	uint64_t start;
	uint64_t len;
	uint64_t pool;	    /* its pool's id */
	uint32_t creator;   /* member that allocated it */
	uint32_t holder;    /* member charged for it; 0 once that one left */
	uint64_t epoch;	    /* ownership epoch, from 1 */
	uint32_t nr_owners; /* 0 = unowned */
	uint32_t owners[SHMX_OWNERS_MAX]; /* ascending */
};

/*
 * Start an empty table that carves pools from @region and gets keys from
 * @keys (both must outlive the table; nothing is allocated yet).  Returns
 * 0, or -EINVAL when an argument (or keys->reg / keys->unreg) is NULL.
 */
int node_pools_init(struct node_pools *pp, struct shmx__alloc *region,
		    const struct node_keys *keys,
		    const struct node_pools_limits *limits);

/*
 * Destroy every pool and block: every key the table registered is
 * unregistered and every pool's range goes back to the region.  @pp is
 * left empty (calling it twice is harmless).  Returns nothing.
 */
void node_pools_fini(struct node_pools *pp);

/*
 * Open the pool @name (1..SHMX_NAME_MAX - 1 bytes of printable ASCII,
 * 0x20..0x7e) for @member, creating it when it is absent and @flags has
 * NODE_POOL_CREAT.  A new pool is @size bytes rounded up to a multiple of
 * 8, carved from the region at a NODE_POOL_ALIGN boundary, with one
 * read-only key over all of it.  Opening an existing pool: @size 0 takes
 * it whatever its size; any other @size must equal its size after
 * rounding.  Each successful call counts one open of @member (see
 * node_pool_close).  Fills *@id, *@created (1 when this call created it)
 * and *@ro (the read-only key over the whole pool, epoch 1); @created and
 * @ro may be NULL.
 * Returns 0, or
 *  -EINVAL  @member 0, bad name, unknown flag bits, EXCL without CREAT,
 *           CREAT with @size 0, or an existing pool of another size
 *  -EFBIG   @size over limits.max_pool_size
 *  -ENOENT  absent and no CREAT
 *  -EEXIST  CREAT | EXCL and present
 *  -ENOSPC  no room in the region
 *  -ENOMEM  out of memory, or the key could not be registered
 * Pool ids start at 1 and are never reused while the table lives.
 */
int node_pool_open(struct node_pools *pp, uint32_t member, const char *name,
		   uint64_t size, unsigned flags, uint64_t *id, int *created,
		   struct node_grant *ro);

/*
 * Take back one open of pool @id by @member.  The pool and its blocks stay
 * (until node_pool_destroy), even when nobody has it open.  Returns 0, or
 * -EINVAL (@member 0), -ENOENT (no such pool, or @member does not have it
 * open).
 */
int node_pool_close(struct node_pools *pp, uint64_t id, uint32_t member);

/*
 * How many opens of pool @id @member holds (0 when none or no such pool).
 */
uint64_t node_pool_opens(const struct node_pools *pp, uint64_t id,
			 uint32_t member);

/*
 * Destroy pool @id: drop its read-only key and give its range back to the
 * region; every open of it (by any member) ends.  Allowed to a member that
 * has it open, and only when no block is allocated in it.  Returns 0, or
 * -EINVAL (@member 0), -ENOENT (no such pool), -EPERM (@member does not
 * have it open), -EBUSY (blocks are allocated in it).
 */
int node_pool_destroy(struct node_pools *pp, uint64_t id, uint32_t member);

/*
 * Fill *@info for pool @id (any member may ask).  Returns 0, or -ENOENT.
 */
int node_pool_stat(const struct node_pools *pp, uint64_t id,
		   struct node_pool_info *info);

/*
 * Allocate @size bytes (rounded up to a multiple of 8) at a multiple of
 * @align (a power of two from 8 to SHMX_ALLOC_ALIGN_MAX; 0 means 8) in pool
 * @pool_id for @member, which must have the pool open, register a
 * read/write/atomic key over the block and charge its length to @member.
 * Fills *@g with the block, its key, NODE_KEY_RW and epoch 1.
 * Returns 0, or
 *  -EINVAL  @member 0, @size 0, bad @align
 *  -ENOENT  no such pool
 *  -EPERM   @member does not have the pool open
 *  -EDQUOT  @member would hold more than limits.member_cap bytes
 *  -ENOMEM  no free block fits (a @size over the pool's size included),
 *           out of memory, or the key could not be registered
 */
int node_pool_alloc(struct node_pools *pp, uint64_t pool_id, uint32_t member,
		    uint64_t size, uint64_t align, struct node_grant *g);

/*
 * Release the block that starts at @gaddr: its key is unregistered, then
 * its memory goes back to its pool and its length is uncharged.  Who may:
 *  - while the block is owned, only its owners (its allocator too only if
 *    it is one: ownership is exclusive, and freeing memory is a write);
 *  - while it is unowned, the member that allocated it, or any member once
 *    that one is gone (node_pools_member_gone), else nobody could free it.
 * *@len (may be NULL): the length the block had.
 * Returns 0, or
 *  -EINVAL  @member 0, or @gaddr inside a block but not its start
 *  -ENOENT  no block there (never allocated, released already, free
 *           space, outside every pool)
 *  -EPERM   @member may not release it
 */
int node_block_release(struct node_pools *pp, uint32_t member, uint64_t gaddr,
		       uint64_t *len);

/*
 * The best key @member may have for the block that holds @gaddr, over the
 * whole block: its read/write key while it is unowned or when @member is
 * an owner; for any other member the pool's read-only key (over the
 * block's range) when !@want_write.  No open of the pool is needed.
 * Returns 0 with *@g filled, or
 *  -EINVAL  @member 0
 *  -EFAULT  @gaddr is not inside a block (outside every pool, or free
 *           space of a pool: unallocated memory gets no key)
 *  -EACCES  @want_write, the block is owned and @member is not an owner
 */
int node_block_grant(const struct node_pools *pp, uint32_t member,
		     uint64_t gaddr, int want_write, struct node_grant *g);

/*
 * Make the unowned block that starts at @gaddr exclusive to @nodes[0..@n)
 * (1..SHMX_OWNERS_MAX distinct nonzero ids; @member, any member, need not
 * be one of them): a new read/write key is registered, then the old one is
 * unregistered (its holders are revoked), and the epoch grows by one.
 * Fills *@g with what node_block_grant(@member, @gaddr, 0) now returns:
 * the new key when @member is an owner, else the pool's read-only key.
 * Returns 0, or
 *  -EINVAL  @member 0, bad owner list, or @gaddr inside a block but not
 *           its start
 *  -ENOENT  no block starts at @gaddr
 *  -EBUSY   the block is owned already (see node_block_own_transfer)
 *  -ENOMEM  out of memory, or the new key could not be registered
 */
int node_block_own(struct node_pools *pp, uint32_t member, uint64_t gaddr,
		   const uint32_t *nodes, uint32_t n, struct node_grant *g);

/*
 * An owner of the block that starts at @gaddr hands it to the owner set
 * @nodes[0..@n) (which may include @member or not): re-keyed and epoch + 1
 * as for node_block_own, *@g likewise.  Returns 0, or -EINVAL, -ENOENT,
 * -ENOMEM as for node_block_own, or -EPERM (the block is unowned, or
 * @member is not an owner).
 */
int node_block_own_transfer(struct node_pools *pp, uint32_t member,
			    uint64_t gaddr, const uint32_t *nodes, uint32_t n,
			    struct node_grant *g);

/*
 * An owner makes the block that starts at @gaddr unowned again: re-keyed
 * (the owners' key is revoked; anyone may GRANT the new one), epoch + 1.
 * *@g gets the new read/write key.  Returns 0, or -EINVAL (@member 0, a
 * middle address), -ENOENT (no block starts there), -EPERM (unowned, or
 * @member is not an owner), -ENOMEM (the new key could not be registered).
 */
int node_block_disown(struct node_pools *pp, uint32_t member, uint64_t gaddr,
		      struct node_grant *g);

/*
 * @member has left: every open of it ends; the blocks it allocated stay
 * (shared memory outlives its allocator, as SysV segments do) but are no
 * longer charged to it (holder 0: see node_block_release); it leaves every
 * owner set, and each block whose owner set changed is re-keyed and gets
 * epoch + 1 (a set that becomes empty leaves the block unowned).  If a new
 * key cannot be registered the block keeps its old one (the owner set and
 * epoch still change).  Returns nothing.
 */
void node_pools_member_gone(struct node_pools *pp, uint32_t member);

/* Bytes of blocks charged to @member (for stats and the cap). */
uint64_t node_pools_member_held(const struct node_pools *pp, uint32_t member);

/*
 * Listings in pages: the pool with the smallest id >= @from_id, or the
 * block with the smallest start >= @from (over every pool); pass the last
 * id or start + 1 to go on.  Each returns 0 with *@info filled (zeroed
 * first, so records compare with memcmp), or -ENOENT when there is none.
 * node_block_next also walks over the empty pools it meets.
 */
int node_pool_next(const struct node_pools *pp, uint64_t from_id,
		   struct node_pool_info *info);
int node_block_next(const struct node_pools *pp, uint64_t from,
		    struct node_block_info *info);

/*
 * Call @fn(@arg, info) for each pool by increasing id, or for each block
 * by increasing address (of pool @pool_id, or of every pool when it is
 * 0).  @fn must not change @pp.  Stops at the first nonzero return of @fn.
 * Returns that value, 0 when all were visited, or -ENOENT (node_blocks_
 * foreach: no pool @pool_id).
 */
int node_pools_foreach(const struct node_pools *pp,
		       int (*fn)(void *arg, const struct node_pool_info *info),
		       void *arg);
int node_blocks_foreach(const struct node_pools *pp, uint64_t pool_id,
			int (*fn)(void *arg,
				  const struct node_block_info *info),
			void *arg);

/*
 * Check every invariant (trees, pools against the region, blocks against
 * their pool's allocator, owner sets, opens, charges).  O(everything); for
 * tests.  Returns 0, or -EUCLEAN when something is inconsistent.
 */
int node_pools_check(const struct node_pools *pp);

/*
 * Persistence (persist.c, docs/operations.md): a pool or a block as a flat
 * record of this machine's byte order, and back.  A record is a struct
 * below followed by its array (openers; owner node ids, ascending).
 */
struct node_opener_rec {
	uint32_t member;
	uint32_t pad;
	uint64_t count;
};

struct node_pool_rec {
	uint64_t id, base, size;
	uint32_t creator;
	uint32_t nr_openers; /* struct node_opener_rec that follow */
	char name[SHMX_NAME_MAX];
};

struct node_block_rec {
	uint64_t pool, start, len, epoch;
	uint32_t creator, holder;
	uint32_t nr_owners; /* uint32_t that follow */
	uint32_t pad;
};

/*
 * Write the record of pool @id (of the block that starts at @start) into
 * @buf when it fits in @cap bytes.  Returns its length (larger than @cap:
 * nothing written, call again with room), or 0 when there is none.
 */
size_t node_pool_save(const struct node_pools *pp, uint64_t id, void *buf,
		      size_t cap);
size_t node_block_save(const struct node_pools *pp, uint64_t start, void *buf,
		       size_t cap);
/*
 * Put back a pool (its range taken from the region, its key registered,
 * its opens counted) or a block of a pool put back before (its range taken
 * from the pool, its key registered, its holder charged), as saved.
 * Returns 0, -EBADMSG (not a valid record), -EEXIST (the id or name is
 * there), -ENOENT (a block's pool is not), the errors of shmx__alloc_take
 * (the range is not free), or -ENOMEM; nothing changes on error.
 */
int node_pool_load(struct node_pools *pp, const void *buf, size_t len);
int node_block_load(struct node_pools *pp, const void *buf, size_t len);
/* The id the next pool gets; raise it to @next (ids are never reused). */
uint64_t node_pools_next_id(const struct node_pools *pp);
void node_pools_set_next_id(struct node_pools *pp, uint64_t next);

#endif /* SHMX_NODE_POOLS_H */
