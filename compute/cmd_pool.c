/* SPDX-License-Identifier: MIT */
/*
 * cmd_pool.c - shmext pool create, stat and destroy, alloc and release, and
 * own, transfer, disown and epoch: pools, allocation and ownership of blocks
 * from the shell.  Each run is one member that joins, makes its call and
 * leaves; the pools and blocks it makes stay.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "output.h"
#include "util/parse.h"

/* Most owners shmx_own and shmx_own_transfer take. */
#define OWNERS_MAX 64

/* What the user can do about @err from a pool or block call, or NULL. */
static const char *pool_hint(int err)
{
	switch (-err) {
	case EEXIST:
		return "a pool of that name exists: 'shmext pool stat NAME' "
		       "describes it, 'shmext pool destroy NAME' removes it.";
	case ENOSPC:
		return "no extent of the node's memory has a free range that "
		       "large (a pool lies in one extent); 'shmext ipcs' shows "
		       "the extents and what is in them, 'shmext grow SIZE' "
		       "adds one.";
	case EFBIG:
		return "the size is over the node's largest pool (shmnode "
		       "--max-pool-size).";
	case ENOMEM:
		return "no free block of that size and alignment is left in "
		       "the pool; 'shmext pool stat POOL' gives the largest.";
	case EDQUOT:
		return "this member would hold more than the node allows one "
		       "member (shmnode --member-cap).";
	}
	return NULL;
}

/* cli_fail with pool_hint's hint, or cli_fail's own. */
static int pool_fail(const struct cli *cli, int err, const char *what)
{
	const char *hint = pool_hint(err);

	return hint ? cli_fail_hint(cli, err, what, hint)
		    : cli_fail(cli, err, what);
}

/* Open the existing pool @name; on failure reports it and returns it. */
static int open_pool(const struct cli *cli, struct shmx_ctx *ctx,
		     const char *name, struct shmx_pool **pool)
{
	char what[SHMX_NAME_MAX + 32];
	int ret = shmx_pool_open(ctx, name, 0, 0, pool);

	if (!ret)
		return 0;
	snprintf(what, sizeof(what), "cannot open pool '%s'", name);
	if (ret == -ENOENT)
		return cli_fail_hint(cli, ret, what,
				     "there is no pool of that name; 'shmext "
				     "pool create NAME SIZE' makes one.");
	return cli_fail(cli, ret, what);
}

/* A pool's numbers, as pool create and pool stat print them. */
static void print_pool(const struct cli *cli, const char *name,
		       const struct shmx_pool_stat *st, int created)
{
	char total[32], avail[32], largest[32];
	struct jw w;

	if (cli->json) {
		jw_init(&w, stdout);
		jw_obj(&w, NULL);
		jw_str(&w, "pool", name);
		if (created)
			jw_bool(&w, "created", true);
		jw_u64(&w, "base", st->base);
		jw_u64(&w, "size", st->total);
		if (!created) {
			jw_u64(&w, "free", st->free);
			jw_u64(&w, "largest_free", st->largest_free);
			jw_u64(&w, "nr_alloc", st->nr_alloc);
			jw_u64(&w, "nr_free_blocks", st->nr_free_blocks);
			jw_u64(&w, "open_count", st->open_count);
		}
		jw_obj_end(&w);
		return;
	}
	out_bytes(st->total, total, sizeof(total));
	if (created) {
		printf("created pool '%s': %s (%llu bytes) at 0x%llx\n", name,
		       total, (unsigned long long)st->total,
		       (unsigned long long)st->base);
		return;
	}
	printf("pool:           %s\n", name);
	printf("base:           0x%llx\n", (unsigned long long)st->base);
	printf("size:           %s (%llu bytes)\n", total,
	       (unsigned long long)st->total);
	printf("free:           %s (%llu bytes)\n",
	       out_bytes(st->free, avail, sizeof(avail)),
	       (unsigned long long)st->free);
	printf("largest free:   %s (%llu bytes)\n",
	       out_bytes(st->largest_free, largest, sizeof(largest)),
	       (unsigned long long)st->largest_free);
	printf("allocations:    %llu\n", (unsigned long long)st->nr_alloc);
	printf("free fragments: %llu\n",
	       (unsigned long long)st->nr_free_blocks);
	printf("open by:        %u member%s (this one included)\n",
	       st->open_count, st->open_count == 1 ? "" : "s");
}

int cmd_pool_create(struct cli *cli, int argc, char **argv)
{
	struct shmx_pool_stat st;
	struct shmx_pool *pool;
	struct shmx_ctx *ctx;
	char what[SHMX_NAME_MAX + 32];
	uint64_t size;
	int ret;

	if (argc != 2)
		return cli_usage(cli, "expects NAME SIZE");
	if (cli_name(cli, "pool", "NAME", argv[0]) ||
	    cli_size(cli, "SIZE", argv[1], &size))
		return CLI_USAGE;
	if (!size)
		return cli_usage(cli, "SIZE: a pool has at least 1 byte");
	ctx = cli_open(cli);
	if (!ctx)
		return CLI_FAIL;
	ret = shmx_pool_open(ctx, argv[0], size, SHMX_CREAT | SHMX_EXCL, &pool);
	if (ret) {
		snprintf(what, sizeof(what), "cannot create pool '%s'",
			 argv[0]);
		ret = pool_fail(cli, ret, what);
		shmx_close(ctx);
		return ret;
	}
	ret = shmx_pool_stat(pool, &st);
	shmx_pool_close(pool);
	shmx_close(ctx);
	if (ret)
		return cli_fail(cli, ret,
				"created the pool, but cannot describe it");
	print_pool(cli, argv[0], &st, 1);
	return CLI_OK;
}

int cmd_pool_stat(struct cli *cli, int argc, char **argv)
{
	struct shmx_pool_stat st;
	struct shmx_pool *pool;
	struct shmx_ctx *ctx;
	int ret;

	if (argc != 1)
		return cli_usage(cli, "expects NAME");
	if (cli_name(cli, "pool", "NAME", argv[0]))
		return CLI_USAGE;
	ctx = cli_open(cli);
	if (!ctx)
		return CLI_FAIL;
	ret = open_pool(cli, ctx, argv[0], &pool);
	if (ret) {
		shmx_close(ctx);
		return ret;
	}
	ret = shmx_pool_stat(pool, &st);
	shmx_pool_close(pool);
	shmx_close(ctx);
	if (ret)
		return cli_fail(cli, ret, "cannot describe the pool");
	print_pool(cli, argv[0], &st, 0);
	return CLI_OK;
}

int cmd_pool_destroy(struct cli *cli, int argc, char **argv)
{
	char what[SHMX_NAME_MAX + 32], hint[160];
	struct shmx_pool_stat st;
	struct shmx_pool *pool;
	struct shmx_ctx *ctx;
	struct jw w;
	int ret, err;

	if (argc != 1)
		return cli_usage(cli, "expects NAME");
	if (cli_name(cli, "pool", "NAME", argv[0]))
		return CLI_USAGE;
	ctx = cli_open(cli);
	if (!ctx)
		return CLI_FAIL;
	ret = open_pool(cli, ctx, argv[0], &pool);
	if (ret) {
		shmx_close(ctx);
		return ret;
	}
	err = shmx_pool_destroy(pool);
	if (err) {
		snprintf(what, sizeof(what), "cannot destroy pool '%s'",
			 argv[0]);
		if (err == -EBUSY && !shmx_pool_stat(pool, &st)) {
			snprintf(hint, sizeof(hint),
				 "%llu block%s still allocated in it; "
				 "release %s first (shmext release ADDR).",
				 (unsigned long long)st.nr_alloc,
				 st.nr_alloc == 1 ? " is" : "s are",
				 st.nr_alloc == 1 ? "it" : "them");
			ret = cli_fail_hint(cli, err, what, hint);
		} else {
			ret = cli_fail(cli, err, what);
		}
		/* -EBUSY and -EPERM leave the handle valid. */
		if (err == -EBUSY || err == -EPERM)
			shmx_pool_close(pool);
		shmx_close(ctx);
		return ret;
	}
	shmx_close(ctx);
	if (cli->json) {
		jw_init(&w, stdout);
		jw_obj(&w, NULL);
		jw_str(&w, "pool", argv[0]);
		jw_bool(&w, "destroyed", true);
		jw_obj_end(&w);
	} else {
		printf("destroyed pool '%s'\n", argv[0]);
	}
	return CLI_OK;
}

int cmd_alloc(struct cli *cli, int argc, char **argv)
{
	char what[SHMX_NAME_MAX + 32];
	uint64_t size, align = 0;
	struct shmx_pool *pool;
	struct shmx_ctx *ctx;
	shmx_gaddr_t addr;
	struct jw w;
	int ret;

	if (argc < 2 || argc > 3)
		return cli_usage(cli, "expects POOL SIZE [ALIGN]");
	if (cli_name(cli, "pool", "POOL", argv[0]) ||
	    cli_size(cli, "SIZE", argv[1], &size) ||
	    (argc == 3 && cli_size(cli, "ALIGN", argv[2], &align)))
		return CLI_USAGE;
	if (!size)
		return cli_usage(cli, "SIZE: a block has at least 1 byte");
	if (align > SHMX_ALIGN_MAX || (align & (align - 1)))
		return cli_usage(cli,
				 "ALIGN: '%s' is not a power of two up to "
				 "1M",
				 argv[2]);
	ctx = cli_open(cli);
	if (!ctx)
		return CLI_FAIL;
	ret = open_pool(cli, ctx, argv[0], &pool);
	if (ret) {
		shmx_close(ctx);
		return ret;
	}
	ret = shmx_alloc(pool, size, align, &addr);
	shmx_pool_close(pool);
	shmx_close(ctx);
	if (ret) {
		snprintf(what, sizeof(what), "cannot allocate in pool '%s'",
			 argv[0]);
		return pool_fail(cli, ret, what);
	}
	if (cli->json) {
		jw_init(&w, stdout);
		jw_obj(&w, NULL);
		jw_str(&w, "pool", argv[0]);
		jw_u64(&w, "addr", addr);
		jw_u64(&w, "size", size);
		jw_u64(&w, "align", align < 8 ? 8 : align);
		jw_obj_end(&w);
	} else {
		printf("0x%llx\n", (unsigned long long)addr);
	}
	return CLI_OK;
}

/*
 * What the user can do about @err from release or an ownership call of
 * @cli's command on the block at @addr, or NULL.
 */
static const char *block_hint(const struct cli *cli, int err, uint64_t addr,
			      char *buf, size_t len)
{
	switch (-err) {
	case EFAULT:
		snprintf(buf, len, "no allocated block holds 0x%llx.",
			 (unsigned long long)addr);
		return buf;
	case ENOENT:
		snprintf(buf, len,
			 "no block starts at 0x%llx: it was never allocated, "
			 "or it was released.",
			 (unsigned long long)addr);
		return buf;
	case EINVAL:
		snprintf(buf, len,
			 "0x%llx is inside a block but not its start; give "
			 "the address alloc printed.",
			 (unsigned long long)addr);
		return buf;
	case EBUSY:
		return "the block has owners already; they pass it on with "
		       "'shmext transfer'.";
	case EPERM:
		if (!strcmp(cli->cmd, "release"))
			return "only the block's owners may release it, or, "
			       "while it has none, the member that allocated "
			       "it until that one leaves.";
		return "only an owner of the block may (a block without "
		       "owners has none); this shmext run is a new member, "
		       "so it is not one.";
	case ESRCH:
		return "a NODE is not a live member; 'shmext members' lists "
		       "them.";
	}
	return NULL;
}

/* cli_fail for the block at @addr, with block_hint's hint. */
static int block_fail(const struct cli *cli, int err, uint64_t addr)
{
	char what[64], hint[160];
	const char *h = block_hint(cli, err, addr, hint, sizeof(hint));

	snprintf(what, sizeof(what), "0x%llx", (unsigned long long)addr);
	return h ? cli_fail_hint(cli, err, what, h) : cli_fail(cli, err, what);
}

int cmd_release(struct cli *cli, int argc, char **argv)
{
	struct shmx_ctx *ctx;
	uint64_t addr;
	struct jw w;
	int ret;

	if (argc != 1)
		return cli_usage(cli, "expects ADDR");
	if (cli_size(cli, "ADDR", argv[0], &addr))
		return CLI_USAGE;
	ctx = cli_open(cli);
	if (!ctx)
		return CLI_FAIL;
	ret = shmx_release(ctx, addr);
	shmx_close(ctx);
	if (ret)
		return block_fail(cli, ret, addr);
	if (cli->json) {
		jw_init(&w, stdout);
		jw_obj(&w, NULL);
		jw_u64(&w, "addr", addr);
		jw_bool(&w, "released", true);
		jw_obj_end(&w);
	} else {
		printf("released the block at 0x%llx\n",
		       (unsigned long long)addr);
	}
	return CLI_OK;
}

/*
 * NODE arguments: a number is a node id, anything else a member's name.
 * check_nodes sees to the numbers before the connection; cli_resolve_nodes
 * looks the names up and rejects a member named twice.
 */
static int check_nodes(const struct cli *cli, int argc, char **argv)
{
	uint64_t id;

	if (argc > OWNERS_MAX)
		return cli_usage(cli, "takes at most %d NODEs", OWNERS_MAX);
	for (int i = 0; i < argc; i++)
		if (!shmx__parse_u64(argv[i], &id) && (!id || id > UINT32_MAX))
			return cli_usage(cli,
					 "NODE: '%s' is not a node id (1 to "
					 "%u)",
					 argv[i], UINT32_MAX);
	return 0;
}

/* The node id of the live member called @name; reports a failure. */
static int lookup_node(const struct cli *cli, struct shmx_ctx *ctx,
		       const char *name, shmx_node_t *id)
{
	char what[SHMX_NAME_MAX * 4 + 16], shown[SHMX_NAME_MAX * 4];
	int ret = shmx_lookup(ctx, name, id);

	if (!ret)
		return 0;
	snprintf(what, sizeof(what), "NODE '%s'",
		 out_printable(name, shown, sizeof(shown)));
	if (ret == -ENOENT)
		return cli_fail_hint(cli, ret, what,
				     "no live member has that name; 'shmext "
				     "members' lists them.");
	if (ret == -EINVAL)
		return cli_fail_hint(cli, ret, what,
				     "a member's name is 1 to 63 printable "
				     "ASCII characters.");
	return cli_fail(cli, ret, what);
}

int cli_resolve_nodes(const struct cli *cli, struct shmx_ctx *ctx, int argc,
		      char **argv, shmx_node_t *ids)
{
	char a[SHMX_NAME_MAX * 4], b[SHMX_NAME_MAX * 4];
	char msg[2 * SHMX_NAME_MAX * 4 + 64];
	uint64_t id;

	for (int i = 0; i < argc; i++) {
		if (!shmx__parse_u64(argv[i], &id))
			ids[i] = (shmx_node_t)id;
		else if (lookup_node(cli, ctx, argv[i], &ids[i]))
			return CLI_FAIL;
		for (int j = 0; j < i; j++) {
			if (ids[j] != ids[i])
				continue;
			snprintf(msg, sizeof(msg),
				 "NODE: '%s' and '%s' are the same member "
				 "(node %u)",
				 out_printable(argv[j], a, sizeof(a)),
				 out_printable(argv[i], b, sizeof(b)), ids[i]);
			return cli_fail_msg(cli, -EINVAL, msg);
		}
	}
	return 0;
}

/* The owner list of own and transfer, as printed. */
static void print_owners(const struct cli *cli, uint64_t addr, const char *did,
			 const shmx_node_t *ids, int n, uint64_t epoch)
{
	struct jw w;

	if (cli->json) {
		jw_init(&w, stdout);
		jw_obj(&w, NULL);
		jw_u64(&w, "addr", addr);
		jw_arr(&w, "owners");
		for (int i = 0; i < n; i++)
			jw_u64(&w, NULL, ids[i]);
		jw_arr_end(&w);
		jw_u64(&w, "epoch", epoch);
		jw_obj_end(&w);
		return;
	}
	printf("0x%llx: %s node%s", (unsigned long long)addr, did,
	       n == 1 ? "" : "s");
	for (int i = 0; i < n; i++)
		printf("%s %u", i ? "," : "", ids[i]);
	printf("; epoch %llu\n", (unsigned long long)epoch);
}

/* own and transfer: @transfer picks shmx_own_transfer. */
static int own(struct cli *cli, int argc, char **argv, int transfer)
{
	shmx_node_t ids[OWNERS_MAX];
	struct shmx_ctx *ctx;
	uint64_t addr, epoch = 0;
	int ret;

	if (argc < 2)
		return cli_usage(cli, "expects ADDR NODE...");
	if (cli_size(cli, "ADDR", argv[0], &addr) ||
	    check_nodes(cli, argc - 1, argv + 1))
		return CLI_USAGE;
	ctx = cli_open(cli);
	if (!ctx)
		return CLI_FAIL;
	ret = cli_resolve_nodes(cli, ctx, argc - 1, argv + 1, ids);
	if (ret) {
		shmx_close(ctx);
		return ret;
	}
	if (transfer)
		ret = shmx_own_transfer(ctx, addr, ids, (unsigned)argc - 1,
					&epoch);
	else
		ret = shmx_own(ctx, addr, ids, (unsigned)argc - 1, &epoch);
	shmx_close(ctx);
	if (ret)
		return block_fail(cli, ret, addr);
	print_owners(cli, addr, transfer ? "passed to" : "owned by", ids,
		     argc - 1, epoch);
	return CLI_OK;
}

int cmd_own(struct cli *cli, int argc, char **argv)
{
	return own(cli, argc, argv, 0);
}

int cmd_transfer(struct cli *cli, int argc, char **argv)
{
	return own(cli, argc, argv, 1);
}

int cmd_disown(struct cli *cli, int argc, char **argv)
{
	struct shmx_ctx *ctx;
	uint64_t addr, epoch = 0;
	struct jw w;
	int ret;

	if (argc != 1)
		return cli_usage(cli, "expects ADDR");
	if (cli_size(cli, "ADDR", argv[0], &addr))
		return CLI_USAGE;
	ctx = cli_open(cli);
	if (!ctx)
		return CLI_FAIL;
	ret = shmx_disown(ctx, addr, &epoch);
	shmx_close(ctx);
	if (ret)
		return block_fail(cli, ret, addr);
	if (cli->json) {
		jw_init(&w, stdout);
		jw_obj(&w, NULL);
		jw_u64(&w, "addr", addr);
		jw_u64(&w, "epoch", epoch);
		jw_obj_end(&w);
	} else {
		printf("0x%llx: shared again; epoch %llu\n",
		       (unsigned long long)addr, (unsigned long long)epoch);
	}
	return CLI_OK;
}

int cmd_epoch(struct cli *cli, int argc, char **argv)
{
	struct shmx_ctx *ctx;
	uint64_t addr, epoch = 0;
	shmx_node_t self;
	int ret, owner = 0;
	struct jw w;

	if (argc != 1)
		return cli_usage(cli, "expects ADDR");
	if (cli_size(cli, "ADDR", argv[0], &addr))
		return CLI_USAGE;
	ctx = cli_open(cli);
	if (!ctx)
		return CLI_FAIL;
	self = shmx_self(ctx);
	ret = shmx_own_epoch(ctx, addr, &epoch, &owner);
	shmx_close(ctx);
	if (ret)
		return block_fail(cli, ret, addr);
	if (cli->json) {
		jw_init(&w, stdout);
		jw_obj(&w, NULL);
		jw_u64(&w, "addr", addr);
		jw_u64(&w, "epoch", epoch);
		jw_u64(&w, "self", self);
		jw_bool(&w, "owner", owner);
		jw_obj_end(&w);
	} else {
		printf("0x%llx: epoch %llu; this member (node %u) is %s\n",
		       (unsigned long long)addr, (unsigned long long)epoch,
		       self, owner ? "an owner" : "not an owner");
	}
	return CLI_OK;
}
