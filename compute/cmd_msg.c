/* SPDX-License-Identifier: MIT */
/*
 * cmd_msg.c - signals and messages from the shell: shmext signal and send
 * (to one member or to all), shmext wait and recv (take what came to this
 * command's own mailbox), shmext echo (answer them: the peer of shmext
 * bench --peer).  For scripts and debugging (docs/messages.md).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_msg.h"
#include "cli.h"
#include "output.h"
#include "util/parse.h"

/* The destinations of a broadcast. */
#define BROADCAST_MAX 1024

/* Report a broadcast: one line (or object) per destination.  CLI_OK when
 * all have it. */
static int broadcast_report(const struct cli *cli, int ret,
			    const struct shmx_send_status *st, size_t n,
			    const char *what)
{
	struct jw w;

	if (ret && !n)
		return cli_fail(cli, ret, "cannot list the members");
	if (cli->json) {
		jw_init(&w, stdout);
		jw_obj(&w, NULL);
		jw_str(&w, "sent", what);
		jw_arr(&w, "destinations");
		for (size_t i = 0; i < n && i < BROADCAST_MAX; i++) {
			jw_obj(&w, NULL);
			jw_u64(&w, "node", st[i].dest);
			jw_str(&w, "status",
			       st[i].status ? strerrorname_np(-st[i].status)
					    : "ok");
			jw_obj_end(&w);
		}
		jw_arr_end(&w);
		jw_obj_end(&w);
	} else {
		printf("%s to %zu member%s\n", what, n, n == 1 ? "" : "s");
		for (size_t i = 0; i < n && i < BROADCAST_MAX; i++)
			printf("  node %u: %s\n", st[i].dest,
			       st[i].status ? shmx_strerror(st[i].status)
					    : "ok");
	}
	return ret ? CLI_FAIL : CLI_OK;
}

/* A hint for a send that failed with @err. */
static const char *send_hint(int err)
{
	switch (-err) {
	case ESRCH:
		return "no live member has that id (or it has no mailbox); "
		       "'shmext members' lists them.";
	case ETIMEDOUT:
		return "the destination's window stayed full: it does not "
		       "take what it gets (shmext wait, shmext recv).";
	}
	return NULL;
}

int cmd_signal(struct cli *cli, int argc, char **argv)
{
	struct shmx_send_status *st = NULL;
	uint64_t signo, value = 0;
	struct shmx_ctx *ctx;
	shmx_node_t dest = 0;
	int nops = cli->all ? 0 : 1, ret;
	char what[64];
	size_t n = 0;
	struct jw w;

	if (argc < nops + 1 || argc > nops + 2)
		return cli_usage(cli, "expects %sSIGNO [VALUE]",
				 cli->all ? "" : "NODE ");
	if (shmx__parse_u64(argv[nops], &signo) || !signo ||
	    signo > SHMX_SIGNO_MAX)
		return cli_usage(cli, "SIGNO: '%s' is not 1 to %u", argv[nops],
				 SHMX_SIGNO_MAX);
	if (argc == nops + 2 && cli_u64(cli, "VALUE", argv[nops + 1], &value))
		return CLI_USAGE;
	ctx = cli_open(cli);
	if (!ctx)
		return CLI_FAIL;
	snprintf(what, sizeof(what), "signal %llu", (unsigned long long)signo);
	if (cli->all) {
		st = calloc(BROADCAST_MAX, sizeof(*st));
		ret = st ? shmx_signal_all(ctx, (uint32_t)signo, value, st,
					   BROADCAST_MAX, &n)
			 : -ENOMEM;
		ret = broadcast_report(cli, ret, st, n, what);
		free(st);
		goto out;
	}
	ret = cli_resolve_nodes(cli, ctx, 1, argv, &dest);
	if (ret)
		goto out;
	ret = shmx_signal(ctx, dest, (uint32_t)signo, value);
	if (ret) {
		ret = cli_fail_hint(cli, ret, what, send_hint(ret));
		goto out;
	}
	if (cli->json) {
		jw_init(&w, stdout);
		jw_obj(&w, NULL);
		jw_u64(&w, "node", dest);
		jw_u64(&w, "signo", signo);
		jw_u64(&w, "value", value);
		jw_obj_end(&w);
	} else {
		printf("%s value %llu to node %u\n", what,
		       (unsigned long long)value, dest);
	}
out:
	shmx_close(ctx);
	return ret;
}

/*
 * wait and recv: take --count signals or messages (@kind) with @take, which
 * prints each, inside one JSON object with --json, and say what a take
 * that got nothing means.
 */
static int take_loop(struct cli *cli, int argc, const char *kind,
		     int (*take)(const struct cli *cli, struct shmx_ctx *ctx,
				 struct jw *w))
{
	uint64_t want = cli->count ? cli->count : 1;
	struct shmx_ctx *ctx;
	char what[64];
	int ret = 0;
	struct jw w;

	if (argc)
		return cli_usage(cli, "takes no operands");
	ctx = cli_open(cli);
	if (!ctx)
		return CLI_FAIL;
	if (cli->json) {
		snprintf(what, sizeof(what), "%ss", kind);
		jw_init(&w, stdout);
		jw_obj(&w, NULL);
		jw_u64(&w, "self", shmx_self(ctx));
		jw_arr(&w, what);
	} else {
		fprintf(stderr, "shmext: %s: node %u waits for %llu %s%s\n",
			cli->cmd, shmx_self(ctx), (unsigned long long)want,
			kind, want == 1 ? "" : "s");
	}
	for (uint64_t i = 0; i < want && !ret; i++)
		ret = take(cli, ctx, &w);
	if (cli->json) {
		jw_arr_end(&w);
		jw_obj_end(&w);
	}
	if (ret) {
		snprintf(what, sizeof(what), "waiting for a %s", kind);
		ret = cli_fail_hint(cli, ret, what,
				    ret == -ETIMEDOUT
					    ? "nothing came within --timeout; "
					      "the sender names this member by "
					      "its id or --name."
					    : NULL);
	}
	shmx_close(ctx);
	return ret;
}

/* One signal, printed. */
static int take_signal(const struct cli *cli, struct shmx_ctx *ctx,
		       struct jw *w)
{
	struct shmx_signal_info info;
	int ret = shmx_signal_wait(ctx, -1, &info);

	if (ret)
		return ret;
	if (cli->json) {
		jw_obj(w, NULL);
		jw_u64(w, "from", info.src);
		jw_u64(w, "signo", info.signo);
		jw_u64(w, "value", info.value);
		jw_obj_end(w);
	} else {
		printf("from %u signo %u value %llu\n", info.src, info.signo,
		       (unsigned long long)info.value);
		fflush(stdout);
	}
	return 0;
}

int cmd_wait(struct cli *cli, int argc, char **argv)
{
	(void)argv;
	return take_loop(cli, argc, "signal", take_signal);
}

/* The message's bytes: DATA (hex with --hex), or stdin. */
static int message_data(struct cli *cli, int argc, char **argv, int at,
			uint8_t **data, size_t *len)
{
	int ret;

	if (argc > at && strcmp(argv[at], "-")) {
		if (cli->hex)
			return cli_unhex_arg(cli, argv[at], data, len);
		*len = strlen(argv[at]);
		*data = malloc(*len + 1);
		if (!*data)
			return cli_fail(cli, -ENOMEM, NULL);
		memcpy(*data, argv[at], *len);
		return 0;
	}
	ret = cli_slurp_stdin(cli, cli->hex, SHMX_MSG_MAX, data, len);
	if (ret == -EFBIG)
		return cli_fail_msg(cli, -EMSGSIZE,
				    "stdin holds more than a message's 64 "
				    "MiB; nothing was sent");
	if (ret == -EILSEQ)
		return cli_fail_msg(cli, -EINVAL,
				    "stdin is not pairs of hex digits (--hex; "
				    "whitespace is ignored)");
	return ret ? cli_fail(cli, ret, "stdin") : 0;
}

int cmd_send(struct cli *cli, int argc, char **argv)
{
	struct shmx_send_status *st = NULL;
	int nops = cli->all ? 0 : 1, ret;
	struct shmx_ctx *ctx;
	uint8_t *data = NULL;
	shmx_node_t dest = 0;
	char what[64];
	size_t len = 0, n = 0;
	struct jw w;

	if (argc < nops || argc > nops + 1)
		return cli_usage(cli, "expects %s[DATA|-]",
				 cli->all ? "" : "NODE ");
	ret = message_data(cli, argc, argv, nops, &data, &len);
	if (ret)
		return ret;
	ctx = cli_open(cli);
	if (!ctx) {
		free(data);
		return CLI_FAIL;
	}
	snprintf(what, sizeof(what), "a message of %zu bytes", len);
	if (cli->all) {
		st = calloc(BROADCAST_MAX, sizeof(*st));
		ret = st ? shmx_msg_send_all(ctx, data, len, 0, st,
					     BROADCAST_MAX, &n)
			 : -ENOMEM;
		ret = broadcast_report(cli, ret, st, n, what);
		free(st);
		goto out;
	}
	ret = cli_resolve_nodes(cli, ctx, 1, argv, &dest);
	if (ret)
		goto out;
	ret = shmx_msg_send(ctx, dest, data, len, 0);
	if (ret) {
		ret = cli_fail_hint(cli, ret, what, send_hint(ret));
		goto out;
	}
	if (cli->json) {
		jw_init(&w, stdout);
		jw_obj(&w, NULL);
		jw_u64(&w, "node", dest);
		jw_u64(&w, "len", len);
		jw_obj_end(&w);
	} else {
		printf("%s to node %u\n", what, dest);
	}
out:
	shmx_close(ctx);
	free(data);
	return ret;
}

/* One message, as recv prints it.  0 or -errno. */
static int print_message(const struct cli *cli, struct shmx_ctx *ctx,
			 const struct shmx_message *m, struct jw *w)
{
	uint8_t *region = NULL;
	const uint8_t *p = m->data;
	int ret = 0;

	/* --raw prints a region's bytes too. */
	if ((m->flags & SHMX_MSG_REGION) && cli->raw) {
		region = malloc(m->len ? m->len : 1);
		if (!region)
			return -ENOMEM;
		ret = shmx_read(ctx, m->gaddr, region, m->len);
		p = region;
	}
	if (ret) {
		free(region);
		return ret;
	}
	if (cli->raw) {
		if (m->len && fwrite(p, 1, m->len, stdout) != m->len)
			ret = -EIO;
	} else if (cli->json) {
		jw_obj(w, NULL);
		jw_u64(w, "from", m->src);
		jw_u64(w, "len", m->len);
		if (m->flags & SHMX_MSG_REGION) {
			jw_u64(w, "region", m->gaddr);
			jw_bool(w, "moved", m->flags & SHMX_MSG_MOVE);
		} else {
			jw_hex(w, "hex", p, m->len);
		}
		jw_obj_end(w);
	} else if (m->flags & SHMX_MSG_REGION) {
		printf("from %u: region 0x%llx, %zu bytes%s\n", m->src,
		       (unsigned long long)m->gaddr, m->len,
		       m->flags & SHMX_MSG_MOVE ? ", now owned by this member"
						: "");
	} else {
		printf("from %u: %zu bytes\n", m->src, m->len);
		out_hexdump(stdout, 0, p, m->len, out_hex_width(m->len));
	}
	fflush(stdout);
	free(region);
	return ret;
}

/* One message, taken and printed. */
static int take_message(const struct cli *cli, struct shmx_ctx *ctx,
			struct jw *w)
{
	struct shmx_message *m;
	int ret = shmx_msg_recv(ctx, -1, &m);

	if (ret)
		return ret;
	ret = print_message(cli, ctx, m, w);
	shmx_msg_free(m);
	return ret;
}

int cmd_recv(struct cli *cli, int argc, char **argv)
{
	(void)argv;
	if (cli->raw && cli->json)
		return cli_usage(cli, "--raw and --json exclude each other");
	return take_loop(cli, argc, "message", take_message);
}

int cmd_echo(struct cli *cli, int argc, char **argv)
{
	struct shmx_ctx *ctx;
	int ret;

	(void)argv;
	if (argc)
		return cli_usage(cli, "takes no operands");
	ctx = cli_open(cli);
	if (!ctx)
		return CLI_FAIL;
	fprintf(stderr, "shmext: echo: node %u answers until told to stop\n",
		shmx_self(ctx));
	ret = bench_echo_serve(ctx, -1);
	shmx_close(ctx);
	return ret ? cli_fail(cli, ret, "echo") : CLI_OK;
}
