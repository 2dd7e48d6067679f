/* SPDX-License-Identifier: MIT */
/* errstr.c - what each errno means in shmext's terms (shmx_strerror). */
#include <errno.h>
#include <string.h>

#include "util/errstr.h"

static const struct {
	int err;
	const char *text;
} texts[] = {
	{ EINVAL, "Invalid argument" },
	{ EFAULT, "Bad address (outside the shared region, or in no "
		  "allocated object)" },
	{ EACCES, "Permission denied (key refused, or access not allowed)" },
	{ EPERM, "Operation not permitted (not allowed to this member: not "
		 "an owner, creator or opener; a lock this handle does not "
		 "hold; or a node without a key refused a non-loopback "
		 "client)" },
	{ ENOENT, "No such file, name, member or object" },
	{ EEXIST, "Already exists" },
	{ EBUSY, "Busy (still in use, already owned, or frozen)" },
	{ EDQUOT, "Over this member's memory cap at the node" },
	{ ENOSPC, "No room left in the node's memory" },
	{ EFBIG, "Over the node's maximum size" },
	{ ESRCH, "No such live member (or it has no mailbox)" },
	{ EMSGSIZE, "Too long (a message over SHMX_MSG_MAX), or sizes "
		    "differ (the file holds another size than the "
		    "segment's)" },
	{ EHOSTDOWN, "The destination member left or died before it took "
		     "delivery" },
	{ EBADMSG, "Bad message (a damaged file, or a malformed protocol "
		   "message)" },
	{ ECONNREFUSED, "Connection refused (no shmnode answers there)" },
	{ ECONNRESET, "Connection reset (the memory node went away)" },
	{ ENOTCONN, "Not connected (the connection to shmnode is lost)" },
	{ ETIMEDOUT, "Timed out (no answer within the context's timeout)" },
	{ EPROTO, "Protocol error (the node speaks another protocol "
		  "version)" },
	{ EADDRINUSE, "Name in use by another live member" },
	{ EUSERS, "The node has no room for another member" },
	{ ENODEV, "Transport or provider not available on this machine" },
	{ EINPROGRESS, "Operation still in progress" },
	{ ENOMEM, "Out of memory" },
	{ EOPNOTSUPP, "Operation not supported" },
	{ EIO, "Input/output error on the fabric" },
	{ EAGAIN, "Resource temporarily unavailable, try again (a "
		  "destination's message window is full)" },
	{ ENAMETOOLONG, "Name too long" },
	{ ESTALE, "Stale: the lock's lease ran out, it may have been taken "
		  "over (the fence is stale)" },
	{ EDEADLK, "This lock handle holds the lock already" },
};

const char *shmx__strerror(int err)
{
	const char *s;

	if (err == 0)
		return "Success";
	if (err < 0)
		err = -err;
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		if (texts[i].err == err)
			return texts[i].text;
	s = strerrordesc_np(err);
	return s ? s : "Unknown error";
}
