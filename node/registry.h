/* SPDX-License-Identifier: MIT */
/*
 * registry.h - shmnode's membership registry: one slot per node id, with
 * the member's identity, session token and liveness.  Pure bookkeeping:
 * no transport calls, so it can be unit-tested on its own.
 */
#ifndef SHMX_NODE_REGISTRY_H
#define SHMX_NODE_REGISTRY_H

#include <stdint.h>

#include "proto/proto.h"
#include "xport/xport.h"

enum member_state {
	MEMBER_FREE = 0, /* slot unused (may hold a tombstone address) */
	MEMBER_PENDING,	 /* HELLO answered, waiting for AUTH */
	MEMBER_LIVE,	 /* authenticated member */
};

struct member {
	enum member_state state;
	uint64_t token;
	xport_peer_t peer;
	uint64_t last_seen_ms; /* monotonic */
	uint8_t node_nonce[SHMX_NONCE_LEN];
	uint8_t client_nonce[SHMX_NONCE_LEN];
	int authenticated;
	struct shmx_member_wire info; /* id, pid, uid, ..., name */
	/* Its mailbox, as MAILBOX set it ("" = none; docs/messages.md). */
	char mbox_addr[SHMX_MAILBOX_ADDR_MAX];
	uint64_t mbox_tag;
	uint32_t mbox_window;
	/* Transport address, kept after the slot is freed (tombstone) so a
	 * late request can still be told its session is gone. */
	uint8_t addr_len;
	uint8_t addr[SHMX_WIRE_ADDR_MAX];
};

struct registry {
	struct member *slots; /* slots[i] has id i + 1 */
	uint32_t max;
	uint32_t cursor; /* next id to try: ids are reused last */
};

/* 0, -EINVAL (max 0 or too large) or -ENOMEM. */
int registry_init(struct registry *reg, uint32_t max);
void registry_fini(struct registry *reg);
/* A free slot turned PENDING with its id set, or NULL when full. */
struct member *registry_alloc(struct registry *reg);
/* The slot of @id in any state, or NULL when @id is out of range. */
struct member *registry_slot(struct registry *reg, uint32_t id);
/* The PENDING or LIVE member of @id, or NULL. */
struct member *registry_get(struct registry *reg, uint32_t id);
/* The PENDING or LIVE member called @name, or NULL. */
struct member *registry_find_name(struct registry *reg, const char *name);
/* Free a member's slot, keeping its address and token as a tombstone. */
void registry_free(struct registry *reg, struct member *m);
/* How many members are in @state. */
uint32_t registry_count(const struct registry *reg, enum member_state state);
/* The LIVE member with the smallest id >= @start, or NULL. */
struct member *registry_next_live(struct registry *reg, uint32_t start);

#endif /* SHMX_NODE_REGISTRY_H */
