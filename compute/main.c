/* SPDX-License-Identifier: MIT */
/*
 * main.c - the shmext command: options, the subcommand table and usage.
 * Options may stand before or after the subcommand.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "opts.h"
#include "util/parse.h"

struct cli_opts opts = { .workers = 4, .rounds = 1000, .iters = 10000 };

static const struct {
	const char *name;
	int (*fn)(struct cli *cli, int argc, char **argv);
	const char *args;
	const char *help;
} commands[] = {
	{ "info", cmd_info, "", "the node, the connection and the members" },
	{ "members", cmd_members, "", "the live members" },
	{ "read", cmd_read, "ADDR LEN",
	  "hex dump of shared memory (--raw: bytes)" },
	{ "write", cmd_write, "ADDR [DATA|-]",
	  "write DATA (--hex: hex digits), or stdin" },
	{ "cas", cmd_cas, "ADDR OLD NEW", "compare-and-swap a 64-bit word" },
	{ "fadd", cmd_fadd, "ADDR N", "fetch-and-add to a 64-bit word" },
	{ "demo", cmd_demo, "",
	  "several processes share memory (--workers, --rounds)" },
	{ "bench", cmd_bench, "", "latency and bandwidth (--iters)" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: shmext [OPTION]... COMMAND [ARG]...\n"
		   "Use a memory node's shared memory (shmnode) from the "
		   "shell.\n\n"
		   "Commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-8s %-14s %s\n", commands[i].name,
			commands[i].args, commands[i].help);
	fprintf(f,
		"\nOptions:\n"
		"  -n, --node HOST:PORT  memory node (env SHMEXT_NODE, default "
		"%s)\n"
		"      --name NAME       member name (env SHMEXT_NAME)\n"
		"  -p, --provider PROV   libfabric provider (env "
		"SHMEXT_PROVIDER)\n"
		"  -k, --key-file PATH   shared key (env SHMEXT_KEY_FILE)\n"
		"  -t, --timeout MS      timeout of blocking calls (default "
		"%d)\n"
		"  -j, --json            one JSON object on stdout\n"
		"      --raw             read: write the bytes to stdout\n"
		"      --hex             write: DATA is hex digits\n"
		"      --expect-swap     cas: exit 3 when the swap did not "
		"happen\n"
		"      --workers N       demo: processes (default 4)\n"
		"      --rounds N        demo: fetch-adds per process (default "
		"1000)\n"
		"      --iters N         bench: iterations per figure (default "
		"10000)\n"
		"  -h, --help            this text\n"
		"  -V, --version         print the version\n"
		"\nADDR, LEN and numbers: decimal or 0x-hex; LEN also takes K, "
		"M, G.\n"
		"Exit status: 0 ok, 1 failure, 2 bad command line.\n",
		SHMX_DEFAULT_NODE, SHMX_DEFAULT_TIMEOUT_MS);
}

enum {
	OPT_NAME = 256,
	OPT_RAW,
	OPT_HEX,
	OPT_EXPECT,
	OPT_WORKERS,
	OPT_ROUNDS,
	OPT_ITERS
};

static const struct option long_opts[] = {
	{ "node", required_argument, NULL, 'n' },
	{ "name", required_argument, NULL, OPT_NAME },
	{ "provider", required_argument, NULL, 'p' },
	{ "key-file", required_argument, NULL, 'k' },
	{ "timeout", required_argument, NULL, 't' },
	{ "json", no_argument, NULL, 'j' },
	{ "raw", no_argument, NULL, OPT_RAW },
	{ "hex", no_argument, NULL, OPT_HEX },
	{ "expect-swap", no_argument, NULL, OPT_EXPECT },
	{ "workers", required_argument, NULL, OPT_WORKERS },
	{ "rounds", required_argument, NULL, OPT_ROUNDS },
	{ "iters", required_argument, NULL, OPT_ITERS },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

/* A whole number from @lo to @hi for option @name. */
static int opt_num(struct cli *cli, const char *name, const char *s,
		   uint64_t lo, uint64_t hi, uint64_t *out)
{
	if (shmx__parse_u64(s, out) || *out < lo || *out > hi)
		return cli_usage(cli,
				 "--%s: '%s' is not a number from %llu to "
				 "%llu",
				 name, s, (unsigned long long)lo,
				 (unsigned long long)hi);
	return 0;
}

int main(int argc, char **argv)
{
	struct cli cli = { .cmd = NULL };
	uint64_t v;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "n:p:k:t:jhV", long_opts, NULL)) !=
	       -1) {
		switch (c) {
		case 'n':
			cli.attr.comp_mask |= SHMX_OPEN_ATTR_NODE;
			cli.attr.node = optarg;
			break;
		case OPT_NAME:
			cli.attr.comp_mask |= SHMX_OPEN_ATTR_NAME;
			cli.attr.name = optarg;
			break;
		case 'p':
			cli.attr.comp_mask |= SHMX_OPEN_ATTR_PROVIDER;
			cli.attr.provider = optarg;
			break;
		case 'k':
			cli.attr.comp_mask |= SHMX_OPEN_ATTR_KEY_FILE;
			cli.attr.key_file = optarg;
			break;
		case 't':
			if (opt_num(&cli, "timeout", optarg, 1, 3600000, &v))
				return CLI_USAGE;
			cli.attr.comp_mask |= SHMX_OPEN_ATTR_TIMEOUT;
			cli.attr.timeout_ms = (int)v;
			break;
		case 'j':
			cli.json = 1;
			break;
		case OPT_RAW:
			opts.raw = 1;
			break;
		case OPT_HEX:
			opts.hex = 1;
			break;
		case OPT_EXPECT:
			opts.expect_swap = 1;
			break;
		case OPT_WORKERS:
			if (opt_num(&cli, "workers", optarg, 1, 64, &v))
				return CLI_USAGE;
			opts.workers = (int)v;
			break;
		case OPT_ROUNDS:
			if (opt_num(&cli, "rounds", optarg, 1, 100000000, &v))
				return CLI_USAGE;
			opts.rounds = v;
			break;
		case OPT_ITERS:
			if (opt_num(&cli, "iters", optarg, 10, 100000000, &v))
				return CLI_USAGE;
			opts.iters = v;
			break;
		case 'h':
			usage(stdout);
			return CLI_OK;
		case 'V':
			printf("shmext %d.%d.%d\n", SHMX_VERSION_MAJOR,
			       SHMX_VERSION_MINOR, SHMX_VERSION_PATCH);
			return CLI_OK;
		default:
			return cli_usage(&cli,
					 "unknown option or missing "
					 "argument: '%s'",
					 argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return cli_usage(&cli, "no command given");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (!strcmp(argv[optind], commands[i].name)) {
			cli.cmd = commands[i].name;
			return commands[i].fn(&cli, argc - optind - 1,
					      argv + optind + 1);
		}
	}
	return cli_usage(&cli, "unknown command '%s'", argv[optind]);
}
