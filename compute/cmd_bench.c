/* SPDX-License-Identifier: MIT */
/*
 * cmd_bench.c - shmext bench: latency of reads, writes and 64-bit atomics
 * (median and 99th percentile) and 1 MiB bandwidth, blocking and with
 * several non-blocking transfers in flight.  A benchmark, not a test:
 * deploy/bench-ofi.sh sets the numbers beside fi_pingpong's.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "opts.h"

#define BW_SIZE (1u << 20)
#define BW_WINDOW 8
#define WARMUP 100

enum bench_op { B_READ, B_WRITE, B_CAS, B_FADD };

struct lat {
	const char *name;
	enum bench_op op;
	size_t len;
	double median_us, p99_us;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
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
	default:
		return shmx_fadd64(ctx, at, 1, NULL);
	}
}

static int latency(struct shmx_ctx *ctx, shmx_gaddr_t at, uint8_t *buf,
		   uint64_t *t, struct lat *l)
{
	int ret;

	for (uint64_t i = 0; i < WARMUP + opts.iters; i++) {
		uint64_t t0 = now_ns();

		ret = one(ctx, l->op, at, buf, l->len);
		if (ret)
			return ret;
		if (i >= WARMUP)
			t[i - WARMUP] = now_ns() - t0;
	}
	qsort(t, opts.iters, sizeof(*t), cmp_u64);
	l->median_us = (double)t[opts.iters / 2] / 1e3;
	l->p99_us = (double)t[opts.iters * 99 / 100] / 1e3;
	return 0;
}

/* MB/s of @n transfers of 1 MiB, @window of them in flight. */
static int bandwidth(struct shmx_ctx *ctx, int write, shmx_gaddr_t at,
		     uint8_t *buf, unsigned n, unsigned window, double *mbs)
{
	struct shmx_req *req[BW_WINDOW];
	uint64_t t0 = now_ns();
	int ret = 0;

	for (unsigned done = 0; done < n && !ret; done += window) {
		unsigned k = n - done < window ? n - done : window;

		for (unsigned i = 0; i < k && !ret; i++) {
			uint8_t *b = buf + (size_t)i * BW_SIZE;
			shmx_gaddr_t a = at + (uint64_t)i * BW_SIZE;

			ret = write ? shmx_write_nb(ctx, a, b, BW_SIZE, &req[i])
				    : shmx_read_nb(ctx, a, b, BW_SIZE, &req[i]);
			if (ret)
				k = i;
		}
		for (unsigned i = 0; i < k; i++) {
			int r = shmx_wait(req[i], -1);

			if (!ret)
				ret = r;
		}
	}
	*mbs = (double)n * BW_SIZE / 1e6 / ((double)(now_ns() - t0) / 1e9);
	return ret;
}

int cmd_bench(struct cli *cli, int argc, char **argv)
{
	struct lat lat[] = {
		{ .name = "read 8 B", .op = B_READ, .len = 8 },
		{ .name = "read 4 KiB", .op = B_READ, .len = 4096 },
		{ .name = "write 8 B", .op = B_WRITE, .len = 8 },
		{ .name = "write 4 KiB", .op = B_WRITE, .len = 4096 },
		{ .name = "cas64", .op = B_CAS, .len = 8 },
		{ .name = "fadd64", .op = B_FADD, .len = 8 },
	};
	static const char *const keys[] = { "read_8",	"read_4k", "write_8",
					    "write_4k", "cas64",   "fadd64" };
	double bw[4];
	unsigned n_bw = (unsigned)(opts.iters / 50 < 32 ? 32 : opts.iters / 50);
	struct shmx_info info;
	struct shmx_ctx *ctx;
	shmx_gaddr_t scratch;
	uint64_t *t = NULL;
	uint8_t *buf = NULL;
	int ret;

	if (argc)
		return cli_usage(cli, "takes no arguments (see --iters)");
	ctx = cli_open(cli);
	if (!ctx)
		return CLI_FAIL;
	ret = shmx_info(ctx, &info);
	if (ret)
		goto out_fail;
	/* The last 8 MiB of the region, clear of the demo's area. */
	if (info.region_size < (16u << 20)) {
		ret = -ENOSPC;
		goto out_fail;
	}
	scratch = info.region_size - (8u << 20);
	t = calloc(opts.iters, sizeof(*t));
	buf = calloc(BW_WINDOW, BW_SIZE);
	if (!t || !buf) {
		ret = -ENOMEM;
		goto out_fail;
	}
	for (size_t i = 0; i < sizeof(lat) / sizeof(lat[0]) && !ret; i++)
		ret = latency(ctx, scratch, buf, t, &lat[i]);
	if (!ret)
		ret = bandwidth(ctx, 0, scratch, buf, n_bw, 1, &bw[0]);
	if (!ret)
		ret = bandwidth(ctx, 1, scratch, buf, n_bw, 1, &bw[1]);
	if (!ret)
		ret = bandwidth(ctx, 0, scratch, buf, n_bw, BW_WINDOW, &bw[2]);
	if (!ret)
		ret = bandwidth(ctx, 1, scratch, buf, n_bw, BW_WINDOW, &bw[3]);
	if (ret)
		goto out_fail;
	shmx_close(ctx);

	if (cli->json) {
		printf("{\"provider\":");
		out_json_str(stdout, info.provider);
		printf(",\"iters\":%llu", (unsigned long long)opts.iters);
		for (size_t i = 0; i < sizeof(lat) / sizeof(lat[0]); i++)
			printf(",\"%s\":{\"median_us\":%.2f,\"p99_us\":%.2f}",
			       keys[i], lat[i].median_us, lat[i].p99_us);
		printf(",\"read_bw_mbs\":%.1f,\"write_bw_mbs\":%.1f,"
		       "\"read_bw_window_mbs\":%.1f,"
		       "\"write_bw_window_mbs\":%.1f,\"bw_window\":%d}\n",
		       bw[0], bw[1], bw[2], bw[3], BW_WINDOW);
	} else {
		printf("shmext bench: %s over %s, %llu iterations\n\n",
		       info.node, info.provider,
		       (unsigned long long)opts.iters);
		printf("%-14s %12s %12s\n", "latency", "median µs", "p99 µs");
		for (size_t i = 0; i < sizeof(lat) / sizeof(lat[0]); i++)
			printf("%-14s %12.2f %12.2f\n", lat[i].name,
			       lat[i].median_us, lat[i].p99_us);
		printf("\n%-30s %10s\n", "bandwidth, 1 MiB transfers", "MB/s");
		printf("%-30s %10.1f\n", "read, one at a time", bw[0]);
		printf("%-30s %10.1f\n", "write, one at a time", bw[1]);
		printf("read, %d in flight %*s %10.1f\n", BW_WINDOW, 13, "",
		       bw[2]);
		printf("write, %d in flight %*s %10.1f\n", BW_WINDOW, 12, "",
		       bw[3]);
	}
	free(t);
	free(buf);
	return CLI_OK;

out_fail:
	shmx_close(ctx);
	free(t);
	free(buf);
	return cli_fail(cli,
			ret == -ENOSPC ? "needs a region of 16 MiB or more"
				       : "bench",
			ret);
}
