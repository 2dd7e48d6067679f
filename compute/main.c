/* SPDX-License-Identifier: MIT */
/*
 * main.c - the shmext command: global and subcommand options, dispatch and
 * usage.  Options may stand before or after the subcommand; "--" ends them
 * (for DATA or N that starts with '-').
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "util/parse.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const struct command {
	const char *name;
	int (*fn)(struct cli *cli, int argc, char **argv);
	unsigned flags; /* enum cli_flag bits it accepts */
	const char *args;
	const char *help;
} commands[] = {
	{ "info", cmd_info, 0, "",
	  "the node, this connection and the members" },
	{ "members", cmd_members, 0, "", "the live members" },
	{ "read", cmd_read, CLI_F_RAW, "ADDR LEN",
	  "hex dump of LEN bytes at ADDR (--raw: the bytes)" },
	{ "write", cmd_write, CLI_F_HEX, "ADDR [DATA|-]",
	  "write DATA, or stdin when DATA is - or missing" },
	{ "cas", cmd_cas, CLI_F_EXPECT_SWAP, "ADDR OLD NEW",
	  "compare-and-swap the 64-bit word at ADDR" },
	{ "fadd", cmd_fadd, 0, "ADDR N",
	  "fetch-and-add N to the word at ADDR" },
	{ "demo", cmd_demo, CLI_F_WORKERS | CLI_F_ROUNDS, "",
	  "worker processes share memory; PASS or FAIL" },
	{ "bench", cmd_bench, CLI_F_ITERS, "",
	  "latency and bandwidth of reads, writes, atomics" },
};

static const struct {
	unsigned flag;
	const char *name;
} flag_names[] = {
	{ CLI_F_RAW, "--raw" },
	{ CLI_F_HEX, "--hex" },
	{ CLI_F_EXPECT_SWAP, "--expect-swap" },
	{ CLI_F_WORKERS, "--workers" },
	{ CLI_F_ROUNDS, "--rounds" },
	{ CLI_F_ITERS, "--iters" },
};

static void usage(FILE *f)
{
	fputs("usage: shmext [OPTION]... COMMAND [ARG]... [OPTION]...\n"
	      "Use the shared memory of a memory node (shmnode) from the "
	      "shell.\n\nCommands:\n",
	      f);
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(f, "  %-8s %-14s %s\n", commands[i].name,
			commands[i].args, commands[i].help);
	fprintf(f,
		"\nConnection (default: environment, then built-in):\n"
		"  -n, --node HOST:PORT   memory node (SHMEXT_NODE, %s)\n"
		"      --name NAME        member name (SHMEXT_NAME, PROG-PID)\n"
		"      --transport T      auto, verbs or ofi "
		"(SHMEXT_TRANSPORT,\n"
		"                         auto)\n"
		"  -p, --provider PROV    libfabric provider "
		"(SHMEXT_PROVIDER,\n"
		"                         %s)\n"
		"  -k, --key-file PATH    the node's shared key "
		"(SHMEXT_KEY_FILE)\n"
		"  -t, --timeout MS       blocking-call timeout "
		"(SHMEXT_TIMEOUT_MS, %d)\n"
		"\nOutput:\n"
		"  -j, --json             one JSON object on stdout "
		"(errors too)\n"
		"  -h, --help             this text\n"
		"  -V, --version          the version of shmext\n"
		"\nCommand options:\n"
		"  read  --raw            the bytes themselves to stdout\n"
		"  write --hex            DATA (or stdin) is hex digits\n"
		"  cas   --expect-swap    exit 3 when the word was not OLD\n"
		"  demo  --workers N      worker processes, 1-64 (4)\n"
		"  demo  --rounds R       fetch-adds per worker (1000)\n"
		"  bench --iters N        samples per latency figure (10000)\n"
		"\nOptions may come before or after COMMAND; '--' ends them "
		"(for DATA or N\nstarting with '-').  ADDR, LEN, OLD, NEW, N: "
		"decimal or 0x-hex; ADDR and\nLEN also take K, M, G, T "
		"(binary).  cas and fadd need an 8-byte aligned ADDR.\n"
		"demo uses gaddr 1 MiB up to 1.3 MiB and sets the root "
		"pointer; bench\noverwrites the last 8 MiB of the region.\n"
		"\nExit status: 0 ok, 1 failure (demo: FAIL), 2 bad command "
		"line,\n3 cas --expect-swap without a swap.\n",
		SHMX_DEFAULT_NODE, SHMX_DEFAULT_PROVIDER,
		SHMX_DEFAULT_TIMEOUT_MS);
}

enum {
	OPT_NAME = 256,
	OPT_TRANSPORT,
	OPT_RAW,
	OPT_HEX,
	OPT_EXPECT,
	OPT_WORKERS,
	OPT_ROUNDS,
	OPT_ITERS,
};

static const struct option long_opts[] = {
	{ "node", required_argument, NULL, 'n' },
	{ "name", required_argument, NULL, OPT_NAME },
	{ "transport", required_argument, NULL, OPT_TRANSPORT },
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
static int opt_num(const struct cli *cli, const char *name, const char *s,
		   uint64_t lo, uint64_t hi, uint64_t *out)
{
	if (shmx__parse_u64(s, out) || *out < lo || *out > hi)
		return cli_usage(cli,
				 "%s: '%s' is not a whole number from %llu "
				 "to %llu",
				 name, s, (unsigned long long)lo,
				 (unsigned long long)hi);
	return 0;
}

/* The option getopt stopped at, for the message. */
static const char *bad_option(int argc, char **argv)
{
	const char *s = optind > 0 && optind <= argc ? argv[optind - 1] : "?";
	static char buf[4];

	if (optopt && optopt < 256 && s[0] == '-' && s[1] != '-') {
		snprintf(buf, sizeof(buf), "-%c", optopt);
		return buf;
	}
	return s;
}

static int parse_opts(struct cli *cli, int argc, char **argv)
{
	uint64_t v;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":n:p:k:t:jhV", long_opts, NULL)) !=
	       -1) {
		switch (c) {
		case 'n':
			cli->attr.comp_mask |= SHMX_OPEN_ATTR_NODE;
			cli->attr.node = optarg;
			break;
		case OPT_NAME:
			cli->attr.comp_mask |= SHMX_OPEN_ATTR_NAME;
			cli->attr.name = optarg;
			break;
		case OPT_TRANSPORT:
			cli->attr.comp_mask |= SHMX_OPEN_ATTR_TRANSPORT;
			cli->attr.transport = optarg;
			break;
		case 'p':
			cli->attr.comp_mask |= SHMX_OPEN_ATTR_PROVIDER;
			cli->attr.provider = optarg;
			break;
		case 'k':
			cli->attr.comp_mask |= SHMX_OPEN_ATTR_KEY_FILE;
			cli->attr.key_file = optarg;
			break;
		case 't':
			if (opt_num(cli, "--timeout", optarg, 1, INT_MAX, &v))
				return CLI_USAGE;
			cli->attr.comp_mask |= SHMX_OPEN_ATTR_TIMEOUT;
			cli->attr.timeout_ms = (int)v;
			break;
		case 'j':
			cli->json = 1;
			break;
		case OPT_RAW:
			cli->raw = 1;
			cli->given |= CLI_F_RAW;
			break;
		case OPT_HEX:
			cli->hex = 1;
			cli->given |= CLI_F_HEX;
			break;
		case OPT_EXPECT:
			cli->expect_swap = 1;
			cli->given |= CLI_F_EXPECT_SWAP;
			break;
		case OPT_WORKERS:
			if (opt_num(cli, "--workers", optarg, 1, 64, &v))
				return CLI_USAGE;
			cli->workers = (unsigned)v;
			cli->given |= CLI_F_WORKERS;
			break;
		case OPT_ROUNDS:
			if (opt_num(cli, "--rounds", optarg, 0, 1000000000, &v))
				return CLI_USAGE;
			cli->rounds = v;
			cli->given |= CLI_F_ROUNDS;
			break;
		case OPT_ITERS:
			if (opt_num(cli, "--iters", optarg, 10, 100000000, &v))
				return CLI_USAGE;
			cli->iters = v;
			cli->given |= CLI_F_ITERS;
			break;
		case 'h':
			usage(stdout);
			exit(CLI_OK);
		case 'V':
			printf("shmext %d.%d.%d (libshmext API %d.%d.%d)\n",
			       SHMX_VERSION_MAJOR, SHMX_VERSION_MINOR,
			       SHMX_VERSION_PATCH, SHMX_VERSION_MAJOR,
			       SHMX_VERSION_MINOR, SHMX_VERSION_PATCH);
			exit(CLI_OK);
		case ':':
			return cli_usage(cli, "option '%s' needs an argument",
					 bad_option(argc, argv));
		default:
			return cli_usage(cli, "unknown option '%s'",
					 bad_option(argc, argv));
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct cli cli = { .workers = 4, .rounds = 1000, .iters = 10000 };
	const struct command *cmd = NULL;
	unsigned stray;
	int ret;

	if (parse_opts(&cli, argc, argv))
		return CLI_USAGE;
	if (optind >= argc)
		return cli_usage(&cli, "no command given");
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (!strcmp(argv[optind], commands[i].name))
			cmd = &commands[i];
	if (!cmd)
		return cli_usage(&cli, "unknown command '%s'", argv[optind]);
	cli.cmd = cmd->name;
	stray = cli.given & ~cmd->flags;
	for (size_t i = 0; i < ARRAY_SIZE(flag_names); i++)
		if (stray & flag_names[i].flag)
			return cli_usage(&cli, "%s does not apply to %s",
					 flag_names[i].name, cmd->name);
	ret = cmd->fn(&cli, argc - optind - 1, argv + optind + 1);
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, "shmext: %s: cannot write to stdout\n",
			cmd->name);
		return CLI_FAIL;
	}
	return ret;
}
