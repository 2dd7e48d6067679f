/* SPDX-License-Identifier: MIT */
/* cmd_info.c - shmext info and shmext members. */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "cli.h"

/* All live members, in a malloc'ed array; grows until it fits. */
static int get_members(struct shmx_ctx *ctx, struct shmx_member **out,
		       size_t *count)
{
	size_t max = 64;
	struct shmx_member *m = NULL, *grown;
	int ret;

	for (;;) {
		grown = realloc(m, max * sizeof(*m));
		if (!grown) {
			free(m);
			return -ENOMEM;
		}
		m = grown;
		ret = shmx_members(ctx, m, max, count);
		if (ret || *count <= max)
			break;
		max = *count + 16;
	}
	if (ret) {
		free(m);
		return ret;
	}
	*out = m;
	return 0;
}

static void print_members(const struct cli *cli, const struct shmx_member *m,
			  size_t n)
{
	char when[32];

	if (cli->json) {
		fputs("[", stdout);
		for (size_t i = 0; i < n; i++) {
			printf("%s{\"id\":%u,\"name\":", i ? "," : "", m[i].id);
			out_json_str(stdout, m[i].name);
			fputs(",\"host\":", stdout);
			out_json_str(stdout, m[i].host);
			printf(",\"pid\":%u,\"uid\":%u,\"gid\":%u,\"joined\":%"
			       "lld}",
			       m[i].pid, m[i].uid, m[i].gid,
			       (long long)m[i].joined);
		}
		fputs("]", stdout);
		return;
	}
	printf("%5s  %-24s %-16s %8s %6s %6s  %s\n", "ID", "NAME", "HOST",
	       "PID", "UID", "GID", "JOINED");
	for (size_t i = 0; i < n; i++) {
		time_t t = (time_t)m[i].joined;
		struct tm tm;

		localtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
		printf("%5u  %-24s %-16s %8u %6u %6u  %s\n", m[i].id, m[i].name,
		       m[i].host, m[i].pid, m[i].uid, m[i].gid, when);
	}
}

int cmd_members(struct cli *cli, int argc, char **argv)
{
	struct shmx_member *m;
	struct shmx_ctx *ctx;
	size_t n;
	int ret;

	if (argc)
		return cli_usage(cli, "takes no arguments");
	ctx = cli_open(cli);
	if (!ctx)
		return CLI_FAIL;
	ret = get_members(ctx, &m, &n);
	shmx_close(ctx);
	if (ret)
		return cli_fail(cli, "cannot list members", ret);
	print_members(cli, m, n);
	if (cli->json)
		fputc('\n', stdout);
	free(m);
	return CLI_OK;
}

int cmd_info(struct cli *cli, int argc, char **argv)
{
	struct shmx_member *m;
	struct shmx_info info;
	struct shmx_ctx *ctx;
	char size[32];
	size_t n;
	int ret;

	if (argc)
		return cli_usage(cli, "takes no arguments");
	ctx = cli_open(cli);
	if (!ctx)
		return CLI_FAIL;
	ret = shmx_info(ctx, &info);
	if (!ret)
		ret = get_members(ctx, &m, &n);
	shmx_close(ctx);
	if (ret)
		return cli_fail(cli, "cannot describe the node", ret);
	if (cli->json) {
		fputs("{\"node\":", stdout);
		out_json_str(stdout, info.node);
		printf(",\"region_size\":%llu,\"self\":%u,\"transport\":",
		       (unsigned long long)info.region_size, info.self);
		out_json_str(stdout, info.transport);
		fputs(",\"provider\":", stdout);
		out_json_str(stdout, info.provider);
		printf(",\"protocol_version\":%u,\"node_version\":",
		       info.protocol_version);
		out_json_str(stdout, info.node_version);
		printf(",\"authenticated\":%s,\"member_count\":%u,\"members\":",
		       info.authenticated ? "true" : "false",
		       info.member_count);
		print_members(cli, m, n);
		fputs("}\n", stdout);
	} else {
		printf("node:          %s\n", info.node);
		printf("region:        %s (%llu bytes)\n",
		       out_bytes(info.region_size, size, sizeof(size)),
		       (unsigned long long)info.region_size);
		printf("transport:     %s, provider %s\n", info.transport,
		       info.provider);
		printf("protocol:      version %u, shmnode %s\n",
		       info.protocol_version, info.node_version);
		printf("authenticated: %s\n",
		       info.authenticated ? "yes" : "no");
		printf("this member:   %u\n", info.self);
		printf("members:       %u\n\n", info.member_count);
		print_members(cli, m, n);
	}
	free(m);
	return CLI_OK;
}
