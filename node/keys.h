/* SPDX-License-Identifier: MIT */
/*
 * keys.h - how shmnode's object tables (pools, allocations, segments) get
 * and drop remote keys for ranges of the global address space.  The server
 * implements it with the transport (xport_mr_reg over the extent that holds
 * the range); unit tests implement it with a fake that records calls, so
 * the tables are tested without a fabric.
 */
#ifndef SHMX_NODE_KEYS_H
#define SHMX_NODE_KEYS_H

#include <stdint.h>

/* Access bits: the transport's (xport.h), repeated so tables need no xport. */
#define NODE_KEY_READ 0x1u   /* == XPORT_REMOTE_READ */
#define NODE_KEY_WRITE 0x2u  /* == XPORT_REMOTE_WRITE */
#define NODE_KEY_ATOMIC 0x4u /* == XPORT_REMOTE_ATOMIC */
#define NODE_KEY_RW (NODE_KEY_READ | NODE_KEY_WRITE | NODE_KEY_ATOMIC)

struct node_keys {
	/*
	 * Register [@gaddr, @gaddr + @len) for remote @access.  Fills
	 * *@handle (for unreg) and *@key (what a client presents).  Returns
	 * 0, -EINVAL (range not inside one extent), -ENOMEM, or the
	 * transport's -errno.  Once unreg() returns, the key no longer works.
	 */
	int (*reg)(void *arg, uint64_t gaddr, uint64_t len, unsigned access,
		   void **handle, uint64_t *key);
	void (*unreg)(void *arg, void *handle);
	void *arg;
};

#endif /* SHMX_NODE_KEYS_H */
