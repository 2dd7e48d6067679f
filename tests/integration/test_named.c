/* SPDX-License-Identifier: MIT */
/*
 * test_named.c - named segments (SysV semantics) against a real shmnode:
 * create and attach by name, EXCL, sizes, read-only attaches, attach
 * counts and times in stat, data written by one process and read by
 * another through the segment's address, remove with the name free at
 * once and the segment destroyed at its last detach, a member that dies
 * attached, permissions by mode bits (other uids and gids too when the
 * test runs as root: its client processes drop to them), set, the node's
 * limits, and bad arguments.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

/* Identities client processes take when the test runs as root. */
#define OTHER_ID 4242  /* uid and gid: neither owner nor group */
#define GROUP_UID 4243 /* in the creator's group (root's, 0) */

static struct node_proc node;
static struct shmx_ctx *ctx;

/* How long the node waits for a member's heartbeat.  Across VMs
 * (tests/rxe) rxe stalls for seconds when it loses packets under a burst
 * (a 3 MiB write ahead of a heartbeat cost a member its session there), so
 * it is the harness's remote default there. */
static int client_timeout_ms(void)
{
	return test_remote() ? 10000 : 2000;
}

static int group_setup(void **state)
{
	static char timeout[16];
	const char *const args[] = { "--size",
				     "32M",
				     "--max-seg-size",
				     "12M",
				     "--client-timeout",
				     timeout,
				     "--heartbeat",
				     "500",
				     NULL };

	snprintf(timeout, sizeof(timeout), "%d", client_timeout_ms());
	if (node_start(&node, args))
		return -1;
	return client_open(&node, "test-named", 0, &ctx);
}

static int group_teardown(void **state)
{
	shmx_close(ctx);
	return node_stop(&node) == 0 ? 0 : -1;
}

static void stat_of(struct shmx_seg *s, struct shmx_seg_stat *st)
{
	assert_int_equal(shmx_seg_stat(s, st), 0);
}

static void pattern(uint8_t *buf, size_t len, uint8_t seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(seed + i * 13);
}

static void test_create_attach_stat(void **state)
{
	struct shmx_seg *a, *b, *c, *r, *x;
	struct shmx_seg_stat st;
	struct shmx_ctx *other;
	shmx_node_t me = shmx_self(ctx), them;

	assert_int_equal(shmx_seg_open(ctx, "n-basic", 10001,
				       SHMX_CREAT | SHMX_EXCL, 0660, &a),
			 0);
	assert_int_equal(shmx_seg_size(a), 10008);
	assert_int_equal(shmx_seg_addr(a) % 4096, 0);
	stat_of(a, &st);
	assert_int_equal(st.addr, shmx_seg_addr(a));
	assert_int_equal(st.size, 10008);
	assert_int_equal(st.uid, getuid());
	assert_int_equal(st.gid, getgid());
	assert_int_equal(st.cuid, getuid());
	assert_int_equal(st.cgid, getgid());
	assert_int_equal(st.mode, 0660);
	assert_int_equal(st.creator_node, me);
	assert_int_equal(st.last_attach_node, me);
	assert_int_equal(st.last_detach_node, 0);
	assert_int_equal(st.nattch, 1);
	assert_int_equal(st.removed, 0);
	assert_true(st.ctime > 0);
	assert_true(st.atime >= st.ctime);
	assert_int_equal(st.dtime, 0);
	assert_string_equal(st.name, "n-basic");

	/* Another member attaches by name, whatever its size. */
	assert_int_equal(client_open(&node, "n-basic-2", 0, &other), 0);
	them = shmx_self(other);
	assert_int_equal(shmx_seg_open(other, "n-basic", 0, 0, 0, &b), 0);
	assert_int_equal(shmx_seg_addr(b), shmx_seg_addr(a));
	assert_int_equal(shmx_seg_size(b), 10008);
	/* CREAT without EXCL attaches what exists; a smaller size is fine
	 * (SysV), and the mode of an attach is ignored. */
	assert_int_equal(
		shmx_seg_open(other, "n-basic", 4096, SHMX_CREAT, 0777, &c), 0);
	assert_int_equal(shmx_seg_size(c), 10008);
	assert_int_equal(shmx_seg_open(other, "n-basic", 0, SHMX_RDONLY, 0, &r),
			 0);
	stat_of(a, &st);
	assert_int_equal(st.nattch, 4);
	assert_int_equal(st.last_attach_node, them);
	assert_int_equal(st.mode, 0660);
	assert_int_equal(st.creator_node, me);

	/* Errors of an open. */
	assert_int_equal(shmx_seg_open(other, "n-basic", 10008,
				       SHMX_CREAT | SHMX_EXCL, 0660, &x),
			 -EEXIST);
	assert_int_equal(shmx_seg_open(other, "n-basic", 10009, 0, 0, &x),
			 -EINVAL);
	assert_int_equal(shmx_seg_open(other, "n-absent", 0, 0, 0, &x),
			 -ENOENT);
	assert_int_equal(
		shmx_seg_open(other, "n-absent", 0, SHMX_RDONLY, 0, &x),
		-ENOENT);
	assert_int_equal(
		shmx_seg_open(other, "n-absent", 0, SHMX_CREAT, 0600, &x),
		-EINVAL);

	/* Detaching counts down and records who and when. */
	assert_int_equal(shmx_seg_close(r), 0);
	assert_int_equal(shmx_seg_close(c), 0);
	stat_of(a, &st);
	assert_int_equal(st.nattch, 2);
	assert_int_equal(st.last_detach_node, them);
	assert_true(st.dtime > 0);
	assert_int_equal(shmx_seg_close(b), 0);
	assert_int_equal(shmx_close(other), 0);
	stat_of(a, &st);
	assert_int_equal(st.nattch, 1);
	assert_int_equal(shmx_seg_remove(a), 0);
	assert_int_equal(shmx_seg_close(a), 0);
}

/* Fill the segment "n-data" with pattern @seed + 1 after checking it
 * holds pattern @seed. */
static int data_client(int seed, void *arg)
{
	static uint8_t buf[65536], want[65536];
	struct shmx_seg *s;
	struct shmx_ctx *c;
	int bad = 0;

	if (client_open(arg, NULL, 0, &c) ||
	    shmx_seg_open(c, "n-data", 0, 0, 0, &s) ||
	    shmx_seg_size(s) != sizeof(buf))
		return 1;
	pattern(want, sizeof(want), (uint8_t)seed);
	bad |= shmx_read(c, shmx_seg_addr(s), buf, sizeof(buf)) != 0;
	bad |= memcmp(buf, want, sizeof(buf)) != 0;
	pattern(buf, sizeof(buf), (uint8_t)(seed + 1));
	bad |= shmx_write(c, shmx_seg_addr(s), buf, sizeof(buf)) != 0;
	bad |= shmx_seg_close(s) != 0;
	shmx_close(c);
	return bad;
}

static void test_data_between_processes(void **state)
{
	static uint8_t buf[65536], want[65536];
	struct shmx_seg *s;
	struct shmx_seg_stat st;

	assert_int_equal(
		shmx_seg_open(ctx, "n-data", sizeof(buf), SHMX_CREAT, 0600, &s),
		0);
	pattern(buf, sizeof(buf), 7);
	assert_int_equal(shmx_write(ctx, shmx_seg_addr(s), buf, sizeof(buf)),
			 0);
	/* Two processes in turn: each sees the last one's data. */
	assert_int_equal(reap(spawn_client(data_client, 7, &node), 30), 0);
	assert_int_equal(reap(spawn_client(data_client, 8, &node), 30), 0);
	pattern(want, sizeof(want), 9);
	assert_int_equal(shmx_read(ctx, shmx_seg_addr(s), buf, sizeof(buf)), 0);
	assert_memory_equal(buf, want, sizeof(buf));
	assert_int_equal(shmx_fadd64(ctx, shmx_seg_addr(s), 1, NULL), 0);
	stat_of(s, &st);
	assert_int_equal(st.nattch, 1);
	assert_true(st.last_detach_node != 0);
	assert_true(st.last_detach_node != shmx_self(ctx));
	assert_int_equal(shmx_seg_remove(s), 0);
	assert_int_equal(shmx_seg_close(s), 0);
}

/* A read-only attachment holds a key that cannot write: the node hands
 * out no other, so a write fails and leaves the memory as it was. */
static void test_readonly_attach_cannot_write(void **state)
{
	struct shmx_seg *rw, *ro, *w2;
	struct shmx_ctx *reader;
	uint64_t v = 42, bad = 0xbad, got = 0;

	assert_int_equal(
		shmx_seg_open(ctx, "n-ro", 4096, SHMX_CREAT, 0644, &rw), 0);
	assert_int_equal(shmx_write(ctx, shmx_seg_addr(rw), &v, 8), 0);
	assert_int_equal(client_open(&node, "n-ro-reader", 0, &reader), 0);
	assert_int_equal(shmx_seg_open(reader, "n-ro", 0, SHMX_RDONLY, 0, &ro),
			 0);
	assert_int_equal(shmx_read(reader, shmx_seg_addr(ro), &got, 8), 0);
	assert_int_equal(got, 42);
	assert_int_equal(shmx_write(reader, shmx_seg_addr(ro), &bad, 8),
			 -EACCES);
	assert_int_equal(shmx_fadd64(reader, shmx_seg_addr(ro), 1, NULL),
			 -EACCES);
	/* Still a working context, and the memory is unchanged. */
	assert_int_equal(shmx_read(reader, shmx_seg_addr(ro), &got, 8), 0);
	assert_int_equal(got, 42);
	/* A read-write handle too; closing it takes write access away
	 * although the read-only one stays. */
	assert_int_equal(shmx_seg_open(reader, "n-ro", 0, 0, 0, &w2), 0);
	assert_int_equal(shmx_write(reader, shmx_seg_addr(w2), &v, 8), 0);
	assert_int_equal(shmx_seg_close(w2), 0);
	assert_int_equal(shmx_write(reader, shmx_seg_addr(ro), &bad, 8),
			 -EACCES);
	assert_int_equal(shmx_seg_close(ro), 0);
	shmx_close(reader);
	assert_int_equal(shmx_seg_remove(rw), 0);
	assert_int_equal(shmx_seg_close(rw), 0);
}

static void count_progress(void *arg, uint64_t done, uint64_t total)
{
	uint64_t *last = arg;

	assert_true(done > *last && done <= total);
	*last = done;
}

/*
 * Save, change, load: the contents come back byte for byte.  A damaged
 * file, or one of another size, changes nothing.  The saver keeps writing
 * after its save (the freeze took its key; a new one is granted).
 */
static void test_save_and_load(void **state)
{
	const uint64_t size = (3u << 20) + 4096; /* several chunks */
	char path[64], other[64];
	uint8_t *img = malloc(size), *back = malloc(size);
	struct shmx_seg *s, *small, *ro;
	struct shmx_ctx *reader;
	uint64_t progress = 0, v = 7;
	FILE *f;

	assert_non_null(img);
	assert_non_null(back);
	snprintf(path, sizeof(path), "/tmp/shmx-seg-%d.img", (int)getpid());
	snprintf(other, sizeof(other), "/tmp/shmx-seg-%d.small", (int)getpid());
	assert_int_equal(
		shmx_seg_open(ctx, "n-save", size, SHMX_CREAT, 0600, &s), 0);
	pattern(img, size, 3);
	assert_int_equal(shmx_write(ctx, shmx_seg_addr(s), img, size), 0);
	assert_int_equal(shmx_seg_save(s, path, count_progress, &progress), 0);
	assert_int_equal(progress, size);

	/* Writing goes on after the save (a new key, asked for). */
	pattern(back, size, 9);
	assert_int_equal(shmx_write(ctx, shmx_seg_addr(s), back, size), 0);
	assert_int_equal(shmx_seg_load(s, path, NULL, NULL), 0);
	memset(back, 0, size);
	assert_int_equal(shmx_read(ctx, shmx_seg_addr(s), back, size), 0);
	assert_memory_equal(back, img, size);

	/* Another size: refused, nothing written. */
	assert_int_equal(shmx_seg_open(ctx, "n-save-small", 4096, SHMX_CREAT,
				       0600, &small),
			 0);
	assert_int_equal(shmx_seg_save(small, other, NULL, NULL), 0);
	assert_int_equal(shmx_seg_load(s, other, NULL, NULL), -EMSGSIZE);
	assert_int_equal(shmx_seg_load(small, path, NULL, NULL), -EMSGSIZE);

	/* One flipped byte of content: refused, nothing written. */
	assert_int_equal(shmx_write(ctx, shmx_seg_addr(s), &v, 8), 0);
	f = fopen(path, "r+b");
	assert_non_null(f);
	assert_int_equal(fseek(f, 256 + 12345, SEEK_SET), 0);
	assert_int_equal(fputc(img[12345] ^ 0x40, f), img[12345] ^ 0x40);
	fclose(f);
	assert_int_equal(shmx_seg_load(s, path, NULL, NULL), -EBADMSG);
	assert_int_equal(shmx_read(ctx, shmx_seg_addr(s), &v, 8), 0);
	assert_int_equal(v, 7);
	/* Not a segment file; no file; a read-only attachment. */
	assert_int_equal(shmx_seg_load(s, "/etc/hostname", NULL, NULL),
			 -EINVAL);
	assert_int_equal(shmx_seg_load(s, "/nonexistent/x", NULL, NULL),
			 -ENOENT);
	assert_int_equal(shmx_seg_save(s, "/nonexistent/x", NULL, NULL),
			 -ENOENT);
	assert_int_equal(client_open(&node, "n-save-reader", 0, &reader), 0);
	assert_int_equal(
		shmx_seg_open(reader, "n-save-small", 0, SHMX_RDONLY, 0, &ro),
		0);
	assert_int_equal(shmx_seg_load(ro, other, NULL, NULL), -EACCES);
	assert_int_equal(shmx_seg_save(NULL, path, NULL, NULL), -EINVAL);

	unlink(path);
	unlink(other);
	assert_int_equal(shmx_seg_close(ro), 0);
	shmx_close(reader);
	assert_int_equal(shmx_seg_remove(small), 0);
	assert_int_equal(shmx_seg_close(small), 0);
	assert_int_equal(shmx_seg_remove(s), 0);
	assert_int_equal(shmx_seg_close(s), 0);
	free(img);
	free(back);
}

/* The listing walks every segment, removed ones too. */
static void test_listing(void **state)
{
	struct shmx_seg *s1, *s2;
	struct shmx_seg_info info;
	int seen = 0;

	assert_int_equal(
		shmx_seg_open(ctx, "n-list-1", 4096, SHMX_CREAT, 0640, &s1), 0);
	assert_int_equal(
		shmx_seg_open(ctx, "n-list-2", 8192, SHMX_CREAT, 0600, &s2), 0);
	assert_int_equal(shmx_seg_remove(s2), 0);
	for (uint64_t from = 0; shmx_seg_next(ctx, from, &info) == 0;
	     from = info.id + 1) {
		if (!strcmp(info.st.name, "n-list-1")) {
			assert_int_equal(info.st.addr, shmx_seg_addr(s1));
			assert_int_equal(info.st.size, 4096);
			assert_int_equal(info.st.mode, 0640);
			assert_int_equal(info.st.nattch, 1);
			assert_int_equal(info.st.removed, 0);
			seen |= 1;
		}
		if (!strcmp(info.st.name, "n-list-2")) {
			assert_int_equal(info.st.removed, 1);
			seen |= 2;
		}
	}
	assert_int_equal(seen, 3);
	assert_int_equal(shmx_seg_next(ctx, UINT64_MAX, &info), -ENOENT);
	assert_int_equal(shmx_seg_next(NULL, 0, &info), -EINVAL);
	assert_int_equal(shmx_seg_remove(s1), 0);
	assert_int_equal(shmx_seg_close(s1), 0);
	assert_int_equal(shmx_seg_close(s2), 0);
}

static void test_remove_then_last_detach(void **state)
{
	struct shmx_seg *a, *b, *n, *x;
	struct shmx_seg_stat st;
	struct shmx_ctx *other;
	uint64_t v = 0x5eed, w = 0, e;
	shmx_gaddr_t old;

	assert_int_equal(client_open(&node, "n-rm-2", 0, &other), 0);
	assert_int_equal(shmx_seg_open(ctx, "n-rm", 4096,
				       SHMX_CREAT | SHMX_EXCL, 0600, &a),
			 0);
	old = shmx_seg_addr(a);
	assert_int_equal(shmx_seg_open(other, "n-rm", 0, 0, 0, &b), 0);
	assert_int_equal(shmx_write(ctx, old, &v, sizeof(v)), 0);

	/* Removed: the name is gone at once, the segment is not. */
	assert_int_equal(shmx_seg_remove(a), 0);
	assert_int_equal(shmx_seg_remove(b), 0); /* twice is harmless */
	stat_of(b, &st);
	assert_int_equal(st.removed, 1);
	assert_int_equal(st.nattch, 2);
	assert_string_equal(st.name, "n-rm");
	assert_int_equal(shmx_seg_open(other, "n-rm", 0, 0, 0, &x), -ENOENT);

	/* A new segment under the same name, apart from the old one. */
	assert_int_equal(shmx_seg_open(other, "n-rm", 4096,
				       SHMX_CREAT | SHMX_EXCL, 0600, &n),
			 0);
	assert_true(shmx_seg_addr(n) != old);
	stat_of(n, &st);
	assert_int_equal(st.removed, 0);
	assert_int_equal(st.nattch, 1);
	assert_int_equal(st.creator_node, shmx_self(other));

	/* The old one still holds its data for its attachers. */
	assert_int_equal(shmx_read(other, old, &w, sizeof(w)), 0);
	assert_int_equal(w, v);
	assert_int_equal(shmx_seg_close(a), 0);
	stat_of(b, &st);
	assert_int_equal(st.nattch, 1);
	assert_int_equal(st.last_detach_node, shmx_self(ctx));
	/* Not attached any more: no key for us, but it is there. */
	assert_int_equal(shmx_own_epoch(ctx, old, &e, NULL), -EACCES);
	assert_int_equal(shmx_own_epoch(other, old, &e, NULL), 0);
	assert_int_equal(e, 1);

	/* The last detach destroys it. */
	assert_int_equal(shmx_seg_close(b), 0);
	assert_int_equal(shmx_own_epoch(ctx, old, &e, NULL), -EFAULT);
	assert_true(node_log_contains(&node, "destroyed at its last detach"));

	assert_int_equal(shmx_seg_remove(n), 0);
	assert_int_equal(shmx_seg_close(n), 0);
	shmx_close(other);
}

/* Attach "n-die", create and remove "n-die-rm", and die attached. */
static int die_attached(int fd, void *arg)
{
	struct shmx_seg *s, *r;
	struct shmx_ctx *c;
	uint64_t v = 0xdead, msg[2];

	if (client_open(arg, "n-dier", 0, &c) ||
	    shmx_seg_open(c, "n-die", 0, 0, 0, &s) ||
	    shmx_write(c, shmx_seg_addr(s), &v, sizeof(v)) ||
	    shmx_seg_open(c, "n-die-rm", 4096, SHMX_CREAT | SHMX_EXCL, 0600,
			  &r) ||
	    shmx_seg_remove(r))
		return 1;
	msg[0] = shmx_self(c);
	msg[1] = shmx_seg_addr(r);
	if (write(fd, msg, sizeof(msg)) != sizeof(msg))
		return 1;
	/* Die without detaching: the node notices and cleans up. */
	_exit(0);
}

static void test_member_dies_attached(void **state)
{
	struct shmx_seg *s;
	struct shmx_seg_stat st;
	uint64_t msg[2], v = 0, e;
	shmx_node_t id;
	int sv[2], gone = 0;
	pid_t pid;

	assert_int_equal(shmx_seg_open(ctx, "n-die", 64, SHMX_CREAT, 0600, &s),
			 0);
	assert_int_equal(pipe(sv), 0);
	pid = spawn_client(die_attached, sv[1], &node);
	close(sv[1]);
	assert_int_equal(reap(pid, 30), 0);
	assert_int_equal(read(sv[0], msg, sizeof(msg)), sizeof(msg));
	close(sv[0]);

	stat_of(s, &st);
	assert_int_equal(st.nattch, 2);
	assert_int_equal(st.last_attach_node, msg[0]);
	assert_int_equal(shmx_own_epoch(ctx, msg[1], &e, NULL), -EACCES);
	/* Once the node has seen it die (client timeout), it is detached. */
	for (int i = 0; i < (client_timeout_ms() + 8000) / 50 && !gone; i++) {
		gone = shmx_lookup(ctx, "n-dier", &id) == -ENOENT;
		if (!gone)
			usleep(50000);
	}
	assert_true(gone);
	stat_of(s, &st);
	assert_int_equal(st.nattch, 1);
	assert_int_equal(st.last_detach_node, msg[0]);
	assert_true(st.dtime > 0);
	assert_int_equal(shmx_read(ctx, shmx_seg_addr(s), &v, sizeof(v)), 0);
	assert_int_equal(v, 0xdead);
	/* Its removed segment went with its last (implicit) detach. */
	assert_int_equal(shmx_own_epoch(ctx, msg[1], &e, NULL), -EFAULT);
	assert_int_equal(shmx_seg_remove(s), 0);
	assert_int_equal(shmx_seg_close(s), 0);
}

/*
 * Take @uid/@gid when running as root (the node checks the uid/gid a
 * client claims: its real ones); otherwise stay who we are.  0 or -1.
 */
/* The owner bits, for whoever this process is (root: uid OTHER_ID). */
static int owner_client(int unused, void *arg)
{
	struct shmx_seg *r, *r2, *w, *x;
	struct shmx_seg_stat st;
	struct shmx_ctx *c;
	uid_t u;
	gid_t g;

	if (client_become(OTHER_ID, OTHER_ID) || client_open(arg, NULL, 0, &c))
		return 1;
	u = getuid();
	g = getgid();
	/* 0400 refuses its own creator a read-write attach: nothing made. */
	if (shmx_seg_open(c, "n-own", 4096, SHMX_CREAT, 0400, &x) != -EACCES)
		return 2;
	if (shmx_seg_open(c, "n-own", 0, SHMX_RDONLY, 0, &x) != -ENOENT)
		return 3;
	if (shmx_seg_open(c, "n-own", 4096, SHMX_CREAT | SHMX_RDONLY, 0400, &r))
		return 4;
	if (shmx_seg_open(c, "n-own", 0, 0, 0, &x) != -EACCES)
		return 5;
	if (shmx_seg_open(c, "n-own", 0, SHMX_RDONLY, 0, &r2))
		return 6;
	if (shmx_seg_stat(r, &st) || st.nattch != 2 || st.mode != 0400 ||
	    st.uid != u || st.gid != g || st.cuid != u)
		return 7;
	/* The owner may change the mode; then read-write is allowed. */
	if (shmx_seg_set(r, u, g, 0600) ||
	    shmx_seg_open(c, "n-own", 0, 0, 0, &w))
		return 8;
	if (shmx_seg_stat(w, &st) || st.nattch != 3 || st.mode != 0600)
		return 9;
	/* Write-only is no access at all: r is needed too. */
	if (shmx_seg_set(r, u, g, 0200) ||
	    shmx_seg_open(c, "n-own", 0, 0, 0, &x) != -EACCES)
		return 10;
	if (shmx_seg_remove(r) || shmx_seg_close(r) || shmx_seg_close(r2) ||
	    shmx_seg_close(w))
		return 11;
	shmx_close(c);
	return 0;
}

static void test_owner_permissions(void **state)
{
	assert_int_equal(reap(spawn_client(owner_client, 0, &node), 30), 0);
}

enum perm_case {
	OTHER_NONE, /* mode 0660, uid/gid OTHER_ID */
	GROUP_READ, /* mode 0640, uid GROUP_UID, gid 0 */
	OTHER_READ, /* mode 0604, uid/gid OTHER_ID */
	NEW_OWNER,  /* owner set to OTHER_ID, mode 0600 */
};

/* Attach "n-perm" as another uid (the test runs as root). */
static int perm_client(int which, void *arg)
{
	uid_t uid = which == GROUP_READ ? GROUP_UID : OTHER_ID;
	gid_t gid = which == GROUP_READ ? 0 : OTHER_ID;
	struct shmx_seg *r, *w;
	struct shmx_seg_stat st;
	struct shmx_ctx *c;
	uint64_t v = 0x0ddba11;

	if (client_become(uid, gid) || getuid() != uid ||
	    client_open(arg, NULL, 0, &c))
		return 1;
	switch (which) {
	case OTHER_NONE:
		if (shmx_seg_open(c, "n-perm", 0, 0, 0, &w) != -EACCES ||
		    shmx_seg_open(c, "n-perm", 0, SHMX_RDONLY, 0, &r) !=
			    -EACCES)
			return 2;
		break;
	case GROUP_READ:
	case OTHER_READ:
		if (shmx_seg_open(c, "n-perm", 0, 0, 0, &w) != -EACCES ||
		    shmx_seg_open(c, "n-perm", 0, SHMX_RDONLY, 0, &r))
			return 3;
		/* Neither owner nor creator: no set, no remove. */
		if (shmx_seg_set(r, uid, gid, 0666) != -EPERM ||
		    shmx_seg_remove(r) != -EPERM)
			return 4;
		if (shmx_seg_stat(r, &st) || st.uid != 0 || st.removed ||
		    shmx_seg_close(r))
			return 5;
		break;
	case NEW_OWNER:
		if (shmx_seg_open(c, "n-perm", 0, 0, 0, &w) ||
		    shmx_write(c, shmx_seg_addr(w), &v, sizeof(v)))
			return 6;
		/* The owner may set; the creator stays the creator. */
		if (shmx_seg_set(w, uid, gid, 0640) || shmx_seg_stat(w, &st) ||
		    st.uid != uid || st.cuid != 0 || st.mode != 0640)
			return 7;
		if (shmx_seg_close(w))
			return 8;
		break;
	default:
		return 9;
	}
	shmx_close(c);
	return 0;
}

static void test_other_uid_permissions(void **state)
{
	struct shmx_seg *s;
	struct shmx_seg_stat st;
	uint64_t v = 0;

	if (geteuid() != 0)
		skip(); /* only root can run clients under other uids */
	assert_int_equal(shmx_seg_open(ctx, "n-perm", 4096,
				       SHMX_CREAT | SHMX_EXCL, 0660, &s),
			 0);
	assert_int_equal(reap(spawn_client(perm_client, OTHER_NONE, &node), 30),
			 0);
	assert_int_equal(shmx_seg_set(s, 0, 0, 0640), 0);
	assert_int_equal(reap(spawn_client(perm_client, GROUP_READ, &node), 30),
			 0);
	assert_int_equal(shmx_seg_set(s, 0, 0, 0604), 0);
	assert_int_equal(reap(spawn_client(perm_client, OTHER_READ, &node), 30),
			 0);
	assert_int_equal(shmx_seg_set(s, OTHER_ID, OTHER_ID, 0600), 0);
	assert_int_equal(reap(spawn_client(perm_client, NEW_OWNER, &node), 30),
			 0);
	stat_of(s, &st);
	assert_int_equal(st.uid, OTHER_ID);
	assert_int_equal(st.gid, OTHER_ID);
	assert_int_equal(st.mode, 0640);
	assert_int_equal(st.cuid, 0);
	assert_int_equal(st.nattch, 1);
	assert_int_equal(shmx_read(ctx, shmx_seg_addr(s), &v, sizeof(v)), 0);
	assert_int_equal(v, 0x0ddba11);
	/* The creator (root) may still remove it. */
	assert_int_equal(shmx_seg_remove(s), 0);
	assert_int_equal(shmx_seg_close(s), 0);
}

static void test_set(void **state)
{
	struct shmx_seg *s;
	struct shmx_seg_stat st;

	assert_int_equal(shmx_seg_open(ctx, "n-set", 8, SHMX_CREAT, 0600, &s),
			 0);
	/* Owner elsewhere: the creator still may change it back. */
	assert_int_equal(shmx_seg_set(s, 12345, 23456, 0444), 0);
	stat_of(s, &st);
	assert_int_equal(st.uid, 12345);
	assert_int_equal(st.gid, 23456);
	assert_int_equal(st.mode, 0444);
	assert_int_equal(st.cuid, getuid());
	assert_int_equal(st.cgid, getgid());
	assert_true(st.ctime > 0);
	assert_int_equal(shmx_seg_set(s, getuid(), getgid(), 0640), 0);
	stat_of(s, &st);
	assert_int_equal(st.uid, getuid());
	assert_int_equal(st.mode, 0640);
	/* Works on a removed segment its attachers still hold. */
	assert_int_equal(shmx_seg_remove(s), 0);
	assert_int_equal(shmx_seg_set(s, getuid(), getgid(), 0600), 0);
	stat_of(s, &st);
	assert_int_equal(st.mode, 0600);
	assert_int_equal(st.removed, 1);
	assert_int_equal(shmx_seg_close(s), 0);
}

static void test_limits(void **state)
{
	struct shmx_seg *a, *b, *x;

	/* Over the node's maximum segment size (12M): -EINVAL, as SysV. */
	assert_int_equal(shmx_seg_open(ctx, "n-huge", (12 << 20) + 8,
				       SHMX_CREAT, 0600, &x),
			 -EINVAL);
	/* Two of 12M fit in the 32M region, a third does not. */
	assert_int_equal(
		shmx_seg_open(ctx, "n-big-a", 12 << 20, SHMX_CREAT, 0600, &a),
		0);
	assert_int_equal(
		shmx_seg_open(ctx, "n-big-b", 12 << 20, SHMX_CREAT, 0600, &b),
		0);
	assert_int_equal(
		shmx_seg_open(ctx, "n-big-c", 12 << 20, SHMX_CREAT, 0600, &x),
		-ENOSPC);
	assert_int_equal(shmx_seg_remove(a), 0);
	assert_int_equal(shmx_seg_close(a), 0);
	/* The room came back with the last detach. */
	assert_int_equal(
		shmx_seg_open(ctx, "n-big-c", 12 << 20, SHMX_CREAT, 0600, &x),
		0);
	assert_int_equal(shmx_seg_remove(x), 0);
	assert_int_equal(shmx_seg_close(x), 0);
	assert_int_equal(shmx_seg_remove(b), 0);
	assert_int_equal(shmx_seg_close(b), 0);
}

static void test_bad_arguments(void **state)
{
	char longname[SHMX_NAME_MAX + 1];
	struct shmx_seg *s, *x;
	struct shmx_seg_stat st;

	memset(longname, 'a', SHMX_NAME_MAX);
	longname[SHMX_NAME_MAX] = '\0';
	assert_int_equal(shmx_seg_open(NULL, "x", 8, SHMX_CREAT, 0600, &x),
			 -EINVAL);
	assert_int_equal(shmx_seg_open(ctx, NULL, 8, SHMX_CREAT, 0600, &x),
			 -EINVAL);
	assert_int_equal(shmx_seg_open(ctx, "x", 8, SHMX_CREAT, 0600, NULL),
			 -EINVAL);
	assert_int_equal(shmx_seg_open(ctx, "", 8, SHMX_CREAT, 0600, &x),
			 -EINVAL);
	assert_int_equal(
		shmx_seg_open(ctx, "bad\nname", 8, SHMX_CREAT, 0600, &x),
		-EINVAL);
	assert_int_equal(shmx_seg_open(ctx, longname, 8, SHMX_CREAT, 0600, &x),
			 -EINVAL);
	assert_int_equal(shmx_seg_open(ctx, "x", 8, 0x100, 0600, &x), -EINVAL);
	assert_int_equal(shmx_seg_open(ctx, "x", 8, SHMX_EXCL, 0600, &x),
			 -EINVAL);
	assert_int_equal(shmx_seg_open(ctx, "x", 8, SHMX_CREAT, 01000, &x),
			 -EINVAL);
	assert_int_equal(shmx_seg_open(ctx, "x", 8, 0, 0, &x), -ENOENT);

	assert_int_equal(shmx_seg_addr(NULL), SHMX_GADDR_NULL);
	assert_int_equal(shmx_seg_size(NULL), 0);
	assert_int_equal(shmx_seg_close(NULL), -EINVAL);
	assert_int_equal(shmx_seg_remove(NULL), -EINVAL);
	assert_int_equal(shmx_seg_stat(NULL, &st), -EINVAL);
	assert_int_equal(shmx_seg_set(NULL, 0, 0, 0600), -EINVAL);

	assert_int_equal(shmx_seg_open(ctx, "n-args", 8, SHMX_CREAT, 0600, &s),
			 0);
	assert_int_equal(shmx_seg_stat(s, NULL), -EINVAL);
	assert_int_equal(shmx_seg_set(s, getuid(), getgid(), 01000), -EINVAL);
	assert_int_equal(shmx_seg_set(s, UINT32_MAX, getgid(), 0600), -EINVAL);
	assert_int_equal(shmx_seg_set(s, getuid(), UINT32_MAX, 0600), -EINVAL);
	assert_int_equal(shmx_seg_remove(s), 0);
	assert_int_equal(shmx_seg_close(s), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_attach_stat),
		cmocka_unit_test(test_data_between_processes),
		cmocka_unit_test(test_readonly_attach_cannot_write),
		cmocka_unit_test(test_listing),
		cmocka_unit_test(test_save_and_load),
		cmocka_unit_test(test_remove_then_last_detach),
		cmocka_unit_test(test_member_dies_attached),
		cmocka_unit_test(test_owner_permissions),
		cmocka_unit_test(test_other_uid_permissions),
		cmocka_unit_test(test_set),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_bad_arguments),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
