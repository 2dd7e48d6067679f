/* SPDX-License-Identifier: MIT */
/*
 * journal.h - shmnode's metadata journal (--backing PATH: PATH.journal):
 * a file of checksummed records, each the whole state of one object (or
 * its deletion), appended before the request that changed the object is
 * answered, and rewritten from scratch (a new file renamed over the old)
 * when it has grown.  Reading it back keeps the last record of each
 * object; a record cut short or damaged ends the journal there (a crash
 * in the middle of an append: that request was never answered).
 *
 * Pure file handling: what a record holds is persist.c's business.
 */
#ifndef SHMX_NODE_JOURNAL_H
#define SHMX_NODE_JOURNAL_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

/* The settings a journal was made with: a restart must use the same. */
struct journal_head {
	char magic[8];	      /* "SHMXJRN1" */
	uint32_t version;     /* JOURNAL_VERSION */
	uint32_t max_members; /* the header area's size depends on it */
	uint32_t max_locks;   /* the lock table's size */
	uint32_t pad;
	uint64_t file_off; /* where global address 0 is in the memory file */
};

#define JOURNAL_VERSION 1
/* No record's body is larger (a pool with every member as an opener is
 * far below). */
#define JOURNAL_BODY_MAX ((size_t)16 << 20)

struct journal {
	int fd;		     /* the journal, -1 when closed */
	int sync;	     /* fdatasync after every commit */
	char path[PATH_MAX]; /* PATH.journal */
	uint64_t seq;	     /* of the last record appended */
	uint64_t size;	     /* bytes in the file */
	uint64_t fresh_size; /* bytes right after the last rewrite */
	uint8_t *buf;	     /* records appended, not yet written */
	size_t len, cap;
	int err; /* the first error since the last commit */
	struct journal_head head;
};

/*
 * Called by journal_read for each record in order: @type and @key as
 * appended, @del set for a deletion (no body).  A nonzero return stops
 * the reading and is returned.
 */
typedef int (*journal_fn)(void *arg, uint32_t type, int del, uint64_t key,
			  const void *body, size_t len);

/*
 * Open @path (created when absent, with @head).  An existing journal's
 * head must equal @head in every setting: -ESTALE, with @err naming the
 * setting that differs.  *@fresh: 1 when the journal was new (or empty).
 * Returns 0 or -errno (-EBADMSG: not a journal, or of another version).
 */
int journal_open(struct journal *j, const char *path,
		 const struct journal_head *head, int sync, int *fresh,
		 char *err, size_t errlen);
/*
 * Read every whole record, calling @fn; a damaged or cut record ends the
 * journal there and the file is cut to that point (*@dropped: bytes cut).
 * Returns 0, @fn's nonzero value, or -errno.
 */
int journal_read(struct journal *j, journal_fn fn, void *arg,
		 uint64_t *dropped);
/* Append a record to the batch (written by journal_commit).  An error
 * (-ENOMEM, -EFBIG) is kept for journal_commit to return. */
void journal_put(struct journal *j, uint32_t type, uint64_t key,
		 const void *body, size_t len);
void journal_del(struct journal *j, uint32_t type, uint64_t key);
/*
 * Write the batch with one write (and fdatasync it when j->sync).  After
 * it returns, a crash of shmnode loses none of it (the kernel has it; a
 * crash of the machine needs j->sync).  Returns 0 or -errno (the batch is
 * dropped: the caller must not answer as if it were kept).
 */
int journal_commit(struct journal *j);
/*
 * Start writing a whole new journal (PATH.journal.new, with the head):
 * records put from now on go there.  journal_rewrite_end writes them,
 * syncs, and renames the file over the old one, so that a crash leaves
 * either journal whole.  0 or -errno (the old journal is kept, and the
 * records go on being appended to it).
 */
int journal_rewrite_begin(struct journal *j);
int journal_rewrite_end(struct journal *j);
/* Whether the journal has grown enough to be worth a rewrite. */
int journal_wants_rewrite(const struct journal *j);
void journal_close(struct journal *j);

#endif /* SHMX_NODE_JOURNAL_H */
