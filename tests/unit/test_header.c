/* SPDX-License-Identifier: MIT */
/*
 * test_header.c - the shared header area (proto/header.h) and CRC-32C:
 * test vectors, round trips, the layout pinned byte by byte, every way a
 * reader refuses a block, the writer's sequence numbers, and a writer
 * thread racing a reader that copies the live block the way a non-atomic
 * DMA read would.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto/header.h"
#include "util/crc32c.h"

#define MAP_SZ SHMX_HDR_MAP_SIZE
#define ENT_SZ SHMX_HDR_ENTRY_SIZE

/* Live blocks are 8-byte aligned words, as the writer requires. */
static uint64_t map_words[MAP_SZ / 8];
static uint64_t ent_words[ENT_SZ / 8];
#define MAP_BLK ((uint8_t *)map_words)
#define ENT_BLK ((uint8_t *)ent_words)

static void put_le(uint8_t *p, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* Recompute the crc of a block after the test edited it. */
static void reseal(uint8_t *b, size_t size)
{
	put_le(b + size - 12, shmx__crc32c(0, b, size - 12), 4);
}

/* Set head and tail seq to @seq and reseal. */
static void set_seq(uint8_t *b, size_t size, uint64_t seq)
{
	put_le(b, seq, 8);
	put_le(b + size - 8, seq, 8);
	reseal(b, size);
}

static void reset_blocks(void)
{
	memset(map_words, 0, sizeof(map_words));
	memset(ent_words, 0, sizeof(ent_words));
}

/*
 * A valid map: extents 1 and 2 touch (adjacent is allowed), a gap lies
 * between extents 0 and 1.
 */
static void sample_map(struct shmx_hdr_map *m)
{
	memset(m, 0, sizeof(*m));
	m->generation = 0x0102030405060708ull;
	m->root = 0x40000;
	m->hdr_size = shmx__hdr_size(100);
	m->max_members = 100;
	m->nr_extents = 3;
	m->ext[0] = (struct shmx_extent){ 0, 1ull << 30 };
	m->ext[1] = (struct shmx_extent){ 1ull << 32, 1ull << 28 };
	m->ext[2] =
		(struct shmx_extent){ (1ull << 32) + (1ull << 28), 1ull << 20 };
	m->total = (1ull << 30) + (1ull << 28) + (1ull << 20);
}

static void sample_member(struct shmx_hdr_member *e)
{
	memset(e, 0, sizeof(*e));
	e->id = 17;
	e->live = 1;
	e->pid = 0xa1b2c3d4;
	e->uid = 1000;
	e->gid = 0xfffffffe;
	e->joined = -1234567890123ll;
	strcpy(e->name, "worker-17");
	strcpy(e->host, "compute-3.example");
	strcpy(e->mailbox, "10.77.1.2:40123");
	e->mbox_tag = 0x0102030405060708ull;
	e->mbox_window = 64;
}

static void assert_map_equal(const struct shmx_hdr_map *a,
			     const struct shmx_hdr_map *b)
{
	assert_int_equal(a->generation, b->generation);
	assert_int_equal(a->root, b->root);
	assert_int_equal(a->total, b->total);
	assert_int_equal(a->hdr_size, b->hdr_size);
	assert_int_equal(a->max_members, b->max_members);
	assert_int_equal(a->nr_extents, b->nr_extents);
	for (uint32_t i = 0; i < SHMX_EXTENTS_MAX; i++) {
		assert_int_equal(a->ext[i].base, b->ext[i].base);
		assert_int_equal(a->ext[i].len, b->ext[i].len);
	}
}

static void assert_member_equal(const struct shmx_hdr_member *a,
				const struct shmx_hdr_member *b)
{
	assert_int_equal(a->id, b->id);
	assert_int_equal(a->live, b->live);
	assert_int_equal(a->pid, b->pid);
	assert_int_equal(a->uid, b->uid);
	assert_int_equal(a->gid, b->gid);
	assert_true(a->joined == b->joined);
	assert_string_equal(a->name, b->name);
	assert_string_equal(a->host, b->host);
	assert_string_equal(a->mailbox, b->mailbox);
	assert_int_equal(a->mbox_tag, b->mbox_tag);
	assert_int_equal(a->mbox_window, b->mbox_window);
}

static void test_crc32c_vectors(void **state)
{
	static const char check[] = "123456789";
	uint8_t buf[32];
	uint32_t crc;

	(void)state;
	assert_int_equal(shmx__crc32c(0, check, 9), 0xE3069283u);
	assert_int_equal(shmx__crc32c(0, "", 0), 0);
	assert_int_equal(shmx__crc32c(0, NULL, 0), 0);
	assert_int_equal(shmx__crc32c(0xE3069283u, NULL, 0), 0xE3069283u);
	/* RFC 3720 (iSCSI) B.4. */
	memset(buf, 0, sizeof(buf));
	assert_int_equal(shmx__crc32c(0, buf, 32), 0x8A9136AAu);
	memset(buf, 0xff, sizeof(buf));
	assert_int_equal(shmx__crc32c(0, buf, 32), 0x62A8AB43u);
	for (int i = 0; i < 32; i++)
		buf[i] = (uint8_t)i;
	assert_int_equal(shmx__crc32c(0, buf, 32), 0x46DD794Eu);
	for (int i = 0; i < 32; i++)
		buf[i] = (uint8_t)(31 - i);
	assert_int_equal(shmx__crc32c(0, buf, 32), 0x113FDB5Cu);
	/* Chaining, split at every point, and in three pieces. */
	for (size_t n = 0; n <= 9; n++) {
		crc = shmx__crc32c(0, check, n);
		assert_int_equal(shmx__crc32c(crc, check + n, 9 - n),
				 0xE3069283u);
	}
	crc = shmx__crc32c(
		shmx__crc32c(shmx__crc32c(0, check, 2), check + 2, 5),
		check + 7, 2);
	assert_int_equal(crc, 0xE3069283u);
}

static void test_sizes(void **state)
{
	(void)state;
	assert_int_equal(shmx__hdr_size(0), SHMX_HDR_ALIGN);
	assert_int_equal(shmx__hdr_size(1), SHMX_HDR_ALIGN);
	/* 4096 + 240 * 256 is exactly 64 KiB; one more needs 128 KiB. */
	assert_int_equal(shmx__hdr_size(240), SHMX_HDR_ALIGN);
	assert_int_equal(shmx__hdr_size(241), 2 * SHMX_HDR_ALIGN);
	assert_int_equal(shmx__hdr_size(1024), 5 * SHMX_HDR_ALIGN);
	assert_int_equal(
		shmx__hdr_size(UINT32_MAX),
		(4096 + (uint64_t)UINT32_MAX * 256 + SHMX_HDR_ALIGN - 1) /
			SHMX_HDR_ALIGN * SHMX_HDR_ALIGN);
	assert_int_equal(shmx__hdr_entry_off(1), 4096);
	assert_int_equal(shmx__hdr_entry_off(2), 4096 + 256);
	assert_int_equal(shmx__hdr_entry_off(241), 4096 + 240 * 256);
	assert_int_equal(shmx__hdr_entry_off(240) + ENT_SZ,
			 shmx__hdr_size(240));
	assert_int_equal(shmx__hdr_entry_off(UINT32_MAX),
			 4096 + ((uint64_t)UINT32_MAX - 1) * 256);
}

static void test_map_round_trip(void **state)
{
	struct shmx_hdr_map m, got;

	(void)state;
	reset_blocks();
	sample_map(&m);
	shmx__hdr_map_write(map_words, &m);
	memset(&got, 0xa5, sizeof(got));
	assert_int_equal(shmx__hdr_map_read(map_words, &got), 0);
	assert_map_equal(&got, &m);

	/* Every extent slot used, root unset. */
	memset(&m, 0, sizeof(m));
	m.generation = UINT64_MAX - 1;
	m.root = SHMX_GADDR_NULL;
	m.max_members = 1024;
	m.hdr_size = shmx__hdr_size(1024);
	m.nr_extents = SHMX_EXTENTS_MAX;
	for (uint32_t i = 0; i < SHMX_EXTENTS_MAX; i++) {
		m.ext[i].base = (uint64_t)i << 36;
		m.ext[i].len = ((uint64_t)i + 1) << 20;
		m.total += m.ext[i].len;
	}
	/* The last one ends exactly at 2^64 - 1, the highest end allowed. */
	m.total -= m.ext[127].len;
	m.ext[127].len = UINT64_MAX - m.ext[127].base;
	m.total += m.ext[127].len;
	shmx__hdr_map_write(map_words, &m);
	memset(&got, 0xa5, sizeof(got));
	assert_int_equal(shmx__hdr_map_read(map_words, &got), 0);
	assert_map_equal(&got, &m);

	/* No extents at all; a rewrite with fewer extents clears the rest. */
	memset(&m, 0, sizeof(m));
	m.hdr_size = SHMX_HDR_ALIGN;
	shmx__hdr_map_write(map_words, &m);
	memset(&got, 0xa5, sizeof(got));
	assert_int_equal(shmx__hdr_map_read(map_words, &got), 0);
	assert_map_equal(&got, &m);
	for (size_t off = 56; off < MAP_SZ - 12; off++)
		assert_int_equal(MAP_BLK[off], 0);
}

/* nr_extents past the maximum: the writer and extent_find stop at
 * SHMX_EXTENTS_MAX (the map is on the heap, so ASan sees any overrun). */
static void test_map_writer_clamps(void **state)
{
	struct shmx_hdr_map *m = calloc(1, sizeof(*m));
	struct shmx_hdr_map got;

	(void)state;
	assert_non_null(m);
	reset_blocks();
	m->hdr_size = SHMX_HDR_ALIGN;
	m->nr_extents = UINT32_MAX;
	for (uint32_t i = 0; i < SHMX_EXTENTS_MAX; i++) {
		m->ext[i].base = (uint64_t)i << 20;
		m->ext[i].len = 4096;
		m->total += 4096;
	}
	shmx__hdr_map_write(map_words, m);
	assert_int_equal(get_le(MAP_BLK + 52, 4), SHMX_EXTENTS_MAX);
	assert_int_equal(shmx__hdr_map_read(map_words, &got), 0);
	assert_int_equal(got.nr_extents, SHMX_EXTENTS_MAX);
	assert_int_equal(got.ext[127].base, (uint64_t)127 << 20);
	assert_int_equal(shmx__hdr_extent_find(m, (uint64_t)127 << 20, 1), 127);
	assert_int_equal(shmx__hdr_extent_find(m, UINT64_MAX - 1, 1), -EFAULT);
	free(m);
}

static void test_member_round_trip(void **state)
{
	struct shmx_hdr_member e, got;

	(void)state;
	reset_blocks();
	sample_member(&e);
	shmx__hdr_member_write(ent_words, &e);
	memset(&got, 0xa5, sizeof(got));
	assert_int_equal(shmx__hdr_member_read(ent_words, &got), 0);
	assert_member_equal(&got, &e);

	/* A free slot, extreme values, empty strings. */
	memset(&e, 0, sizeof(e));
	e.id = UINT32_MAX;
	e.pid = UINT32_MAX;
	e.uid = UINT32_MAX;
	e.gid = UINT32_MAX;
	e.joined = INT64_MIN;
	shmx__hdr_member_write(ent_words, &e);
	assert_int_equal(shmx__hdr_member_read(ent_words, &got), 0);
	assert_member_equal(&got, &e);
	e.joined = INT64_MAX;
	shmx__hdr_member_write(ent_words, &e);
	assert_int_equal(shmx__hdr_member_read(ent_words, &got), 0);
	assert_member_equal(&got, &e);

	/* Strings that fill their field without a NUL are truncated. */
	sample_member(&e);
	memset(e.name, 'n', sizeof(e.name));
	memset(e.host, 'h', sizeof(e.host));
	shmx__hdr_member_write(ent_words, &e);
	assert_int_equal(shmx__hdr_member_read(ent_words, &got), 0);
	assert_int_equal(strlen(got.name), SHMX_NAME_MAX - 1);
	assert_int_equal(strlen(got.host), SHMX_HOST_MAX - 1);
	assert_int_equal(got.name[0], 'n');
	assert_int_equal(got.host[SHMX_HOST_MAX - 2], 'h');
}

/* The tables of header.h, byte by byte. */
static void test_layout_is_pinned(void **state)
{
	static const uint8_t magic[4] = { 0x53, 0x4d, 0x58, 0x48 };
	struct shmx_hdr_map m;
	struct shmx_hdr_member e;
	const uint8_t *b;

	(void)state;
	reset_blocks();
	sample_map(&m);
	shmx__hdr_map_write(map_words, &m);
	b = MAP_BLK;
	assert_int_equal(get_le(b, 8), 2);
	assert_memory_equal(b + 8, magic, 4);
	assert_memory_equal(b + 8, "SMXH", 4);
	assert_int_equal(get_le(b + 12, 4), SHMX_HDR_LAYOUT);
	assert_int_equal(b[16], 0x08); /* generation, LE */
	assert_int_equal(b[23], 0x01);
	assert_int_equal(get_le(b + 16, 8), m.generation);
	assert_int_equal(get_le(b + 24, 8), m.root);
	assert_int_equal(get_le(b + 32, 8), m.total);
	assert_int_equal(get_le(b + 40, 8), m.hdr_size);
	assert_int_equal(get_le(b + 48, 4), m.max_members);
	assert_int_equal(get_le(b + 52, 4), 3);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(get_le(b + 56 + 16 * i, 8), m.ext[i].base);
		assert_int_equal(get_le(b + 64 + 16 * i, 8), m.ext[i].len);
	}
	for (size_t off = 56 + 3 * 16; off < MAP_SZ - 12; off++)
		assert_int_equal(b[off], 0);
	assert_int_equal(get_le(b + 4084, 4), shmx__crc32c(0, b, 4084));
	assert_int_equal(get_le(b + 4088, 8), 2);

	sample_member(&e);
	shmx__hdr_member_write(ent_words, &e);
	b = ENT_BLK;
	assert_int_equal(get_le(b, 8), 2);
	assert_memory_equal(b + 8, magic, 4);
	assert_int_equal(get_le(b + 12, 4), e.id);
	assert_int_equal(get_le(b + 16, 4), e.live);
	assert_int_equal(get_le(b + 20, 4), e.pid);
	assert_int_equal(b[20], 0xd4);
	assert_int_equal(get_le(b + 24, 4), e.uid);
	assert_int_equal(get_le(b + 28, 4), e.gid);
	assert_int_equal(get_le(b + 32, 8), (uint64_t)e.joined);
	assert_memory_equal(b + 40, "worker-17", 10);
	for (size_t off = 40 + 10; off < 104; off++)
		assert_int_equal(b[off], 0);
	assert_memory_equal(b + 104, "compute-3.example", 18);
	for (size_t off = 104 + 18; off < 168; off++)
		assert_int_equal(b[off], 0);
	assert_memory_equal(b + 168, "10.77.1.2:40123", 16);
	for (size_t off = 168 + 16; off < 216; off++)
		assert_int_equal(b[off], 0);
	assert_int_equal(get_le(b + 216, 8), e.mbox_tag);
	assert_int_equal(b[216], 0x08);
	assert_int_equal(get_le(b + 224, 4), e.mbox_window);
	for (size_t off = 228; off < ENT_SZ - 12; off++)
		assert_int_equal(b[off], 0);
	assert_int_equal(get_le(b + 244, 4), shmx__crc32c(0, b, 244));
	assert_int_equal(get_le(b + 248, 8), 2);
}

static void test_extent_find(void **state)
{
	struct shmx_hdr_map m;
	uint64_t b1 = 1ull << 32, b2 = b1 + (1ull << 28);
	uint64_t end2 = b2 + (1ull << 20);

	(void)state;
	sample_map(&m);
	/* First extent: its first byte, all of it, its last byte. */
	assert_int_equal(shmx__hdr_extent_find(&m, 0, 0), 0);
	assert_int_equal(shmx__hdr_extent_find(&m, 0, 1ull << 30), 0);
	assert_int_equal(shmx__hdr_extent_find(&m, (1ull << 30) - 1, 1), 0);
	assert_int_equal(shmx__hdr_extent_find(&m, (1ull << 30) - 1, 0), 0);
	assert_int_equal(shmx__hdr_extent_find(&m, 0, (1ull << 30) + 1),
			 -EFAULT);
	/* Between extents, and running from one into the gap. */
	assert_int_equal(shmx__hdr_extent_find(&m, 1ull << 30, 0), -EFAULT);
	assert_int_equal(shmx__hdr_extent_find(&m, 1ull << 31, 8), -EFAULT);
	assert_int_equal(shmx__hdr_extent_find(&m, b1 - 1, 1), -EFAULT);
	assert_int_equal(shmx__hdr_extent_find(&m, (1ull << 30) - 4, 8),
			 -EFAULT);
	/* Middle extent; crossing into the adjacent last one. */
	assert_int_equal(shmx__hdr_extent_find(&m, b1, 1ull << 28), 1);
	assert_int_equal(shmx__hdr_extent_find(&m, b2 - 8, 8), 1);
	assert_int_equal(shmx__hdr_extent_find(&m, b2 - 8, 16), -EFAULT);
	assert_int_equal(shmx__hdr_extent_find(&m, b1, (1ull << 28) + 1),
			 -EFAULT);
	/* Last extent and past the end. */
	assert_int_equal(shmx__hdr_extent_find(&m, b2, 0), 2);
	assert_int_equal(shmx__hdr_extent_find(&m, end2 - 1, 0), 2);
	assert_int_equal(shmx__hdr_extent_find(&m, b2, 1ull << 20), 2);
	assert_int_equal(shmx__hdr_extent_find(&m, end2, 0), -EFAULT);
	assert_int_equal(shmx__hdr_extent_find(&m, end2 - 1, 2), -EFAULT);
	assert_int_equal(shmx__hdr_extent_find(&m, UINT64_MAX, 0), -EFAULT);
	/* A length that wraps the address space. */
	assert_int_equal(shmx__hdr_extent_find(&m, 8, UINT64_MAX), -EFAULT);
	assert_int_equal(shmx__hdr_extent_find(&m, b2, UINT64_MAX - b2 + 2),
			 -EFAULT);
	/* No extents. */
	m.nr_extents = 0;
	assert_int_equal(shmx__hdr_extent_find(&m, 0, 0), -EFAULT);

	/* A full map: every extent's ends, every gap. */
	memset(&m, 0, sizeof(m));
	m.nr_extents = SHMX_EXTENTS_MAX;
	for (uint32_t i = 0; i < SHMX_EXTENTS_MAX; i++)
		m.ext[i] = (struct shmx_extent){ 0x1000 + (uint64_t)i * 0x3000,
						 0x1000 + (uint64_t)i };
	assert_int_equal(shmx__hdr_extent_find(&m, 0, 0), -EFAULT);
	for (int i = 0; i < (int)SHMX_EXTENTS_MAX; i++) {
		const struct shmx_extent *x = &m.ext[i];

		assert_int_equal(shmx__hdr_extent_find(&m, x->base, 0), i);
		assert_int_equal(
			shmx__hdr_extent_find(&m, x->base + x->len - 1, 1), i);
		assert_int_equal(shmx__hdr_extent_find(&m, x->base, x->len), i);
		assert_int_equal(shmx__hdr_extent_find(&m, x->base - 1, 0),
				 -EFAULT);
		assert_int_equal(shmx__hdr_extent_find(&m, x->base + x->len, 0),
				 -EFAULT);
	}
}

/* Each torn or in-progress copy of the block at @b (a whole, valid block
 * of @size bytes) is refused with -EAGAIN by @check. */
static void check_eagain(const uint8_t *b, size_t size,
			 int (*check)(const uint8_t *))
{
	static uint8_t copy[MAP_SZ];
	const size_t body_at[] = { 8, 12, 40, size / 2, size - 13 };
	uint64_t seq = get_le(b, 8);

	memcpy(copy, b, size);
	assert_int_equal(check(copy), 0);

	/* Head and tail differ, either way round, both even. */
	put_le(copy, seq + 2, 8);
	assert_int_equal(check(copy), -EAGAIN);
	memcpy(copy, b, size);
	put_le(copy + size - 8, seq + 2, 8);
	assert_int_equal(check(copy), -EAGAIN);
	/* Being written: head odd, tail old; and both odd, crc matching. */
	memcpy(copy, b, size);
	put_le(copy, seq + 1, 8);
	assert_int_equal(check(copy), -EAGAIN);
	memcpy(copy, b, size);
	set_seq(copy, size, seq + 1);
	assert_int_equal(check(copy), -EAGAIN);
	/* One body byte flipped (one bit, or all of them). */
	for (size_t i = 0; i < sizeof(body_at) / sizeof(body_at[0]); i++) {
		memcpy(copy, b, size);
		copy[body_at[i]] ^= 0x01;
		assert_int_equal(check(copy), -EAGAIN);
		copy[body_at[i]] ^= 0xff;
		assert_int_equal(check(copy), -EAGAIN);
	}
	/* crc flipped. */
	memcpy(copy, b, size);
	copy[size - 12] ^= 0x80;
	assert_int_equal(check(copy), -EAGAIN);
	memcpy(copy, b, size);
	copy[size - 9] ^= 0x01;
	assert_int_equal(check(copy), -EAGAIN);
	/* Old seq of a never-written block (0), new body and crc. */
	memcpy(copy, b, size);
	put_le(copy, 0, 8);
	put_le(copy + size - 8, 0, 8);
	assert_int_equal(check(copy), -EAGAIN);
	/* Equal, even seqs, but not the seq the crc was computed with. */
	memcpy(copy, b, size);
	put_le(copy, seq + 2, 8);
	put_le(copy + size - 8, seq + 2, 8);
	assert_int_equal(check(copy), -EAGAIN);
}

static int check_map(const uint8_t *b)
{
	struct shmx_hdr_map m;

	return shmx__hdr_map_read(b, &m);
}

static int check_member(const uint8_t *b)
{
	struct shmx_hdr_member e;

	return shmx__hdr_member_read(b, &e);
}

static void test_torn_copies_are_refused(void **state)
{
	struct shmx_hdr_map m;
	struct shmx_hdr_member e;

	(void)state;
	reset_blocks();
	sample_map(&m);
	shmx__hdr_map_write(map_words, &m);
	shmx__hdr_map_write(map_words, &m);
	check_eagain(MAP_BLK, MAP_SZ, check_map);
	sample_member(&e);
	shmx__hdr_member_write(ent_words, &e);
	check_eagain(ENT_BLK, ENT_SZ, check_member);
}

static void test_never_written(void **state)
{
	struct shmx_hdr_map m;
	struct shmx_hdr_member e;

	(void)state;
	reset_blocks();
	assert_int_equal(shmx__hdr_map_read(map_words, &m), -ENOENT);
	assert_int_equal(shmx__hdr_member_read(ent_words, &e), -ENOENT);
	/* Zero seq and crc with some body already there: the first write
	 * had not begun when the seqs and crc were read. */
	ENT_BLK[20] = 0x55;
	assert_int_equal(shmx__hdr_member_read(ent_words, &e), -ENOENT);
	/* A zero seq with a crc is not "never written". */
	ENT_BLK[ENT_SZ - 12] = 1;
	assert_int_equal(shmx__hdr_member_read(ent_words, &e), -EAGAIN);
}

/* Edit the valid block @good into @b with field @off of @n bytes set to
 * @v, reseal it, and expect -EBADMSG from @check. */
static void expect_bad(uint8_t *b, const uint8_t *good, size_t size, size_t off,
		       uint64_t v, size_t n, int (*check)(const uint8_t *))
{
	memcpy(b, good, size);
	put_le(b + off, v, n);
	reseal(b, size);
	assert_int_equal(check(b), -EBADMSG);
}

static void test_bad_map(void **state)
{
	static uint8_t good[MAP_SZ], b[MAP_SZ];
	struct shmx_hdr_map m;
	uint64_t end0 = 1ull << 30, b1 = 1ull << 32, b2 = b1 + (1ull << 28);

	(void)state;
	reset_blocks();
	sample_map(&m);
	shmx__hdr_map_write(map_words, &m);
	memcpy(good, MAP_BLK, MAP_SZ);
	assert_int_equal(check_map(good), 0);

	expect_bad(b, good, MAP_SZ, 8, 0x584d4853u, 4, check_map); /* magic */
	expect_bad(b, good, MAP_SZ, 8, 0, 4, check_map);
	expect_bad(b, good, MAP_SZ, 12, 0, 4, check_map); /* layout */
	expect_bad(b, good, MAP_SZ, 12, SHMX_HDR_LAYOUT + 1, 4, check_map);
	/* nr_extents past the maximum. */
	expect_bad(b, good, MAP_SZ, 52, SHMX_EXTENTS_MAX + 1, 4, check_map);
	expect_bad(b, good, MAP_SZ, 52, UINT32_MAX, 4, check_map);
	/* Out of order: extents 0 and 1 swapped (disjoint, bases falling). */
	memcpy(b, good, MAP_SZ);
	memcpy(b + 56, good + 56 + 16, 16);
	memcpy(b + 56 + 16, good + 56, 16);
	reseal(b, MAP_SZ);
	assert_int_equal(check_map(b), -EBADMSG);
	/* Overlapping: extent 1 starts inside extent 0, 2 inside 1. */
	expect_bad(b, good, MAP_SZ, 56 + 16, end0 - 1, 8, check_map);
	expect_bad(b, good, MAP_SZ, 56 + 32, b2 - 8, 8, check_map);
	/* Wrapping: extent 2 ends past 2^64 - 1 (by 1, and by a lot). */
	expect_bad(b, good, MAP_SZ, 56 + 40, UINT64_MAX - b2 + 1, 8, check_map);
	expect_bad(b, good, MAP_SZ, 56 + 40, UINT64_MAX, 8, check_map);
	/* Empty extent. */
	expect_bad(b, good, MAP_SZ, 56 + 40, 0, 8, check_map);
	/* total is not the sum of the lengths. */
	expect_bad(b, good, MAP_SZ, 32, m.total + 1, 8, check_map);
	expect_bad(b, good, MAP_SZ, 32, m.total - 1, 8, check_map);
	expect_bad(b, good, MAP_SZ, 32, 0, 8, check_map);
	/* hdr_size not a multiple of SHMX_HDR_ALIGN, or too small. */
	expect_bad(b, good, MAP_SZ, 40, SHMX_HDR_ALIGN + 8, 8, check_map);
	expect_bad(b, good, MAP_SZ, 40, 0, 8, check_map);
	expect_bad(b, good, MAP_SZ, 48, 241, 4, check_map);

	/* The edges that are valid: a fourth extent adjacent to extent 2,
	 * ending at 2^64 - 1; more members than the area needs is not. */
	memcpy(b, good, MAP_SZ);
	put_le(b + 52, 4, 4);
	put_le(b + 56 + 48, b2 + (1ull << 20), 8);
	put_le(b + 56 + 56, UINT64_MAX - (b2 + (1ull << 20)), 8);
	put_le(b + 32, UINT64_MAX - b2 + (1ull << 28) + (1ull << 30), 8);
	reseal(b, MAP_SZ);
	assert_int_equal(check_map(b), 0);
	memcpy(b, good, MAP_SZ);
	put_le(b + 48, 240, 4);
	reseal(b, MAP_SZ);
	assert_int_equal(check_map(b), 0);
}

static void test_bad_member(void **state)
{
	static uint8_t good[ENT_SZ], b[ENT_SZ];
	struct shmx_hdr_member e;

	(void)state;
	reset_blocks();
	sample_member(&e);
	shmx__hdr_member_write(ent_words, &e);
	memcpy(good, ENT_BLK, ENT_SZ);
	assert_int_equal(check_member(good), 0);

	expect_bad(b, good, ENT_SZ, 8, 0x584d4853u, 4, check_member);
	expect_bad(b, good, ENT_SZ, 12, 0, 4, check_member); /* id 0 */
	expect_bad(b, good, ENT_SZ, 16, 2, 4, check_member); /* live */
	expect_bad(b, good, ENT_SZ, 16, UINT32_MAX, 4, check_member);
	/* name, host, mailbox: the whole field without a NUL. */
	memcpy(b, good, ENT_SZ);
	memset(b + 40, 'x', SHMX_NAME_MAX);
	reseal(b, ENT_SZ);
	assert_int_equal(check_member(b), -EBADMSG);
	memcpy(b, good, ENT_SZ);
	memset(b + 104, 'y', SHMX_HOST_MAX);
	reseal(b, ENT_SZ);
	assert_int_equal(check_member(b), -EBADMSG);
	memcpy(b, good, ENT_SZ);
	memset(b + 168, 'z', SHMX_MAILBOX_ADDR_MAX);
	reseal(b, ENT_SZ);
	assert_int_equal(check_member(b), -EBADMSG);
	/* The last byte of each string field may be its NUL. */
	memcpy(b, good, ENT_SZ);
	memset(b + 40, 'x', SHMX_NAME_MAX - 1);
	memset(b + 104, 'y', SHMX_HOST_MAX - 1);
	reseal(b, ENT_SZ);
	assert_int_equal(shmx__hdr_member_read(b, &e), 0);
	assert_int_equal(strlen(e.name), SHMX_NAME_MAX - 1);
	assert_int_equal(strlen(e.host), SHMX_HOST_MAX - 1);
}

static void test_writer_seq(void **state)
{
	struct shmx_hdr_map m;
	struct shmx_hdr_member e, got;

	(void)state;
	reset_blocks();
	sample_map(&m);
	sample_member(&e);
	for (uint64_t i = 1; i <= 50; i++) {
		m.generation = i;
		shmx__hdr_map_write(map_words, &m);
		assert_int_equal(get_le(MAP_BLK, 8), 2 * i);
		assert_int_equal(get_le(MAP_BLK + MAP_SZ - 8, 8), 2 * i);
		e.pid = (uint32_t)i;
		shmx__hdr_member_write(ent_words, &e);
		assert_int_equal(get_le(ENT_BLK, 8), 2 * i);
		assert_int_equal(get_le(ENT_BLK + ENT_SZ - 8, 8), 2 * i);
		assert_int_equal(shmx__hdr_member_read(ent_words, &got), 0);
		assert_int_equal(got.pid, i);
	}

	/* A write that crashed halfway left head 101 (odd), tail 100: the
	 * next write goes on from 103 to 104. */
	put_le(ENT_BLK, 101, 8);
	assert_int_equal(shmx__hdr_member_read(ent_words, &got), -EAGAIN);
	shmx__hdr_member_write(ent_words, &e);
	assert_int_equal(get_le(ENT_BLK, 8), 104);
	assert_int_equal(get_le(ENT_BLK + ENT_SZ - 8, 8), 104);
	assert_int_equal(shmx__hdr_member_read(ent_words, &got), 0);
	/* Head even, tail behind (crash between the two final stores). */
	put_le(ENT_BLK + ENT_SZ - 8, 103, 8);
	shmx__hdr_member_write(ent_words, &e);
	assert_int_equal(get_le(ENT_BLK, 8), 106);
	assert_int_equal(get_le(ENT_BLK + ENT_SZ - 8, 8), 106);
	assert_int_equal(shmx__hdr_member_read(ent_words, &got), 0);
}

/* ------------------------------------------------------------------ */
/* A writer thread against a reader copying like a DMA engine          */

#define RACE_WRITES 200000u
#define RACE_MIN_READS 1000u

struct race {
	uint64_t blk[ENT_SZ / 8]; /* the live entry */
	uint32_t begun;		  /* writes started (atomic) */
	uint32_t done;		  /* writes finished (atomic) */
};

static struct race race;

/* Every field of write @k derives from @k. */
static void race_fields(struct shmx_hdr_member *e, uint32_t k)
{
	memset(e, 0, sizeof(*e));
	e->id = k % 1000 + 1;
	e->live = k & 1;
	e->pid = k;
	e->uid = k * 3;
	e->gid = k * 7 + 1;
	e->joined = (k & 2) ? -(int64_t)k * 1000 : (int64_t)k << 20;
	snprintf(e->name, sizeof(e->name), "n%" PRIu32, k);
	snprintf(e->host, sizeof(e->host), "host-%" PRIu32 "-%" PRIu32, k,
		 k * 5);
}

static int race_consistent(const struct shmx_hdr_member *got)
{
	struct shmx_hdr_member want;

	race_fields(&want, got->pid);
	return got->id == want.id && got->live == want.live &&
	       got->uid == want.uid && got->gid == want.gid &&
	       got->joined == want.joined && !strcmp(got->name, want.name) &&
	       !strcmp(got->host, want.host);
}

static void *race_writer(void *arg)
{
	struct shmx_hdr_member e;

	(void)arg;
	for (uint32_t k = 1; k <= RACE_WRITES; k++) {
		race_fields(&e, k);
		__atomic_store_n(&race.begun, k, __ATOMIC_SEQ_CST);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		shmx__hdr_member_write(race.blk, &e);
		__atomic_store_n(&race.done, k, __ATOMIC_SEQ_CST);
	}
	return NULL;
}

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/*
 * Copy the live block byte by byte, the way a DMA engine may: cut into
 * chunks of random size, the chunks taken front to back, back to front or
 * in a random order (so head and tail seq may both be read before or both
 * after the body), each chunk copied forwards or backwards, with an
 * occasional pause.  In the shuffled order only the crc catches a tear.
 */
static void dma_copy(uint8_t *dst, const volatile uint8_t *src, size_t n,
		     uint64_t *rng)
{
	size_t start[ENT_SZ], len[ENT_SZ], order[ENT_SZ];
	size_t nr = 0, mode = xorshift(rng) % 4;

	for (size_t at = 0; at < n; nr++) {
		start[nr] = at;
		len[nr] = 1 + xorshift(rng) % 64;
		if (len[nr] > n - at)
			len[nr] = n - at;
		at += len[nr];
	}
	for (size_t i = 0; i < nr; i++)
		order[i] = mode == 0 ? nr - 1 - i : i;
	if (mode >= 2) {
		for (size_t i = nr - 1; i > 0; i--) {
			size_t j = xorshift(rng) % (i + 1), t = order[i];

			order[i] = order[j];
			order[j] = t;
		}
	}
	for (size_t c = 0; c < nr; c++) {
		uint64_t r = xorshift(rng);
		size_t at = start[order[c]], end = at + len[order[c]];

		if (r & 1) {
			for (size_t i = end; i-- > at;)
				dst[i] = src[i];
		} else {
			for (size_t i = at; i < end; i++)
				dst[i] = src[i];
		}
		if (!(r & 0x3e))
			for (volatile int spin = 0; spin < 200; spin++)
				;
	}
}

static void test_concurrent_reads(void **state)
{
	static uint8_t copy[ENT_SZ];
	struct shmx_hdr_member got;
	uint64_t rng = 0x9e3779b97f4a7c15ull;
	unsigned long reads = 0, ok = 0, again = 0, absent = 0, overlapped = 0;
	unsigned long bad = 0;
	char why[160] = "";
	pthread_t writer;

	(void)state;
	memset(&race, 0, sizeof(race));
	assert_int_equal(pthread_create(&writer, NULL, race_writer, NULL), 0);
	for (;;) {
		uint32_t d0, b1, k;
		int ret;

		d0 = __atomic_load_n(&race.done, __ATOMIC_SEQ_CST);
		if (d0 == RACE_WRITES && reads >= RACE_MIN_READS)
			break;
		dma_copy(copy, (const volatile uint8_t *)race.blk, ENT_SZ,
			 &rng);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		b1 = __atomic_load_n(&race.begun, __ATOMIC_SEQ_CST);
		reads++;
		ret = shmx__hdr_member_read(copy, &got);
		if (b1 != d0)
			overlapped++;
		k = ret ? 0 : got.pid;
		if (ret == 0 && !race_consistent(&got)) {
			snprintf(why, sizeof(why), "mixed fields, pid %" PRIu32,
				 k);
		} else if (ret == 0 && (k < d0 || k > b1)) {
			snprintf(why, sizeof(why),
				 "write %" PRIu32 " outside [%" PRIu32
				 ", %" PRIu32 "]",
				 k, d0, b1);
		} else if (ret == 0) {
			ok++;
			continue;
		} else if (b1 == d0) {
			/* No write overlapped the copy: it must be whole. */
			if (d0 == 0 && ret == -ENOENT) {
				absent++;
				continue;
			}
			snprintf(why, sizeof(why),
				 "quiet block after write %" PRIu32
				 " read as %d",
				 d0, ret);
		} else if (ret == -EAGAIN) {
			again++;
			continue;
		} else if (ret == -ENOENT && d0 == 0) {
			absent++;
			continue;
		} else {
			snprintf(why, sizeof(why),
				 "read %d during writes %" PRIu32 "..%" PRIu32,
				 ret, d0, b1);
		}
		bad++;
	}
	assert_int_equal(pthread_join(writer, NULL), 0);
	print_message("%lu reads: %lu whole, %lu -EAGAIN, %lu -ENOENT, "
		      "%lu overlapped a write\n",
		      reads, ok, again, absent, overlapped);
	if (bad)
		fail_msg("%lu bad reads, last: %s", bad, why);
	assert_true(ok > 0);
	assert_int_equal(shmx__hdr_member_read(race.blk, &got), 0);
	assert_int_equal(got.pid, RACE_WRITES);
	assert_true(race_consistent(&got));
	assert_int_equal(get_le((const uint8_t *)race.blk, 8),
			 2 * (uint64_t)RACE_WRITES);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc32c_vectors),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_map_round_trip),
		cmocka_unit_test(test_map_writer_clamps),
		cmocka_unit_test(test_member_round_trip),
		cmocka_unit_test(test_layout_is_pinned),
		cmocka_unit_test(test_extent_find),
		cmocka_unit_test(test_torn_copies_are_refused),
		cmocka_unit_test(test_never_written),
		cmocka_unit_test(test_bad_map),
		cmocka_unit_test(test_bad_member),
		cmocka_unit_test(test_writer_seq),
		cmocka_unit_test(test_concurrent_reads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
