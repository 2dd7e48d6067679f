/* SPDX-License-Identifier: MIT */
/*
 * test_persist.c - shmnode --backing: killed with SIGKILL during a stream
 * of allocations, writes and releases, then started again on the same
 * files, it has every acknowledged allocation and write, none of the
 * acknowledged releases, and allocates nothing twice; a clean restart
 * keeps the root, segments, locks and grown memory; a second shmnode on
 * the same files, or one with other table sizes, is refused.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define POOL_SIZE (48ull << 20)
#define MAX_BLOCK 16384u
#define MAX_OPS 200000

/* The files of a test's node, from its port (the streamer is another
 * process: it finds them the same way): the backing file, in /tmp of the
 * node's host (in remote mode the node VM's, which goes with the VM), and
 * the streamer's acknowledgements here. */
static void paths(const struct node_proc *n, char *backing, size_t blen,
		  char *acks, size_t alen)
{
	snprintf(backing, blen, "/tmp/shmx-persist-%u.mem", n->port);
	snprintf(acks, alen, "/tmp/shmx-persist-%u.acks", n->port);
}

/* Byte @j of the pattern written with @seed. */
static uint8_t pat(uint32_t seed, uint64_t j)
{
	return (uint8_t)(seed * 131u + j * 7u + (j >> 8));
}

static void fill(uint8_t *buf, uint64_t len, uint32_t seed)
{
	for (uint64_t j = 0; j < len; j++)
		buf[j] = pat(seed, j);
}

/*
 * Allocate blocks of random sizes, write a pattern into each, release
 * some; after each acknowledged call, append a line to the acks file:
 * "a ADDR SIZE", "w ADDR SEED", "r ADDR", and before each release "R ADDR"
 * (a release in flight when the node is killed may have been done and
 * kept without its answer reaching here).  Runs until it is killed or a
 * call fails.
 */
static int streamer(int index, void *arg)
{
	const struct node_proc *n = arg;
	static uint64_t live[MAX_OPS];
	static uint8_t buf[MAX_BLOCK];
	char backing[160], acks[128];
	struct shmx_pool *pool;
	struct shmx_ctx *ctx;
	uint32_t nlive = 0;
	int fd;

	(void)index;
	paths(n, backing, sizeof(backing), acks, sizeof(acks));
	fd = open(acks, O_WRONLY | O_CREAT | O_APPEND, 0600);
	CHECK(fd >= 0);
	CHECK(client_open(n, "streamer", 0, &ctx) == 0);
	CHECK(shmx_pool_open(ctx, "stream", POOL_SIZE, SHMX_CREAT, &pool) == 0);
	dprintf(fd, "ready\n");
	srand(7);
	for (uint32_t i = 1; i < MAX_OPS; i++) {
		uint64_t size = 8 + (uint64_t)rand() % (MAX_BLOCK - 8);
		shmx_gaddr_t g;

		/* About 500 blocks live at any time. */
		if (nlive > 500 || (nlive > 64 && rand() % 3 == 0)) {
			uint32_t k = (uint32_t)rand() % nlive;

			dprintf(fd, "R %llx\n", (unsigned long long)live[k]);
			if (shmx_release(ctx, live[k]))
				return 0;
			dprintf(fd, "r %llx\n", (unsigned long long)live[k]);
			live[k] = live[--nlive];
		}
		if (shmx_alloc(pool, size, 0, &g))
			return 0;
		dprintf(fd, "a %llx %llu\n", (unsigned long long)g,
			(unsigned long long)size);
		live[nlive++] = g;
		fill(buf, size, i);
		if (shmx_write(ctx, g, buf, size))
			return 0;
		dprintf(fd, "w %llx %u\n", (unsigned long long)g, i);
	}
	return 0;
}

/* What the acks file says of one address, as of its last line. */
struct ack {
	uint64_t addr, size;
	uint32_t seed; /* 0: not written since allocated */
	int live;
	int asked; /* a release was asked and not acknowledged */
};

static struct ack *ack_find(struct ack *a, size_t n, uint64_t addr)
{
	for (size_t i = 0; i < n; i++)
		if (a[i].addr == addr)
			return &a[i];
	return NULL;
}

/* Read the acks file into @a (one entry per address).  A last line cut
 * by the kill is not a line.  Returns the number of entries. */
static size_t acks_read(const char *path, struct ack *a, size_t max,
			unsigned *lines)
{
	char line[128];
	size_t n = 0;
	FILE *f = fopen(path, "r");

	*lines = 0;
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		unsigned long long addr, v = 0;
		struct ack *e;
		char op;

		if (!strchr(line, '\n') ||
		    sscanf(line, "%c %llx %llu", &op, &addr, &v) < 2)
			continue;
		(*lines)++;
		e = ack_find(a, n, addr);
		if (!e) {
			assert_true(n < max);
			e = &a[n++];
			memset(e, 0, sizeof(*e));
			e->addr = addr;
		}
		if (op == 'a') {
			assert_false(e->live); /* never handed out twice */
			e->live = 1;
			e->size = v;
			e->seed = 0;
		} else if (op == 'w') {
			assert_true(e->live);
			e->seed = (uint32_t)v;
		} else if (op == 'R') {
			e->asked = e->live;
		} else if (op == 'r') {
			e->live = 0;
			e->asked = 0;
		}
	}
	fclose(f);
	return n;
}

/*
 * The client timeout: a member left behind by a restart is ended this
 * long after it.  Short here; in the VMs, where emulated RDMA stalls for
 * seconds now and then, long enough that no live member is taken for
 * gone.
 */
static int timeout_ms(void)
{
	return test_remote() ? 8000 : 1000;
}

static const char *const *node_args(const char *backing, const char *locks)
{
	static const char *a[16];
	static char timeout[16];
	int i = 0;

	snprintf(timeout, sizeof(timeout), "%d", timeout_ms());
	a[i++] = "--size";
	a[i++] = "64M";
	a[i++] = "--backing";
	a[i++] = backing;
	a[i++] = "--client-timeout";
	a[i++] = timeout;
	a[i++] = "--heartbeat";
	a[i++] = "200";
	a[i++] = "--max-locks";
	a[i++] = locks;
	a[i] = NULL;
	return a;
}

/* Remove the files of @n's node (here; in remote mode the backing file
 * is the node VM's). */
static void remove_backed(const struct node_proc *n)
{
	char backing[160], acks[128], cmd[512];

	paths(n, backing, sizeof(backing), acks, sizeof(acks));
	snprintf(cmd, sizeof(cmd), "rm -f %s %s.journal %s", backing, backing,
		 acks);
	(void)!system(cmd);
}

/*
 * Start shmnode on a new backing file in *@n; @backing and @acks get the
 * paths (160 and 128 bytes).  The node's port names the files, so it is
 * started once to learn it, then again on them.
 */
static void start_backed(struct node_proc *n, char *backing, char *acks)
{
	assert_int_equal(node_start(n, NULL), 0);
	node_kill(n);
	paths(n, backing, 160, acks, 128);
	remove_backed(n);
	assert_int_equal(node_restart(n, node_args(backing, "1024")), 0);
}

static void test_sigkill_keeps_every_acknowledged_change(void **state)
{
	static struct ack acks[MAX_OPS];
	static uint8_t buf[MAX_BLOCK], want[MAX_BLOCK];
	char ackpath[128], backing[160];
	struct shmx_block_info bi;
	struct shmx_pool *pool;
	struct shmx_ctx *ctx;
	struct node_proc n;
	unsigned lines, listed = 0, written = 0;
	uint64_t prev_end = 0;
	size_t nacks;
	pid_t pid;
	char c;
	int fd;

	(void)state;
	start_backed(&n, backing, ackpath);

	pid = spawn_client(streamer, 0, &n);
	/* Let it run for a while, then kill the node under it. */
	for (int i = 0; i < 100; i++) {
		fd = open(ackpath, O_RDONLY);
		if (fd >= 0 && read(fd, &c, 1) == 1) {
			close(fd);
			break;
		}
		if (fd >= 0)
			close(fd);
		usleep(50000);
	}
	usleep(1500000);
	node_kill(&n);
	kill(pid, SIGKILL);
	reap(pid, 10);

	nacks = acks_read(ackpath, acks, MAX_OPS, &lines);
	print_message("%u acknowledged calls before the kill\n", lines);
	assert_true(lines > 100);

	assert_int_equal(node_restart(&n, node_args(backing, "1024")), 0);
	assert_true(node_log_contains(&n, "restored"));
	assert_int_equal(client_open(&n, "checker", 0, &ctx), 0);

	/* Every block listed is whole and apart from the others; every
	 * acknowledged allocation not released is among them. */
	for (shmx_gaddr_t at = 0; !shmx_block_next(ctx, at, &bi);
	     at = bi.start + 1) {
		struct ack *e = ack_find(acks, nacks, bi.start);

		/* A block allocated while the streamer was killed may be
		 * there unacknowledged; an acknowledged one has its size. */
		assert_true(bi.start >= prev_end);
		prev_end = bi.start + bi.len;
		if (e && e->live)
			assert_int_equal(bi.len, (e->size + 7) & ~7ull);
		listed++;
	}
	for (size_t i = 0; i < nacks; i++) {
		/* The release in flight at the kill: done or not, both are
		 * right; if it was done, the block is released. */
		if (acks[i].live && acks[i].asked &&
		    (shmx_block_next(ctx, acks[i].addr, &bi) ||
		     bi.start != acks[i].addr)) {
			print_message("the release in flight at the kill "
				      "was kept\n");
			acks[i].live = 0;
		}
		if (!acks[i].live) {
			/* Released: no block starts there any more. */
			assert_true(shmx_block_next(ctx, acks[i].addr, &bi) ||
				    bi.start != acks[i].addr);
			continue;
		}
		assert_int_equal(shmx_block_next(ctx, acks[i].addr, &bi), 0);
		assert_int_equal(bi.start, acks[i].addr);
		if (!acks[i].seed)
			continue;
		assert_int_equal(
			shmx_read(ctx, acks[i].addr, buf, acks[i].size), 0);
		fill(want, acks[i].size, acks[i].seed);
		assert_memory_equal(buf, want, acks[i].size);
		written++;
	}
	print_message("%u blocks listed, %u written ones checked\n", listed,
		      written);
	assert_true(written > 0);

	/* New allocations land apart from every block kept. */
	assert_int_equal(shmx_pool_open(ctx, "stream", 0, 0, &pool), 0);
	for (int i = 0; i < 200; i++) {
		shmx_gaddr_t g;

		assert_int_equal(shmx_alloc(pool, 4096, 0, &g), 0);
		for (size_t k = 0; k < nacks; k++)
			assert_false(acks[k].live &&
				     g < acks[k].addr + acks[k].size &&
				     acks[k].addr < g + 4096);
		fill(buf, 4096, 0xbeef);
		assert_int_equal(shmx_write(ctx, g, buf, 4096), 0);
	}
	/* ... and wrote over none of them. */
	for (size_t i = 0; i < nacks; i++) {
		if (!acks[i].live || !acks[i].seed)
			continue;
		assert_int_equal(
			shmx_read(ctx, acks[i].addr, buf, acks[i].size), 0);
		fill(want, acks[i].size, acks[i].seed);
		assert_memory_equal(buf, want, acks[i].size);
	}
	shmx_pool_close(pool);
	shmx_close(ctx);
	assert_int_equal(node_stop(&n), 0);
	remove_backed(&n);
}

/* Where other_node's shmnode writes its log. */
static struct node_proc other;

/*
 * Run another shmnode on @n's address and files, with @locks lock slots,
 * to be refused: returns its exit status (0 if it started, then it is
 * stopped).  Its log is other.log.
 */
static int other_node(const struct node_proc *n, const char *backing,
		      const char *locks)
{
	const char *bin = getenv("SHMX_SHMNODE");
	const char *const *args = node_args(backing, locks);
	const char *argv[20];
	int argc = 0, status, fd;
	pid_t pid;

	other = *n;
	snprintf(other.log, sizeof(other.log), "%s.other", n->log);
	argv[argc++] = bin ? bin : "shmnode";
	argv[argc++] = "--listen";
	argv[argc++] = n->addr;
	for (int i = 0; args[i]; i++)
		argv[argc++] = args[i];
	argv[argc] = NULL;
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		fd = open(other.log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fd, STDERR_FILENO);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	for (int i = 0; i < 100; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
		usleep(50000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return 0;
}

/* "shmnode admin status" (local mode) names the backing file and its
 * journal, with no failed write. */
static void admin_status_says(const struct node_proc *n, const char *backing)
{
	const char *bin = getenv("SHMX_SHMNODE");
	char cmd[512], out[4096] = "", want[256];
	size_t got;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "timeout 10 %s admin --listen %s status",
		 bin ? bin : "shmnode", n->addr);
	f = popen(cmd, "r");
	assert_non_null(f);
	got = fread(out, 1, sizeof(out) - 1, f);
	out[got] = 0;
	assert_int_equal(pclose(f), 0);
	snprintf(want, sizeof(want), "backing %s: journal ", backing);
	assert_non_null(strstr(out, want));
	assert_non_null(strstr(out, ", 0 failed"));
}

static void test_restart_keeps_root_segments_locks_memory(void **state)
{
	char ackpath[128], backing[160];
	struct shmx_lock_info li;
	struct shmx_seg_info si;
	struct shmx_extent ext[4];
	size_t next;
	struct shmx_ctx *ctx;
	struct shmx_seg *seg;
	struct shmx_lock *lock;
	struct node_proc n;
	shmx_gaddr_t root, base;
	uint64_t lock_id, v = 0x1122334455667788ull, got = 0;

	(void)state;
	start_backed(&n, backing, ackpath);

	assert_int_equal(client_open(&n, "before", 0, &ctx), 0);
	assert_int_equal(
		shmx_seg_open(ctx, "kept", 65536, SHMX_CREAT, 0600, &seg), 0);
	base = shmx_seg_addr(seg);
	assert_int_equal(shmx_write(ctx, base + 64, &v, 8), 0);
	assert_int_equal(shmx_root_set(ctx, base), 0);
	assert_int_equal(shmx_grow(ctx, 4 << 20, NULL), 0);
	assert_int_equal(shmx_lock_reserve(ctx, "kept-lock", &lock), 0);
	lock_id = shmx_lock_id(lock);
	/* Detach and leave: the segment stays (SysV), the lock goes with its
	 * last reservation, so keep that one: the node is stopped first. */
	assert_int_equal(shmx_seg_close(seg), 0);

	/* A second node on the same files is refused, before it listens
	 * (run here: in remote mode the files are the node VM's). */
	if (!test_remote()) {
		assert_int_not_equal(other_node(&n, backing, "1024"), 0);
		assert_true(
			node_log_contains(&other, "in use by another shmnode"));
	}

	assert_int_equal(node_stop(&n), 0);
	shmx_close(ctx);

	/* Other table sizes are refused, naming the setting. */
	if (!test_remote()) {
		assert_int_not_equal(other_node(&n, backing, "2048"), 0);
		assert_true(node_log_contains(&other, "max-locks"));
	}

	assert_int_equal(node_restart(&n, node_args(backing, "1024")), 0);
	if (!test_remote())
		admin_status_says(&n, backing);
	assert_int_equal(client_open(&n, "after", 0, &ctx), 0);
	assert_int_equal(shmx_root_get(ctx, &root), 0);
	assert_int_equal(root, base);
	assert_int_equal(shmx_extents(ctx, ext, 4, &next, NULL), 0);
	assert_int_equal(next, 2);
	assert_int_equal(shmx_seg_next(ctx, 0, &si), 0);
	assert_int_equal(si.st.addr, base);
	assert_int_equal(si.st.size, 65536);
	assert_int_equal(shmx_seg_open(ctx, "kept", 0, 0, 0, &seg), 0);
	assert_int_equal(shmx_read(ctx, base + 64, &got, 8), 0);
	assert_int_equal(got, v);
	/* The lock is there under its id until its reserving member, gone
	 * with the old node, is ended after the client timeout. */
	assert_int_equal(shmx_lock_next(ctx, 0, &li), 0);
	assert_int_equal(li.id, lock_id);
	assert_string_equal(li.name, "kept-lock");
	for (int i = 0;
	     i < timeout_ms() / 100 + 30 && !shmx_lock_next(ctx, 0, &li); i++)
		usleep(100000);
	assert_int_equal(shmx_lock_next(ctx, 0, &li), -ENOENT);
	assert_true(node_log_contains(&n, "no heartbeat"));
	assert_int_equal(shmx_seg_close(seg), 0);
	shmx_close(ctx);
	assert_int_equal(node_stop(&n), 0);
	remove_backed(&n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sigkill_keeps_every_acknowledged_change),
		cmocka_unit_test(test_restart_keeps_root_segments_locks_memory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
