/* SPDX-License-Identifier: MIT */
/*
 * status.c - the one place where wire status codes and errno values are
 * mapped onto each other.
 */
#include <errno.h>

#include "proto/proto.h"

static const struct {
	const char *name;
	int err;
} status_map[SHMX_ST_MAX] = {
	[SHMX_ST_OK] = { "ok", 0 },
	[SHMX_ST_BAD_MSG] = { "bad message", EBADMSG },
	[SHMX_ST_VERSION] = { "protocol version", EPROTO },
	[SHMX_ST_UNKNOWN_OP] = { "unknown opcode", EOPNOTSUPP },
	[SHMX_ST_NO_SESSION] = { "no session", ENOTCONN },
	[SHMX_ST_AUTH] = { "authentication", EACCES },
	[SHMX_ST_NOT_LOCAL] = { "not a loopback client", EPERM },
	[SHMX_ST_NAME_IN_USE] = { "name in use", EADDRINUSE },
	[SHMX_ST_FULL] = { "node full", EUSERS },
	[SHMX_ST_NOT_FOUND] = { "not found", ENOENT },
	[SHMX_ST_RANGE] = { "out of range", EFAULT },
	[SHMX_ST_INVAL] = { "invalid argument", EINVAL },
	[SHMX_ST_NOMEM] = { "out of memory", ENOMEM },
	[SHMX_ST_STATE] = { "wrong state", EPROTO },
	[SHMX_ST_INTERNAL] = { "internal error", EIO },
	[SHMX_ST_EXISTS] = { "exists", EEXIST },
	[SHMX_ST_DENIED] = { "access denied", EACCES },
	[SHMX_ST_NOT_OWNER] = { "not allowed to this member", EPERM },
	[SHMX_ST_BUSY] = { "busy", EBUSY },
	[SHMX_ST_QUOTA] = { "member's memory cap reached", EDQUOT },
	[SHMX_ST_MIDDLE] = { "not the start of an object", EINVAL },
	[SHMX_ST_NO_MEMBER] = { "no such member", ESRCH },
	[SHMX_ST_NO_SPACE] = { "no room in the region", ENOSPC },
	[SHMX_ST_TOO_BIG] = { "over the configured maximum", EFBIG },
};

int shmx__status_to_errno(int status)
{
	if (status < 0 || status >= SHMX_ST_MAX)
		return -EPROTO;
	return -status_map[status].err;
}

enum shmx_status shmx__errno_to_status(int err)
{
	if (err > 0)
		err = -err;
	if (err == 0)
		return SHMX_ST_OK;
	/* Outside the handshake, these mean a refused permission. */
	if (err == -EACCES)
		return SHMX_ST_DENIED;
	if (err == -EPERM)
		return SHMX_ST_NOT_OWNER;
	/* First match wins: EPROTO maps to VERSION, never to STATE. */
	for (int st = 1; st < SHMX_ST_MAX; st++)
		if (-status_map[st].err == err)
			return (enum shmx_status)st;
	return SHMX_ST_INTERNAL;
}

const char *shmx__status_name(int status)
{
	if (status < 0 || status >= SHMX_ST_MAX)
		return "invalid status";
	return status_map[status].name;
}
