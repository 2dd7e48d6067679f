/* SPDX-License-Identifier: MIT */
/* opts.h - subcommand options of the shmext command (set by main.c). */
#ifndef SHMX_CLI_OPTS_H
#define SHMX_CLI_OPTS_H

#include <stdint.h>

struct cli_opts {
	int raw;	 /* read: raw bytes to stdout */
	int hex;	 /* write: DATA is hex */
	int expect_swap; /* cas: exit 3 when no swap */
	int workers;	 /* demo */
	uint64_t rounds; /* demo */
	uint64_t iters;	 /* bench */
};

extern struct cli_opts opts;

#endif /* SHMX_CLI_OPTS_H */
