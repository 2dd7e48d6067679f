/* SPDX-License-Identifier: MIT */
/*
 * xport.h - the internal transport layer shared by shmnode and libshmext.
 *
 * One ops table, several backends: "ofi" (libfabric reliable-datagram
 * endpoints) and "verbs" (rdma-core RC queue pairs, when built).  A backend fills
 * a const struct xport_ops; slots it cannot serve return -EOPNOTSUPP.  Only
 * files in common/xport/ include libfabric or rdma-core headers.
 *
 * Model
 *  - One struct xport is one endpoint with one completion queue.  It is NOT
 *    thread-safe: the owner serialises every call (libshmext holds its
 *    context lock, shmnode is single-threaded).
 *  - A peer (xport_peer_t) is another endpoint we talk to.  A client gets
 *    the node's peer from xport_resolve(); the node gets a client's peer
 *    from xport_peer_insert() with the address blob the client obtained from
 *    xport_getname() and sent in its hello message.  The blob is opaque and
 *    backend-specific (ofi: the endpoint's address; verbs: a token the
 *    client sent when it connected).
 *  - Receives: the backend keeps XPORT_RX_DEPTH buffers of XPORT_MSG_MAX
 *    bytes posted.  A receive completion hands one out (c.buf, c.len); the
 *    owner gives it back with xport_recv_done() once it has decoded it.
 *  - Sends copy the message into a backend buffer, so the caller's buffer
 *    is free when xport_send() returns.
 *  - RMA and atomics are one-sided.  A write completes only when the data
 *    is visible in the target's memory (delivery complete).
 *  - Every posting call returns -EAGAIN when the queue is full: poll, then
 *    retry.  Completions carry the op_ctx given when posting (NULL op_ctx:
 *    no completion is reported for that send).
 *  - Every call returns 0 (or a count) or a negative errno.
 *
 * Mailbox endpoints (compute node to compute node messages)
 *  - xport_open() with attr->bind and passive = 0 gives a mailbox: it
 *    accepts messages from other mailboxes on "HOST:PORT" (PORT 0: an
 *    ephemeral port; xport_listen_addr() tells the one bound, as "IP:PORT"
 *    or "[IPV6]:PORT") and also sends to them: xport_resolve() on a mailbox
 *    gives the peer of another mailbox's listen address (ofi: an address
 *    vector entry; verbs: an outbound RC connection through rdma_cm on the
 *    listener's PD, CQ and SRQ, connected in the background: sends posted
 *    before it is established wait for it).  Resolving an address already
 *    resolved returns the same peer, counted: each resolve is undone by
 *    one xport_peer_remove(), the last one drops the peer.  A peer id is
 *    not used after its last peer_remove.
 *  - Receives from every connection complete on the one CQ; c.peer is the
 *    sender as the backend knows it (verbs: the inbound connection, which
 *    also takes sends while it lives; ofi: XPORT_PEER_NONE).
 *  - A send to a mailbox that is gone (closed, or never there) completes
 *    with an error status or fails to post, within XPORT_GONE_MS; it never
 *    hangs.  ofi: an error completion (-ECONNRESET) once a connection it
 *    had breaks; to a listener never reached, xport_send() returns -EAGAIN
 *    for XPORT_GONE_MS / 2, then -EHOSTUNREACH.  verbs: sends posted while
 *    connecting complete with -ECONNREFUSED / -EHOSTUNREACH, or -ETIMEDOUT
 *    when not connected within 5 s; on a connection that broke, in-flight
 *    ones with -ECONNRESET and new posts return -ENOTCONN.
 *  - xport_local_host() on an ordinary client (attr->connect): the numeric
 *    IP this endpoint uses toward its node ("[IPV6]" bracketed), so that
 *    "<local_host>:0" is a bind address for the mailbox.
 *
 * Waiting
 *  - xport_wait() sleeps inside the backend (with the owner's lock held).
 *  - The split wait lets the owner sleep without its lock: under the lock,
 *    xport_wait_arm() returns 1 when completions may be ready (poll now,
 *    do not sleep) or 0 when armed, with up to XPORT_WAIT_FDS descriptors
 *    the caller may poll() for POLLIN after dropping the lock; then it takes
 *    the lock again and calls xport_poll().  No descriptors (nfds = 0): the
 *    backend has no wait object, nap briefly instead.  A wake-up may be
 *    spurious, and several threads may be woken by one event; nothing read
 *    or acked outside the lock, nothing blocks.
 */
#ifndef SHMX_XPORT_H
#define SHMX_XPORT_H

#include <stddef.h>
#include <stdint.h>

/* Largest control message, header included. */
#define XPORT_MSG_MAX 4096
/* Receive buffers each endpoint keeps posted. */
#define XPORT_RX_DEPTH 64
/* Longest endpoint address blob (xport_getname). */
#define XPORT_ADDR_MAX 128
/* Most descriptors xport_wait_arm() hands out. */
#define XPORT_WAIT_FDS 2
/* A send to a mailbox that is gone completes (with an error) within this.
 * Generous: between emulated VMs making a connection over verbs;ofi_rxm
 * took longer than 5 s (XPORT_GONE_MS / 2, when it was 10 s). */
#define XPORT_GONE_MS 30000

typedef uint64_t xport_peer_t;
#define XPORT_PEER_NONE ((xport_peer_t)UINT64_MAX)

/* Access rights of a registration, as seen by remote peers. */
enum xport_access {
	XPORT_REMOTE_READ = 1u << 0,
	XPORT_REMOTE_WRITE = 1u << 1,
	XPORT_REMOTE_ATOMIC =
		1u << 2, /* cas64/fadd64 (implies read+write of the word) */
	XPORT_LOCAL = 1u << 3, /* local buffer for RMA/atomic results */
};

struct xport_attr {
	const char *provider; /* ofi: libfabric provider, NULL = default */
	const char *bind;     /* "HOST:PORT" to listen on (node, mailbox);
			       * port 0: an ephemeral one */
	const char *connect;  /* "HOST:PORT" a client will talk to: picks the
			       * source address that reaches it */
	int passive;	      /* 1 for shmnode: wants remote access to its MRs;
		      * 0 with bind: a mailbox, which also connects out */
};

/* A memory registration. */
struct xport_mr {
	void *addr; /* local address of byte 0 */
	size_t len;
	unsigned access;
	uint64_t key;  /* remote key, sent to peers */
	uint64_t base; /* remote address of byte 0: addr when the provider
			 * addresses by virtual address, else 0 */
	void *desc;    /* local descriptor for posting with this buffer */
};

enum xport_op {
	XPORT_OP_SEND = 1,
	XPORT_OP_RECV,
	XPORT_OP_READ,
	XPORT_OP_WRITE,
	XPORT_OP_ATOMIC,
};

struct xport_completion {
	enum xport_op op;
	int status;	   /* 0 or -errno (-ECONNRESET, -EACCES, -EIO, ...) */
	void *op_ctx;	   /* as posted; NULL for receives */
	void *buf;	   /* receive: the message */
	size_t len;	   /* receive: its length */
	xport_peer_t peer; /* receive: sender if known, else XPORT_PEER_NONE */
};

/* What a backend can do; filled in by open. */
struct xport_caps {
	char provider[64]; /* the provider actually chosen */
	size_t max_rma;	   /* largest single read/write */
	int local_mr;	   /* 1: local buffers must be registered (desc) */
	unsigned tx_depth; /* outstanding operations the endpoint accepts */
};

struct xport;

struct xport_ops {
	const char *name;
	int (*open)(const struct xport_attr *attr, struct xport **xp);
	void (*close)(struct xport *xp);
	/*
	 * Stop all traffic before close: after it returns, no operation in
	 * flight touches memory any more (its buffers may be freed).  Only
	 * close() may follow.
	 */
	void (*shutdown)(struct xport *xp);
	/* This endpoint's address, for a peer to xport_peer_insert(). */
	int (*getname)(struct xport *xp, void *addr, size_t *len);
	/* Peer for "HOST:PORT". */
	int (*resolve)(struct xport *xp, const char *host_port,
		       xport_peer_t *peer);
	int (*peer_insert)(struct xport *xp, const void *addr, size_t len,
			   xport_peer_t *peer);
	int (*peer_remove)(struct xport *xp, xport_peer_t peer);
	/*
	 * Client: an operation to the node @peer failed, which may have
	 * broken the connection (a key the node refused ends it on verbs and
	 * on libfabric's tcp provider).  Make sure there is a working one:
	 * *@out is the node's peer from now on (@peer itself when nothing
	 * had to change).  Returns 1 when a new connection was made (the
	 * endpoint's name, xport_getname, changed: the node must be told,
	 * RESUME), 0 when the old one serves, or -errno.  What was in flight
	 * on a broken connection completes with errors.
	 */
	int (*reconnect)(struct xport *xp, xport_peer_t peer,
			 xport_peer_t *out);
	/* Is @addr (from getname) a loopback/same-host address? 1, 0 or -errno. */
	int (*addr_is_local)(struct xport *xp, const void *addr, size_t len);
	/* Printable form of an address blob. */
	int (*addr_str)(struct xport *xp, const void *addr, size_t len,
			char *buf, size_t buflen);

	int (*mr_reg)(struct xport *xp, void *addr, size_t len, unsigned access,
		      struct xport_mr **mr);
	void (*mr_dereg)(struct xport *xp, struct xport_mr *mr);

	int (*send)(struct xport *xp, xport_peer_t peer, const void *buf,
		    size_t len, void *op_ctx);
	int (*read)(struct xport *xp, xport_peer_t peer, void *buf, size_t len,
		    void *desc, uint64_t raddr, uint64_t rkey, void *op_ctx);
	int (*write)(struct xport *xp, xport_peer_t peer, const void *buf,
		     size_t len, void *desc, uint64_t raddr, uint64_t rkey,
		     void *op_ctx);
	/* 8-byte aligned raddr; *result receives the previous value. */
	int (*cas64)(struct xport *xp, xport_peer_t peer, uint64_t raddr,
		     uint64_t rkey, uint64_t compare, uint64_t swap,
		     uint64_t *result, void *result_desc, void *op_ctx);
	int (*fadd64)(struct xport *xp, xport_peer_t peer, uint64_t raddr,
		      uint64_t rkey, uint64_t add, uint64_t *result,
		      void *result_desc, void *op_ctx);

	/* Drive progress and return up to @max completions (0 if none). */
	int (*poll)(struct xport *xp, struct xport_completion *c, int max);
	/* Hand a receive buffer back to be posted again. */
	void (*recv_done)(struct xport *xp, void *buf);
	/* Sleep until a completion may be ready, at most @timeout_ms. */
	int (*wait)(struct xport *xp, int timeout_ms);
	/*
	 * Split wait, under the owner's lock: 1 when completions may be ready
	 * (poll now), 0 when armed: fds[0..*nfds-1] (at most XPORT_WAIT_FDS)
	 * may be poll()ed for POLLIN without the lock; *nfds = 0: no wait
	 * object, nap.  See "Waiting" above.
	 */
	int (*wait_arm)(struct xport *xp, int *fds, int *nfds);
	/* Bound (node, mailbox): the address listened on, "IP:PORT". */
	int (*listen_addr)(struct xport *xp, char *buf, size_t len);
	/* Client (attr->connect): the numeric IP toward the node. */
	int (*local_host)(struct xport *xp, char *buf, size_t len);
};

/* Every backend's generic part starts with this; backends embed it first. */
struct xport {
	const struct xport_ops *ops;
	struct xport_caps caps;
};

/* The backends built into this binary. */
extern const struct xport_ops shmx__xport_ofi_ops;
#ifdef SHMX_HAVE_VERBS
extern const struct xport_ops shmx__xport_verbs_ops;
#endif

/* Backend by name ("ofi"); NULL if unknown or not built. */
const struct xport_ops *shmx__xport_find(const char *name);
/* 1 if @name is "auto" or a backend built in. */
int shmx__xport_name_ok(const char *name);

/*
 * Open the transport @name ("ofi", "verbs"), or with "auto" (or NULL or "")
 * verbs when an RDMA device is active and verbs can serve @attr's address,
 * else ofi.  @why receives the reason for the choice, in words.  Returns 0
 * or the backend's -errno; -ENODEV for a backend not built in.
 */
int shmx__xport_open(const char *name, const struct xport_attr *attr,
		     struct xport **xp, char *why, size_t why_len);

/*
 * Shared by the backends.  wait in terms of wait_arm: poll() the armed
 * descriptors up to @timeout_ms, or nap.  "HOST:PORT" -> parts, as
 * shmx__parse_host_port, and with @any_port a port 0 too.  A socket
 * address as "IP:PORT" ("[IPV6]:PORT"), or with @with_port 0 the IP alone
 * ("[IPV6]").  0 or -errno.
 */
int shmx__xport_wait(struct xport *xp, int timeout_ms);
int shmx__xport_host_port(const char *hp, int any_port, char *host,
			  size_t hostlen, uint16_t *port);
struct sockaddr;
int shmx__xport_sockaddr_str(const struct sockaddr *sa, int with_port,
			     char *buf, size_t len);

#ifdef SHMX_HAVE_VERBS
/* 1 and its name if some RDMA device has an active port, 0 if none. */
int shmx__verbs_active_device(char *name, size_t len);
#endif

/* Thin wrappers so callers read naturally: xport_send(xp, ...). */
static inline int xport_getname(struct xport *xp, void *a, size_t *l)
{
	return xp->ops->getname(xp, a, l);
}
static inline int xport_resolve(struct xport *xp, const char *hp,
				xport_peer_t *p)
{
	return xp->ops->resolve(xp, hp, p);
}
static inline int xport_peer_insert(struct xport *xp, const void *a, size_t l,
				    xport_peer_t *p)
{
	return xp->ops->peer_insert(xp, a, l, p);
}
static inline int xport_reconnect(struct xport *xp, xport_peer_t p,
				  xport_peer_t *o)
{
	return xp->ops->reconnect(xp, p, o);
}

static inline int xport_peer_remove(struct xport *xp, xport_peer_t p)
{
	return xp->ops->peer_remove(xp, p);
}
static inline int xport_mr_reg(struct xport *xp, void *addr, size_t len,
			       unsigned access, struct xport_mr **mr)
{
	return xp->ops->mr_reg(xp, addr, len, access, mr);
}
static inline void xport_mr_dereg(struct xport *xp, struct xport_mr *mr)
{
	xp->ops->mr_dereg(xp, mr);
}
static inline int xport_send(struct xport *xp, xport_peer_t p, const void *b,
			     size_t l, void *ctx)
{
	return xp->ops->send(xp, p, b, l, ctx);
}
static inline int xport_read(struct xport *xp, xport_peer_t p, void *b,
			     size_t l, void *desc, uint64_t ra, uint64_t rk,
			     void *ctx)
{
	return xp->ops->read(xp, p, b, l, desc, ra, rk, ctx);
}
static inline int xport_write(struct xport *xp, xport_peer_t p, const void *b,
			      size_t l, void *desc, uint64_t ra, uint64_t rk,
			      void *ctx)
{
	return xp->ops->write(xp, p, b, l, desc, ra, rk, ctx);
}
static inline int xport_cas64(struct xport *xp, xport_peer_t p, uint64_t ra,
			      uint64_t rk, uint64_t cmp, uint64_t swp,
			      uint64_t *res, void *desc, void *ctx)
{
	return xp->ops->cas64(xp, p, ra, rk, cmp, swp, res, desc, ctx);
}
static inline int xport_fadd64(struct xport *xp, xport_peer_t p, uint64_t ra,
			       uint64_t rk, uint64_t add, uint64_t *res,
			       void *desc, void *ctx)
{
	return xp->ops->fadd64(xp, p, ra, rk, add, res, desc, ctx);
}
static inline int xport_poll(struct xport *xp, struct xport_completion *c,
			     int max)
{
	return xp->ops->poll(xp, c, max);
}
static inline void xport_recv_done(struct xport *xp, void *buf)
{
	xp->ops->recv_done(xp, buf);
}
static inline int xport_wait(struct xport *xp, int timeout_ms)
{
	return xp->ops->wait(xp, timeout_ms);
}
static inline int xport_wait_arm(struct xport *xp, int *fds, int *nfds)
{
	return xp->ops->wait_arm(xp, fds, nfds);
}
static inline int xport_listen_addr(struct xport *xp, char *buf, size_t len)
{
	return xp->ops->listen_addr(xp, buf, len);
}
static inline int xport_local_host(struct xport *xp, char *buf, size_t len)
{
	return xp->ops->local_host(xp, buf, len);
}

#endif /* SHMX_XPORT_H */
