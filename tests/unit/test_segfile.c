/* SPDX-License-Identifier: MIT */
/*
 * test_segfile.c - segment snapshot files (extlayer/segfile.c): round trips
 * of several sizes, the documented byte layout checked by an independent
 * parser, atomic replacement, and every way a file can be short, long,
 * damaged, foreign or from another version.  Files live in a fresh mkdtemp
 * directory under /tmp per test, removed afterwards.
 */
#include <dirent.h>
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
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "segfile.h"

#define HDR SHMX_SEGFILE_HDR_LEN

static char dir[64];
static char path[128];
static int fds_at_start;

/* Open descriptors of this process, to catch leaks. */
static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* Entries of the test directory (. and .. not counted). */
static int count_entries(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static int setup(void **state)
{
	strcpy(dir, "/tmp/shmx-segfile-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/seg.snap", dir);
	fds_at_start = count_fds();
	return 0;
}

static int teardown(void **state)
{
	int fds = count_fds();
	struct dirent *e;
	char p[sizeof(dir) + 256 + 2];
	DIR *d;

	d = opendir(dir);
	if (d) {
		while ((e = readdir(d))) {
			if (strcmp(e->d_name, ".") == 0 ||
			    strcmp(e->d_name, "..") == 0)
				continue;
			snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
			if (unlink(p))
				rmdir(p);
		}
		closedir(d);
	}
	rmdir(dir);
	/* Every writer and reader a test made gave its descriptors back. */
	return fds == fds_at_start ? 0 : -1;
}

/* Deterministic content: byte @i of a stream named by @seed. */
static void fill(uint8_t *buf, size_t len, uint32_t seed)
{
	uint32_t x = seed * 2654435761u + 1;

	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		buf[i] = (uint8_t)x;
	}
}

static const size_t write_chunks[] = { 1, 7, 4093, 65537, 3 };
static const size_t read_chunks[] = { 5, 65539, 1, 4097 };

/* Save @len bytes of @buf at @p in odd-sized chunks; 0 or the error. */
static int save_at(const char *p, const char *name, const uint8_t *buf,
		   size_t len)
{
	struct shmx_segfile_writer *w;
	size_t off = 0, k = 0;
	int ret;

	ret = shmx__segfile_create(p, name, len, 0640, 1000, 1000, &w);
	if (ret)
		return ret;
	while (off < len) {
		size_t n = write_chunks[k++ % 5];

		if (n > len - off)
			n = len - off;
		ret = shmx__segfile_write(w, buf + off, n);
		if (ret) {
			shmx__segfile_abort(w);
			return ret;
		}
		off += n;
	}
	return shmx__segfile_commit(w);
}

static int save(const uint8_t *buf, size_t len)
{
	return save_at(path, "seg", buf, len);
}

/* Read the whole content of an open reader in odd chunks and compare. */
static void expect_content(struct shmx_segfile_reader *r, const uint8_t *want,
			   size_t len)
{
	uint8_t *got_buf = malloc(len + 1);
	size_t off = 0, k = 0, got;

	assert_non_null(got_buf);
	while (off < len) {
		size_t n = read_chunks[k++ % 4];
		size_t expect = n < len - off ? n : len - off;

		assert_int_equal(shmx__segfile_read(r, got_buf + off, n, &got),
				 0);
		assert_int_equal(got, expect);
		off += got;
	}
	assert_memory_equal(got_buf, want, len);
	/* At the end: 0 bytes, every time. */
	assert_int_equal(shmx__segfile_read(r, got_buf, 1, &got), 0);
	assert_int_equal(got, 0);
	assert_int_equal(shmx__segfile_read(r, got_buf, 1, &got), 0);
	assert_int_equal(got, 0);
	free(got_buf);
}

/* Open @path and expect this content, verified. */
static void expect_file(const uint8_t *want, size_t len)
{
	struct shmx_segfile_reader *r;
	struct shmx_segfile_hdr h;

	assert_int_equal(shmx__segfile_open(path, &r, &h), 0);
	assert_int_equal(h.size, len);
	assert_int_equal(shmx__segfile_verify(r), 0);
	expect_content(r, want, len);
	shmx__segfile_close(r);
}

/* ---- an independent reading of docs/segfile.md ---------------------- */

static const uint8_t magic[8] = { 'S', 'H', 'M', 'X', 'S', 'E', 'G', 0 };

static uint64_t get_le(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void put_le(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

static void sha256(const void *buf, size_t len, uint8_t out[32])
{
	unsigned int n = 0;

	assert_int_equal(EVP_Digest(buf, len, out, &n, EVP_sha256(), NULL), 1);
	assert_int_equal(n, 32);
}

/* The header checksum: SHA-256 of the header with bytes 144..175 zero. */
static void reseal(uint8_t hdr[HDR])
{
	memset(hdr + 144, 0, 32);
	sha256(hdr, HDR, hdr + 144);
}

static void read_hdr(const char *p, uint8_t hdr[HDR])
{
	int fd = open(p, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, hdr, HDR, 0), HDR);
	close(fd);
}

static void write_at(const char *p, const void *buf, size_t len, off_t off)
{
	int fd = open(p, O_WRONLY);

	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, buf, len, off), (ssize_t)len);
	close(fd);
}

/* Write a file of @len bytes with this content. */
static void write_file(const char *p, const void *buf, size_t len)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	close(fd);
}

static uint64_t file_size(const char *p)
{
	struct stat st;

	assert_int_equal(stat(p, &st), 0);
	return (uint64_t)st.st_size;
}

static int open_err(void)
{
	struct shmx_segfile_reader *r = (void *)1;
	int ret = shmx__segfile_open(path, &r, NULL);

	if (!ret)
		shmx__segfile_close(r);
	else
		assert_null(r);
	return ret;
}

/* ---- tests ----------------------------------------------------------- */

static void test_round_trip(void **state)
{
	static const size_t sizes[] = { 0, 1, 4095, (1u << 20) + 3 };
	struct shmx_segfile_reader *r;
	struct stat st;
	uint8_t first[8];
	size_t got;

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t len = sizes[i];
		uint8_t *buf = malloc(len + 1);

		assert_non_null(buf);
		fill(buf, len, (uint32_t)i + 1);
		assert_int_equal(save(buf, len), 0);
		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_size, HDR + len);
		assert_int_equal(st.st_mode & 0777, 0600);
		/* No temporary file left beside it. */
		assert_int_equal(count_entries(), 1);
		expect_file(buf, len);

		/* verify rewinds, wherever the reader was. */
		assert_int_equal(shmx__segfile_open(path, &r, NULL), 0);
		assert_int_equal(shmx__segfile_read(r, first, 3, &got), 0);
		assert_int_equal(got, len < 3 ? len : 3);
		assert_int_equal(shmx__segfile_verify(r), 0);
		expect_content(r, buf, len);
		assert_int_equal(shmx__segfile_verify(r), 0);
		expect_content(r, buf, len);
		shmx__segfile_close(r);
		free(buf);
	}
}

static void test_header_fields(void **state)
{
	const char *name = "A name of sixty-three characters, with ~ and "
			   "spaces: 0123456789";
	struct shmx_segfile_writer *w;
	struct shmx_segfile_reader *r;
	struct shmx_segfile_hdr h;
	uint8_t buf[777], raw[HDR], sum[32], want[32];
	uint64_t t0, t1;

	assert_int_equal(strlen(name), SHMX_NAME_MAX - 1);
	fill(buf, sizeof(buf), 77);
	t0 = (uint64_t)time(NULL);
	assert_int_equal(shmx__segfile_create(path, name, sizeof(buf), 041750,
					      4000000000u, 7, &w),
			 0);
	assert_int_equal(shmx__segfile_write(w, buf, sizeof(buf)), 0);
	assert_int_equal(shmx__segfile_commit(w), 0);
	t1 = (uint64_t)time(NULL);

	memset(&h, 0xa5, sizeof(h));
	assert_int_equal(shmx__segfile_open(path, &r, &h), 0);
	assert_int_equal(h.version, 1);
	assert_int_equal(h.hdr_len, HDR);
	assert_int_equal(h.size, sizeof(buf));
	assert_string_equal(h.name, name);
	assert_int_equal(h.mode, 041750);
	assert_int_equal(h.uid, 4000000000u);
	assert_int_equal(h.gid, 7);
	assert_true(h.save_time >= t0 && h.save_time <= t1);
	sha256(buf, sizeof(buf), want);
	assert_memory_equal(h.content_sha256, want, 32);
	shmx__segfile_close(r);

	/* The bytes themselves, offset by offset as documented. */
	read_hdr(path, raw);
	assert_memory_equal(raw, magic, 8);
	assert_int_equal(get_le(raw + 8, 4), 1);
	assert_int_equal(get_le(raw + 12, 4), HDR);
	assert_int_equal(get_le(raw + 16, 8), sizeof(buf));
	assert_memory_equal(raw + 24, name, 63);
	assert_int_equal(raw[24 + 63], 0);
	assert_int_equal(get_le(raw + 88, 4), 041750);
	assert_int_equal(get_le(raw + 92, 4), 4000000000u);
	assert_int_equal(get_le(raw + 96, 4), 7);
	assert_int_equal(get_le(raw + 100, 4), 0);
	assert_int_equal(get_le(raw + 104, 8), h.save_time);
	assert_memory_equal(raw + 112, want, 32);
	memcpy(sum, raw + 144, 32);
	reseal(raw);
	assert_memory_equal(raw + 144, sum, 32);
	for (int i = 176; i < HDR; i++)
		assert_int_equal(raw[i], 0);

	/* A short name is NUL-padded to the end of its field. */
	assert_int_equal(save_at(path, "x", buf, 1), 0);
	read_hdr(path, raw);
	assert_int_equal(raw[24], 'x');
	for (int i = 25; i < 88; i++)
		assert_int_equal(raw[i], 0);
}

static void test_bad_arguments(void **state)
{
	struct shmx_segfile_writer *w = (void *)1;
	struct shmx_segfile_reader *r;
	char longname[SHMX_NAME_MAX + 1], p[160];
	uint8_t b = 0;
	size_t got;

	memset(longname, 'n', SHMX_NAME_MAX);
	longname[SHMX_NAME_MAX] = 0;
	assert_int_equal(shmx__segfile_create(path, longname, 1, 0, 0, 0, &w),
			 -ENAMETOOLONG);
	assert_null(w);
	assert_int_equal(shmx__segfile_create(path, "", 1, 0, 0, 0, &w),
			 -EINVAL);
	assert_int_equal(
		shmx__segfile_create(path, "tab\there", 1, 0, 0, 0, &w),
		-EINVAL);
	assert_int_equal(
		shmx__segfile_create(path, "caf\xc3\xa9", 1, 0, 0, 0, &w),
		-EINVAL);
	assert_int_equal(shmx__segfile_create(NULL, "s", 1, 0, 0, 0, &w),
			 -EINVAL);
	assert_int_equal(shmx__segfile_create(path, NULL, 1, 0, 0, 0, &w),
			 -EINVAL);
	assert_int_equal(shmx__segfile_create(path, "s", 1, 0, 0, 0, NULL),
			 -EINVAL);
	assert_int_equal(shmx__segfile_create("", "s", 1, 0, 0, 0, &w),
			 -EINVAL);
	snprintf(p, sizeof(p), "%s/", dir);
	assert_int_equal(shmx__segfile_create(p, "s", 1, 0, 0, 0, &w), -EINVAL);
	assert_int_equal(
		shmx__segfile_create(path, "s", UINT64_MAX, 0, 0, 0, &w),
		-EFBIG);
	assert_int_equal(shmx__segfile_create(path, "s", (uint64_t)INT64_MAX, 0,
					      0, 0, &w),
			 -EFBIG);
	assert_int_equal(count_entries(), 0);

	assert_int_equal(shmx__segfile_write(NULL, &b, 1), -EINVAL);
	assert_int_equal(shmx__segfile_commit(NULL), -EINVAL);
	assert_int_equal(shmx__segfile_abort(NULL), 0);
	assert_int_equal(shmx__segfile_open(NULL, &r, NULL), -EINVAL);
	assert_int_equal(shmx__segfile_open(path, NULL, NULL), -EINVAL);
	assert_int_equal(shmx__segfile_read(NULL, &b, 1, &got), -EINVAL);
	assert_int_equal(shmx__segfile_verify(NULL), -EINVAL);
	assert_int_equal(shmx__segfile_close(NULL), 0);

	/* A relative path: the temporary goes in the current directory. */
	assert_int_equal(chdir(dir), 0);
	assert_int_equal(shmx__segfile_create("rel.snap", "s", 1, 0, 0, 0, &w),
			 0);
	assert_int_equal(shmx__segfile_write(w, &b, 1), 0);
	assert_int_equal(shmx__segfile_commit(w), 0);
	assert_int_equal(chdir("/"), 0);
	snprintf(p, sizeof(p), "%s/rel.snap", dir);
	assert_int_equal(file_size(p), HDR + 1);
}

static void test_short_commit(void **state)
{
	struct shmx_segfile_writer *w;
	uint8_t buf[100];

	fill(buf, sizeof(buf), 3);
	assert_int_equal(shmx__segfile_create(path, "s", 100, 0, 0, 0, &w), 0);
	assert_int_equal(count_entries(), 1); /* the temporary */
	assert_int_equal(shmx__segfile_write(w, buf, 99), 0);
	assert_int_equal(shmx__segfile_commit(w), -EIO);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(count_entries(), 0);

	/* Nothing written at all. */
	assert_int_equal(shmx__segfile_create(path, "s", 1, 0, 0, 0, &w), 0);
	assert_int_equal(shmx__segfile_commit(w), -EIO);
	assert_int_equal(count_entries(), 0);
}

static void test_write_past_size(void **state)
{
	struct shmx_segfile_writer *w;
	uint8_t buf[11];

	fill(buf, sizeof(buf), 4);
	assert_int_equal(shmx__segfile_create(path, "s", 10, 0, 0, 0, &w), 0);
	assert_int_equal(shmx__segfile_write(w, buf, 11), -EFBIG);
	/* All or nothing: the refused write took no byte. */
	assert_int_equal(shmx__segfile_write(w, buf, 4), 0);
	assert_int_equal(shmx__segfile_write(w, buf + 4, 7), -EFBIG);
	assert_int_equal(shmx__segfile_write(w, buf + 4, 6), 0);
	assert_int_equal(shmx__segfile_write(w, buf, 1), -EFBIG);
	assert_int_equal(shmx__segfile_write(w, NULL, 0), 0);
	assert_int_equal(shmx__segfile_commit(w), 0);
	expect_file(buf, 10);

	/* A zero-size segment takes no byte at all. */
	assert_int_equal(shmx__segfile_create(path, "s", 0, 0, 0, 0, &w), 0);
	assert_int_equal(shmx__segfile_write(w, buf, 1), -EFBIG);
	assert_int_equal(shmx__segfile_commit(w), 0);
	expect_file(buf, 0);
}

static void test_abort(void **state)
{
	struct shmx_segfile_writer *w;
	uint8_t buf[5000];

	fill(buf, sizeof(buf), 5);
	assert_int_equal(shmx__segfile_create(path, "s", 10000, 0, 0, 0, &w),
			 0);
	assert_int_equal(shmx__segfile_write(w, buf, sizeof(buf)), 0);
	assert_int_equal(shmx__segfile_abort(w), 0);
	assert_int_equal(count_entries(), 0);

	assert_int_equal(shmx__segfile_create(path, "s", 0, 0, 0, 0, &w), 0);
	assert_int_equal(shmx__segfile_abort(w), 0);
	assert_int_equal(count_entries(), 0);
}

static void test_replace_on_commit(void **state)
{
	struct shmx_segfile_writer *w;
	uint8_t a[5000], b[3001];

	fill(a, sizeof(a), 6);
	fill(b, sizeof(b), 7);
	assert_int_equal(save(a, sizeof(a)), 0);

	/* Aborted: the old file is untouched. */
	assert_int_equal(
		shmx__segfile_create(path, "s", sizeof(b), 0, 0, 0, &w), 0);
	assert_int_equal(shmx__segfile_write(w, b, sizeof(b)), 0);
	expect_file(a, sizeof(a));
	assert_int_equal(shmx__segfile_abort(w), 0);
	expect_file(a, sizeof(a));
	assert_int_equal(count_entries(), 1);

	/* Failed commit: the same. */
	assert_int_equal(
		shmx__segfile_create(path, "s", sizeof(b), 0, 0, 0, &w), 0);
	assert_int_equal(shmx__segfile_write(w, b, 10), 0);
	assert_int_equal(shmx__segfile_commit(w), -EIO);
	expect_file(a, sizeof(a));
	assert_int_equal(count_entries(), 1);

	/* Fully written: the old one stays until the commit. */
	assert_int_equal(
		shmx__segfile_create(path, "s", sizeof(b), 0, 0, 0, &w), 0);
	assert_int_equal(shmx__segfile_write(w, b, sizeof(b)), 0);
	expect_file(a, sizeof(a));
	assert_int_equal(shmx__segfile_commit(w), 0);
	expect_file(b, sizeof(b));
	assert_int_equal(count_entries(), 1);

	/* Whatever file was there is replaced, not only segment files. */
	write_file(path, "not a segment\n", 14);
	assert_int_equal(save(a, sizeof(a)), 0);
	expect_file(a, sizeof(a));
}

static void test_corrupt_content(void **state)
{
	struct shmx_segfile_reader *r;
	uint8_t buf[4096], x;

	fill(buf, sizeof(buf), 8);
	for (size_t off = 0; off < sizeof(buf); off += 4095) {
		assert_int_equal(save(buf, sizeof(buf)), 0);
		x = buf[off] ^ 0x10;
		write_at(path, &x, 1, HDR + (off_t)off);
		/* The header is intact: open succeeds, verify does not. */
		assert_int_equal(shmx__segfile_open(path, &r, NULL), 0);
		assert_int_equal(shmx__segfile_verify(r), -EBADMSG);
		assert_int_equal(shmx__segfile_verify(r), -EBADMSG);
		shmx__segfile_close(r);
	}
}

static void test_corrupt_header(void **state)
{
	uint8_t buf[300], good[HDR], bad[HDR];
	int want;

	fill(buf, sizeof(buf), 9);
	assert_int_equal(save(buf, sizeof(buf)), 0);
	read_hdr(path, good);

	/* One bit flipped anywhere in the header. */
	for (int off = 0; off < HDR; off++) {
		memcpy(bad, good, HDR);
		bad[off] ^= 0x01;
		write_at(path, bad, HDR, 0);
		if (off < 8)
			want = -EINVAL; /* magic: not a segment file */
		else if (off >= 9 && off < 12)
			want = -EPROTO; /* version 1 -> another */
		else
			want = -EBADMSG; /* at 8: version 1 -> 0 */
		if (open_err() != want)
			fail_msg("bit flip at header offset %d: %d, not %d",
				 off, open_err(), want);
	}

	/* Sealed with a correct checksum but with fields out of range. */
	memcpy(bad, good, HDR);
	bad[200] = 1; /* reserved */
	reseal(bad);
	write_at(path, bad, HDR, 0);
	assert_int_equal(open_err(), -EBADMSG);

	memcpy(bad, good, HDR);
	bad[101] = 1; /* reserved0 */
	reseal(bad);
	write_at(path, bad, HDR, 0);
	assert_int_equal(open_err(), -EBADMSG);

	memcpy(bad, good, HDR);
	memset(bad + 24, 'n', 64); /* name without NUL */
	reseal(bad);
	write_at(path, bad, HDR, 0);
	assert_int_equal(open_err(), -EBADMSG);

	memcpy(bad, good, HDR);
	memset(bad + 24, 0, 64); /* empty name */
	reseal(bad);
	write_at(path, bad, HDR, 0);
	assert_int_equal(open_err(), -EBADMSG);

	memcpy(bad, good, HDR);
	bad[24 + 40] = 'z'; /* a byte after the name's NUL */
	reseal(bad);
	write_at(path, bad, HDR, 0);
	assert_int_equal(open_err(), -EBADMSG);

	memcpy(bad, good, HDR);
	bad[25] = 0x7f; /* not printable */
	reseal(bad);
	write_at(path, bad, HDR, 0);
	assert_int_equal(open_err(), -EBADMSG);

	memcpy(bad, good, HDR);
	put_le(bad + 12, 512, 4); /* version 1 has a 256-byte header */
	reseal(bad);
	write_at(path, bad, HDR, 0);
	assert_int_equal(open_err(), -EBADMSG);

	memcpy(bad, good, HDR);
	put_le(bad + 16, 301, 8); /* size disagrees with the length */
	reseal(bad);
	write_at(path, bad, HDR, 0);
	assert_int_equal(open_err(), -EBADMSG);

	memcpy(bad, good, HDR);
	put_le(bad + 16, UINT64_MAX - 100, 8); /* hdr_len + size overflows */
	reseal(bad);
	write_at(path, bad, HDR, 0);
	assert_int_equal(open_err(), -EBADMSG);

	/* And resealed unchanged, it is good again. */
	memcpy(bad, good, HDR);
	reseal(bad);
	write_at(path, bad, HDR, 0);
	expect_file(buf, sizeof(buf));
}

static void test_truncated_or_long(void **state)
{
	static const off_t cuts[] = { HDR + 999, HDR, HDR - 1, 100, 16, 12, 8 };
	uint8_t buf[1000], x = 0;
	int fd;

	fill(buf, sizeof(buf), 10);
	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		assert_int_equal(save(buf, sizeof(buf)), 0);
		assert_int_equal(truncate(path, cuts[i]), 0);
		if (open_err() != -EBADMSG)
			fail_msg("cut to %lld bytes: %d", (long long)cuts[i],
				 open_err());
	}
	/* Too short to hold the magic: not a segment file at all. */
	assert_int_equal(truncate(path, 4), 0);
	assert_int_equal(open_err(), -EINVAL);

	/* One byte after the content. */
	assert_int_equal(save(buf, sizeof(buf)), 0);
	fd = open(path, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, &x, 1), 1);
	close(fd);
	assert_int_equal(open_err(), -EBADMSG);

	assert_int_equal(save(buf, 0), 0);
	fd = open(path, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, &x, 1), 1);
	close(fd);
	assert_int_equal(open_err(), -EBADMSG);
}

static void test_not_a_segment_file(void **state)
{
	uint8_t hdr[HDR];

	write_file(path, "hello, world\n", 13);
	assert_int_equal(open_err(), -EINVAL);
	write_file(path, "", 0);
	assert_int_equal(open_err(), -EINVAL);

	/* A valid file with one magic byte changed and the header resealed. */
	assert_int_equal(save((const uint8_t *)"abc", 3), 0);
	read_hdr(path, hdr);
	hdr[7] = '1';
	reseal(hdr);
	write_at(path, hdr, HDR, 0);
	assert_int_equal(open_err(), -EINVAL);

	/* A directory. */
	unlink(path);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(open_err(), -EINVAL);
	rmdir(path);
}

static void test_future_version(void **state)
{
	uint8_t hdr[HDR], big[4096];

	assert_int_equal(save((const uint8_t *)"abc", 3), 0);
	read_hdr(path, hdr);
	put_le(hdr + 8, 2, 4);
	reseal(hdr);
	write_at(path, hdr, HDR, 0);
	assert_int_equal(open_err(), -EPROTO);

	put_le(hdr + 8, UINT32_MAX, 4);
	write_at(path, hdr, HDR, 0);
	assert_int_equal(open_err(), -EPROTO);

	/* A later version may have a longer header laid out differently. */
	fill(big, sizeof(big), 11);
	memcpy(big, magic, 8);
	put_le(big + 8, 2, 4);
	put_le(big + 12, sizeof(big), 4);
	write_file(path, big, sizeof(big));
	assert_int_equal(open_err(), -EPROTO);
	/* Only the frozen 16 bytes are needed to tell. */
	write_file(path, big, 16);
	assert_int_equal(open_err(), -EPROTO);
}

static void test_missing_directory(void **state)
{
	struct shmx_segfile_writer *w = (void *)1;
	struct shmx_segfile_reader *r = (void *)1;
	char p[160];

	snprintf(p, sizeof(p), "%s/no-such-dir/seg.snap", dir);
	assert_int_equal(shmx__segfile_create(p, "s", 1, 0, 0, 0, &w), -ENOENT);
	assert_null(w);
	assert_int_equal(shmx__segfile_open(p, &r, NULL), -ENOENT);
	assert_null(r);
	assert_int_equal(shmx__segfile_open(path, &r, NULL), -ENOENT);

	/* A component that is a file, not a directory. */
	write_file(path, "x", 1);
	snprintf(p, sizeof(p), "%s/seg.snap/inner", dir);
	assert_int_equal(shmx__segfile_create(p, "s", 1, 0, 0, 0, &w),
			 -ENOTDIR);
	assert_int_equal(count_entries(), 1);
}

static void test_write_error_is_sticky(void **state)
{
	struct shmx_segfile_writer *w;
	struct rlimit old, lim;
	uint8_t buf[2000];
	int ret;

	/* The file system refuses past 1000 bytes: RLIMIT_FSIZE, no signal. */
	fill(buf, sizeof(buf), 12);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = 1000;
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(
		shmx__segfile_create(path, "s", sizeof(buf), 0, 0, 0, &w), 0);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	ret = shmx__segfile_write(w, buf, sizeof(buf));
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_DFL);
	assert_int_equal(ret, -EFBIG);
	/* The writer is broken from now on, and commit cleans up. */
	assert_int_equal(shmx__segfile_write(w, buf, 1), -EFBIG);
	assert_int_equal(shmx__segfile_commit(w), -EFBIG);
	assert_int_equal(count_entries(), 0);
}

static void test_large_sparse(void **state)
{
	const uint64_t size = (5ull << 30) + 7;
	struct shmx_segfile_writer *w;
	struct shmx_segfile_reader *r;
	struct shmx_segfile_hdr h;
	uint8_t hdr[HDR] = { 0 }, buf[4096], zero[4096] = { 0 };
	size_t got;

	/* A header built by hand from the documentation, over a hole. */
	memcpy(hdr, magic, 8);
	put_le(hdr + 8, 1, 4);
	put_le(hdr + 12, HDR, 4);
	put_le(hdr + 16, size, 8);
	memcpy(hdr + 24, "big", sizeof("big"));
	put_le(hdr + 104, 1700000000, 8);
	reseal(hdr);
	write_file(path, hdr, HDR);
	if (truncate(path, (off_t)(HDR + size))) {
		skip(); /* no room for even a sparse 5 GiB file here */
		return;
	}
	assert_int_equal(shmx__segfile_open(path, &r, &h), 0);
	assert_int_equal(h.size, size);
	assert_string_equal(h.name, "big");
	assert_int_equal(h.save_time, 1700000000);
	assert_int_equal(shmx__segfile_read(r, buf, sizeof(buf), &got), 0);
	assert_int_equal(got, sizeof(buf));
	assert_memory_equal(buf, zero, sizeof(buf));
	shmx__segfile_close(r);
	assert_int_equal(truncate(path, (off_t)(HDR + size - 1)), 0);
	assert_int_equal(open_err(), -EBADMSG);
	unlink(path);

	/* A writer for a large segment checks the count in 64 bits. */
	assert_int_equal(shmx__segfile_create(path, "big", size, 0, 0, 0, &w),
			 0);
	assert_int_equal(shmx__segfile_write(w, zero, sizeof(zero)), 0);
	assert_int_equal(shmx__segfile_commit(w), -EIO);
	assert_int_equal(count_entries(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_header_fields, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bad_arguments, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_short_commit, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_write_past_size, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_abort, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replace_on_commit, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_content, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_header, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_truncated_or_long, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_not_a_segment_file, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_future_version, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_missing_directory, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_write_error_is_sticky,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_large_sparse, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
