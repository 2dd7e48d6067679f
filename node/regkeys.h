/* SPDX-License-Identifier: MIT */
/*
 * regkeys.h - the server's struct node_keys: every key an object table asks
 * for is a registration of that range of the region with the transport
 * (xport_mr_reg), kept in a tree by key so a grant can say which remote
 * address the key gives a range (rbase: the transport's address of the
 * range's first byte).
 */
#ifndef SHMX_NODE_REGKEYS_H
#define SHMX_NODE_REGKEYS_H

#include <stdint.h>

#include "extents.h"
#include "keys.h"
#include "rbtree.h"
#include "xport/xport.h"

/*
 * Called for every registration dropped (a release, a destroy, a re-key
 * of an ownership change or a freeze, a member leaving): its range and
 * the members it was handed to (regkeys_hold), so that they can be told.
 */
typedef void (*regkeys_dropped_fn)(void *arg, uint64_t gaddr, uint64_t len,
				   const uint32_t *holders, uint32_t n);

struct regkeys {
	struct node_keys ops;	    /* what the tables are given */
	regkeys_dropped_fn dropped; /* may be NULL */
	void *dropped_arg;
	struct xport *xp;
	const struct node_extents *mem; /* where each gaddr lives */
	struct shmx__rb_root by_key;
	uint64_t count; /* registrations alive */
};

/* Serve keys over the extents of @mem through @xp.  A range to register
 * must lie inside one extent.  Returns nothing. */
void regkeys_init(struct regkeys *rk, struct xport *xp,
		  const struct node_extents *mem);

/* Drop every registration still alive (the tables' fini calls should have
 * dropped them all; a leftover is logged).  Returns nothing. */
void regkeys_fini(struct regkeys *rk);

/*
 * Note that member @member was handed @key (a grant), so that it is told
 * when the key is dropped.  Returns 0, -ENOENT (no such key) or -ENOMEM.
 */
int regkeys_hold(struct regkeys *rk, uint64_t key, uint32_t member);

/*
 * The remote address, under @key, of gaddr @gaddr (which must lie in the
 * range @key was registered for).  Returns 0 with *@rbase set, or -ENOENT
 * (no such key) / -ERANGE (@gaddr outside its range).
 */
int regkeys_rbase(const struct regkeys *rk, uint64_t key, uint64_t gaddr,
		  uint64_t *rbase);

#endif /* SHMX_NODE_REGKEYS_H */
