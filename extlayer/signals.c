/* SPDX-License-Identifier: MIT */
/*
 * signals.c - signals between members: a signal number and a value, sent
 * straight to the destination's mailbox (mailbox.c, docs/messages.md).
 */
#include <errno.h>
#include <stdlib.h>

#include "ctx.h"
#include "mailbox.h"

static int signo_ok(uint32_t signo)
{
	return signo && signo <= SHMX_SIGNO_MAX;
}

struct signal_arg {
	uint32_t signo;
	uint64_t value;
};

static int signal_one(struct shmx_ctx *ctx, uint32_t dest, void *arg)
{
	const struct signal_arg *a = arg;
	struct shmx_peer_msg m = { .type = SHMX_PEER_SIGNAL };

	m.u.signal.signo = a->signo;
	m.u.signal.value = a->value;
	return shmx__mbox_send(ctx, dest, &m, 0, shmx__mbox_deadline(ctx, -1));
}

SHMX_EXPORT int shmx_signal(struct shmx_ctx *ctx, shmx_node_t dest,
			    uint32_t signo, uint64_t value)
{
	struct signal_arg a = { signo, value };

	if (!ctx || !signo_ok(signo))
		return -EINVAL;
	return signal_one(ctx, dest, &a);
}

SHMX_EXPORT int shmx_signal_all(struct shmx_ctx *ctx, uint32_t signo,
				uint64_t value, struct shmx_send_status *st,
				size_t max, size_t *count)
{
	struct signal_arg a = { signo, value };

	if (!ctx || !signo_ok(signo) || (max && !st))
		return -EINVAL;
	return shmx__mbox_each(ctx, signal_one, &a, st, max, count);
}

SHMX_EXPORT int shmx_signal_wait(struct shmx_ctx *ctx, int timeout_ms,
				 struct shmx_signal_info *info)
{
	struct shmx__mbox_item *it;
	int ret;

	if (!ctx || !info)
		return -EINVAL;
	ret = shmx__mbox_take(ctx, SHMX_PEER_SIGNAL,
			      shmx__mbox_deadline(ctx, timeout_ms), &it);
	if (ret)
		return ret;
	info->src = it->src;
	info->signo = it->signo;
	info->value = it->value;
	free(it);
	return 0;
}
