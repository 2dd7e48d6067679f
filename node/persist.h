/* SPDX-License-Identifier: MIT */
/*
 * persist.h - shmnode's memory and metadata kept in files (--backing PATH,
 * docs/operations.md "Persistence"):
 *  - PATH holds the memory: the lock table's slots from offset 0, then
 *    global address g at offset file_off + g (a sparse file), each extent
 *    a shared mapping of it, so what clients write is the file's;
 *  - PATH.journal holds the metadata (journal.c): the extents and the
 *    root, the members with their sessions, the pools and their blocks
 *    with owners and epochs, the segments with their attachments, the
 *    locks with their reservations.  A request that changes any of them
 *    is answered only once the change is in the journal.
 * A restart with the same PATH serves the same memory and objects: the
 * members come back without a connection and have one client timeout to
 * RESUME (protocol 3) before they are ended as gone.
 */
#ifndef SHMX_NODE_PERSIST_H
#define SHMX_NODE_PERSIST_H

#include <stdint.h>

#include "journal.h"
#include "rbtree.h"

struct server;
struct member;
struct shmx_msg;

/* Kinds of record (journal types). */
enum {
	PERSIST_NODE = 1,
	PERSIST_MEMBER,
	PERSIST_POOL,
	PERSIST_BLOCK,
	PERSIST_SEG,
	PERSIST_LOCK,
	PERSIST_KINDS
};

struct persist {
	int on; /* --backing given */
	int fd; /* the memory file, -1 when none */
	uint64_t file_off;
	struct journal j;
	/* The journal read back at start, the last record of each object,
	 * by kind and key; emptied once restored. */
	struct shmx__rb_root staged[PERSIST_KINDS];
	int all; /* everything must be written again (persist_commit) */
	uint64_t commits, rewrites, errors; /* since the start (admin status) */
};

/*
 * Before the memory is mapped: open (or create) PATH and PATH.journal,
 * lock PATH against a second shmnode, and read the journal back.
 * *@size0: the length of extent 0 to map (the journal's, when it has one;
 * else cfg.size).  Without --backing, only marks persistence off.
 * Returns 0 or -errno (said in the log).
 */
int persist_open(struct server *srv, uint64_t *size0);
/*
 * Once the memory, its tables and the lock table are set up (empty): put
 * back the extents, members, pools, blocks, segments, locks and the root
 * of the journal read, then rewrite the journal from them.  Returns 0 or
 * -errno (said in the log).
 */
int persist_restore(struct server *srv);
/* The memory file to map the lock table from (-1: none), at offset 0. */
int persist_fd(const struct server *srv);
/* Where global address 0 is in the memory file. */
uint64_t persist_file_off(const struct server *srv);

/*
 * @req of member @m was answered @rep (status OK): note what it changed.
 * Returns 0, or -errno when the change could not be kept (the caller
 * answers with an error instead: the change is made, but a restart would
 * not have it).
 */
int persist_request(struct server *srv, const struct member *m,
		    const struct shmx_msg *req, const struct shmx_msg *rep);
/* Member @m changed (joined, its mailbox, its address), or is gone. */
void persist_member(struct server *srv, const struct member *m);
/* The extents or the root changed (grow, shrink, root). */
void persist_node(struct server *srv);
/* Everything may have changed (a member ended, a pool destroyed): the
 * next commit rewrites the journal. */
void persist_everything(struct server *srv);
/* Write what was noted.  0 or -errno (said in the log). */
int persist_commit(struct server *srv);
void persist_close(struct server *srv);

#endif /* SHMX_NODE_PERSIST_H */
