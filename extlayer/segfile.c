/* SPDX-License-Identifier: MIT */
/*
 * segfile.c - segment snapshot files: write one atomically (temporary file,
 * fsync, rename, fsync of the directory) and read one back with its header
 * and content checked.  The format is in segfile.h and docs/segfile.md.
 */
#define _FILE_OFFSET_BITS 64 /* 64-bit offsets on 32-bit hosts too */

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "segfile.h"

/* The header exactly as it lies on disk (every integer little-endian). */
struct segfile_raw {
	uint8_t magic[SHMX_SEGFILE_MAGIC_LEN];
	uint32_t version;
	uint32_t hdr_len;
	uint64_t size;
	uint8_t name[SHMX_SEGFILE_NAME_LEN];
	uint32_t mode;
	uint32_t uid;
	uint32_t gid;
	uint32_t reserved0;
	uint64_t save_time;
	uint8_t content_sha256[SHMX_SEGFILE_SHA_LEN];
	uint8_t hdr_sha256[SHMX_SEGFILE_SHA_LEN];
	uint8_t reserved[80];
};

_Static_assert(sizeof(struct segfile_raw) == SHMX_SEGFILE_HDR_LEN,
	       "the header layout is part of the file format");
_Static_assert(offsetof(struct segfile_raw, version) == 8, "layout");
_Static_assert(offsetof(struct segfile_raw, hdr_len) == 12, "layout");
_Static_assert(offsetof(struct segfile_raw, size) == 16, "layout");
_Static_assert(offsetof(struct segfile_raw, name) == 24, "layout");
_Static_assert(offsetof(struct segfile_raw, mode) == 88, "layout");
_Static_assert(offsetof(struct segfile_raw, reserved0) == 100, "layout");
_Static_assert(offsetof(struct segfile_raw, save_time) == 104, "layout");
_Static_assert(offsetof(struct segfile_raw, content_sha256) == 112, "layout");
_Static_assert(offsetof(struct segfile_raw, hdr_sha256) == 144, "layout");
_Static_assert(offsetof(struct segfile_raw, reserved) == 176, "layout");
_Static_assert(sizeof(SHMX_SEGFILE_MAGIC) == SHMX_SEGFILE_MAGIC_LEN,
	       "the magic is 7 characters and a NUL");
/* Every name the API accepts fits the field with its NUL. */
_Static_assert(SHMX_NAME_MAX <= SHMX_SEGFILE_NAME_LEN, "name field too small");
_Static_assert(sizeof(off_t) == 8, "64-bit file offsets");

/* Largest content: the whole file must fit an off_t. */
#define SEGFILE_SIZE_MAX ((uint64_t)INT64_MAX - SHMX_SEGFILE_HDR_LEN)
/* Largest single read(2)/write(2) we issue. */
#define SEGFILE_IO_MAX ((size_t)1 << 30)
/* Buffer that verify streams the content through. */
#define SEGFILE_VERIFY_BUF ((size_t)64 << 10)
/* What create appends to the path for the temporary file. */
#define SEGFILE_TMP_SUFFIX ".tmp-XXXXXX"

struct shmx_segfile_writer {
	int fd;	   /* the temporary file */
	int dirfd; /* its directory, fsynced after the rename */
	int err;   /* first write error, sticky; 0 if none */
	uint64_t size;
	uint64_t written;
	EVP_MD_CTX *md; /* SHA-256 of the content so far */
	uint32_t mode, uid, gid;
	char name[SHMX_SEGFILE_NAME_LEN];
	char *path; /* where commit renames to */
	char *tmp;  /* the temporary file's name */
};

struct shmx_segfile_reader {
	int fd;
	uint64_t hdr_len;
	uint64_t size;
	uint64_t pos; /* content bytes read so far */
	uint8_t sha[SHMX_SEGFILE_SHA_LEN];
};

/* 1 if @c may appear in a segment name (printable ASCII), else 0. */
static int name_char_ok(unsigned char c)
{
	return c >= 0x20 && c <= 0x7e;
}

/*
 * Write all @len bytes at @off, or at the file offset when @off is negative.
 * Returns 0 or -errno (-EIO if the file takes no more bytes without saying
 * why).
 */
static int write_full(int fd, const void *buf, size_t len, off_t off)
{
	const uint8_t *p = buf;
	ssize_t n;

	while (len) {
		size_t chunk = len < SEGFILE_IO_MAX ? len : SEGFILE_IO_MAX;

		if (off < 0)
			n = write(fd, p, chunk);
		else
			n = pwrite(fd, p, chunk, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
		if (off >= 0)
			off += n;
	}
	return 0;
}

/*
 * Read up to @len bytes at @off; stops early only at the end of the file.
 * Returns the number of bytes read, or -errno.
 */
static ssize_t read_full(int fd, void *buf, size_t len, off_t off)
{
	uint8_t *p = buf;
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		size_t chunk = len - done;

		if (chunk > SEGFILE_IO_MAX)
			chunk = SEGFILE_IO_MAX;
		n = pread(fd, p + done, chunk, off + (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

/* SHA-256 of the header with its hdr_sha256 field zero.  0 or -ENOMEM. */
static int hdr_checksum(const struct segfile_raw *raw,
			uint8_t out[SHMX_SEGFILE_SHA_LEN])
{
	struct segfile_raw tmp = *raw;
	unsigned int len = 0;

	memset(tmp.hdr_sha256, 0, sizeof(tmp.hdr_sha256));
	if (EVP_Digest(&tmp, sizeof(tmp), out, &len, EVP_sha256(), NULL) != 1 ||
	    len != SHMX_SEGFILE_SHA_LEN)
		return -ENOMEM;
	return 0;
}

/* Fill @raw from @h and seal it with the header checksum.  0 or -ENOMEM. */
static int hdr_encode(const struct shmx_segfile_hdr *h, struct segfile_raw *raw)
{
	memset(raw, 0, sizeof(*raw));
	memcpy(raw->magic, SHMX_SEGFILE_MAGIC, SHMX_SEGFILE_MAGIC_LEN);
	raw->version = htole32(h->version);
	raw->hdr_len = htole32(h->hdr_len);
	raw->size = htole64(h->size);
	memcpy(raw->name, h->name, strnlen(h->name, sizeof(raw->name)));
	raw->mode = htole32(h->mode);
	raw->uid = htole32(h->uid);
	raw->gid = htole32(h->gid);
	raw->save_time = htole64(h->save_time);
	memcpy(raw->content_sha256, h->content_sha256, SHMX_SEGFILE_SHA_LEN);
	return hdr_checksum(raw, raw->hdr_sha256);
}

/* 1 if the @len bytes at @p are all zero, else 0. */
static int all_zero(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i])
			return 0;
	return 1;
}

/*
 * Check a name field: 1 to SHMX_SEGFILE_NAME_LEN - 1 characters in
 * 0x20..0x7e, then NULs to the end.  Returns 1 if it is one.
 */
static int name_field_ok(const uint8_t *f)
{
	size_t n = 0;

	while (n < SHMX_SEGFILE_NAME_LEN && f[n]) {
		if (!name_char_ok(f[n]))
			return 0;
		n++;
	}
	if (n == 0 || n == SHMX_SEGFILE_NAME_LEN)
		return 0;
	return all_zero(f + n, SHMX_SEGFILE_NAME_LEN - n);
}

/*
 * Frozen fields first (magic, version, hdr_len), so that a file of another
 * version is told apart before its checksum is.  0, -EINVAL, -EPROTO,
 * -EBADMSG or -ENOMEM (segfile.h).
 */
int shmx__segfile_hdr_decode(const void *buf, size_t len,
			     struct shmx_segfile_hdr *hdr)
{
	uint8_t sum[SHMX_SEGFILE_SHA_LEN];
	struct segfile_raw raw;
	uint32_t version;
	int ret;

	if (!buf || !hdr)
		return -EINVAL;
	if (len < SHMX_SEGFILE_MAGIC_LEN ||
	    memcmp(buf, SHMX_SEGFILE_MAGIC, SHMX_SEGFILE_MAGIC_LEN) != 0)
		return -EINVAL;
	/* The frozen part first: magic, version, hdr_len. */
	if (len < offsetof(struct segfile_raw, size))
		return -EBADMSG;
	memcpy(&version, (const uint8_t *)buf + 8, sizeof(version));
	version = le32toh(version);
	if (version == 0)
		return -EBADMSG;
	if (version != SHMX_SEGFILE_VERSION)
		return -EPROTO;
	if (len < sizeof(raw))
		return -EBADMSG;
	memcpy(&raw, buf, sizeof(raw));
	if (le32toh(raw.hdr_len) != SHMX_SEGFILE_HDR_LEN)
		return -EBADMSG;
	ret = hdr_checksum(&raw, sum);
	if (ret)
		return ret;
	if (memcmp(sum, raw.hdr_sha256, sizeof(sum)) != 0)
		return -EBADMSG;
	if (!name_field_ok(raw.name) || raw.reserved0 ||
	    !all_zero(raw.reserved, sizeof(raw.reserved)) ||
	    le64toh(raw.size) > SEGFILE_SIZE_MAX)
		return -EBADMSG;

	memset(hdr, 0, sizeof(*hdr));
	hdr->version = version;
	hdr->hdr_len = SHMX_SEGFILE_HDR_LEN;
	hdr->size = le64toh(raw.size);
	memcpy(hdr->name, raw.name, sizeof(hdr->name));
	hdr->mode = le32toh(raw.mode);
	hdr->uid = le32toh(raw.uid);
	hdr->gid = le32toh(raw.gid);
	hdr->save_time = le64toh(raw.save_time);
	memcpy(hdr->content_sha256, raw.content_sha256, SHMX_SEGFILE_SHA_LEN);
	return 0;
}

/* Free a writer's memory and close its descriptors; the files stay. */
static void writer_free(struct shmx_segfile_writer *w)
{
	if (w->fd >= 0)
		close(w->fd);
	if (w->dirfd >= 0)
		close(w->dirfd);
	EVP_MD_CTX_free(w->md);
	free(w->tmp);
	free(w->path);
	free(w);
}

/*
 * Open the directory that holds @path.  Returns a descriptor, or -errno
 * (-EINVAL for an empty path or one that ends in '/').
 */
static int open_parent_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int fd;

	if (!*path || (slash && !slash[1]))
		return -EINVAL;
	if (!slash)
		dir = strdup(".");
	else if (slash == path)
		dir = strdup("/");
	else
		dir = strndup(path, (size_t)(slash - path));
	if (!dir)
		return -ENOMEM;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		fd = -errno;
	free(dir);
	return fd;
}

/* 0, -EINVAL, -ENAMETOOLONG, -EFBIG, -ENOMEM or an open errno (segfile.h). */
int shmx__segfile_create(const char *path, const char *name, uint64_t size,
			 uint32_t mode, uint32_t uid, uint32_t gid,
			 struct shmx_segfile_writer **wp)
{
	static const uint8_t zero_hdr[SHMX_SEGFILE_HDR_LEN];
	struct shmx_segfile_writer *w;
	size_t nlen, plen;
	int ret;

	if (!path || !name || !wp)
		return -EINVAL;
	*wp = NULL;
	nlen = strnlen(name, SHMX_NAME_MAX);
	if (nlen == SHMX_NAME_MAX)
		return -ENAMETOOLONG;
	if (nlen == 0)
		return -EINVAL;
	for (size_t i = 0; i < nlen; i++)
		if (!name_char_ok((unsigned char)name[i]))
			return -EINVAL;
	if (size > SEGFILE_SIZE_MAX)
		return -EFBIG;
	plen = strlen(path);
	if (plen + sizeof(SEGFILE_TMP_SUFFIX) > PATH_MAX)
		return -ENAMETOOLONG;

	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->fd = -1;
	w->size = size;
	w->mode = mode;
	w->uid = uid;
	w->gid = gid;
	memcpy(w->name, name, nlen);
	w->dirfd = open_parent_dir(path);
	if (w->dirfd < 0) {
		ret = w->dirfd;
		goto out_free;
	}
	w->path = strdup(path);
	w->tmp = malloc(plen + sizeof(SEGFILE_TMP_SUFFIX));
	w->md = EVP_MD_CTX_new();
	if (!w->path || !w->tmp || !w->md ||
	    EVP_DigestInit_ex(w->md, EVP_sha256(), NULL) != 1) {
		ret = -ENOMEM;
		goto out_free;
	}
	memcpy(w->tmp, path, plen);
	memcpy(w->tmp + plen, SEGFILE_TMP_SUFFIX, sizeof(SEGFILE_TMP_SUFFIX));
	/* mkostemp: O_CREAT | O_EXCL, mode 0600. */
	w->fd = mkostemp(w->tmp, O_CLOEXEC);
	if (w->fd < 0) {
		ret = -errno;
		goto out_free;
	}
	ret = write_full(w->fd, zero_hdr, sizeof(zero_hdr), -1);
	if (ret)
		goto out_unlink;
	*wp = w;
	return 0;

out_unlink:
	unlink(w->tmp);
out_free:
	writer_free(w);
	return ret;
}

/* 0, -EINVAL, -EFBIG (past size, nothing written) or a sticky errno. */
int shmx__segfile_write(struct shmx_segfile_writer *w, const void *buf,
			size_t len)
{
	int ret;

	if (!w || (!buf && len))
		return -EINVAL;
	if (w->err)
		return w->err;
	if (len > w->size - w->written)
		return -EFBIG;
	if (!len)
		return 0;
	if (EVP_DigestUpdate(w->md, buf, len) != 1) {
		w->err = -ENOMEM;
		return w->err;
	}
	ret = write_full(w->fd, buf, len, -1);
	if (ret) {
		w->err = ret;
		return ret;
	}
	w->written += len;
	return 0;
}

/* 0 or the errno of unlink(2); frees @w either way. */
int shmx__segfile_abort(struct shmx_segfile_writer *w)
{
	int ret = 0;

	if (!w)
		return 0;
	if (unlink(w->tmp))
		ret = -errno;
	writer_free(w);
	return ret;
}

/*
 * 0, -EINVAL, -EIO (short), or the first errno on the way; consumes @w.
 * Order: header, fsync, close, rename, fsync of the directory.
 */
int shmx__segfile_commit(struct shmx_segfile_writer *w)
{
	struct shmx_segfile_hdr h = { 0 };
	struct segfile_raw raw;
	unsigned int mdlen = 0;
	int ret;

	if (!w)
		return -EINVAL;
	if (w->err) {
		ret = w->err;
		goto out_abort;
	}
	if (w->written != w->size) {
		ret = -EIO; /* short: not every content byte was written */
		goto out_abort;
	}
	if (EVP_DigestFinal_ex(w->md, h.content_sha256, &mdlen) != 1 ||
	    mdlen != SHMX_SEGFILE_SHA_LEN) {
		ret = -ENOMEM;
		goto out_abort;
	}
	h.version = SHMX_SEGFILE_VERSION;
	h.hdr_len = SHMX_SEGFILE_HDR_LEN;
	h.size = w->size;
	memcpy(h.name, w->name, sizeof(h.name));
	h.mode = w->mode;
	h.uid = w->uid;
	h.gid = w->gid;
	h.save_time = (uint64_t)time(NULL);
	ret = hdr_encode(&h, &raw);
	if (ret)
		goto out_abort;
	ret = write_full(w->fd, &raw, sizeof(raw), 0);
	if (ret)
		goto out_abort;
	if (fsync(w->fd)) {
		ret = -errno;
		goto out_abort;
	}
	ret = close(w->fd);
	w->fd = -1; /* closed even when close reports an error */
	if (ret) {
		ret = -errno;
		goto out_abort;
	}
	if (rename(w->tmp, w->path)) {
		ret = -errno;
		goto out_abort;
	}
	/* Make the rename durable; a file system that cannot says EINVAL. */
	ret = 0;
	if (fsync(w->dirfd) && errno != EINVAL)
		ret = -errno;
	writer_free(w);
	return ret;

out_abort:
	shmx__segfile_abort(w);
	return ret;
}

/* 0, -EINVAL, -EPROTO, -EBADMSG, -ENOMEM or an open/read errno. */
int shmx__segfile_open(const char *path, struct shmx_segfile_reader **rp,
		       struct shmx_segfile_hdr *hdr)
{
	uint8_t buf[SHMX_SEGFILE_HDR_LEN];
	struct shmx_segfile_hdr h;
	struct shmx_segfile_reader *r;
	struct stat st;
	ssize_t n;
	int fd, ret;

	if (!path || !rp)
		return -EINVAL;
	*rp = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		ret = -errno;
		goto out_close;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = -EINVAL;
		goto out_close;
	}
	n = read_full(fd, buf, sizeof(buf), 0);
	if (n < 0) {
		ret = (int)n;
		goto out_close;
	}
	ret = shmx__segfile_hdr_decode(buf, (size_t)n, &h);
	if (ret)
		goto out_close;
	/* Exactly header + content: not truncated, nothing after. */
	if ((uint64_t)st.st_size != h.hdr_len + h.size) {
		ret = -EBADMSG;
		goto out_close;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		ret = -ENOMEM;
		goto out_close;
	}
	r->fd = fd;
	r->hdr_len = h.hdr_len;
	r->size = h.size;
	memcpy(r->sha, h.content_sha256, sizeof(r->sha));
	if (hdr)
		*hdr = h;
	*rp = r;
	return 0;

out_close:
	close(fd);
	return ret;
}

/* 0 with *@got bytes (fewer than @len only at the end), or -errno. */
int shmx__segfile_read(struct shmx_segfile_reader *r, void *buf, size_t len,
		       size_t *got)
{
	uint64_t left;
	ssize_t n;

	if (got)
		*got = 0;
	if (!r || !got || (!buf && len))
		return -EINVAL;
	left = r->size - r->pos;
	if (len > left)
		len = (size_t)left;
	if (!len)
		return 0;
	n = read_full(r->fd, buf, len, (off_t)(r->hdr_len + r->pos));
	if (n < 0)
		return (int)n;
	if ((size_t)n != len)
		return -EBADMSG; /* the file shrank since open */
	r->pos += len;
	*got = len;
	return 0;
}

/* 0, -EINVAL, -EBADMSG (mismatch), -ENOMEM or a read errno; rewinds. */
int shmx__segfile_verify(struct shmx_segfile_reader *r)
{
	uint8_t sum[SHMX_SEGFILE_SHA_LEN];
	unsigned int mdlen = 0;
	EVP_MD_CTX *md;
	uint8_t *buf;
	size_t got;
	int ret;

	if (!r)
		return -EINVAL;
	buf = malloc(SEGFILE_VERIFY_BUF);
	md = EVP_MD_CTX_new();
	if (!buf || !md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		ret = -ENOMEM;
		goto out_free;
	}
	r->pos = 0;
	do {
		ret = shmx__segfile_read(r, buf, SEGFILE_VERIFY_BUF, &got);
		if (ret)
			goto out_free;
		if (got && EVP_DigestUpdate(md, buf, got) != 1) {
			ret = -ENOMEM;
			goto out_free;
		}
	} while (got);
	if (EVP_DigestFinal_ex(md, sum, &mdlen) != 1 ||
	    mdlen != SHMX_SEGFILE_SHA_LEN) {
		ret = -ENOMEM;
		goto out_free;
	}
	if (memcmp(sum, r->sha, sizeof(sum)) != 0)
		ret = -EBADMSG;

out_free:
	r->pos = 0;
	EVP_MD_CTX_free(md);
	free(buf);
	return ret;
}

/* Always 0. */
int shmx__segfile_close(struct shmx_segfile_reader *r)
{
	if (!r)
		return 0;
	close(r->fd);
	free(r);
	return 0;
}
