/* SPDX-License-Identifier: MIT */
/*
 * header.h - the header area at the start of the memory shmnode exports
 * (docs/memory.md, "The global address space"): its byte layout, and pure
 * functions that write and read its blocks in byte buffers.
 *
 * Clients read the header area one-sidedly (RDMA READ) while shmnode, its
 * one writer thread, may be rewriting it.  An RDMA READ is not atomic with
 * respect to the CPU's stores, so a reader may get any mix of old and new
 * bytes.  Every block therefore carries a sequence number at each end and a
 * CRC-32C; the reader takes a block only when both numbers are equal and
 * even and the CRC matches, and otherwise reads again.
 *
 * Area (shmx__hdr_size(max_members) bytes, a multiple of SHMX_HDR_ALIGN):
 *   offset                          size  block
 *   0                               4096  map block (SHMX_HDR_MAP_SIZE)
 *   4096 + (id - 1) * 256            256  member entry of node id, for id
 *                                         1..max_members (SHMX_HDR_ENTRY_SIZE)
 *   the rest, up to hdr_size              zero
 *
 * Every integer is little-endian, written byte by byte, so the layout does
 * not depend on the host.  Bytes marked reserved are written as 0 and
 * ignored by the reader; a layout that uses them gets a new SHMX_HDR_LAYOUT.
 *
 * Block framing (size = 4096 for the map, 256 for an entry):
 *   off        size  field
 *   0             8  seq     head copy: even when the block is whole, odd
 *                            while the writer is rewriting it, 0 when never
 *                            written
 *   8      size - 20  body   the fields below
 *   size - 12     4  crc     CRC-32C of bytes [0, size - 12): the 8 seq
 *                            bytes, then the body
 *   size - 8      8  seq     tail copy, equal to the head copy
 *
 * Map block body:
 *   off   size  field
 *     8      4  magic        SHMX_HDR_MAGIC ("SMXH" in memory order)
 *    12      4  layout       SHMX_HDR_LAYOUT
 *    16      8  generation   grows at every change of the extent map
 *    24      8  root         root pointer, SHMX_GADDR_NULL when unset
 *    32      8  total        sum of the extent lengths
 *    40      8  hdr_size     bytes of the header area, a multiple of
 *                            SHMX_HDR_ALIGN, >= shmx__hdr_size(max_members)
 *    48      4  max_members  member entries that follow the map block
 *    52      4  nr_extents   0..SHMX_EXTENTS_MAX
 *    56   2048  ext          SHMX_EXTENTS_MAX pairs (base u64, len u64);
 *                            the first nr_extents by increasing base, none
 *                            empty or overlapping, base + len <= 2^64 - 1
 *                            (so SHMX_GADDR_NULL is in none); unused pairs
 *                            are zero
 *  2104   1980  reserved
 *  4084      4  crc
 *  4088      8  seq (tail)
 *
 * Member entry body:
 *   off   size  field
 *     8      4  magic        SHMX_HDR_MAGIC
 *    12      4  id           node id, >= 1; entry id - 1 of the area
 *    16      4  live         1 = a live member, 0 = a free slot
 *    20      4  pid
 *    24      4  uid
 *    28      4  gid
 *    32      8  joined       seconds since the epoch (int64, two's complement)
 *    40     64  name         NUL-terminated, zero padded
 *   104     64  host         NUL-terminated, zero padded
 *   168     48  mailbox      "HOST:PORT" where other members reach this
 *                            member's mailbox (docs/messages.md),
 *                            NUL-terminated, zero padded; "" = none
 *   216      8  mbox_tag     random, nonzero with a mailbox: names this
 *                            mailbox, so a message meant for a member that
 *                            left never reaches the next one at its address
 *   224      4  mbox_window  messages one sender may have unread there
 *   228     16  reserved
 *   244      4  crc
 *   248      8  seq (tail)
 *
 * Layouts (a changelog; reserved bytes are never reused in place):
 *   1  first layout.
 *   2  member entry: mailbox, mbox_tag, mbox_window (from reserved bytes).
 */
#ifndef SHMX_PROTO_HEADER_H
#define SHMX_PROTO_HEADER_H

#include <stdint.h>

#include "shmext/shmext.h"

#define SHMX_HDR_MAGIC 0x48584d53u /* "SMXH" as LE bytes 53 4d 58 48 */
#define SHMX_HDR_LAYOUT 2u
#define SHMX_HDR_MAP_SIZE 4096u	 /* the map block, at offset 0 */
#define SHMX_HDR_ENTRY_SIZE 256u /* one member entry */
/* The size of the header area is a multiple of this (64 KiB). */
#define SHMX_HDR_ALIGN ((uint64_t)64 << 10)
#define SHMX_EXTENTS_MAX 128u
/* Longest mailbox address "HOST:PORT" of a member, NUL included. */
#define SHMX_MAILBOX_ADDR_MAX 48u

/* struct shmx_extent (base, len) is the public one, in shmext/shmext.h. */

/* The map block, decoded. */
struct shmx_hdr_map {
	uint64_t generation;  /* grows at every change of the extent map */
	uint64_t root;	      /* root pointer, SHMX_GADDR_NULL when unset */
	uint64_t total;	      /* sum of extent lengths */
	uint64_t hdr_size;    /* bytes of the header area */
	uint32_t max_members; /* member entries that follow the map block */
	uint32_t nr_extents;  /* <= SHMX_EXTENTS_MAX */
	/* by increasing base, non-overlapping; unused slots zero */
	struct shmx_extent ext[SHMX_EXTENTS_MAX];
};

/* A member entry, decoded. */
struct shmx_hdr_member {
	uint32_t id;   /* node id, 1..max_members; entry id - 1 */
	uint32_t live; /* 1 = a live member, 0 = free slot */
	uint32_t pid;
	uint32_t uid;
	uint32_t gid;
	int64_t joined;			     /* seconds since the epoch */
	char name[SHMX_NAME_MAX];	     /* NUL-terminated */
	char host[SHMX_HOST_MAX];	     /* NUL-terminated */
	char mailbox[SHMX_MAILBOX_ADDR_MAX]; /* NUL-terminated, "" = none */
	uint64_t mbox_tag;
	uint32_t mbox_window;
};

/*
 * Bytes of a header area with @max_members member entries:
 * SHMX_HDR_MAP_SIZE + @max_members * SHMX_HDR_ENTRY_SIZE rounded up to a
 * multiple of SHMX_HDR_ALIGN.  Never overflows (at most about 2^40).
 */
uint64_t shmx__hdr_size(uint32_t max_members);

/* Offset in the header area of the entry of member @id (@id >= 1). */
uint64_t shmx__hdr_entry_off(uint32_t id);

/*
 * shmx__hdr_map_write - rewrite the map block at @blk (SHMX_HDR_MAP_SIZE
 * bytes, 8-byte aligned) in place from @m.  @blk is live memory that remote
 * readers may read at any moment; exactly one thread may write a block.
 *
 * Protocol: s = the head seq now in @blk; store the odd number (s + 1) | 1
 * at head and tail (an odd s is a write that crashed halfway; it is left
 * behind, not reused), release fence, write body and crc, release fence,
 * store ((s + 1) | 1) + 1 (even) at head and tail.  From a zeroed block the
 * first write leaves seq 2, and every write adds 2.
 *
 * Validating @m is the caller's business: the function writes what it is
 * given, except that it never writes more than SHMX_EXTENTS_MAX extents
 * (a larger nr_extents is written as SHMX_EXTENTS_MAX).
 */
void shmx__hdr_map_write(void *blk, const struct shmx_hdr_map *m);

/*
 * shmx__hdr_member_write - rewrite the member entry at @blk
 * (SHMX_HDR_ENTRY_SIZE bytes, 8-byte aligned) in place from @e, with the
 * protocol of shmx__hdr_map_write().  name and host are copied up to their
 * first NUL or SHMX_NAME_MAX - 1 (SHMX_HOST_MAX - 1) bytes, so the stored
 * strings are always NUL-terminated; the fields are otherwise not checked.
 */
void shmx__hdr_member_write(void *blk, const struct shmx_hdr_member *e);

/*
 * shmx__hdr_map_read - decode and check a map block.  @blk is a private
 * copy of SHMX_HDR_MAP_SIZE bytes (what an RDMA READ returned), any
 * alignment.  Returns
 *   0         @m is filled (extent slots past nr_extents zeroed);
 *   -EAGAIN   the copy is torn or was taken while the block was being
 *             written (head seq != tail seq, seq odd, or crc mismatch):
 *             read again;
 *   -ENOENT   the block was never written (head seq, tail seq and crc
 *             all 0);
 *   -EBADMSG  a whole, checksummed block whose contents are not valid:
 *             magic or layout wrong, nr_extents > SHMX_EXTENTS_MAX, an
 *             extent empty or ending past 2^64 - 1, extents not by
 *             increasing base or overlapping, total != sum of lengths,
 *             hdr_size not a multiple of SHMX_HDR_ALIGN or smaller than
 *             shmx__hdr_size(max_members).
 * On error *@m is unspecified.
 */
int shmx__hdr_map_read(const void *blk, struct shmx_hdr_map *m);

/*
 * shmx__hdr_member_read - decode and check a member entry, a private copy
 * of SHMX_HDR_ENTRY_SIZE bytes.  Returns 0 (@e filled), -EAGAIN or -ENOENT
 * as shmx__hdr_map_read(), or -EBADMSG: magic wrong, id 0, live not 0 or 1,
 * name or host not NUL-terminated.  Whether id is the id whose entry was
 * read is the caller's check.  On error *@e is unspecified.
 */
int shmx__hdr_member_read(const void *blk, struct shmx_hdr_member *e);

/*
 * shmx__hdr_extent_find - find the extent of @m that holds all of
 * [@gaddr, @gaddr + @len) (@len 0 counts as 1 byte).  Binary search over
 * the first nr_extents (at most SHMX_EXTENTS_MAX) extents, which must be
 * ordered as shmx__hdr_map_read() checks.  Returns the extent's index, or
 * -EFAULT when no extent holds the whole range (past the end, between two
 * extents, crossing from one into the next, or wrapping past 2^64 - 1).
 */
int shmx__hdr_extent_find(const struct shmx_hdr_map *m, uint64_t gaddr,
			  uint64_t len);

#endif /* SHMX_PROTO_HEADER_H */
