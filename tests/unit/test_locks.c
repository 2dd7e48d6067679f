/* SPDX-License-Identifier: MIT */
/*
 * test_locks.c - shmnode's lock table (node/locks.c) over a buffer of this
 * test's own standing in for the registered lock-table memory: named
 * find-or-create, anonymous and by-id reservations, unreserve refused
 * without a reservation or while the lock word is not quiet, a member's
 * departure, slots reused only when quiet, a full table, the records
 * zeroed and the words never written, listings, and that an allocation
 * failure leaves the table as it was.  The test sets lock words itself,
 * as members' remote atomics would.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "locks.h"

/*
 * Allocation failures: the test links with --wrap for calloc and realloc,
 * so the table's calls come here.  fail_alloc_in = n makes the n-th call
 * from now fail.
 */
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t size);
static int fail_alloc_in;

static int alloc_fails(void)
{
	return fail_alloc_in > 0 && --fail_alloc_in == 0;
}

void *__wrap_calloc(size_t n, size_t size)
{
	return alloc_fails() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t size)
{
	return alloc_fails() ? NULL : __real_realloc(p, size);
}

#define NSLOTS 8
#define WORDS_PER_SLOT (SHMX_LOCK_SLOT / 8)

static uint64_t mem[NSLOTS * WORDS_PER_SLOT];
static struct node_locks lt;

/* A lock word with @taken exclusive tickets taken and @done of them done. */
static uint64_t word(unsigned taken, unsigned done)
{
	return (uint64_t)taken << SHMX_LW_MX_SHIFT |
	       (uint64_t)done << SHMX_LW_NX_SHIFT | 3ull << SHMX_LW_TAG_SHIFT;
}

static void set_word(uint32_t slot, uint64_t w)
{
	__atomic_store_n(&mem[slot * WORDS_PER_SLOT], w, __ATOMIC_RELAXED);
}

static int setup(void **state)
{
	memset(mem, 0, sizeof(mem));
	fail_alloc_in = 0;
	return node_locks_init(&lt, mem, NSLOTS);
}

static int teardown(void **state)
{
	assert_int_equal(node_locks_check(&lt), 0);
	node_locks_fini(&lt);
	node_locks_fini(&lt); /* harmless twice */
	return 0;
}

/* Reserve for @member and return the lock's info (the call must work). */
static struct node_lock_info reserve(uint32_t member, uint64_t id,
				     const char *name, int want_created)
{
	struct node_lock_info info;
	int created = -1;

	assert_int_equal(
		node_lock_reserve(&lt, member, id, name, 500, &info, &created),
		0);
	assert_int_equal(created, want_created);
	assert_int_equal(node_locks_check(&lt), 0);
	return info;
}

static uint32_t nr_locks(void)
{
	uint32_t n;

	assert_int_equal(node_locks_count(&lt, &n, NULL), 0);
	return n;
}

static void test_init_args(void **state)
{
	struct node_locks t;

	assert_int_equal(node_locks_init(&t, NULL, 4), -EINVAL);
	assert_int_equal(node_locks_init(&t, (uint8_t *)mem + 4, 4), -EINVAL);
	assert_int_equal(node_locks_init(&t, mem, 0), -EINVAL);
	assert_int_equal(nr_locks(), 0);
}

static void test_named_find_or_create(void **state)
{
	struct node_lock_info a, b, c;
	uint64_t res;

	a = reserve(1, 0, "queue", 1);
	assert_int_equal(a.id, 1);
	assert_string_equal(a.name, "queue");
	assert_int_equal(a.lease_ms, 500);
	assert_int_equal(a.creator, 1);
	assert_int_equal(a.reservations, 1);
	/* Another member, and the same one again: the same lock.  The
	 * lease of a later call does not change it. */
	assert_int_equal(node_lock_reserve(&lt, 2, 0, "queue", 9000, &b, NULL),
			 0);
	c = reserve(1, 0, "queue", 0);
	assert_int_equal(b.id, a.id);
	assert_int_equal(b.slot, a.slot);
	assert_int_equal(b.lease_ms, 500);
	assert_int_equal(c.id, a.id);
	assert_int_equal(c.reservations, 3);
	assert_int_equal(c.creator, 1);
	/* Another name: another lock. */
	b = reserve(2, 0, "queue2", 1);
	assert_int_equal(b.id, 2);
	assert_int_not_equal(b.slot, a.slot);
	assert_int_equal(node_locks_count(&lt, NULL, &res), 0);
	assert_int_equal(res, 4);
	assert_int_equal(nr_locks(), 2);
}

static void test_anonymous_new_ids(void **state)
{
	struct node_lock_info a, b, c, n;

	a = reserve(1, 0, NULL, 1);
	b = reserve(1, 0, "", 1);
	assert_int_equal(a.id, 1);
	assert_int_equal(b.id, 2);
	assert_string_equal(a.name, "");
	assert_int_not_equal(a.slot, b.slot);
	/* An anonymous lock is shared by its id. */
	n = reserve(2, b.id, NULL, 0);
	assert_int_equal(n.id, b.id);
	assert_int_equal(n.reservations, 2);
	/* Ids are never reused, not even a freed lock's. */
	assert_int_equal(node_lock_unreserve(&lt, 1, a.id), 0);
	c = reserve(3, 0, NULL, 1);
	assert_int_equal(c.id, 3);
}

static void test_bad_args(void **state)
{
	char longname[SHMX_NAME_MAX + 1];

	memset(longname, 'x', SHMX_NAME_MAX);
	longname[SHMX_NAME_MAX] = '\0';
	reserve(1, 0, "a", 1);
	/* By id: a missing one, and one with a name too. */
	assert_int_equal(node_lock_reserve(&lt, 1, 99, NULL, 500, NULL, NULL),
			 -ENOENT);
	assert_int_equal(node_lock_reserve(&lt, 1, 1, "a", 500, NULL, NULL),
			 -EINVAL);
	assert_int_equal(node_lock_reserve(&lt, 0, 0, "a", 500, NULL, NULL),
			 -EINVAL);
	assert_int_equal(node_lock_reserve(&lt, 1, 0, "a\n", 500, NULL, NULL),
			 -EINVAL);
	assert_int_equal(
		node_lock_reserve(&lt, 1, 0, longname, 500, NULL, NULL),
		-EINVAL);
	assert_int_equal(node_lock_reserve(&lt, 1, 0, "a", 0, NULL, NULL),
			 -EINVAL);
	assert_int_equal(node_lock_reserve(&lt, 1, 0, "a",
					   SHMX_LOCK_LEASE_MAX_MS + 1, NULL,
					   NULL),
			 -EINVAL);
	assert_int_equal(node_lock_reserve(&lt, 1, 0, "b",
					   SHMX_LOCK_LEASE_MAX_MS, NULL, NULL),
			 0);
	assert_int_equal(nr_locks(), 2);
}

static void test_unreserve(void **state)
{
	struct node_lock_info a, info;

	a = reserve(1, 0, "a", 1);
	reserve(2, a.id, NULL, 0);
	/* A member without a reservation, an id without a lock. */
	assert_int_equal(node_lock_unreserve(&lt, 3, a.id), -ENOENT);
	assert_int_equal(node_lock_unreserve(&lt, 0, a.id), -ENOENT);
	assert_int_equal(node_lock_unreserve(&lt, 1, a.id + 1), -ENOENT);
	/* Held, then waited for: refused, nothing changes. */
	set_word(a.slot, word(1, 0));
	assert_int_equal(node_lock_unreserve(&lt, 1, a.id), -EBUSY);
	set_word(a.slot, word(5, 3));
	assert_int_equal(node_lock_unreserve(&lt, 1, a.id), -EBUSY);
	assert_int_equal(node_lock_next(&lt, 0, &info), 0);
	assert_int_equal(info.reservations, 2);
	/* Quiet again (every ticket done): one reservation each goes. */
	set_word(a.slot, word(5, 5));
	assert_int_equal(node_lock_unreserve(&lt, 1, a.id), 0);
	assert_int_equal(node_lock_unreserve(&lt, 1, a.id), -ENOENT);
	assert_int_equal(node_lock_next(&lt, 0, &info), 0);
	assert_int_equal(info.reservations, 1);
	assert_int_equal(node_locks_check(&lt), 0);
	/* The last one ends the lock: its id and its name are gone. */
	assert_int_equal(node_lock_unreserve(&lt, 2, a.id), 0);
	assert_int_equal(node_lock_next(&lt, 0, &info), -ENOENT);
	assert_int_equal(node_lock_reserve(&lt, 2, a.id, NULL, 500, NULL, NULL),
			 -ENOENT);
	info = reserve(2, 0, "a", 1);
	assert_int_not_equal(info.id, a.id);
}

static void test_member_gone(void **state)
{
	struct node_lock_info a, b, c, info;
	uint64_t res;

	a = reserve(1, 0, "shared", 1);
	reserve(1, a.id, NULL, 0);
	reserve(2, a.id, NULL, 0);
	b = reserve(1, 0, NULL, 1);
	c = reserve(2, 0, NULL, 1);
	/* Member 1 holds b and waits on a: it goes all the same. */
	set_word(b.slot, word(1, 0));
	set_word(a.slot, word(2, 1));
	assert_int_equal(node_locks_member_gone(&lt, 0), -EINVAL);
	assert_int_equal(node_locks_member_gone(&lt, 1), 0);
	assert_int_equal(node_locks_check(&lt), 0);
	assert_int_equal(nr_locks(), 2);
	assert_int_equal(node_locks_count(&lt, NULL, &res), 0);
	assert_int_equal(res, 2);
	assert_int_equal(node_lock_next(&lt, 0, &info), 0);
	assert_int_equal(info.id, a.id);
	assert_int_equal(info.reservations, 1);
	assert_int_equal(node_lock_next(&lt, a.id + 1, &info), 0);
	assert_int_equal(info.id, c.id);
	assert_int_equal(node_lock_unreserve(&lt, 1, a.id), -ENOENT);
	/* Nothing of member 1 is left to drop; member 2 ends the rest. */
	assert_int_equal(node_locks_member_gone(&lt, 1), 0);
	assert_int_equal(node_locks_member_gone(&lt, 2), 0);
	assert_int_equal(nr_locks(), 0);
	assert_int_equal(node_locks_count(&lt, NULL, &res), 0);
	assert_int_equal(res, 0);
}

static void test_busy_slot_not_reused(void **state)
{
	struct node_lock_info l[NSLOTS], n;

	for (int i = 0; i < NSLOTS; i++)
		l[i] = reserve(1, 0, NULL, 1);
	/* Slot of lock 0 freed while waited on, then lock 1's, quiet. */
	set_word(l[0].slot, word(2, 1));
	assert_int_equal(node_locks_member_gone(&lt, 1), 0);
	for (int i = 0; i < NSLOTS; i++)
		if (i != 0)
			set_word(l[i].slot, word(7, 7));
	/* Every slot is free; lock 0's is passed over, each time. */
	for (int i = 1; i < NSLOTS; i++) {
		n = reserve(2, 0, NULL, 1);
		assert_int_not_equal(n.slot, l[0].slot);
	}
	assert_int_equal(node_lock_reserve(&lt, 2, 0, NULL, 500, &n, NULL),
			 -ENOSPC);
	assert_int_equal(node_locks_check(&lt), 0);
	/* Its waiter is done: the slot serves again. */
	set_word(l[0].slot, word(2, 2));
	n = reserve(2, 0, NULL, 1);
	assert_int_equal(n.slot, l[0].slot);
}

static void test_full_table(void **state)
{
	struct node_lock_info first;
	char name[8];

	first = reserve(1, 0, "n0", 1);
	for (int i = 1; i < NSLOTS; i++) {
		snprintf(name, sizeof(name), "n%d", i);
		reserve(1, 0, name, 1);
	}
	assert_int_equal(node_lock_reserve(&lt, 1, 0, "more", 500, NULL, NULL),
			 -ENOSPC);
	assert_int_equal(node_lock_reserve(&lt, 1, 0, NULL, 500, NULL, NULL),
			 -ENOSPC);
	assert_int_equal(nr_locks(), NSLOTS);
	/* Existing locks can still be reserved, by name and by id. */
	reserve(2, 0, "n3", 0);
	reserve(2, first.id, NULL, 0);
	/* One freed: room for one. */
	assert_int_equal(node_locks_member_gone(&lt, 1), 0);
	assert_int_equal(nr_locks(), 2);
	reserve(1, 0, "more", 1);
}

static void test_slot_words_and_records(void **state)
{
	uint8_t out[NODE_LOCK_INFO_BYTES];
	struct node_lock_info a;
	uint64_t *s;

	/* Slot 0, as a gone lock left it: words and records. */
	s = &mem[0];
	memset(s, 0xaa, SHMX_LOCK_SLOT);
	s[0] = word(9, 9);
	s[1] = 0x0123456789abcdefull;
	a = reserve(1, 0, "w", 1);
	assert_int_equal(a.slot, 0);
	/* The words untouched, the records (bytes 16..127) zeroed. */
	assert_int_equal(s[0], word(9, 9));
	assert_int_equal(s[1], 0x0123456789abcdefull);
	for (unsigned i = 2; i < WORDS_PER_SLOT; i++)
		assert_int_equal(s[i], 0);

	/* A listing's bytes: 112 of them, each word little-endian. */
	for (unsigned i = 2; i < WORDS_PER_SLOT; i++)
		s[i] = 0x1111111111111111ull * i;
	assert_int_equal(node_lock_slot_read(&lt, a.slot, out), 0);
	for (unsigned i = 0; i < NODE_LOCK_INFO_BYTES / 8; i++)
		for (unsigned b = 0; b < 8; b++)
			assert_int_equal(out[8 * i + b],
					 (uint8_t)(s[i] >> (8 * b)));
	assert_int_equal(node_lock_slot_read(&lt, NSLOTS, out), -EINVAL);
}

static void test_listing(void **state)
{
	struct node_lock_info info;
	uint64_t ids[4], from, seen = 0;

	ids[0] = reserve(1, 0, "x", 1).id;
	ids[1] = reserve(2, 0, NULL, 1).id;
	ids[2] = reserve(3, 0, "b", 1).id;
	ids[3] = reserve(1, 0, "a", 1).id;
	reserve(4, ids[2], NULL, 0);
	assert_int_equal(node_lock_unreserve(&lt, 2, ids[1]), 0);
	/* By increasing id, not by name; the freed id is skipped. */
	for (from = 0; !node_lock_next(&lt, from, &info); from = info.id + 1) {
		static const uint64_t want[] = { 1, 3, 4 };

		assert_true(seen < 3);
		assert_int_equal(info.id, want[seen]);
		seen++;
	}
	assert_int_equal(seen, 3);
	assert_int_equal(node_lock_next(&lt, ids[1], &info), 0);
	assert_int_equal(info.id, ids[2]);
	assert_string_equal(info.name, "b");
	assert_int_equal(info.creator, 3);
	assert_int_equal(info.reservations, 2);
	assert_int_equal(info.lease_ms, 500);
	assert_int_equal(node_lock_next(&lt, ids[3] + 1, &info), -ENOENT);
	assert_int_equal(node_lock_next(&lt, UINT64_MAX, &info), -ENOENT);
}

/* Every allocation a reserve makes, failed in turn: nothing changes. */
static void test_alloc_failures(void **state)
{
	struct node_lock_info a, info;
	uint64_t res;

	a = reserve(1, 0, "a", 1);
	/* A new lock: its record, then its first reservation entry. */
	for (int n = 1; n <= 2; n++) {
		fail_alloc_in = n;
		assert_int_equal(
			node_lock_reserve(&lt, 1, 0, "b", 500, NULL, NULL),
			-ENOMEM);
		assert_int_equal(node_locks_check(&lt), 0);
		assert_int_equal(nr_locks(), 1);
	}
	/* A second member's entry on an existing lock (room for two is
	 * there: the third grows the array). */
	reserve(2, a.id, NULL, 0);
	fail_alloc_in = 1;
	assert_int_equal(node_lock_reserve(&lt, 3, a.id, NULL, 500, NULL, NULL),
			 -ENOMEM);
	assert_int_equal(node_locks_check(&lt), 0);
	assert_int_equal(node_locks_count(&lt, NULL, &res), 0);
	assert_int_equal(res, 2);
	fail_alloc_in = 0;
	info = reserve(3, a.id, NULL, 0);
	assert_int_equal(info.reservations, 3);
	/* The name was not taken by the failed creations. */
	info = reserve(1, 0, "b", 1);
	assert_int_equal(info.id, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_init_args, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_named_find_or_create,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_anonymous_new_ids, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bad_args, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unreserve, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_member_gone, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_busy_slot_not_reused,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_table, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_slot_words_and_records,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_listing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alloc_failures, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
