/* SPDX-License-Identifier: MIT */
/*
 * test_keys.c - key files and the handshake MACs: loading rules, and the
 * documented HMAC formula checked against an independent computation.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "proto/auth.h"

static char path[64];

static void key_file(const char *content, size_t len, mode_t mode)
{
	int fd;

	strcpy(path, "/tmp/shmx-key-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, len), (ssize_t)len);
	fchmod(fd, mode);
	close(fd);
}

static void test_key_loading(void **state)
{
	static char big[SHMX_KEY_MAX + 1];
	struct shmx_key k, k2;
	int loose = -1;

	assert_int_equal(shmx__key_load("/nonexistent/key", &k, NULL), -ENOENT);
	key_file("short\n", 6, 0600);
	assert_int_equal(shmx__key_load(path, &k, NULL), -EINVAL);
	unlink(path);

	key_file("0123456789abcdef  \n\n", 20, 0600);
	assert_int_equal(shmx__key_load(path, &k, &loose), 0);
	assert_int_equal(k.len, 16);
	assert_int_equal(loose, 0);
	unlink(path);
	key_file("0123456789abcdef", 16, 0644);
	assert_int_equal(shmx__key_load(path, &k2, &loose), 0);
	assert_int_equal(loose, 1);
	assert_memory_equal(k.bytes, k2.bytes, 16);
	unlink(path);

	memset(big, 'k', sizeof(big));
	key_file(big, SHMX_KEY_MAX, 0600);
	assert_int_equal(shmx__key_load(path, &k, NULL), 0);
	assert_int_equal(k.len, SHMX_KEY_MAX);
	unlink(path);
	key_file(big, SHMX_KEY_MAX + 1, 0600);
	assert_int_equal(shmx__key_load(path, &k, NULL), -EINVAL);
	unlink(path);

	assert_int_equal(shmx__key_load("/tmp", &k, NULL), -EINVAL);
}

static void test_mac_formula(void **state)
{
	struct shmx_key key = { .len = 20 };
	uint8_t nn[SHMX_NONCE_LEN], cn[SHMX_NONCE_LEN];
	uint8_t mac[SHMX_MAC_LEN], want[SHMX_MAC_LEN], msg[256];
	unsigned int wl = sizeof(want);
	size_t off = 0;

	memset(key.bytes, 0x42, key.len);
	memset(nn, 1, sizeof(nn));
	memset(cn, 2, sizeof(cn));
	/* Client: label || node nonce || client nonce || le32(session) || name */
	memcpy(msg + off, "shmext-client-v1", 16);
	off += 16;
	memcpy(msg + off, nn, 32);
	off += 32;
	memcpy(msg + off, cn, 32);
	off += 32;
	memcpy(msg + off, "\x07\x01\x00\x00", 4);
	off += 4;
	memcpy(msg + off, "alice", 5);
	off += 5;
	HMAC(EVP_sha256(), key.bytes, (int)key.len, msg, off, want, &wl);
	shmx__auth_client_mac(&key, nn, cn, 0x107, "alice", mac);
	assert_memory_equal(mac, want, SHMX_MAC_LEN);
	assert_true(shmx__mac_equal(mac, want));

	/* Node: label || client nonce || node nonce || le32(session) */
	off = 0;
	memcpy(msg + off, "shmext-node-v1", 14);
	off += 14;
	memcpy(msg + off, cn, 32);
	off += 32;
	memcpy(msg + off, nn, 32);
	off += 32;
	memcpy(msg + off, "\x07\x01\x00\x00", 4);
	off += 4;
	HMAC(EVP_sha256(), key.bytes, (int)key.len, msg, off, want, &wl);
	shmx__auth_node_mac(&key, cn, nn, 0x107, mac);
	assert_memory_equal(mac, want, SHMX_MAC_LEN);
}

static void test_mac_depends_on_every_input(void **state)
{
	struct shmx_key key = { .len = 16 }, other = { .len = 16 };
	uint8_t nn[SHMX_NONCE_LEN] = { 1 }, cn[SHMX_NONCE_LEN] = { 2 };
	uint8_t base[SHMX_MAC_LEN], m[SHMX_MAC_LEN];

	memset(key.bytes, 'a', 16);
	memset(other.bytes, 'b', 16);
	shmx__auth_client_mac(&key, nn, cn, 1, "n", base);
	shmx__auth_client_mac(&key, nn, cn, 1, "n", m);
	assert_true(shmx__mac_equal(base, m));
	shmx__auth_client_mac(&other, nn, cn, 1, "n", m);
	assert_false(shmx__mac_equal(base, m));
	shmx__auth_client_mac(&key, cn, nn, 1, "n", m);
	assert_false(shmx__mac_equal(base, m));
	shmx__auth_client_mac(&key, nn, cn, 2, "n", m);
	assert_false(shmx__mac_equal(base, m));
	shmx__auth_client_mac(&key, nn, cn, 1, "o", m);
	assert_false(shmx__mac_equal(base, m));
	/* Client and node MACs never coincide. */
	shmx__auth_node_mac(&key, cn, nn, 1, m);
	assert_false(shmx__mac_equal(base, m));
}

static void test_random(void **state)
{
	uint8_t a[32], b[32], zero[32] = { 0 };

	assert_int_equal(shmx__random(a, sizeof(a)), 0);
	assert_int_equal(shmx__random(b, sizeof(b)), 0);
	assert_memory_not_equal(a, b, sizeof(a));
	assert_memory_not_equal(a, zero, sizeof(a));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_loading),
		cmocka_unit_test(test_mac_formula),
		cmocka_unit_test(test_mac_depends_on_every_input),
		cmocka_unit_test(test_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
