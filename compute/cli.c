/* SPDX-License-Identifier: MIT */
/*
 * cli.c - connecting, error reporting and argument parsing shared by the
 * shmext command's subcommands.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "output.h"
#include "proto/proto.h"
#include "util/parse.h"

const char *cli_node(const struct cli *cli)
{
	const char *env = getenv("SHMEXT_NODE");

	if ((cli->attr.comp_mask & SHMX_OPEN_ATTR_NODE) && cli->attr.node)
		return cli->attr.node;
	return env && *env ? env : SHMX_DEFAULT_NODE;
}

/* What the user can do about @err from shmx_open, or NULL. */
static const char *open_hint(const struct cli *cli, int err, char *buf,
			     size_t len)
{
	switch (-err) {
	case ECONNREFUSED:
	case ETIMEDOUT:
		snprintf(buf, len,
			 "is shmnode running at %s?  Name the node with "
			 "--node HOST:PORT or SHMEXT_NODE.",
			 cli_node(cli));
		return buf;
	case EACCES:
		return "the node wants its key: give the key file with "
		       "--key-file or SHMEXT_KEY_FILE.";
	case EPERM:
		return "a node without a key file serves loopback clients "
		       "only; start shmnode with --key-file and pass the same "
		       "file here.";
	case ENOENT:
		return "the key file (--key-file or SHMEXT_KEY_FILE) does not "
		       "exist.";
	case EADDRINUSE:
		return "another live member has that name; choose another "
		       "with --name or SHMEXT_NAME.";
	case ENODEV:
		return "fi_info lists the libfabric providers of this "
		       "machine; choose one with --provider or "
		       "SHMEXT_PROVIDER.";
	case EPROTO:
		return "shmnode and this shmext speak different protocol "
		       "versions; compare 'shmext --version' with shmnode's.";
	case EINVAL:
		return "check --node (HOST:PORT), --name (1 to 63 printable "
		       "ASCII characters), --timeout and the SHMEXT_* "
		       "environment variables.";
	}
	return NULL;
}

/* What the user can do about @err from a call on an open context. */
static const char *call_hint(int err)
{
	switch (-err) {
	case ENOTCONN:
	case ECONNRESET:
		return "the memory node went away; is shmnode still running?";
	case ETIMEDOUT:
		return "the node did not answer in time; a longer --timeout "
		       "may help on a busy node.";
	}
	return NULL;
}

static void json_error(const struct cli *cli, int err, const char *what,
		       const char *msg)
{
	const char *name = strerrorname_np(err < 0 ? -err : err);
	struct jw w;

	jw_init(&w, stdout);
	jw_obj(&w, NULL);
	jw_obj(&w, "error");
	jw_str(&w, "command", cli->cmd);
	if (what)
		jw_str(&w, "context", what);
	jw_i64(&w, "errno", err < 0 ? -err : err);
	jw_str(&w, "name", name);
	jw_str(&w, "message", msg ? msg : shmx_strerror(err));
	jw_obj_end(&w);
	jw_obj_end(&w);
}

static int report(const struct cli *cli, int err, const char *what,
		  const char *hint)
{
	fflush(stdout);
	fprintf(stderr, "shmext: %s: %s%s%s\n", cli->cmd ? cli->cmd : "error",
		what ? what : "", what ? ": " : "", shmx_strerror(err));
	if (hint)
		fprintf(stderr, "hint: %s\n", hint);
	if (cli->json)
		json_error(cli, err, what, NULL);
	return CLI_FAIL;
}

int cli_fail_msg(const struct cli *cli, int err, const char *msg)
{
	fflush(stdout);
	fprintf(stderr, "shmext: %s: %s\n", cli->cmd ? cli->cmd : "error", msg);
	if (cli->json)
		json_error(cli, err, NULL, msg);
	return CLI_FAIL;
}

struct shmx_ctx *cli_open(struct cli *cli)
{
	struct shmx_ctx *ctx = NULL;
	char what[200], hint[256];
	int ret = shmx_open(&cli->attr, &ctx);

	if (!ret)
		return ctx;
	snprintf(what, sizeof(what), "cannot join the memory node at %s",
		 cli_node(cli));
	report(cli, ret, what, open_hint(cli, ret, hint, sizeof(hint)));
	return NULL;
}

int cli_fail(const struct cli *cli, int err, const char *what)
{
	return report(cli, err, what, call_hint(err));
}

int cli_fail_hint(const struct cli *cli, int err, const char *what,
		  const char *hint)
{
	return report(cli, err, what, hint);
}

int cli_fail_at(const struct cli *cli, int err, uint64_t addr, uint64_t len,
		const struct cli_extents *e)
{
	uint64_t end = addr + len < addr ? UINT64_MAX : addr + len;
	const struct shmx_extent *x;
	char hint[256], size[32];

	if (err != -EFAULT || !e || !e->n)
		return cli_fail(cli, err, NULL);
	x = cli_extent_of(e, addr);
	if (e->n == 1 && (!x || end - x->base > x->len))
		snprintf(hint, sizeof(hint),
			 "[0x%llx, 0x%llx) is not inside the memory "
			 "[0x0, 0x%llx) of %s.",
			 (unsigned long long)addr, (unsigned long long)end,
			 (unsigned long long)e->ext[0].len,
			 out_bytes(e->ext[0].len, size, sizeof(size)));
	else if (!x)
		snprintf(hint, sizeof(hint),
			 "0x%llx lies in none of the memory's %zu extents; "
			 "'shmext extents' lists them.",
			 (unsigned long long)addr, e->n);
	else if (end - x->base > x->len)
		snprintf(hint, sizeof(hint),
			 "[0x%llx, 0x%llx) runs past the end of its extent "
			 "[0x%llx, 0x%llx) of %s; nothing spans two extents.",
			 (unsigned long long)addr, (unsigned long long)end,
			 (unsigned long long)x->base,
			 (unsigned long long)(x->base + x->len),
			 out_bytes(x->len, size, sizeof(size)));
	else
		snprintf(hint, sizeof(hint),
			 "[0x%llx, 0x%llx) is not all in one pool, block or "
			 "segment this member may use; 'shmext ipcs' lists "
			 "them.",
			 (unsigned long long)addr, (unsigned long long)end);
	return report(cli, err, NULL, hint);
}

int cli_usage(const struct cli *cli, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fflush(stdout);
	if (cli && cli->cmd)
		fprintf(stderr, "shmext: %s: %s", cli->cmd, msg);
	else
		fprintf(stderr, "shmext: %s", msg);
	fputs("\nTry 'shmext --help' for more information.\n", stderr);
	/* A script that asked for JSON gets the error as JSON too. */
	if (cli && cli->json)
		json_error(cli, -EINVAL, "usage", msg);
	return CLI_USAGE;
}

int cli_u64(const struct cli *cli, const char *what, const char *s,
	    uint64_t *out)
{
	int ret = shmx__parse_u64(s, out);

	if (ret == -ERANGE)
		return cli_usage(cli, "%s: '%s' does not fit in 64 bits", what,
				 s);
	if (ret)
		return cli_usage(cli,
				 "%s: '%s' is not a number (decimal or "
				 "0x-hex)",
				 what, s);
	return 0;
}

int cli_i64(const struct cli *cli, const char *what, const char *s,
	    int64_t *out)
{
	uint64_t u;
	int ret;

	if (*s != '-') {
		ret = cli_u64(cli, what, s, &u);
		*out = (int64_t)u; /* 2^63 and up wrap, as an add of 64 bits */
		return ret;
	}
	ret = shmx__parse_i64(s, out);
	if (ret == -ERANGE)
		return cli_usage(cli, "%s: '%s' does not fit in 64 bits", what,
				 s);
	if (ret)
		return cli_usage(cli,
				 "%s: '%s' is not a number (decimal or "
				 "0x-hex, may be negative)",
				 what, s);
	return 0;
}

int cli_size(const struct cli *cli, const char *what, const char *s,
	     uint64_t *out)
{
	int ret;

	if (!shmx__parse_u64(s, out))
		return 0;
	ret = shmx__parse_size(s, out);
	if (ret == -ERANGE)
		return cli_usage(cli, "%s: '%s' does not fit in 64 bits", what,
				 s);
	if (ret)
		return cli_usage(cli,
				 "%s: '%s' is not a size (decimal or "
				 "0x-hex, or with K, M, G or T)",
				 what, s);
	return 0;
}

int cli_name(const struct cli *cli, const char *kind, const char *what,
	     const char *s)
{
	char shown[SHMX_NAME_MAX * 4];

	if (shmx__name_valid(s))
		return 0;
	return cli_usage(cli,
			 "%s: '%s' is not a %s name (1 to %d printable ASCII "
			 "characters)",
			 what, out_printable(s, shown, sizeof(shown)), kind,
			 SHMX_NAME_MAX - 1);
}

void *cli_grow(void *arr, size_t n, size_t size)
{
	if (n && (n < 16 || (n & (n - 1))))
		return arr;
	return realloc(arr, (n ? 2 * n : 16) * size);
}
