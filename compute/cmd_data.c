/* SPDX-License-Identifier: MIT */
/* cmd_data.c - shmext read, write, cas and fadd. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "opts.h"

/* Largest read or write the command buffers in memory. */
#define CLI_MAX_DATA (1ull << 30)

int cmd_read(struct cli *cli, int argc, char **argv)
{
	struct shmx_ctx *ctx;
	uint64_t addr, len;
	uint8_t *buf;
	int ret;

	if (argc != 2)
		return cli_usage(cli, "expects ADDR LEN");
	if (cli_u64(cli, "ADDR", argv[0], &addr) ||
	    cli_size(cli, "LEN", argv[1], &len))
		return CLI_USAGE;
	if (len > CLI_MAX_DATA)
		return cli_usage(cli, "LEN: at most 1 GiB at a time");
	buf = malloc(len ? len : 1);
	if (!buf)
		return cli_fail(cli, "buffer", -ENOMEM);
	ctx = cli_open(cli);
	if (!ctx) {
		free(buf);
		return CLI_FAIL;
	}
	ret = shmx_read(ctx, addr, buf, len);
	shmx_close(ctx);
	if (ret) {
		free(buf);
		return cli_fail(cli, "read", ret);
	}
	if (opts.raw) {
		fwrite(buf, 1, len, stdout);
	} else if (cli->json) {
		printf("{\"addr\":%llu,\"len\":%llu,\"hex\":\"",
		       (unsigned long long)addr, (unsigned long long)len);
		for (uint64_t i = 0; i < len; i++)
			printf("%02x", buf[i]);
		printf("\"}\n");
	} else {
		out_hexdump(stdout, addr, buf, len);
	}
	free(buf);
	return CLI_OK;
}

/* Read all of stdin into a malloc'ed buffer, at most @max bytes. */
static int slurp_stdin(uint8_t **out, size_t *len, size_t max)
{
	size_t cap = 65536, n = 0;
	uint8_t *buf = malloc(cap), *grown;
	ssize_t got;

	if (!buf)
		return -ENOMEM;
	while ((got = read(STDIN_FILENO, buf + n, cap - n)) > 0) {
		n += (size_t)got;
		if (n > max) {
			free(buf);
			return -EFBIG;
		}
		if (n == cap) {
			cap *= 2;
			grown = realloc(buf, cap);
			if (!grown) {
				free(buf);
				return -ENOMEM;
			}
			buf = grown;
		}
	}
	if (got < 0) {
		free(buf);
		return -errno;
	}
	*out = buf;
	*len = n;
	return 0;
}

static int unhex(const char *s, uint8_t **out, size_t *len)
{
	size_t n = strlen(s);
	uint8_t *buf;

	if (n % 2)
		return -EINVAL;
	buf = malloc(n / 2 + 1);
	if (!buf)
		return -ENOMEM;
	for (size_t i = 0; i < n / 2; i++) {
		char pair[3] = { s[2 * i], s[2 * i + 1], 0 };

		if (!isxdigit((unsigned char)pair[0]) ||
		    !isxdigit((unsigned char)pair[1])) {
			free(buf);
			return -EINVAL;
		}
		buf[i] = (uint8_t)strtoul(pair, NULL, 16);
	}
	*out = buf;
	*len = n / 2;
	return 0;
}

int cmd_write(struct cli *cli, int argc, char **argv)
{
	struct shmx_info info;
	struct shmx_ctx *ctx;
	uint8_t *data = NULL;
	size_t len = 0;
	uint64_t addr;
	int ret;

	if (argc < 1 || argc > 2)
		return cli_usage(cli, "expects ADDR [DATA|-]");
	if (cli_u64(cli, "ADDR", argv[0], &addr))
		return CLI_USAGE;
	if (argc == 1 || !strcmp(argv[1], "-")) {
		ret = slurp_stdin(&data, &len, CLI_MAX_DATA);
		if (ret == -EFBIG)
			return cli_usage(cli, "stdin: more than 1 GiB");
		if (ret)
			return cli_fail(cli, "stdin", ret);
	} else if (opts.hex) {
		if (unhex(argv[1], &data, &len))
			return cli_usage(cli,
					 "DATA: '%s' is not hex digits "
					 "in pairs",
					 argv[1]);
	} else {
		len = strlen(argv[1]);
		data = (uint8_t *)strdup(argv[1]);
		if (!data)
			return cli_fail(cli, "buffer", -ENOMEM);
	}
	ctx = cli_open(cli);
	if (!ctx) {
		free(data);
		return CLI_FAIL;
	}
	ret = shmx_info(ctx, &info);
	if (!ret &&
	    (addr >= info.region_size || len > info.region_size - addr)) {
		fprintf(stderr,
			"shmext: write: %zu bytes at 0x%llx do not fit in the "
			"region of %llu bytes\n",
			len, (unsigned long long)addr,
			(unsigned long long)info.region_size);
		ret = -EFAULT;
	} else if (!ret) {
		ret = shmx_write(ctx, addr, data, len);
	}
	shmx_close(ctx);
	free(data);
	if (ret)
		return cli_fail(cli, "write", ret);
	if (cli->json)
		printf("{\"addr\":%llu,\"len\":%zu}\n",
		       (unsigned long long)addr, len);
	else
		printf("wrote %zu bytes at 0x%llx\n", len,
		       (unsigned long long)addr);
	return CLI_OK;
}

int cmd_cas(struct cli *cli, int argc, char **argv)
{
	uint64_t addr, expected, desired, old = 0;
	struct shmx_ctx *ctx;
	int ret, swapped;

	if (argc != 3)
		return cli_usage(cli, "expects ADDR OLD NEW");
	if (cli_u64(cli, "ADDR", argv[0], &addr) ||
	    cli_u64(cli, "OLD", argv[1], &expected) ||
	    cli_u64(cli, "NEW", argv[2], &desired))
		return CLI_USAGE;
	ctx = cli_open(cli);
	if (!ctx)
		return CLI_FAIL;
	ret = shmx_cas64(ctx, addr, expected, desired, &old);
	shmx_close(ctx);
	if (ret)
		return cli_fail(cli, "compare-and-swap", ret);
	swapped = old == expected;
	if (cli->json)
		printf("{\"addr\":%llu,\"old\":%llu,\"swapped\":%s}\n",
		       (unsigned long long)addr, (unsigned long long)old,
		       swapped ? "true" : "false");
	else
		printf("old value %llu (0x%llx): %s\n", (unsigned long long)old,
		       (unsigned long long)old,
		       swapped ? "swapped" : "not swapped");
	return !swapped && opts.expect_swap ? 3 : CLI_OK;
}

int cmd_fadd(struct cli *cli, int argc, char **argv)
{
	uint64_t addr, add, old = 0;
	struct shmx_ctx *ctx;
	int ret;

	if (argc != 2)
		return cli_usage(cli, "expects ADDR N");
	if (cli_u64(cli, "ADDR", argv[0], &addr) ||
	    cli_u64(cli, "N", argv[1], &add))
		return CLI_USAGE;
	ctx = cli_open(cli);
	if (!ctx)
		return CLI_FAIL;
	ret = shmx_fadd64(ctx, addr, add, &old);
	shmx_close(ctx);
	if (ret)
		return cli_fail(cli, "fetch-and-add", ret);
	if (cli->json)
		printf("{\"addr\":%llu,\"old\":%llu,\"new\":%llu}\n",
		       (unsigned long long)addr, (unsigned long long)old,
		       (unsigned long long)(old + add));
	else
		printf("old value %llu, new value %llu\n",
		       (unsigned long long)old,
		       (unsigned long long)(old + add));
	return CLI_OK;
}
