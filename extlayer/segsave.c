/* SPDX-License-Identifier: MIT */
/*
 * segsave.c - save a named segment to a file and load it back
 * (docs/segfile.md for the format, segfile.c for the file).  Save freezes
 * the segment at the node, so the fabric itself keeps writers off while
 * the image is read through the read-only key, then thaws it; load checks
 * the whole file before it writes a byte.  Both move 1 MiB at a time.
 */
#include <errno.h>
#include <stdlib.h>

#include "ctx.h"
#include "segfile.h"

#define CHUNK ((size_t)1 << 20)

/* FREEZE or THAW of @seg.  On FREEZE the read-only key is learnt: it
 * replaces this member's own read/write key, which the freeze revoked. */
static int seg_call(struct shmx_seg *seg, uint16_t op)
{
	struct shmx_msg req, rep;
	int ret;

	shmx__msg_init(&req, op, 0, 0, 0);
	req.u.obj.id = seg->id;
	ret = shmx__rpc(seg->ctx, &req, &rep, seg->ctx->timeout_ms);
	if (!ret && op == SHMX_OP_SEG_FREEZE)
		shmx__grant_learn(seg->ctx, &rep.u.grant);
	return ret;
}

/* Read the frozen segment into @w, chunk by chunk. */
static int save_content(struct shmx_seg *seg, struct shmx_segfile_writer *w,
			shmx_progress_fn fn, void *arg)
{
	uint8_t *buf = malloc(CHUNK);
	uint64_t off = 0;
	int ret = 0;

	if (!buf)
		return -ENOMEM;
	while (!ret && off < seg->size) {
		size_t n = seg->size - off < CHUNK ? seg->size - off : CHUNK;

		ret = shmx_read(seg->ctx, seg->base + off, buf, n);
		if (!ret)
			ret = shmx__segfile_write(w, buf, n);
		off += n;
		if (!ret && fn)
			fn(arg, off, seg->size);
	}
	free(buf);
	return ret;
}

SHMX_EXPORT int shmx_seg_save(struct shmx_seg *seg, const char *path,
			      shmx_progress_fn fn, void *arg)
{
	struct shmx_segfile_writer *w = NULL;
	struct shmx_seg_stat st;
	int ret, thaw;

	if (!seg || !path)
		return -EINVAL;
	ret = shmx_seg_stat(seg, &st);
	if (ret)
		return ret;
	ret = seg_call(seg, SHMX_OP_SEG_FREEZE);
	if (ret)
		return ret;
	ret = shmx__segfile_create(path, seg->name, seg->size, st.mode, st.uid,
				   st.gid, &w);
	if (!ret)
		ret = save_content(seg, w, fn, arg);
	if (!ret)
		ret = shmx__segfile_commit(w);
	else if (w)
		shmx__segfile_abort(w);
	/* Whatever happened, writers get the segment back. */
	thaw = seg_call(seg, SHMX_OP_SEG_THAW);
	return ret ? ret : thaw;
}

SHMX_EXPORT int shmx_seg_load(struct shmx_seg *seg, const char *path,
			      shmx_progress_fn fn, void *arg)
{
	struct shmx_segfile_reader *r;
	struct shmx_segfile_hdr hdr;
	uint64_t off = 0;
	uint8_t *buf;
	int ret;

	if (!seg || !path)
		return -EINVAL;
	ret = shmx__segfile_open(path, &r, &hdr);
	if (ret)
		return ret;
	if (hdr.size != seg->size)
		ret = -EMSGSIZE;
	/* The whole file is checked before the segment changes. */
	if (!ret)
		ret = shmx__segfile_verify(r);
	buf = ret ? NULL : malloc(CHUNK);
	if (!ret && !buf)
		ret = -ENOMEM;
	while (!ret && off < seg->size) {
		size_t got = 0;

		ret = shmx__segfile_read(r, buf, CHUNK, &got);
		if (!ret && !got)
			ret = -EBADMSG; /* the file shrank meanwhile */
		if (!ret)
			ret = shmx_write(seg->ctx, seg->base + off, buf, got);
		off += got;
		if (!ret && fn)
			fn(arg, off, seg->size);
	}
	free(buf);
	shmx__segfile_close(r);
	return ret;
}
