/* SPDX-License-Identifier: MIT */
/*
 * peer.h - the messages members send each other's mailboxes directly
 * (docs/messages.md), never through shmnode: signals, messages inline or
 * by reference to shared memory, and credits back.  Pure encode and
 * decode, so that the decoder can be fuzzed.
 *
 * Encoding: fixed-width little-endian fields, packed, in the order listed.
 *
 * Header (48 bytes, SHMX_PEER_HDR_LEN), at the start of every message:
 *   off size field
 *     0   4  magic    SHMX_PEER_MAGIC ("SHMP" in memory order)
 *     4   2  version  SHMX_PEER_VERSION
 *     6   2  type     enum shmx_peer_type
 *     8   4  length   whole message, header included
 *    12   4  src      the sender's node id, nonzero
 *    16   4  dst      the receiver's node id, nonzero
 *    20   4  flags    0 (reserved, rejected when set)
 *    24   8  src_tag  the sender's mailbox tag: a sender with a new tag is
 *                     a new sender (its sequence starts again)
 *    32   8  dst_tag  the receiver's mailbox tag, as the registry shows it:
 *                     a message for a member that left is told apart from
 *                     one for the next member at the same id or address
 *    40   8  seq      SIGNAL, MSG, MSG_REF: 1, 2, ... per sender tag and
 *                     receiver; CREDIT, CREDIT_ASK: 0
 *
 * Payloads:
 *   SIGNAL   signo u32 (1..SHMX_SIGNO_MAX), 4 bytes 0, value u64
 *   MSG      the message itself, 0..SHMX_PEER_INLINE_MAX bytes
 *   MSG_REF  gaddr u64, len u64 (1..SHMX_MSG_MAX), kind u32 (enum
 *            shmx_peer_ref), 4 bytes 0: a message in shared memory
 *   CREDIT   taken u64: the highest seq from this sender that the
 *            receiver's application has taken; the sender may have
 *            sent up to taken + window (the window is in the registry)
 *   CREDIT_ASK  none: a sender that has waited at the window asks for a
 *            CREDIT again (one may have been lost with a connection)
 *
 * Versions (a changelog): 1  first version; CREDIT_ASK added later in
 * version 1 (a member without it drops one as malformed).
 */
#ifndef SHMX_PROTO_PEER_H
#define SHMX_PROTO_PEER_H

#include <stddef.h>
#include <stdint.h>

#include "shmext/shmext.h"

#define SHMX_PEER_MAGIC 0x504d4853u /* 'S' 'H' 'M' 'P' little-endian */
#define SHMX_PEER_VERSION 1
#define SHMX_PEER_HDR_LEN 48
/* Longest peer message: one transport message (XPORT_MSG_MAX). */
#define SHMX_PEER_MSG_MAX 4096
#define SHMX_PEER_INLINE_MAX (SHMX_PEER_MSG_MAX - SHMX_PEER_HDR_LEN)

enum shmx_peer_type {
	SHMX_PEER_SIGNAL = 1,
	SHMX_PEER_MSG = 2,
	SHMX_PEER_MSG_REF = 3,
	SHMX_PEER_CREDIT = 4,
	SHMX_PEER_CREDIT_ASK = 5,
};

/* What a MSG_REF hands over. */
enum shmx_peer_ref {
	/* A copy the sender made in shared memory and gave the receiver the
	 * ownership of: the receiver reads it and releases it. */
	SHMX_PEER_REF_COPY = 1,
	/* The sender's reservation, left as it is (shmx_msg_send_region). */
	SHMX_PEER_REF_REGION = 2,
	/* The sender's reservation, now owned by the receiver alone
	 * (shmx_msg_send_region with SHMX_MSG_MOVE). */
	SHMX_PEER_REF_MOVE = 3,
};

struct shmx_peer_msg {
	uint16_t type;
	uint32_t src, dst;
	uint64_t src_tag, dst_tag;
	uint64_t seq;
	union {
		struct {
			uint32_t signo;
			uint64_t value;
		} signal;
		struct {
			const void *data; /* decode: points into the buffer */
			size_t len;
		} msg;
		struct {
			uint64_t gaddr;
			uint64_t len;
			uint32_t kind;
		} ref;
		struct {
			uint64_t taken;
		} credit;
	} u;
};

/*
 * shmx__peer_encode - serialise @m into @buf of @cap bytes.  Returns the
 * length, -EMSGSIZE when it does not fit, -EINVAL when a field is out of
 * range (type, zero ids or tags, a seq that is 0 or a credit's that is
 * not, signo, inline length, ref kind or length).
 */
int shmx__peer_encode(const struct shmx_peer_msg *m, void *buf, size_t cap);

/*
 * shmx__peer_decode - parse and check @len bytes at @buf into @m, with
 * the same rules as encode.  Pure.  An inline message's data points into
 * @buf.  Returns 0, -EBADMSG (malformed) or -EPROTO (another version).
 */
int shmx__peer_decode(const void *buf, size_t len, struct shmx_peer_msg *m);

#endif /* SHMX_PROTO_PEER_H */
