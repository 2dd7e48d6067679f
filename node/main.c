/* SPDX-License-Identifier: MIT */
/*
 * main.c - shmnode, the memory node daemon: parse the command line and the
 * optional config file, export the region, serve until SIGINT or SIGTERM;
 * or, as "shmnode admin", give a running node a command.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "config.h"
#include "server.h"
#include "util/errstr.h"
#include "util/log.h"

/* How long "shmnode admin" waits for the node's answer. */
#define ADMIN_CLIENT_TIMEOUT_MS 5000

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: shmnode [OPTION]...\n"
		"   or: shmnode admin [--admin-socket PATH] [-l HOST:PORT] "
		"[-c CONFIG]\n"
		"                     COMMAND [ARG]...\n"
		"Export a shared memory region to compute nodes over a "
		"fabric.\n"
		"\n"
		"  -l, --listen HOST:PORT     address to serve (default "
		"127.0.0.1:%d)\n"
		"  -s, --size SIZE            region size, suffixes K M G "
		"(default 256M)\n"
		"  -k, --key-file PATH        shared key clients must prove; "
		"without it\n"
		"                             only loopback clients are "
		"accepted\n"
		"  -p, --provider NAME        libfabric provider (default %s)\n"
		"  -t, --transport NAME       auto, verbs or ofi (default "
		"auto:\n"
		"                             verbs when an RDMA device is "
		"active\n"
		"                             and serves the address, else "
		"ofi)\n"
		"      --max-members N        member slots (default %d)\n"
		"      --client-timeout MS    a silent client is gone after "
		"this (default %d)\n"
		"      --heartbeat MS         clients ping this often (default "
		"%d)\n"
		"      --max-pool-size SIZE   largest pool a member may create "
		"(default: any)\n"
		"      --member-cap SIZE      most bytes of blocks one member "
		"may hold\n"
		"                             (default: any)\n"
		"      --max-seg-size SIZE    largest named segment (default: "
		"any)\n"
		"      --max-memory SIZE      most memory growing may reach, "
		"all extents\n"
		"                             (default: the machine's "
		"physical memory)\n"
		"      --max-locks N          lock-table slots: global locks "
		"at "
		"once (default\n"
		"                             %d)\n"
		"      --lock-lease MS        lease of a lock whose creator "
		"sets none\n"
		"                             (default %d)\n"
		"      --hugepages[=MODE]     the memory in huge pages: try "
		"(MODE left out:\n"
		"                             ordinary pages when there are "
		"too few free,\n"
		"                             with a warning), require (refuse "
		"to start\n"
		"                             or grow without them) or no "
		"(default)\n"
		"      --admin-socket PATH    local socket for 'shmnode admin' "
		"('none': no\n"
		"                             socket; default "
		"/run/shmnode-PORT.sock as\n"
		"                             root, else "
		"$XDG_RUNTIME_DIR/shmnode-PORT.sock\n"
		"                             or /tmp/shmnode-UID-PORT.sock)\n"
		"      --metrics HOST:PORT    serve Prometheus metrics over "
		"HTTP at\n"
		"                             http://HOST:PORT/metrics (PORT "
		"or :PORT:\n"
		"                             on 127.0.0.1; default: none)\n"
		"      --backing PATH         keep the memory in file PATH and "
		"the metadata\n"
		"                             in PATH.journal; a restart "
		"with the same\n"
		"                             PATH serves the same data "
		"(default: none)\n"
		"      --backing-sync[=yes|no] fdatasync the journal before "
		"every answer\n"
		"                             (survives a machine crash; "
		"default no)\n"
		"  -c, --config PATH          read 'key = value' settings "
		"first; keys are\n"
		"                             the long option names\n"
		"  -L, --log-level LEVEL      error, warn, info (default) or "
		"debug\n"
		"  -h, --help                 this text\n"
		"  -V, --version              print the version\n"
		"\n"
		"shmnode admin gives COMMAND to the node running with these "
		"settings\n"
		"(its socket from --admin-socket, the config file or the "
		"listen address)\n"
		"and prints its answer:\n"
		"  shmnode admin status|grow SIZE|shrink SIZE\n"
		"Exit status: 0 done, 1 the node refused or did not answer, "
		"2 usage.\n",
		SHMX_DEFAULT_PORT, SHMX_DEFAULT_PROVIDER,
		NODE_DEFAULT_MAX_MEMBERS, NODE_DEFAULT_CLIENT_TIMEOUT_MS,
		NODE_DEFAULT_HEARTBEAT_MS, NODE_DEFAULT_MAX_LOCKS,
		SHMX_LOCK_LEASE_MS);
}

static const struct option long_opts[] = {
	{ "listen", required_argument, NULL, 'l' },
	{ "size", required_argument, NULL, 's' },
	{ "key-file", required_argument, NULL, 'k' },
	{ "provider", required_argument, NULL, 'p' },
	{ "transport", required_argument, NULL, 't' },
	{ "max-members", required_argument, NULL, 1 },
	{ "client-timeout", required_argument, NULL, 2 },
	{ "heartbeat", required_argument, NULL, 3 },
	{ "max-pool-size", required_argument, NULL, 4 },
	{ "member-cap", required_argument, NULL, 5 },
	{ "max-seg-size", required_argument, NULL, 6 },
	{ "admin-socket", required_argument, NULL, 7 },
	{ "max-memory", required_argument, NULL, 8 },
	{ "max-locks", required_argument, NULL, 9 },
	{ "lock-lease", required_argument, NULL, 10 },
	{ "hugepages", optional_argument, NULL, 11 },
	{ "metrics", required_argument, NULL, 12 },
	{ "backing", required_argument, NULL, 13 },
	{ "backing-sync", optional_argument, NULL, 14 },
	{ "config", required_argument, NULL, 'c' },
	{ "log-level", required_argument, NULL, 'L' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};
static const char short_opts[] = "l:s:k:p:t:c:L:hV";

/* The long name of option @c, which is also its config-file key. */
static const char *opt_key(int c)
{
	for (const struct option *o = long_opts; o->name; o++)
		if (o->val == c)
			return o->name;
	return "?";
}

/* Why "shmnode admin" got no answer from @path (@err: -errno). */
static void admin_no_answer(const char *path, int err)
{
	const char *why;

	switch (err) {
	case -ENOENT:
		why = "no such socket (is shmnode running, with another "
		      "--admin-socket or user?)";
		break;
	case -ECONNREFUSED:
		why = "nothing answers (a stale socket: shmnode is not "
		      "running)";
		break;
	case -EPERM:
		why = "the node there runs as another user";
		break;
	case -ETIMEDOUT:
		why = "no answer in time";
		break;
	case -EBADMSG:
		why = "not a shmnode answer";
		break;
	default:
		why = strerror(-err);
	}
	fprintf(stderr, "shmnode admin: %s: %s\n", path, why);
}

/*
 * "shmnode admin [OPTION]... COMMAND [ARG]...", @argv[0] = "admin": find
 * the node's socket, give it the command, print its answer.  Returns the
 * exit status: 0 ok, 1 an error answer or none, 2 a usage error.
 */
static int admin_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "admin-socket", required_argument, NULL, 7 },
		{ "listen", required_argument, NULL, 'l' },
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sock = NULL, *listen = NULL, *conf = NULL;
	char path[ADMIN_PATH_MAX], err[512], *text = NULL;
	struct node_config cfg;
	size_t textlen = 0;
	FILE *mem;
	int c, ret;

	opterr = 0;
	/* '+': the command's own words are not options. */
	while ((c = getopt_long(argc, argv, "+l:c:h", opts, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return 0;
		}
		if (c == '?') {
			fprintf(stderr,
				"shmnode admin: bad option '%s'\n"
				"Try 'shmnode --help'.\n",
				argv[optind - 1]);
			return 2;
		}
		if (c == 7)
			sock = optarg;
		else if (c == 'l')
			listen = optarg;
		else
			conf = optarg;
	}
	if (optind >= argc) {
		fprintf(stderr, "shmnode admin: no command (status, grow SIZE, "
				"shrink SIZE)\n"
				"Try 'shmnode --help'.\n");
		return 2;
	}
	node_config_defaults(&cfg);
	if (conf && node_config_load(&cfg, conf, err, sizeof(err))) {
		fprintf(stderr, "shmnode admin: config: %s\n", err);
		return 2;
	}
	if ((listen &&
	     node_config_set(&cfg, "listen", listen, err, sizeof(err))) ||
	    (sock &&
	     node_config_set(&cfg, "admin-socket", sock, err, sizeof(err)))) {
		fprintf(stderr, "shmnode admin: --%s\n", err);
		return 2;
	}
	ret = admin_socket_path(cfg.admin_socket, cfg.listen, path,
				sizeof(path));
	if (ret) {
		fprintf(stderr, "shmnode admin: no socket path for %s: %s\n",
			cfg.listen, strerror(-ret));
		return 2;
	}
	if (!path[0]) {
		fprintf(stderr, "shmnode admin: the admin socket is off "
				"(admin-socket = none); name one with "
				"--admin-socket PATH\n");
		return 2;
	}

	mem = open_memstream(&text, &textlen);
	if (!mem) {
		fprintf(stderr, "shmnode admin: %s\n", strerror(errno));
		return 1;
	}
	ret = admin_request(path, argc - optind, argv + optind, mem,
			    ADMIN_CLIENT_TIMEOUT_MS);
	fclose(mem);
	if (!ret)
		fputs(text, stdout);
	else if (textlen)
		fprintf(stderr, "shmnode admin: %s", text);
	else if (ret == -EINVAL)
		fprintf(stderr,
			"shmnode admin: a command is at most %d words and %d "
			"bytes, without empty words or ones with spaces or "
			"control characters\n",
			ADMIN_ARGS_MAX, ADMIN_LINE_MAX - 1);
	else
		admin_no_answer(path, ret);
	free(text);
	if (!ret)
		return 0;
	return ret == -EINVAL && !textlen ? 2 : 1;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct node_config cfg;
	struct server srv;
	char err[512];
	int c, ret;

	shmx__log_set_ident("shmnode");
	if (argc > 1 && !strcmp(argv[1], "admin"))
		return admin_main(argc - 1, argv + 1);
	node_config_defaults(&cfg);

	/* First pass: --config, --help and --version only. */
	while ((c = getopt_long(argc, argv, short_opts, long_opts, NULL)) !=
	       -1) {
		if (c == 'h') {
			usage(stdout);
			return 0;
		}
		if (c == 'V') {
			printf("shmnode %d.%d.%d\n", SHMX_VERSION_MAJOR,
			       SHMX_VERSION_MINOR, SHMX_VERSION_PATCH);
			return 0;
		}
		if (c == '?') {
			fprintf(stderr, "Try 'shmnode --help'.\n");
			return 2;
		}
		if (c == 'c' &&
		    node_config_load(&cfg, optarg, err, sizeof(err))) {
			fprintf(stderr, "shmnode: config: %s\n", err);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr,
			"shmnode: unexpected argument '%s'\n"
			"Try 'shmnode --help'.\n",
			argv[optind]);
		return 2;
	}
	/* Second pass: the command line overrides the file. */
	optind = 1;
	while ((c = getopt_long(argc, argv, short_opts, long_opts, NULL)) !=
	       -1) {
		if (c == 'c')
			continue;
		/* --hugepages alone: where there are; --backing-sync
		 * alone: yes. */
		if (node_config_set(&cfg, opt_key(c),
				    c == 11 && !optarg	 ? "try"
				    : c == 14 && !optarg ? "yes"
							 : optarg,
				    err, sizeof(err))) {
			fprintf(stderr, "shmnode: --%s\n", err);
			return 2;
		}
	}
	if (node_config_check(&cfg, err, sizeof(err))) {
		fprintf(stderr, "shmnode: %s\n", err);
		return 2;
	}
	shmx__log_set_level((enum shmx_log_level)cfg.log_level);

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	ret = server_init(&srv, &cfg, &stop_flag);
	if (ret)
		return 1;
	log_info("shmnode %d.%d.%d serving %llu bytes on %s (%s, provider %s; "
		 "%s), up to %u members, client timeout %u ms",
		 SHMX_VERSION_MAJOR, SHMX_VERSION_MINOR, SHMX_VERSION_PATCH,
		 (unsigned long long)srv.mem.total, cfg.listen,
		 srv.xp->ops->name, srv.xp->caps.provider, srv.transport_why,
		 cfg.max_members, cfg.client_timeout_ms);
	if (!srv.have_key)
		log_warn("no key file: accepting loopback clients only");
	ret = server_run(&srv);
	log_info("shutting down");
	server_fini(&srv);
	return ret ? 1 : 0;
}
