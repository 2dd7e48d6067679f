/* SPDX-License-Identifier: MIT */
/*
 * verbs.c - the "verbs" transport backend: rdma-core directly.  One
 * reliable-connected queue pair per peer, connected with rdma_cm; reads,
 * writes and 64-bit atomics executed by the NIC; control messages with
 * SEND/RECV into a shared receive queue.  Works on any RDMA NIC and on
 * soft-RoCE (rxe).
 *
 * A client connects to the node in open (attr->connect) and sends a random
 * 16-byte token in the connection's private data; that token is its
 * "address" (getname), so the node's peer_insert() finds the connection a
 * HELLO came from.  The node accepts connections as rdma_cm reports them,
 * from inside poll(), and forgets a peer when rdma_cm says it is gone.
 *
 * A mailbox (bind, not passive) listens like the node and also connects
 * out: resolve starts a connection on the listener's PD, CQ and SRQ and
 * returns at once; rdma_cm's events move it on from poll, sends posted
 * before it is established wait on the connection, and fail (surfacing
 * from poll) if it is refused or not made within VB_CM_TIMEOUT_MS.
 *
 * Completions: wr_id is our own context (struct vb_op); only the caller's
 * RMA, atomics and sends with an op_ctx surface from poll.  wait_arm()
 * consumes a CQ event that woke a waiter, arms the CQ, polls once more into
 * a small stash (so no completion is lost to the race), and hands out the
 * completion channel and the CM channel to sleep on.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>

#include "proto/auth.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/parse.h"
#include "xport/xport.h"

#define VB_MAX_CONNS 1024
#define VB_TX_MSG_BUFS 64
#define VB_MAX_OPS 1024
#define VB_SEND_DEPTH 256
#define VB_TOKEN_LEN 16
#define VB_CM_TIMEOUT_MS 5000
#define VB_RESOLVE_MS 2000
#define VB_INLINE 64
#define VB_STASH 32
#define VB_MAX_RMA (1u << 30)
/*
 * Local ACK timeout, 4.096 us * 2^14 = 67 ms, as perftest uses.  rdma_cm's
 * own choice on RoCE (packet lifetime 16 + 1: 0.5 s) makes every lost packet
 * a half-second stall.
 */
#define VB_ACK_TIMEOUT 14

enum vb_op_kind { VB_RECV, VB_SEND, VB_READ, VB_WRITE, VB_ATOMIC };

struct vb_op {
	struct vb_op *next;
	enum vb_op_kind kind;
	unsigned conn; /* the connection a send-queue op was posted on */
	void *user_ctx;
	uint8_t *msg; /* send or receive buffer */
	uint32_t len; /* a send waiting for its connection: its length */
	int status;   /* on the failed list: the error it completes with */
};

/*
 * CONNECTING: a mailbox's outbound connection that rdma_cm is still
 * making; sends wait on it (pending).  GONE: rdma_cm reported the peer
 * gone; the queue pair is in the error state, flushing what was posted.
 * The slot is freed (queue pair destroyed) once every op posted on it has
 * completed, so that no op (and no send buffer) is lost with it.
 */
enum vb_conn_state {
	VB_FREE = 0,
	VB_ACCEPTING,
	VB_CONNECTED,
	VB_CONNECTING,
	VB_GONE
};

union vb_sockaddr {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
};

struct vb_conn {
	enum vb_conn_state state;
	struct rdma_cm_id *id;
	uint32_t qp_num;
	unsigned inflight; /* signalled send-queue ops not yet completed */
	unsigned
		unsignaled; /* sends posted unsignalled since the last signal */
	uint8_t token[VB_TOKEN_LEN];
	/* A mailbox's outbound connection: where to, how many resolves
	 * hold it, until when it may take to connect, sends waiting. */
	int outbound;
	unsigned refs;
	union vb_sockaddr dst;
	uint64_t deadline_ms;
	struct vb_op *pending, **pending_tail;
};

struct vb_xport {
	struct xport base;
	struct rdma_event_channel *ec;
	struct rdma_cm_id *listen_id;
	struct ibv_context *verbs;
	struct ibv_pd *pd;
	struct ibv_comp_channel *cc;
	struct ibv_cq *cq;
	struct ibv_srq *srq;
	int armed;
	struct ibv_wc stash[VB_STASH];
	int nstash;
	/* Connection events are read at most every VB_CM_EVERY_NS in
	 * poll (each look is a system call), or when wait saw one. */
	uint64_t cm_next;
	int cm_due;
	uint8_t my_token[VB_TOKEN_LEN];
	char node_hp[128];    /* client: the node's "HOST:PORT", to reconnect */
	int mailbox;	      /* bind without passive: also connects out */
	unsigned nconnecting; /* outbound connections not made yet */
	struct vb_op *failed; /* sends that never reached a QP, for poll */
	unsigned rd_atomic;

	struct vb_conn conns[VB_MAX_CONNS];
	unsigned nconns; /* high-water mark of used slots */
	/* Bumped each time a slot is given to a connection: a peer id is
	 * the slot and its generation, so the id of a connection that is
	 * gone never reaches the next one in that slot. */
	uint32_t gens[VB_MAX_CONNS];

	struct vb_op *ops, *free_ops, *free_tx;
	uint8_t *rx_bufs, *tx_bufs;
	struct ibv_mr *rx_mr, *tx_mr;
};

#define to_vb(xp) ((struct vb_xport *)(xp))

/* Work completion status -> errno. */
static int wc_err(enum ibv_wc_status st)
{
	switch (st) {
	case IBV_WC_SUCCESS:
		return 0;
	case IBV_WC_REM_ACCESS_ERR:
	case IBV_WC_LOC_PROT_ERR:
	case IBV_WC_LOC_ACCESS_ERR:
		return -EACCES;
	case IBV_WC_WR_FLUSH_ERR:
	case IBV_WC_RETRY_EXC_ERR:
	case IBV_WC_RNR_RETRY_EXC_ERR:
	case IBV_WC_REM_ABORT_ERR:
		return -ECONNRESET;
	case IBV_WC_REM_INV_REQ_ERR:
		return -EINVAL;
	default:
		return -EIO;
	}
}

static void cm_event(struct vb_xport *x, struct rdma_cm_event *ev);

/*
 * Wait for one CM event of @want for @id for up to @ms; it is acked.
 * Events of other ids (an old connection going away) are handled as
 * cm_progress() would.
 */
static int cm_wait(struct vb_xport *x, struct rdma_cm_id *id,
		   enum rdma_cm_event_type want, int ms)
{
	struct pollfd pfd = { .fd = x->ec->fd, .events = POLLIN };
	uint64_t end = shmx__now_ms() + (uint64_t)ms;
	struct rdma_cm_event *ev;
	enum rdma_cm_event_type got;
	int status;

	for (;;) {
		if (!rdma_get_cm_event(x->ec, &ev)) {
			if (ev->id == id)
				break;
			cm_event(x, ev);
			continue;
		}
		if (errno != EAGAIN)
			return -errno;
		if (shmx__now_ms() >= end)
			return -ETIMEDOUT;
		poll(&pfd, 1, (int)(end - shmx__now_ms()));
	}
	got = ev->event;
	status = ev->status;
	rdma_ack_cm_event(ev);
	if (got == want)
		return 0;
	log_debug("verbs: waited for %s, got %s (%d)", rdma_event_str(want),
		  rdma_event_str(got), status);
	switch (got) {
	case RDMA_CM_EVENT_REJECTED:
	case RDMA_CM_EVENT_UNREACHABLE:
	case RDMA_CM_EVENT_CONNECT_ERROR:
	case RDMA_CM_EVENT_ADDR_ERROR:
	case RDMA_CM_EVENT_ROUTE_ERROR:
		return -ECONNREFUSED;
	default:
		return -EPROTO;
	}
}

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) ? -errno : 0;
}

/* Raise the locked-memory limit as far as we are allowed. */
static void raise_memlock(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_MEMLOCK, &rl))
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_MEMLOCK, &rl)) {
		rl.rlim_cur = rl.rlim_max = RLIM_INFINITY;
		setrlimit(RLIMIT_MEMLOCK, &rl);
	}
}

static int post_recv(struct vb_xport *x, struct vb_op *op)
{
	struct ibv_sge sge = { .addr = (uintptr_t)op->msg,
			       .length = XPORT_MSG_MAX,
			       .lkey = x->rx_mr->lkey };
	struct ibv_recv_wr wr = { .wr_id = (uintptr_t)op,
				  .sg_list = &sge,
				  .num_sge = 1 },
			   *bad;
	int ret = ibv_post_srq_recv(x->srq, &wr, &bad);

	if (ret)
		log_warn("verbs: cannot post a receive: %s", strerror(ret));
	return -ret;
}

/* PD, CQ, SRQ, buffers and contexts on device @verbs. */
static int domain_setup(struct vb_xport *x, struct ibv_context *verbs)
{
	struct ibv_srq_init_attr srq_attr = {
		.attr = { .max_wr = XPORT_RX_DEPTH, .max_sge = 1 }
	};
	struct ibv_device_attr dev;
	unsigned nops = VB_MAX_OPS + XPORT_RX_DEPTH;
	int ret;

	x->verbs = verbs;
	if (ibv_query_device(verbs, &dev))
		return -errno;
	x->rd_atomic =
		(unsigned)(dev.max_qp_rd_atom < 16 ? dev.max_qp_rd_atom : 16);
	x->pd = ibv_alloc_pd(verbs);
	x->cc = x->pd ? ibv_create_comp_channel(verbs) : NULL;
	if (!x->pd || !x->cc)
		return -errno ? -errno : -ENOMEM;
	ret = set_nonblock(x->cc->fd);
	if (ret)
		return ret;
	x->cq = ibv_create_cq(verbs, (int)(nops + VB_TX_MSG_BUFS), NULL, x->cc,
			      0);
	x->srq = x->cq ? ibv_create_srq(x->pd, &srq_attr) : NULL;
	if (!x->cq || !x->srq)
		return -errno ? -errno : -ENOMEM;
	x->ops = calloc(nops, sizeof(*x->ops));
	x->rx_bufs = calloc(XPORT_RX_DEPTH, XPORT_MSG_MAX);
	x->tx_bufs = calloc(VB_TX_MSG_BUFS, XPORT_MSG_MAX);
	if (!x->ops || !x->rx_bufs || !x->tx_bufs)
		return -ENOMEM;
	x->rx_mr = ibv_reg_mr(x->pd, x->rx_bufs,
			      (size_t)XPORT_RX_DEPTH * XPORT_MSG_MAX,
			      IBV_ACCESS_LOCAL_WRITE);
	x->tx_mr = ibv_reg_mr(x->pd, x->tx_bufs,
			      (size_t)VB_TX_MSG_BUFS * XPORT_MSG_MAX, 0);
	if (!x->rx_mr || !x->tx_mr)
		return -errno ? -errno : -ENOMEM;
	for (unsigned i = 0; i < VB_MAX_OPS; i++) {
		struct vb_op *op = &x->ops[i];

		if (i < VB_TX_MSG_BUFS) {
			op->msg = x->tx_bufs + (size_t)i * XPORT_MSG_MAX;
			op->next = x->free_tx;
			x->free_tx = op;
		} else {
			op->next = x->free_ops;
			x->free_ops = op;
		}
	}
	for (unsigned i = 0; i < XPORT_RX_DEPTH; i++) {
		struct vb_op *op = &x->ops[VB_MAX_OPS + i];

		op->kind = VB_RECV;
		op->msg = x->rx_bufs + (size_t)i * XPORT_MSG_MAX;
		ret = post_recv(x, op);
		if (ret)
			return ret;
	}
	snprintf(x->base.caps.provider, sizeof(x->base.caps.provider), "%s",
		 ibv_get_device_name(verbs->device));
	x->base.caps.max_rma =
		dev.max_mr_size < VB_MAX_RMA ? dev.max_mr_size : VB_MAX_RMA;
	x->base.caps.local_mr = 1;
	x->base.caps.tx_depth = VB_MAX_OPS - VB_TX_MSG_BUFS;
	return 0;
}

static int qp_create(struct vb_xport *x, struct rdma_cm_id *id)
{
	struct ibv_qp_init_attr qa = {
		.send_cq = x->cq,
		.recv_cq = x->cq,
		.srq = x->srq,
		.qp_type = IBV_QPT_RC,
		.sq_sig_all = 0, /* see vb_send: selective signalling */
		.cap = { .max_send_wr = VB_SEND_DEPTH,
			 .max_send_sge = 1,
			 .max_inline_data = VB_INLINE },
	};

	if (rdma_create_qp(id, x->pd, &qa))
		return -errno;
	return 0;
}

/* Before connect or accept: our retransmission timer (best effort). */
static void set_ack_timeout(struct rdma_cm_id *id)
{
	uint8_t t = VB_ACK_TIMEOUT;

	if (rdma_set_option(id, RDMA_OPTION_ID, RDMA_OPTION_ID_ACK_TIMEOUT, &t,
			    sizeof(t)))
		log_debug("verbs: cannot set the ACK timeout: %s",
			  strerror(errno));
}

static void conn_param(struct vb_xport *x, struct rdma_conn_param *p,
		       const void *priv, uint8_t len)
{
	memset(p, 0, sizeof(*p));
	p->private_data = priv;
	p->private_data_len = len;
	p->responder_resources = (uint8_t)x->rd_atomic;
	p->initiator_depth = (uint8_t)x->rd_atomic;
	p->retry_count = 7;
	p->rnr_retry_count = 7;
}

/* The peer id of slot @i as it is now. */
static xport_peer_t peer_id(const struct vb_xport *x, unsigned i)
{
	return (xport_peer_t)i | (xport_peer_t)x->gens[i] << 32;
}

/* The slot of @peer, or -1 when it is not a live connection's id (its
 * connection is gone, and the slot perhaps another's). */
static int peer_slot(const struct vb_xport *x, xport_peer_t peer)
{
	uint64_t i = peer & 0xffffffffu;

	if (i >= x->nconns || x->conns[i].state == VB_FREE ||
	    x->gens[i] != (uint32_t)(peer >> 32))
		return -1;
	return (int)i;
}

static struct vb_conn *conn_alloc(struct vb_xport *x, xport_peer_t *peer)
{
	for (unsigned i = 0; i < VB_MAX_CONNS; i++) {
		if (x->conns[i].state != VB_FREE)
			continue;
		memset(&x->conns[i], 0, sizeof(x->conns[i]));
		if (i >= x->nconns)
			x->nconns = i + 1;
		x->gens[i]++;
		*peer = peer_id(x, i);
		return &x->conns[i];
	}
	return NULL;
}

static void conn_free(struct vb_xport *x, struct vb_conn *c)
{
	if (c->id) {
		if (c->id->qp)
			rdma_destroy_qp(c->id);
		rdma_destroy_id(c->id);
	}
	memset(c, 0, sizeof(*c));
}

/*
 * "HOST:PORT" (@passive: to bind, port 0 allowed) -> *@ai, freed by the
 * caller.  0, -EINVAL (syntax) or -EHOSTUNREACH (no such host).
 */
static int hp_addrinfo(const char *host_port, int passive, struct addrinfo **ai)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = passive ? AI_PASSIVE : 0 };
	char host[128], port[16];
	uint16_t pn;

	if (shmx__xport_host_port(host_port, passive, host, sizeof(host), &pn))
		return -EINVAL;
	snprintf(port, sizeof(port), "%u", pn);
	return getaddrinfo(host, port, &hints, ai) ? -EHOSTUNREACH : 0;
}

/* Client side: resolve, connect, wait until established. */
static int client_connect(struct vb_xport *x, const char *host_port)
{
	struct rdma_conn_param p;
	struct addrinfo *ai = NULL;
	struct rdma_cm_id *id;
	struct vb_conn *c;
	xport_peer_t peer;
	int ret;

	ret = hp_addrinfo(host_port, 0, &ai);
	if (ret)
		return ret;
	ret = rdma_create_id(x->ec, &id, NULL, RDMA_PS_TCP);
	if (ret) {
		freeaddrinfo(ai);
		return -errno;
	}
	ret = rdma_resolve_addr(id, NULL, ai->ai_addr, VB_RESOLVE_MS)
		      ? -errno
		      : cm_wait(x, id, RDMA_CM_EVENT_ADDR_RESOLVED,
				VB_CM_TIMEOUT_MS);
	freeaddrinfo(ai);
	if (!ret)
		ret = rdma_resolve_route(id, VB_RESOLVE_MS)
			      ? -errno
			      : cm_wait(x, id, RDMA_CM_EVENT_ROUTE_RESOLVED,
					VB_CM_TIMEOUT_MS);
	if (!ret && !id->verbs)
		ret = -ENODEV;
	/* A reconnect keeps the domain: registrations stay valid. */
	if (!ret && x->pd && id->verbs != x->verbs)
		ret = -ENODEV;
	if (!ret && !x->pd)
		ret = domain_setup(x, id->verbs);
	if (!ret)
		ret = qp_create(x, id);
	if (ret) {
		if (id->qp)
			rdma_destroy_qp(id);
		rdma_destroy_id(id);
		return ret == -ENODEV || ret == -ENOMEM ? ret : -ECONNREFUSED;
	}
	c = conn_alloc(x, &peer);
	if (!c) {
		rdma_destroy_qp(id);
		rdma_destroy_id(id);
		return -EAGAIN;
	}
	c->id = id;
	id->context = c;
	c->qp_num = id->qp->qp_num;
	memcpy(c->token, x->my_token, VB_TOKEN_LEN);
	conn_param(x, &p, x->my_token, VB_TOKEN_LEN);
	set_ack_timeout(id);
	ret = rdma_connect(id, &p) ? -errno
				   : cm_wait(x, id, RDMA_CM_EVENT_ESTABLISHED,
					     VB_CM_TIMEOUT_MS);
	if (ret) {
		conn_free(x, c);
		return ret == -ETIMEDOUT ? ret : -ECONNREFUSED;
	}
	c->state = VB_CONNECTED;
	return 0;
}

static int node_listen(struct vb_xport *x, const char *host_port)
{
	struct addrinfo *ai = NULL;
	int ret;

	if (hp_addrinfo(host_port, 1, &ai))
		return -EINVAL;
	ret = rdma_create_id(x->ec, &x->listen_id, x, RDMA_PS_TCP);
	if (!ret)
		ret = rdma_bind_addr(x->listen_id, ai->ai_addr);
	freeaddrinfo(ai);
	if (ret)
		return errno == EADDRINUSE ? -EADDRINUSE : -ENODEV;
	/* The address must belong to an RDMA device: that is our domain. */
	if (!x->listen_id->verbs) {
		log_error("verbs: %s is not the address of an RDMA device",
			  host_port);
		return -ENODEV;
	}
	ret = domain_setup(x, x->listen_id->verbs);
	if (ret)
		return ret;
	return rdma_listen(x->listen_id, 64) ? -errno : 0;
}

static void vb_close(struct xport *xp);

/*
 * librdmacm opens every RDMA device once per process and keeps the contexts;
 * a child forked afterwards inherits them, and the kernel refuses their use
 * from another process (EACCES, "changed security contexts").  So a process
 * forked from one that used verbs cannot use verbs: say so plainly.
 */
static pid_t vb_user_pid;

static int vb_open(const struct xport_attr *attr, struct xport **xpp)
{
	struct vb_xport *x = calloc(1, sizeof(*x));
	int ret;

	if (!x)
		return -ENOMEM;
	x->base.ops = &shmx__xport_verbs_ops;
	if (vb_user_pid && vb_user_pid != getpid()) {
		log_error("verbs: this process was forked from one that had "
			  "already used RDMA devices, and librdmacm cannot be "
			  "used again after fork: exec a new program, or fork "
			  "before the first shmx_open");
		free(x);
		return -ENOTSUP;
	}
	vb_user_pid = getpid();
	raise_memlock();
	ret = shmx__random(x->my_token, sizeof(x->my_token));
	if (ret)
		goto out_close;
	x->ec = rdma_create_event_channel();
	if (!x->ec) {
		ret = errno == ENODEV || errno == ENOENT ? -ENODEV : -errno;
		goto out_close;
	}
	ret = set_nonblock(x->ec->fd);
	if (ret)
		goto out_close;
	x->mailbox = attr->bind && !attr->passive;
	if (attr->bind)
		ret = node_listen(x, attr->bind);
	else if (attr->connect &&
		 snprintf(x->node_hp, sizeof(x->node_hp), "%s",
			  attr->connect) >= (int)sizeof(x->node_hp))
		ret = -EINVAL;
	else if (attr->connect)
		ret = client_connect(x, attr->connect);
	else
		ret = -EINVAL;
	if (ret)
		goto out_close;
	log_debug("verbs: device %s, rd_atomic %u", x->base.caps.provider,
		  x->rd_atomic);
	*xpp = &x->base;
	return 0;

out_close:
	vb_close(&x->base);
	return ret;
}

static void vb_close(struct xport *xp)
{
	struct vb_xport *x = to_vb(xp);

	for (unsigned i = 0; i < x->nconns; i++) {
		if (x->conns[i].state == VB_FREE)
			continue;
		if (x->conns[i].state == VB_CONNECTED)
			rdma_disconnect(x->conns[i].id);
		conn_free(x, &x->conns[i]);
	}
	if (x->listen_id)
		rdma_destroy_id(x->listen_id);
	if (x->srq)
		ibv_destroy_srq(x->srq);
	if (x->rx_mr)
		ibv_dereg_mr(x->rx_mr);
	if (x->tx_mr)
		ibv_dereg_mr(x->tx_mr);
	if (x->cq) {
		ibv_destroy_cq(x->cq);
	}
	if (x->cc)
		ibv_destroy_comp_channel(x->cc);
	if (x->pd)
		ibv_dealloc_pd(x->pd);
	if (x->ec)
		rdma_destroy_event_channel(x->ec);
	free(x->ops);
	free(x->rx_bufs);
	free(x->tx_bufs);
	free(x);
}

/*
 * The peer of @c is gone: move the queue pair to the error state (what was
 * posted completes, flushed) and free the slot once nothing is in flight.
 */
static void conn_gone(struct vb_xport *x, struct vb_conn *c)
{
	if (c->state == VB_CONNECTING) {
		x->nconnecting--;
		c->state = VB_GONE;
	} else if (c->state != VB_GONE) {
		c->state = VB_GONE;
		rdma_disconnect(c->id); /* the QP to the error state */
	}
	if (!c->inflight)
		conn_free(x, c);
}

/* A send that never reached a queue pair completes with @err from poll. */
static void send_failed(struct vb_xport *x, struct vb_op *op, int err)
{
	op->status = err;
	op->next = x->failed;
	x->failed = op;
}

/* An outbound connection was not made: its waiting sends fail with @err. */
static void connect_failed(struct vb_xport *x, struct vb_conn *c, int err)
{
	struct vb_op *op;

	while ((op = c->pending)) {
		c->pending = op->next;
		c->inflight--;
		send_failed(x, op, err);
	}
	conn_gone(x, c);
}

/* Post a send that waited for its connection; on failure it fails. */
static void post_pending(struct vb_xport *x, struct vb_conn *c,
			 struct vb_op *op)
{
	struct ibv_sge sge = { .addr = (uintptr_t)op->msg,
			       .length = op->len,
			       .lkey = x->tx_mr->lkey };
	struct ibv_send_wr wr = { .wr_id = (uintptr_t)op,
				  .sg_list = &sge,
				  .num_sge = 1,
				  .opcode = IBV_WR_SEND,
				  .send_flags = IBV_SEND_SIGNALED },
			   *bad;
	int ret = ibv_post_send(c->id->qp, &wr, &bad);

	if (ret) {
		c->inflight--;
		send_failed(x, op, ret == ENOMEM ? -EAGAIN : -ret);
	}
}

/* The next step of a mailbox's outbound connection on event @type. */
static void connect_step(struct vb_xport *x, struct vb_conn *c,
			 enum rdma_cm_event_type type)
{
	struct rdma_conn_param p;
	struct vb_op *op;
	int ret = 0;

	switch (type) {
	case RDMA_CM_EVENT_ADDR_RESOLVED:
		/* The listener's domain serves every connection. */
		if (c->id->verbs != x->verbs)
			ret = -ENODEV;
		else if (rdma_resolve_route(c->id, VB_RESOLVE_MS))
			ret = -errno;
		break;
	case RDMA_CM_EVENT_ROUTE_RESOLVED:
		ret = qp_create(x, c->id);
		if (ret)
			break;
		c->qp_num = c->id->qp->qp_num;
		conn_param(x, &p, x->my_token, VB_TOKEN_LEN);
		set_ack_timeout(c->id);
		if (rdma_connect(c->id, &p))
			ret = -errno;
		break;
	case RDMA_CM_EVENT_ESTABLISHED:
		c->state = VB_CONNECTED;
		x->nconnecting--;
		while ((op = c->pending)) {
			c->pending = op->next;
			post_pending(x, c, op);
		}
		return;
	case RDMA_CM_EVENT_ADDR_ERROR:
	case RDMA_CM_EVENT_ROUTE_ERROR:
	case RDMA_CM_EVENT_UNREACHABLE:
		ret = -EHOSTUNREACH;
		break;
	default: /* REJECTED, CONNECT_ERROR, DISCONNECTED, ... */
		ret = -ECONNREFUSED;
		break;
	}
	if (ret) {
		log_debug("verbs: connection %u not made: %s (%s)",
			  (unsigned)(c - x->conns), rdma_event_str(type),
			  strerror(-ret));
		connect_failed(x, c, ret);
	}
}

/*
 * One rdma_cm event (acked here): accept (node), track and forget
 * connections; on a client, learn that the node disconnected us.
 */
static void cm_event(struct vb_xport *x, struct rdma_cm_event *ev)
{
	struct rdma_cm_id *id = ev->id;
	enum rdma_cm_event_type type = ev->event;
	struct rdma_conn_param p;
	struct vb_conn *c;
	xport_peer_t peer;
	int bad = 0;

	c = id->context && id != x->listen_id ? id->context : NULL;
	if (type == RDMA_CM_EVENT_CONNECT_REQUEST) {
		const struct rdma_conn_param *cp = &ev->param.conn;

		c = NULL;
		if (cp->private_data_len < VB_TOKEN_LEN ||
		    !(c = conn_alloc(x, &peer)) || qp_create(x, id)) {
			bad = 1;
		} else {
			c->id = id;
			c->state = VB_ACCEPTING;
			c->qp_num = id->qp->qp_num;
			memcpy(c->token, cp->private_data, VB_TOKEN_LEN);
			id->context = c;
			conn_param(x, &p, NULL, 0);
			set_ack_timeout(id);
			bad = rdma_accept(id, &p) != 0;
		}
		rdma_ack_cm_event(ev);
		if (bad) {
			log_warn("verbs: refused a connection");
			if (c) {
				conn_free(x, c);
			} else {
				rdma_reject(id, NULL, 0);
				rdma_destroy_id(id);
			}
		}
		return;
	}
	rdma_ack_cm_event(ev);
	if (!c || c->state == VB_FREE)
		return;
	if (c->state == VB_CONNECTING) {
		connect_step(x, c, type);
		return;
	}
	switch (type) {
	case RDMA_CM_EVENT_ESTABLISHED:
		if (c->state == VB_ACCEPTING)
			c->state = VB_CONNECTED;
		break;
	case RDMA_CM_EVENT_DISCONNECTED:
	case RDMA_CM_EVENT_CONNECT_ERROR:
	case RDMA_CM_EVENT_UNREACHABLE:
	case RDMA_CM_EVENT_REJECTED:
	case RDMA_CM_EVENT_TIMEWAIT_EXIT:
		log_debug("verbs: connection %u: %s", (unsigned)(c - x->conns),
			  rdma_event_str(type));
		conn_gone(x, c);
		break;
	default:
		break;
	}
}

/* Every event rdma_cm has for us, without waiting. */
static void cm_progress(struct vb_xport *x)
{
	struct rdma_cm_event *ev;

	while (!rdma_get_cm_event(x->ec, &ev))
		cm_event(x, ev);
}

int shmx__verbs_active_device(char *name, size_t len)
{
	struct ibv_device **list = ibv_get_device_list(NULL);
	int found = 0;

	for (int i = 0; list && list[i] && !found; i++) {
		struct ibv_context *ctx = ibv_open_device(list[i]);
		struct ibv_device_attr da;

		if (!ctx)
			continue;
		if (!ibv_query_device(ctx, &da)) {
			for (uint8_t p = 1; p <= da.phys_port_cnt; p++) {
				struct ibv_port_attr pa;

				if (!ibv_query_port(ctx, p, &pa) &&
				    pa.state == IBV_PORT_ACTIVE) {
					snprintf(name, len, "%s",
						 ibv_get_device_name(list[i]));
					found = 1;
					break;
				}
			}
		}
		ibv_close_device(ctx);
	}
	if (list)
		ibv_free_device_list(list);
	return found;
}

/* Queue pairs to the error state: the NIC stops touching our memory. */
static void vb_shutdown(struct xport *xp)
{
	struct vb_xport *x = to_vb(xp);
	struct ibv_qp_attr qa = { .qp_state = IBV_QPS_ERR };

	for (unsigned i = 0; i < x->nconns; i++)
		if (x->conns[i].state != VB_FREE && x->conns[i].id &&
		    x->conns[i].id->qp)
			ibv_modify_qp(x->conns[i].id->qp, &qa, IBV_QP_STATE);
}

static int vb_getname(struct xport *xp, void *addr, size_t *len)
{
	if (*len < VB_TOKEN_LEN)
		return -ENAMETOOLONG;
	memcpy(addr, to_vb(xp)->my_token, VB_TOKEN_LEN);
	*len = VB_TOKEN_LEN;
	return 0;
}

/* The connected peer for a token, or NULL. */
static struct vb_conn *conn_by_token(struct vb_xport *x, const void *addr,
				     size_t len, xport_peer_t *peer)
{
	if (len != VB_TOKEN_LEN)
		return NULL;
	cm_progress(x);
	for (unsigned i = 0; i < x->nconns; i++) {
		struct vb_conn *c = &x->conns[i];

		if ((c->state == VB_ACCEPTING || c->state == VB_CONNECTED) &&
		    !memcmp(c->token, addr, VB_TOKEN_LEN)) {
			if (peer)
				*peer = peer_id(x, i);
			return c;
		}
	}
	return NULL;
}

static int same_addr(const union vb_sockaddr *a, const struct sockaddr *b)
{
	if (a->sa.sa_family != b->sa_family)
		return 0;
	if (b->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)b;

		return a->in.sin_port == in->sin_port &&
		       a->in.sin_addr.s_addr == in->sin_addr.s_addr;
	}
	if (b->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)b;

		return a->in6.sin6_port == in6->sin6_port &&
		       !memcmp(&a->in6.sin6_addr, &in6->sin6_addr,
			       sizeof(in6->sin6_addr));
	}
	return 0;
}

/*
 * Mailbox: the outbound connection to @host_port, counted, or a new one
 * started (rdma_cm's events carry it on from poll: connect_step).
 */
static int mailbox_resolve(struct vb_xport *x, const char *host_port,
			   xport_peer_t *peer)
{
	struct addrinfo *ai = NULL;
	struct vb_conn *c;
	int ret;

	ret = hp_addrinfo(host_port, 0, &ai);
	if (ret)
		return ret;
	if (ai->ai_addrlen > sizeof(c->dst)) {
		freeaddrinfo(ai);
		return -EAFNOSUPPORT;
	}
	cm_progress(x);
	for (unsigned i = 0; i < x->nconns; i++) {
		c = &x->conns[i];
		if (c->outbound &&
		    (c->state == VB_CONNECTING || c->state == VB_CONNECTED) &&
		    same_addr(&c->dst, ai->ai_addr)) {
			freeaddrinfo(ai);
			c->refs++;
			*peer = peer_id(x, i);
			return 0;
		}
	}
	c = conn_alloc(x, peer);
	if (!c) {
		freeaddrinfo(ai);
		return -EAGAIN;
	}
	memcpy(&c->dst, ai->ai_addr, ai->ai_addrlen);
	ret = rdma_create_id(x->ec, &c->id, c, RDMA_PS_TCP) ? -errno : 0;
	if (!ret && rdma_resolve_addr(c->id, NULL, ai->ai_addr, VB_RESOLVE_MS))
		ret = -errno;
	freeaddrinfo(ai);
	if (ret) {
		conn_free(x, c);
		return ret == -ENOMEM ? ret : -EHOSTUNREACH;
	}
	c->state = VB_CONNECTING;
	c->outbound = 1;
	c->refs = 1;
	c->pending_tail = &c->pending;
	c->deadline_ms = shmx__now_ms() + VB_CM_TIMEOUT_MS;
	x->nconnecting++;
	return 0;
}

/* Outbound connections that took too long: their sends fail. */
static void connect_timeouts(struct vb_xport *x)
{
	uint64_t now = shmx__now_ms();

	for (unsigned i = 0; i < x->nconns && x->nconnecting; i++)
		if (x->conns[i].state == VB_CONNECTING &&
		    now >= x->conns[i].deadline_ms)
			connect_failed(x, &x->conns[i], -ETIMEDOUT);
}

static int vb_resolve(struct xport *xp, const char *host_port,
		      xport_peer_t *peer)
{
	struct vb_xport *x = to_vb(xp);

	if (x->mailbox)
		return mailbox_resolve(x, host_port, peer);
	/* A client has exactly one connection: the node's, made in open. */
	for (unsigned i = 0; i < x->nconns; i++) {
		if (x->conns[i].state == VB_CONNECTED) {
			*peer = peer_id(x, i);
			return 0;
		}
	}
	return -EHOSTUNREACH;
}

/*
 * Client: a failed operation leaves the queue pair in the error state (a
 * key the node refused, or the node going away).  Then the old connection
 * is dropped (what was posted on it completes, flushed) and a new one is
 * made with a new token, which the caller sends the node (RESUME).
 */
static int vb_reconnect(struct xport *xp, xport_peer_t peer, xport_peer_t *out)
{
	struct vb_xport *x = to_vb(xp);
	int slot = peer_slot(x, peer);
	struct vb_conn *c = slot >= 0 ? &x->conns[slot] : NULL;
	struct ibv_qp_init_attr qia;
	struct ibv_qp_attr qa;
	int ret;

	if (!x->node_hp[0])
		return -EINVAL;
	cm_progress(x);
	if (c && c->state == VB_CONNECTED &&
	    !ibv_query_qp(c->id->qp, &qa, IBV_QP_STATE, &qia) &&
	    qa.qp_state == IBV_QPS_RTS) {
		*out = peer;
		return 0;
	}
	if (c && (c->state == VB_CONNECTED || c->state == VB_ACCEPTING))
		conn_gone(x, c);
	ret = shmx__random(x->my_token, sizeof(x->my_token));
	if (!ret)
		ret = client_connect(x, x->node_hp);
	if (!ret)
		ret = vb_resolve(xp, x->node_hp, out);
	if (ret)
		return ret;
	log_debug("verbs: reconnected to %s", x->node_hp);
	return 1;
}

static int vb_peer_insert(struct xport *xp, const void *addr, size_t len,
			  xport_peer_t *peer)
{
	return conn_by_token(to_vb(xp), addr, len, peer) ? 0 : -EINVAL;
}

static int vb_peer_remove(struct xport *xp, xport_peer_t peer)
{
	struct vb_xport *x = to_vb(xp);
	int slot = peer_slot(x, peer);
	struct vb_conn *c;

	if (slot < 0)
		return 0;
	c = &x->conns[slot];
	if (c->outbound) {
		/* Not handed out again: gone now, freed when idle. */
		if (c->refs > 1)
			c->refs--;
		else if (c->state == VB_CONNECTING)
			connect_failed(x, c, -ECONNRESET);
		else
			conn_gone(x, c);
		return 0;
	}
	/* DISCONNECTED frees the slot when rdma_cm reports it. */
	rdma_disconnect(c->id);
	return 0;
}

/* Same-host test: the peer's IP is loopback or one of ours. */
static int vb_addr_is_local(struct xport *xp, const void *addr, size_t len)
{
	struct vb_conn *c = conn_by_token(to_vb(xp), addr, len, NULL);
	struct sockaddr *peer, *self;

	if (!c)
		return -EINVAL;
	peer = rdma_get_peer_addr(c->id);
	self = rdma_get_local_addr(c->id);
	if (peer->sa_family == AF_INET) {
		const struct sockaddr_in *p = (const struct sockaddr_in *)peer;
		const struct sockaddr_in *s = (const struct sockaddr_in *)self;

		return (ntohl(p->sin_addr.s_addr) >> 24) == 127 ||
		       p->sin_addr.s_addr == s->sin_addr.s_addr;
	}
	if (peer->sa_family == AF_INET6) {
		const struct sockaddr_in6 *p =
			(const struct sockaddr_in6 *)peer;
		const struct sockaddr_in6 *s =
			(const struct sockaddr_in6 *)self;

		return IN6_IS_ADDR_LOOPBACK(&p->sin6_addr) ||
		       !memcmp(&p->sin6_addr, &s->sin6_addr,
			       sizeof(p->sin6_addr));
	}
	return 0;
}

static int vb_addr_str(struct xport *xp, const void *addr, size_t len,
		       char *buf, size_t buflen)
{
	struct vb_conn *c = conn_by_token(to_vb(xp), addr, len, NULL);
	char ip[INET6_ADDRSTRLEN] = "?";
	struct sockaddr *sa;

	if (!c)
		return -EINVAL;
	sa = rdma_get_peer_addr(c->id);
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)sa)->sin_addr, ip,
			  sizeof(ip));
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)sa)->sin6_addr, ip,
			  sizeof(ip));
	snprintf(buf, buflen, "%s:%u", ip, ntohs(rdma_get_dst_port(c->id)));
	return 0;
}

struct vb_mr {
	struct xport_mr base;
	struct ibv_mr *mr;
};

static int vb_mr_reg(struct xport *xp, void *addr, size_t len, unsigned access,
		     struct xport_mr **out)
{
	struct vb_xport *x = to_vb(xp);
	struct vb_mr *m;
	int acc = 0;

	if (!len)
		return -EINVAL;
	if (access & XPORT_REMOTE_READ)
		acc |= IBV_ACCESS_REMOTE_READ;
	if (access & XPORT_REMOTE_WRITE)
		acc |= IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_LOCAL_WRITE;
	if (access & XPORT_REMOTE_ATOMIC)
		acc |= IBV_ACCESS_REMOTE_ATOMIC | IBV_ACCESS_LOCAL_WRITE;
	if (access & XPORT_LOCAL)
		acc |= IBV_ACCESS_LOCAL_WRITE;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->mr = ibv_reg_mr(x->pd, addr, len, acc);
	if (!m->mr) {
		int err = errno;

		free(m);
		if (err == ENOMEM || err == EAGAIN) {
			struct rlimit rl = { 0 };
			char lim[32] = "unlimited";

			getrlimit(RLIMIT_MEMLOCK, &rl);
			if (rl.rlim_cur != RLIM_INFINITY)
				snprintf(lim, sizeof(lim), "%llu KiB",
					 (unsigned long long)rl.rlim_cur /
						 1024);
			log_warn("verbs: registering %zu bytes failed: not "
				 "enough locked memory (RLIMIT_MEMLOCK is %s; "
				 "raise ulimit -l, or LimitMEMLOCK= in a "
				 "systemd unit)",
				 len, lim);
		}
		return err ? -err : -ENOMEM;
	}
	m->base.addr = addr;
	m->base.len = len;
	m->base.access = access;
	m->base.key = m->mr->rkey;
	m->base.base = (uintptr_t)addr;
	m->base.desc = m->mr;
	*out = &m->base;
	return 0;
}

static void vb_mr_dereg(struct xport *xp, struct xport_mr *mr)
{
	struct vb_mr *m = (struct vb_mr *)mr;

	if (!m)
		return;
	ibv_dereg_mr(m->mr);
	free(m);
}

static struct ibv_qp *peer_qp(struct vb_xport *x, xport_peer_t peer)
{
	int slot = peer_slot(x, peer);

	if (slot < 0 || (x->conns[slot].state != VB_CONNECTED &&
			 x->conns[slot].state != VB_ACCEPTING))
		return NULL;
	return x->conns[slot].id->qp;
}

static struct vb_op *op_get(struct vb_xport *x, enum vb_op_kind kind,
			    void *user_ctx)
{
	struct vb_op *op = x->free_ops;

	if (!op)
		return NULL;
	x->free_ops = op->next;
	op->kind = kind;
	op->user_ctx = user_ctx;
	return op;
}

static void op_put(struct vb_xport *x, struct vb_op *op)
{
	op->next = x->free_ops;
	x->free_ops = op;
}

/*
 * Post @wr on @peer's QP with @op as its context, signalled; @op back on
 * failure.  With @op NULL the work request is unsignalled: nothing comes
 * back for it but a flush error (wr_id 0, ignored) if the QP fails.
 */
static int post(struct vb_xport *x, xport_peer_t peer, struct vb_op *op,
		struct ibv_send_wr *wr)
{
	struct ibv_qp *qp = peer_qp(x, peer);
	int slot = peer_slot(x, peer);
	struct ibv_send_wr *bad;
	int ret;

	if (slot >= 0 && x->conns[slot].state == VB_CONNECTING) {
		struct vb_conn *c = &x->conns[slot];

		/* A send waits for its connection (connect_step). */
		ret = -EAGAIN;
		if (op && op->kind == VB_SEND) {
			op->conn = (unsigned)slot;
			op->len = wr->sg_list->length;
			op->next = NULL;
			*c->pending_tail = op;
			c->pending_tail = &op->next;
			c->inflight++;
			return 0;
		}
	} else if (!qp) {
		ret = -ENOTCONN;
	} else if (!op) {
		wr->wr_id = 0;
		return -ibv_post_send(qp, wr, &bad);
	} else {
		wr->wr_id = (uintptr_t)op;
		wr->send_flags |= IBV_SEND_SIGNALED;
		op->conn = (unsigned)peer_slot(x, peer);
		ret = -ibv_post_send(qp, wr, &bad);
		if (!ret)
			x->conns[op->conn].inflight++;
	}
	if (ret && op) {
		if (op->kind == VB_SEND) {
			op->next = x->free_tx;
			x->free_tx = op;
		} else {
			op_put(x, op);
		}
	}
	if (ret == -ENOMEM)
		ret = -EAGAIN; /* send queue full */
	return ret;
}

static int vb_send(struct xport *xp, xport_peer_t peer, const void *buf,
		   size_t len, void *op_ctx)
{
	struct vb_xport *x = to_vb(xp);
	struct vb_op *op = x->free_tx;
	struct ibv_sge sge;
	struct ibv_send_wr wr = { .sg_list = &sge,
				  .num_sge = 1,
				  .opcode = IBV_WR_SEND };
	int slot;

	if (len > XPORT_MSG_MAX)
		return -EMSGSIZE;
	if (!op)
		return -EAGAIN;
	x->free_tx = op->next;
	op->kind = VB_SEND;
	op->user_ctx = op_ctx;
	memcpy(op->msg, buf, len);
	sge = (struct ibv_sge){ .addr = (uintptr_t)op->msg,
				.length = (uint32_t)len,
				.lkey = x->tx_mr->lkey };
	if (len <= VB_INLINE)
		wr.send_flags = IBV_SEND_INLINE;
	/*
	 * Selective signalling: an inline send nobody waits for needs no
	 * completion (the data went with the post), but one in every
	 * VB_SEND_DEPTH / 2 is signalled so its completion frees the send
	 * queue slots of the unsignalled ones before it.
	 */
	slot = peer_slot(x, peer);
	if ((wr.send_flags & IBV_SEND_INLINE) && !op_ctx && slot >= 0 &&
	    x->conns[slot].state != VB_CONNECTING &&
	    x->conns[slot].unsignaled < VB_SEND_DEPTH / 2) {
		int ret = post(x, peer, NULL, &wr);

		op->next = x->free_tx;
		x->free_tx = op;
		if (!ret)
			x->conns[slot].unsignaled++;
		return ret == -ENOMEM ? -EAGAIN : ret;
	}
	if (slot >= 0)
		x->conns[slot].unsignaled = 0;
	return post(x, peer, op, &wr);
}

static int rma(struct xport *xp, xport_peer_t peer, enum ibv_wr_opcode opc,
	       void *buf, size_t len, void *desc, uint64_t raddr, uint64_t rkey,
	       void *op_ctx)
{
	struct vb_xport *x = to_vb(xp);
	struct vb_op *op =
		op_get(x, opc == IBV_WR_RDMA_READ ? VB_READ : VB_WRITE, op_ctx);
	struct ibv_sge sge = { .addr = (uintptr_t)buf,
			       .length = (uint32_t)len,
			       .lkey = desc ? ((struct ibv_mr *)desc)->lkey
					    : 0 };
	struct ibv_send_wr wr = { .sg_list = &sge,
				  .num_sge = 1,
				  .opcode = opc };

	if (!op)
		return -EAGAIN;
	if (!desc || len > VB_MAX_RMA) {
		op_put(x, op);
		return -EINVAL;
	}
	wr.wr.rdma.remote_addr = raddr;
	wr.wr.rdma.rkey = (uint32_t)rkey;
	return post(x, peer, op, &wr);
}

static int vb_read(struct xport *xp, xport_peer_t peer, void *buf, size_t len,
		   void *desc, uint64_t raddr, uint64_t rkey, void *op_ctx)
{
	return rma(xp, peer, IBV_WR_RDMA_READ, buf, len, desc, raddr, rkey,
		   op_ctx);
}

static int vb_write(struct xport *xp, xport_peer_t peer, const void *buf,
		    size_t len, void *desc, uint64_t raddr, uint64_t rkey,
		    void *op_ctx)
{
	return rma(xp, peer, IBV_WR_RDMA_WRITE, (void *)buf, len, desc, raddr,
		   rkey, op_ctx);
}

static int atomic(struct xport *xp, xport_peer_t peer, enum ibv_wr_opcode opc,
		  uint64_t raddr, uint64_t rkey, uint64_t a, uint64_t b,
		  uint64_t *result, void *desc, void *op_ctx)
{
	struct vb_xport *x = to_vb(xp);
	struct vb_op *op = op_get(x, VB_ATOMIC, op_ctx);
	struct ibv_sge sge = { .addr = (uintptr_t)result,
			       .length = 8,
			       .lkey = desc ? ((struct ibv_mr *)desc)->lkey
					    : 0 };
	struct ibv_send_wr wr = { .sg_list = &sge,
				  .num_sge = 1,
				  .opcode = opc };

	if (!op)
		return -EAGAIN;
	if (!desc || (raddr & 7)) {
		op_put(x, op);
		return -EINVAL;
	}
	wr.wr.atomic.remote_addr = raddr;
	wr.wr.atomic.rkey = (uint32_t)rkey;
	wr.wr.atomic.compare_add = a;
	wr.wr.atomic.swap = b;
	return post(x, peer, op, &wr);
}

static int vb_cas64(struct xport *xp, xport_peer_t peer, uint64_t raddr,
		    uint64_t rkey, uint64_t compare, uint64_t swap,
		    uint64_t *result, void *result_desc, void *op_ctx)
{
	return atomic(xp, peer, IBV_WR_ATOMIC_CMP_AND_SWP, raddr, rkey, compare,
		      swap, result, result_desc, op_ctx);
}

static int vb_fadd64(struct xport *xp, xport_peer_t peer, uint64_t raddr,
		     uint64_t rkey, uint64_t add, uint64_t *result,
		     void *result_desc, void *op_ctx)
{
	return atomic(xp, peer, IBV_WR_ATOMIC_FETCH_AND_ADD, raddr, rkey, add,
		      0, result, result_desc, op_ctx);
}

/* The connection a receive arrived on. */
static xport_peer_t peer_of_qp(struct vb_xport *x, uint32_t qp_num)
{
	for (unsigned i = 0; i < x->nconns; i++)
		if (x->conns[i].state != VB_FREE &&
		    x->conns[i].qp_num == qp_num)
			return peer_id(x, i);
	return XPORT_PEER_NONE;
}

/* One work completion -> at most one caller completion.  1 if @c filled. */
static int complete(struct vb_xport *x, const struct ibv_wc *wc,
		    struct xport_completion *c)
{
	struct vb_op *op = (struct vb_op *)(uintptr_t)wc->wr_id;
	int status = wc_err(wc->status);

	if (!op) /* an unsignalled send, flushed */
		return 0;

	memset(c, 0, sizeof(*c));
	c->peer = XPORT_PEER_NONE;
	c->status = status;
	c->op_ctx = op->user_ctx;
	if (op->kind != VB_RECV && op->conn < x->nconns) {
		struct vb_conn *conn = &x->conns[op->conn];

		if (conn->inflight && !--conn->inflight &&
		    conn->state == VB_GONE)
			conn_free(x, conn);
	}
	switch (op->kind) {
	case VB_RECV:
		if (status) {
			post_recv(x, op);
			return 0;
		}
		c->op = XPORT_OP_RECV;
		c->op_ctx = NULL;
		c->buf = op->msg;
		c->len = wc->byte_len;
		c->peer = peer_of_qp(x, wc->qp_num);
		return 1;
	case VB_SEND:
		op->next = x->free_tx;
		x->free_tx = op;
		c->op = XPORT_OP_SEND;
		return op->user_ctx != NULL;
	case VB_READ:
		c->op = XPORT_OP_READ;
		break;
	case VB_WRITE:
		c->op = XPORT_OP_WRITE;
		break;
	case VB_ATOMIC:
		c->op = XPORT_OP_ATOMIC;
		break;
	}
	op_put(x, op);
	return 1;
}

/* How often poll looks for connection events. */
#define VB_CM_EVERY_NS 200000ull

static int vb_poll(struct xport *xp, struct xport_completion *c, int max)
{
	struct vb_xport *x = to_vb(xp);
	struct ibv_wc wc[16];
	uint64_t now = shmx__now_ns();
	int n = 0;

	if (x->cm_due || now >= x->cm_next) {
		x->cm_due = 0;
		x->cm_next = now + VB_CM_EVERY_NS;
		cm_progress(x);
		if (x->nconnecting)
			connect_timeouts(x);
	}
	while (x->failed && n < max) {
		struct vb_op *op = x->failed;

		x->failed = op->next;
		memset(&c[n], 0, sizeof(c[n]));
		c[n].op = XPORT_OP_SEND;
		c[n].status = op->status;
		c[n].op_ctx = op->user_ctx;
		c[n].peer = XPORT_PEER_NONE;
		op->next = x->free_tx;
		x->free_tx = op;
		n += op->user_ctx != NULL;
	}
	while (x->nstash && n < max) {
		n += complete(x, &x->stash[0], &c[n]);
		memmove(x->stash, x->stash + 1,
			(size_t)--x->nstash * sizeof(x->stash[0]));
	}
	while (n < max) {
		int want = max - n < 16 ? max - n : 16;
		int got = ibv_poll_cq(x->cq, want, wc);

		if (got < 0)
			return -EIO;
		for (int i = 0; i < got; i++)
			n += complete(x, &wc[i], &c[n]);
		if (got < want)
			break;
	}
	return n;
}

static void vb_recv_done(struct xport *xp, void *buf)
{
	struct vb_xport *x = to_vb(xp);
	size_t i = (size_t)((uint8_t *)buf - x->rx_bufs) / XPORT_MSG_MAX;

	post_recv(x, &x->ops[VB_MAX_OPS + i]);
}

/*
 * The completion channel is non-blocking: an event that woke a waiter is
 * read here (none there: EAGAIN, also when another thread woken by the
 * same event read it first), acked, and the CQ armed again.
 */
static int vb_wait_arm(struct xport *xp, int *fds, int *nfds)
{
	struct vb_xport *x = to_vb(xp);
	struct ibv_cq *cq;
	void *cq_ctx;

	*nfds = 0;
	if (x->armed && !ibv_get_cq_event(x->cc, &cq, &cq_ctx)) {
		ibv_ack_cq_events(cq, 1);
		x->armed = 0;
	}
	if (!x->armed) {
		if (ibv_req_notify_cq(x->cq, 0))
			return -EIO;
		x->armed = 1;
	}
	/* Completions that came before the arming are not signalled. */
	if (x->nstash < VB_STASH) {
		int got = ibv_poll_cq(x->cq, VB_STASH - x->nstash,
				      x->stash + x->nstash);

		if (got > 0)
			x->nstash += got;
	}
	if (x->nstash || x->failed)
		return 1;
	/* Whatever wakes the caller, the next poll reads rdma_cm's events
	 * (one system call after a sleep). */
	x->cm_due = 1;
	fds[0] = x->cc->fd;
	fds[1] = x->ec->fd;
	*nfds = 2;
	return 0;
}

static int vb_listen_addr(struct xport *xp, char *buf, size_t len)
{
	struct vb_xport *x = to_vb(xp);

	if (!x->listen_id)
		return -EINVAL;
	return shmx__xport_sockaddr_str(rdma_get_local_addr(x->listen_id), 1,
					buf, len);
}

/* Client: the source address of the connection to the node. */
static int vb_local_host(struct xport *xp, char *buf, size_t len)
{
	struct vb_xport *x = to_vb(xp);

	if (!x->node_hp[0])
		return -EINVAL;
	cm_progress(x);
	for (unsigned i = 0; i < x->nconns; i++)
		if (x->conns[i].state == VB_CONNECTED)
			return shmx__xport_sockaddr_str(
				rdma_get_local_addr(x->conns[i].id), 0, buf,
				len);
	return -ENOTCONN;
}

const struct xport_ops shmx__xport_verbs_ops = {
	.name = "verbs",
	.open = vb_open,
	.close = vb_close,
	.shutdown = vb_shutdown,
	.getname = vb_getname,
	.resolve = vb_resolve,
	.peer_insert = vb_peer_insert,
	.peer_remove = vb_peer_remove,
	.reconnect = vb_reconnect,
	.addr_is_local = vb_addr_is_local,
	.addr_str = vb_addr_str,
	.mr_reg = vb_mr_reg,
	.mr_dereg = vb_mr_dereg,
	.send = vb_send,
	.read = vb_read,
	.write = vb_write,
	.cas64 = vb_cas64,
	.fadd64 = vb_fadd64,
	.poll = vb_poll,
	.recv_done = vb_recv_done,
	.wait = shmx__xport_wait,
	.wait_arm = vb_wait_arm,
	.listen_addr = vb_listen_addr,
	.local_host = vb_local_host,
};
