/* SPDX-License-Identifier: MIT */
/* cmd_info.c - shmext info (the node and the connection) and members. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "output.h"

/*
 * shmx_members reports how many there are even when they do not fit, so
 * grow to that and ask again (the registry may grow in between; a few
 * rounds always catch up).
 */
int cli_members(struct shmx_ctx *ctx, struct shmx_member **out, size_t *count)
{
	size_t max = 16, n = 0;
	struct shmx_member *m = NULL, *grown;
	int ret = 0;

	for (int round = 0; round < 8; round++) {
		grown = realloc(m, max * sizeof(*m));
		if (!grown) {
			ret = -ENOMEM;
			break;
		}
		m = grown;
		ret = shmx_members(ctx, m, max, &n);
		if (ret || n <= max)
			break;
		max = n + n / 4 + 4;
	}
	if (ret) {
		free(m);
		return ret;
	}
	*out = m;
	*count = n < max ? n : max;
	return 0;
}

static void json_members(struct jw *w, const struct shmx_member *m, size_t n)
{
	jw_arr(w, "members");
	for (size_t i = 0; i < n; i++) {
		jw_obj(w, NULL);
		jw_u64(w, "id", m[i].id);
		jw_str(w, "name", m[i].name);
		jw_str(w, "host", m[i].host);
		jw_u64(w, "pid", m[i].pid);
		jw_u64(w, "uid", m[i].uid);
		jw_u64(w, "gid", m[i].gid);
		jw_i64(w, "joined", m[i].joined);
		jw_obj_end(w);
	}
	jw_arr_end(w);
}

/* The members table; @self is marked with '*'. */
static void print_members(const struct shmx_member *m, size_t n,
			  shmx_node_t self)
{
	char name[SHMX_NAME_MAX * 4], host[SHMX_HOST_MAX * 4], when[32];
	int wname = 4, whost = 4;

	for (size_t i = 0; i < n; i++) {
		int a = (int)strlen(
			out_printable(m[i].name, name, sizeof(name)));
		int b = (int)strlen(
			out_printable(m[i].host, host, sizeof(host)));

		wname = a > wname ? a : wname;
		whost = b > whost ? b : whost;
	}
	printf("  %6s  %-*s  %-*s  %8s  %6s  %6s  %s\n", "ID", wname, "NAME",
	       whost, "HOST", "PID", "UID", "GID", "JOINED");
	for (size_t i = 0; i < n; i++)
		printf("%c %6u  %-*s  %-*s  %8u  %6u  %6u  %s\n",
		       m[i].id == self ? '*' : ' ', m[i].id, wname,
		       out_printable(m[i].name, name, sizeof(name)), whost,
		       out_printable(m[i].host, host, sizeof(host)), m[i].pid,
		       m[i].uid, m[i].gid,
		       out_time(m[i].joined, when, sizeof(when)));
}

int cmd_members(struct cli *cli, int argc, char **argv)
{
	struct shmx_member *m;
	struct shmx_ctx *ctx;
	shmx_node_t self;
	struct jw w;
	size_t n;
	int ret;

	if (argc)
		return cli_usage(cli, "takes no arguments");
	ctx = cli_open(cli);
	if (!ctx)
		return CLI_FAIL;
	self = shmx_self(ctx);
	ret = cli_members(ctx, &m, &n);
	shmx_close(ctx);
	if (ret)
		return cli_fail(cli, ret, "cannot list the members");
	if (cli->json) {
		jw_init(&w, stdout);
		jw_obj(&w, NULL);
		jw_u64(&w, "self", self);
		jw_u64(&w, "count", n);
		json_members(&w, m, n);
		jw_obj_end(&w);
	} else {
		print_members(m, n, self);
	}
	free(m);
	return CLI_OK;
}

int cmd_info(struct cli *cli, int argc, char **argv)
{
	struct shmx_member *m = NULL;
	shmx_gaddr_t root = SHMX_GADDR_NULL;
	struct cli_extents e;
	struct shmx_info info;
	struct shmx_ctx *ctx;
	char size[32];
	struct jw w;
	size_t n = 0;
	int ret;

	if (argc)
		return cli_usage(cli, "takes no arguments");
	ctx = cli_open(cli);
	if (!ctx)
		return CLI_FAIL;
	ret = shmx_info(ctx, &info);
	if (!ret)
		ret = shmx_root_get(ctx, &root);
	if (!ret)
		ret = cli_members(ctx, &m, &n);
	if (!ret)
		ret = cli_extents_get(ctx, &e);
	shmx_close(ctx);
	if (ret) {
		free(m);
		return cli_fail(cli, ret, "cannot describe the node");
	}
	if (cli->json) {
		jw_init(&w, stdout);
		jw_obj(&w, NULL);
		jw_str(&w, "node", info.node);
		jw_u64(&w, "region_size", info.region_size);
		jw_str(&w, "region_size_human",
		       out_bytes(info.region_size, size, sizeof(size)));
		jw_u64(&w, "extents", e.n);
		jw_u64(&w, "generation", e.generation);
		jw_u64(&w, "self", info.self);
		jw_str(&w, "transport", info.transport);
		jw_str(&w, "provider", info.provider);
		jw_str(&w, "transport_reason", info.transport_reason);
		jw_u64(&w, "protocol_version", info.protocol_version);
		jw_str(&w, "node_version", info.node_version);
		jw_bool(&w, "authenticated", info.authenticated);
		if (root == SHMX_GADDR_NULL)
			jw_null(&w, "root");
		else
			jw_u64(&w, "root", root);
		jw_u64(&w, "member_count", n);
		json_members(&w, m, n);
		jw_obj_end(&w);
	} else {
		printf("node:          %s\n", info.node);
		printf("region:        %s (%llu bytes)\n",
		       out_bytes(info.region_size, size, sizeof(size)),
		       (unsigned long long)info.region_size);
		printf("extents:       %zu (generation %llu; shmext extents "
		       "lists them)\n",
		       e.n, (unsigned long long)e.generation);
		printf("my node id:    %u\n", info.self);
		printf("transport:     %s, provider %s (%s)\n", info.transport,
		       info.provider, info.transport_reason);
		printf("protocol:      version %u\n", info.protocol_version);
		printf("shmnode:       version %s\n", info.node_version);
		printf("authenticated: %s\n",
		       info.authenticated ? "yes" : "no");
		if (root == SHMX_GADDR_NULL)
			printf("root pointer:  not set\n");
		else
			printf("root pointer:  0x%llx\n",
			       (unsigned long long)root);
		printf("members:       %zu\n\n", n);
		print_members(m, n, info.self);
	}
	free(m);
	return CLI_OK;
}
