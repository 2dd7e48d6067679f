/* SPDX-License-Identifier: MIT */
/*
 * cmd_seg.c - shmext seg create, stat, rm, save and load: named segments
 * from the shell, as ipcmk, ipcrm and shmctl IPC_STAT do on one host; and
 * ipcs, the node's extents, pools, blocks, segments and members.  A segment stays
 * after the shmext that made it exits, until seg rm and its last detach.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "output.h"
#include "util/clock.h"

/* Width of the progress bar's bar, in characters. */
#define BAR_WIDTH 30

/* What the user can do about @err from shmx_seg_open with @flags, or NULL. */
static const char *open_hint(int err, unsigned flags)
{
	switch (-err) {
	case ENOENT:
		return "there is no segment of that name; 'shmext seg create "
		       "NAME SIZE' makes one, 'shmext ipcs' lists them.";
	case EEXIST:
		return "a segment of that name exists: 'shmext seg stat NAME' "
		       "describes it, 'shmext seg rm NAME' removes it.";
	case EACCES:
		if (flags & SHMX_CREAT)
			return "the creator must be allowed to read the "
			       "segment itself: give --mode with r for the "
			       "owner (04xx or 06xx).";
		if (flags & SHMX_RDONLY)
			return "the segment's mode does not let this user read "
			       "it; 'shmext ipcs' shows its mode and owner.";
		return "the segment's mode does not let this user read and "
		       "write it; 'shmext ipcs' shows its mode and owner.";
	case EBUSY:
		return "the segment is frozen while a member saves it; try "
		       "again when the save is over.";
	case ENOSPC:
		return "no extent of the node's memory has a free range that "
		       "large (a segment lies in one extent); 'shmext ipcs' "
		       "shows the extents and what is in them, 'shmext grow "
		       "SIZE' adds one.";
	case EINVAL:
		if (flags & SHMX_CREAT)
			return "the size may be over the node's largest "
			       "segment (shmnode --max-seg-size).";
		break;
	}
	return NULL;
}

/*
 * Attach the segment @name with @flags (creating: @size, @mode); on
 * failure reports it, "cannot @verb segment 'NAME'", and returns it.
 */
static int open_seg(const struct cli *cli, struct shmx_ctx *ctx,
		    const char *name, uint64_t size, unsigned flags,
		    unsigned mode, const char *verb, struct shmx_seg **seg)
{
	char what[SHMX_NAME_MAX + 32];
	const char *hint;
	int ret = shmx_seg_open(ctx, name, size, flags, mode, seg);

	if (!ret)
		return 0;
	snprintf(what, sizeof(what), "cannot %s segment '%s'", verb, name);
	hint = open_hint(ret, flags);
	return hint ? cli_fail_hint(cli, ret, what, hint)
		    : cli_fail(cli, ret, what);
}

/* "rw-r-----" of the permission bits @mode. */
/* "rw-r-----" of the permission bits @mode. */
static const char *perms(uint32_t mode, char *buf)
{
	static const char rwx[] = "rwx";

	for (int i = 0; i < 9; i++)
		buf[i] = mode & (0400u >> i) ? rwx[i % 3] : '-';
	buf[9] = 0;
	return buf;
}

/* out_time, or "never" for 0. */
static const char *when(int64_t t, char *buf, size_t len)
{
	if (!t) {
		snprintf(buf, len, "never");
		return buf;
	}
	return out_time(t, buf, len);
}

/* Seconds since the epoch; null for 0 (never). */
static void jw_time(struct jw *w, const char *key, int64_t t)
{
	if (t)
		jw_i64(w, key, t);
	else
		jw_null(w, key);
}

/* Every field of @st, as members of the open object of @w. */
static void json_seg_stat(struct jw *w, const struct shmx_seg_stat *st)
{
	char p[10];

	jw_str(w, "name", st->name);
	jw_u64(w, "addr", st->addr);
	jw_u64(w, "size", st->size);
	jw_u64(w, "mode", st->mode);
	jw_str(w, "perms", perms(st->mode, p));
	jw_u64(w, "uid", st->uid);
	jw_u64(w, "gid", st->gid);
	jw_u64(w, "cuid", st->cuid);
	jw_u64(w, "cgid", st->cgid);
	jw_u64(w, "creator_node", st->creator_node);
	jw_u64(w, "last_attach_node", st->last_attach_node);
	jw_u64(w, "last_detach_node", st->last_detach_node);
	jw_u64(w, "nattch", st->nattch);
	jw_bool(w, "removed", st->removed);
	jw_time(w, "atime", st->atime);
	jw_time(w, "dtime", st->dtime);
	jw_time(w, "ctime", st->ctime);
}

static void print_seg_stat(const struct shmx_seg_stat *st)
{
	char name[SHMX_NAME_MAX * 4], size[32], p[10], t[32];

	printf("segment:        %s\n",
	       out_printable(st->name, name, sizeof(name)));
	printf("address:        0x%llx\n", (unsigned long long)st->addr);
	printf("size:           %s (%llu bytes)\n",
	       out_bytes(st->size, size, sizeof(size)),
	       (unsigned long long)st->size);
	printf("mode:           %04o (%s)\n", st->mode, perms(st->mode, p));
	printf("owner:          uid %u, gid %u\n", st->uid, st->gid);
	printf("creator:        uid %u, gid %u, node %u\n", st->cuid, st->cgid,
	       st->creator_node);
	printf("attached:       %u\n", st->nattch);
	printf("removed:        %s\n",
	       st->removed ? "yes (goes at its last detach)" : "no");
	printf("last attach:    %s", when(st->atime, t, sizeof(t)));
	if (st->atime)
		printf(", node %u", st->last_attach_node);
	printf("\nlast detach:    %s", when(st->dtime, t, sizeof(t)));
	if (st->dtime)
		printf(", node %u", st->last_detach_node);
	printf("\nlast change:    %s\n", when(st->ctime, t, sizeof(t)));
}

int cmd_seg_create(struct cli *cli, int argc, char **argv)
{
	struct shmx_seg *seg;
	struct shmx_ctx *ctx;
	char size_s[32], p[10];
	uint64_t size;
	struct jw w;
	shmx_gaddr_t addr;
	int ret;

	if (argc != 2)
		return cli_usage(cli, "expects NAME SIZE");
	if (cli_name(cli, "segment", "NAME", argv[0]) ||
	    cli_size(cli, "SIZE", argv[1], &size))
		return CLI_USAGE;
	if (!size)
		return cli_usage(cli, "SIZE: a segment has at least 1 byte");
	ctx = cli_open(cli);
	if (!ctx)
		return CLI_FAIL;
	/* Read-only: the creator needs no more than r in @mode. */
	ret = open_seg(cli, ctx, argv[0], size,
		       SHMX_CREAT | SHMX_EXCL | SHMX_RDONLY, cli->mode,
		       "create", &seg);
	if (ret) {
		shmx_close(ctx);
		return ret;
	}
	addr = shmx_seg_addr(seg);
	size = shmx_seg_size(seg);
	/* The segment stays: it was not removed. */
	shmx_seg_close(seg);
	shmx_close(ctx);
	if (cli->json) {
		jw_init(&w, stdout);
		jw_obj(&w, NULL);
		jw_str(&w, "segment", argv[0]);
		jw_bool(&w, "created", true);
		jw_u64(&w, "addr", addr);
		jw_u64(&w, "size", size);
		jw_u64(&w, "mode", cli->mode);
		jw_str(&w, "perms", perms(cli->mode, p));
		jw_obj_end(&w);
	} else {
		printf("created segment '%s': %s (%llu bytes) at 0x%llx, "
		       "mode %04o\n",
		       argv[0], out_bytes(size, size_s, sizeof(size_s)),
		       (unsigned long long)size, (unsigned long long)addr,
		       cli->mode);
	}
	return CLI_OK;
}

/* The live (not removed) segment called @name, by walking the listing. */
static int find_seg(struct shmx_ctx *ctx, const char *name,
		    struct shmx_seg_stat *st)
{
	struct shmx_seg_info info;
	uint64_t from = 0;
	int ret;

	while ((ret = shmx_seg_next(ctx, from, &info)) == 0) {
		if (!info.st.removed && !strcmp(info.st.name, name)) {
			*st = info.st;
			return 0;
		}
		from = info.id + 1;
	}
	return ret;
}

int cmd_seg_stat(struct cli *cli, int argc, char **argv)
{
	struct shmx_seg_stat st;
	struct shmx_ctx *ctx;
	struct jw w;
	int ret;

	if (argc != 1)
		return cli_usage(cli, "expects NAME");
	if (cli_name(cli, "segment", "NAME", argv[0]))
		return CLI_USAGE;
	ctx = cli_open(cli);
	if (!ctx)
		return CLI_FAIL;
	/* Found through the listing, not by attaching: an attach would count
	 * itself, and would need read permission. */
	ret = find_seg(ctx, argv[0], &st);
	shmx_close(ctx);
	if (ret)
		return cli_fail(cli, ret,
				ret == -ENOENT ? "no segment of that name"
					       : "cannot describe the segment");
	if (cli->json) {
		jw_init(&w, stdout);
		jw_obj(&w, NULL);
		json_seg_stat(&w, &st);
		jw_obj_end(&w);
	} else {
		print_seg_stat(&st);
	}
	return CLI_OK;
}

int cmd_seg_rm(struct cli *cli, int argc, char **argv)
{
	char what[SHMX_NAME_MAX + 32];
	struct shmx_seg_stat st;
	struct shmx_seg *seg;
	struct shmx_ctx *ctx;
	unsigned others = 0;
	struct jw w;
	int ret;

	if (argc != 1)
		return cli_usage(cli, "expects NAME");
	if (cli_name(cli, "segment", "NAME", argv[0]))
		return CLI_USAGE;
	ctx = cli_open(cli);
	if (!ctx)
		return CLI_FAIL;
	ret = open_seg(cli, ctx, argv[0], 0, SHMX_RDONLY, 0, "attach", &seg);
	if (ret) {
		shmx_close(ctx);
		return ret;
	}
	ret = shmx_seg_remove(seg);
	if (!ret && !shmx_seg_stat(seg, &st) && st.nattch > 1)
		others = st.nattch - 1;
	shmx_seg_close(seg);
	shmx_close(ctx);
	if (ret) {
		snprintf(what, sizeof(what), "cannot remove segment '%s'",
			 argv[0]);
		if (ret == -EPERM)
			return cli_fail_hint(cli, ret, what,
					     "only the segment's owner or "
					     "creator (or root) may remove "
					     "it; 'shmext seg stat NAME' "
					     "names them.");
		return cli_fail(cli, ret, what);
	}
	if (cli->json) {
		jw_init(&w, stdout);
		jw_obj(&w, NULL);
		jw_str(&w, "segment", argv[0]);
		jw_bool(&w, "removed", true);
		jw_u64(&w, "nattch", others);
		jw_obj_end(&w);
	} else if (others) {
		printf("removed segment '%s'; it goes when its %u other "
		       "attachment%s end%s\n",
		       argv[0], others, others == 1 ? "" : "s",
		       others == 1 ? "s" : "");
	} else {
		printf("removed segment '%s'\n", argv[0]);
	}
	return CLI_OK;
}

/* The progress of seg save and load; a bar on stderr when it is a tty. */
struct progress {
	int tty;
	int shown; /* percent last drawn, -1 for none */
	uint64_t total;
};

static void progress(void *arg, uint64_t done, uint64_t total)
{
	struct progress *p = arg;
	char bar[BAR_WIDTH + 1], a[32], b[32];
	int pct, fill;

	p->total = total;
	if (!p->tty)
		return;
	pct = total && done < total ? (int)(done * 100 / total) : 100;
	if (pct == p->shown)
		return;
	p->shown = pct;
	fill = pct * BAR_WIDTH / 100;
	memset(bar, '#', (size_t)fill);
	memset(bar + fill, ' ', (size_t)(BAR_WIDTH - fill));
	bar[BAR_WIDTH] = 0;
	fprintf(stderr, "\r[%s] %3d%%  %s / %s\033[K", bar, pct,
		out_bytes(done, a, sizeof(a)), out_bytes(total, b, sizeof(b)));
	fflush(stderr);
}

/*
 * What the user can do about @err from shmx_seg_save (@save) or
 * shmx_seg_load with the file @file, or NULL.
 */
static const char *file_hint(int err, int save, const char *file, char *buf,
			     size_t len)
{
	switch (-err) {
	case ENOENT:
		if (save)
			snprintf(buf, len,
				 "a directory on the way to '%s' does not "
				 "exist.",
				 file);
		else
			snprintf(buf, len, "there is no file '%s'.", file);
		return buf;
	case EACCES:
		snprintf(buf, len, "this user may not %s '%s'.",
			 save ? "create the file" : "read", file);
		return buf;
	case EBUSY:
		return "another member is saving the segment; try again "
		       "when it is done.";
	case EBADMSG:
		return "the file is damaged (a checksum or its length is "
		       "wrong); the segment is unchanged.";
	case EMSGSIZE:
		return "the file holds a segment of another size; the "
		       "segment is unchanged ('shmext seg stat NAME' gives "
		       "its size).";
	case EINVAL:
		if (!save)
			return "the file is not a segment file (shmext seg "
			       "save writes them).";
		break;
	case EPROTO:
		return "the file has a newer format than this shmext reads.";
	}
	return NULL;
}

/* A save the file's file system had no room for: libshmext's texts of
 * these speak of the node's memory, so the system's is said. */
static int file_full(int err)
{
	return err == -ENOSPC || err == -EDQUOT || err == -EFBIG;
}

/* seg save (@save) and seg load. */
static int save_load(struct cli *cli, int argc, char **argv, int save)
{
	struct progress p = { .tty = isatty(STDERR_FILENO), .shown = -1 };
	char what[SHMX_NAME_MAX + 4200], hint[4200], bytes[32], msg[8600];
	struct shmx_seg *seg;
	struct shmx_ctx *ctx;
	uint64_t t0, ns;
	double secs, mbs;
	const char *h;
	struct jw w;
	int ret;

	if (argc != 2)
		return cli_usage(cli, "expects NAME FILE");
	if (cli_name(cli, "segment", "NAME", argv[0]))
		return CLI_USAGE;
	if (!argv[1][0])
		return cli_usage(cli, "FILE: an empty name");
	ctx = cli_open(cli);
	if (!ctx)
		return CLI_FAIL;
	ret = open_seg(cli, ctx, argv[0], 0, save ? SHMX_RDONLY : 0, 0,
		       "attach", &seg);
	if (ret) {
		shmx_close(ctx);
		return ret;
	}
	p.total = shmx_seg_size(seg);
	t0 = shmx__now_ns();
	if (save)
		ret = shmx_seg_save(seg, argv[1], progress, &p);
	else
		ret = shmx_seg_load(seg, argv[1], progress, &p);
	ns = shmx__now_ns() - t0;
	if (p.shown >= 0)
		fputc('\n', stderr);
	shmx_seg_close(seg);
	shmx_close(ctx);
	if (ret) {
		snprintf(what, sizeof(what), "cannot %s segment '%s' %s '%s'",
			 save ? "save" : "load", argv[0], save ? "to" : "from",
			 argv[1]);
		if (save && file_full(ret)) {
			/* Written aside and renamed: nothing was lost. */
			snprintf(msg, sizeof(msg), "%s: %s; '%s' is as it was",
				 what, strerror(-ret), argv[1]);
			return cli_fail_msg(cli, ret, msg);
		}
		h = file_hint(ret, save, argv[1], hint, sizeof(hint));
		return h ? cli_fail_hint(cli, ret, what, h)
			 : cli_fail(cli, ret, what);
	}
	secs = (double)ns / 1e9;
	mbs = secs > 0 ? (double)p.total / 1e6 / secs : 0;
	if (cli->json) {
		jw_init(&w, stdout);
		jw_obj(&w, NULL);
		jw_str(&w, "segment", argv[0]);
		jw_str(&w, "file", argv[1]);
		jw_bool(&w, save ? "saved" : "loaded", true);
		jw_u64(&w, "bytes", p.total);
		jw_double(&w, "seconds", secs, 3);
		jw_double(&w, "mbs", mbs, 1);
		jw_obj_end(&w);
	} else {
		printf("%s segment '%s' %s '%s': %s (%llu bytes) in %.3f s, "
		       "%.1f MB/s\n",
		       save ? "saved" : "loaded", argv[0], save ? "to" : "from",
		       argv[1], out_bytes(p.total, bytes, sizeof(bytes)),
		       (unsigned long long)p.total, secs, mbs);
	}
	return CLI_OK;
}

int cmd_seg_save(struct cli *cli, int argc, char **argv)
{
	return save_load(cli, argc, argv, 1);
}

int cmd_seg_load(struct cli *cli, int argc, char **argv)
{
	return save_load(cli, argc, argv, 0);
}

/* What ipcs gathers before it prints anything. */
struct listing {
	struct cli_extents extents;
	struct shmx_pool_info *pools;
	struct shmx_block_info *blocks;
	struct shmx_seg_info *segs;
	struct shmx_member *members;
	size_t npools, nblocks, nsegs, nmembers;
};

/*
 * Take the extents, walk the node's pools, blocks and segments (from the
 * last id + 1, or the last block's start + 1, until -ENOENT) and list the
 * members.
 */
static int gather(struct shmx_ctx *ctx, struct listing *l)
{
	struct shmx_pool_info *pool;
	struct shmx_block_info *blk;
	struct shmx_seg_info *seg;
	uint64_t from = 0;
	int ret;

	ret = cli_extents_get(ctx, &l->extents);
	if (ret)
		return ret;
	do {
		pool = cli_grow(l->pools, l->npools, sizeof(*pool));
		if (!pool)
			return -ENOMEM;
		l->pools = pool;
		pool += l->npools;
		ret = shmx_pool_next(ctx, from, pool);
		if (ret)
			break;
		if (pool->id < from)
			return -EPROTO; /* the node went backwards */
		l->npools++;
		from = pool->id + 1;
	} while (from);
	if (ret && ret != -ENOENT)
		return ret;
	from = 0;
	do {
		blk = cli_grow(l->blocks, l->nblocks, sizeof(*blk));
		if (!blk)
			return -ENOMEM;
		l->blocks = blk;
		blk += l->nblocks;
		ret = shmx_block_next(ctx, from, blk);
		if (ret)
			break;
		if (blk->start < from)
			return -EPROTO;
		if (blk->nr_owners > 64)
			blk->nr_owners = 64;
		l->nblocks++;
		from = blk->start + 1;
	} while (from);
	if (ret && ret != -ENOENT)
		return ret;
	from = 0;
	do {
		seg = cli_grow(l->segs, l->nsegs, sizeof(*seg));
		if (!seg)
			return -ENOMEM;
		l->segs = seg;
		seg += l->nsegs;
		ret = shmx_seg_next(ctx, from, seg);
		if (ret)
			break;
		if (seg->id < from)
			return -EPROTO;
		l->nsegs++;
		from = seg->id + 1;
	} while (from);
	if (ret && ret != -ENOENT)
		return ret;
	return cli_members(ctx, &l->members, &l->nmembers);
}

static void json_listing(const struct listing *l, shmx_node_t self)
{
	const struct shmx_member *m = l->members;
	struct jw w;

	jw_init(&w, stdout);
	jw_obj(&w, NULL);
	jw_u64(&w, "self", self);
	jw_obj(&w, "memory");
	cli_extents_json(&w, &l->extents);
	jw_obj_end(&w);
	jw_arr(&w, "pools");
	for (size_t i = 0; i < l->npools; i++) {
		const struct shmx_pool_info *p = &l->pools[i];

		jw_obj(&w, NULL);
		jw_u64(&w, "id", p->id);
		jw_str(&w, "name", p->name);
		jw_u64(&w, "base", p->base);
		jw_u64(&w, "size", p->size);
		jw_u64(&w, "free", p->free);
		jw_u64(&w, "largest_free", p->largest_free);
		jw_u64(&w, "nr_alloc", p->nr_alloc);
		jw_u64(&w, "nr_free_blocks", p->nr_free_blocks);
		jw_u64(&w, "open_count", p->open_count);
		jw_u64(&w, "creator", p->creator);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_arr(&w, "blocks");
	for (size_t i = 0; i < l->nblocks; i++) {
		const struct shmx_block_info *b = &l->blocks[i];

		jw_obj(&w, NULL);
		jw_u64(&w, "start", b->start);
		jw_u64(&w, "len", b->len);
		jw_u64(&w, "pool", b->pool);
		jw_u64(&w, "creator", b->creator);
		jw_u64(&w, "holder", b->holder);
		jw_u64(&w, "epoch", b->epoch);
		jw_arr(&w, "owners");
		for (uint32_t k = 0; k < b->nr_owners; k++)
			jw_u64(&w, NULL, b->owners[k]);
		jw_arr_end(&w);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_arr(&w, "segments");
	for (size_t i = 0; i < l->nsegs; i++) {
		jw_obj(&w, NULL);
		jw_u64(&w, "id", l->segs[i].id);
		json_seg_stat(&w, &l->segs[i].st);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_arr(&w, "members");
	for (size_t i = 0; i < l->nmembers; i++) {
		jw_obj(&w, NULL);
		jw_u64(&w, "id", m[i].id);
		jw_str(&w, "name", m[i].name);
		jw_str(&w, "host", m[i].host);
		jw_u64(&w, "pid", m[i].pid);
		jw_u64(&w, "uid", m[i].uid);
		jw_u64(&w, "gid", m[i].gid);
		jw_i64(&w, "joined", m[i].joined);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_obj_end(&w);
}

static void print_pools(const struct listing *l)
{
	char name[SHMX_NAME_MAX * 4], a[32], b[32], c[32];
	int wi = 2, wn = 4, wb = 4;

	printf("Pools: %zu\n", l->npools);
	if (!l->npools)
		return;
	for (size_t i = 0; i < l->npools; i++) {
		wi = out_num_width(wi, l->pools[i].id, 0);
		wn = out_width(wn, l->pools[i].name);
		wb = out_num_width(wb, l->pools[i].base, 1);
	}
	printf("  %*s  %-*s  %*s  %10s  %10s  %10s  %6s  %4s  %s\n", wi, "ID",
	       wn, "NAME", wb, "BASE", "SIZE", "FREE", "LARGEST", "BLOCKS",
	       "OPEN", "CREATOR");
	for (size_t i = 0; i < l->npools; i++) {
		const struct shmx_pool_info *p = &l->pools[i];

		printf("  %*llu  %-*s  %#*llx  %10s  %10s  %10s  %6llu  %4u  "
		       "%7u\n",
		       wi, (unsigned long long)p->id, wn,
		       out_printable(p->name, name, sizeof(name)), wb,
		       (unsigned long long)p->base,
		       out_bytes(p->size, a, sizeof(a)),
		       out_bytes(p->free, b, sizeof(b)),
		       out_bytes(p->largest_free, c, sizeof(c)),
		       (unsigned long long)p->nr_alloc, p->open_count,
		       p->creator);
	}
}

static void print_blocks(const struct listing *l, int all)
{
	int ws = 5, wp = 4;
	char len[32];

	if (!all) {
		printf("Blocks: %zu (--blocks lists them)\n", l->nblocks);
		return;
	}
	printf("Blocks: %zu\n", l->nblocks);
	if (!l->nblocks)
		return;
	for (size_t i = 0; i < l->nblocks; i++) {
		ws = out_num_width(ws, l->blocks[i].start, 1);
		wp = out_num_width(wp, l->blocks[i].pool, 0);
	}
	printf("  %*s  %10s  %*s  %7s  %6s  %5s  %s\n", ws, "START", "LENGTH",
	       wp, "POOL", "CREATOR", "HOLDER", "EPOCH", "OWNERS");
	for (size_t i = 0; i < l->nblocks; i++) {
		const struct shmx_block_info *b = &l->blocks[i];

		printf("  %#*llx  %10s  %*llu  %7u  ", ws,
		       (unsigned long long)b->start,
		       out_bytes(b->len, len, sizeof(len)), wp,
		       (unsigned long long)b->pool, b->creator);
		if (b->holder)
			printf("%6u", b->holder);
		else
			printf("%6s", "-");
		printf("  %5llu  ", (unsigned long long)b->epoch);
		if (!b->nr_owners)
			putchar('-');
		for (uint32_t k = 0; k < b->nr_owners; k++)
			printf("%s%u", k ? "," : "", b->owners[k]);
		putchar('\n');
	}
}

/* The segments; a STATUS column only when one of them is removed. */
static void print_segs(const struct listing *l)
{
	char name[SHMX_NAME_MAX * 4], size[32], p[10];
	int wi = 2, wn = 4, wa = 7, removed = 0;

	printf("Segments: %zu\n", l->nsegs);
	if (!l->nsegs)
		return;
	for (size_t i = 0; i < l->nsegs; i++) {
		wi = out_num_width(wi, l->segs[i].id, 0);
		wn = out_width(wn, l->segs[i].st.name);
		wa = out_num_width(wa, l->segs[i].st.addr, 1);
		removed |= l->segs[i].st.removed;
	}
	printf("  %*s  %-*s  %*s  %10s  %-9s  %5s  %5s  %6s  %7s%s\n", wi, "ID",
	       wn, "NAME", wa, "ADDRESS", "SIZE", "PERMS", "UID", "GID",
	       "NATTCH", "CREATOR", removed ? "  STATUS" : "");
	for (size_t i = 0; i < l->nsegs; i++) {
		const struct shmx_seg_stat *st = &l->segs[i].st;

		printf("  %*llu  %-*s  %#*llx  %10s  %-9s  %5u  %5u  %6u  "
		       "%7u%s\n",
		       wi, (unsigned long long)l->segs[i].id, wn,
		       out_printable(st->name, name, sizeof(name)), wa,
		       (unsigned long long)st->addr,
		       out_bytes(st->size, size, sizeof(size)),
		       perms(st->mode, p), st->uid, st->gid, st->nattch,
		       st->creator_node, st->removed ? "  removed" : "");
	}
}

static void print_members(const struct listing *l, shmx_node_t self)
{
	char name[SHMX_NAME_MAX * 4], host[SHMX_HOST_MAX * 4], t[32];
	const struct shmx_member *m = l->members;
	int wn = 4, wh = 4;

	printf("Members: %zu\n", l->nmembers);
	for (size_t i = 0; i < l->nmembers; i++) {
		wn = out_width(wn, m[i].name);
		wh = out_width(wh, m[i].host);
	}
	printf("  %6s  %-*s  %-*s  %8s  %6s  %6s  %s\n", "ID", wn, "NAME", wh,
	       "HOST", "PID", "UID", "GID", "JOINED");
	for (size_t i = 0; i < l->nmembers; i++)
		printf("%c %6u  %-*s  %-*s  %8u  %6u  %6u  %s\n",
		       m[i].id == self ? '*' : ' ', m[i].id, wn,
		       out_printable(m[i].name, name, sizeof(name)), wh,
		       out_printable(m[i].host, host, sizeof(host)), m[i].pid,
		       m[i].uid, m[i].gid, out_time(m[i].joined, t, sizeof(t)));
}

int cmd_ipcs(struct cli *cli, int argc, char **argv)
{
	struct listing l = { 0 };
	struct shmx_ctx *ctx;
	shmx_node_t self;
	int ret;

	if (argc)
		return cli_usage(cli, "takes no arguments");
	ctx = cli_open(cli);
	if (!ctx)
		return CLI_FAIL;
	self = shmx_self(ctx);
	ret = gather(ctx, &l);
	shmx_close(ctx);
	if (ret) {
		ret = cli_fail(cli, ret, "cannot list the node's objects");
	} else if (cli->json) {
		json_listing(&l, self);
	} else {
		cli_extents_print(&l.extents);
		putchar('\n');
		print_pools(&l);
		putchar('\n');
		print_blocks(&l, cli->blocks);
		putchar('\n');
		print_segs(&l);
		putchar('\n');
		print_members(&l, self);
	}
	free(l.pools);
	free(l.blocks);
	free(l.segs);
	free(l.members);
	return ret;
}
