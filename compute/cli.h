/* SPDX-License-Identifier: MIT */
/*
 * cli.h - what the shmext command's subcommands share: the parsed command
 * line, the connection, error reporting with exit statuses, and the
 * argument parsers.  Output helpers are in output.h.
 */
#ifndef SHMX_CLI_H
#define SHMX_CLI_H

#include <stddef.h>
#include <stdint.h>

#include "shmext/shmext.h"

/* Exit statuses. */
#define CLI_OK 0
#define CLI_FAIL 1   /* runtime error */
#define CLI_USAGE 2  /* bad command line */
#define CLI_NOSWAP 3 /* cas --expect-swap: the word did not match */

/* Subcommand options, as bits of struct cli's given. */
enum cli_flag {
	CLI_F_RAW = 1u << 0,
	CLI_F_HEX = 1u << 1,
	CLI_F_EXPECT_SWAP = 1u << 2,
	CLI_F_WORKERS = 1u << 3,
	CLI_F_ROUNDS = 1u << 4,
	CLI_F_ITERS = 1u << 5,
	CLI_F_MODE = 1u << 6,
	CLI_F_BLOCKS = 1u << 7,
	CLI_F_SHARED = 1u << 8,
	CLI_F_HOLD = 1u << 9,
	CLI_F_LEASE = 1u << 10,
	CLI_F_DURATION = 1u << 11,
	CLI_F_REDIS = 1u << 12,
	CLI_F_ALL = 1u << 13,
	CLI_F_COUNT = 1u << 14,
	CLI_F_PEER = 1u << 15,
};

struct cli {
	struct shmx_open_attr attr; /* from the global options */
	int json;		    /* --json */
	const char *cmd;	    /* subcommand name, for messages */
	unsigned given;		    /* enum cli_flag bits given */
	int raw;		    /* read --raw */
	int hex;		    /* write --hex */
	int expect_swap;	    /* cas --expect-swap */
	unsigned workers;	    /* demo --workers */
	uint64_t rounds;	    /* demo --rounds */
	uint64_t iters;		    /* bench --iters */
	unsigned mode;		    /* seg create --mode */
	int blocks;		    /* ipcs --blocks */
	int shared;		    /* lock --shared */
	uint64_t hold_ms;	    /* lock --hold */
	uint32_t lease_ms;	    /* lock --lease */
	uint64_t duration_ms;	    /* bench --duration */
	const char *redis;	    /* bench --redis HOST:PORT */
	int all;		    /* signal, send --all */
	uint64_t count;		    /* wait, recv --count */
	const char *peer;	    /* bench --peer NODE */
};

/*
 * Connect with the global options.  On failure prints the error and a hint
 * and returns NULL; the caller returns CLI_FAIL.
 */
struct shmx_ctx *cli_open(struct cli *cli);
/* The node address a connection would use, for messages. */
const char *cli_node(const struct cli *cli);

/*
 * The memory's extents as this connection knows them (cmd_memory.c), for
 * extents, info, ipcs and the address checks of read and write.
 */
#define CLI_EXTENTS_MAX 128 /* the most a node keeps */
struct cli_extents {
	struct shmx_extent ext[CLI_EXTENTS_MAX];
	size_t n;	     /* extents in ext */
	uint64_t generation; /* the map's */
	uint64_t total;	     /* bytes in all extents */
};
struct jw;
/* Fill @e from shmx_extents; returns 0 or its error. */
int cli_extents_get(struct shmx_ctx *ctx, struct cli_extents *e);
/* The extent that holds @addr, or NULL. */
const struct shmx_extent *cli_extent_of(const struct cli_extents *e,
					uint64_t addr);
/* "Extents: N, TOTAL in all, generation G" and the table, on stdout. */
void cli_extents_print(const struct cli_extents *e);
/* Members "generation", "total", "count" and the array "extents" of the
 * object @w is in. */
void cli_extents_json(struct jw *w, const struct cli_extents *e);

/*
 * Report a runtime error: "shmext: CMD: [WHAT: ]shmx_strerror(err)", a hint
 * when one helps, and with --json an {"error":...} object on stdout.
 * @what may be NULL.  Returns CLI_FAIL.
 */
int cli_fail(const struct cli *cli, int err, const char *what);
/* A runtime error in words of the caller's: "shmext: CMD: MSG". */
int cli_fail_msg(const struct cli *cli, int err, const char *msg);
/* cli_fail with a hint of the caller's (may be NULL). */
int cli_fail_hint(const struct cli *cli, int err, const char *what,
		  const char *hint);
/*
 * cli_fail for an access to [@addr, @addr + @len): for -EFAULT the hint
 * says where the range lies against the memory's extents @e (NULL when
 * unknown: no hint).
 */
int cli_fail_at(const struct cli *cli, int err, uint64_t addr, uint64_t len,
		const struct cli_extents *e);
/* Print a usage error and the hint to --help; returns CLI_USAGE. */
int cli_usage(const struct cli *cli, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Argument parsers; each returns 0 or prints a usage error naming @what
 * and returns CLI_USAGE.
 *  cli_u64:  decimal or 0x-hex
 *  cli_i64:  the same, optionally negative
 *  cli_size: decimal or 0x-hex, or with a K/M/G/T suffix (binary)
 */
int cli_u64(const struct cli *cli, const char *what, const char *s,
	    uint64_t *out);
int cli_i64(const struct cli *cli, const char *what, const char *s,
	    int64_t *out);
int cli_size(const struct cli *cli, const char *what, const char *s,
	     uint64_t *out);
/* @s as a @kind name ("pool", "segment"): 1 to SHMX_NAME_MAX - 1
 * printable ASCII characters; else the usage error, for operand @what. */
int cli_name(const struct cli *cli, const char *kind, const char *what,
	     const char *s);

/*
 * All live members in a malloc'ed array (cmd_info.c): *@count of them.
 * Returns 0 or the error of shmx_members (-ENOMEM too).
 */
int cli_members(struct shmx_ctx *ctx, struct shmx_member **out, size_t *count);
/*
 * @arr with room for element @n (of @size bytes): the capacity is 16, then
 * doubles, so it is full at 0 and at each power of two from 16.  NULL when
 * out of memory (@arr stays the caller's).
 */
void *cli_grow(void *arr, size_t n, size_t size);

/*
 * The node ids of the @argc NODE operands in @argv (an id, or the name of
 * a live member) into @ids; a name no member has, or one member named
 * twice, is reported (cmd_pool.c).  0 or CLI_FAIL.
 */
int cli_resolve_nodes(const struct cli *cli, struct shmx_ctx *ctx, int argc,
		      char **argv, shmx_node_t *ids);
/*
 * Read stdin (hex digits with @hex) into a malloc'ed buffer, but never
 * more than @room bytes of data (cmd_data.c).  0, -EFBIG when there is
 * more, -EILSEQ (not hex), -ENOMEM or -errno.
 */
int cli_slurp_stdin(const struct cli *cli, int hex, uint64_t room,
		    uint8_t **out, size_t *len);

/* The bytes of the hex digits @s in a malloc'ed buffer (cmd_data.c).
 * 0, or the usage error (CLI_USAGE) or CLI_FAIL, reported. */
int cli_unhex_arg(const struct cli *cli, const char *s, uint8_t **out,
		  size_t *len);

/* Subcommands: argc/argv are the subcommand's own operands. */
int cmd_info(struct cli *cli, int argc, char **argv);
int cmd_members(struct cli *cli, int argc, char **argv);
int cmd_stats(struct cli *cli, int argc, char **argv);
int cmd_read(struct cli *cli, int argc, char **argv);
int cmd_write(struct cli *cli, int argc, char **argv);
int cmd_cas(struct cli *cli, int argc, char **argv);
int cmd_fadd(struct cli *cli, int argc, char **argv);
int cmd_demo(struct cli *cli, int argc, char **argv);
int cmd_bench(struct cli *cli, int argc, char **argv);
int cmd_pool_create(struct cli *cli, int argc, char **argv);
int cmd_pool_stat(struct cli *cli, int argc, char **argv);
int cmd_pool_destroy(struct cli *cli, int argc, char **argv);
int cmd_alloc(struct cli *cli, int argc, char **argv);
int cmd_release(struct cli *cli, int argc, char **argv);
int cmd_own(struct cli *cli, int argc, char **argv);
int cmd_transfer(struct cli *cli, int argc, char **argv);
int cmd_disown(struct cli *cli, int argc, char **argv);
int cmd_epoch(struct cli *cli, int argc, char **argv);
int cmd_seg_create(struct cli *cli, int argc, char **argv);
int cmd_seg_stat(struct cli *cli, int argc, char **argv);
int cmd_seg_rm(struct cli *cli, int argc, char **argv);
int cmd_seg_save(struct cli *cli, int argc, char **argv);
int cmd_seg_load(struct cli *cli, int argc, char **argv);
int cmd_ipcs(struct cli *cli, int argc, char **argv);
int cmd_extents(struct cli *cli, int argc, char **argv);
int cmd_grow(struct cli *cli, int argc, char **argv);
int cmd_shrink(struct cli *cli, int argc, char **argv);
int cmd_locks(struct cli *cli, int argc, char **argv);
int cmd_lock(struct cli *cli, int argc, char **argv);
int cmd_signal(struct cli *cli, int argc, char **argv);
int cmd_wait(struct cli *cli, int argc, char **argv);
int cmd_send(struct cli *cli, int argc, char **argv);
int cmd_recv(struct cli *cli, int argc, char **argv);
int cmd_echo(struct cli *cli, int argc, char **argv);

#endif /* SHMX_CLI_H */
