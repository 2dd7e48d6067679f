/* SPDX-License-Identifier: MIT */
/*
 * test_registry.c - shmnode's membership registry: ids, names, states,
 * tombstones, counting and walking in id order.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "registry.h"

static void test_init_bounds(void **state)
{
	struct registry reg;

	assert_int_equal(registry_init(&reg, 0), -EINVAL);
	assert_int_equal(registry_init(&reg, (1u << 20) + 1), -EINVAL);
	assert_int_equal(registry_init(&reg, 4), 0);
	assert_null(registry_slot(&reg, 0));
	assert_null(registry_slot(&reg, 5));
	assert_non_null(registry_slot(&reg, 4));
	assert_null(registry_get(&reg, 1));
	registry_fini(&reg);
}

static void test_alloc_until_full(void **state)
{
	struct registry reg;
	struct member *m[4];

	assert_int_equal(registry_init(&reg, 4), 0);
	for (int i = 0; i < 4; i++) {
		m[i] = registry_alloc(&reg);
		assert_non_null(m[i]);
		assert_int_equal(m[i]->state, MEMBER_PENDING);
		assert_int_equal(m[i]->info.id, (uint32_t)i + 1);
		assert_ptr_equal(registry_get(&reg, m[i]->info.id), m[i]);
	}
	assert_null(registry_alloc(&reg));
	assert_int_equal(registry_count(&reg, MEMBER_PENDING), 4);
	registry_free(&reg, m[2]);
	assert_int_equal(registry_count(&reg, MEMBER_PENDING), 3);
	assert_null(registry_get(&reg, 3));
	/* The freed id is the only one left, so it comes back. */
	assert_ptr_equal(registry_alloc(&reg), m[2]);
	registry_fini(&reg);
}

static void test_ids_are_reused_last(void **state)
{
	struct registry reg;
	struct member *a, *b;

	assert_int_equal(registry_init(&reg, 8), 0);
	a = registry_alloc(&reg);
	registry_free(&reg, a);
	b = registry_alloc(&reg);
	assert_int_not_equal(a->info.id, b->info.id);
	assert_int_equal(b->info.id, 2);
	registry_fini(&reg);
}

static void test_names_and_live_walk(void **state)
{
	struct registry reg;
	struct member *m[5];
	uint32_t seen = 0;

	assert_int_equal(registry_init(&reg, 5), 0);
	for (int i = 0; i < 5; i++) {
		m[i] = registry_alloc(&reg);
		snprintf(m[i]->info.name, sizeof(m[i]->info.name), "node-%d",
			 i);
		if (i % 2 == 0)
			m[i]->state = MEMBER_LIVE;
	}
	assert_ptr_equal(registry_find_name(&reg, "node-3"), m[3]);
	assert_null(registry_find_name(&reg, "node-9"));
	assert_int_equal(registry_count(&reg, MEMBER_LIVE), 3);
	for (struct member *it = registry_next_live(&reg, 0); it;
	     it = registry_next_live(&reg, it->info.id + 1)) {
		assert_int_equal(it->state, MEMBER_LIVE);
		assert_true(it->info.id > seen);
		seen = it->info.id;
	}
	assert_int_equal(seen, 5);
	assert_ptr_equal(registry_next_live(&reg, 2), m[2]);
	assert_null(registry_next_live(&reg, 6));
	registry_free(&reg, m[3]);
	assert_null(registry_find_name(&reg, "node-3"));
	registry_fini(&reg);
}

static void test_tombstone_keeps_address(void **state)
{
	struct registry reg;
	struct member *m;

	assert_int_equal(registry_init(&reg, 2), 0);
	m = registry_alloc(&reg);
	m->token = 0x1234;
	m->addr_len = 3;
	memcpy(m->addr, "abc", 3);
	m->state = MEMBER_LIVE;
	registry_free(&reg, m);
	m = registry_slot(&reg, 1);
	assert_int_equal(m->state, MEMBER_FREE);
	assert_int_equal(m->info.id, 1);
	assert_int_equal(m->token, 0x1234);
	assert_int_equal(m->addr_len, 3);
	assert_memory_equal(m->addr, "abc", 3);
	assert_int_equal(m->info.name[0], '\0');
	registry_fini(&reg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_bounds),
		cmocka_unit_test(test_alloc_until_full),
		cmocka_unit_test(test_ids_are_reused_last),
		cmocka_unit_test(test_names_and_live_walk),
		cmocka_unit_test(test_tombstone_keeps_address),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
