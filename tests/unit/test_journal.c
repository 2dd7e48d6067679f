/* SPDX-License-Identifier: MIT */
/*
 * test_journal.c - node/journal.c on files under mkdtemp: records come
 * back in order with their bodies; a record cut short or damaged ends the
 * journal there (and the file is cut, so appends go on from a whole
 * record); another table size is refused naming it; a rewrite replaces
 * the journal whole.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "journal.h"

struct seen {
	unsigned n;
	uint32_t type[64];
	uint64_t key[64];
	int del[64];
	char body[64][32];
};

static int collect(void *arg, uint32_t type, int del, uint64_t key,
		   const void *body, size_t len)
{
	struct seen *s = arg;

	assert_true(s->n < 64);
	assert_true(len < sizeof(s->body[0]));
	s->type[s->n] = type;
	s->key[s->n] = key;
	s->del[s->n] = del;
	memcpy(s->body[s->n], body, len);
	s->body[s->n][len] = 0;
	s->n++;
	return 0;
}

static char dir[64], path[128];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/shmx-journal-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/mem.journal", dir);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

static const struct journal_head head = { .max_members = 16,
					  .max_locks = 64,
					  .file_off = 2 << 20 };

/* Open @path with @h, read it back into @s.  Returns journal_open's. */
static int reopen(struct journal *j, const struct journal_head *h,
		  struct seen *s, int *fresh, uint64_t *dropped)
{
	char err[256] = "";
	int ret = journal_open(j, path, h, 0, fresh, err, sizeof(err));

	memset(s, 0, sizeof(*s));
	if (ret)
		return ret;
	return journal_read(j, collect, s, dropped);
}

static void three_records(struct journal *j)
{
	journal_put(j, 3, 7, "pool seven", 10);
	journal_put(j, 4, 0x1000, "block", 5);
	assert_int_equal(journal_commit(j), 0);
	journal_del(j, 4, 0x1000);
	assert_int_equal(journal_commit(j), 0);
}

static void test_records_come_back(void **state)
{
	struct journal j;
	struct seen s;
	uint64_t dropped;
	int fresh;

	(void)state;
	assert_int_equal(reopen(&j, &head, &s, &fresh, &dropped), 0);
	assert_true(fresh);
	assert_int_equal(s.n, 0);
	three_records(&j);
	journal_close(&j);

	assert_int_equal(reopen(&j, &head, &s, &fresh, &dropped), 0);
	assert_false(fresh);
	assert_int_equal(dropped, 0);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.type[0], 3);
	assert_int_equal(s.key[0], 7);
	assert_string_equal(s.body[0], "pool seven");
	assert_string_equal(s.body[1], "block");
	assert_true(s.del[2]);
	assert_int_equal(s.key[2], 0x1000);
	/* Appends go on after what was read. */
	journal_put(&j, 5, 1, "seg", 3);
	assert_int_equal(journal_commit(&j), 0);
	journal_close(&j);
	assert_int_equal(reopen(&j, &head, &s, &fresh, &dropped), 0);
	assert_int_equal(s.n, 4);
	assert_string_equal(s.body[3], "seg");
	journal_close(&j);
}

static void test_cut_and_damaged_records_end_it(void **state)
{
	struct journal j;
	struct seen s;
	struct stat sb;
	uint64_t dropped, whole;
	int fresh, fd;
	char c;

	(void)state;
	assert_int_equal(reopen(&j, &head, &s, &fresh, &dropped), 0);
	three_records(&j);
	whole = j.size;
	journal_put(&j, 6, 9, "a lock record", 13);
	assert_int_equal(journal_commit(&j), 0);
	journal_close(&j);

	/* A crash in the middle of the last write: cut it. */
	assert_int_equal(truncate(path, (off_t)(whole + 20)), 0);
	assert_int_equal(reopen(&j, &head, &s, &fresh, &dropped), 0);
	assert_int_equal(s.n, 3);
	assert_int_equal(dropped, 20);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_size, whole);
	/* The next record follows the last whole one. */
	journal_put(&j, 6, 9, "again", 5);
	assert_int_equal(journal_commit(&j), 0);
	journal_close(&j);
	assert_int_equal(reopen(&j, &head, &s, &fresh, &dropped), 0);
	assert_int_equal(s.n, 4);
	assert_string_equal(s.body[3], "again");
	journal_close(&j);

	/* A damaged byte in the second record's body: the first stays. */
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &c, 1, 32 + 32 + 10 + 32 + 2), 1);
	c ^= 0x40;
	assert_int_equal(pwrite(fd, &c, 1, 32 + 32 + 10 + 32 + 2), 1);
	close(fd);
	assert_int_equal(reopen(&j, &head, &s, &fresh, &dropped), 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.body[0], "pool seven");
	assert_true(dropped > 0);
	journal_close(&j);
}

static void test_other_settings_are_refused(void **state)
{
	struct journal_head other = head;
	char err[256] = "";
	struct journal j;
	struct seen s;
	uint64_t dropped;
	int fresh;

	(void)state;
	assert_int_equal(reopen(&j, &head, &s, &fresh, &dropped), 0);
	journal_close(&j);
	other.max_locks = 128;
	assert_int_equal(
		journal_open(&j, path, &other, 0, &fresh, err, sizeof(err)),
		-ESTALE);
	assert_non_null(strstr(err, "max-locks"));
	other = head;
	other.max_members = 17;
	assert_int_equal(
		journal_open(&j, path, &other, 0, &fresh, err, sizeof(err)),
		-ESTALE);
	assert_non_null(strstr(err, "max-members"));
	/* Not a journal at all. */
	assert_int_equal(truncate(path, 0), 0);
	fresh = open(path, O_WRONLY);
	assert_int_equal(
		write(fresh, "hello, this is not a journal at all", 35), 35);
	close(fresh);
	assert_int_equal(
		journal_open(&j, path, &head, 0, &fresh, err, sizeof(err)),
		-EBADMSG);
	assert_non_null(strstr(err, "not a shmnode journal"));
}

static void test_rewrite_replaces_it(void **state)
{
	struct journal j;
	struct seen s;
	uint64_t dropped;
	int fresh;

	(void)state;
	assert_int_equal(reopen(&j, &head, &s, &fresh, &dropped), 0);
	three_records(&j);
	assert_int_equal(journal_rewrite_begin(&j), 0);
	journal_put(&j, 3, 7, "only this", 9);
	assert_int_equal(journal_rewrite_end(&j), 0);
	/* Appends go to the new file. */
	journal_put(&j, 3, 8, "and this", 8);
	assert_int_equal(journal_commit(&j), 0);
	journal_close(&j);
	assert_int_equal(reopen(&j, &head, &s, &fresh, &dropped), 0);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.body[0], "only this");
	assert_string_equal(s.body[1], "and this");
	assert_int_equal(dropped, 0);
	journal_close(&j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_records_come_back, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_cut_and_damaged_records_end_it, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_settings_are_refused,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_rewrite_replaces_it, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
