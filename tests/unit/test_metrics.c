/* SPDX-License-Identifier: MIT */
/*
 * test_metrics.c - the metrics endpoint's pure parts: the --metrics
 * address, the HTTP request-head parser (complete, partial, hostile), and
 * the Prometheus text rendering of the node's counters and figures.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "metrics.h"
#include "stats.h"

static int parse(const char *req, int *head)
{
	return metrics_parse_request(req, strlen(req), head);
}

static void test_addr(void **state)
{
	char host[64];
	uint16_t port;

	(void)state;
	assert_int_equal(metrics_parse_addr("9100", host, sizeof(host), &port),
			 0);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(port, 9100);
	assert_int_equal(metrics_parse_addr(":9101", host, sizeof(host), &port),
			 0);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(port, 9101);
	assert_int_equal(
		metrics_parse_addr("0.0.0.0:80", host, sizeof(host), &port), 0);
	assert_string_equal(host, "0.0.0.0");
	assert_int_equal(port, 80);
	assert_int_equal(
		metrics_parse_addr("[::1]:9102", host, sizeof(host), &port), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 9102);
	assert_int_equal(metrics_parse_addr("", host, sizeof(host), &port),
			 -ENOENT);
	assert_int_equal(
		metrics_parse_addr("localhost", host, sizeof(host), &port),
		-EINVAL);
	assert_int_equal(metrics_parse_addr(":", host, sizeof(host), &port),
			 -EINVAL);
	assert_int_equal(metrics_parse_addr("0", host, sizeof(host), &port),
			 -EINVAL);
	assert_int_equal(metrics_parse_addr("65536", host, sizeof(host), &port),
			 -EINVAL);
	assert_int_equal(metrics_parse_addr(":0x10", host, sizeof(host), &port),
			 -EINVAL);
	assert_int_equal(metrics_parse_addr("h:-1", host, sizeof(host), &port),
			 -EINVAL);
}

static void test_requests(void **state)
{
	int head;

	(void)state;
	assert_int_equal(parse("GET /metrics HTTP/1.1\r\nHost: x\r\n"
			       "Accept: */*\r\n\r\n",
			       &head),
			 200);
	assert_int_equal(head, 0);
	assert_int_equal(parse("HEAD /metrics HTTP/1.0\r\n\r\n", &head), 200);
	assert_int_equal(head, 1);
	assert_int_equal(parse("GET /metrics?name[]=x HTTP/1.0\n\n", &head),
			 200);
	assert_int_equal(parse("GET /nope HTTP/1.1\r\n\r\n", &head), 404);
	assert_int_equal(parse("GET /metricsx HTTP/1.1\r\n\r\n", &head), 404);
	assert_int_equal(parse("GET / HTTP/1.1\r\n\r\n", &head), 404);
	assert_int_equal(parse("POST /metrics HTTP/1.1\r\n\r\n", &head), 405);
	assert_int_equal(parse("get /metrics HTTP/1.1\r\n\r\n", &head), 405);
	/* Not complete yet: no verdict. */
	assert_int_equal(parse("", &head), 0);
	assert_int_equal(parse("GET /metr", &head), 0);
	assert_int_equal(parse("GET /metrics HTTP/1.1\r\n", &head), 0);
	assert_int_equal(parse("GET /metrics HTTP/1.1\r\nHost: x\r\n", &head),
			 0);
	/* Malformed, as soon as it shows. */
	assert_int_equal(parse("GARBAGE\r\n", &head), 400);
	assert_int_equal(parse("GET /metrics\r\n\r\n", &head), 400);
	assert_int_equal(parse("GET metrics HTTP/1.1\r\n\r\n", &head), 400);
	assert_int_equal(parse("GET /metrics HTTP/2.0\r\n\r\n", &head), 400);
	assert_int_equal(parse("GET /metrics HTTP/1.1 \r\n\r\n", &head), 400);
	assert_int_equal(parse("GET  /metrics HTTP/1.1\r\n\r\n", &head), 400);
	assert_int_equal(parse(" GET /metrics HTTP/1.1\r\n\r\n", &head), 400);
	assert_int_equal(parse("G(T /metrics HTTP/1.1\r\n\r\n", &head), 400);
	assert_int_equal(
		parse("GET /metrics HTTP/1.1\r\nNo colon\r\n\r\n", &head), 400);
	assert_int_equal(
		parse("GET /metrics HTTP/1.1\r\n: empty\r\n\r\n", &head), 400);
	assert_int_equal(
		parse("GET /metrics HTTP/1.1\r\n folded\r\n\r\n", &head), 400);
	assert_int_equal(parse("GET /met\x01rics HTTP/1.1\r\n\r\n", &head),
			 400);
	assert_int_equal(parse("GET /met\x01", &head), 400);
	assert_int_equal(
		metrics_parse_request("GET /\0 HTTP/1.1\r\n\r\n", 20, &head),
		400);
}

/* The value of sample @name (with its labels) in @text, or -1. */
static long long sample(const char *text, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = text; p && *p;
	     p = strchr(p, '\n'), p = p ? p + 1 : p)
		if (!strncmp(p, name, n) && p[n] == ' ')
			return atoll(p + n + 1);
	return -1;
}

static void test_render(void **state)
{
	static struct node_stats st;
	struct node_stats_live live = {
		.uptime_ms = 12345,
		.members = 3,
		.max_members = 1024,
		.pools = 2,
		.blocks = 7,
		.segments = 1,
		.locks = 4,
		.lock_slots = 65536,
		.locks_held = 2,
		.lock_holds = 3,
		.lock_waiters = 5,
		.memory = 1 << 24,
		.region_total = 1000,
		.region_free = 400,
		.region_largest_free = 300,
		.region_free_blocks = 3,
	};
	char buf[32768];
	int len;

	(void)state;
	memset(&st, 0, sizeof(st));
	st.requests[SHMX_OP_ALLOC] = 9;
	st.errors[SHMX_OP_ALLOC][SHMX_ST_NO_SPACE] = 2;
	st.errors[SHMX_OP_RELEASE][SHMX_ST_NOT_FOUND] = 1;
	st.requests[SHMX_OP_RELEASE] = 1;
	st.alloc_bytes = 4096 * 7;
	st.members_expired = 6;
	len = stats_render(&st, &live, buf, sizeof(buf));
	assert_true(len > 0);
	assert_int_equal((size_t)len, strlen(buf));
	assert_int_equal(buf[len - 1], '\n');
	assert_non_null(strstr(buf, "# HELP shmext_requests_total "));
	assert_non_null(strstr(buf, "# TYPE shmext_requests_total counter\n"));
	assert_non_null(strstr(buf, "# TYPE shmext_members gauge\n"));
	assert_int_equal(sample(buf, "shmext_requests_total{op=\"alloc\"}"), 9);
	assert_int_equal(sample(buf, "shmext_requests_total{op=\"ping\"}"), 0);
	/* HELLO and the events are never requests the node counts. */
	assert_int_equal(sample(buf, "shmext_requests_total{op=\"hello\"}"),
			 -1);
	assert_int_equal(sample(buf, "shmext_requests_total{op=\"map\"}"), -1);
	assert_int_equal(sample(buf, "shmext_request_errors_total{op=\"alloc\","
				     "status=\"no room in the region\"}"),
			 2);
	assert_int_equal(sample(buf, "shmext_request_errors_total{op="
				     "\"release\",status=\"not found\"}"),
			 1);
	assert_int_equal(sample(buf, "shmext_allocated_bytes_total"), 4096 * 7);
	assert_int_equal(sample(buf, "shmext_members_expired_total"), 6);
	assert_int_equal(sample(buf, "shmext_members"), 3);
	assert_int_equal(sample(buf, "shmext_lock_waiters"), 5);
	assert_int_equal(sample(buf, "shmext_region_free_fragments"), 3);
	assert_non_null(strstr(buf, "\nshmext_uptime_seconds 12.345\n"));
	assert_non_null(
		strstr(buf, "\nshmext_region_fragmentation_ratio 0.250000\n"));
	/* Every line: a HELP or TYPE comment, or NAME[{...}] VALUE. */
	for (char *p = buf, *nl; *p; p = nl + 1) {
		nl = strchr(p, '\n');
		assert_non_null(nl);
		assert_true(!strncmp(p, "# HELP shmext_", 14) ||
			    !strncmp(p, "# TYPE shmext_", 14) ||
			    !strncmp(p, "shmext_", 7));
	}
	/* Too small: -ENOSPC, never a cut text. */
	assert_int_equal(stats_render(&st, &live, buf, 100), -ENOSPC);
	assert_int_equal(stats_render(&st, &live, buf, (size_t)len), -ENOSPC);
	assert_int_equal(stats_render(&st, &live, buf, (size_t)len + 1), len);
	/* No free space: fragmentation 0. */
	live.region_free = live.region_largest_free = 0;
	assert_true(stats_render(&st, &live, buf, sizeof(buf)) > 0);
	assert_non_null(
		strstr(buf, "\nshmext_region_fragmentation_ratio 0.000000\n"));
	/* The journal's figures only with a backing file. */
	assert_null(strstr(buf, "shmext_journal_"));
	live.backing = 1;
	live.journal_bytes = 8192;
	live.journal_writes = 40;
	live.journal_rewrites = 2;
	live.journal_errors = 1;
	assert_true(stats_render(&st, &live, buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "# TYPE shmext_journal_bytes gauge\n"));
	assert_non_null(strstr(
		buf, "# TYPE shmext_journal_write_errors_total counter\n"));
	assert_int_equal(sample(buf, "shmext_journal_bytes"), 8192);
	assert_int_equal(sample(buf, "shmext_journal_writes_total"), 40);
	assert_int_equal(sample(buf, "shmext_journal_rewrites_total"), 2);
	assert_int_equal(sample(buf, "shmext_journal_write_errors_total"), 1);
}

/* The counters and the wire: per opcode, per status, checked on decode. */
static void test_wire(void **state)
{
	static struct node_stats st;
	struct node_stats_live live = { .region_total = 10,
					.region_free = 5,
					.region_largest_free = 5 };
	struct shmx_msg req, rep, d;
	uint8_t buf[SHMX_WIRE_MAX];
	int len;

	(void)state;
	stats_start(&st);
	shmx__msg_init(&req, SHMX_OP_ALLOC, 1, 2, 3);
	shmx__msg_reply(&rep, &req, SHMX_ST_OK);
	rep.u.grant.len = 8192;
	stats_request(&st, &req, &rep);
	shmx__msg_reply(&rep, &req, SHMX_ST_QUOTA);
	stats_request(&st, &req, &rep);
	shmx__msg_init(&req, SHMX_OP_SEG_OPEN, 1, 2, 3);
	shmx__msg_reply(&rep, &req, SHMX_ST_OK);
	rep.u.seg.created = 1;
	rep.u.seg.key.len = 65536;
	stats_request(&st, &req, &rep);
	stats_received(&st, 100);
	stats_sent(&st, 50, 0);
	stats_sent(&st, 50, -EIO); /* not sent */
	assert_int_equal(st.requests[SHMX_OP_ALLOC], 2);
	assert_int_equal(st.allocs, 1);
	assert_int_equal(st.alloc_bytes, 8192);
	assert_int_equal(st.segs_created, 1);
	assert_int_equal(st.seg_bytes_created, 65536);
	assert_int_equal(st.msgs_sent, 1);

	shmx__msg_init(&req, SHMX_OP_STATS, 1, 2, 3);
	shmx__msg_reply(&rep, &req, SHMX_ST_OK);
	stats_to_wire(&st, &live, &rep.u.stats);
	len = shmx__proto_encode(&rep, buf, sizeof(buf));
	assert_true(len > 0);
	assert_int_equal(shmx__proto_decode(buf, (size_t)len, &d), SHMX_ST_OK);
	assert_int_equal(d.u.stats.nr_ops, SHMX_OP_MAX);
	assert_int_equal(d.u.stats.op[SHMX_OP_ALLOC].requests, 2);
	assert_int_equal(d.u.stats.op[SHMX_OP_ALLOC].errors, 1);
	assert_int_equal(d.u.stats.status_errors[SHMX_ST_QUOTA], 1);
	assert_int_equal(d.u.stats.bytes_received, 100);
	assert_int_equal(d.u.stats.region_free, 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addr),
		cmocka_unit_test(test_requests),
		cmocka_unit_test(test_render),
		cmocka_unit_test(test_wire),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
