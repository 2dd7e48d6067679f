/* SPDX-License-Identifier: MIT */
/*
 * peer.c - encode and decode the messages between members' mailboxes
 * (peer.h documents the layout).  Pure functions.
 */
#include <errno.h>
#include <string.h>

#include "proto/le.h"
#include "proto/peer.h"

/* Payload bytes of each type; MSG's varies. */
#define SIGNAL_LEN 16
#define REF_LEN 24
#define CREDIT_LEN 8

/* The rules encode and decode share: 0 or -EINVAL. */
static int check(const struct shmx_peer_msg *m)
{
	if (!m->src || !m->dst || !m->src_tag || !m->dst_tag)
		return -EINVAL;
	if ((m->type == SHMX_PEER_CREDIT || m->type == SHMX_PEER_CREDIT_ASK) !=
	    !m->seq)
		return -EINVAL;
	switch (m->type) {
	case SHMX_PEER_SIGNAL:
		return m->u.signal.signo && m->u.signal.signo <= SHMX_SIGNO_MAX
			       ? 0
			       : -EINVAL;
	case SHMX_PEER_MSG:
		return m->u.msg.len <= SHMX_PEER_INLINE_MAX ? 0 : -EINVAL;
	case SHMX_PEER_MSG_REF:
		if (m->u.ref.kind < SHMX_PEER_REF_COPY ||
		    m->u.ref.kind > SHMX_PEER_REF_MOVE)
			return -EINVAL;
		return m->u.ref.len && m->u.ref.len <= SHMX_MSG_MAX &&
				       m->u.ref.gaddr <=
					       UINT64_MAX - m->u.ref.len
			       ? 0
			       : -EINVAL;
	case SHMX_PEER_CREDIT:
	case SHMX_PEER_CREDIT_ASK:
		return 0;
	}
	return -EINVAL;
}

static size_t payload_len(const struct shmx_peer_msg *m)
{
	switch (m->type) {
	case SHMX_PEER_SIGNAL:
		return SIGNAL_LEN;
	case SHMX_PEER_MSG:
		return m->u.msg.len;
	case SHMX_PEER_MSG_REF:
		return REF_LEN;
	case SHMX_PEER_CREDIT:
		return CREDIT_LEN;
	default:
		return 0;
	}
}

int shmx__peer_encode(const struct shmx_peer_msg *m, void *buf, size_t cap)
{
	uint8_t *b = buf, *p = b + SHMX_PEER_HDR_LEN;
	size_t len;

	if (check(m))
		return -EINVAL;
	len = SHMX_PEER_HDR_LEN + payload_len(m);
	if (len > cap)
		return -EMSGSIZE;
	shmx__put_le(b, SHMX_PEER_MAGIC, 4);
	shmx__put_le(b + 4, SHMX_PEER_VERSION, 2);
	shmx__put_le(b + 6, m->type, 2);
	shmx__put_le(b + 8, len, 4);
	shmx__put_le(b + 12, m->src, 4);
	shmx__put_le(b + 16, m->dst, 4);
	shmx__put_le(b + 20, 0, 4);
	shmx__put_le(b + 24, m->src_tag, 8);
	shmx__put_le(b + 32, m->dst_tag, 8);
	shmx__put_le(b + 40, m->seq, 8);
	switch (m->type) {
	case SHMX_PEER_SIGNAL:
		shmx__put_le(p, m->u.signal.signo, 4);
		shmx__put_le(p + 4, 0, 4);
		shmx__put_le(p + 8, m->u.signal.value, 8);
		break;
	case SHMX_PEER_MSG:
		if (m->u.msg.len)
			memcpy(p, m->u.msg.data, m->u.msg.len);
		break;
	case SHMX_PEER_MSG_REF:
		shmx__put_le(p, m->u.ref.gaddr, 8);
		shmx__put_le(p + 8, m->u.ref.len, 8);
		shmx__put_le(p + 16, m->u.ref.kind, 4);
		shmx__put_le(p + 20, 0, 4);
		break;
	case SHMX_PEER_CREDIT:
		shmx__put_le(p, m->u.credit.taken, 8);
		break;
	}
	return (int)len;
}

int shmx__peer_decode(const void *buf, size_t len, struct shmx_peer_msg *m)
{
	const uint8_t *b = buf, *p = b + SHMX_PEER_HDR_LEN;
	size_t plen;

	memset(m, 0, sizeof(*m));
	if (len < SHMX_PEER_HDR_LEN || len > SHMX_PEER_MSG_MAX ||
	    shmx__get_le(b, 4) != SHMX_PEER_MAGIC ||
	    shmx__get_le(b + 8, 4) != len)
		return -EBADMSG;
	if (shmx__get_le(b + 4, 2) != SHMX_PEER_VERSION)
		return -EPROTO;
	if (shmx__get_le(b + 20, 4))
		return -EBADMSG;
	m->type = (uint16_t)shmx__get_le(b + 6, 2);
	m->src = (uint32_t)shmx__get_le(b + 12, 4);
	m->dst = (uint32_t)shmx__get_le(b + 16, 4);
	m->src_tag = shmx__get_le(b + 24, 8);
	m->dst_tag = shmx__get_le(b + 32, 8);
	m->seq = shmx__get_le(b + 40, 8);
	plen = len - SHMX_PEER_HDR_LEN;
	switch (m->type) {
	case SHMX_PEER_SIGNAL:
		if (plen != SIGNAL_LEN || shmx__get_le(p + 4, 4))
			return -EBADMSG;
		m->u.signal.signo = (uint32_t)shmx__get_le(p, 4);
		m->u.signal.value = shmx__get_le(p + 8, 8);
		break;
	case SHMX_PEER_MSG:
		m->u.msg.data = plen ? p : NULL;
		m->u.msg.len = plen;
		break;
	case SHMX_PEER_MSG_REF:
		if (plen != REF_LEN || shmx__get_le(p + 20, 4))
			return -EBADMSG;
		m->u.ref.gaddr = shmx__get_le(p, 8);
		m->u.ref.len = shmx__get_le(p + 8, 8);
		m->u.ref.kind = (uint32_t)shmx__get_le(p + 16, 4);
		break;
	case SHMX_PEER_CREDIT:
		if (plen != CREDIT_LEN)
			return -EBADMSG;
		m->u.credit.taken = shmx__get_le(p, 8);
		break;
	case SHMX_PEER_CREDIT_ASK:
		if (plen)
			return -EBADMSG;
		break;
	default:
		return -EBADMSG;
	}
	return check(m) ? -EBADMSG : 0;
}
