/* SPDX-License-Identifier: MIT */
/*
 * segfile.h - the on-disk format of a named-segment snapshot (the file that
 * shmx_seg_save writes and shmx_seg_load reads), as a pure module: it knows
 * files and bytes, nothing of contexts or the fabric.  The caller moves the
 * segment over RDMA in chunks and hands each chunk to the writer, or takes
 * each chunk from the reader.  docs/segfile.md describes the format byte by
 * byte; the layout below is the same, and is the authority.
 *
 * A file is a 256-byte header followed by exactly `size` bytes of content,
 * nothing after.  Header (version 1, every integer little-endian):
 *   off size field
 *     0    8  magic          "SHMXSEG\0"                     (frozen)
 *     8    4  version        SHMX_SEGFILE_VERSION            (frozen)
 *    12    4  hdr_len        header length; 256 in version 1 (frozen)
 *    16    8  size           content bytes that follow the header
 *    24   64  name           segment name, 1..63 printable ASCII
 *                            (0x20..0x7e), NUL-padded to 64 bytes
 *    88    4  mode           segment's permission bits at save time
 *    92    4  uid            segment's owner uid at save time
 *    96    4  gid            segment's owner gid at save time
 *   100    4  reserved0      0
 *   104    8  save_time      seconds since the epoch (UTC), at commit
 *   112   32  content_sha256 SHA-256 of the `size` content bytes
 *   144   32  hdr_sha256     SHA-256 of the 256 header bytes with this
 *                            field set to zero
 *   176   80  reserved       0
 * mode, uid and gid are informational: loading a file does not apply them.
 * "frozen": the first 16 bytes keep this layout in every version, so any
 * reader recognises a file of another version and says so (-EPROTO).
 * Reserved bytes are written as 0 and rejected when not 0; a later version
 * that gives them a meaning bumps the version.
 *
 * Versions (a changelog):
 *   1  first version.
 *
 * Errors.  Every function returns 0 or a negative errno.  For a file:
 *   -EINVAL     a bad argument; or, from open, the file is not a segment
 *               file at all (not a regular file, or no "SHMXSEG\0" magic)
 *   -EPROTO     a segment file of another (newer, or unknown) format version
 *   -EBADMSG    a damaged segment file: header checksum mismatch, a field out
 *               of range, reserved bytes not zero, length not hdr_len + size
 *               (truncated or with trailing bytes); from verify, content
 *               checksum mismatch
 *   -ENAMETOOLONG  create: the name has SHMX_NAME_MAX or more characters
 *   -EFBIG      create: size too large for a file; write: more bytes than
 *               the size given to create
 *   -EIO        commit: fewer bytes written than the size ("short"); or an
 *               earlier write failed
 *   -ENOMEM     out of memory (here or inside libcrypto)
 *   other       what the system call said, unchanged: -ENOENT (no such
 *               file, or the directory does not exist), -EACCES, -EROFS,
 *               -ENOSPC, -EDQUOT, -ENOTDIR, -EISDIR, ...
 *
 * Thread safety: a writer or reader is used by one thread at a time;
 * different ones are independent.  Memory use is bounded (no call keeps the
 * content in memory).
 */
#ifndef SHMX_EXT_SEGFILE_H
#define SHMX_EXT_SEGFILE_H

#include <stddef.h>
#include <stdint.h>

#include "shmext/shmext.h"

#define SHMX_SEGFILE_MAGIC "SHMXSEG" /* 8 bytes with its NUL */
#define SHMX_SEGFILE_MAGIC_LEN 8
#define SHMX_SEGFILE_VERSION 1
#define SHMX_SEGFILE_HDR_LEN 256
#define SHMX_SEGFILE_NAME_LEN 64 /* the name field, NUL padding included */
#define SHMX_SEGFILE_SHA_LEN 32

/* The header as the reader hands it back, in host byte order. */
struct shmx_segfile_hdr {
	uint32_t version;
	uint32_t hdr_len;
	uint64_t size;			  /* content bytes */
	char name[SHMX_SEGFILE_NAME_LEN]; /* NUL-terminated */
	uint32_t mode;
	uint32_t uid;
	uint32_t gid;
	uint64_t save_time; /* seconds since the epoch */
	uint8_t content_sha256[SHMX_SEGFILE_SHA_LEN];
};

struct shmx_segfile_writer;
struct shmx_segfile_reader;

/*
 * shmx__segfile_create - start writing a snapshot of segment @name (@size
 * content bytes) that will appear at @path on commit.  Creates a temporary
 * file "@path.tmp-XXXXXX" in the same directory (O_EXCL, mode 0600) and
 * writes a placeholder header of zeros, so a temporary left behind by a crash
 * is never taken for a segment file.  Nothing at @path changes until commit.
 * The finished file keeps mode 0600: it holds the segment's data.
 * Returns 0 and *@w; -EINVAL (NULL argument, empty name, a character outside
 * 0x20..0x7e, @path empty or ending in '/'); -ENAMETOOLONG (a name of
 * SHMX_NAME_MAX characters or more, or a path too long); -EFBIG (@size too
 * large for a file); -ENOMEM; or the errno of creating the file (-ENOENT when
 * the directory does not exist, -EACCES, -EROFS, ...).
 */
int shmx__segfile_create(const char *path, const char *name, uint64_t size,
			 uint32_t mode, uint32_t uid, uint32_t gid,
			 struct shmx_segfile_writer **w);

/*
 * shmx__segfile_write - append @len content bytes.  All or nothing: a write
 * that would take the content past the size given to create writes nothing
 * and returns -EFBIG, and the writer stays usable.  Returns 0, -EINVAL,
 * -EFBIG, or the errno of write(2) (-ENOSPC, -EIO, ...); after such an error
 * the writer is broken: every later write and the commit fail with the same
 * errno, and the caller should abort.
 */
int shmx__segfile_write(struct shmx_segfile_writer *w, const void *buf,
			size_t len);

/*
 * shmx__segfile_commit - finish the file: requires exactly size bytes
 * written, writes the final header (content checksum, save time, header
 * checksum), fsyncs the file, renames it over @path atomically (replacing any
 * file there) and fsyncs the directory.  Always consumes @w: on failure before
 * the rename the temporary file is removed and @path is untouched.
 * Returns 0, -EINVAL (NULL), -EIO (short: fewer bytes written than the size;
 * or an earlier write failed: that write's errno), or the errno of
 * pwrite/fsync/close/rename (-ENOSPC, -EIO, -EISDIR, ...).  An error from the
 * final directory fsync comes after the rename: the new file is in place but
 * its name may not survive a crash.
 */
int shmx__segfile_commit(struct shmx_segfile_writer *w);

/*
 * shmx__segfile_abort - give up: remove the temporary file and free @w
 * (NULL is allowed).  @path is untouched.  Returns 0, or the errno of
 * unlink(2); @w is freed either way.
 */
int shmx__segfile_abort(struct shmx_segfile_writer *w);

/*
 * shmx__segfile_open - open a snapshot and validate its header and length
 * (not the content: see verify).  Checks, in this order: regular file and
 * magic (-EINVAL), version (-EPROTO when not 1; a version of 0 is -EBADMSG),
 * hdr_len, header checksum, name, reserved bytes, and that the file is exactly
 * hdr_len + size bytes long (-EBADMSG).  Returns 0 with *@r positioned at the
 * first content byte and, when @hdr is not NULL, the header in *@hdr; or
 * -EINVAL, -EPROTO, -EBADMSG, -ENOMEM, or the errno of open/read (-ENOENT,
 * -EACCES, ...).
 */
int shmx__segfile_open(const char *path, struct shmx_segfile_reader **r,
		       struct shmx_segfile_hdr *hdr);

/*
 * shmx__segfile_verify - read the whole content once, compare its SHA-256
 * with the header's, and rewind the reader to the first content byte
 * (whatever had been read before).  Returns 0, -EINVAL (NULL), -EBADMSG
 * (checksum mismatch, or the file shrank), -ENOMEM, or the errno of read(2).
 */
int shmx__segfile_verify(struct shmx_segfile_reader *r);

/*
 * shmx__segfile_read - read up to @len content bytes into @buf and set *@got
 * to the number read: @len, or fewer only at the end of the content (0 once
 * all of it has been read).  Returns 0, -EINVAL (NULL), -EBADMSG (the file
 * shrank since open), or the errno of read(2).
 */
int shmx__segfile_read(struct shmx_segfile_reader *r, void *buf, size_t len,
		       size_t *got);

/* shmx__segfile_close - close @r (NULL is allowed).  Returns 0. */
int shmx__segfile_close(struct shmx_segfile_reader *r);

/*
 * shmx__segfile_hdr_decode - the pure part of open: validate the @len bytes
 * at @buf as a header and fill *@hdr (the file length is not checked here).
 * Returns 0, -EINVAL (not a segment file: too short for the magic, or magic
 * wrong), -EPROTO (other version), -EBADMSG (damaged, or shorter than the
 * header) or -ENOMEM (libcrypto).  Never reads outside @buf[0..@len).
 */
int shmx__segfile_hdr_decode(const void *buf, size_t len,
			     struct shmx_segfile_hdr *hdr);

#endif /* SHMX_EXT_SEGFILE_H */
