/* SPDX-License-Identifier: MIT */
/*
 * test_data.c - one-sided data against a real shmnode: reads and writes of
 * every shape, non-blocking requests, atomics, the root pointer, membership
 * queries, and the errors of bad arguments.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define REGION (16u << 20)
/* One block over a whole pool: the memory these tests use (no key covers
 * memory outside an object). */
#define AREA (15u << 20)

static struct node_proc node;
static struct shmx_ctx *ctx;
static shmx_gaddr_t base;

static int group_setup(void **state)
{
	static const char *const args[] = { "--size", "16M", NULL };

	if (node_start(&node, args) || client_open(&node, "test-data", 0, &ctx))
		return -1;
	return area_create(ctx, "test-data", AREA, &base);
}

static int group_teardown(void **state)
{
	int st;

	shmx_close(ctx);
	st = node_stop(&node);
	/* shmnode shuts down cleanly on SIGTERM. */
	return st == 0 ? 0 : -1;
}

static void fill(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed * 31 + i * 7 + (i >> 8));
}

/* What the context should report: the environment's choice, else ofi. */
static const char *expected_transport(void)
{
	const char *t = getenv("SHMEXT_TRANSPORT");

	return t && *t ? t : "ofi";
}

static const char *expected_provider(void)
{
	const char *p = getenv("SHMEXT_PROVIDER");

	return p && *p ? p : "tcp;ofi_rxm";
}

static void test_info_and_self(void **state)
{
	struct shmx_info info;

	assert_int_not_equal(shmx_self(ctx), 0);
	assert_int_equal(shmx_self(NULL), 0);
	assert_int_equal(shmx_info(ctx, &info), 0);
	assert_int_equal(info.region_size, REGION);
	assert_int_equal(info.self, shmx_self(ctx));
	assert_true(info.member_count >= 1);
	assert_string_equal(info.transport, expected_transport());
	if (!strcmp(info.transport, "ofi"))
		assert_string_equal(info.provider, expected_provider());
	else
		assert_true(info.provider[0] != 0); /* the RDMA device */
	assert_string_equal(info.node, node.addr);
	/* Across hosts (remote mode) every node has a key. */
	assert_int_equal(info.authenticated, test_remote());
	assert_int_equal(shmx_info(ctx, NULL), -EINVAL);
}

static void test_read_write_shapes(void **state)
{
	static const size_t lens[] = {
		1, 3, 7, 8, 9, 63, 4096, 65537, 1u << 20, (3u << 20) + 5
	};
	static const uint64_t offs[] = { 0, 1, 13, 4095, 1u << 20 };
	size_t max = (3u << 20) + 5;
	uint8_t *out = malloc(max), *in = malloc(max);

	assert_non_null(out);
	assert_non_null(in);
	for (size_t i = 0; i < sizeof(lens) / sizeof(*lens); i++) {
		for (size_t j = 0; j < sizeof(offs) / sizeof(*offs); j++) {
			fill(out, lens[i], (unsigned)(i * 10 + j));
			memset(in, 0xee, lens[i]);
			assert_int_equal(
				shmx_write(ctx, base + offs[j], out, lens[i]),
				0);
			assert_int_equal(
				shmx_read(ctx, base + offs[j], in, lens[i]), 0);
			assert_memory_equal(in, out, lens[i]);
		}
	}
	/* The very last byte of the block. */
	out[0] = 0x5a;
	assert_int_equal(shmx_write(ctx, base + AREA - 1, out, 1), 0);
	assert_int_equal(shmx_read(ctx, base + AREA - 1, in, 1), 0);
	assert_int_equal(in[0], 0x5a);
	free(out);
	free(in);
}

static void test_bad_ranges(void **state)
{
	uint8_t buf[16] = { 0 };
	struct shmx_req *req = NULL;

	assert_int_equal(shmx_read(ctx, REGION, buf, 1), -EFAULT);
	assert_int_equal(shmx_write(ctx, REGION - 8, buf, 9), -EFAULT);
	assert_int_equal(shmx_read(ctx, UINT64_MAX, buf, 2), -EFAULT);
	assert_int_equal(shmx_write(ctx, 8, buf, SIZE_MAX), -EFAULT);
	assert_int_equal(shmx_read_nb(ctx, REGION, buf, 1, &req), -EFAULT);
	assert_null(req);
	/* The header area (gaddr 0..): every member reads it, none writes. */
	assert_int_equal(shmx_read(ctx, 0, buf, 16), 0);
	assert_memory_equal(buf + 8, "SMXH", 4);
	assert_int_equal(shmx_write(ctx, 0, buf, 8), -EACCES);
	assert_int_equal(shmx_write_nb(ctx, 8, buf, 8, &req), -EACCES);
	assert_null(req);
	assert_int_equal(shmx_fadd64(ctx, 64, 1, NULL), -EACCES);
	/* Inside the memory but in no object: no key, nothing written. */
	assert_int_equal(shmx_write(ctx, base + AREA, buf, 8), -EFAULT);
	assert_int_equal(shmx_fadd64(ctx, base + AREA, 1, NULL), -EFAULT);
	assert_int_equal(shmx_read_nb(ctx, base + AREA, buf, 8, &req), -EFAULT);
	assert_null(req);
	memset(buf, 0x77, sizeof(buf));
	assert_int_equal(shmx_write(ctx, base + AREA - 8, buf, 16), -EFAULT);
	assert_int_equal(shmx_read(ctx, base + AREA - 8, buf, 8), 0);
	assert_int_not_equal(buf[0], 0x77);
	assert_int_equal(shmx_read(ctx, 0, NULL, 1), -EINVAL);
	assert_int_equal(shmx_write(NULL, 0, buf, 1), -EINVAL);
	assert_int_equal(shmx_read(ctx, 0, NULL, 0), 0);
	assert_int_equal(shmx_write(ctx, 0, buf, 0), 0);
	assert_int_equal(shmx_wait(NULL, 0), -EINVAL);
	assert_int_equal(shmx_test(NULL), -EINVAL);
	assert_int_equal(shmx_flush(NULL), -EINVAL);
	/* Atomics: misaligned, out of range. */
	assert_int_equal(shmx_cas64(ctx, 4, 0, 1, NULL), -EINVAL);
	assert_int_equal(shmx_fadd64(ctx, 1, 1, NULL), -EINVAL);
	assert_int_equal(shmx_fadd64(ctx, REGION, 1, NULL), -EFAULT);
	assert_int_equal(shmx_cas64(ctx, REGION - 4, 0, 1, NULL), -EINVAL);
	/* The context still works after all of that. */
	assert_int_equal(shmx_write(ctx, base, buf, sizeof(buf)), 0);
}

static void test_nonblocking(void **state)
{
	enum { N = 16, LEN = 100000 };
	struct shmx_req *req[N];
	uint8_t *out = malloc((size_t)N * LEN), *in = malloc((size_t)N * LEN);
	int ret;

	assert_non_null(out);
	assert_non_null(in);
	fill(out, (size_t)N * LEN, 99);
	for (int i = 0; i < N; i++)
		assert_int_equal(
			shmx_write_nb(ctx,
				      base + (2u << 20) + (uint64_t)i * LEN,
				      out + (size_t)i * LEN, LEN, &req[i]),
			0);
	assert_int_equal(shmx_flush(ctx), 0);
	for (int i = 0; i < N; i++) {
		/* Flushed: every request is already complete. */
		assert_int_equal(shmx_test(req[i]), 0);
	}
	for (int i = 0; i < N; i++)
		assert_int_equal(
			shmx_read_nb(ctx, base + (2u << 20) + (uint64_t)i * LEN,
				     in + (size_t)i * LEN, LEN, &req[i]),
			0);
	for (int i = N - 1; i >= 0; i--) {
		ret = shmx_test(req[i]);
		if (ret == -EINPROGRESS)
			ret = shmx_wait(req[i], -1);
		assert_int_equal(ret, 0);
	}
	assert_memory_equal(in, out, (size_t)N * LEN);
	free(out);
	free(in);
}

static void test_atomics(void **state)
{
	const shmx_gaddr_t w = base + (8u << 20);
	uint64_t v = 41, old = 0;

	assert_int_equal(shmx_write(ctx, w, &v, 8), 0);
	assert_int_equal(shmx_cas64(ctx, w, 41, 42, &old), 0);
	assert_int_equal(old, 41);
	/* A failing compare leaves the word and reports what it was. */
	assert_int_equal(shmx_cas64(ctx, w, 41, 99, &old), 0);
	assert_int_equal(old, 42);
	assert_int_equal(shmx_fadd64(ctx, w, 8, &old), 0);
	assert_int_equal(old, 42);
	assert_int_equal(shmx_fadd64(ctx, w, (uint64_t)-50, NULL), 0);
	assert_int_equal(shmx_read(ctx, w, &v, 8), 0);
	assert_int_equal(v, 0);
	/* Last aligned word of the block. */
	assert_int_equal(shmx_fadd64(ctx, base + AREA - 8, 1, NULL), 0);
}

static void *thread_fadd(void *arg)
{
	for (int i = 0; i < 2000; i++)
		if (shmx_fadd64(ctx, base + (9u << 20), 1, NULL))
			return (void *)1;
	return NULL;
}

static void test_threads_share_a_context(void **state)
{
	pthread_t t[4];
	uint64_t zero = 0, v;
	void *r;

	assert_int_equal(shmx_write(ctx, base + (9u << 20), &zero, 8), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, thread_fadd, NULL),
				 0);
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], &r);
		assert_null(r);
	}
	assert_int_equal(shmx_read(ctx, base + (9u << 20), &v, 8), 0);
	assert_int_equal(v, 8000);
}

static void test_root(void **state)
{
	shmx_gaddr_t root;

	assert_int_equal(shmx_root_get(ctx, &root), 0);
	assert_int_equal(root, SHMX_GADDR_NULL);
	assert_int_equal(shmx_root_set(ctx, 4096), 0);
	assert_int_equal(shmx_root_get(ctx, &root), 0);
	assert_int_equal(root, 4096);
	/* A client that starts (or restarts) finds it. */
	{
		struct shmx_ctx *again;

		assert_int_equal(
			client_open(&node, "test-data-restart", 0, &again), 0);
		assert_int_equal(shmx_root_get(again, &root), 0);
		assert_int_equal(root, 4096);
		assert_int_equal(shmx_close(again), 0);
	}
	assert_int_equal(shmx_root_set(ctx, REGION), -EFAULT);
	assert_int_equal(shmx_root_get(ctx, &root), 0);
	assert_int_equal(root, 4096);
	assert_int_equal(shmx_root_get(ctx, NULL), -EINVAL);
	assert_int_equal(shmx_root_set(ctx, SHMX_GADDR_NULL), 0);
}

static void test_members(void **state)
{
	struct shmx_member m[8];
	struct shmx_ctx *other;
	shmx_node_t id;
	size_t count;
	int found = 0;

	assert_int_equal(client_open(&node, "test-data-peer", 0, &other), 0);
	assert_int_equal(shmx_members(ctx, m, 8, &count), 0);
	assert_int_equal(count, 2);
	for (size_t i = 0; i < count; i++) {
		if (!strcmp(m[i].name, "test-data-peer")) {
			found = 1;
			assert_int_equal(m[i].id, shmx_self(other));
			assert_int_equal(m[i].pid, (uint32_t)getpid());
			assert_true(m[i].joined > 0);
			assert_true(m[i].host[0] != '\0');
		}
	}
	assert_true(found);
	/* count is the total even when the array is smaller. */
	assert_int_equal(shmx_members(ctx, m, 1, &count), 0);
	assert_int_equal(count, 2);
	assert_int_equal(shmx_members(ctx, NULL, 0, &count), 0);
	assert_int_equal(count, 2);
	assert_int_equal(shmx_lookup(ctx, "test-data-peer", &id), 0);
	assert_int_equal(id, shmx_self(other));
	assert_int_equal(shmx_lookup(ctx, "nobody", &id), -ENOENT);
	assert_int_equal(shmx_lookup(ctx, "", &id), -EINVAL);
	assert_int_equal(shmx_lookup(ctx, "bad\x01name", &id), -EINVAL);
	/* A name is unique among live members. */
	{
		struct shmx_ctx *dup = NULL;

		assert_int_equal(client_open(&node, "test-data-peer", 0, &dup),
				 -EADDRINUSE);
		assert_null(dup);
	}
	assert_int_equal(shmx_close(other), 0);
	assert_int_equal(shmx_lookup(ctx, "test-data-peer", &id), -ENOENT);
	assert_int_equal(shmx_members(ctx, m, 8, &count), 0);
	assert_int_equal(count, 1);
}

static void test_open_arguments(void **state)
{
	struct shmx_open_attr attr = { .comp_mask = 1u << 30 };
	struct shmx_ctx *c = NULL;

	assert_int_equal(shmx_open(&attr, &c), -EINVAL);
	assert_int_equal(shmx_open(NULL, NULL), -EINVAL);
	attr.comp_mask = SHMX_OPEN_ATTR_NODE;
	attr.node = "127.0.0.1:0";
	assert_int_equal(shmx_open(&attr, &c), -EINVAL);
	attr.node = "127.0.0.1:notaport";
	assert_int_equal(shmx_open(&attr, &c), -EINVAL);
	attr.comp_mask = SHMX_OPEN_ATTR_NODE | SHMX_OPEN_ATTR_TIMEOUT;
	attr.node = node.addr;
	attr.timeout_ms = 0;
	assert_int_equal(shmx_open(&attr, &c), -EINVAL);
	attr.comp_mask = SHMX_OPEN_ATTR_NODE | SHMX_OPEN_ATTR_TRANSPORT;
	attr.transport = "carrier-pigeon";
	assert_int_equal(shmx_open(&attr, &c), -ENODEV);
	attr.comp_mask = SHMX_OPEN_ATTR_NODE | SHMX_OPEN_ATTR_KEY_FILE;
	attr.key_file = "/nonexistent/shmext.key";
	assert_int_equal(shmx_open(&attr, &c), -ENOENT);
	attr.comp_mask = SHMX_OPEN_ATTR_NODE | SHMX_OPEN_ATTR_NAME;
	attr.name = "";
	assert_int_equal(shmx_open(&attr, &c), -EINVAL);
	attr.name =
		"a-name-that-is-far-too-long-to-fit-in-the-sixty-four-bytes-"
		"allowed";
	assert_int_equal(shmx_open(&attr, &c), -EINVAL);
	assert_null(c);
	assert_int_equal(shmx_close(NULL), 0);
}

static void test_strerror(void **state)
{
	assert_string_equal(shmx_strerror(0), "Success");
	assert_non_null(strstr(shmx_strerror(-EFAULT), "region"));
	assert_string_equal(shmx_strerror(-EFAULT), shmx_strerror(EFAULT));
	assert_non_null(shmx_strerror(-123456));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_info_and_self),
		cmocka_unit_test(test_read_write_shapes),
		cmocka_unit_test(test_bad_ranges),
		cmocka_unit_test(test_nonblocking),
		cmocka_unit_test(test_atomics),
		cmocka_unit_test(test_threads_share_a_context),
		cmocka_unit_test(test_root),
		cmocka_unit_test(test_members),
		cmocka_unit_test(test_open_arguments),
		cmocka_unit_test(test_strerror),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
