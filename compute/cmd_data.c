/* SPDX-License-Identifier: MIT */
/*
 * cmd_data.c - shmext read, write, cas and fadd: one-sided access to the
 * node's memory from the shell.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "output.h"

/* read streams the hex dump or raw bytes in pieces of this size. */
#define READ_CHUNK (1u << 20)
/* read --json holds everything in memory: at most this much. */
#define JSON_READ_MAX (64ull << 20)

/* The memory's extents in @e, or NULL when they cannot be had. */
static const struct cli_extents *extents(struct shmx_ctx *ctx,
					 struct cli_extents *e)
{
	return cli_extents_get(ctx, e) ? NULL : e;
}

/*
 * Bytes from @addr to the end of the extent that holds it; 0 when none
 * does.  No object spans two extents, so no access can go further.
 */
static uint64_t room_at(const struct cli_extents *e, uint64_t addr)
{
	const struct shmx_extent *x = cli_extent_of(e, addr);

	return x ? x->base + x->len - addr : 0;
}

int cmd_read(struct cli *cli, int argc, char **argv)
{
	const struct cli_extents *ext;
	struct cli_extents e;
	uint64_t addr, len, done;
	struct shmx_ctx *ctx;
	uint8_t *buf = NULL;
	size_t chunk;
	struct jw w;
	int ret, width;

	if (argc != 2)
		return cli_usage(cli, "expects ADDR LEN");
	if (cli_size(cli, "ADDR", argv[0], &addr) ||
	    cli_size(cli, "LEN", argv[1], &len))
		return CLI_USAGE;
	if (cli->raw && cli->json)
		return cli_usage(cli, "--raw and --json exclude each other");
	if (cli->json && len > JSON_READ_MAX)
		return cli_usage(cli, "--json reads at most 64 MiB; use --raw "
				      "for more");
	ctx = cli_open(cli);
	if (!ctx)
		return CLI_FAIL;
	ext = extents(ctx, &e);
	if (len && ext && len > room_at(ext, addr)) {
		ret = -EFAULT;
		goto out_fail;
	}
	chunk = cli->json ? (size_t)len : (len < READ_CHUNK ? len : READ_CHUNK);
	buf = malloc(chunk ? chunk : 1);
	if (!buf) {
		ret = -ENOMEM;
		goto out_fail;
	}
	if (cli->json) {
		ret = shmx_read(ctx, addr, buf, len);
		if (ret)
			goto out_fail;
		jw_init(&w, stdout);
		jw_obj(&w, NULL);
		jw_u64(&w, "addr", addr);
		jw_u64(&w, "len", len);
		jw_hex(&w, "hex", buf, len);
		jw_obj_end(&w);
		goto out;
	}
	width = out_hex_width(len ? addr + len - 1 : addr);
	width = width < 8 ? 8 : width;
	for (done = 0; done < len; done += chunk) {
		if (len - done < chunk)
			chunk = len - done;
		ret = shmx_read(ctx, addr + done, buf, chunk);
		if (ret)
			goto out_fail;
		if (cli->raw)
			fwrite(buf, 1, chunk, stdout);
		else
			out_hexdump(stdout, addr + done, buf, chunk, width);
	}
out:
	shmx_close(ctx);
	free(buf);
	return CLI_OK;

out_fail:
	shmx_close(ctx);
	free(buf);
	return cli_fail_at(cli, ret, addr, len, ext);
}

/* Hex digits to bytes, whitespace and a leading "0x" ignored. */
struct unhex {
	int started;
	int half; /* a high nibble is pending */
	uint8_t hi;
};

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Decode @n characters into @out (room for @n / 2 + 1 bytes); returns the
 * number of bytes, or -1 on a character that is not a hex digit.
 */
static ssize_t unhex_feed(struct unhex *u, const char *s, size_t n,
			  uint8_t *out)
{
	ssize_t o = 0;

	for (size_t i = 0; i < n; i++) {
		int v;

		if (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')
			continue;
		if (!u->started && !u->half && s[i] == '0' && i + 1 < n &&
		    (s[i + 1] == 'x' || s[i + 1] == 'X')) {
			u->started = 1;
			i++;
			continue;
		}
		u->started = 1;
		v = hexval((unsigned char)s[i]);
		if (v < 0)
			return -1;
		if (u->half)
			out[o++] = (uint8_t)(u->hi << 4 | v);
		else
			u->hi = (uint8_t)v;
		u->half = !u->half;
	}
	return o;
}

/*
 * Read stdin (hex digits with --hex) into a malloc'ed buffer, but never
 * more than @room bytes of data: -EFBIG when there is more.
 */
int cli_slurp_stdin(const struct cli *cli, int hex, uint64_t room,
		    uint8_t **out, size_t *len)
{
	size_t cap = 0, n = 0;
	uint8_t *buf = NULL, *grown;
	struct unhex u = { 0 };
	char in[65536];
	ssize_t got, k;

	if (isatty(STDIN_FILENO))
		fprintf(stderr,
			"shmext: %s: reading the data from the terminal; end "
			"it with Ctrl-D\n",
			cli->cmd);
	for (;;) {
		size_t want = sizeof(in);

		/* Raw data: never read past the first byte too many. */
		if (!hex && room - n + 1 < want)
			want = (size_t)(room - n + 1);
		got = read(STDIN_FILENO, in, want);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		if (cap - n < (size_t)got) {
			cap = cap ? cap * 2 : 65536;
			while (cap - n < (size_t)got)
				cap *= 2;
			grown = realloc(buf, cap);
			if (!grown) {
				free(buf);
				return -ENOMEM;
			}
			buf = grown;
		}
		if (hex) {
			k = unhex_feed(&u, in, (size_t)got, buf + n);
			if (k < 0) {
				free(buf);
				return -EILSEQ;
			}
		} else {
			memcpy(buf + n, in, (size_t)got);
			k = got;
		}
		n += (size_t)k;
		if (n > room) {
			free(buf);
			return -EFBIG;
		}
	}
	if (got < 0 || (hex && u.half)) {
		free(buf);
		return got < 0 ? -errno : -EILSEQ;
	}
	*out = buf;
	*len = n;
	return 0;
}

int cli_unhex_arg(const struct cli *cli, const char *s, uint8_t **out,
		  size_t *len)
{
	struct unhex u = { 0 };
	uint8_t *data = malloc(strlen(s) / 2 + 1);
	ssize_t k;

	if (!data)
		return cli_fail(cli, -ENOMEM, NULL);
	k = unhex_feed(&u, s, strlen(s), data);
	if (k < 0 || u.half) {
		free(data);
		return cli_usage(cli, "DATA: '%s' is not pairs of hex digits",
				 s);
	}
	*out = data;
	*len = (size_t)k;
	return 0;
}

int cmd_write(struct cli *cli, int argc, char **argv)
{
	uint64_t addr, room;
	struct cli_extents e;
	struct shmx_ctx *ctx;
	uint8_t *data = NULL;
	char msg[256];
	int from_stdin, ret;
	size_t len = 0;
	struct jw w;

	if (argc < 1 || argc > 2)
		return cli_usage(cli, "expects ADDR [DATA|-]");
	if (cli_size(cli, "ADDR", argv[0], &addr))
		return CLI_USAGE;
	from_stdin = argc == 1 || !strcmp(argv[1], "-");
	if (!from_stdin && cli->hex) {
		ret = cli_unhex_arg(cli, argv[1], &data, &len);
		if (ret)
			return ret;
	} else if (!from_stdin) {
		len = strlen(argv[1]);
	}

	ctx = cli_open(cli);
	if (!ctx) {
		free(data);
		return CLI_FAIL;
	}
	ret = cli_extents_get(ctx, &e);
	if (ret) {
		ret = cli_fail(cli, ret, "cannot learn the memory's extents");
		goto out;
	}
	room = room_at(&e, addr);
	if (!room) {
		ret = cli_fail_at(cli, -EFAULT, addr, 1, &e);
		goto out;
	}
	if (from_stdin) {
		ret = cli_slurp_stdin(cli, cli->hex, room, &data, &len);
		if (ret == -EFBIG) {
			snprintf(msg, sizeof(msg),
				 "stdin holds more than the %llu bytes from "
				 "0x%llx to the end of its extent at 0x%llx; "
				 "nothing was written",
				 (unsigned long long)room,
				 (unsigned long long)addr,
				 (unsigned long long)(addr + room));
			ret = cli_fail_msg(cli, ret, msg);
			goto out;
		}
		if (ret == -EILSEQ) {
			ret = cli_fail_msg(cli, -EINVAL,
					   "stdin is not pairs of hex digits "
					   "(--hex; whitespace is ignored)");
			goto out;
		}
		if (ret) {
			ret = cli_fail(cli, ret, "stdin");
			goto out;
		}
	}
	if (len > room) {
		ret = cli_fail_at(cli, -EFAULT, addr, len, &e);
		goto out;
	}
	ret = shmx_write(ctx, addr, data ? (const void *)data : argv[1], len);
	if (ret) {
		ret = cli_fail_at(cli, ret, addr, len, &e);
		goto out;
	}
	if (cli->json) {
		jw_init(&w, stdout);
		jw_obj(&w, NULL);
		jw_u64(&w, "addr", addr);
		jw_u64(&w, "len", len);
		jw_obj_end(&w);
	} else {
		printf("wrote %zu bytes at 0x%llx\n", len,
		       (unsigned long long)addr);
	}
	ret = CLI_OK;
out:
	shmx_close(ctx);
	free(data);
	return ret;
}

/* ADDR of cas and fadd: a number or size, 8-byte aligned. */
static int word_addr(const struct cli *cli, const char *s, uint64_t *addr)
{
	if (cli_size(cli, "ADDR", s, addr))
		return CLI_USAGE;
	if (*addr % 8)
		return cli_usage(cli,
				 "ADDR: 0x%llx is not 8-byte aligned "
				 "(atomics work on aligned 64-bit words)",
				 (unsigned long long)*addr);
	return 0;
}

int cmd_cas(struct cli *cli, int argc, char **argv)
{
	uint64_t addr, expected, desired, old = 0;
	struct cli_extents e;
	struct shmx_ctx *ctx;
	struct jw w;
	int ret, swapped;

	if (argc != 3)
		return cli_usage(cli, "expects ADDR OLD NEW");
	if (word_addr(cli, argv[0], &addr) ||
	    cli_u64(cli, "OLD", argv[1], &expected) ||
	    cli_u64(cli, "NEW", argv[2], &desired))
		return CLI_USAGE;
	ctx = cli_open(cli);
	if (!ctx)
		return CLI_FAIL;
	ret = shmx_cas64(ctx, addr, expected, desired, &old);
	if (ret) {
		ret = cli_fail_at(cli, ret, addr, 8,
				  ret == -EFAULT ? extents(ctx, &e) : NULL);
		shmx_close(ctx);
		return ret;
	}
	shmx_close(ctx);
	swapped = old == expected;
	if (cli->json) {
		jw_init(&w, stdout);
		jw_obj(&w, NULL);
		jw_u64(&w, "addr", addr);
		jw_u64(&w, "expected", expected);
		jw_u64(&w, "desired", desired);
		jw_u64(&w, "old", old);
		jw_bool(&w, "swapped", swapped);
		jw_obj_end(&w);
	} else if (swapped) {
		printf("old value %llu (0x%llx): swapped, now %llu (0x%llx)\n",
		       (unsigned long long)old, (unsigned long long)old,
		       (unsigned long long)desired,
		       (unsigned long long)desired);
	} else {
		printf("old value %llu (0x%llx): not swapped (expected %llu)\n",
		       (unsigned long long)old, (unsigned long long)old,
		       (unsigned long long)expected);
	}
	return !swapped && cli->expect_swap ? CLI_NOSWAP : CLI_OK;
}

int cmd_fadd(struct cli *cli, int argc, char **argv)
{
	uint64_t addr, old = 0, now;
	struct cli_extents e;
	struct shmx_ctx *ctx;
	struct jw w;
	int64_t add;
	int ret;

	if (argc != 2)
		return cli_usage(cli, "expects ADDR N");
	if (word_addr(cli, argv[0], &addr) || cli_i64(cli, "N", argv[1], &add))
		return CLI_USAGE;
	ctx = cli_open(cli);
	if (!ctx)
		return CLI_FAIL;
	ret = shmx_fadd64(ctx, addr, (uint64_t)add, &old);
	if (ret) {
		ret = cli_fail_at(cli, ret, addr, 8,
				  ret == -EFAULT ? extents(ctx, &e) : NULL);
		shmx_close(ctx);
		return ret;
	}
	shmx_close(ctx);
	now = old + (uint64_t)add;
	if (cli->json) {
		jw_init(&w, stdout);
		jw_obj(&w, NULL);
		jw_u64(&w, "addr", addr);
		if (argv[1][0] == '-')
			jw_i64(&w, "add", add);
		else
			jw_u64(&w, "add", (uint64_t)add);
		jw_u64(&w, "old", old);
		jw_u64(&w, "new", now);
		jw_obj_end(&w);
	} else {
		printf("old value %llu (0x%llx), new value %llu (0x%llx)\n",
		       (unsigned long long)old, (unsigned long long)old,
		       (unsigned long long)now, (unsigned long long)now);
	}
	return CLI_OK;
}
