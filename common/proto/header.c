/* SPDX-License-Identifier: MIT */
/*
 * header.c - write and read the blocks of the shared header area
 * (header.h): the seq/crc framing, the map block and the member entries.
 * Pure functions over byte buffers: no allocation, no I/O.
 */
#include <errno.h>
#include <string.h>

#include "proto/header.h"
#include "proto/le.h"
#include "util/crc32c.h"

/* Framing of a block of @size bytes. */
#define SEQ_HEAD 0
#define BODY 8
#define CRC_AT(size) ((size)-12)
#define SEQ_TAIL(size) ((size)-8)

/* Field offsets, as in the tables of header.h. */
enum {
	MAP_MAGIC = 8,
	MAP_LAYOUT = 12,
	MAP_GENERATION = 16,
	MAP_ROOT = 24,
	MAP_TOTAL = 32,
	MAP_HDR_SIZE = 40,
	MAP_MAX_MEMBERS = 48,
	MAP_NR_EXTENTS = 52,
	MAP_EXT = 56, /* base u64, len u64 */
	MAP_END = MAP_EXT + SHMX_EXTENTS_MAX * 16,

	ENT_MAGIC = 8,
	ENT_ID = 12,
	ENT_LIVE = 16,
	ENT_PID = 20,
	ENT_UID = 24,
	ENT_GID = 28,
	ENT_JOINED = 32,
	ENT_NAME = 40,
	ENT_HOST = ENT_NAME + SHMX_NAME_MAX,
	ENT_MAILBOX = ENT_HOST + SHMX_HOST_MAX,
	ENT_MBOX_TAG = ENT_MAILBOX + SHMX_MAILBOX_ADDR_MAX,
	ENT_MBOX_WINDOW = ENT_MBOX_TAG + 8,
	ENT_END = ENT_MBOX_WINDOW + 4,
};

_Static_assert(MAP_END == 2104, "map body layout changed");
_Static_assert(MAP_END <= CRC_AT(SHMX_HDR_MAP_SIZE), "map body too large");
_Static_assert(ENT_END == 228, "member body layout changed");
_Static_assert(ENT_END <= CRC_AT(SHMX_HDR_ENTRY_SIZE), "entry too large");
_Static_assert(SHMX_HDR_MAP_SIZE % 8 == 0 && SHMX_HDR_ENTRY_SIZE % 8 == 0,
	       "seq words must stay 8-byte aligned");

/* Offset of the base of extent @i; its len follows at + 8. */
static size_t ext_at(uint32_t i)
{
	return MAP_EXT + (size_t)16 * i;
}

/* A u64 in host order <-> the same u64 as little-endian memory holds it. */
static uint64_t host_le64(uint64_t v)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	return __builtin_bswap64(v);
#else
	return v;
#endif
}

/*
 * The seq words of a live block are stored with single atomic 8-byte
 * stores, so the compiler keeps them where the fences put them and a CPU
 * never sees half of one (an RDMA READ might; the crc covers that).
 */
static uint64_t seq_load(const uint8_t *at)
{
	return host_le64(__atomic_load_n((const uint64_t *)(const void *)at,
					 __ATOMIC_RELAXED));
}

static void seq_store(uint8_t *at, uint64_t seq)
{
	__atomic_store_n((uint64_t *)(void *)at, host_le64(seq),
			 __ATOMIC_RELAXED);
}

/*
 * Rewrite the live block @blk of @size bytes with the body encoded in @img
 * (a private image of the same size; its seq and crc bytes are filled
 * here).  The protocol is the one header.h documents.
 */
static void block_write(void *blk, uint8_t *img, size_t size)
{
	uint8_t *p = blk;
	uint64_t odd = (seq_load(p + SEQ_HEAD) + 1) | 1;

	seq_store(p + SEQ_HEAD, odd);
	seq_store(p + SEQ_TAIL(size), odd);
	__atomic_thread_fence(__ATOMIC_RELEASE);

	shmx__put_le(img + SEQ_HEAD, odd + 1, 8);
	shmx__put_le(img + CRC_AT(size), shmx__crc32c(0, img, CRC_AT(size)), 4);
	memcpy(p + BODY, img + BODY, SEQ_TAIL(size) - BODY);
	__atomic_thread_fence(__ATOMIC_RELEASE);

	seq_store(p + SEQ_HEAD, odd + 1);
	seq_store(p + SEQ_TAIL(size), odd + 1);
}

/* Check the framing of a private copy: 0, -ENOENT or -EAGAIN. */
static int block_check(const uint8_t *p, size_t size)
{
	uint64_t head = shmx__get_le(p + SEQ_HEAD, 8);
	uint64_t tail = shmx__get_le(p + SEQ_TAIL(size), 8);
	uint32_t crc = (uint32_t)shmx__get_le(p + CRC_AT(size), 4);

	if (!head && !tail && !crc)
		return -ENOENT;
	if (head != tail || (head & 1))
		return -EAGAIN;
	/* The 8 seq bytes and the body are bytes [0, size - 12). */
	if (shmx__crc32c(0, p, CRC_AT(size)) != crc)
		return -EAGAIN;
	return 0;
}

uint64_t shmx__hdr_size(uint32_t max_members)
{
	uint64_t raw =
		SHMX_HDR_MAP_SIZE + (uint64_t)max_members * SHMX_HDR_ENTRY_SIZE;

	return (raw + SHMX_HDR_ALIGN - 1) & ~(SHMX_HDR_ALIGN - 1);
}

uint64_t shmx__hdr_entry_off(uint32_t id)
{
	return SHMX_HDR_MAP_SIZE + (uint64_t)(id - 1) * SHMX_HDR_ENTRY_SIZE;
}

void shmx__hdr_map_write(void *blk, const struct shmx_hdr_map *m)
{
	uint8_t img[SHMX_HDR_MAP_SIZE];
	uint32_t n = m->nr_extents < SHMX_EXTENTS_MAX ? m->nr_extents
						      : SHMX_EXTENTS_MAX;

	memset(img, 0, sizeof(img));
	shmx__put_le(img + MAP_MAGIC, SHMX_HDR_MAGIC, 4);
	shmx__put_le(img + MAP_LAYOUT, SHMX_HDR_LAYOUT, 4);
	shmx__put_le(img + MAP_GENERATION, m->generation, 8);
	shmx__put_le(img + MAP_ROOT, m->root, 8);
	shmx__put_le(img + MAP_TOTAL, m->total, 8);
	shmx__put_le(img + MAP_HDR_SIZE, m->hdr_size, 8);
	shmx__put_le(img + MAP_MAX_MEMBERS, m->max_members, 4);
	shmx__put_le(img + MAP_NR_EXTENTS, n, 4);
	for (uint32_t i = 0; i < n; i++) {
		shmx__put_le(img + ext_at(i), m->ext[i].base, 8);
		shmx__put_le(img + ext_at(i) + 8, m->ext[i].len, 8);
	}
	block_write(blk, img, sizeof(img));
}

/* Copy string @s into the @max-byte field at @to: truncated, NUL, zeros. */
static void put_str(uint8_t *to, const char *s, size_t max)
{
	size_t n = strnlen(s, max - 1);

	memcpy(to, s, n);
	memset(to + n, 0, max - n);
}

void shmx__hdr_member_write(void *blk, const struct shmx_hdr_member *e)
{
	uint8_t img[SHMX_HDR_ENTRY_SIZE];

	memset(img, 0, sizeof(img));
	shmx__put_le(img + ENT_MAGIC, SHMX_HDR_MAGIC, 4);
	shmx__put_le(img + ENT_ID, e->id, 4);
	shmx__put_le(img + ENT_LIVE, e->live, 4);
	shmx__put_le(img + ENT_PID, e->pid, 4);
	shmx__put_le(img + ENT_UID, e->uid, 4);
	shmx__put_le(img + ENT_GID, e->gid, 4);
	shmx__put_le(img + ENT_JOINED, (uint64_t)e->joined, 8);
	put_str(img + ENT_NAME, e->name, SHMX_NAME_MAX);
	put_str(img + ENT_HOST, e->host, SHMX_HOST_MAX);
	put_str(img + ENT_MAILBOX, e->mailbox, SHMX_MAILBOX_ADDR_MAX);
	shmx__put_le(img + ENT_MBOX_TAG, e->mbox_tag, 8);
	shmx__put_le(img + ENT_MBOX_WINDOW, e->mbox_window, 4);
	block_write(blk, img, sizeof(img));
}

/*
 * Extents must each be non-empty and end at or below 2^64 - 1 (so
 * SHMX_GADDR_NULL is never inside one), by increasing base and disjoint.
 * Disjoint extents below 2^64 - 1 cannot sum past it: no overflow.
 */
static int map_check(const struct shmx_hdr_map *m)
{
	uint64_t sum = 0;

	if (m->nr_extents > SHMX_EXTENTS_MAX)
		return -EBADMSG;
	if (m->hdr_size % SHMX_HDR_ALIGN ||
	    m->hdr_size < shmx__hdr_size(m->max_members))
		return -EBADMSG;
	for (uint32_t i = 0; i < m->nr_extents; i++) {
		const struct shmx_extent *x = &m->ext[i];

		if (!x->len || x->len > UINT64_MAX - x->base)
			return -EBADMSG;
		if (i && x->base < m->ext[i - 1].base + m->ext[i - 1].len)
			return -EBADMSG;
		sum += x->len;
	}
	return sum == m->total ? 0 : -EBADMSG;
}

int shmx__hdr_map_read(const void *blk, struct shmx_hdr_map *m)
{
	const uint8_t *p = blk;
	int ret = block_check(p, SHMX_HDR_MAP_SIZE);

	if (ret)
		return ret;
	if (shmx__get_le(p + MAP_MAGIC, 4) != SHMX_HDR_MAGIC ||
	    shmx__get_le(p + MAP_LAYOUT, 4) != SHMX_HDR_LAYOUT)
		return -EBADMSG;
	memset(m, 0, sizeof(*m));
	m->generation = shmx__get_le(p + MAP_GENERATION, 8);
	m->root = shmx__get_le(p + MAP_ROOT, 8);
	m->total = shmx__get_le(p + MAP_TOTAL, 8);
	m->hdr_size = shmx__get_le(p + MAP_HDR_SIZE, 8);
	m->max_members = (uint32_t)shmx__get_le(p + MAP_MAX_MEMBERS, 4);
	m->nr_extents = (uint32_t)shmx__get_le(p + MAP_NR_EXTENTS, 4);
	for (uint32_t i = 0; i < m->nr_extents && i < SHMX_EXTENTS_MAX; i++) {
		m->ext[i].base = shmx__get_le(p + ext_at(i), 8);
		m->ext[i].len = shmx__get_le(p + ext_at(i) + 8, 8);
	}
	return map_check(m);
}

int shmx__hdr_member_read(const void *blk, struct shmx_hdr_member *e)
{
	const uint8_t *p = blk;
	int ret = block_check(p, SHMX_HDR_ENTRY_SIZE);

	if (ret)
		return ret;
	if (shmx__get_le(p + ENT_MAGIC, 4) != SHMX_HDR_MAGIC)
		return -EBADMSG;
	if (!memchr(p + ENT_NAME, 0, SHMX_NAME_MAX) ||
	    !memchr(p + ENT_HOST, 0, SHMX_HOST_MAX) ||
	    !memchr(p + ENT_MAILBOX, 0, SHMX_MAILBOX_ADDR_MAX))
		return -EBADMSG;
	memset(e, 0, sizeof(*e));
	e->id = (uint32_t)shmx__get_le(p + ENT_ID, 4);
	e->live = (uint32_t)shmx__get_le(p + ENT_LIVE, 4);
	e->pid = (uint32_t)shmx__get_le(p + ENT_PID, 4);
	e->uid = (uint32_t)shmx__get_le(p + ENT_UID, 4);
	e->gid = (uint32_t)shmx__get_le(p + ENT_GID, 4);
	e->joined = (int64_t)shmx__get_le(p + ENT_JOINED, 8);
	memcpy(e->name, p + ENT_NAME, SHMX_NAME_MAX);
	memcpy(e->host, p + ENT_HOST, SHMX_HOST_MAX);
	memcpy(e->mailbox, p + ENT_MAILBOX, SHMX_MAILBOX_ADDR_MAX);
	e->mbox_tag = shmx__get_le(p + ENT_MBOX_TAG, 8);
	e->mbox_window = (uint32_t)shmx__get_le(p + ENT_MBOX_WINDOW, 4);
	if (!e->id || e->live > 1)
		return -EBADMSG;
	return 0;
}

int shmx__hdr_extent_find(const struct shmx_hdr_map *m, uint64_t gaddr,
			  uint64_t len)
{
	uint32_t lo = 0;
	uint32_t hi = m->nr_extents < SHMX_EXTENTS_MAX ? m->nr_extents
						       : SHMX_EXTENTS_MAX;
	const struct shmx_extent *x;
	uint64_t off;

	/* lo = the number of extents whose base is <= gaddr. */
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (m->ext[mid].base <= gaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return -EFAULT;
	x = &m->ext[lo - 1];
	off = gaddr - x->base;
	if (!len)
		len = 1;
	if (off >= x->len || len > x->len - off)
		return -EFAULT;
	return (int)(lo - 1);
}
