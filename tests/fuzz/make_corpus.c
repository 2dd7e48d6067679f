/* SPDX-License-Identifier: MIT */
/* make_corpus.c - writes one valid message of every kind, control
 * messages and peer messages, as a seed corpus for fuzz_decode (run by
 * the fuzz smoke test before fuzzing). */
#include <stdio.h>
#include <string.h>

#include "proto/peer.h"
#include "proto/proto.h"

/* Write the @len (< 0: none) encoded bytes at @buf as seed @name. */
static void seed(const char *dir, const char *name, const void *buf, int len)
{
	char path[512];
	FILE *f;

	if (len < 0)
		return;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f)
		return;
	fwrite(buf, 1, (size_t)len, f);
	fclose(f);
}

static void emit(const char *dir, const char *name, const struct shmx_msg *m)
{
	unsigned char buf[SHMX_WIRE_MAX];

	seed(dir, name, buf, shmx__proto_encode(m, buf, sizeof(buf)));
}

static void emit_peer(const char *dir, const char *name,
		      const struct shmx_peer_msg *m)
{
	unsigned char buf[SHMX_PEER_MSG_MAX];

	seed(dir, name, buf, shmx__peer_encode(m, buf, sizeof(buf)));
}

static void peer_seeds(const char *dir)
{
	struct shmx_peer_msg p = { .type = SHMX_PEER_SIGNAL,
				   .src = 1,
				   .dst = 2,
				   .src_tag = 3,
				   .dst_tag = 4,
				   .seq = 5 };

	p.u.signal.signo = 9;
	p.u.signal.value = 10;
	emit_peer(dir, "peer_signal", &p);
	p.type = SHMX_PEER_MSG;
	p.u.msg.data = "hello";
	p.u.msg.len = 5;
	emit_peer(dir, "peer_msg", &p);
	p.type = SHMX_PEER_MSG_REF;
	p.u.ref.gaddr = 4096;
	p.u.ref.len = 65536;
	p.u.ref.kind = SHMX_PEER_REF_COPY;
	emit_peer(dir, "peer_ref", &p);
	p.type = SHMX_PEER_CREDIT;
	p.seq = 0;
	p.u.credit.taken = 16;
	emit_peer(dir, "peer_credit", &p);
	p.type = SHMX_PEER_CREDIT_ASK;
	emit_peer(dir, "peer_credit_ask", &p);
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : ".";
	struct shmx_msg m, req;

	shmx__msg_init(&m, SHMX_OP_HELLO, 1, 0, 0);
	m.u.hello.pid = 42;
	strcpy(m.u.hello.name, "seed");
	strcpy(m.u.hello.host, "localhost");
	m.u.hello.addr_len = 16;
	memset(m.u.hello.addr, 7, 16);
	emit(dir, "hello", &m);
	req = m;
	shmx__msg_reply(&m, &req, SHMX_ST_OK);
	m.u.challenge.session = 3;
	m.u.challenge.token = 99;
	emit(dir, "challenge", &m);
	shmx__msg_init(&m, SHMX_OP_AUTH, 2, 3, 99);
	emit(dir, "auth", &m);
	req = m;
	shmx__msg_reply(&m, &req, SHMX_ST_OK);
	m.u.welcome.node_id = 3;
	m.u.welcome.region_size = 1 << 20;
	strcpy(m.u.welcome.version, "0.1.0");
	emit(dir, "welcome", &m);
	shmx__msg_init(&m, SHMX_OP_MEMBERS, 3, 3, 99);
	emit(dir, "members_req", &m);
	req = m;
	shmx__msg_reply(&m, &req, SHMX_ST_OK);
	m.u.members.total = 2;
	m.u.members.count = 2;
	for (int i = 0; i < 2; i++) {
		m.u.members.m[i].id = (uint32_t)i + 1;
		strcpy(m.u.members.m[i].name, "member");
		strcpy(m.u.members.m[i].host, "host");
	}
	emit(dir, "members", &m);
	shmx__msg_init(&m, SHMX_OP_LOOKUP, 4, 3, 99);
	strcpy(m.u.lookup_req.name, "member");
	emit(dir, "lookup", &m);
	shmx__msg_init(&m, SHMX_OP_ROOT_SET, 5, 3, 99);
	m.u.root.gaddr = 4096;
	emit(dir, "root_set", &m);
	req = m;
	shmx__msg_reply(&m, &req, SHMX_ST_RANGE);
	emit(dir, "error_reply", &m);
	/* Version 2: memory management. */
	shmx__msg_init(&m, SHMX_OP_POOL_OPEN, 6, 3, 99);
	m.u.pool_open.flags = SHMX_WIRE_CREAT;
	m.u.pool_open.size = 1 << 20;
	strcpy(m.u.pool_open.name, "pool");
	emit(dir, "pool_open", &m);
	req = m;
	shmx__msg_reply(&m, &req, SHMX_ST_OK);
	m.u.pool.id = 1;
	m.u.pool.ro = (struct shmx_grant){ .start = 4096,
					   .len = 1 << 20,
					   .key = 7,
					   .epoch = 1,
					   .access = SHMX_ACC_READ };
	emit(dir, "pool", &m);
	shmx__msg_init(&m, SHMX_OP_ALLOC, 7, 3, 99);
	m.u.alloc.pool = 1;
	m.u.alloc.size = 64;
	emit(dir, "alloc", &m);
	shmx__msg_init(&m, SHMX_OP_OWN, 8, 3, 99);
	m.u.own.gaddr = 4096;
	m.u.own.count = 2;
	m.u.own.nodes[0] = 3;
	m.u.own.nodes[1] = 4;
	emit(dir, "own", &m);
	shmx__msg_init(&m, SHMX_OP_SEG_OPEN, 9, 3, 99);
	m.u.seg_open.flags = SHMX_WIRE_CREAT | SHMX_WIRE_RDONLY;
	m.u.seg_open.mode = 0600;
	m.u.seg_open.size = 4096;
	strcpy(m.u.seg_open.name, "seg");
	emit(dir, "seg_open", &m);
	shmx__msg_init(&m, SHMX_OP_BLOCK_NEXT, 10, 3, 99);
	m.hdr.flags = SHMX_HDR_REPLY;
	m.u.block_info = (struct shmx_block_info_rep){ .start = 4096,
						       .len = 64,
						       .pool = 1,
						       .creator = 3,
						       .epoch = 2,
						       .nr_owners = 2,
						       .owners = { 3, 4 } };
	emit(dir, "block_info", &m);
	shmx__msg_init(&m, SHMX_OP_POOL_NEXT, 11, 3, 99);
	m.hdr.flags = SHMX_HDR_REPLY;
	m.u.pool_info.id = 1;
	m.u.pool_info.size = m.u.pool_info.st.total = 4096;
	strcpy(m.u.pool_info.name, "pool");
	emit(dir, "pool_info", &m);
	/* Global locks. */
	shmx__msg_init(&m, SHMX_OP_LOCK_RESERVE, 12, 3, 99);
	m.u.lock_reserve.lease_ms = 500;
	strcpy(m.u.lock_reserve.name, "lock");
	emit(dir, "lock_reserve", &m);
	req = m;
	shmx__msg_reply(&m, &req, SHMX_ST_OK);
	m.u.lock = (struct shmx_lock_rep){
		.id = 1, .raddr = 4096, .key = 7, .lease_ms = 500, .created = 1
	};
	emit(dir, "lock", &m);
	shmx__msg_init(&m, SHMX_OP_LOCK_UNRESERVE, 13, 3, 99);
	m.u.obj.id = 1;
	emit(dir, "lock_unreserve", &m);
	shmx__msg_init(&m, SHMX_OP_LOCK_NEXT, 14, 3, 99);
	emit(dir, "lock_next", &m);
	req = m;
	shmx__msg_reply(&m, &req, SHMX_ST_OK);
	m.u.lock_info.id = 1;
	m.u.lock_info.lease_ms = 500;
	m.u.lock_info.reservations = 2;
	m.u.lock_info.creator = 3;
	memset(m.u.lock_info.slot, 0x11, sizeof(m.u.lock_info.slot));
	emit(dir, "lock_info", &m);
	shmx__msg_init(&m, SHMX_OP_MAILBOX, 15, 3, 99);
	strcpy(m.u.mailbox.addr, "127.0.0.1:40000");
	m.u.mailbox.tag = 77;
	m.u.mailbox.window = 64;
	emit(dir, "mailbox", &m);
	/* The node's statistics. */
	shmx__msg_init(&m, SHMX_OP_STATS, 16, 3, 99);
	emit(dir, "stats", &m);
	req = m;
	shmx__msg_reply(&m, &req, SHMX_ST_OK);
	m.u.stats.nr_ops = SHMX_OP_MAX;
	m.u.stats.op[SHMX_OP_ALLOC].requests = 3;
	m.u.stats.op[SHMX_OP_ALLOC].errors = 1;
	m.u.stats.nr_status = SHMX_ST_MAX;
	m.u.stats.status_errors[SHMX_ST_NO_SPACE] = 1;
	m.u.stats.region_total = 1 << 20;
	m.u.stats.region_free = 1 << 19;
	m.u.stats.region_largest_free = 1 << 18;
	emit(dir, "stats_rep", &m);
	peer_seeds(dir);
	return 0;
}
