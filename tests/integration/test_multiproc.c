/* SPDX-License-Identifier: MIT */
/*
 * test_multiproc.c - several compute processes share one shmnode: each
 * writes its own range and reads everyone else's; all hammer one counter
 * with fetch-add and the total comes out exact.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define NPROC 4
#define SLOT (64u << 10)
/* Offsets in the test's block (area_create), which children find by the
 * pool's name. */
#define AREA (4u << 20)
#define BARRIER (base + (1u << 20))
#define COUNTER (BARRIER + 8)
#define SLOTS (base + (2u << 20))
#define FADDS 10000

static struct node_proc node;
static shmx_gaddr_t base;

static int group_setup(void **state)
{
	static const char *const args[] = { "--size", "32M", NULL };
	struct shmx_ctx *ctx;
	int ret;

	if (node_start(&node, args) || client_open(&node, "setup", 0, &ctx))
		return -1;
	ret = area_create(ctx, "multiproc", AREA, &base);
	shmx_close(ctx);
	return ret;
}

static int group_teardown(void **state)
{
	return node_stop(&node) == 0 ? 0 : -1;
}

static uint8_t pattern(int writer, size_t i)
{
	return (uint8_t)(writer * 67 + i * 13 + (i >> 9));
}

/* Wait until the shared word reaches @target; bounded. */
static int barrier(struct shmx_ctx *ctx, uint64_t target)
{
	uint64_t v = 0;

	for (int i = 0; i < 20000; i++) {
		if (shmx_read(ctx, BARRIER, &v, 8))
			return -1;
		if (v >= target)
			return 0;
		usleep(500);
	}
	fprintf(stderr, "barrier stuck at %llu of %llu\n",
		(unsigned long long)v, (unsigned long long)target);
	return -1;
}

static int disjoint_client(int me, void *arg)
{
	const struct node_proc *n = arg;
	uint8_t *buf = malloc(SLOT);
	struct shmx_ctx *ctx;
	char name[32];
	int bad = 0;

	snprintf(name, sizeof(name), "writer-%d", me);
	if (!buf || client_open(n, name, 0, &ctx) ||
	    area_find(ctx, "multiproc", &base))
		return 1;
	for (size_t i = 0; i < SLOT; i++)
		buf[i] = pattern(me, i);
	if (shmx_write(ctx, SLOTS + (uint64_t)me * SLOT, buf, SLOT) ||
	    shmx_fadd64(ctx, BARRIER, 1, NULL) || barrier(ctx, NPROC))
		return 1;
	for (int w = 0; w < NPROC; w++) {
		if (shmx_read(ctx, SLOTS + (uint64_t)w * SLOT, buf, SLOT))
			return 1;
		for (size_t i = 0; i < SLOT; i++)
			bad += buf[i] != pattern(w, i);
	}
	if (bad)
		fprintf(stderr, "writer-%d: %d bytes wrong\n", me, bad);
	shmx_close(ctx);
	free(buf);
	return bad != 0;
}

/* Write one word with a short-lived context. */
static void put_word(shmx_gaddr_t at, uint64_t v)
{
	struct shmx_ctx *ctx;

	assert_int_equal(client_open(&node, "setup", 0, &ctx), 0);
	assert_int_equal(shmx_write(ctx, at, &v, 8), 0);
	assert_int_equal(shmx_close(ctx), 0);
}

static void test_disjoint_ranges(void **state)
{
	put_word(BARRIER, 0);
	assert_int_equal(run_clients(NPROC, disjoint_client, &node, 60), 0);
}

static int fadd_client(int me, void *arg)
{
	const struct node_proc *n = arg;
	struct shmx_ctx *ctx;
	uint64_t old, last = 0;
	char name[32];

	snprintf(name, sizeof(name), "adder-%d", me);
	if (client_open(n, name, 0, &ctx) || area_find(ctx, "multiproc", &base))
		return 1;
	for (int i = 0; i < FADDS; i++) {
		if (shmx_fadd64(ctx, COUNTER, 1, &old))
			return 1;
		/* Values handed out to one process only ever grow. */
		if (i && old <= last)
			return 1;
		last = old;
	}
	return shmx_close(ctx) != 0;
}

static void test_fadd_total_is_exact(void **state)
{
	struct shmx_ctx *ctx;
	uint64_t v = 0;

	put_word(COUNTER, 0);
	assert_int_equal(run_clients(NPROC, fadd_client, &node, 120), 0);
	assert_int_equal(client_open(&node, "check", 0, &ctx), 0);
	assert_int_equal(shmx_read(ctx, COUNTER, &v, 8), 0);
	assert_int_equal(v, (uint64_t)NPROC * FADDS);
	shmx_close(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_disjoint_ranges),
		cmocka_unit_test(test_fadd_total_is_exact),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
