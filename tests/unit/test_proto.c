/* SPDX-License-Identifier: MIT */
/*
 * test_proto.c - the wire protocol: every message round-trips field by
 * field, the header layout is pinned byte by byte, and malformed input of
 * every kind is rejected with the status proto.h documents.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "proto/proto.h"

static uint8_t buf[SHMX_WIRE_MAX + 16];

static void sample_grant(struct shmx_grant *g, uint32_t access)
{
	g->start = 0x200000;
	g->len = 4096;
	g->key = 0xdeadbeef12345678ull;
	g->rbase = 0x7f1234560000ull;
	g->epoch = 42;
	g->access = access;
}

/* One fully populated message of @opcode, request or reply. */
static void sample(struct shmx_msg *m, uint16_t opcode, int reply)
{
	shmx__msg_init(m, opcode, 0x1122334455667788ull, 7, 0xabcdef0123ull);
	if (reply)
		m->hdr.flags = SHMX_HDR_REPLY;
	switch (opcode * 2 + reply) {
	case SHMX_OP_HELLO * 2:
		m->u.hello.pid = 1234;
		m->u.hello.uid = 1000;
		m->u.hello.gid = 100;
		memset(m->u.hello.nonce, 0x5a, SHMX_NONCE_LEN);
		strcpy(m->u.hello.name, "worker-1");
		strcpy(m->u.hello.host, "compute-17");
		m->u.hello.addr_len = 16;
		for (int i = 0; i < 16; i++)
			m->u.hello.addr[i] = (uint8_t)(i * 3);
		break;
	case SHMX_OP_HELLO * 2 + 1:
		m->u.challenge.flags = SHMX_CHAL_KEY_REQUIRED;
		m->u.challenge.session = 9;
		m->u.challenge.token = 0xfeedfacecafebeefull;
		memset(m->u.challenge.nonce, 0xa5, SHMX_NONCE_LEN);
		break;
	case SHMX_OP_AUTH * 2:
		memset(m->u.auth.mac, 0x3c, SHMX_MAC_LEN);
		break;
	case SHMX_OP_AUTH * 2 + 1:
		m->u.welcome.node_id = 9;
		m->u.welcome.heartbeat_ms = 500;
		m->u.welcome.client_timeout_ms = 3000;
		m->u.welcome.authenticated = 1;
		m->u.welcome.region_size = 1ull << 40;
		m->u.welcome.hdr_key = 0x1234;
		m->u.welcome.hdr_base = 0x7f0000000000ull;
		m->u.welcome.hdr_size = 320 << 10;
		m->u.welcome.boot = 0x0123456789abcdefull;
		memset(m->u.welcome.mac, 0xc3, SHMX_MAC_LEN);
		strcpy(m->u.welcome.version, "0.1.0");
		break;
	case SHMX_OP_INFO * 2 + 1:
		m->u.info.region_size = 256ull << 20;
		m->u.info.member_count = 3;
		m->u.info.max_members = 1024;
		strcpy(m->u.info.version, "0.1.0");
		break;
	case SHMX_OP_MEMBERS * 2:
		m->u.members_req.start_id = 25;
		break;
	case SHMX_OP_MEMBERS * 2 + 1:
		m->u.members.total = 40;
		m->u.members.next_id = 30;
		m->u.members.count = SHMX_MEMBERS_PER_MSG;
		for (int i = 0; i < SHMX_MEMBERS_PER_MSG; i++) {
			struct shmx_member_wire *w = &m->u.members.m[i];

			w->id = (uint32_t)i + 1;
			w->pid = 100 + (uint32_t)i;
			w->uid = 1000;
			w->gid = 1000;
			w->joined = -5 + i;
			/* Longest names and hosts the wire allows. */
			memset(w->name, 'a' + i % 26, SHMX_NAME_MAX - 1);
			memset(w->host, 'A' + i % 26, SHMX_HOST_MAX - 1);
		}
		break;
	case SHMX_OP_LOOKUP * 2:
		strcpy(m->u.lookup_req.name, "worker-2");
		break;
	case SHMX_OP_LOOKUP * 2 + 1:
		m->u.lookup.id = 12;
		break;
	case SHMX_OP_ROOT_GET * 2 + 1:
	case SHMX_OP_ROOT_SET * 2:
		m->u.root.gaddr = 0x100000;
		break;
	case SHMX_OP_POOL_OPEN * 2:
		m->u.pool_open.flags = SHMX_WIRE_CREAT | SHMX_WIRE_EXCL;
		m->u.pool_open.size = 64ull << 20;
		strcpy(m->u.pool_open.name, "pool-a");
		break;
	case SHMX_OP_POOL_OPEN * 2 + 1:
		m->u.pool.id = 3;
		m->u.pool.created = 1;
		sample_grant(&m->u.pool.ro, SHMX_ACC_READ);
		break;
	case SHMX_OP_POOL_CLOSE * 2:
	case SHMX_OP_POOL_DESTROY * 2:
	case SHMX_OP_POOL_STAT * 2:
	case SHMX_OP_SEG_STAT * 2:
	case SHMX_OP_SEG_REMOVE * 2:
	case SHMX_OP_SEG_FREEZE * 2:
	case SHMX_OP_SEG_THAW * 2:
		m->u.obj.id = 0x1000000007ull;
		break;
	case SHMX_OP_POOL_STAT * 2 + 1:
		m->u.pool_stat.total = 1 << 20;
		m->u.pool_stat.free = 1 << 19;
		m->u.pool_stat.largest_free = 1 << 18;
		m->u.pool_stat.nr_alloc = 5;
		m->u.pool_stat.nr_free_blocks = 2;
		m->u.pool_stat.open_count = 4;
		break;
	case SHMX_OP_ALLOC * 2:
		m->u.alloc.pool = 3;
		m->u.alloc.size = 4096;
		m->u.alloc.align = 1 << 20;
		break;
	case SHMX_OP_ALLOC * 2 + 1:
	case SHMX_OP_GRANT * 2 + 1:
	case SHMX_OP_OWN * 2 + 1:
	case SHMX_OP_OWN_TRANSFER * 2 + 1:
	case SHMX_OP_DISOWN * 2 + 1:
	case SHMX_OP_SEG_FREEZE * 2 + 1:
		sample_grant(&m->u.grant, SHMX_ACC_ALL);
		break;
	case SHMX_OP_RELEASE * 2:
	case SHMX_OP_DISOWN * 2:
		m->u.addr.gaddr = 0x200000;
		break;
	case SHMX_OP_GRANT * 2:
		m->u.grant_req.gaddr = 0x200008;
		m->u.grant_req.access = SHMX_ACC_READ | SHMX_ACC_WRITE;
		break;
	case SHMX_OP_OWN * 2:
	case SHMX_OP_OWN_TRANSFER * 2:
		m->u.own.gaddr = 0x200000;
		m->u.own.count = SHMX_OWNERS_MAX;
		for (uint32_t i = 0; i < SHMX_OWNERS_MAX; i++)
			m->u.own.nodes[i] = 1000 + i;
		break;
	case SHMX_OP_SEG_OPEN * 2:
		m->u.seg_open.flags = SHMX_WIRE_CREAT | SHMX_WIRE_RDONLY;
		m->u.seg_open.mode = 0640;
		m->u.seg_open.size = 12345;
		strcpy(m->u.seg_open.name, "key:0x1234");
		break;
	case SHMX_OP_SEG_OPEN * 2 + 1:
		m->u.seg.id = 8;
		sample_grant(&m->u.seg.key, SHMX_ACC_READ);
		break;
	case SHMX_OP_SEG_STAT * 2 + 1:
		m->u.seg_stat.size = 12345;
		m->u.seg_stat.uid = 1000;
		m->u.seg_stat.gid = 100;
		m->u.seg_stat.mode = 0640;
		m->u.seg_stat.cuid = 1001;
		m->u.seg_stat.cgid = 101;
		m->u.seg_stat.creator_node = 2;
		m->u.seg_stat.last_attach_node = 3;
		m->u.seg_stat.last_detach_node = 4;
		m->u.seg_stat.nattch = 5;
		m->u.seg_stat.removed = 1;
		m->u.seg_stat.atime = 1795600000;
		m->u.seg_stat.dtime = -1;
		m->u.seg_stat.ctime = 1795500000;
		memset(m->u.seg_stat.name, 'z', SHMX_NAME_MAX - 1);
		break;
	case SHMX_OP_SEG_CLOSE * 2:
		m->u.seg_close.id = 8;
		m->u.seg_close.rdonly = 1;
		break;
	case SHMX_OP_SEG_SET * 2:
		m->u.seg_set.id = 8;
		m->u.seg_set.uid = 0;
		m->u.seg_set.gid = 4294967295u;
		m->u.seg_set.mode = 0777;
		break;
	case SHMX_OP_REVOKE * 2:
		m->hdr.flags = SHMX_HDR_EVENT;
		m->u.revoke.start = 0x10000;
		m->u.revoke.len = 4096;
		m->u.revoke.epoch = 3;
		break;
	case SHMX_OP_MAP * 2:
		m->hdr.flags = SHMX_HDR_EVENT;
		m->u.map.generation = 7;
		m->u.map.nr = SHMX_MAP_EXTENTS_MAX;
		for (uint32_t i = 0; i < SHMX_MAP_EXTENTS_MAX; i++) {
			m->u.map.ext[i].base = (uint64_t)i << 30;
			m->u.map.ext[i].len = (uint64_t)(i + 1) << 20;
			m->u.map.total += m->u.map.ext[i].len;
		}
		break;
	case SHMX_OP_RESUME * 2:
		m->u.resume.addr_len = 16;
		for (int i = 0; i < 16; i++)
			m->u.resume.addr[i] = (uint8_t)(0xa0 + i);
		break;
	case SHMX_OP_RESUME * 2 + 1:
		m->u.resumed.boot = 0xfedcba9876543210ull;
		m->u.resumed.region_size = 1ull << 30;
		m->u.resumed.hdr_key = 0x77;
		m->u.resumed.hdr_base = 0x7f0000000000ull;
		m->u.resumed.hdr_size = 320 << 10;
		m->u.resumed.lock_key = 0x99;
		m->u.resumed.lock_base = 0x7f1000000000ull;
		break;
	case SHMX_OP_GROW * 2:
	case SHMX_OP_SHRINK * 2:
		m->u.resize.len = 64 << 20;
		break;
	case SHMX_OP_GROW * 2 + 1:
	case SHMX_OP_SHRINK * 2 + 1:
		m->u.resize_rep.base = 0x10200000;
		m->u.resize_rep.total = 320 << 20;
		m->u.resize_rep.generation = 2;
		break;
	case SHMX_OP_POOL_NEXT * 2:
	case SHMX_OP_BLOCK_NEXT * 2:
	case SHMX_OP_SEG_NEXT * 2:
		m->u.next.from = 0x10001;
		break;
	case SHMX_OP_POOL_NEXT * 2 + 1:
		m->u.pool_info.id = 9;
		m->u.pool_info.base = 0x10000;
		m->u.pool_info.size = 1 << 20;
		m->u.pool_info.creator = 3;
		m->u.pool_info.open_count = 2;
		m->u.pool_info.st.total = 1 << 20;
		m->u.pool_info.st.free = 1 << 19;
		m->u.pool_info.st.largest_free = 1 << 18;
		m->u.pool_info.st.nr_alloc = 7;
		m->u.pool_info.st.nr_free_blocks = 3;
		m->u.pool_info.st.open_count = 2;
		strcpy(m->u.pool_info.name, "pool one");
		break;
	case SHMX_OP_BLOCK_NEXT * 2 + 1:
		m->u.block_info.start = 0x10040;
		m->u.block_info.len = 64;
		m->u.block_info.pool = 9;
		m->u.block_info.creator = 3;
		m->u.block_info.holder = 0;
		m->u.block_info.epoch = 12;
		m->u.block_info.nr_owners = SHMX_OWNERS_MAX;
		for (uint32_t i = 0; i < SHMX_OWNERS_MAX; i++)
			m->u.block_info.owners[i] = 2000 + i;
		break;
	case SHMX_OP_SEG_NEXT * 2 + 1:
		m->u.seg_info.id = 4;
		m->u.seg_info.gaddr = 0x200000;
		m->u.seg_info.st.size = 4096;
		m->u.seg_info.st.mode = 0600;
		m->u.seg_info.st.nattch = 1;
		m->u.seg_info.st.atime = 1795600000;
		strcpy(m->u.seg_info.st.name, "seg");
		break;
	case SHMX_OP_LOCK_RESERVE * 2:
		m->u.lock_reserve.lease_ms = SHMX_LOCK_LEASE_MAX_MS;
		strcpy(m->u.lock_reserve.name, "queue head");
		break;
	case SHMX_OP_LOCK_RESERVE * 2 + 1:
		m->u.lock.id = 17;
		m->u.lock.raddr = 0x7f0000001080ull;
		m->u.lock.key = 0x5566;
		m->u.lock.lease_ms = 1000;
		m->u.lock.created = 1;
		break;
	case SHMX_OP_LOCK_UNRESERVE * 2:
		m->u.obj.id = 17;
		break;
	case SHMX_OP_LOCK_NEXT * 2:
		m->u.next.from = 18;
		break;
	case SHMX_OP_LOCK_NEXT * 2 + 1:
		m->u.lock_info.id = 17;
		m->u.lock_info.lease_ms = 250;
		m->u.lock_info.reservations = 3;
		m->u.lock_info.creator = 4;
		strcpy(m->u.lock_info.name, "queue head");
		for (int i = 0; i < 112; i++)
			m->u.lock_info.slot[i] = (uint8_t)(0x80 + i);
		break;
	case SHMX_OP_MEMBER * 2:
		m->hdr.flags = SHMX_HDR_EVENT;
		m->u.member.id = 12;
		m->u.member.what = SHMX_MEMBER_LEFT;
		break;
	case SHMX_OP_STATS * 2 + 1:
		for (unsigned i = 0; i < 14; i++)
			(&m->u.stats.uptime_ms)[i] = 1000 + i;
		m->u.stats.members = 3;
		m->u.stats.max_members = 1024;
		m->u.stats.pools = 2;
		m->u.stats.blocks = 9;
		m->u.stats.segments = 1;
		m->u.stats.locks = 4;
		m->u.stats.lock_slots = 65536;
		m->u.stats.locks_held = 2;
		m->u.stats.lock_holds = 3;
		m->u.stats.lock_waiters = 5;
		m->u.stats.memory = 1 << 24;
		m->u.stats.region_total = 1000;
		m->u.stats.region_free = 400;
		m->u.stats.region_largest_free = 300;
		m->u.stats.region_free_blocks = 3;
		m->u.stats.nr_ops = SHMX_OP_MAX;
		m->u.stats.op[SHMX_OP_ALLOC].requests = 5;
		m->u.stats.op[SHMX_OP_ALLOC].errors = 2;
		m->u.stats.nr_status = SHMX_ST_MAX;
		m->u.stats.status_errors[SHMX_ST_NO_SPACE] = 2;
		break;
	case SHMX_OP_MAILBOX * 2:
		strcpy(m->u.mailbox.addr, "10.77.1.2:40123");
		m->u.mailbox.tag = 0x0102030405060708ull;
		m->u.mailbox.window = 64;
		break;
	default:
		break;
	}
}

/* Events have no reply. */
static int is_event(uint16_t op)
{
	return op == SHMX_OP_REVOKE || op == SHMX_OP_MAP ||
	       op == SHMX_OP_MEMBER;
}

static void test_every_message_round_trips(void **state)
{
	struct shmx_msg m, d;

	for (uint16_t op = 1; op < SHMX_OP_MAX; op++) {
		for (int reply = 0; reply < 2 - is_event(op); reply++) {
			int len;

			sample(&m, op, reply);
			len = shmx__proto_encode(&m, buf, SHMX_WIRE_MAX);
			assert_true(len >= SHMX_HDR_LEN);
			assert_int_equal(
				shmx__proto_decode(buf, (size_t)len, &d),
				SHMX_ST_OK);
			m.hdr.length = (uint32_t)len;
			/* Both sides were zeroed before filling: compare all. */
			assert_memory_equal(&m, &d, sizeof(m));
		}
	}
}

static void test_members_pages(void **state)
{
	struct shmx_msg m, d;
	int len;

	for (uint32_t count = 0; count <= 1; count++) {
		sample(&m, SHMX_OP_MEMBERS, 1);
		m.u.members.count = count;
		memset(&m.u.members.m[count], 0,
		       sizeof(m.u.members.m) -
			       count * sizeof(m.u.members.m[0]));
		len = shmx__proto_encode(&m, buf, SHMX_WIRE_MAX);
		assert_true(len > 0);
		assert_int_equal(shmx__proto_decode(buf, (size_t)len, &d),
				 SHMX_ST_OK);
		assert_int_equal(d.u.members.count, count);
	}
}

static void test_error_reply_has_no_payload(void **state)
{
	struct shmx_msg req, rep, d;
	int len;

	sample(&req, SHMX_OP_LOOKUP, 0);
	shmx__msg_reply(&rep, &req, SHMX_ST_NOT_FOUND);
	rep.u.lookup.id = 99; /* must not be sent */
	len = shmx__proto_encode(&rep, buf, SHMX_WIRE_MAX);
	assert_int_equal(len, SHMX_HDR_LEN);
	assert_int_equal(shmx__proto_decode(buf, (size_t)len, &d), SHMX_ST_OK);
	assert_int_equal(d.hdr.status, SHMX_ST_NOT_FOUND);
	assert_int_equal(d.hdr.req_id, req.hdr.req_id);
	assert_int_equal(d.u.lookup.id, 0);
	/* An error reply with payload bytes after the header is malformed. */
	buf[len] = 0;
	buf[8] = SHMX_HDR_LEN + 4;
	assert_int_equal(shmx__proto_decode(buf, SHMX_HDR_LEN + 4, &d),
			 SHMX_ST_BAD_MSG);
}

static void test_header_layout_is_pinned(void **state)
{
	static const uint8_t want[SHMX_HDR_LEN] = {
		'S',  'H',  'M',  'X',	/* magic */
		0x03, 0x00,		/* version 3 */
		0x04, 0x00,		/* opcode PING */
		0x28, 0x00, 0x00, 0x00, /* length 40 */
		0x00, 0x00, 0x00, 0x00, /* status */
		0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, /* req_id */
		0x07, 0x00, 0x00, 0x00,				/* session */
		0x00, 0x00, 0x00, 0x00,				/* flags */
		0x23, 0x01, 0xef, 0xcd, 0xab, 0x00, 0x00, 0x00, /* token */
	};
	struct shmx_msg m;

	sample(&m, SHMX_OP_PING, 0);
	assert_int_equal(shmx__proto_encode(&m, buf, SHMX_WIRE_MAX),
			 SHMX_HDR_LEN);
	assert_memory_equal(buf, want, SHMX_HDR_LEN);
}

/* Encode a sample and return its length. */
static size_t encoded(uint16_t op, int reply)
{
	struct shmx_msg m;
	int len;

	sample(&m, op, reply);
	len = shmx__proto_encode(&m, buf, SHMX_WIRE_MAX);
	assert_true(len > 0);
	return (size_t)len;
}

static void set_len(size_t len)
{
	for (int i = 0; i < 4; i++)
		buf[8 + i] = (uint8_t)(len >> (8 * i));
}

static void test_truncation_and_trailing_bytes(void **state)
{
	struct shmx_msg d;

	for (uint16_t op = 1; op < SHMX_OP_MAX; op++) {
		for (int reply = 0; reply < 2 - is_event(op); reply++) {
			size_t len = encoded(op, reply);

			/* Every prefix: short buffer, length field intact. */
			for (size_t cut = 0; cut < len; cut++)
				assert_int_equal(
					shmx__proto_decode(buf, cut, &d),
					SHMX_ST_BAD_MSG);
			/* Every prefix with a matching length field. */
			for (size_t cut = SHMX_HDR_LEN; cut < len; cut++) {
				set_len(cut);
				assert_int_equal(
					shmx__proto_decode(buf, cut, &d),
					SHMX_ST_BAD_MSG);
			}
			/* One byte of trailing garbage. */
			encoded(op, reply);
			buf[len] = 0xee;
			set_len(len + 1);
			assert_int_equal(shmx__proto_decode(buf, len + 1, &d),
					 SHMX_ST_BAD_MSG);
		}
	}
}

static void test_bad_headers(void **state)
{
	struct shmx_msg d;
	size_t len;

	assert_int_equal(shmx__proto_decode(NULL, 40, &d), SHMX_ST_BAD_MSG);
	assert_int_equal(shmx__proto_decode(buf, SHMX_WIRE_MAX + 1, &d),
			 SHMX_ST_BAD_MSG);

	len = encoded(SHMX_OP_HELLO, 0);
	buf[0] ^= 1; /* magic */
	assert_int_equal(shmx__proto_decode(buf, len, &d), SHMX_ST_BAD_MSG);

	len = encoded(SHMX_OP_HELLO, 0);
	set_len(len - 1); /* length field says less than we have */
	assert_int_equal(shmx__proto_decode(buf, len, &d), SHMX_ST_BAD_MSG);

	len = encoded(SHMX_OP_HELLO, 0);
	buf[4] = 4; /* a version this build does not speak */
	assert_int_equal(shmx__proto_decode(buf, len, &d), SHMX_ST_VERSION);
	assert_int_equal(d.hdr.version, 4);
	assert_int_equal(d.hdr.opcode, SHMX_OP_HELLO);
	assert_int_equal(d.hdr.req_id, 0x1122334455667788ull);

	for (int i = 0; i < 3; i++) {
		static const uint16_t bad_ops[] = { 0, SHMX_OP_MAX, 0xffff };

		len = encoded(SHMX_OP_PING, 0);
		buf[6] = (uint8_t)bad_ops[i];
		buf[7] = (uint8_t)(bad_ops[i] >> 8);
		assert_int_equal(shmx__proto_decode(buf, len, &d),
				 SHMX_ST_UNKNOWN_OP);
		assert_int_equal(d.hdr.opcode, bad_ops[i]);
	}

	len = encoded(SHMX_OP_PING, 0);
	buf[28] = 0x2; /* reserved flag */
	assert_int_equal(shmx__proto_decode(buf, len, &d), SHMX_ST_BAD_MSG);

	len = encoded(SHMX_OP_PING, 0);
	buf[12] = SHMX_ST_RANGE; /* request with a status */
	assert_int_equal(shmx__proto_decode(buf, len, &d), SHMX_ST_BAD_MSG);

	len = encoded(SHMX_OP_PING, 1);
	buf[12] = SHMX_ST_MAX; /* unknown status */
	assert_int_equal(shmx__proto_decode(buf, len, &d), SHMX_ST_BAD_MSG);
	buf[12] = 0xff;
	buf[15] = 0xff; /* negative status */
	assert_int_equal(shmx__proto_decode(buf, len, &d), SHMX_ST_BAD_MSG);
}

/* Offset of the name's length byte in a HELLO: header + 12 + nonce. */
#define HELLO_NAME (SHMX_HDR_LEN + 12 + SHMX_NONCE_LEN)

static void test_bad_fields(void **state)
{
	struct shmx_msg d;
	size_t len;

	len = encoded(SHMX_OP_HELLO, 0);
	buf[HELLO_NAME + 1] = 0x07; /* non-printable byte in the name */
	assert_int_equal(shmx__proto_decode(buf, len, &d), SHMX_ST_BAD_MSG);

	len = encoded(SHMX_OP_HELLO, 0);
	buf[HELLO_NAME] = 0; /* empty name */
	assert_int_equal(shmx__proto_decode(buf, len, &d), SHMX_ST_BAD_MSG);

	len = encoded(SHMX_OP_HELLO, 0);
	buf[HELLO_NAME] = SHMX_NAME_MAX; /* name length past the limit */
	assert_int_equal(shmx__proto_decode(buf, len, &d), SHMX_ST_BAD_MSG);

	/* The address blob is last: its length byte precedes 16 bytes. */
	len = encoded(SHMX_OP_HELLO, 0);
	buf[len - 17] = 0;
	assert_int_equal(shmx__proto_decode(buf, len, &d), SHMX_ST_BAD_MSG);
	len = encoded(SHMX_OP_HELLO, 0);
	buf[len - 17] = SHMX_WIRE_ADDR_MAX + 1;
	assert_int_equal(shmx__proto_decode(buf, len, &d), SHMX_ST_BAD_MSG);

	/* MEMBERS: count over the page size, and over the total. */
	len = encoded(SHMX_OP_MEMBERS, 1);
	buf[SHMX_HDR_LEN + 8] = SHMX_MEMBERS_PER_MSG + 1;
	assert_int_equal(shmx__proto_decode(buf, len, &d), SHMX_ST_BAD_MSG);
	len = encoded(SHMX_OP_MEMBERS, 1);
	buf[SHMX_HDR_LEN] = 1; /* total 1 < count */
	assert_int_equal(shmx__proto_decode(buf, len, &d), SHMX_ST_BAD_MSG);

	/* CHALLENGE with an unknown flag bit. */
	len = encoded(SHMX_OP_HELLO, 1);
	buf[SHMX_HDR_LEN] |= 0x80;
	assert_int_equal(shmx__proto_decode(buf, len, &d), SHMX_ST_BAD_MSG);

	/* WELCOME with node id 0. */
	len = encoded(SHMX_OP_AUTH, 1);
	memset(buf + SHMX_HDR_LEN, 0, 4);
	assert_int_equal(shmx__proto_decode(buf, len, &d), SHMX_ST_BAD_MSG);
}

/* Version 2 payloads: each validation rule refuses a bad field. */
static void test_bad_memory_fields(void **state)
{
	struct shmx_msg d;
	size_t len;
	uint8_t *p = buf + SHMX_HDR_LEN;

	/* A grant: empty range, wrapping range, no rights, unknown right. */
	len = encoded(SHMX_OP_GRANT, 1);
	memset(p + 8, 0, 8); /* len 0 */
	assert_int_equal(shmx__proto_decode(buf, len, &d), SHMX_ST_BAD_MSG);
	len = encoded(SHMX_OP_GRANT, 1);
	memset(p, 0xff, 8); /* start near 2^64: wraps */
	assert_int_equal(shmx__proto_decode(buf, len, &d), SHMX_ST_BAD_MSG);
	len = encoded(SHMX_OP_ALLOC, 1);
	memset(p + 40, 0, 4); /* access 0 */
	assert_int_equal(shmx__proto_decode(buf, len, &d), SHMX_ST_BAD_MSG);
	len = encoded(SHMX_OP_ALLOC, 1);
	p[40] = SHMX_ACC_OWNED; /* owned, but no rights */
	assert_int_equal(shmx__proto_decode(buf, len, &d), SHMX_ST_BAD_MSG);
	len = encoded(SHMX_OP_ALLOC, 1);
	p[40] |= 0x10; /* unknown bit */
	assert_int_equal(shmx__proto_decode(buf, len, &d), SHMX_ST_BAD_MSG);

	/* SEG_CLOSE: an attachment kind other than 0 or 1. */
	len = encoded(SHMX_OP_SEG_CLOSE, 0);
	p[8] = 2;
	assert_int_equal(shmx__proto_decode(buf, len, &d), SHMX_ST_BAD_MSG);

	/* Object id 0. */
	len = encoded(SHMX_OP_POOL_STAT, 0);
	memset(p, 0, 8);
	assert_int_equal(shmx__proto_decode(buf, len, &d), SHMX_ST_BAD_MSG);

	/* Listings: an object id 0, more owners than a message carries, a
	 * pool whose stat disagrees with its size. */
	len = encoded(SHMX_OP_POOL_NEXT, 1);
	memset(p, 0, 8);
	assert_int_equal(shmx__proto_decode(buf, len, &d), SHMX_ST_BAD_MSG);
	len = encoded(SHMX_OP_POOL_NEXT, 1);
	p[16] ^= 1; /* size != st.total */
	assert_int_equal(shmx__proto_decode(buf, len, &d), SHMX_ST_BAD_MSG);
	len = encoded(SHMX_OP_SEG_NEXT, 1);
	memset(p, 0, 8);
	assert_int_equal(shmx__proto_decode(buf, len, &d), SHMX_ST_BAD_MSG);
	len = encoded(SHMX_OP_BLOCK_NEXT, 1);
	p[40] = SHMX_OWNERS_MAX + 1; /* nr_owners */
	assert_int_equal(shmx__proto_decode(buf, len, &d), SHMX_ST_BAD_MSG);
	len = encoded(SHMX_OP_BLOCK_NEXT, 1);
	memset(p + 32, 0, 8); /* epoch 0 */
	assert_int_equal(shmx__proto_decode(buf, len, &d), SHMX_ST_BAD_MSG);

	/* Events: REVOKE without the event flag, or as a reply; the event
	 * flag on another opcode; a wrapping range. */
	len = encoded(SHMX_OP_REVOKE, 0);
	buf[28] = 0;
	assert_int_equal(shmx__proto_decode(buf, len, &d), SHMX_ST_BAD_MSG);
	len = encoded(SHMX_OP_REVOKE, 0);
	buf[28] = SHMX_HDR_EVENT | SHMX_HDR_REPLY;
	assert_int_equal(shmx__proto_decode(buf, len, &d), SHMX_ST_BAD_MSG);
	len = encoded(SHMX_OP_PING, 0);
	buf[28] = SHMX_HDR_EVENT;
	assert_int_equal(shmx__proto_decode(buf, len, &d), SHMX_ST_BAD_MSG);
	len = encoded(SHMX_OP_REVOKE, 0);
	memset(p, 0xff, 8);
	assert_int_equal(shmx__proto_decode(buf, len, &d), SHMX_ST_BAD_MSG);

	/* MAP: no extents, too many, an empty one, out of order, a total
	 * that is not their sum.  p: generation, total, nr, then pairs. */
	len = encoded(SHMX_OP_MAP, 0);
	memset(p + 16, 0, 4);
	assert_int_equal(shmx__proto_decode(buf, len, &d), SHMX_ST_BAD_MSG);
	len = encoded(SHMX_OP_MAP, 0);
	p[16] = SHMX_MAP_EXTENTS_MAX + 1;
	assert_int_equal(shmx__proto_decode(buf, len, &d), SHMX_ST_BAD_MSG);
	len = encoded(SHMX_OP_MAP, 0);
	memset(p + 20 + 16 + 8, 0, 8); /* extent 1's len */
	assert_int_equal(shmx__proto_decode(buf, len, &d), SHMX_ST_BAD_MSG);
	len = encoded(SHMX_OP_MAP, 0);
	memset(p + 20 + 16, 0, 8); /* extent 1 at 0, under extent 0 */
	assert_int_equal(shmx__proto_decode(buf, len, &d), SHMX_ST_BAD_MSG);
	len = encoded(SHMX_OP_MAP, 0);
	p[8] ^= 1; /* total */
	assert_int_equal(shmx__proto_decode(buf, len, &d), SHMX_ST_BAD_MSG);
	/* GROW, SHRINK: zero bytes. */
	len = encoded(SHMX_OP_GROW, 0);
	memset(p, 0, 8);
	assert_int_equal(shmx__proto_decode(buf, len, &d), SHMX_ST_BAD_MSG);
	/* WELCOME: a header larger than the memory. */
	len = encoded(SHMX_OP_AUTH, 1);
	memset(p + 40, 0xff, 8); /* hdr_size */
	assert_int_equal(shmx__proto_decode(buf, len, &d), SHMX_ST_BAD_MSG);

	/* POOL_OPEN: unknown flag (RDONLY is for segments). */
	len = encoded(SHMX_OP_POOL_OPEN, 0);
	p[0] |= SHMX_WIRE_RDONLY;
	assert_int_equal(shmx__proto_decode(buf, len, &d), SHMX_ST_BAD_MSG);

	/* ALLOC: size 0, alignment not a power of two. */
	len = encoded(SHMX_OP_ALLOC, 0);
	memset(p + 8, 0, 8);
	assert_int_equal(shmx__proto_decode(buf, len, &d), SHMX_ST_BAD_MSG);
	len = encoded(SHMX_OP_ALLOC, 0);
	p[16] = 3;
	assert_int_equal(shmx__proto_decode(buf, len, &d), SHMX_ST_BAD_MSG);

	/* OWN: count 0, count past the limit, node 0, a duplicate. */
	len = encoded(SHMX_OP_OWN, 0);
	memset(p + 8, 0, 4);
	assert_int_equal(shmx__proto_decode(buf, len, &d), SHMX_ST_BAD_MSG);
	len = encoded(SHMX_OP_OWN, 0);
	p[8] = SHMX_OWNERS_MAX + 1;
	assert_int_equal(shmx__proto_decode(buf, len, &d), SHMX_ST_BAD_MSG);
	len = encoded(SHMX_OP_OWN, 0);
	memset(p + 12 + 4 * 5, 0, 4);
	assert_int_equal(shmx__proto_decode(buf, len, &d), SHMX_ST_BAD_MSG);
	len = encoded(SHMX_OP_OWN_TRANSFER, 0);
	memcpy(p + 12 + 4 * 9, p + 12 + 4 * 3, 4);
	assert_int_equal(shmx__proto_decode(buf, len, &d), SHMX_ST_BAD_MSG);

	/* SEG_OPEN and SEG_SET: mode past 0777, unknown flag. */
	len = encoded(SHMX_OP_SEG_OPEN, 0);
	p[5] = 0x02; /* mode 0x2xx > 0777 */
	assert_int_equal(shmx__proto_decode(buf, len, &d), SHMX_ST_BAD_MSG);
	len = encoded(SHMX_OP_SEG_OPEN, 0);
	p[0] |= 0x80;
	assert_int_equal(shmx__proto_decode(buf, len, &d), SHMX_ST_BAD_MSG);
	len = encoded(SHMX_OP_SEG_SET, 0);
	p[8 + 8 + 1] = 0x10;
	assert_int_equal(shmx__proto_decode(buf, len, &d), SHMX_ST_BAD_MSG);

	/* POOL_STAT reply: free above total. */
	len = encoded(SHMX_OP_POOL_STAT, 1);
	p[8 + 7] = 0x01;
	assert_int_equal(shmx__proto_decode(buf, len, &d), SHMX_ST_BAD_MSG);
}

/*
 * Global locks: each rule of opcodes 35..37 refuses a bad field.  A case:
 * the sample of @op (request or @reply) with @n bytes at payload offset
 * @off set to @val.
 */
static void test_bad_lock_fields(void **state)
{
	static const struct {
		uint16_t op;
		int reply;
		uint8_t off, val, n;
	} bad[] = {
		/* LOCK_RESERVE: id 5 with a name; lease MAX + 1 (0x36ee81);
		 * a name byte not printable; a name length past 63. */
		{ SHMX_OP_LOCK_RESERVE, 0, 0, 5, 1 },
		{ SHMX_OP_LOCK_RESERVE, 0, 8, 0x81, 1 },
		{ SHMX_OP_LOCK_RESERVE, 0, 12 + 3, 0x7f, 1 },
		{ SHMX_OP_LOCK_RESERVE, 0, 12, SHMX_NAME_MAX, 1 },
		/* Its reply: id 0, lease 0, lease past the maximum, created
		 * other than 0 or 1. */
		{ SHMX_OP_LOCK_RESERVE, 1, 0, 0, 8 },
		{ SHMX_OP_LOCK_RESERVE, 1, 24, 0, 4 },
		{ SHMX_OP_LOCK_RESERVE, 1, 24, 0xff, 4 },
		{ SHMX_OP_LOCK_RESERVE, 1, 28, 2, 1 },
		/* LOCK_UNRESERVE: id 0. */
		{ SHMX_OP_LOCK_UNRESERVE, 0, 0, 0, 8 },
		/* LOCK_NEXT reply: id 0, lease 0, no reservation, a name
		 * byte not printable. */
		{ SHMX_OP_LOCK_NEXT, 1, 0, 0, 8 },
		{ SHMX_OP_LOCK_NEXT, 1, 8, 0, 4 },
		{ SHMX_OP_LOCK_NEXT, 1, 12, 0, 4 },
		{ SHMX_OP_LOCK_NEXT, 1, 20 + 1, '\t', 1 },
	};
	struct shmx_msg m, d;
	size_t len;
	int n;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		len = encoded(bad[i].op, bad[i].reply);
		memset(buf + SHMX_HDR_LEN + bad[i].off, bad[i].val, bad[i].n);
		assert_int_equal(shmx__proto_decode(buf, len, &d),
				 SHMX_ST_BAD_MSG);
	}

	/* By id (empty name), and a new anonymous lock (no id, no name),
	 * each with lease 0: both valid. */
	for (uint64_t id = 0; id < 2; id++) {
		sample(&m, SHMX_OP_LOCK_RESERVE, 0);
		m.u.lock_reserve.id = id;
		m.u.lock_reserve.lease_ms = 0;
		m.u.lock_reserve.name[0] = '\0';
		n = shmx__proto_encode(&m, buf, SHMX_WIRE_MAX);
		assert_int_equal(n, SHMX_HDR_LEN + 13);
		assert_int_equal(shmx__proto_decode(buf, (size_t)n, &d),
				 SHMX_ST_OK);
		assert_int_equal(d.u.lock_reserve.id, id);
		assert_string_equal(d.u.lock_reserve.name, "");
	}

	/* A listing whose slot bytes are cut short (the length agreeing). */
	len = encoded(SHMX_OP_LOCK_NEXT, 1);
	set_len(len - 1);
	assert_int_equal(shmx__proto_decode(buf, len - 1, &d), SHMX_ST_BAD_MSG);

	/* An anonymous lock's listing: empty name, any slot bytes. */
	sample(&m, SHMX_OP_LOCK_NEXT, 1);
	memset(m.u.lock_info.name, 0, sizeof(m.u.lock_info.name));
	memset(m.u.lock_info.slot, 0xff, sizeof(m.u.lock_info.slot));
	n = shmx__proto_encode(&m, buf, SHMX_WIRE_MAX);
	assert_int_equal(n, SHMX_HDR_LEN + 21 + 112);
	assert_int_equal(shmx__proto_decode(buf, (size_t)n, &d), SHMX_ST_OK);
	m.hdr.length = (uint32_t)n;
	assert_memory_equal(&m, &d, sizeof(m));

	/* The encoder refuses what the decoder would. */
	sample(&m, SHMX_OP_LOCK_RESERVE, 0);
	m.u.lock_reserve.id = 3;
	assert_int_equal(shmx__proto_encode(&m, buf, SHMX_WIRE_MAX), -EINVAL);
	sample(&m, SHMX_OP_LOCK_RESERVE, 0);
	m.u.lock_reserve.lease_ms = SHMX_LOCK_LEASE_MAX_MS + 1;
	assert_int_equal(shmx__proto_encode(&m, buf, SHMX_WIRE_MAX), -EINVAL);
	sample(&m, SHMX_OP_LOCK_RESERVE, 0);
	m.u.lock_reserve.name[1] = '\n';
	assert_int_equal(shmx__proto_encode(&m, buf, SHMX_WIRE_MAX), -EINVAL);
	sample(&m, SHMX_OP_LOCK_NEXT, 1);
	memset(m.u.lock_info.name, 'n', SHMX_NAME_MAX);
	assert_int_equal(shmx__proto_encode(&m, buf, SHMX_WIRE_MAX), -EINVAL);
}

static void test_encoder_errors(void **state)
{
	struct shmx_msg m;
	int len;

	sample(&m, SHMX_OP_HELLO, 0);
	len = shmx__proto_encode(&m, buf, SHMX_WIRE_MAX);
	assert_true(len > 0);
	for (int cap = 0; cap < len; cap += 7)
		assert_int_equal(shmx__proto_encode(&m, buf, (size_t)cap),
				 -EMSGSIZE);
	assert_int_equal(shmx__proto_encode(&m, buf, (size_t)len), len);

	sample(&m, SHMX_OP_MEMBERS, 1);
	assert_int_equal(shmx__proto_encode(&m, buf, 1000), -EMSGSIZE);

	sample(&m, 0, 0);
	assert_int_equal(shmx__proto_encode(&m, buf, SHMX_WIRE_MAX), -EINVAL);
	sample(&m, SHMX_OP_MAX, 0);
	assert_int_equal(shmx__proto_encode(&m, buf, SHMX_WIRE_MAX), -EINVAL);
	sample(&m, SHMX_OP_PING, 0);
	m.hdr.status = SHMX_ST_RANGE; /* request with a status */
	assert_int_equal(shmx__proto_encode(&m, buf, SHMX_WIRE_MAX), -EINVAL);
	sample(&m, SHMX_OP_PING, 1);
	m.hdr.status = SHMX_ST_MAX;
	assert_int_equal(shmx__proto_encode(&m, buf, SHMX_WIRE_MAX), -EINVAL);
	sample(&m, SHMX_OP_PING, 0);
	m.hdr.flags = 0x4;
	assert_int_equal(shmx__proto_encode(&m, buf, SHMX_WIRE_MAX), -EINVAL);

	sample(&m, SHMX_OP_HELLO, 0);
	memset(m.u.hello.name, 'x', SHMX_NAME_MAX); /* no NUL: too long */
	assert_int_equal(shmx__proto_encode(&m, buf, SHMX_WIRE_MAX), -EINVAL);
	sample(&m, SHMX_OP_HELLO, 0);
	m.u.hello.name[0] = '\0';
	assert_int_equal(shmx__proto_encode(&m, buf, SHMX_WIRE_MAX), -EINVAL);
	sample(&m, SHMX_OP_HELLO, 0);
	m.u.hello.host[2] = '\n';
	assert_int_equal(shmx__proto_encode(&m, buf, SHMX_WIRE_MAX), -EINVAL);
	sample(&m, SHMX_OP_HELLO, 0);
	m.u.hello.addr_len = 0;
	assert_int_equal(shmx__proto_encode(&m, buf, SHMX_WIRE_MAX), -EINVAL);
	sample(&m, SHMX_OP_MEMBERS, 1);
	m.u.members.count = SHMX_MEMBERS_PER_MSG + 1;
	assert_int_equal(shmx__proto_encode(&m, buf, SHMX_WIRE_MAX), -EINVAL);
}

static void test_names(void **state)
{
	assert_string_equal(shmx__op_name(SHMX_OP_HELLO), "hello");
	assert_string_equal(shmx__op_name(0), "?");
	assert_string_equal(shmx__op_name(SHMX_OP_MAX), "?");
	for (int st = -1; st <= SHMX_ST_MAX; st++)
		assert_non_null(shmx__status_name(st));
}

static void test_status_errno_mapping(void **state)
{
	static const int want[SHMX_ST_MAX] = {
		0,	 -EBADMSG,    -EPROTO, -EOPNOTSUPP, -ENOTCONN, -EACCES,
		-EPERM,	 -EADDRINUSE, -EUSERS, -ENOENT,	    -EFAULT,   -EINVAL,
		-ENOMEM, -EPROTO,     -EIO,    -EEXIST,	    -EACCES,   -EPERM,
		-EBUSY,	 -EDQUOT,     -EINVAL, -ESRCH,	    -ENOSPC,   -EFBIG,
	};

	for (int st = 0; st < SHMX_ST_MAX; st++) {
		assert_int_equal(shmx__status_to_errno(st), want[st]);
		/* Back again, except where two statuses share an errno: STATE
		 * and VERSION (EPROTO), AUTH and DENIED (EACCES: DENIED),
		 * NOT_LOCAL and NOT_OWNER (EPERM: NOT_OWNER), INVAL and
		 * MIDDLE (EINVAL: INVAL). */
		if (st != SHMX_ST_STATE && st != SHMX_ST_AUTH &&
		    st != SHMX_ST_NOT_LOCAL && st != SHMX_ST_MIDDLE)
			assert_int_equal(shmx__errno_to_status(want[st]), st);
	}
	assert_int_equal(shmx__errno_to_status(-EACCES), SHMX_ST_DENIED);
	assert_int_equal(shmx__errno_to_status(-EPERM), SHMX_ST_NOT_OWNER);
	assert_int_equal(shmx__errno_to_status(-EPROTO), SHMX_ST_VERSION);
	assert_int_equal(shmx__errno_to_status(EFAULT), SHMX_ST_RANGE);
	assert_int_equal(shmx__status_to_errno(-1), -EPROTO);
	assert_int_equal(shmx__status_to_errno(SHMX_ST_MAX), -EPROTO);
	assert_int_equal(shmx__errno_to_status(-ENOTTY), SHMX_ST_INTERNAL);
}

/*
 * MAILBOX: the sample "10.77.1.2:40123" (its length at payload offset 0,
 * the bytes from 1, the tag at 16, the window at 24) with one field bad;
 * an empty address withdraws the mailbox, and only with tag and window 0.
 */
static void test_mailbox(void **state)
{
	static const struct {
		uint8_t off, val, n;
	} bad[] = {
		{ 16, 0, 8 },	/* tag 0 */
		{ 24, 0, 4 },	/* window 0 */
		{ 26, 2, 1 },	/* window past SHMX_MAILBOX_WINDOW_MAX */
		{ 10, 'x', 1 }, /* no ':' before the port */
		{ 11, '0', 5 }, /* port 0 */
		{ 1, ':', 1 },	/* no host */
		{ 3, 0x7f, 1 }, /* not printable */
		{ 0, SHMX_MAILBOX_ADDR_MAX, 1 },
	};
	struct shmx_msg m, d;
	size_t len;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		len = encoded(SHMX_OP_MAILBOX, 0);
		memset(buf + SHMX_HDR_LEN + bad[i].off, bad[i].val, bad[i].n);
		assert_int_equal(shmx__proto_decode(buf, len, &d),
				 SHMX_ST_BAD_MSG);
	}
	/* MEMBER event: id 0, an unknown what. */
	len = encoded(SHMX_OP_MEMBER, 0);
	memset(buf + SHMX_HDR_LEN, 0, 4);
	assert_int_equal(shmx__proto_decode(buf, len, &d), SHMX_ST_BAD_MSG);
	len = encoded(SHMX_OP_MEMBER, 0);
	buf[SHMX_HDR_LEN + 4] = 3;
	assert_int_equal(shmx__proto_decode(buf, len, &d), SHMX_ST_BAD_MSG);
	sample(&m, SHMX_OP_MAILBOX, 0);
	m.u.mailbox.addr[0] = '\0';
	assert_int_equal(shmx__proto_encode(&m, buf, SHMX_WIRE_MAX), -EINVAL);
	m.u.mailbox.tag = 0;
	assert_int_equal(shmx__proto_encode(&m, buf, SHMX_WIRE_MAX), -EINVAL);
	m.u.mailbox.window = 0;
	len = (size_t)shmx__proto_encode(&m, buf, SHMX_WIRE_MAX);
	assert_int_equal(shmx__proto_decode(buf, len, &d), SHMX_ST_OK);
	assert_string_equal(d.u.mailbox.addr, "");
	sample(&m, SHMX_OP_MAILBOX, 0);
	strcpy(m.u.mailbox.addr, "[::1]:7000");
	len = (size_t)shmx__proto_encode(&m, buf, SHMX_WIRE_MAX);
	assert_int_equal(shmx__proto_decode(buf, len, &d), SHMX_ST_OK);
	assert_string_equal(d.u.mailbox.addr, "[::1]:7000");
	assert_int_equal(d.u.mailbox.tag, m.u.mailbox.tag);
	assert_int_equal(d.u.mailbox.window, 64);
}

/* STATS reply: counts within their maxima, errors within requests, free
 * space within the total. */
static void test_stats(void **state)
{
	/* Offsets in the payload: 14 u64 counters, 2 u32, 3 u64, 5 u32,
	 * then memory (164), region total (172), free (180), largest
	 * (188), fragments (196), nr_ops (204) and the ops (208). */
	static const struct {
		uint16_t off;
		uint8_t val, n;
	} bad[] = {
		{ 180, 0xff, 8 },	     /* free > total */
		{ 188, 0xff, 4 },	     /* largest > free */
		{ 204, 65, 1 },		     /* nr_ops past the maximum */
		{ 208, 1, 1 },		     /* opcode 0 requested */
		{ 208 + 16 * 14 + 8, 6, 1 }, /* alloc: errors > requests */
		{ 208 + 16 * SHMX_OP_MAX, 33, 1 },    /* nr_status */
		{ 208 + 16 * SHMX_OP_MAX + 4, 1, 1 }, /* errors of OK */
	};
	struct shmx_msg m, d;
	size_t len;

	(void)state;
	len = encoded(SHMX_OP_STATS, 1);
	assert_int_equal(len, SHMX_HDR_LEN + 208 + 16 * SHMX_OP_MAX + 4 +
				      8 * SHMX_ST_MAX);
	assert_int_equal(shmx__proto_decode(buf, len, &d), SHMX_ST_OK);
	assert_int_equal(d.u.stats.op[SHMX_OP_ALLOC].errors, 2);
	assert_int_equal(d.u.stats.region_free_blocks, 3);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		len = encoded(SHMX_OP_STATS, 1);
		memset(buf + SHMX_HDR_LEN + bad[i].off, bad[i].val, bad[i].n);
		assert_int_equal(shmx__proto_decode(buf, len, &d),
				 SHMX_ST_BAD_MSG);
	}
	/* Fewer opcodes and statuses than this build knows: fine. */
	sample(&m, SHMX_OP_STATS, 1);
	m.u.stats.nr_ops = 20;
	m.u.stats.nr_status = 0;
	len = (size_t)shmx__proto_encode(&m, buf, SHMX_WIRE_MAX);
	assert_int_equal(shmx__proto_decode(buf, len, &d), SHMX_ST_OK);
	assert_int_equal(d.u.stats.nr_ops, 20);
	/* The encoder refuses what the decoder would. */
	sample(&m, SHMX_OP_STATS, 1);
	m.u.stats.nr_ops = SHMX_STATS_OPS_MAX + 1;
	assert_int_equal(shmx__proto_encode(&m, buf, SHMX_WIRE_MAX), -EINVAL);
	sample(&m, SHMX_OP_STATS, 1);
	m.u.stats.op[SHMX_OP_ALLOC].errors = 6;
	assert_int_equal(shmx__proto_encode(&m, buf, SHMX_WIRE_MAX), -EINVAL);
	sample(&m, SHMX_OP_STATS, 1);
	m.u.stats.region_largest_free = 401;
	assert_int_equal(shmx__proto_encode(&m, buf, SHMX_WIRE_MAX), -EINVAL);
	/* A full reply fits. */
	sample(&m, SHMX_OP_STATS, 1);
	m.u.stats.nr_ops = SHMX_STATS_OPS_MAX;
	m.u.stats.nr_status = SHMX_STATS_STATUS_MAX;
	assert_true(shmx__proto_encode(&m, buf, SHMX_WIRE_MAX) > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_message_round_trips),
		cmocka_unit_test(test_members_pages),
		cmocka_unit_test(test_error_reply_has_no_payload),
		cmocka_unit_test(test_header_layout_is_pinned),
		cmocka_unit_test(test_truncation_and_trailing_bytes),
		cmocka_unit_test(test_bad_headers),
		cmocka_unit_test(test_bad_fields),
		cmocka_unit_test(test_bad_memory_fields),
		cmocka_unit_test(test_bad_lock_fields),
		cmocka_unit_test(test_mailbox),
		cmocka_unit_test(test_stats),
		cmocka_unit_test(test_encoder_errors),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_status_errno_mapping),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
