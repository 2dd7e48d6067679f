/* SPDX-License-Identifier: MIT */
/*
 * test_auth.c - a node with a key file: the right key joins and is marked
 * authenticated, a wrong key or none is refused with -EACCES, and the node
 * keeps serving its members throughout.
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

static struct node_proc node;
static char good_key[64], bad_key[64], short_key[64];

static void write_key(char *path, const char *tmpl, const char *content)
{
	int fd;

	snprintf(path, 64, "%s", tmpl);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, strlen(content)),
			 (ssize_t)strlen(content));
	close(fd);
}

static int group_setup(void **state)
{
	const char *args[] = { "--size", "8M", "--key-file", good_key, NULL };

	write_key(good_key, "/tmp/shmx-good-key-XXXXXX",
		  "correct horse battery staple 42\n");
	write_key(bad_key, "/tmp/shmx-bad-key-XXXXXX",
		  "incorrect horse battery staple 42\n");
	write_key(short_key, "/tmp/shmx-short-key-XXXXXX", "tooshort\n");
	setenv("SHMEXT_KEY_FILE", good_key, 1);
	return node_start(&node, args);
}

static int group_teardown(void **state)
{
	int st = node_stop(&node);

	unlink(good_key);
	unlink(bad_key);
	unlink(short_key);
	return st == 0 ? 0 : -1;
}

static int open_with_key(const char *key, const char *name,
			 struct shmx_ctx **ctx)
{
	struct shmx_open_attr attr = {
		.comp_mask = SHMX_OPEN_ATTR_NODE | SHMX_OPEN_ATTR_NAME |
			     SHMX_OPEN_ATTR_KEY_FILE,
		.node = node.addr,
		.name = name,
		.key_file = key,
	};

	return shmx_open(&attr, ctx);
}

static void test_right_key_joins(void **state)
{
	struct shmx_info info;
	struct shmx_ctx *ctx;
	shmx_gaddr_t w;

	assert_int_equal(open_with_key(good_key, "keyed", &ctx), 0);
	assert_int_equal(shmx_info(ctx, &info), 0);
	assert_int_equal(info.authenticated, 1);
	assert_int_equal(scratch_alloc(ctx, 8, &w), 0);
	assert_int_equal(shmx_fadd64(ctx, w, 1, NULL), 0);
	assert_int_equal(shmx_release(ctx, w), 0);
	assert_int_equal(shmx_close(ctx), 0);
}

static void test_wrong_or_missing_key_refused(void **state)
{
	struct shmx_ctx *member, *ctx = NULL;
	uint64_t before, after;
	shmx_gaddr_t w;

	assert_int_equal(open_with_key(good_key, "member", &member), 0);
	assert_int_equal(scratch_alloc(member, 8, &w), 0);
	assert_int_equal(shmx_read(member, w, &before, 8), 0);

	assert_int_equal(open_with_key(bad_key, "intruder", &ctx), -EACCES);
	assert_null(ctx);
	unsetenv("SHMEXT_KEY_FILE");
	assert_int_equal(client_open(&node, "keyless", 0, &ctx), -EACCES);
	setenv("SHMEXT_KEY_FILE", good_key, 1);
	assert_int_equal(open_with_key(short_key, "short", &ctx), -EINVAL);
	assert_true(node_log_contains(&node, "failed to authenticate"));

	/* The member was never disturbed. */
	assert_int_equal(shmx_fadd64(member, w, 1, NULL), 0);
	assert_int_equal(shmx_read(member, w, &after, 8), 0);
	assert_int_equal(after, before + 1);
	/* A refused name is free to use. */
	assert_int_equal(open_with_key(good_key, "intruder", &ctx), 0);
	shmx_close(ctx);
	shmx_close(member);
}

static void test_node_refuses_short_key(void **state)
{
	const char *args[] = { "--key-file", short_key, NULL };
	struct node_proc n;

	assert_int_not_equal(node_start(&n, args), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_right_key_joins),
		cmocka_unit_test(test_wrong_or_missing_key_refused),
		cmocka_unit_test(test_node_refuses_short_key),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
