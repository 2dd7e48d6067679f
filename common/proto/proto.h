/* SPDX-License-Identifier: MIT */
/*
 * proto.h - the shmext wire protocol: every control message between a
 * client (libshmext) and shmnode, documented field by field, with pure
 * encode, decode and validate functions.
 *
 * The data plane (reads, writes, atomics) is one-sided RMA and carries no
 * messages; this is the control plane only.
 *
 * Encoding: every field is fixed-width little-endian, packed, in the order
 * listed.  Strings are a length (u8) followed by that many bytes, no NUL,
 * every byte printable ASCII (0x20..0x7e).  Address blobs are a u8 length and
 * opaque bytes.  A message never exceeds SHMX_WIRE_MAX bytes.
 *
 * Header (40 bytes, SHMX_HDR_LEN), at the start of every message:
 *   off size field
 *     0   4  magic    SHMX_WIRE_MAGIC ("SHMX" in memory order)
 *     4   2  version  SHMX_PROTO_VERSION of the sender
 *     6   2  opcode   enum shmx_opcode
 *     8   4  length   whole message, header included
 *    12   4  status   replies: enum shmx_status; requests: 0
 *    16   8  req_id   chosen by the requester, echoed in the reply
 *    24   4  session  the sender's node id (0 before the handshake is done)
 *    28   4  flags    SHMX_HDR_REPLY, SHMX_HDR_EVENT; other bits
 *                     reserved, sent as 0, rejected when set
 *    32   8  token    session token handed out in CHALLENGE; 0 in HELLO
 *
 * A reply whose status is not SHMX_ST_OK has no payload.
 *
 * Handshake: HELLO -> CHALLENGE, AUTH -> WELCOME.  The node answers HELLO
 * with a fresh nonce, the new session id and its token; the client answers
 * with HMAC-SHA256 over both nonces (see auth.h); the node verifies it and
 * proves in WELCOME that it knows the key too.  Every later request carries
 * session and token; a request whose pair does not match a live session is
 * answered with SHMX_ST_NO_SESSION.
 *
 * Version negotiation: the header and the HELLO payload are frozen across
 * versions, so a node can always read a HELLO's address and answer a
 * client of another version with SHMX_ST_VERSION (-EPROTO at the client).
 *
 * Versions (a changelog; reserved bits are never reused):
 *   1  first version: handshake, bye, ping, info, members, lookup, root.
 *   2  memory management (docs/memory.md): pools, allocation, grants of
 *      remote keys, ownership, named segments; status codes 15..23.
 *      Global locks (docs/locks.md): opcodes 35..37.
 *      Messages between members (docs/messages.md): opcode 38; the
 *      MEMBER event (39).
 *   3  restarts from a backing file: WELCOME's boot, RESUME's reply.
 *      The node's counters and figures: STATS (40).
 */
#ifndef SHMX_PROTO_H
#define SHMX_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "proto/header.h"
#include "shmext/shmext.h"

#define SHMX_WIRE_MAGIC 0x584d4853u /* 'S' 'H' 'M' 'X' little-endian */
#define SHMX_PROTO_VERSION 3
#define SHMX_HDR_LEN 40
#define SHMX_WIRE_MAX 4096
#define SHMX_HDR_REPLY 0x1u
/* An event: sent by the node unasked (REVOKE, MAP), never answered.  Only event
 * opcodes carry it, and they always do. */
#define SHMX_HDR_EVENT 0x2u
#define SHMX_NONCE_LEN 32
#define SHMX_MAC_LEN 32
#define SHMX_WIRE_ADDR_MAX 128
#define SHMX_VERSION_STR_MAX 32
/* Members per MEMBERS reply: 24 * (24 + 2 + 63 + 63) + 52 < SHMX_WIRE_MAX. */
#define SHMX_MEMBERS_PER_MSG 24

enum shmx_opcode {
	SHMX_OP_HELLO = 1,
	SHMX_OP_AUTH = 2,
	SHMX_OP_BYE = 3,
	SHMX_OP_PING = 4,
	SHMX_OP_INFO = 5,
	SHMX_OP_MEMBERS = 6,
	SHMX_OP_LOOKUP = 7,
	SHMX_OP_ROOT_GET = 8,
	SHMX_OP_ROOT_SET = 9,
	SHMX_OP_POOL_OPEN = 10,	     /* pool_open -> pool */
	SHMX_OP_POOL_CLOSE = 11,     /* obj_ref -> - */
	SHMX_OP_POOL_DESTROY = 12,   /* obj_ref -> - */
	SHMX_OP_POOL_STAT = 13,	     /* obj_ref -> pool_stat */
	SHMX_OP_ALLOC = 14,	     /* alloc -> grant */
	SHMX_OP_RELEASE = 15,	     /* addr -> - */
	SHMX_OP_GRANT = 16,	     /* grant_req -> grant */
	SHMX_OP_OWN = 17,	     /* own -> grant */
	SHMX_OP_OWN_TRANSFER = 18,   /* own -> grant */
	SHMX_OP_DISOWN = 19,	     /* addr -> grant */
	SHMX_OP_SEG_OPEN = 20,	     /* seg_open -> seg */
	SHMX_OP_SEG_CLOSE = 21,	     /* seg_close -> - */
	SHMX_OP_SEG_STAT = 22,	     /* obj_ref -> seg_stat */
	SHMX_OP_SEG_SET = 23,	     /* seg_set -> - */
	SHMX_OP_SEG_REMOVE = 24,     /* obj_ref -> - */
	SHMX_OP_SEG_FREEZE = 25,     /* obj_ref -> grant (read-only key) */
	SHMX_OP_SEG_THAW = 26,	     /* obj_ref -> - */
	SHMX_OP_POOL_NEXT = 27,	     /* next_req -> pool_info (listings) */
	SHMX_OP_BLOCK_NEXT = 28,     /* next_req -> block_info */
	SHMX_OP_SEG_NEXT = 29,	     /* next_req -> seg_info */
	SHMX_OP_REVOKE = 30,	     /* event (node to client): revoke */
	SHMX_OP_MAP = 31,	     /* event: the extent map changed */
	SHMX_OP_GROW = 32,	     /* resize -> resize_rep */
	SHMX_OP_SHRINK = 33,	     /* resize -> resize_rep */
	SHMX_OP_RESUME = 34,	     /* resume -> - */
	SHMX_OP_LOCK_RESERVE = 35,   /* lock_reserve -> lock_rep */
	SHMX_OP_LOCK_UNRESERVE = 36, /* obj_ref -> - */
	SHMX_OP_LOCK_NEXT = 37,	     /* next_req -> lock_info_rep */
	SHMX_OP_MAILBOX = 38,	     /* mailbox -> - */
	SHMX_OP_MEMBER = 39,	     /* event: a member joined or left */
	SHMX_OP_STATS = 40,	     /* - -> stats_rep */
	SHMX_OP_MAX /* first invalid opcode; indexes handler tables */
};

/* Status codes on the wire; shmx__status_to_errno() maps them in one place. */
enum shmx_status {
	SHMX_ST_OK = 0,
	SHMX_ST_BAD_MSG = 1,	 /* malformed: length, field, string */
	SHMX_ST_VERSION = 2,	 /* unsupported protocol version */
	SHMX_ST_UNKNOWN_OP = 3,	 /* opcode not known */
	SHMX_ST_NO_SESSION = 4,	 /* session/token unknown or expired */
	SHMX_ST_AUTH = 5,	 /* authentication failed or key required */
	SHMX_ST_NOT_LOCAL = 6,	 /* keyless node: client not on loopback */
	SHMX_ST_NAME_IN_USE = 7, /* a live member has that name */
	SHMX_ST_FULL = 8,	 /* no room for another member */
	SHMX_ST_NOT_FOUND = 9,	 /* no such name or object */
	SHMX_ST_RANGE = 10,	 /* address or length outside the region */
	SHMX_ST_INVAL = 11,	 /* well-formed but invalid argument */
	SHMX_ST_NOMEM = 12,	 /* node out of memory */
	SHMX_ST_STATE = 13,	 /* message not allowed in this state */
	SHMX_ST_INTERNAL = 14,	 /* node-side failure */
	SHMX_ST_EXISTS = 15,	 /* exclusive create of what exists */
	SHMX_ST_DENIED = 16,	 /* permission bits or access refuse it */
	SHMX_ST_NOT_OWNER = 17,	 /* only an owner, creator... may do it */
	SHMX_ST_BUSY = 18,	 /* in use, or frozen for a moment */
	SHMX_ST_QUOTA = 19,	 /* the member's memory cap is reached */
	SHMX_ST_MIDDLE = 20,	 /* address inside an object, not its start */
	SHMX_ST_NO_MEMBER = 21,	 /* a node id that is not a live member */
	SHMX_ST_NO_SPACE = 22,	 /* no room in the region for the object */
	SHMX_ST_TOO_BIG = 23,	 /* over a configured maximum size */
	SHMX_ST_MAX
};

struct shmx_hdr {
	uint32_t magic;
	uint16_t version;
	uint16_t opcode;
	uint32_t length;
	int32_t status;
	uint64_t req_id;
	uint32_t session;
	uint32_t flags;
	uint64_t token;
};

/* HELLO request: who the client is and where it listens. */
struct shmx_hello {
	uint32_t pid;			  /* u32 */
	uint32_t uid;			  /* u32, claimed; verified by key */
	uint32_t gid;			  /* u32 */
	uint8_t nonce[SHMX_NONCE_LEN];	  /* 32 random bytes */
	char name[SHMX_NAME_MAX];	  /* str, 1..63 bytes */
	char host[SHMX_HOST_MAX];	  /* str, 1..63 bytes */
	uint8_t addr_len;		  /* u8, 1..SHMX_WIRE_ADDR_MAX */
	uint8_t addr[SHMX_WIRE_ADDR_MAX]; /* transport address blob */
};

/* HELLO reply (CHALLENGE): the session to authenticate. */
#define SHMX_CHAL_KEY_REQUIRED 0x1u
struct shmx_challenge {
	uint32_t flags;		       /* u32: SHMX_CHAL_KEY_REQUIRED */
	uint32_t session;	       /* u32: the node id offered */
	uint64_t token;		       /* u64: the session token */
	uint8_t nonce[SHMX_NONCE_LEN]; /* 32 random bytes */
};

/* AUTH request: proof of the key (zeros when the node needs no key). */
struct shmx_auth {
	uint8_t mac[SHMX_MAC_LEN];
};

/* AUTH reply (WELCOME): the session is live. */
struct shmx_welcome {
	uint32_t node_id;	    /* u32, == session */
	uint32_t heartbeat_ms;	    /* u32: ping at least this often */
	uint32_t client_timeout_ms; /* u32: silent this long = gone */
	uint32_t authenticated;	    /* u32: 1 if a key was verified */
	uint64_t region_size;	    /* u64: bytes, gaddr 0.. */
	uint64_t hdr_key;	    /* u64: read-only key of the header area */
	uint64_t hdr_base;	    /* u64: its remote address of gaddr 0 */
	uint64_t hdr_size;	    /* u64: header bytes, gaddr 0.. */
	uint64_t boot;		    /* u64: this start of shmnode (random) */
	uint8_t mac[SHMX_MAC_LEN];  /* node's proof (zeros if no key) */
	char version[SHMX_VERSION_STR_MAX]; /* str: shmnode version */
};

/* INFO reply. */
struct shmx_info_rep {
	uint64_t region_size;		    /* u64 */
	uint32_t member_count;		    /* u32 */
	uint32_t max_members;		    /* u32 */
	char version[SHMX_VERSION_STR_MAX]; /* str */
};

/* MEMBERS request: list members with id >= start_id. */
struct shmx_members_req {
	uint32_t start_id; /* u32 */
};

struct shmx_member_wire {
	uint32_t id;		  /* u32 */
	uint32_t pid;		  /* u32 */
	uint32_t uid;		  /* u32 */
	uint32_t gid;		  /* u32 */
	int64_t joined;		  /* i64, seconds since the epoch */
	char name[SHMX_NAME_MAX]; /* str */
	char host[SHMX_HOST_MAX]; /* str */
};

/* MEMBERS reply: one page, by increasing id. */
struct shmx_members_rep {
	uint32_t total;	  /* u32: live members in all */
	uint32_t next_id; /* u32: start_id for the next page, 0 = no more */
	uint32_t count;	  /* u32: entries that follow, <= PER_MSG */
	struct shmx_member_wire m[SHMX_MEMBERS_PER_MSG];
};

/* LOOKUP request and reply. */
struct shmx_lookup_req {
	char name[SHMX_NAME_MAX]; /* str */
};
struct shmx_lookup_rep {
	uint32_t id; /* u32 */
};

/* ROOT_GET reply and ROOT_SET request. */
struct shmx_root {
	uint64_t gaddr; /* u64, SHMX_GADDR_NULL = unset */
};

/* ---- memory management (version 2; docs/memory.md) ------------------- */

/* Most owners one OWN message carries. */
#define SHMX_OWNERS_MAX 64

/* Access bits of a grant (the key's remote rights). */
#define SHMX_ACC_READ 0x1u
#define SHMX_ACC_WRITE 0x2u
#define SHMX_ACC_ATOMIC 0x4u
#define SHMX_ACC_ALL (SHMX_ACC_READ | SHMX_ACC_WRITE | SHMX_ACC_ATOMIC)
/* In a grant reply: the block is owned (with WRITE: you are an owner). */
#define SHMX_ACC_OWNED 0x8u

/* Open flags of POOL_OPEN and SEG_OPEN. */
#define SHMX_WIRE_CREAT 0x1u
#define SHMX_WIRE_EXCL 0x2u
#define SHMX_WIRE_RDONLY 0x4u /* SEG_OPEN only */

/*
 * A remote key for a range: the object's whole range, the key, the remote
 * address that corresponds to @start (the transport's address for
 * start + n is rbase + n), the rights, and the ownership epoch (1 for
 * objects that are never owned).
 */
struct shmx_grant {
	uint64_t start;	 /* u64: gaddr of the object */
	uint64_t len;	 /* u64: bytes, > 0 */
	uint64_t key;	 /* u64 */
	uint64_t rbase;	 /* u64 */
	uint64_t epoch;	 /* u64 */
	uint32_t access; /* u32: SHMX_ACC_* rights (nonzero), maybe OWNED */
};

/* A pool or segment by id (POOL_CLOSE/DESTROY/STAT, SEG_CLOSE/...). */
struct shmx_obj_ref {
	uint64_t id; /* u64, nonzero */
};

/* An address (RELEASE, DISOWN). */
struct shmx_addr {
	uint64_t gaddr; /* u64 */
};

/* POOL_OPEN request and reply. */
struct shmx_pool_open {
	uint32_t flags;		  /* u32: SHMX_WIRE_CREAT | EXCL */
	uint64_t size;		  /* u64: bytes; 0 = as it is (open) */
	char name[SHMX_NAME_MAX]; /* str, 1..63 */
};
struct shmx_pool_rep {
	uint64_t id;	      /* u64, nonzero */
	uint32_t created;     /* u32: 1 if this call created it */
	struct shmx_grant ro; /* read-only key over the whole pool */
};

/* POOL_STAT reply. */
struct shmx_pool_stat_rep {
	uint64_t total;		 /* u64: bytes */
	uint64_t free;		 /* u64 */
	uint64_t largest_free;	 /* u64 */
	uint64_t nr_alloc;	 /* u64 */
	uint64_t nr_free_blocks; /* u64 */
	uint32_t open_count;	 /* u32: members that have it open */
};

/* ALLOC request: its reply is a grant (read/write/atomic). */
struct shmx_alloc_req {
	uint64_t pool;	/* u64: pool id */
	uint64_t size;	/* u64: bytes, > 0 */
	uint64_t align; /* u64: power of two, 0 = 8 */
};

/* GRANT request: the best key this member may have for @gaddr. */
struct shmx_grant_req {
	uint64_t gaddr;	 /* u64 */
	uint32_t access; /* u32: SHMX_ACC_* bits wanted */
};

/* OWN and OWN_TRANSFER request: the new owner set. */
struct shmx_own_req {
	uint64_t gaddr;			 /* u64: an allocation's start */
	uint32_t count;			 /* u32: 1..SHMX_OWNERS_MAX */
	uint32_t nodes[SHMX_OWNERS_MAX]; /* u32 each, nonzero, distinct */
};

/* SEG_OPEN request and reply. */
struct shmx_seg_open_req {
	uint32_t flags;		  /* u32: SHMX_WIRE_CREAT | EXCL | RDONLY */
	uint32_t mode;		  /* u32: permission bits, <= 0777 */
	uint64_t size;		  /* u64: bytes; 0 = as it is (attach) */
	char name[SHMX_NAME_MAX]; /* str, 1..63 */
};
struct shmx_seg_rep {
	uint64_t id;	       /* u64, nonzero */
	uint32_t created;      /* u32: 1 if this call created it */
	struct shmx_grant key; /* RW, or RO for a read-only attach */
};

/* SEG_STAT reply. */
struct shmx_seg_stat_rep {
	uint64_t size;		   /* u64 */
	uint32_t uid, gid, mode;   /* u32 each: owner and permissions */
	uint32_t cuid, cgid;	   /* u32 each: creator */
	uint32_t creator_node;	   /* u32 */
	uint32_t last_attach_node; /* u32, 0 = never */
	uint32_t last_detach_node; /* u32, 0 = never */
	uint32_t nattch;	   /* u32 */
	uint32_t removed; /* u32: 1 = name gone, freed at last detach */
	int64_t atime, dtime, ctime; /* i64 each: seconds, 0 = never */
	char name[SHMX_NAME_MAX];    /* str, 1..63 */
};

/* SEG_CLOSE request: which attachment ends (a member may hold both). */
struct shmx_seg_close_req {
	uint64_t id;	 /* u64, nonzero */
	uint32_t rdonly; /* u32: 1 a read-only attachment, 0 read-write */
};

/* SEG_SET request. */
struct shmx_seg_set_req {
	uint64_t id;		 /* u64 */
	uint32_t uid, gid, mode; /* u32 each; mode <= 0777 */
};

/*
 * Listings (ipcs): the object with the smallest id (pools, segments) or
 * start address (blocks) >= @from; NOT_FOUND past the last.
 */
struct shmx_next_req {
	uint64_t from; /* u64, any */
};

/* POOL_NEXT reply. */
struct shmx_pool_info_rep {
	uint64_t id;		      /* u64, nonzero */
	uint64_t base;		      /* u64 */
	uint64_t size;		      /* u64 */
	uint32_t creator;	      /* u32: node id */
	uint32_t open_count;	      /* u32 */
	struct shmx_pool_stat_rep st; /* as POOL_STAT's reply */
	char name[SHMX_NAME_MAX];     /* str, 1..63 */
};

/* BLOCK_NEXT reply. */
struct shmx_block_info_rep {
	uint64_t start;			  /* u64 */
	uint64_t len;			  /* u64, > 0 */
	uint64_t pool;			  /* u64: its pool's id, nonzero */
	uint32_t creator;		  /* u32: member that allocated it */
	uint32_t holder;		  /* u32: charged to; 0 = it left */
	uint64_t epoch;			  /* u64, >= 1 */
	uint32_t nr_owners;		  /* u32, <= SHMX_OWNERS_MAX */
	uint32_t owners[SHMX_OWNERS_MAX]; /* u32 each */
};

/* SEG_NEXT reply: a segment's id and address, and its stat. */
struct shmx_seg_info_rep {
	uint64_t id;		     /* u64, nonzero */
	uint64_t gaddr;		     /* u64 */
	struct shmx_seg_stat_rep st; /* as SEG_STAT's reply */
};

/*
 * REVOKE event: the node is about to drop the keys of [start, start + len)
 * (an ownership change, a freeze): drop them, and ask again (GRANT) when
 * needed.  len UINT64_MAX - start: every key.  epoch: the block's new
 * epoch (0 when not a block).
 */
struct shmx_revoke {
	uint64_t start; /* u64 */
	uint64_t len;	/* u64, > 0, no wrap */
	uint64_t epoch; /* u64 */
};

/* Most extents of the memory (proto/header.h's SHMX_EXTENTS_MAX). */
#define SHMX_MAP_EXTENTS_MAX 128

/* One extent of the memory: [base, base + len). */
struct shmx_wire_extent {
	uint64_t base; /* u64 */
	uint64_t len;  /* u64, > 0 */
};

/*
 * MAP event: the memory grew or shrank; the whole new extent map, as the
 * header area holds it.  A map of a generation not above the one a client
 * has is stale (events may pass a connect's read of the header).
 */
struct shmx_map_ev {
	uint64_t generation; /* u64 */
	uint64_t total;	     /* u64: sum of the lengths */
	uint32_t nr;	     /* u32, 1..SHMX_MAP_EXTENTS_MAX */
	struct shmx_wire_extent ext[SHMX_MAP_EXTENTS_MAX]; /* by base */
};

/* GROW and SHRINK request: bytes to add or take away. */
struct shmx_resize {
	uint64_t len; /* u64, > 0 */
};

/* GROW and SHRINK reply. */
struct shmx_resize_rep {
	uint64_t base;	     /* u64: GROW: the new extent; SHRINK: 0 */
	uint64_t total;	     /* u64: bytes of memory now */
	uint64_t generation; /* u64: of the new map */
};

/*
 * RESUME request: the member's connection broke (a key the node refused
 * ends it on some fabrics) and the client made a new one: its endpoint's
 * address now, as in HELLO.  The session goes on; the reply goes there.
 */
struct shmx_resume {
	uint8_t addr_len;		  /* 1..SHMX_WIRE_ADDR_MAX */
	uint8_t addr[SHMX_WIRE_ADDR_MAX]; /* blob */
};

/*
 * RESUME reply: which start of shmnode serves the session.  A @boot other
 * than the WELCOME's (or the last RESUME's) means shmnode restarted from
 * its backing file (--backing): every key the member held is gone, and
 * the header area has a new key (the fields as in WELCOME), and so has the
 * lock table (a lock's slot, and so its offset from @lock_base, stays).
 */
struct shmx_resumed {
	uint64_t boot;	      /* u64: this start of shmnode */
	uint64_t region_size; /* u64 */
	uint64_t hdr_key;     /* u64 */
	uint64_t hdr_base;    /* u64 */
	uint64_t hdr_size;    /* u64 */
	uint64_t lock_key;    /* u64: the lock table's key now */
	uint64_t lock_base;   /* u64: remote address of its slot 0 now */
};

/*
 * LOCK_RESERVE request: one more reservation of a lock, by id (nonzero
 * @id, empty name: the lock must exist), by name (@id 0: found or
 * created), or a new anonymous lock (@id 0, empty name).  @lease_ms
 * applies when this call creates the lock: 0 = the node's --lock-lease.
 */
struct shmx_lock_reserve {
	uint64_t id;		  /* u64: 0 or an existing lock's id */
	uint32_t lease_ms;	  /* u32: 0 or 1..SHMX_LOCK_LEASE_MAX_MS */
	char name[SHMX_NAME_MAX]; /* str, 0..63 bytes */
};
#define SHMX_LOCK_LEASE_MAX_MS 3600000u

/*
 * LOCK_RESERVE reply: the lock's slot in the lock table (lockword.h) as
 * the transport reaches it: remote address of byte 0 and a key with
 * remote read, write and atomic rights over the whole table.
 */
struct shmx_lock_rep {
	uint64_t id;	   /* u64, nonzero */
	uint64_t raddr;	   /* u64: transport address of the slot */
	uint64_t key;	   /* u64: the lock table's key */
	uint32_t lease_ms; /* u32, >= 1 */
	uint32_t created;  /* u32: 1 if this call created it */
};

/*
 * LOCK_NEXT reply: the lock with the smallest id >= from, and its slot as
 * the node read it (the word and epoch words, then the records, raw:
 * bytes 0..111 of the slot).
 */
struct shmx_lock_info_rep {
	uint64_t id;		  /* u64, nonzero */
	uint32_t lease_ms;	  /* u32 */
	uint32_t reservations;	  /* u32: handles reserving it, all members */
	uint32_t creator;	  /* u32: node id */
	char name[SHMX_NAME_MAX]; /* str, 0..63 bytes */
	uint8_t slot[112];	  /* 112 bytes, raw */
};

/*
 * MAILBOX request: where the sender's mailbox listens, for the other
 * members (docs/messages.md); the node publishes it in the sender's member
 * entry (header.h).  An empty @addr withdraws it (tag and window 0 then).
 */
struct shmx_mailbox {
	char addr[SHMX_MAILBOX_ADDR_MAX]; /* str, 0..47 bytes: "HOST:PORT" */
	uint64_t tag;			  /* u64: nonzero with an address */
	uint32_t window; /* u32: 1..SHMX_MAILBOX_WINDOW_MAX with an address */
};
#define SHMX_MAILBOX_WINDOW_MAX 65536u

/* MEMBER event: member @id joined or left; sent to every other live
 * member. */
#define SHMX_MEMBER_JOINED 1u
#define SHMX_MEMBER_LEFT 2u
struct shmx_member_ev {
	uint32_t id;   /* u32, nonzero */
	uint32_t what; /* u32: SHMX_MEMBER_JOINED or SHMX_MEMBER_LEFT */
};

/*
 * STATS reply: the node's counters since it started and its figures now
 * (docs/operations.md, "Watching it").  Per opcode, @op[n] is opcode n's
 * requests answered and those answered with an error status (entry 0 is
 * zeros); per status, @status_errors[s] counts the error replies of status
 * s (entry 0, OK, is 0).  A node and a client may know different numbers
 * of opcodes and statuses: each side sends its own count and reads up to
 * the maximum.  Checked: errors <= requests, free <= total, largest free
 * block <= free.
 */
#define SHMX_STATS_OPS_MAX 64
#define SHMX_STATS_STATUS_MAX 32
struct shmx_stats_rep {
	uint64_t uptime_ms;	      /* u64: since the node started */
	uint64_t msgs_received;	      /* u64: control messages, any kind */
	uint64_t bytes_received;      /* u64: their bytes, headers included */
	uint64_t msgs_sent;	      /* u64: sends that completed */
	uint64_t bytes_sent;	      /* u64 */
	uint64_t allocs;	      /* u64: ALLOC answered OK */
	uint64_t alloc_bytes;	      /* u64: their blocks' bytes */
	uint64_t releases;	      /* u64: RELEASE answered OK */
	uint64_t release_bytes;	      /* u64: their blocks' bytes */
	uint64_t segs_created;	      /* u64: SEG_OPEN that created one */
	uint64_t seg_bytes_created;   /* u64: their bytes */
	uint64_t members_joined;      /* u64: AUTH answered OK */
	uint64_t members_left;	      /* u64: BYE */
	uint64_t members_expired;     /* u64: live members timed out */
	uint32_t members;	      /* u32: live now */
	uint32_t max_members;	      /* u32 */
	uint64_t pools;		      /* u64 */
	uint64_t blocks;	      /* u64: in every pool */
	uint64_t segments;	      /* u64: removed ones still attached too */
	uint32_t locks;		      /* u32: locks reserved (in the table) */
	uint32_t lock_slots;	      /* u32: the table's size */
	uint32_t locks_held;	      /* u32: locks with a hold granted */
	uint32_t lock_holds;	      /* u32: holds granted, every lock */
	uint32_t lock_waiters;	      /* u32: tickets waiting, every lock */
	uint64_t memory;	      /* u64: bytes in every extent */
	uint64_t region_total;	      /* u64: bytes the allocator manages */
	uint64_t region_free;	      /* u64 */
	uint64_t region_largest_free; /* u64: largest free block */
	uint64_t region_free_blocks;  /* u64: free fragments */
	uint32_t nr_ops;	      /* u32: 0..SHMX_STATS_OPS_MAX */
	struct {
		uint64_t requests; /* u64 */
		uint64_t errors;   /* u64, <= requests */
	} op[SHMX_STATS_OPS_MAX];  /* nr_ops entries */
	uint32_t nr_status;	   /* u32: 0..SHMX_STATS_STATUS_MAX */
	uint64_t status_errors[SHMX_STATS_STATUS_MAX]; /* u64 x nr_status */
};

/* A decoded message: the header and the payload its opcode selects. */
struct shmx_msg {
	struct shmx_hdr hdr;
	union {
		struct shmx_hello hello;
		struct shmx_challenge challenge;
		struct shmx_auth auth;
		struct shmx_welcome welcome;
		struct shmx_info_rep info;
		struct shmx_members_req members_req;
		struct shmx_members_rep members;
		struct shmx_lookup_req lookup_req;
		struct shmx_lookup_rep lookup;
		struct shmx_root root;
		struct shmx_grant grant;
		struct shmx_obj_ref obj;
		struct shmx_addr addr;
		struct shmx_pool_open pool_open;
		struct shmx_pool_rep pool;
		struct shmx_pool_stat_rep pool_stat;
		struct shmx_alloc_req alloc;
		struct shmx_grant_req grant_req;
		struct shmx_own_req own;
		struct shmx_seg_open_req seg_open;
		struct shmx_seg_rep seg;
		struct shmx_seg_stat_rep seg_stat;
		struct shmx_seg_set_req seg_set;
		struct shmx_seg_close_req seg_close;
		struct shmx_next_req next;
		struct shmx_pool_info_rep pool_info;
		struct shmx_block_info_rep block_info;
		struct shmx_seg_info_rep seg_info;
		struct shmx_revoke revoke;
		struct shmx_map_ev map;
		struct shmx_resize resize;
		struct shmx_resize_rep resize_rep;
		struct shmx_resume resume;
		struct shmx_resumed resumed;
		struct shmx_lock_reserve lock_reserve;
		struct shmx_lock_rep lock;
		struct shmx_lock_info_rep lock_info;
		struct shmx_mailbox mailbox;
		struct shmx_member_ev member;
		struct shmx_stats_rep stats;
	} u;
};

/* Fill a header for a request (status 0) of @opcode. */
void shmx__msg_init(struct shmx_msg *msg, uint16_t opcode, uint64_t req_id,
		    uint32_t session, uint64_t token);
/* Turn a decoded request into its reply header (payload left zeroed). */
void shmx__msg_reply(struct shmx_msg *rep, const struct shmx_msg *req,
		     enum shmx_status status);

/*
 * shmx__proto_encode - serialise @msg into @buf of @cap bytes; the header's
 * length field is computed.  Returns the length (> 0), -EMSGSIZE when it
 * does not fit, -EINVAL when a field is out of its range (bad opcode, string
 * too long or not printable, address blob too long).
 */
int shmx__proto_encode(const struct shmx_msg *msg, void *buf, size_t cap);

/*
 * shmx__proto_decode - parse and validate @len bytes at @buf into @msg.
 * Pure: touches nothing but @msg.  Returns SHMX_ST_OK, or
 *  SHMX_ST_BAD_MSG    short, long, length field mismatch, bad magic,
 *                     reserved flag set, bad string or blob, count too big
 *  SHMX_ST_VERSION    version != SHMX_PROTO_VERSION (hdr is still filled so
 *                     the node can answer)
 *  SHMX_ST_UNKNOWN_OP opcode 0 or >= SHMX_OP_MAX (hdr is filled)
 */
enum shmx_status shmx__proto_decode(const void *buf, size_t len,
				    struct shmx_msg *msg);

/* 1 when @name is a valid object or member name: 1..SHMX_NAME_MAX - 1
 * printable ASCII bytes (0x20..0x7e), as the wire carries it; else 0. */
int shmx__name_valid(const char *name);

/* Name of an opcode, for logs; "?" when unknown. */
const char *shmx__op_name(unsigned opcode);

/* status.c: the one mapping between wire status and errno. */
int shmx__status_to_errno(int status); /* SHMX_ST_OK -> 0, else -errno */
enum shmx_status shmx__errno_to_status(int err); /* 0 / -errno -> status */
const char *shmx__status_name(int status);

#endif /* SHMX_PROTO_H */
