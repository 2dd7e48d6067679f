/* SPDX-License-Identifier: MIT */
/*
 * test_config.c - shmnode's settings: defaults, every key, bad values that
 * name their key, and the config file format.
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

#include "config.h"
#include "util/log.h"

static char err[512];

static void test_defaults(void **state)
{
	struct node_config c;

	node_config_defaults(&c);
	assert_string_equal(c.listen, "127.0.0.1:7470");
	assert_int_equal(c.size, 256ull << 20);
	assert_string_equal(c.provider, "tcp;ofi_rxm");
	assert_string_equal(c.key_file, "");
	assert_string_equal(c.admin_socket, "");
	assert_int_equal(c.max_locks, 65536);
	assert_int_equal(c.lock_lease_ms, 1000);
	assert_int_equal(node_config_check(&c, err, sizeof(err)), 0);
}

static void test_set_each_key(void **state)
{
	struct node_config c;

	node_config_defaults(&c);
	assert_int_equal(
		node_config_set(&c, "listen", "[::1]:9000", err, sizeof(err)),
		0);
	assert_int_equal(node_config_set(&c, "size", "1G", err, sizeof(err)),
			 0);
	assert_int_equal(c.size, 1ull << 30);
	assert_int_equal(
		node_config_set(&c, "key-file", "/etc/k", err, sizeof(err)), 0);
	assert_int_equal(
		node_config_set(&c, "provider", "sockets", err, sizeof(err)),
		0);
	assert_int_equal(
		node_config_set(&c, "max-members", "16", err, sizeof(err)), 0);
	assert_int_equal(c.max_members, 16);
	assert_int_equal(
		node_config_set(&c, "client-timeout", "2000", err, sizeof(err)),
		0);
	assert_int_equal(
		node_config_set(&c, "heartbeat", "100", err, sizeof(err)), 0);
	assert_int_equal(
		node_config_set(&c, "log-level", "debug", err, sizeof(err)), 0);
	assert_int_equal(c.log_level, SHMX_LOG_DEBUG);
	/* The ends of the lock settings' ranges. */
	for (int hi = 0; hi < 2; hi++) {
		assert_int_equal(node_config_set(&c, "max-locks",
						 hi ? "1048576" : "1", err,
						 sizeof(err)),
				 0);
		assert_int_equal(node_config_set(&c, "lock-lease",
						 hi ? "3600000" : "1", err,
						 sizeof(err)),
				 0);
		assert_int_equal(c.max_locks, hi ? 1048576 : 1);
		assert_int_equal(c.lock_lease_ms, hi ? 3600000 : 1);
	}
	assert_int_equal(node_config_set(&c, "admin-socket", "/run/a.sock", err,
					 sizeof(err)),
			 0);
	assert_string_equal(c.admin_socket, "/run/a.sock");
	assert_int_equal(
		node_config_set(&c, "admin-socket", "none", err, sizeof(err)),
		0);
	assert_string_equal(c.admin_socket, "none");
	/* Empty is the default path, not an error. */
	assert_int_equal(
		node_config_set(&c, "admin-socket", "", err, sizeof(err)), 0);
	assert_string_equal(c.admin_socket, "");
}

static void test_bad_values_name_the_key(void **state)
{
	static const char *const bad[][2] = {
		{ "listen", "host:0" },
		{ "size", "12Q" },
		{ "size", "1" },
		{ "max-members", "0" },
		{ "max-members", "-3" },
		{ "client-timeout", "soon" },
		{ "heartbeat", "5" },
		{ "log-level", "chatty" },
		{ "transport", "pigeon" },
		{ "provider", "" },
		{ "max-locks", "0" },
		{ "max-locks", "1048577" },
		{ "max-locks", "many" },
		{ "lock-lease", "0" },
		{ "lock-lease", "3600001" },
		{ "lock-lease", "1s" },
	};
	struct node_config c;
	char longpath[200];

	node_config_defaults(&c);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(node_config_set(&c, bad[i][0], bad[i][1], err,
						 sizeof(err)),
				 -EINVAL);
		assert_non_null(strstr(err, bad[i][0]));
	}
	/* Longer than a socket address. */
	memset(longpath, 'a', sizeof(longpath));
	longpath[sizeof(longpath) - 1] = '\0';
	assert_int_equal(
		node_config_set(&c, "admin-socket", longpath, err, sizeof(err)),
		-EINVAL);
	assert_non_null(strstr(err, "admin-socket"));
	assert_string_equal(c.admin_socket, "");
	assert_int_equal(
		node_config_set(&c, "colour", "blue", err, sizeof(err)),
		-ENOENT);
	assert_non_null(strstr(err, "colour"));
	node_config_set(&c, "heartbeat", "2000", err, sizeof(err));
	assert_int_equal(node_config_check(&c, err, sizeof(err)), -EINVAL);
}

static void write_file(char *path, const char *text)
{
	int fd;

	strcpy(path, "/tmp/shmx-config-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void test_file(void **state)
{
	struct node_config c;
	char path[64];

	node_config_defaults(&c);
	write_file(path, "# a memory node\n"
			 "\n"
			 "listen = 127.0.0.1:7999   # loopback\n"
			 "  size=64M\n"
			 "max-members = 8\n"
			 "max-locks = 128\n"
			 "lock-lease = 250\n"
			 "admin-socket = /run/shmnode/admin.sock\n");
	assert_int_equal(node_config_load(&c, path, err, sizeof(err)), 0);
	assert_string_equal(c.listen, "127.0.0.1:7999");
	assert_int_equal(c.size, 64ull << 20);
	assert_int_equal(c.max_members, 8);
	assert_int_equal(c.max_locks, 128);
	assert_int_equal(c.lock_lease_ms, 250);
	assert_string_equal(c.admin_socket, "/run/shmnode/admin.sock");
	unlink(path);

	write_file(path, "size = 64M\nsize 64M\n");
	assert_int_equal(node_config_load(&c, path, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, ":2:"));
	unlink(path);

	write_file(path, "size = 64M\nmax-members = lots\n");
	assert_int_equal(node_config_load(&c, path, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, ":2: max-members"));
	unlink(path);

	assert_int_equal(node_config_load(&c, "/nonexistent/shmnode.conf", err,
					  sizeof(err)),
			 -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_set_each_key),
		cmocka_unit_test(test_bad_values_name_the_key),
		cmocka_unit_test(test_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
