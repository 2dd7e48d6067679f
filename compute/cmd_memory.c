/* SPDX-License-Identifier: MIT */
/*
 * cmd_memory.c - the memory's extents: extents, grow, shrink.  The node's
 * memory is a list of extents: extent 0 at global address 0 (the region
 * shmnode starts with), every grow adds one at higher addresses, and shrink
 * takes free memory off the top.  Also the extents' table and JSON that
 * info and ipcs print, and the extent lookups of read and write.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "output.h"

int cli_extents_get(struct shmx_ctx *ctx, struct cli_extents *e)
{
	int ret = shmx_extents(ctx, e->ext, CLI_EXTENTS_MAX, &e->n,
			       &e->generation);

	if (ret)
		return ret;
	if (e->n > CLI_EXTENTS_MAX)
		e->n = CLI_EXTENTS_MAX;
	e->total = 0;
	for (size_t i = 0; i < e->n; i++)
		e->total += e->ext[i].len;
	return 0;
}

const struct shmx_extent *cli_extent_of(const struct cli_extents *e,
					uint64_t addr)
{
	for (size_t i = 0; i < e->n; i++)
		if (addr >= e->ext[i].base &&
		    addr - e->ext[i].base < e->ext[i].len)
			return &e->ext[i];
	return NULL;
}

void cli_extents_json(struct jw *w, const struct cli_extents *e)
{
	jw_u64(w, "generation", e->generation);
	jw_u64(w, "total", e->total);
	jw_u64(w, "count", e->n);
	jw_arr(w, "extents");
	for (size_t i = 0; i < e->n; i++) {
		jw_obj(w, NULL);
		jw_u64(w, "index", i);
		jw_u64(w, "base", e->ext[i].base);
		jw_u64(w, "len", e->ext[i].len);
		jw_u64(w, "end", e->ext[i].base + e->ext[i].len);
		jw_obj_end(w);
	}
	jw_arr_end(w);
}

/* @v as 0x-hex, 0 included ("0x0", where %#llx gives "0"). */
static const char *hex(uint64_t v, char *buf, size_t len)
{
	snprintf(buf, len, "0x%llx", (unsigned long long)v);
	return buf;
}

void cli_extents_print(const struct cli_extents *e)
{
	char total[32], len[32], base[24], end[24];
	int wb = 4, we = 3, n;

	printf("Extents: %zu, %s (%llu bytes) in all, generation %llu\n", e->n,
	       out_bytes(e->total, total, sizeof(total)),
	       (unsigned long long)e->total, (unsigned long long)e->generation);
	if (!e->n)
		return;
	for (size_t i = 0; i < e->n; i++) {
		n = 2 + out_hex_width(e->ext[i].base);
		wb = n > wb ? n : wb;
		n = 2 + out_hex_width(e->ext[i].base + e->ext[i].len);
		we = n > we ? n : we;
	}
	printf("  %5s  %*s  %10s  %*s\n", "INDEX", wb, "BASE", "LENGTH", we,
	       "END");
	for (size_t i = 0; i < e->n; i++)
		printf("  %5zu  %*s  %10s  %*s\n", i, wb,
		       hex(e->ext[i].base, base, sizeof(base)),
		       out_bytes(e->ext[i].len, len, sizeof(len)), we,
		       hex(e->ext[i].base + e->ext[i].len, end, sizeof(end)));
}

int cmd_extents(struct cli *cli, int argc, char **argv)
{
	struct cli_extents e;
	struct shmx_ctx *ctx;
	struct jw w;
	int ret;

	(void)argv;
	if (argc)
		return cli_usage(cli, "takes no arguments");
	ctx = cli_open(cli);
	if (!ctx)
		return CLI_FAIL;
	ret = cli_extents_get(ctx, &e);
	shmx_close(ctx);
	if (ret)
		return cli_fail(cli, ret, "cannot list the extents");
	if (cli->json) {
		jw_init(&w, stdout);
		jw_obj(&w, NULL);
		cli_extents_json(&w, &e);
		jw_obj_end(&w);
	} else {
		cli_extents_print(&e);
	}
	return CLI_OK;
}

/* What the user can do about @err from grow or shrink, or NULL. */
static const char *resize_hint(const struct cli *cli, int err, uint64_t bytes,
			       struct shmx_ctx *ctx, char *buf, size_t len)
{
	char want[32], total[32];
	struct cli_extents e;

	switch (-err) {
	case EPERM:
		return "only root or the node's own user may resize the "
		       "memory; shmnode admin grow/shrink on the node's host "
		       "does the same.";
	case EBUSY:
		return "a pool or segment lies in that memory; see shmext "
		       "ipcs.";
	case ENOMEM:
		return "the node cannot map that much more memory; try a "
		       "smaller SIZE.";
	case EFBIG:
		return "the new extent would end past the node's highest "
		       "address (8 EiB); try a smaller SIZE.";
	case EINVAL:
		return "the node takes SIZE rounded up to 4 KiB (or to whole "
		       "huge pages), which must fit in 64 bits.";
	case ENOSPC:
		if (!strcmp(cli->cmd, "grow"))
			return "the node has 128 extents, the most it keeps; "
			       "shrink frees the newest ones when they are "
			       "empty.";
		if (cli_extents_get(ctx, &e)) {
			snprintf(buf, len,
				 "less than %s lies above the header area; "
				 "'shmext extents' lists the memory.",
				 out_bytes(bytes, want, sizeof(want)));
			return buf;
		}
		snprintf(buf, len,
			 "only memory above the header area can go, and the "
			 "memory has %s in all; 'shmext extents' lists it.",
			 out_bytes(e.total, total, sizeof(total)));
		return buf;
	}
	return NULL;
}

/* Parse SIZE, the one operand of grow and shrink. */
static int size_arg(struct cli *cli, int argc, char **argv, uint64_t *bytes)
{
	if (argc != 1)
		return cli_usage(cli, "expects SIZE");
	if (cli_size(cli, "SIZE", argv[0], bytes))
		return CLI_USAGE;
	if (!*bytes)
		return cli_usage(cli, "SIZE: at least 1 byte (rounded up to "
				      "4 KiB)");
	return 0;
}

/* Report @err from grow or shrink of @bytes; closes @ctx. */
static int resize_fail(struct cli *cli, struct shmx_ctx *ctx, int err,
		       uint64_t bytes)
{
	char what[64], size[32], hint[200];
	const char *h = resize_hint(cli, err, bytes, ctx, hint, sizeof(hint));
	int ret;

	snprintf(what, sizeof(what), "cannot %s the memory by %s", cli->cmd,
		 out_bytes(bytes, size, sizeof(size)));
	ret = h ? cli_fail_hint(cli, err, what, h) : cli_fail(cli, err, what);
	shmx_close(ctx);
	return ret;
}

/*
 * grow or shrink SIZE (@base: NULL to shrink), then the memory's extents
 * into *@e.  CLI_OK with *@bytes set, or the exit status of a failure
 * (said).
 */
static int resize(struct cli *cli, int argc, char **argv, uint64_t *bytes,
		  shmx_gaddr_t *base, struct cli_extents *e, uint64_t *before)
{
	struct shmx_ctx *ctx;
	int ret;

	if (size_arg(cli, argc, argv, bytes))
		return CLI_USAGE;
	ctx = cli_open(cli);
	if (!ctx)
		return CLI_FAIL;
	/* The total before a shrink: what went is the difference (the node
	 * rounds SIZE up to its grain, 4 KiB or a huge page). */
	if (before)
		*before = cli_extents_get(ctx, e) ? 0 : e->total;
	ret = base ? shmx_grow(ctx, *bytes, base) : shmx_shrink(ctx, *bytes);
	if (ret)
		return resize_fail(cli, ctx, ret, *bytes);
	ret = cli_extents_get(ctx, e);
	shmx_close(ctx);
	if (ret)
		return cli_fail(cli, ret,
				base ? "grew the memory, but cannot list the "
				       "extents"
				     : "shrank the memory, but cannot list the "
				       "extents");
	return CLI_OK;
}

int cmd_grow(struct cli *cli, int argc, char **argv)
{
	const struct shmx_extent *x;
	shmx_gaddr_t base = SHMX_GADDR_NULL;
	char len[32], total[32];
	struct cli_extents e;
	uint64_t bytes;
	struct jw w;
	int ret;

	ret = resize(cli, argc, argv, &bytes, &base, &e, NULL);
	if (ret != CLI_OK)
		return ret;
	/* The new extent's length: @bytes rounded up, as the node keeps it
	 * (unless another member shrank it away already). */
	x = cli_extent_of(&e, base);
	if (cli->json) {
		jw_init(&w, stdout);
		jw_obj(&w, NULL);
		jw_u64(&w, "base", base);
		jw_u64(&w, "len", x ? x->len : bytes);
		jw_u64(&w, "total", e.total);
		jw_u64(&w, "extents", e.n);
		jw_u64(&w, "generation", e.generation);
		jw_obj_end(&w);
	} else {
		printf("new extent of %s at 0x%llx; the memory has %s "
		       "(%llu bytes) in %zu extent%s\n",
		       out_bytes(x ? x->len : bytes, len, sizeof(len)),
		       (unsigned long long)base,
		       out_bytes(e.total, total, sizeof(total)),
		       (unsigned long long)e.total, e.n, e.n == 1 ? "" : "s");
	}
	return CLI_OK;
}

int cmd_shrink(struct cli *cli, int argc, char **argv)
{
	char gone[32], total[32];
	struct cli_extents e;
	uint64_t bytes, before = 0;
	struct jw w;
	int ret;

	ret = resize(cli, argc, argv, &bytes, NULL, &e, &before);
	if (ret != CLI_OK)
		return ret;
	/* The node took @bytes rounded up to its grain, all of them (unless
	 * another member grew or shrank the memory meanwhile). */
	if (before > e.total)
		bytes = before - e.total;
	if (cli->json) {
		jw_init(&w, stdout);
		jw_obj(&w, NULL);
		jw_u64(&w, "removed", bytes);
		jw_u64(&w, "total", e.total);
		jw_u64(&w, "extents", e.n);
		jw_u64(&w, "generation", e.generation);
		jw_obj_end(&w);
	} else {
		printf("took %s off the top; the memory has %s (%llu bytes) in "
		       "%zu extent%s\n",
		       out_bytes(bytes, gone, sizeof(gone)),
		       out_bytes(e.total, total, sizeof(total)),
		       (unsigned long long)e.total, e.n, e.n == 1 ? "" : "s");
	}
	return CLI_OK;
}
