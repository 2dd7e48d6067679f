/* SPDX-License-Identifier: MIT */
/*
 * cli.h - what the shmext command's subcommands share: parsed global
 * options, the connection, and output helpers for people and for --json.
 */
#ifndef SHMX_CLI_H
#define SHMX_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "shmext/shmext.h"

/* Exit statuses. */
#define CLI_OK 0
#define CLI_FAIL 1  /* runtime error */
#define CLI_USAGE 2 /* bad command line */

struct cli {
	struct shmx_open_attr attr;
	int json;
	const char *cmd; /* subcommand name, for messages */
};

/* Connect with the global options; prints the error and returns NULL. */
struct shmx_ctx *cli_open(struct cli *cli);
/* Print "shmext: CMD: WHAT: error text" to stderr; returns CLI_FAIL. */
int cli_fail(const struct cli *cli, const char *what, int err);
/* Print a usage error and the hint; returns CLI_USAGE. */
int cli_usage(const struct cli *cli, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Parse a number (decimal or 0x-hex) or a size (K/M/G); 0 or CLI_USAGE. */
int cli_u64(const struct cli *cli, const char *what, const char *s,
	    uint64_t *out);
int cli_size(const struct cli *cli, const char *what, const char *s,
	     uint64_t *out);

/* Output helpers. */
void out_json_str(FILE *f, const char *s);
void out_hexdump(FILE *f, uint64_t base, const uint8_t *p, size_t n);
/* "256 MiB" style. */
const char *out_bytes(uint64_t n, char *buf, size_t len);

/* Subcommands: argc/argv start at the subcommand's own arguments. */
int cmd_info(struct cli *cli, int argc, char **argv);
int cmd_members(struct cli *cli, int argc, char **argv);
int cmd_read(struct cli *cli, int argc, char **argv);
int cmd_write(struct cli *cli, int argc, char **argv);
int cmd_cas(struct cli *cli, int argc, char **argv);
int cmd_fadd(struct cli *cli, int argc, char **argv);
int cmd_demo(struct cli *cli, int argc, char **argv);
int cmd_bench(struct cli *cli, int argc, char **argv);

#endif /* SHMX_CLI_H */
