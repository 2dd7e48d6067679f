/* SPDX-License-Identifier: MIT */
/*
 * cmd_bench.c - shmext bench: latency of shmx_read and shmx_write (8 B and
 * 4 KiB), shmx_cas64 and shmx_fadd64 (median, 99th percentile, mean), and
 * the bandwidth of 1 MiB reads and writes, blocking and with several
 * non-blocking transfers in flight, then the control plane: an RPC round
 * trip, alloc+release pairs (64 B, 4 KiB, 1 MiB) and an ownership
 * transfer.  Works in an 8 MiB block of the pool "shmext-bench" and the
 * pool "shmext-bench-alloc" (created if need be), released at the end.
 * A benchmark, not a test: deploy/bench-ofi.sh sets the numbers beside
 * fi_pingpong's.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "output.h"
#include "util/clock.h"

#define BENCH_POOL "shmext-bench"
#define SCRATCH (8u << 20) /* the block the measurements use */
#define BW_SIZE (1u << 20) /* bandwidth: bytes per transfer */
#define BW_WINDOW 8	   /* bandwidth: non-blocking transfers in flight */

enum bench_op { B_READ, B_WRITE, B_CAS, B_FADD, B_RPC, B_ALLOC, B_XFER };

/* Allocation and ownership: a pool to allocate from, a block we own. */
#define ALLOC_POOL "shmext-bench-alloc"
#define ALLOC_POOL_SIZE (4u << 20)
static struct shmx_pool *alloc_pool;
static shmx_gaddr_t owned = SHMX_GADDR_NULL;

struct lat {
	const char *key;  /* JSON member */
	const char *name; /* table row */
	enum bench_op op;
	size_t len;
	double median_us, p99_us, mean_us, min_us;
};

struct bw {
	const char *key;
	const char *name;
	int write;
	int window; /* 0: blocking calls */
	double mbs;
};

#define LAT(k, n, o, l)                                                        \
	{                                                                      \
		.key = (k), .name = (n), .op = (o), .len = (l)                 \
	}
#define BW(k, n, w, win)                                                       \
	{                                                                      \
		.key = (k), .name = (n), .write = (w), .window = (win)         \
	}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int one(struct shmx_ctx *ctx, enum bench_op op, shmx_gaddr_t at,
	       uint8_t *buf, size_t len)
{
	switch (op) {
	case B_READ:
		return shmx_read(ctx, at, buf, len);
	case B_WRITE:
		return shmx_write(ctx, at, buf, len);
	case B_CAS:
		return shmx_cas64(ctx, at, 0, 0, NULL);
	case B_FADD:
		return shmx_fadd64(ctx, at, 1, NULL);
	case B_RPC: {
		shmx_gaddr_t root;

		/* A control-plane round trip: request and reply messages. */
		return shmx_root_get(ctx, &root);
	}
	case B_ALLOC: {
		shmx_gaddr_t g;
		int ret = shmx_alloc(alloc_pool, len, 0, &g);

		/* A pair: two round trips to the node's allocator. */
		return ret ? ret : shmx_release(ctx, g);
	}
	case B_XFER: {
		shmx_node_t self = shmx_self(ctx);

		/* Re-keyed at the node: a new key, the old one revoked. */
		return shmx_own_transfer(ctx, owned, &self, 1, NULL);
	}
	}
	return -EINVAL;
}

/* @warmup untimed calls, then @iters timed ones into @t. */
static int latency(struct shmx_ctx *ctx, shmx_gaddr_t at, uint8_t *buf,
		   uint64_t *t, uint64_t iters, uint64_t warmup, struct lat *l)
{
	uint64_t med, p99;
	double sum = 0;
	int ret;

	for (uint64_t i = 0; i < warmup; i++) {
		ret = one(ctx, l->op, at, buf, l->len);
		if (ret)
			return ret;
	}
	for (uint64_t i = 0; i < iters; i++) {
		uint64_t t0 = shmx__now_ns();

		ret = one(ctx, l->op, at, buf, l->len);
		if (ret)
			return ret;
		t[i] = shmx__now_ns() - t0;
		sum += (double)t[i];
	}
	qsort(t, iters, sizeof(*t), cmp_u64);
	/* Nearest-rank percentiles. */
	med = (iters + 1) / 2 - 1;
	p99 = (iters * 99 + 99) / 100 - 1;
	l->median_us = (double)t[med] / 1e3;
	l->p99_us = (double)t[p99] / 1e3;
	l->mean_us = sum / (double)iters / 1e3;
	l->min_us = (double)t[0] / 1e3;
	return 0;
}

/* Blocking: @n transfers of BW_SIZE, one after the other. */
static int bw_blocking(struct shmx_ctx *ctx, int write, shmx_gaddr_t at,
		       uint8_t *buf, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		size_t k = i % BW_WINDOW;
		int ret = write ? shmx_write(ctx, at + (uint64_t)k * BW_SIZE,
					     buf + k * BW_SIZE, BW_SIZE)
				: shmx_read(ctx, at + (uint64_t)k * BW_SIZE,
					    buf + k * BW_SIZE, BW_SIZE);

		if (ret)
			return ret;
	}
	return 0;
}

/*
 * Non-blocking: @n transfers with @window in flight; each slot's request
 * is waited for before its buffer is used again.
 */
static int bw_window(struct shmx_ctx *ctx, int write, shmx_gaddr_t at,
		     uint8_t *buf, unsigned n, unsigned window)
{
	struct shmx_req *req[BW_WINDOW] = { NULL };
	int ret = 0, r;

	for (unsigned i = 0; i < n + window; i++) {
		unsigned k = i % window;

		if (req[k]) {
			r = shmx_wait(req[k], -1);
			req[k] = NULL;
			if (r && !ret)
				ret = r;
		}
		if (i >= n || ret)
			continue;
		ret = write ? shmx_write_nb(ctx, at + (uint64_t)k * BW_SIZE,
					    buf + (size_t)k * BW_SIZE, BW_SIZE,
					    &req[k])
			    : shmx_read_nb(ctx, at + (uint64_t)k * BW_SIZE,
					   buf + (size_t)k * BW_SIZE, BW_SIZE,
					   &req[k]);
		if (ret)
			req[k] = NULL;
	}
	/* A request still running after a timeout is left to shmx_close. */
	return ret;
}

static int bandwidth(struct shmx_ctx *ctx, shmx_gaddr_t at, uint8_t *buf,
		     unsigned n, struct bw *b)
{
	uint64_t t0;
	int ret;

	/* Warm-up: touch every buffer and registration once. */
	ret = b->window ? bw_window(ctx, b->write, at, buf, BW_WINDOW,
				    (unsigned)b->window)
			: bw_blocking(ctx, b->write, at, buf, BW_WINDOW);
	if (ret)
		return ret;
	t0 = shmx__now_ns();
	ret = b->window ? bw_window(ctx, b->write, at, buf, n,
				    (unsigned)b->window)
			: bw_blocking(ctx, b->write, at, buf, n);
	if (ret)
		return ret;
	b->mbs = (double)n * BW_SIZE / 1e6 /
		 ((double)(shmx__now_ns() - t0) / 1e9);
	return 0;
}

static void print_json(const struct shmx_info *info, shmx_gaddr_t scratch,
		       uint64_t iters, uint64_t warmup, unsigned n_bw,
		       const struct lat *lat, size_t nlat, const struct bw *bw,
		       size_t nbw)
{
	struct jw w;

	jw_init(&w, stdout);
	jw_obj(&w, NULL);
	jw_str(&w, "node", info->node);
	jw_str(&w, "transport", info->transport);
	jw_str(&w, "provider", info->provider);
	jw_u64(&w, "iters", iters);
	jw_u64(&w, "warmup", warmup);
	jw_u64(&w, "scratch", scratch);
	jw_obj(&w, "latency_us");
	for (size_t i = 0; i < nlat; i++) {
		jw_obj(&w, lat[i].key);
		jw_double(&w, "median", lat[i].median_us, 2);
		jw_double(&w, "p99", lat[i].p99_us, 2);
		jw_double(&w, "mean", lat[i].mean_us, 2);
		jw_double(&w, "min", lat[i].min_us, 2);
		jw_obj_end(&w);
	}
	jw_obj_end(&w);
	jw_obj(&w, "bandwidth_mbs");
	for (size_t i = 0; i < nbw; i++)
		jw_double(&w, bw[i].key, bw[i].mbs, 1);
	jw_obj_end(&w);
	jw_u64(&w, "bw_transfer_bytes", BW_SIZE);
	jw_u64(&w, "bw_transfers", n_bw);
	jw_u64(&w, "bw_in_flight", BW_WINDOW);
	jw_obj_end(&w);
}

static void print_table(const struct shmx_info *info, shmx_gaddr_t scratch,
			uint64_t iters, unsigned n_bw, const struct lat *lat,
			size_t nlat, const struct bw *bw, size_t nbw)
{
	printf("shmext bench: %s, %s provider %s, scratch 0x%llx-0x%llx\n\n",
	       info->node, info->transport, info->provider,
	       (unsigned long long)scratch,
	       (unsigned long long)scratch + SCRATCH);
	printf("%-21s %10s %10s %10s   (%llu calls each)\n", "latency, µs",
	       "median", "p99", "mean", (unsigned long long)iters);
	for (size_t i = 0; i < nlat; i++)
		printf("%-20s %10.2f %10.2f %10.2f\n", lat[i].name,
		       lat[i].median_us, lat[i].p99_us, lat[i].mean_us);
	printf("\n%-20s %10s   (%u transfers of 1 MiB each)\n", "bandwidth",
	       "MB/s", n_bw);
	for (size_t i = 0; i < nbw; i++)
		printf("%-20s %10.1f\n", bw[i].name, bw[i].mbs);
}

/* Give back what the bench took: its blocks and the pool handle. */
static void bench_cleanup(struct shmx_ctx *ctx, shmx_gaddr_t scratch)
{
	if (scratch != SHMX_GADDR_NULL)
		shmx_release(ctx, scratch);
	if (owned != SHMX_GADDR_NULL)
		shmx_release(ctx, owned);
	owned = SHMX_GADDR_NULL;
	if (alloc_pool)
		shmx_pool_close(alloc_pool);
	alloc_pool = NULL;
}

int cmd_bench(struct cli *cli, int argc, char **argv)
{
	struct lat lat[] = {
		LAT("read_8", "shmx_read 8 B", B_READ, 8),
		LAT("read_4k", "shmx_read 4 KiB", B_READ, 4096),
		LAT("write_8", "shmx_write 8 B", B_WRITE, 8),
		LAT("write_4k", "shmx_write 4 KiB", B_WRITE, 4096),
		LAT("cas64", "shmx_cas64", B_CAS, 8),
		LAT("fadd64", "shmx_fadd64", B_FADD, 8),
		LAT("rpc", "shmx_root_get (RPC)", B_RPC, 0),
		LAT("alloc_64", "alloc+release 64 B", B_ALLOC, 64),
		LAT("alloc_4k", "alloc+release 4 KiB", B_ALLOC, 4096),
		LAT("alloc_1m", "alloc+release 1 MiB", B_ALLOC, 1u << 20),
		LAT("own_transfer", "shmx_own_transfer", B_XFER, 0),
	};
	struct bw bw[] = {
		BW("read_blocking", "read, blocking", 0, 0),
		BW("write_blocking", "write, blocking", 1, 0),
		BW("read_nb", "read, 8 in flight", 0, BW_WINDOW),
		BW("write_nb", "write, 8 in flight", 1, BW_WINDOW),
	};
	const uint64_t iters = cli->iters;
	uint64_t warmup = iters / 10 < 1000 ? iters / 10 : 1000;
	unsigned n_bw = iters / 20 < 64 ? 64 : (unsigned)(iters / 20);
	struct shmx_info info;
	struct shmx_pool *pool;
	struct shmx_ctx *ctx;
	shmx_gaddr_t scratch = SHMX_GADDR_NULL;
	char msg[160], size[32], region[32];
	uint64_t *t = NULL;
	const char *what = NULL;
	uint8_t *buf = NULL;
	int ret;

	if (argc)
		return cli_usage(cli, "takes no arguments (see --iters)");
	if (n_bw > 4096)
		n_bw = 4096;
	ctx = cli_open(cli);
	if (!ctx)
		return CLI_FAIL;
	ret = shmx_info(ctx, &info);
	if (ret)
		goto out_fail;
	ret = shmx_pool_open(ctx, BENCH_POOL, SCRATCH, SHMX_CREAT, &pool);
	if (ret == -ENOSPC || ret == -EFBIG) {
		snprintf(msg, sizeof(msg),
			 "the node has no room for the bench's pool '%s' of %s "
			 "(the memory has %s in all)",
			 BENCH_POOL, out_bytes(SCRATCH, size, sizeof(size)),
			 out_bytes(info.region_size, region, sizeof(region)));
		shmx_close(ctx);
		return cli_fail_msg(cli, ret, msg);
	}
	what = "cannot allocate the bench's block";
	if (ret)
		goto out_fail;
	ret = shmx_alloc(pool, SCRATCH, 0, &scratch);
	shmx_pool_close(pool);
	if (ret)
		goto out_fail;
	what = "cannot set up the allocation benchmark";
	ret = shmx_pool_open(ctx, ALLOC_POOL, ALLOC_POOL_SIZE, SHMX_CREAT,
			     &alloc_pool);
	if (!ret)
		ret = shmx_alloc(alloc_pool, 64, 0, &owned);
	if (!ret) {
		shmx_node_t self = shmx_self(ctx);

		ret = shmx_own(ctx, owned, &self, 1, NULL);
	}
	if (ret)
		goto out_fail;
	what = NULL;
	t = calloc(iters, sizeof(*t));
	buf = malloc((size_t)BW_WINDOW * BW_SIZE);
	if (!t || !buf) {
		ret = -ENOMEM;
		goto out_fail;
	}
	memset(buf, 0xa5, (size_t)BW_WINDOW * BW_SIZE);
	for (size_t i = 0; i < sizeof(lat) / sizeof(lat[0]); i++) {
		what = lat[i].name;
		ret = latency(ctx, scratch, buf, t, iters, warmup, &lat[i]);
		if (ret)
			goto out_fail;
	}
	for (size_t i = 0; i < sizeof(bw) / sizeof(bw[0]); i++) {
		what = bw[i].name;
		ret = bandwidth(ctx, scratch, buf, n_bw, &bw[i]);
		if (ret)
			goto out_fail;
	}
	bench_cleanup(ctx, scratch);
	shmx_close(ctx);
	if (cli->json)
		print_json(&info, scratch, iters, warmup, n_bw, lat,
			   sizeof(lat) / sizeof(lat[0]), bw,
			   sizeof(bw) / sizeof(bw[0]));
	else
		print_table(&info, scratch, iters, n_bw, lat,
			    sizeof(lat) / sizeof(lat[0]), bw,
			    sizeof(bw) / sizeof(bw[0]));
	free(t);
	free(buf);
	return CLI_OK;

out_fail:
	bench_cleanup(ctx, scratch);
	shmx_close(ctx);
	free(t);
	free(buf);
	return cli_fail(cli, ret, what);
}
