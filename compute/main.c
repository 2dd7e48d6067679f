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
	const char *name; /* one word, or two: "pool stat" */
	int (*fn)(struct cli *cli, int argc, char **argv);
	unsigned flags; /* enum cli_flag bits it accepts */
	const char *args;
	const char *help;
} commands[] = {
	{ "info", cmd_info, 0, "",
	  "the node, this connection and the members" },
	{ "members", cmd_members, 0, "", "the live members" },
	{ "stats", cmd_stats, 0, "",
	  "the node's counters: requests, errors, memory, locks" },
	{ "extents", cmd_extents, 0, "",
	  "the memory's extents, total and generation" },
	{ "grow", cmd_grow, 0, "SIZE",
	  "add SIZE bytes of memory as a new extent" },
	{ "shrink", cmd_shrink, 0, "SIZE",
	  "take SIZE free bytes off the top of the memory" },
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
	{ "bench", cmd_bench,
	  CLI_F_ITERS | CLI_F_DURATION | CLI_F_REDIS | CLI_F_PEER, "",
	  "latency and bandwidth of reads, writes, atomics, locks" },
	{ "pool create", cmd_pool_create, 0, "NAME SIZE",
	  "create a pool of SIZE bytes; its base and size" },
	{ "pool stat", cmd_pool_stat, 0, "NAME",
	  "a pool's size, free space and blocks" },
	{ "pool destroy", cmd_pool_destroy, 0, "NAME",
	  "give a pool without blocks back to the node" },
	{ "alloc", cmd_alloc, 0, "POOL SIZE [ALIGN]",
	  "allocate a block in POOL; print its ADDR" },
	{ "release", cmd_release, 0, "ADDR",
	  "free the block that starts at ADDR" },
	{ "own", cmd_own, 0, "ADDR NODE...",
	  "make the block at ADDR exclusive to the NODEs" },
	{ "transfer", cmd_transfer, 0, "ADDR NODE...",
	  "an owner passes the block to other NODEs" },
	{ "disown", cmd_disown, 0, "ADDR",
	  "an owner makes the block shared again" },
	{ "epoch", cmd_epoch, 0, "ADDR",
	  "the block's ownership epoch; am I an owner" },
	{ "seg create", cmd_seg_create, CLI_F_MODE, "NAME SIZE",
	  "create a segment of SIZE bytes; its address" },
	{ "seg stat", cmd_seg_stat, 0, "NAME",
	  "a segment's size, mode, owner, attaches, times" },
	{ "seg rm", cmd_seg_rm, 0, "NAME",
	  "remove a segment; it goes at its last detach" },
	{ "seg save", cmd_seg_save, 0, "NAME FILE",
	  "write a snapshot of the segment to FILE" },
	{ "seg load", cmd_seg_load, 0, "NAME FILE",
	  "write the snapshot in FILE into the segment" },
	{ "ipcs", cmd_ipcs, CLI_F_BLOCKS, "",
	  "the node's extents, pools, blocks, segments, members" },
	{ "locks", cmd_locks, 0, "",
	  "the global locks: mode, holders, waiters, fence" },
	{ "lock", cmd_lock, CLI_F_SHARED | CLI_F_HOLD | CLI_F_LEASE,
	  "NAME [CMD...]", "take lock NAME, print the fence, run CMD" },
	{ "signal", cmd_signal, CLI_F_ALL, "NODE|--all SIGNO [VALUE]",
	  "send signal SIGNO with VALUE (0) to NODE or all" },
	{ "wait", cmd_wait, CLI_F_COUNT, "",
	  "wait for --count signals (1); print each" },
	{ "send", cmd_send, CLI_F_ALL | CLI_F_HEX, "NODE|--all [DATA|-]",
	  "send DATA, or stdin, as a message to NODE or all" },
	{ "recv", cmd_recv, CLI_F_COUNT | CLI_F_RAW, "",
	  "wait for --count messages (1); print each" },
	{ "echo", cmd_echo, 0, "",
	  "answer signals and messages (the peer of bench --peer)" },
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
	{ CLI_F_MODE, "--mode" },
	{ CLI_F_BLOCKS, "--blocks" },
	{ CLI_F_SHARED, "--shared" },
	{ CLI_F_HOLD, "--hold" },
	{ CLI_F_LEASE, "--lease" },
	{ CLI_F_DURATION, "--duration" },
	{ CLI_F_REDIS, "--redis" },
	{ CLI_F_ALL, "--all" },
	{ CLI_F_COUNT, "--count" },
	{ CLI_F_PEER, "--peer" },
};

static void usage(FILE *f)
{
	char line[64];

	fputs("usage: shmext [OPTION]... COMMAND [ARG]... [OPTION]...\n"
	      "Use the shared memory of a memory node (shmnode) from the "
	      "shell.\n\nCommands:\n",
	      f);
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		snprintf(line, sizeof(line), "%s %s", commands[i].name,
			 commands[i].args);
		fprintf(f, "  %-24s %s\n", line, commands[i].help);
	}
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
		"  bench --duration MS    each contended-lock figure (2000; 0 "
		"skips them)\n"
		"  bench --redis HOST:PORT\n"
		"                         the lock figures against Redis "
		"instead\n"
		"  bench --peer NODE      signals and messages to NODE, which "
		"runs\n"
		"                         shmext echo (default: a process of "
		"its own)\n"
		"  seg create --mode OCTAL\n"
		"                         permission bits, 0 to 0777 (0600)\n"
		"  ipcs  --blocks         list every block too (--json always "
		"does)\n"
		"  lock  --shared         a shared hold (default: exclusive)\n"
		"  lock  --hold MS        hold the lock MS ms (no CMD)\n"
		"  lock  --lease MS       the lock's lease, if this creates it "
		"(default:\n"
		"                         shmnode's --lock-lease)\n"
		"  signal, send --all     to every other live member\n"
		"  send  --hex            DATA (or stdin) is hex digits\n"
		"  wait, recv --count N   how many to wait for (1)\n"
		"  recv  --raw            the bytes of the messages to stdout\n"
		"\nOptions may come before or after COMMAND; '--' ends them "
		"(for DATA or N\nstarting with '-').  ADDR, LEN, OLD, NEW, N: "
		"decimal or 0x-hex; ADDR, LEN,\nSIZE and ALIGN also take K, "
		"M, G, T (binary).  cas and fadd need an 8-byte\naligned "
		"ADDR.  ALIGN is a power of two up to 1M (default 8).  NODE "
		"is a node\nid, or the name of a live member (see members).\n"
		"The memory is a list of extents: extent 0 from address 0, "
		"then one more\nabove the last at every grow.  grow and "
		"shrink round SIZE up to 4 KiB (to whole\nhuge pages on a "
		"node with --hugepages) and need root or the node's\n"
		"own user; shrink takes only free memory, from the newest\n"
		"extent down.  demo allocates its area in the pool "
		"shmext-demo and sets\nthe root pointer while it runs; bench "
		"allocates in the pools shmext-bench\nand shmext-bench-alloc "
		"(both create their pools if need be).  Pools and\nblocks "
		"stay after the shmext that made them exits; any member may "
		"release a\nblock whose allocator has left, unless the block "
		"has owners.\n"
		"A segment stays after the shmext that created it exits, "
		"until seg rm and its\nlast detach.  NAME (pool or segment): 1 "
		"to 63 printable ASCII characters.\nseg stat reads the "
		"node's listing and attaches nothing; seg rm and seg save\n"
		"attach read-only, seg load read-write: the segment's mode "
		"must allow it.\nFILE: a segment file; seg save replaces "
		"it whole or not at all (mode 0600),\nseg load checks it whole "
		"before it writes.\nBoth draw a progress bar on stderr when "
		"it is a terminal.\n"
		"lock waits for the lock up to --timeout, prints the fence, "
		"holds it for\n--hold MS or while CMD runs (CMD gets the fence "
		"in SHMEXT_LOCK_FENCE), then\nreleases it; its exit status "
		"is CMD's.  Put '--' before CMD when CMD has\noptions.  A hold "
		"lasts at most the lock's lease: a release after it fails.\n"
		"signal and send return once the destination has it (it takes "
		"it with wait\nor recv); they wait up to --timeout when its "
		"window is full.  wait and recv\nwait up to --timeout for each "
		"(the first included).  A message up to 64 MiB;\nover 4048 "
		"bytes it goes through the pool shmext-messages.\n"
		"\nExit status: 0 ok, 1 failure (demo: FAIL), 2 bad command "
		"line,\n3 cas --expect-swap without a swap; lock with CMD: "
		"CMD's status (127: it\ncould not be started).\n",
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
	OPT_MODE,
	OPT_BLOCKS,
	OPT_SHARED,
	OPT_HOLD,
	OPT_LEASE,
	OPT_DURATION,
	OPT_REDIS,
	OPT_ALL,
	OPT_COUNT,
	OPT_PEER,
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
	{ "mode", required_argument, NULL, OPT_MODE },
	{ "blocks", no_argument, NULL, OPT_BLOCKS },
	{ "shared", no_argument, NULL, OPT_SHARED },
	{ "hold", required_argument, NULL, OPT_HOLD },
	{ "lease", required_argument, NULL, OPT_LEASE },
	{ "duration", required_argument, NULL, OPT_DURATION },
	{ "redis", required_argument, NULL, OPT_REDIS },
	{ "all", no_argument, NULL, OPT_ALL },
	{ "count", required_argument, NULL, OPT_COUNT },
	{ "peer", required_argument, NULL, OPT_PEER },
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

/* --mode: permission bits in octal, 0 to 0777. */
static int opt_mode(const struct cli *cli, const char *s, unsigned *out)
{
	size_t n = strspn(s, "01234567");
	unsigned long v = strtoul(s, NULL, 8);

	if (!n || s[n] || n > 4 || v > 0777)
		return cli_usage(cli,
				 "--mode: '%s' is not permission bits in "
				 "octal (0 to 0777)",
				 s);
	*out = (unsigned)v;
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
		case OPT_MODE:
			if (opt_mode(cli, optarg, &cli->mode))
				return CLI_USAGE;
			cli->given |= CLI_F_MODE;
			break;
		case OPT_BLOCKS:
			cli->blocks = 1;
			cli->given |= CLI_F_BLOCKS;
			break;
		case OPT_SHARED:
			cli->shared = 1;
			cli->given |= CLI_F_SHARED;
			break;
		case OPT_HOLD:
			if (opt_num(cli, "--hold", optarg, 0, INT_MAX, &v))
				return CLI_USAGE;
			cli->hold_ms = v;
			cli->given |= CLI_F_HOLD;
			break;
		case OPT_LEASE:
			if (opt_num(cli, "--lease", optarg, 1, 3600000, &v))
				return CLI_USAGE;
			cli->lease_ms = (uint32_t)v;
			cli->given |= CLI_F_LEASE;
			break;
		case OPT_DURATION:
			if (opt_num(cli, "--duration", optarg, 0, 600000, &v))
				return CLI_USAGE;
			cli->duration_ms = v;
			cli->given |= CLI_F_DURATION;
			break;
		case OPT_REDIS:
			cli->redis = optarg;
			cli->given |= CLI_F_REDIS;
			break;
		case OPT_ALL:
			cli->all = 1;
			cli->given |= CLI_F_ALL;
			break;
		case OPT_PEER:
			cli->peer = optarg;
			cli->given |= CLI_F_PEER;
			break;
		case OPT_COUNT:
			if (opt_num(cli, "--count", optarg, 1, UINT32_MAX, &v))
				return CLI_USAGE;
			cli->count = v;
			cli->given |= CLI_F_COUNT;
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

/*
 * How many of the @argc words at @argv name @c: 1, or 2 for a command of
 * two words ("pool stat"); -1 when only the first word does, 0 when even
 * that does not.
 */
static int cmd_words(const struct command *c, int argc, char **argv)
{
	size_t n = strcspn(c->name, " ");

	if (strncmp(argv[0], c->name, n) || argv[0][n])
		return 0;
	if (!c->name[n])
		return 1;
	return argc > 1 && !strcmp(argv[1], c->name + n + 1) ? 2 : -1;
}

/* The second words of the commands that start with @word: "a, b, c". */
static const char *actions(const char *word, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = 0;
	for (size_t i = 0; i < ARRAY_SIZE(commands) && o < len; i++) {
		const char *name = commands[i].name;
		size_t n = strcspn(name, " ");

		if (name[n] && !strncmp(word, name, n) && !word[n])
			o += (size_t)snprintf(buf + o, len - o, "%s%s",
					      o ? ", " : "", name + n + 1);
	}
	return buf;
}

int main(int argc, char **argv)
{
	struct cli cli = {
		.workers = 4,
		.rounds = 1000,
		.iters = 10000,
		.mode = 0600,
		.duration_ms = 2000,
	};
	const struct command *cmd = NULL;
	int ret, words = 0, group = 0;
	char acts[128];
	unsigned stray;

	if (parse_opts(&cli, argc, argv))
		return CLI_USAGE;
	if (optind >= argc)
		return cli_usage(&cli, "no command given");
	for (size_t i = 0; i < ARRAY_SIZE(commands) && !cmd; i++) {
		words = cmd_words(&commands[i], argc - optind, argv + optind);
		if (words > 0)
			cmd = &commands[i];
		else if (words < 0)
			group = 1;
	}
	if (!cmd && group && optind + 1 >= argc)
		return cli_usage(&cli, "%s: needs an action: %s", argv[optind],
				 actions(argv[optind], acts, sizeof(acts)));
	if (!cmd && group)
		return cli_usage(&cli, "%s: unknown action '%s' (one of: %s)",
				 argv[optind], argv[optind + 1],
				 actions(argv[optind], acts, sizeof(acts)));
	if (!cmd)
		return cli_usage(&cli, "unknown command '%s'", argv[optind]);
	cli.cmd = cmd->name;
	stray = cli.given & ~cmd->flags;
	for (size_t i = 0; i < ARRAY_SIZE(flag_names); i++)
		if (stray & flag_names[i].flag)
			return cli_usage(&cli, "%s does not apply to %s",
					 flag_names[i].name, cmd->name);
	ret = cmd->fn(&cli, argc - optind - words, argv + optind + words);
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, "shmext: %s: cannot write to stdout\n",
			cmd->name);
		return CLI_FAIL;
	}
	return ret;
}
