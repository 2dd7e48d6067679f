/* SPDX-License-Identifier: MIT */
/*
 * cmd_stats.c - shmext stats: the node's counters and figures (shmx_stats),
 * as text or --json; the same numbers as shmnode's --metrics endpoint.
 */
#include <errno.h>
#include <stdio.h>

#include "cli.h"
#include "output.h"

static void json_stats(const struct shmx_stats *st)
{
	struct jw w;

	jw_init(&w, stdout);
	jw_obj(&w, NULL);
	jw_u64(&w, "uptime_ms", st->uptime_ms);
	jw_obj(&w, "messages");
	jw_u64(&w, "received", st->msgs_received);
	jw_u64(&w, "received_bytes", st->bytes_received);
	jw_u64(&w, "sent", st->msgs_sent);
	jw_u64(&w, "sent_bytes", st->bytes_sent);
	jw_obj_end(&w);
	jw_obj(&w, "members");
	jw_u64(&w, "live", st->members);
	jw_u64(&w, "max", st->max_members);
	jw_u64(&w, "joined", st->members_joined);
	jw_u64(&w, "left", st->members_left);
	jw_u64(&w, "expired", st->members_expired);
	jw_obj_end(&w);
	jw_obj(&w, "objects");
	jw_u64(&w, "pools", st->pools);
	jw_u64(&w, "blocks", st->blocks);
	jw_u64(&w, "segments", st->segments);
	jw_u64(&w, "allocs", st->allocs);
	jw_u64(&w, "alloc_bytes", st->alloc_bytes);
	jw_u64(&w, "releases", st->releases);
	jw_u64(&w, "release_bytes", st->release_bytes);
	jw_u64(&w, "segments_created", st->segs_created);
	jw_u64(&w, "segment_bytes_created", st->seg_bytes_created);
	jw_obj_end(&w);
	jw_obj(&w, "locks");
	jw_u64(&w, "reserved", st->locks);
	jw_u64(&w, "slots", st->lock_slots);
	jw_u64(&w, "held", st->locks_held);
	jw_u64(&w, "holds", st->lock_holds);
	jw_u64(&w, "waiters", st->lock_waiters);
	jw_obj_end(&w);
	jw_obj(&w, "memory");
	jw_u64(&w, "total", st->memory);
	jw_u64(&w, "region", st->region_total);
	jw_u64(&w, "free", st->region_free);
	jw_u64(&w, "largest_free", st->region_largest_free);
	jw_u64(&w, "free_fragments", st->region_free_blocks);
	jw_double(&w, "fragmentation", st->fragmentation, 6);
	jw_obj_end(&w);
	jw_arr(&w, "requests");
	for (uint32_t i = 0; i < st->nr_ops; i++) {
		jw_obj(&w, NULL);
		jw_str(&w, "op", st->op[i].name);
		jw_u64(&w, "opcode", st->op[i].opcode);
		jw_u64(&w, "requests", st->op[i].requests);
		jw_u64(&w, "errors", st->op[i].errors);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_arr(&w, "errors");
	for (uint32_t i = 0; i < st->nr_errs; i++) {
		jw_obj(&w, NULL);
		jw_str(&w, "status", st->errs[i].name);
		jw_str(&w, "error", shmx_strerror(st->errs[i].err));
		jw_i64(&w, "errno", -st->errs[i].err);
		jw_u64(&w, "count", st->errs[i].count);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_obj_end(&w);
}

/* "N (SIZE)" of @bytes, into @buf. */
static const char *n_bytes(uint64_t n, uint64_t bytes, char *buf, size_t len)
{
	char b[32];

	snprintf(buf, len, "%llu (%s)", (unsigned long long)n,
		 out_bytes(bytes, b, sizeof(b)));
	return buf;
}

static void print_stats(const struct shmx_stats *st)
{
	char a[64], b[64], c[32], d[32];
	int any = 0;

	printf("uptime:        %.1f s\n", (double)st->uptime_ms / 1000.0);
	printf("messages:      received %s, sent %s\n",
	       n_bytes(st->msgs_received, st->bytes_received, a, sizeof(a)),
	       n_bytes(st->msgs_sent, st->bytes_sent, b, sizeof(b)));
	printf("members:       %u live of %u; %llu joined, %llu left, %llu "
	       "expired\n",
	       st->members, st->max_members,
	       (unsigned long long)st->members_joined,
	       (unsigned long long)st->members_left,
	       (unsigned long long)st->members_expired);
	printf("objects:       %llu pools, %llu blocks, %llu segments\n",
	       (unsigned long long)st->pools, (unsigned long long)st->blocks,
	       (unsigned long long)st->segments);
	printf("allocated:     %s; released %s\n",
	       n_bytes(st->allocs, st->alloc_bytes, a, sizeof(a)),
	       n_bytes(st->releases, st->release_bytes, b, sizeof(b)));
	printf("segments made: %s\n",
	       n_bytes(st->segs_created, st->seg_bytes_created, a, sizeof(a)));
	printf("locks:         %u reserved of %u slots; %u held (%u holds), "
	       "%u waiting\n",
	       st->locks, st->lock_slots, st->locks_held, st->lock_holds,
	       st->lock_waiters);
	printf("memory:        %s; region %s, free %s in %llu fragments, "
	       "largest %s\n",
	       out_bytes(st->memory, a, sizeof(a)),
	       out_bytes(st->region_total, b, sizeof(b)),
	       out_bytes(st->region_free, c, sizeof(c)),
	       (unsigned long long)st->region_free_blocks,
	       out_bytes(st->region_largest_free, d, sizeof(d)));
	printf("fragmentation: %.6f\n", st->fragmentation);
	printf("\n  %-16s %10s %10s\n", "REQUEST", "COUNT", "ERRORS");
	for (uint32_t i = 0; i < st->nr_ops; i++)
		if (st->op[i].requests)
			printf("  %-16s %10llu %10llu\n", st->op[i].name,
			       (unsigned long long)st->op[i].requests,
			       (unsigned long long)st->op[i].errors);
	for (uint32_t i = 0; i < st->nr_errs; i++) {
		if (!st->errs[i].count)
			continue;
		if (!any++)
			printf("\n  %-28s %10s  %s\n", "ERROR", "COUNT",
			       "RETURNED AS");
		printf("  %-28s %10llu  %s\n", st->errs[i].name,
		       (unsigned long long)st->errs[i].count,
		       shmx_strerror(st->errs[i].err));
	}
}

int cmd_stats(struct cli *cli, int argc, char **argv)
{
	struct shmx_stats st;
	struct shmx_ctx *ctx;
	int ret;

	(void)argv;
	if (argc)
		return cli_usage(cli, "takes no arguments");
	ctx = cli_open(cli);
	if (!ctx)
		return CLI_FAIL;
	ret = shmx_stats(ctx, &st);
	shmx_close(ctx);
	if (ret)
		return cli_fail_hint(
			cli, ret, "cannot read the node's statistics",
			ret == -EOPNOTSUPP ? "the node is older than 'shmext "
					     "stats'"
					   : NULL);
	if (cli->json)
		json_stats(&st);
	else
		print_stats(&st);
	return CLI_OK;
}
