/* SPDX-License-Identifier: MIT */
/*
 * test_admin.c - shmnode's admin socket: open, stale and live sockets,
 * requests from a client process answered by admin_poll, bad request
 * lines, peers that do not send or do not read, and the default paths.
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
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "admin.h"
#include "util/clock.h"

static char dir[64], sock_path[128], out_path[128];
static struct admin adm;
static int calls;
/* The fd the next accepted connection gets, for handlers that shrink its
 * send buffer; -1 for none. */
static int next_conn_fd = -1;

/*
 * "echo WORD...": the words, one a line.  "full SIZE": -ENOSPC.  "big":
 * all of @outlen, after shrinking the connection's send buffer so that
 * the answer does not fit in it.
 */
static int handler(void *arg, int argc, char **argv, char *out, size_t outlen)
{
	size_t len = 0;

	(*(int *)arg)++;
	if (!strcmp(argv[0], "full")) {
		snprintf(out, outlen, "no room for %s\n",
			 argc > 1 ? argv[1] : "?");
		return -ENOSPC;
	}
	if (!strcmp(argv[0], "big")) {
		int sndbuf = 16384;

		if (next_conn_fd >= 0)
			assert_int_equal(setsockopt(next_conn_fd, SOL_SOCKET,
						    SO_SNDBUF, &sndbuf,
						    sizeof(sndbuf)),
					 0);
		for (len = 0; len + 1 < outlen; len++)
			out[len] = len % 64 == 63 ? '\n' : 'x';
		out[len] = '\0';
		return 0;
	}
	out[0] = '\0';
	for (int i = 0; i < argc; i++)
		len += (size_t)snprintf(out + len, outlen - len, "%s\n",
					argv[i]);
	return 0;
}

/* The lowest free fd: the one the next accept gets. */
static int lowest_free_fd(void)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	close(fd);
	return fd;
}

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/shmx-admin-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(sock_path, sizeof(sock_path), "%s/node.sock", dir);
	snprintf(out_path, sizeof(out_path), "%s/out", dir);
	memset(&adm, 0, sizeof(adm));
	calls = 0;
	next_conn_fd = -1;
	return 0;
}

static int teardown(void **state)
{
	admin_close(&adm);
	unlink(sock_path);
	unlink(out_path);
	return rmdir(dir);
}

/* Read what is left on @fd into @buf (NUL-terminated); its length. */
static size_t read_all(int fd, char *buf, size_t size)
{
	size_t len = 0;
	ssize_t n;

	while (len + 1 < size && (n = read(fd, buf + len, size - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	return len;
}

/*
 * Run admin_request(@argv) in a child process while this one serves with
 * admin_poll; the child's result, its printed text in @text.
 */
static int run_client(int argc, char **argv, char *text, size_t textlen)
{
	uint64_t deadline = shmx__now_ms() + 5000;
	int status, fd;
	pid_t pid;

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		FILE *out = fopen(out_path, "we");
		int ret;

		if (!out)
			_exit(255);
		ret = admin_request(sock_path, argc, argv, out, 2000);
		fclose(out);
		_exit(-ret);
	}
	while (waitpid(pid, &status, WNOHANG) == 0) {
		assert_true(shmx__now_ms() < deadline);
		admin_poll(&adm, handler, &calls);
		shmx__sleep_us(1000);
	}
	assert_true(WIFEXITED(status));
	assert_int_not_equal(WEXITSTATUS(status), 255);
	fd = open(out_path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	read_all(fd, text, textlen);
	close(fd);
	return -WEXITSTATUS(status);
}

/* A connected socket to the node, not yet accepted. */
static int raw_connect(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sock_path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	return fd;
}

/* Send @len bytes of @req raw, serve them, return the answer in @ans. */
static void raw_exchange(const char *req, size_t len, char *ans, size_t anslen)
{
	int fd = raw_connect();

	assert_int_equal(send(fd, req, len, MSG_NOSIGNAL), (ssize_t)len);
	admin_poll(&adm, handler, &calls);
	read_all(fd, ans, anslen);
	close(fd);
}

/* A socket file at @path that nothing listens on. */
static void make_stale_socket(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(fd);
}

static void test_open_close(void **state)
{
	struct admin zero;
	struct stat st;

	memset(&zero, 0, sizeof(zero));
	admin_close(&zero);
	admin_poll(&zero, handler, &calls);
	assert_int_equal(calls, 0);

	assert_int_equal(admin_open(&adm, sock_path), 0);
	assert_int_equal(lstat(sock_path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	/* Nothing waiting: returns at once. */
	admin_poll(&adm, handler, &calls);
	assert_int_equal(calls, 0);
	admin_close(&adm);
	assert_int_equal(lstat(sock_path, &st), -1);
	assert_int_equal(errno, ENOENT);
	admin_close(&adm);

	assert_int_equal(admin_open(&adm, ""), -EINVAL);
	admin_close(&adm);
}

static void test_close_keeps_a_replaced_file(void **state)
{
	char text[16];
	int fd;

	assert_int_equal(admin_open(&adm, sock_path), 0);
	unlink(sock_path);
	fd = open(sock_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "mine", 4), 4);
	close(fd);
	admin_close(&adm);
	fd = open(sock_path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(read_all(fd, text, sizeof(text)), 4);
	close(fd);
}

static void test_requests(void **state)
{
	char *echo[] = { "echo", "a", "bc" };
	char *full[] = { "full", "1G" };
	char text[256];

	assert_int_equal(admin_open(&adm, sock_path), 0);
	assert_int_equal(run_client(3, echo, text, sizeof(text)), 0);
	assert_string_equal(text, "echo\na\nbc\n");
	assert_int_equal(calls, 1);

	assert_int_equal(run_client(2, full, text, sizeof(text)), -ENOSPC);
	assert_string_equal(text, "No space left on device\nno room for 1G\n");
	assert_int_equal(calls, 2);
}

static void test_bad_lines(void **state)
{
	static const struct {
		const char *req;
		size_t len; /* 0: strlen */
	} bad[] = {
		{ .req = "\n" },
		{ .req = " \t \n" },
		{ .req = "sta\x01tus\n" },
		{ .req = "status\r\n" },
		{ .req = "sta\0tus\n", .len = 8 },
		{ .req = "status" }, /* then the client stops sending */
		{ .req = "1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17\n" },
	};
	char req[2048], ans[512];

	assert_int_equal(admin_open(&adm, sock_path), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t len = bad[i].len ? bad[i].len : strlen(bad[i].req);
		int fd = raw_connect();

		assert_int_equal(send(fd, bad[i].req, len, MSG_NOSIGNAL),
				 (ssize_t)len);
		shutdown(fd, SHUT_WR);
		admin_poll(&adm, handler, &calls);
		read_all(fd, ans, sizeof(ans));
		close(fd);
		assert_true(!strncmp(ans, "error 22 ", 9));
		assert_non_null(strchr(ans, '\n'));
	}
	/* Too long: 1024 bytes and no newline among them. */
	memset(req, 'a', sizeof(req));
	req[sizeof(req) - 1] = '\n';
	raw_exchange(req, sizeof(req), ans, sizeof(ans));
	assert_true(!strncmp(ans, "error 22 ", 9));
	assert_non_null(strstr(ans, "longer than 1024"));
	/* 1023 bytes and its newline is the longest request. */
	memset(req, 'a', 1023);
	req[1023] = '\n';
	raw_exchange(req, 1024, ans, sizeof(ans));
	assert_true(!strncmp(ans, "ok\n", 3));
	assert_int_equal(calls, 1);
	/* 16 words, tabs and repeated blanks are fine. */
	raw_exchange("echo\t 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n", 44, ans,
		     sizeof(ans));
	assert_true(!strncmp(ans, "ok\necho\n2\n", 10));
	assert_int_equal(calls, 2);
}

static void test_silent_client(void **state)
{
	char ans[256];
	uint64_t t0, ms;
	int fd;

	assert_int_equal(admin_open(&adm, sock_path), 0);
	fd = raw_connect();
	t0 = shmx__now_ms();
	admin_poll(&adm, handler, &calls);
	ms = shmx__now_ms() - t0;
	assert_true(ms >= 90 && ms < 150);
	read_all(fd, ans, sizeof(ans));
	close(fd);
	assert_true(!strncmp(ans, "error 110 ", 10));
	assert_int_equal(calls, 0);
}

static void test_client_that_does_not_read(void **state)
{
	char *big[] = { "big" }, *echo[] = { "echo", "x" };
	char *ans = malloc(ADMIN_TEXT_MAX + 512);
	uint64_t t0, ms;
	size_t len;
	int fd;

	assert_non_null(ans);
	assert_int_equal(admin_open(&adm, sock_path), 0);
	fd = raw_connect();
	assert_int_equal(send(fd, "big\n", 4, MSG_NOSIGNAL), 4);
	next_conn_fd = lowest_free_fd();
	t0 = shmx__now_ms();
	admin_poll(&adm, handler, &calls);
	ms = shmx__now_ms() - t0;
	assert_int_equal(calls, 1);
	assert_true(ms < 150);
	/* What the node could send before giving up: a start. */
	len = read_all(fd, ans, ADMIN_TEXT_MAX + 512);
	close(fd);
	assert_true(!strncmp(ans, "ok\nxxx", 6));
	assert_true(len < 3 + ADMIN_TEXT_MAX);

	/* A client that reads gets all of it through the same small buffer. */
	next_conn_fd = lowest_free_fd();
	assert_int_equal(run_client(1, big, ans, ADMIN_TEXT_MAX + 512), 0);
	assert_int_equal(strlen(ans), ADMIN_TEXT_MAX);
	next_conn_fd = -1;
	assert_int_equal(run_client(2, echo, ans, 64), 0);
	assert_string_equal(ans, "echo\nx\n");
	free(ans);
}

static void test_stale_live_and_other_files(void **state)
{
	struct admin other;
	char *echo[] = { "echo" };
	char text[64];
	struct stat st;
	int fd;

	/* A stale socket is replaced. */
	make_stale_socket(sock_path);
	assert_int_equal(admin_open(&adm, sock_path), 0);
	assert_int_equal(run_client(1, echo, text, sizeof(text)), 0);

	/* A live one is another node's. */
	assert_int_equal(admin_open(&other, sock_path), -EADDRINUSE);
	admin_close(&other);
	assert_int_equal(lstat(sock_path, &st), 0);
	assert_int_equal(run_client(1, echo, text, sizeof(text)), 0);
	assert_string_equal(text, "echo\n");
	admin_close(&adm);

	/* Anything but a socket is never removed. */
	fd = open(sock_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "keep", 4), 4);
	close(fd);
	assert_int_equal(admin_open(&adm, sock_path), -EEXIST);
	admin_close(&adm);
	fd = open(sock_path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(read_all(fd, text, sizeof(text)), 4);
	assert_string_equal(text, "keep");
	close(fd);
	unlink(sock_path);

	assert_int_equal(mkdir(sock_path, 0700), 0);
	assert_int_equal(admin_open(&adm, sock_path), -EEXIST);
	assert_int_equal(rmdir(sock_path), 0);
}

static void test_request_errors(void **state)
{
	char *status[] = { "status" }, *spaced[] = { "grow", "1 G" };
	char *empty[] = { "grow", "" }, *ctl[] = { "grow\x7f" };
	char *many[17], path[128];
	FILE *out = tmpfile();

	assert_non_null(out);
	snprintf(path, sizeof(path), "%s/missing.sock", dir);
	assert_int_equal(admin_request(path, 1, status, out, 1000), -ENOENT);
	make_stale_socket(sock_path);
	assert_int_equal(admin_request(sock_path, 1, status, out, 1000),
			 -ECONNREFUSED);
	assert_int_equal(admin_request(sock_path, 0, status, out, 1000),
			 -EINVAL);
	assert_int_equal(admin_request(sock_path, 2, spaced, out, 1000),
			 -EINVAL);
	assert_int_equal(admin_request(sock_path, 2, empty, out, 1000),
			 -EINVAL);
	assert_int_equal(admin_request(sock_path, 1, ctl, out, 1000), -EINVAL);
	for (int i = 0; i < 17; i++)
		many[i] = "w";
	assert_int_equal(admin_request(sock_path, 17, many, out, 1000),
			 -EINVAL);
	/* Nothing printed for any of them. */
	assert_int_equal(ftell(out), 0);
	fclose(out);

	/* A node that never answers: the client gives up in time. */
	unlink(sock_path);
	assert_int_equal(admin_open(&adm, sock_path), 0);
	out = tmpfile();
	assert_non_null(out);
	assert_int_equal(admin_request(sock_path, 1, status, out, 100),
			 -ETIMEDOUT);
	assert_int_equal(ftell(out), 0);
	fclose(out);
}

/* Another user may not give commands, even when the file lets it in. */
static void test_other_user_refused(void **state)
{
	char *status[] = { "status" };
	char text[256];
	int status_w, fd;
	pid_t pid;

	if (geteuid() != 0)
		skip();
	assert_int_equal(admin_open(&adm, sock_path), 0);
	assert_int_equal(chmod(dir, 0711), 0);
	assert_int_equal(chmod(sock_path, 0666), 0);
	fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		FILE *out = fdopen(fd, "w");
		int ret;

		if (!out || setgid(65534) || setuid(65534))
			_exit(255);
		ret = admin_request(sock_path, 1, status, out, 2000);
		fclose(out);
		_exit(-ret);
	}
	close(fd);
	while (waitpid(pid, &status_w, WNOHANG) == 0) {
		admin_poll(&adm, handler, &calls);
		shmx__sleep_us(1000);
	}
	assert_true(WIFEXITED(status_w));
	assert_int_equal(WEXITSTATUS(status_w), EPERM);
	assert_int_equal(calls, 0);
	fd = open(out_path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	read_all(fd, text, sizeof(text));
	close(fd);
	assert_non_null(strstr(text, "only root and uid 0"));
}

static void check_default(const char *listen, const char *want)
{
	char path[ADMIN_PATH_MAX];

	assert_int_equal(admin_default_path(listen, path, sizeof(path)), 0);
	assert_string_equal(path, want);
}

/* The paths of a user who is not root. */
static void check_user_defaults(void)
{
	char want[128], longdir[200];
	char path[ADMIN_PATH_MAX];

	setenv("XDG_RUNTIME_DIR", "/run/user/4242", 1);
	check_default("127.0.0.1:7470", "/run/user/4242/shmnode-7470.sock");
	check_default("[::1]:9000", "/run/user/4242/shmnode-9000.sock");
	setenv("XDG_RUNTIME_DIR", "relative/dir", 1);
	snprintf(want, sizeof(want), "/tmp/shmnode-%u-7470.sock",
		 (unsigned)geteuid());
	check_default("node1", want);
	unsetenv("XDG_RUNTIME_DIR");
	check_default("node1:7470", want);
	memset(longdir, 'd', sizeof(longdir));
	longdir[0] = '/';
	longdir[sizeof(longdir) - 1] = '\0';
	setenv("XDG_RUNTIME_DIR", longdir, 1);
	assert_int_equal(admin_default_path("node1", path, sizeof(path)),
			 -ENAMETOOLONG);
}

static void test_default_path(void **state)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	char *saved = xdg ? strdup(xdg) : NULL;
	char path[ADMIN_PATH_MAX];

	if (geteuid() == 0) {
		setenv("XDG_RUNTIME_DIR", "/run/user/4242", 1);
		check_default("127.0.0.1:7470", "/run/shmnode-7470.sock");
		check_default("host", "/run/shmnode-7470.sock");
		check_default("[::1]:9000", "/run/shmnode-9000.sock");
		assert_int_equal(seteuid(65534), 0);
		check_user_defaults();
		assert_int_equal(seteuid(0), 0);
	} else {
		check_user_defaults();
	}
	assert_int_equal(admin_default_path("host:0", path, sizeof(path)),
			 -EINVAL);
	assert_int_equal(admin_default_path("host", path, 8), -ENAMETOOLONG);

	unsetenv("XDG_RUNTIME_DIR");
	assert_int_equal(admin_socket_path("none", "host", path, sizeof(path)),
			 0);
	assert_string_equal(path, "");
	assert_int_equal(
		admin_socket_path("/x/a.sock", "host", path, sizeof(path)), 0);
	assert_string_equal(path, "/x/a.sock");
	assert_int_equal(admin_socket_path("", "host:7000", path, sizeof(path)),
			 0);
	assert_non_null(strstr(path, "shmnode-"));
	assert_non_null(strstr(path, "7000.sock"));
	if (saved)
		setenv("XDG_RUNTIME_DIR", saved, 1);
	free(saved);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_close, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_close_keeps_a_replaced_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_lines, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_silent_client, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_client_that_does_not_read,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_live_and_other_files,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_request_errors, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_other_user_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_default_path, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
