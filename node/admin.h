/* SPDX-License-Identifier: MIT */
/*
 * admin.h - shmnode's local admin channel: a Unix domain stream socket on
 * which operators ("shmnode admin COMMAND [ARG]...") give a running node
 * one command per connection, and the client that sends them.
 *
 * Wire format, text, one exchange per connection:
 *
 *   request  One line of at most ADMIN_LINE_MAX bytes counting its final
 *            '\n': at most ADMIN_ARGS_MAX words separated by spaces or
 *            tabs, the first one the command ("status", "grow 1G").  No
 *            NUL and no control bytes but tab (bytes from 0x80 pass).
 *   answer   A status line, "ok" or "error ERRNO MESSAGE" (ERRNO a
 *            positive decimal errno, MESSAGE text to the end of the line),
 *            then the handler's text (lines, at most ADMIN_TEXT_MAX bytes),
 *            then the node closes the connection.
 *
 * The node waits at most ADMIN_WAIT_MS per connection for the request and
 * for room to send the answer; a peer that does not read loses it.  Only
 * root and the node's own user may use the socket: its file is mode 0600
 * and the node checks each peer's credentials (SO_PEERCRED).
 *
 * The node side (admin_open, admin_poll, admin_close) is single-threaded:
 * it runs in shmnode's event loop.
 */
#ifndef SHMX_NODE_ADMIN_H
#define SHMX_NODE_ADMIN_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#define ADMIN_PATH_MAX 108	  /* sizeof(sockaddr_un.sun_path) */
#define ADMIN_LINE_MAX 1024	  /* request bytes, '\n' included */
#define ADMIN_ARGS_MAX 16	  /* words of a request */
#define ADMIN_TEXT_MAX (64 << 10) /* handler's text, NUL included */
#define ADMIN_WAIT_MS 100	  /* per connection, in total */
#define ADMIN_ACCEPT_MAX 4	  /* connections served per admin_poll */

/* The listening side.  All zero (or a failed admin_open) is closed. */
struct admin {
	int fd; /* listening socket, when @open */
	char path[ADMIN_PATH_MAX];
	int open;  /* we bound @path: admin_close unlinks it */
	dev_t dev; /* the socket file we bound, so that admin_close */
	ino_t ino; /* never unlinks a file someone else put there */
};

/*
 * A command handler: @argv[0] is the command word, @argc is from 1 to
 * ADMIN_ARGS_MAX and @argv[@argc] is NULL; the words live until it
 * returns.  Writes its answer text (lines) into @out, NUL-terminated
 * and truncated to @outlen (ADMIN_TEXT_MAX), and returns 0 or a negative
 * errno; the text then explains the error.
 */
typedef int (*admin_fn)(void *arg, int argc, char **argv, char *out,
			size_t outlen);

/*
 * Listen on @path: a non-blocking socket whose file has mode 0600 (the
 * process umask is changed around bind).  A socket file already at @path
 * that something answers on is another node's: -EADDRINUSE; one nothing
 * answers on is stale and replaced.  Anything else at @path is never
 * removed: -EEXIST.  Returns 0, or -EINVAL (empty @path), -ENAMETOOLONG,
 * -EEXIST, -EADDRINUSE or the -errno of a failed call.  On failure @a is
 * closed (admin_close is harmless on it).
 */
int admin_open(struct admin *a, const char *path);

/*
 * Serve the connections waiting on @a, at most ADMIN_ACCEPT_MAX of them;
 * returns at once when there are none.  For each: a peer that is neither
 * root nor our effective user gets an EPERM answer unread; otherwise read
 * one request line (waiting at most ADMIN_WAIT_MS), call @fn(@arg, ...)
 * with its words and send "ok" or "error ERRNO MESSAGE" and @fn's text,
 * then close.  A line that is too long, empty, not ended by '\n', of too
 * many words or with NUL or control bytes gets an EINVAL answer, and one
 * that does not come in time an ETIMEDOUT answer, without calling @fn.
 * Takes at most ADMIN_ACCEPT_MAX * ADMIN_WAIT_MS ms.  Does nothing on a
 * closed @a.
 */
void admin_poll(struct admin *a, admin_fn fn, void *arg);

/*
 * Stop listening and unlink the socket file, if it is still the one
 * admin_open created.  Harmless on a zeroed, failed or closed @a.
 */
void admin_close(struct admin *a);

/*
 * The client: connect to @path, send @argv joined by spaces with a '\n',
 * read the answer until the node closes, all within @timeout_ms (a full
 * backlog is waited out).  A node
 * running as another user than us (unless it or we are root) is not
 * trusted: -EPERM.
 *
 * On a complete answer, prints it to @out: for "ok" the handler's text,
 * for an error its MESSAGE as a first line and then the text.  Prints
 * nothing otherwise.
 *
 * Returns 0 when the node answered "ok", the negative ERRNO of an error
 * answer, or, with nothing printed: -EINVAL (no words, more than
 * ADMIN_ARGS_MAX, an empty word or one with white space or control bytes,
 * a line over ADMIN_LINE_MAX), -ENAMETOOLONG, -ENOENT (no socket at
 * @path), -ECONNREFUSED (a stale socket: no node), -EPERM (see above),
 * -ETIMEDOUT, -EBADMSG (not an answer, or too long) or the -errno of a
 * failed call.
 */
int admin_request(const char *path, int argc, char **argv, FILE *out,
		  int timeout_ms);

/*
 * The default socket path of a node listening on @listen ("HOST:PORT";
 * the port defaults to SHMX_DEFAULT_PORT): "/run/shmnode-PORT.sock" for
 * root (effective uid 0), else "$XDG_RUNTIME_DIR/shmnode-PORT.sock" when
 * XDG_RUNTIME_DIR is an absolute path, else "/tmp/shmnode-UID-PORT.sock".
 * Returns 0, -EINVAL (@listen is not HOST:PORT) or -ENAMETOOLONG (over
 * @outlen or a socket address).
 */
int admin_default_path(const char *listen, char *out, size_t outlen);

/*
 * The socket path the admin-socket setting @setting names for a node
 * listening on @listen: @setting itself, admin_default_path(@listen) when
 * it is empty, or "" (no admin socket) when it is "none".  Returns 0,
 * -EINVAL or -ENAMETOOLONG.
 */
int admin_socket_path(const char *setting, const char *listen, char *out,
		      size_t outlen);

#endif /* SHMX_NODE_ADMIN_H */
