/* SPDX-License-Identifier: MIT */
/*
 * journal.c - the metadata journal's file: its head, checksummed records
 * appended in batches, reading back to the last whole record, and the
 * rewrite that replaces it (journal.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "journal.h"
#include "util/crc32c.h"

#define JOURNAL_MAGIC "SHMXJRN1"
#define RECORD_MAGIC 0x52584d53u /* "SMXR" */
#define RECORD_DEL 1u

/* What precedes a record's body in the file. */
struct record {
	uint32_t magic;
	uint16_t type;
	uint16_t flags; /* RECORD_DEL */
	uint32_t len;	/* of the body */
	uint32_t crc;	/* CRC32C of the record with crc 0, then the body */
	uint64_t key;
	uint64_t seq;
};

/* A rewrite is worth it past this many bytes, and twice the last one. */
#define REWRITE_MIN ((uint64_t)4 << 20)

/* Write all of @buf at the end of @fd.  0 or -errno. */
static int write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read exactly @len bytes, or fewer at the end of the file: the count, or
 * -errno. */
static ssize_t read_full(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, p + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (!n)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/* fsync the directory that holds @path, so that a rename in it lasts. */
static int sync_dir(const char *path)
{
	char copy[PATH_MAX];
	int fd, ret = 0;

	snprintf(copy, sizeof(copy), "%s", path);
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd))
		ret = -errno;
	close(fd);
	return ret;
}

/* The first setting of @a that differs from @b, or NULL. */
static const char *head_differs(const struct journal_head *a,
				const struct journal_head *b)
{
	if (a->max_members != b->max_members)
		return "max-members";
	if (a->max_locks != b->max_locks)
		return "max-locks";
	if (a->file_off != b->file_off)
		return "the lock table's size (max-locks)";
	return NULL;
}

int journal_open(struct journal *j, const char *path,
		 const struct journal_head *head, int sync, int *fresh,
		 char *err, size_t errlen)
{
	struct journal_head h;
	const char *what;
	struct stat sb;
	ssize_t n;
	int ret;

	memset(j, 0, sizeof(*j));
	j->fd = -1;
	j->sync = sync;
	if (snprintf(j->path, sizeof(j->path), "%s", path) >=
	    (int)sizeof(j->path))
		return -ENAMETOOLONG;
	j->head = *head;
	memcpy(j->head.magic, JOURNAL_MAGIC, sizeof(j->head.magic));
	j->head.version = JOURNAL_VERSION;
	j->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (j->fd < 0)
		return -errno;
	if (fstat(j->fd, &sb)) {
		ret = -errno;
		goto fail;
	}
	*fresh = sb.st_size == 0;
	if (*fresh) {
		ret = write_all(j->fd, &j->head, sizeof(j->head));
		if (!ret && fsync(j->fd))
			ret = -errno;
		if (ret)
			goto fail;
		j->size = j->fresh_size = sizeof(j->head);
		return 0;
	}
	n = read_full(j->fd, &h, sizeof(h));
	ret = n < 0 ? (int)n : -EBADMSG;
	if (n != (ssize_t)sizeof(h) ||
	    memcmp(h.magic, JOURNAL_MAGIC, sizeof(h.magic))) {
		snprintf(err, errlen, "%s is not a shmnode journal", path);
		goto fail;
	}
	if (h.version != JOURNAL_VERSION) {
		snprintf(err, errlen, "%s is of journal version %u, not %u",
			 path, h.version, JOURNAL_VERSION);
		goto fail;
	}
	what = head_differs(&h, &j->head);
	if (what) {
		snprintf(err, errlen,
			 "%s was made with another %s (%u members, %u locks "
			 "then; %u and %u now)",
			 path, what, h.max_members, h.max_locks,
			 j->head.max_members, j->head.max_locks);
		ret = -ESTALE;
		goto fail;
	}
	j->size = j->fresh_size = (uint64_t)sb.st_size;
	return 0;

fail:
	close(j->fd);
	j->fd = -1;
	return ret;
}

int journal_read(struct journal *j, journal_fn fn, void *arg, uint64_t *dropped)
{
	uint64_t at = sizeof(struct journal_head);
	uint8_t *body = NULL;
	size_t cap = 0;
	int ret = 0;

	*dropped = 0;
	if (lseek(j->fd, (off_t)at, SEEK_SET) < 0)
		return -errno;
	for (;;) {
		struct record r;
		uint32_t crc;
		ssize_t n = read_full(j->fd, &r, sizeof(r));

		if (n < 0) {
			ret = (int)n;
			break;
		}
		if (n < (ssize_t)sizeof(r) || r.magic != RECORD_MAGIC ||
		    r.len > JOURNAL_BODY_MAX || r.seq <= j->seq)
			break;
		if (r.len > cap) {
			uint8_t *grown = realloc(body, r.len);

			if (!grown) {
				ret = -ENOMEM;
				break;
			}
			body = grown;
			cap = r.len;
		}
		n = read_full(j->fd, body, r.len);
		if (n < 0) {
			ret = (int)n;
			break;
		}
		crc = r.crc;
		r.crc = 0;
		if (n != (ssize_t)r.len ||
		    shmx__crc32c(shmx__crc32c(0, &r, sizeof(r)), body, r.len) !=
			    crc)
			break;
		j->seq = r.seq;
		at += sizeof(r) + r.len;
		ret = fn(arg, r.type, !!(r.flags & RECORD_DEL), r.key, body,
			 r.len);
		if (ret)
			break;
	}
	free(body);
	if (ret)
		return ret;
	/* What follows the last whole record was never answered: cut it,
	 * so that appends go on from a whole record. */
	if (at < j->size) {
		*dropped = j->size - at;
		if (ftruncate(j->fd, (off_t)at))
			return -errno;
		j->size = at;
	}
	if (lseek(j->fd, 0, SEEK_END) < 0)
		return -errno;
	return 0;
}

static void put(struct journal *j, uint32_t type, uint64_t key, int del,
		const void *body, size_t len)
{
	struct record r = {
		.magic = RECORD_MAGIC,
		.type = (uint16_t)type,
		.flags = del ? RECORD_DEL : 0,
		.len = (uint32_t)len,
		.key = key,
	};
	size_t need;

	if (j->err)
		return;
	if (len > JOURNAL_BODY_MAX) {
		j->err = -EFBIG;
		return;
	}
	need = j->len + sizeof(r) + len;
	if (need > j->cap) {
		size_t cap = j->cap ? j->cap : 4096;
		uint8_t *grown;

		while (cap < need)
			cap *= 2;
		grown = realloc(j->buf, cap);
		if (!grown) {
			j->err = -ENOMEM;
			return;
		}
		j->buf = grown;
		j->cap = cap;
	}
	r.seq = ++j->seq;
	r.crc = shmx__crc32c(shmx__crc32c(0, &r, sizeof(r)), body, len);
	memcpy(j->buf + j->len, &r, sizeof(r));
	if (len)
		memcpy(j->buf + j->len + sizeof(r), body, len);
	j->len = need;
}

void journal_put(struct journal *j, uint32_t type, uint64_t key,
		 const void *body, size_t len)
{
	put(j, type, key, 0, body, len);
}

void journal_del(struct journal *j, uint32_t type, uint64_t key)
{
	put(j, type, key, 1, NULL, 0);
}

int journal_commit(struct journal *j)
{
	int ret = j->err;

	if (!ret && j->len) {
		ret = write_all(j->fd, j->buf, j->len);
		if (!ret && j->sync && fdatasync(j->fd))
			ret = -errno;
		if (!ret)
			j->size += j->len;
	}
	if (ret && j->len) {
		/* Part of the batch may be in the file: cut it off, so that
		 * it cannot come back at the next start. */
		if (ftruncate(j->fd, (off_t)j->size) == 0)
			(void)lseek(j->fd, 0, SEEK_END);
	}
	j->len = 0;
	j->err = 0;
	return ret;
}

int journal_rewrite_begin(struct journal *j)
{
	int ret = journal_commit(j);

	if (ret)
		return ret;
	/* Records of the new file start the batch: journal_rewrite_end
	 * writes the head and them in one go. */
	j->len = 0;
	return 0;
}

int journal_rewrite_end(struct journal *j)
{
	char tmp[PATH_MAX + 8];
	int fd, ret = j->err;

	if (ret)
		goto out;
	snprintf(tmp, sizeof(tmp), "%s.new", j->path);
	fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	ret = write_all(fd, &j->head, sizeof(j->head));
	if (!ret)
		ret = write_all(fd, j->buf, j->len);
	if (!ret && fsync(fd))
		ret = -errno;
	if (!ret && rename(tmp, j->path))
		ret = -errno;
	if (ret) {
		close(fd);
		unlink(tmp);
		goto out;
	}
	(void)sync_dir(j->path);
	close(j->fd);
	j->fd = fd;
	j->size = j->fresh_size = sizeof(j->head) + j->len;
	(void)lseek(fd, 0, SEEK_END);
out:
	j->len = 0;
	j->err = 0;
	return ret;
}

int journal_wants_rewrite(const struct journal *j)
{
	return j->size > REWRITE_MIN && j->size > 2 * j->fresh_size;
}

void journal_close(struct journal *j)
{
	if (j->fd >= 0)
		close(j->fd);
	j->fd = -1;
	free(j->buf);
	j->buf = NULL;
	j->len = j->cap = 0;
}
