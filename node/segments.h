/* SPDX-License-Identifier: MIT */
/*
 * segments.h - shmnode's table of named shared-memory segments with SysV
 * shmget/shmat/shmdt/shmctl semantics (docs/memory.md, seeds 002 and 004).
 *
 * Pure bookkeeping: no transport and no wire protocol.  Segments are carved
 * from a region allocator the caller owns, at a NODE_SEG_ALIGN boundary;
 * remote keys are got and dropped through a struct node_keys (keys.h), so
 * the table runs in unit tests against a fake.  The managed memory is never
 * read or written: every record lives in shmnode's heap.  Not thread-safe:
 * the caller (the server loop) serialises every call on one table.
 *
 * A segment has an id (from 1, never reused while the table lives), a name
 * (unique among the segments not removed), a size, an owner uid/gid and 9
 * permission bits (only r and w matter), its creator's uid/gid and node,
 * the last node that attached and the last that detached, the attachments
 * (per member, read-write and read-only counted apart), attach / detach /
 * change times, and two keys over all of it:
 *  - the read/write/atomic key (NODE_KEY_RW), for read-write attachments;
 *  - the read-only key (NODE_KEY_READ), for read-only attachments.
 * Both are registered when the segment is created (not lazily), so a
 * failure is reported by the open that creates it and an attach never
 * needs a registration.  Both are unregistered when the segment's memory
 * is freed; the read/write key is also dropped by a freeze and replaced by
 * a new one at the thaw.  Detaching does not revoke a key (keys are per
 * segment, not per member): it ends the member's right to GRANT one.
 *
 * Lifetime (SysV IPC_RMID): node_seg_remove hides the name at once (a new
 * segment may be created under it); the segment, its memory and its keys
 * stay while it has attachments and go with the last detach (or at once
 * when it has none).  A removed segment keeps its id, so its attachers can
 * still stat, set, grant, freeze and detach it.
 *
 * Permissions: the member's authenticated uid/gid against the segment's
 * as Linux ipcperms() does: uid == owner uid or creator uid selects the
 * owner bits, else gid == owner gid or creator gid the group bits, else
 * the other bits; a read-only attach needs r, any other needs r and w.
 * uid 0 (root) passes every check (CAP_IPC_OWNER / CAP_SYS_ADMIN).  Only
 * the primary gid counts: the node knows no supplementary groups.
 *
 * Members are node ids (nonzero u32).  The table does not know whether a
 * member is live: the server calls node_segs_member_gone() when one leaves.
 * Times are seconds passed in by the caller (@now), 0 meaning "never".
 *
 * Errors: every call returns 0 or a negative errno and, on error, leaves
 * the table exactly as it was (and every key registered before the call
 * still registered, nothing more).  A failure of keys->reg is reported as
 * -ENOMEM whatever its own errno (the node is out of registrations).
 *
 * Cost, S = segments (removed ones still attached included), A = members
 * attached to the segment concerned: lookups by id, name or address are
 * O(log S); open, close and grant add O(A); member_gone, foreach and fini
 * are O(S * A).
 */
#ifndef SHMX_NODE_SEGMENTS_H
#define SHMX_NODE_SEGMENTS_H

#include <stdint.h>

#include "alloc.h"
#include "keys.h"
#include "proto/proto.h"
#include "rbtree.h"

/* Open flags (the wire's values). */
#define NODE_SEG_CREAT SHMX_WIRE_CREAT	 /* create it when absent */
#define NODE_SEG_EXCL SHMX_WIRE_EXCL	 /* with CREAT: fail when present */
#define NODE_SEG_RDONLY SHMX_WIRE_RDONLY /* attach read-only */

/* Permission bits a mode may have (rwxrwxrwx; x is kept, never checked). */
#define NODE_SEG_MODE_MASK 0777u

/* Segments start at a multiple of this in the region. */
#define NODE_SEG_ALIGN ((uint64_t)4096)

/* Settings; 0 in a field means "no limit". */
struct node_segs_limits {
	uint64_t max_seg_size; /* bytes a segment may have (SysV SHMMAX) */
};

/* The table.  Embed it; every field is private to segments.c. */
struct node_segs {
	struct shmx__alloc *region;   /* where segments are carved from */
	const struct node_keys *keys; /* remote keys */
	struct node_segs_limits limits;
	struct shmx__rb_root by_id;   /* every segment, by id */
	struct shmx__rb_root by_name; /* segments not removed, by name */
	struct shmx__rb_root by_addr; /* every segment, by gaddr */
	uint64_t next_id;	      /* ids are never reused */
	uint64_t nr_segs;	      /* in by_id */
};

/*
 * A key and the range it is handed out for: what an open or a GRANT reply
 * carries (the server adds the transport's remote base and epoch 1).
 */
struct node_seg_grant {
	uint64_t start;	 /* the segment's first byte (gaddr) */
	uint64_t len;	 /* its size */
	uint64_t key;	 /* what the client presents */
	unsigned access; /* NODE_KEY_RW, or NODE_KEY_READ */
};

/* What node_seg_open hands back. */
struct node_seg_attach {
	uint64_t id;		 /* the segment's id */
	int created;		 /* 1 when this call created it */
	struct node_seg_grant g; /* range, key and access of the attach */
};

/* A segment, for stat and listings (SysV struct shmid_ds and more). */
struct node_seg_info {
	uint64_t id;
	char name[SHMX_NAME_MAX];    /* kept after removal, for listings */
	uint64_t gaddr;		     /* first byte */
	uint64_t size;		     /* bytes, a multiple of 8 */
	uint32_t uid, gid, mode;     /* owner, and permission bits <= 0777 */
	uint32_t cuid, cgid;	     /* creator (never changes) */
	uint32_t creator_node;	     /* member that created it */
	uint32_t last_attach_node;   /* 0 = never */
	uint32_t last_detach_node;   /* 0 = never */
	uint32_t nattch;	     /* attachments, every member's */
	int removed;		     /* name gone, freed at last detach */
	int frozen;		     /* read/write key dropped (save) */
	uint32_t frozen_by;	     /* member that froze it; 0 = none/gone */
	int64_t atime, dtime, ctime; /* seconds; 0 = never */
};

/*
 * Start an empty table that carves segments from @region and gets keys from
 * @keys (both must outlive the table; nothing is allocated yet); @limits
 * may be NULL (no limits).  Returns 0, or -EINVAL when @st, @region, @keys
 * or keys->reg / keys->unreg is NULL.
 */
int node_segs_init(struct node_segs *st, struct shmx__alloc *region,
		   const struct node_keys *keys,
		   const struct node_segs_limits *limits);

/*
 * Destroy every segment, attached or not: every key the table registered is
 * unregistered and every segment's range goes back to the region.  @st is
 * left empty (calling it twice is harmless).  Returns nothing.
 */
void node_segs_fini(struct node_segs *st);

/*
 * shmget + shmat: attach @member, authenticated as @uid/@gid, to the
 * segment @name (1..SHMX_NAME_MAX - 1 bytes of printable ASCII, 0x20..0x7e;
 * a numeric SysV key is a name such as "key:0x1234" to the table),
 * creating it when it is absent and @flags has NODE_SEG_CREAT.
 *
 * Creating: @size bytes rounded up to a multiple of 8, carved from the
 * region at a NODE_SEG_ALIGN boundary; owner and creator @uid/@gid,
 * creator node @member, permission bits @mode, ctime @now; both keys are
 * registered.  The creator's own attach is checked against @mode like any
 * other (mode 0400 and a read-write open fail with -EACCES, and nothing is
 * created), except for root.
 *
 * Attaching an existing segment: @mode is ignored; @size 0 takes it
 * whatever its size, any other @size must not exceed its size (SysV: a
 * smaller one is fine).
 *
 * Every success counts one attachment of @member (read-only with
 * NODE_SEG_RDONLY, else read-write; a member may attach many times, each
 * needs its node_seg_close), sets the last attach node to @member and
 * atime to @now, and fills *@out: the id, whether this call created it,
 * the range and the key of the access granted (the read-only key with
 * NODE_SEG_RDONLY, else the read/write key).
 *
 * Returns 0, or (the first that applies, in this order)
 *  -EINVAL  @member 0, @out NULL, bad name, unknown flag bits, EXCL
 *           without CREAT, @mode over 0777
 *  -ENOENT  absent and no CREAT
 * when creating:
 *  -EINVAL  @size 0, or over limits.max_seg_size after rounding (SysV)
 *  -EACCES  @mode does not give @uid the access asked for
 *  -ENOMEM  out of memory
 *  -ENOSPC  no room in the region (or its metadata could not be had)
 *  -ENOMEM  a key could not be registered (the carve is undone)
 * when present (as Linux ipcget_public() and shmat() check):
 *  -EEXIST  CREAT | EXCL
 *  -EINVAL  @size over its size
 *  -EACCES  its mode does not give @uid/@gid the access
 *  -EBUSY   it is frozen and a read-write attach was asked for
 *  -EOVERFLOW  it has 2^32 - 1 attachments already
 *  -ENOMEM  out of memory
 */
int node_seg_open(struct node_segs *st, uint32_t member, uint32_t uid,
		  uint32_t gid, const char *name, uint64_t size, unsigned flags,
		  uint32_t mode, int64_t now, struct node_seg_attach *out);

/*
 * shmdt: end one attachment of @member to segment @id; set the last detach
 * node to @member and dtime to @now.  Which one, when the member holds
 * both kinds: a read-only one first (the wire's SEG_CLOSE does not say; a
 * member keeps its strongest access while it holds any read-write
 * attachment).  When the segment is removed and this was its last
 * attachment, both keys are unregistered, its memory goes back to the
 * region and its id is forgotten.  Returns 0, or -EINVAL (@member 0, or
 * @member has no attachment to it), -ENOENT (no segment @id).
 */
int node_seg_close(struct node_segs *st, uint32_t member, uint64_t id,
		   int64_t now);

/*
 * As node_seg_close, but ends an attachment of the kind the member names:
 * read-only when @ro, else read-write (a member holding both that closes
 * its read-write handle must lose write access).  -EINVAL also when
 * @member holds no attachment of that kind.
 */
int node_seg_close_kind(struct node_segs *st, uint32_t member, uint64_t id,
			int ro, int64_t now);

/*
 * How many attachments @member holds to segment @id, read-write in *@rw
 * and read-only in *@ro (either may be NULL; 0 when none or no such
 * segment).  Returns the sum.
 */
uint64_t node_seg_attachments(const struct node_segs *st, uint64_t id,
			      uint32_t member, uint32_t *rw, uint32_t *ro);

/*
 * IPC_STAT: fill *@info for segment @id (removed ones included) or for the
 * segment called @name (removed ones are not found by name).  No
 * permission check (the server may add one).  Returns 0, or -ENOENT.
 */
int node_seg_stat(const struct node_segs *st, uint64_t id,
		  struct node_seg_info *info);
int node_seg_stat_name(const struct node_segs *st, const char *name,
		       struct node_seg_info *info);

/*
 * IPC_SET: give segment @id owner @new_uid/@new_gid and permission bits
 * @mode, and set ctime to @now.  Allowed to @uid == the owner uid, the
 * creator uid, or 0 (root); the creator stays the creator.  Works on a
 * removed segment too (its attachers still hold its id).  Returns 0, or
 * -EINVAL (@mode over 0777, @new_uid or @new_gid is (uint32_t)-1), -ENOENT
 * (no segment @id), -EPERM (@uid may not).
 */
int node_seg_set(struct node_segs *st, uint32_t uid, uint64_t id,
		 uint32_t new_uid, uint32_t new_gid, uint32_t mode,
		 int64_t now);

/*
 * IPC_RMID: mark segment @id removed.  Its name disappears at once (a later
 * open by that name does not find it, and may create a new segment); ctime
 * is set to @now; its memory and keys go when its last attachment ends, at
 * once when it has none.  Removing a removed segment again changes nothing
 * and returns 0 (as Linux does).  Permission as for node_seg_set.  Returns
 * 0, or -ENOENT (no segment @id), -EPERM.
 */
int node_seg_remove(struct node_segs *st, uint32_t uid, uint64_t id,
		    int64_t now);

/*
 * @member has left or died: end every attachment it holds (each touched
 * segment gets last detach node @member and dtime @now; removed segments
 * whose last attachment this was are freed), and thaw the segments it froze
 * (a new read/write key each).  A thaw whose key cannot be registered
 * leaves that segment frozen with frozen_by 0, so any member may thaw it
 * later; everything else is still done.  Returns 0, or -ENOMEM when some
 * thaw failed so; -EINVAL for @member 0 (nothing done).
 */
int node_segs_member_gone(struct node_segs *st, uint32_t member, int64_t now);

/*
 * Freeze segment @id for a consistent save: its read/write key is
 * unregistered (every writer's key stops working at once) and, until the
 * thaw, read-write opens and write grants answer -EBUSY.  @member must
 * hold an attachment to it (either kind) and is recorded as the freezer.
 * *@ro (may be NULL) gets the read-only key over the segment, to read the
 * image through.  Returns 0, or -EINVAL (@member 0, or @member is not
 * attached), -ENOENT (no segment @id), -EBUSY (frozen already: one freeze
 * at a time per segment).
 */
int node_seg_freeze(struct node_segs *st, uint32_t member, uint64_t id,
		    struct node_seg_grant *ro);

/*
 * Thaw segment @id: register a new read/write key (a new key value; the
 * old one stays dead) and end the freeze; writers GRANT again.  Allowed to
 * the member that froze it, or to any member once that one is gone.
 * Returns 0, or -EINVAL (@member 0, or @id is not frozen), -ENOENT (no
 * segment @id), -EPERM (frozen by another member), -ENOMEM (the key could
 * not be registered: it stays frozen).
 */
int node_seg_thaw(struct node_segs *st, uint32_t member, uint64_t id);

/*
 * The key @member may have for the segment that holds @gaddr (a client
 * re-fetching one), over the whole segment: with @want_write the read/write
 * key; without, the read/write key when @member holds a read-write
 * attachment and the segment is not frozen, else the read-only key.
 * Returns 0 with *@g filled, or
 *  -EINVAL  @member 0 or @g NULL
 *  -EFAULT  @gaddr is inside no segment (the server tries other tables)
 *  -EACCES  @member holds no attachment to it, or only read-only ones and
 *           @want_write
 *  -EBUSY   @want_write and the segment is frozen
 */
int node_seg_grant(const struct node_segs *st, uint32_t member, uint64_t gaddr,
		   int want_write, struct node_seg_grant *g);

/*
 * Listings (shmext ipcs), removed segments included: node_seg_next fills
 * *@info (zeroed first, so records compare with memcmp) for the segment
 * with the smallest id >= @from_id (pass the last id + 1 to go on) and
 * returns 0, or -ENOENT when there is none.  node_segs_foreach calls
 * @fn(@arg, info) for each segment by increasing id; @fn must not change
 * @st; it stops at the first nonzero return of @fn and returns that value,
 * or 0 when all were visited.
 */
int node_seg_next(const struct node_segs *st, uint64_t from_id,
		  struct node_seg_info *info);
int node_segs_foreach(const struct node_segs *st,
		      int (*fn)(void *arg, const struct node_seg_info *info),
		      void *arg);

/* How many segments the table holds (removed ones still attached too). */
uint64_t node_segs_count(const struct node_segs *st);

/*
 * Check every invariant (trees and their orders, names, attachment counts,
 * keys, each segment against the region allocator).  O(S * A + S log S);
 * for tests.  Returns 0, or -EUCLEAN when something is inconsistent.
 */
int node_segs_check(const struct node_segs *st);

/*
 * Persistence (persist.c): a segment as a flat record of this machine's
 * byte order (struct node_seg_rec, then nr_att attachment records), and
 * back.  node_seg_save returns the record's length (larger than @cap:
 * nothing written) or 0 when there is no segment @id.  node_seg_load puts
 * a saved segment back (range taken from the region, keys registered: the
 * read/write one unless frozen) and returns 0, -EBADMSG (not a valid
 * record), -EEXIST (its id, or its name while not removed, is there), the
 * errors of shmx__alloc_take, or -ENOMEM; nothing changes on error.
 */
struct node_seg_att_rec {
	uint32_t member, nr_rw, nr_ro;
};

struct node_seg_rec {
	struct node_seg_info info;
	uint32_t nr_att;
	uint32_t pad;
};

size_t node_seg_save(const struct node_segs *st, uint64_t id, void *buf,
		     size_t cap);
int node_seg_load(struct node_segs *st, const void *buf, size_t len);
/* The id the next segment gets; raise it to @next. */
uint64_t node_segs_next_id(const struct node_segs *st);
void node_segs_set_next_id(struct node_segs *st, uint64_t next);

#endif /* SHMX_NODE_SEGMENTS_H */
