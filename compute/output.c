/* SPDX-License-Identifier: MIT */
/* output.c - errors, number parsing and printing for the shmext command. */
#include <stdarg.h>
#include <string.h>

#include "cli.h"
#include "util/parse.h"

struct shmx_ctx *cli_open(struct cli *cli)
{
	struct shmx_ctx *ctx;
	int ret = shmx_open(&cli->attr, &ctx);

	if (ret) {
		cli_fail(cli, "cannot join the memory node", ret);
		return NULL;
	}
	return ctx;
}

int cli_fail(const struct cli *cli, const char *what, int err)
{
	fprintf(stderr, "shmext: %s: %s: %s\n", cli->cmd, what,
		shmx_strerror(err));
	return CLI_FAIL;
}

int cli_usage(const struct cli *cli, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "shmext: %s: ", cli->cmd ? cli->cmd : "usage");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'shmext --help'.\n");
	return CLI_USAGE;
}

int cli_u64(const struct cli *cli, const char *what, const char *s,
	    uint64_t *out)
{
	if (shmx__parse_u64(s, out))
		return cli_usage(cli, "%s: '%s' is not a number", what, s);
	return 0;
}

int cli_size(const struct cli *cli, const char *what, const char *s,
	     uint64_t *out)
{
	if (shmx__parse_u64(s, out) && shmx__parse_size(s, out))
		return cli_usage(cli, "%s: '%s' is not a size", what, s);
	return 0;
}

void out_json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

void out_hexdump(FILE *f, uint64_t base, const uint8_t *p, size_t n)
{
	for (size_t off = 0; off < n; off += 16) {
		size_t k = n - off < 16 ? n - off : 16;

		fprintf(f, "%012llx ", (unsigned long long)(base + off));
		for (size_t i = 0; i < 16; i++) {
			if (i == 8)
				fputc(' ', f);
			if (i < k)
				fprintf(f, " %02x", p[off + i]);
			else
				fputs("   ", f);
		}
		fputs("  |", f);
		for (size_t i = 0; i < k; i++)
			fputc(p[off + i] >= 0x20 && p[off + i] < 0x7f
				      ? p[off + i]
				      : '.',
			      f);
		fputs("|\n", f);
	}
}

const char *out_bytes(uint64_t n, char *buf, size_t len)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	int u = 0;
	double v = (double)n;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	if (v == (double)(uint64_t)v)
		snprintf(buf, len, "%llu %s", (unsigned long long)v, unit[u]);
	else
		snprintf(buf, len, "%.1f %s", v, unit[u]);
	return buf;
}
