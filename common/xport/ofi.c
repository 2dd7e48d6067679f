/* SPDX-License-Identifier: MIT */
/*
 * ofi.c - the "ofi" transport backend: libfabric reliable-datagram
 * endpoints (FI_EP_RDM).  One fabric, domain, address vector, completion
 * queue and endpoint per struct xport.  Default provider tcp;ofi_rxm; also
 * sockets, shm, verbs;ofi_rxm and whatever fi_info lists.
 *
 * Every operation posted to libfabric carries one of our own contexts
 * (struct ofi_op) so completions can be told apart: receives are reposted
 * by recv_done, send buffers are recycled here, and only the caller's RMA,
 * atomics and sends with an op_ctx surface from poll.
 *
 * Writes complete at the target (delivery complete) when the provider
 * offers FI_DELIVERY_COMPLETE; otherwise each write is followed by a
 * one-byte read of the same target (read-after-write is ordered on these
 * endpoints) and reported complete when that read is.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <rdma/fabric.h>
#include <rdma/fi_atomic.h>
#include <rdma/fi_cm.h>
#include <rdma/fi_domain.h>
#include <rdma/fi_endpoint.h>
#include <rdma/fi_errno.h>
#include <rdma/fi_rma.h>

#include "util/clock.h"
#include "util/log.h"
#include "util/parse.h"
#include "xport/xport.h"

#define OFI_API_VERSION FI_VERSION(1, 9)
#define OFI_DEFAULT_PROVIDER "tcp;ofi_rxm"
#define OFI_TX_MSG_BUFS 64
#define OFI_MAX_OPS 1024
#define OFI_MAX_RMA (1ull << 30)
#define OFI_STALLS 32
#define OFI_STALL_MS (XPORT_GONE_MS / 2)

enum ofi_op_kind {
	OFI_OP_RECV,
	OFI_OP_SEND,
	OFI_OP_READ,
	OFI_OP_WRITE,
	OFI_OP_WRITE_FENCE, /* the read that completes a write */
	OFI_OP_ATOMIC,
};

/* Our context for everything posted; op_context of every libfabric call. */
struct ofi_op {
	struct ofi_op *next; /* free list */
	enum ofi_op_kind kind;
	void *user_ctx;
	uint64_t operand[2]; /* atomic operands (compare, swap / add) */
	uint8_t *msg;	     /* send or receive buffer */
	/* Write fence: where to read one byte back from. */
	fi_addr_t peer;
	uint64_t raddr, rkey;
	uint8_t fence_byte;
};

struct ofi_xport {
	struct xport base;
	struct fi_info *info;
	struct fid_fabric *fabric;
	struct fid_domain *domain;
	struct fid_av *av;
	struct fid_cq *cq;
	struct fid_ep *ep;
	int wait_fd; /* CQ wait fd, or -1 */
	int bound;   /* opened with attr->bind (node, mailbox) */
	int mailbox; /* bound, not passive: sends to other mailboxes */
	/* A mailbox's peers whose sends libfabric refuses (-FI_EAGAIN), and
	 * since when: rxm retries a refused connection for ever. */
	struct ofi_stall {
		fi_addr_t peer;
		uint64_t since_ms; /* 0: entry free */
	} stalls[OFI_STALLS];
	char node_host[128]; /* client: the node's host, for local_host */
	uint16_t node_port;
	int delivery_complete; /* writes complete at the target */
	uint64_t mr_mode;
	uint64_t next_key;

	/* Contexts and buffers, registered when the provider needs it. */
	struct ofi_op *ops;
	struct ofi_op *free_ops;
	struct fid_mr *ops_mr;
	unsigned nops;
	uint8_t *rx_bufs;
	struct fid_mr *rx_mr;
	uint8_t *tx_bufs;
	struct fid_mr *tx_mr;
	struct ofi_op *free_tx; /* ops that own a tx buffer */
};

#define to_ofi(xp) ((struct ofi_xport *)(xp))

/* The stall entry of @peer, or NULL. */
static struct ofi_stall *stall_find(struct ofi_xport *x, fi_addr_t peer)
{
	for (unsigned i = 0; i < OFI_STALLS; i++)
		if (x->stalls[i].since_ms && x->stalls[i].peer == peer)
			return &x->stalls[i];
	return NULL;
}

/* libfabric's -FI_E* codes are errno values, except its own range. */
static int ofi_err(int ret)
{
	if (ret > 0)
		ret = -ret;
	switch (-ret) {
	case FI_EKEYREJECTED:
	case FI_EACCES:
		return -EACCES;
	case FI_ECONNREFUSED:
	case FI_ECANCELED: /* what was queued on a connection that closed */
	case FI_ECONNRESET:
	case FI_ECONNABORTED:
	case FI_ENOTCONN:
	case FI_EHOSTUNREACH:
	case FI_ESHUTDOWN:
		return -ECONNRESET;
	case FI_ETIMEDOUT:
		return -ETIMEDOUT;
	case FI_ENODATA:
		return -ENODEV;
	default:
		return ret > -256 ? ret : -EIO;
	}
}

/*
 * The errno of a failed completion.  The verbs provider reports a work
 * completion's status as prov_errno under a plain FI_EIO: a key the target
 * refused (IBV_WC_REM_ACCESS_ERR, 10) is -EACCES, and what its queue pair
 * flushed afterwards (IBV_WC_WR_FLUSH_ERR, 5) is -ECONNRESET, as from the
 * verbs transport.
 */
static int cq_err(const struct ofi_xport *x, const struct fi_cq_err_entry *err)
{
	if (err->err == FI_EIO && strstr(x->base.caps.provider, "verbs")) {
		if (err->prov_errno == 10)
			return -EACCES;
		if (err->prov_errno == 5)
			return -ECONNRESET;
	}
	return ofi_err(err->err ? err->err : FI_EIO);
}

static void *op_desc(struct ofi_xport *x, struct fid_mr *mr)
{
	return (x->mr_mode & FI_MR_LOCAL) && mr ? fi_mr_desc(mr) : NULL;
}

static struct ofi_op *op_get(struct ofi_xport *x, enum ofi_op_kind kind,
			     void *user_ctx)
{
	struct ofi_op *op = x->free_ops;

	if (!op)
		return NULL;
	x->free_ops = op->next;
	op->next = NULL;
	op->kind = kind;
	op->user_ctx = user_ctx;
	return op;
}

static void op_put(struct ofi_xport *x, struct ofi_op *op)
{
	op->next = x->free_ops;
	x->free_ops = op;
}

/* Register an internal buffer for local use when the provider needs it. */
static int local_reg(struct ofi_xport *x, void *buf, size_t len,
		     struct fid_mr **mr)
{
	int ret;

	*mr = NULL;
	if (!(x->mr_mode & FI_MR_LOCAL))
		return 0;
	ret = fi_mr_reg(x->domain, buf, len,
			FI_SEND | FI_RECV | FI_READ | FI_WRITE, 0,
			x->next_key++, 0, mr, NULL);
	return ret ? ofi_err(ret) : 0;
}

/*
 * The first key this process asks for (without FI_MR_PROV_KEY the keys
 * are ours): random, below the top of @size bytes' keys by 2^32, so that
 * a key of an earlier shmnode process, presented by a client that has
 * not heard of the restart yet (tcp;ofi_rxm connects again by itself on
 * the next operation), names none of this one's registrations.  With keys
 * of 4 bytes or less there is not room for that: from 1.
 */
static uint64_t first_key(size_t size)
{
	uint64_t r;

	if (size <= 4 || getrandom(&r, sizeof(r), 0) != sizeof(r))
		return 1;
	if (size < 8)
		r &= ((uint64_t)1 << (8 * size)) - 1;
	r &= ~(uint64_t)0xffffffff;
	return r ? r - ((uint64_t)1 << 32) + 1 : 1;
}

static int post_recv(struct ofi_xport *x, struct ofi_op *op)
{
	int ret;

	ret = (int)fi_recv(x->ep, op->msg, XPORT_MSG_MAX, op_desc(x, x->rx_mr),
			   FI_ADDR_UNSPEC, op);
	if (ret)
		log_warn("ofi: cannot post a receive: %s", fi_strerror(-ret));
	return ret ? ofi_err(ret) : 0;
}

/* fi_getinfo for our needs; @node/@service/@flags as fi_getinfo takes. */
static int ofi_getinfo(const char *prov, const char *node, const char *service,
		       uint64_t flags, int delivery, struct fi_info **out)
{
	struct fi_info *hints = fi_allocinfo();
	int ret;

	if (!hints)
		return -ENOMEM;
	hints->ep_attr->type = FI_EP_RDM;
	hints->caps = FI_MSG | FI_RMA | FI_ATOMIC;
	hints->mode = 0;
	hints->domain_attr->mr_mode = FI_MR_LOCAL | FI_MR_VIRT_ADDR |
				      FI_MR_ALLOCATED | FI_MR_PROV_KEY;
	hints->domain_attr->threading = FI_THREAD_DOMAIN;
	hints->fabric_attr->prov_name = strdup(prov);
	if (delivery)
		hints->tx_attr->op_flags = FI_DELIVERY_COMPLETE;
	ret = fi_getinfo(OFI_API_VERSION, node, service, flags, hints, out);
	fi_freeinfo(hints);
	return ret;
}

/* Resolve "HOST:PORT" into node and service strings; @any_port: port 0
 * (an ephemeral one) is allowed. */
static int split_host_port(const char *hp, int any_port, char *host,
			   size_t hlen, char *port, size_t plen)
{
	uint16_t p;
	int ret = shmx__xport_host_port(hp, any_port, host, hlen, &p);

	if (ret)
		return -EINVAL;
	snprintf(port, plen, "%u", p);
	return 0;
}

/*
 * Providers known to be wrong here.  libfabric before 2.2.0: the verbs
 * provider's compare-and-swap on its own (MSG) endpoints sends the address
 * of the operands instead of their values, so a compare-swap silently
 * compares garbage.  verbs;ofi_rxm does not take that path.  0 or -ENOTSUP.
 */
static int check_provider(const char *prov)
{
	uint32_t v = fi_version();

	if (!strcmp(prov, "verbs") && v < FI_VERSION(2, 2)) {
		log_error("ofi: libfabric %u.%u's verbs provider corrupts "
			  "compare-and-swap on its own endpoints (fixed in "
			  "libfabric 2.2.0): use the provider 'verbs;ofi_rxm', "
			  "or the transport 'verbs'",
			  FI_MAJOR(v), FI_MINOR(v));
		return -ENOTSUP;
	}
	return 0;
}

/*
 * libfabric 1.17's rxm on a verbs core closes a connection's
 * endpoint and then drains the completion queue, reposting receive buffers
 * into the endpoint it just freed: a peer that goes away at the wrong
 * moment crashes the process (seen in shmnode when a member timed out).
 * With a shared receive context the buffers belong to the context, which
 * lives as long as the endpoint, so that path is safe; ask for it unless
 * the user chose otherwise (FI_OFI_RXM_USE_SRX is read at every getinfo).
 */
static void provider_defaults(const char *prov)
{
	if (strcmp(prov, "verbs;ofi_rxm"))
		return;
	setenv("FI_OFI_RXM_USE_SRX", "1", 0);
	/*
	 * The verbs provider's registration cache hands back the cached MR
	 * (same key) when a range is registered again, and keeps a
	 * "deregistered" MR alive: shmnode's keys must be new at every
	 * registration and dead once dropped (ownership revokes by
	 * deregistering).  Read when libfabric initialises, which for
	 * shmnode is the getinfo below.
	 */
	setenv("FI_MR_CACHE_MAX_COUNT", "0", 0);
}

static int ofi_open(const struct xport_attr *attr, struct xport **xpp)
{
	struct fi_cq_attr cq_attr = { .format = FI_CQ_FORMAT_DATA };
	struct fi_av_attr av_attr = { .type = FI_AV_UNSPEC };
	char host[128], port[16];
	const char *prov, *node = NULL, *service = NULL;
	struct ofi_xport *x;
	uint64_t flags = 0;
	unsigned nrx = XPORT_RX_DEPTH;
	int ret;

	prov = attr->provider ? attr->provider : getenv("SHMEXT_PROVIDER");
	if (!prov || !*prov)
		prov = OFI_DEFAULT_PROVIDER;
	ret = check_provider(prov);
	if (ret)
		return ret;
	provider_defaults(prov);
	if (attr->bind) {
		if (split_host_port(attr->bind, 1, host, sizeof(host), port,
				    sizeof(port)))
			return -EINVAL;
		node = host;
		service = port;
		flags = FI_SOURCE;
	} else if (attr->connect) {
		/* Let the provider pick the source address that reaches
		 * the node (loopback for a loopback node). */
		if (split_host_port(attr->connect, 0, host, sizeof(host), port,
				    sizeof(port)))
			return -EINVAL;
		node = host;
		service = port;
	}

	x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	x->base.ops = &shmx__xport_ofi_ops;
	x->wait_fd = -1;
	x->bound = attr->bind != NULL;
	x->mailbox = attr->bind && !attr->passive;
	if (!attr->bind && attr->connect) {
		snprintf(x->node_host, sizeof(x->node_host), "%s", host);
		x->node_port = (uint16_t)atoi(port);
	}

	x->delivery_complete = 1;
	ret = ofi_getinfo(prov, node, service, flags, 1, &x->info);
	if (ret == -FI_ENODATA) {
		x->delivery_complete = 0;
		ret = ofi_getinfo(prov, node, service, flags, 0, &x->info);
	}
	if (ret) {
		log_debug("fi_getinfo(%s, %s:%s): %s", prov, node ? node : "-",
			  service ? service : "-", fi_strerror(-ret));
		ret = ret == -FI_ENODATA ? -ENODEV : ofi_err(ret);
		goto out_free;
	}
	x->mr_mode = (uint64_t)x->info->domain_attr->mr_mode;
	x->next_key = first_key(x->info->domain_attr->mr_key_size);
	snprintf(x->base.caps.provider, sizeof(x->base.caps.provider), "%s",
		 x->info->fabric_attr->prov_name);
	x->base.caps.max_rma = x->info->ep_attr->max_msg_size < OFI_MAX_RMA
				       ? x->info->ep_attr->max_msg_size
				       : OFI_MAX_RMA;
	x->base.caps.local_mr = !!(x->mr_mode & FI_MR_LOCAL);
	x->nops = (unsigned)x->info->tx_attr->size;
	if (x->nops > OFI_MAX_OPS || !x->nops)
		x->nops = OFI_MAX_OPS;
	x->base.caps.tx_depth = x->nops - OFI_TX_MSG_BUFS / 2;
	if (x->info->rx_attr->size && x->info->rx_attr->size < nrx)
		nrx = (unsigned)x->info->rx_attr->size;

	ret = fi_fabric(x->info->fabric_attr, &x->fabric, NULL);
	if (ret)
		goto out_err;
	ret = fi_domain(x->fabric, x->info, &x->domain, NULL);
	if (ret)
		goto out_err;
	ret = fi_av_open(x->domain, &av_attr, &x->av, NULL);
	if (ret)
		goto out_err;
	cq_attr.size = x->nops + nrx + OFI_TX_MSG_BUFS;
	cq_attr.wait_obj = FI_WAIT_FD;
	ret = fi_cq_open(x->domain, &cq_attr, &x->cq, NULL);
	if (ret) {
		cq_attr.wait_obj = FI_WAIT_NONE;
		ret = fi_cq_open(x->domain, &cq_attr, &x->cq, NULL);
	} else if (fi_control(&x->cq->fid, FI_GETWAIT, &x->wait_fd)) {
		x->wait_fd = -1;
	}
	if (ret)
		goto out_err;
	ret = fi_endpoint(x->domain, x->info, &x->ep, NULL);
	if (ret)
		goto out_err;
	ret = fi_ep_bind(x->ep, &x->av->fid, 0);
	if (!ret)
		ret = fi_ep_bind(x->ep, &x->cq->fid, FI_TRANSMIT | FI_RECV);
	if (!ret)
		ret = fi_enable(x->ep);
	if (ret)
		goto out_err;

	/* Contexts: one per posted operation; receives and sends own a
	 * message buffer each. */
	x->ops = calloc(x->nops + nrx, sizeof(*x->ops));
	x->rx_bufs = calloc(nrx, XPORT_MSG_MAX);
	x->tx_bufs = calloc(OFI_TX_MSG_BUFS, XPORT_MSG_MAX);
	if (!x->ops || !x->rx_bufs || !x->tx_bufs) {
		ret = -FI_ENOMEM;
		goto out_err;
	}
	ret = local_reg(x, x->ops, (x->nops + nrx) * sizeof(*x->ops),
			&x->ops_mr);
	if (!ret)
		ret = local_reg(x, x->rx_bufs, (size_t)nrx * XPORT_MSG_MAX,
				&x->rx_mr);
	if (!ret)
		ret = local_reg(x, x->tx_bufs,
				(size_t)OFI_TX_MSG_BUFS * XPORT_MSG_MAX,
				&x->tx_mr);
	if (ret)
		goto out_close;
	for (unsigned i = 0; i < x->nops; i++) {
		struct ofi_op *op = &x->ops[i];

		if (i < OFI_TX_MSG_BUFS) {
			op->msg = x->tx_bufs + (size_t)i * XPORT_MSG_MAX;
			op->next = x->free_tx;
			x->free_tx = op;
		} else {
			op_put(x, op);
		}
	}
	for (unsigned i = 0; i < nrx; i++) {
		struct ofi_op *op = &x->ops[x->nops + i];

		op->kind = OFI_OP_RECV;
		op->msg = x->rx_bufs + (size_t)i * XPORT_MSG_MAX;
		ret = post_recv(x, op);
		if (ret)
			goto out_close;
	}
	log_debug("ofi: provider %s, mr_mode 0x%llx, %s, tx depth %u",
		  x->base.caps.provider, (unsigned long long)x->mr_mode,
		  x->delivery_complete ? "delivery complete" : "write fence",
		  x->base.caps.tx_depth);
	*xpp = &x->base;
	return 0;

out_err:
	ret = ofi_err(ret);
	if (ret == -EADDRINUSE || ret == -EINVAL)
		log_debug("ofi: endpoint setup failed: %s", fi_strerror(-ret));
out_close:
	shmx__xport_ofi_ops.close(&x->base);
	return ret;
out_free:
	free(x);
	return ret;
}

static void close_fid(struct fid *fid)
{
	if (fid)
		fi_close(fid);
}

/* Closing the endpoint ends (or finishes) what is in flight on it. */
static void ofi_shutdown(struct xport *xp)
{
	struct ofi_xport *x = to_ofi(xp);

	close_fid(x->ep ? &x->ep->fid : NULL);
	x->ep = NULL;
}

static void ofi_close(struct xport *xp)
{
	struct ofi_xport *x = to_ofi(xp);

	if (!x)
		return;
	close_fid(x->ep ? &x->ep->fid : NULL);
	close_fid(x->tx_mr ? &x->tx_mr->fid : NULL);
	close_fid(x->rx_mr ? &x->rx_mr->fid : NULL);
	close_fid(x->ops_mr ? &x->ops_mr->fid : NULL);
	close_fid(x->cq ? &x->cq->fid : NULL);
	close_fid(x->av ? &x->av->fid : NULL);
	close_fid(x->domain ? &x->domain->fid : NULL);
	close_fid(x->fabric ? &x->fabric->fid : NULL);
	if (x->info)
		fi_freeinfo(x->info);
	free(x->ops);
	free(x->rx_bufs);
	free(x->tx_bufs);
	free(x);
}

static int ofi_getname(struct xport *xp, void *addr, size_t *len)
{
	int ret = fi_getname(&to_ofi(xp)->ep->fid, addr, len);

	return ret == -FI_ETOOSMALL ? -ENAMETOOLONG : ret ? ofi_err(ret) : 0;
}

/* Copy of an address blob, aligned for the socket address types. */
static void addr_copy(struct sockaddr_storage *ss, const void *addr, size_t len)
{
	memset(ss, 0, sizeof(*ss));
	memcpy(ss, addr, len < sizeof(*ss) ? len : sizeof(*ss));
}

/* Is @addr a well-formed address of this endpoint's format? */
static int addr_valid(struct ofi_xport *x, const void *addr, size_t len)
{
	struct sockaddr_storage ss;
	const struct sockaddr *sa = (const struct sockaddr *)&ss;

	addr_copy(&ss, addr, len);
	switch (x->info->addr_format) {
	case FI_SOCKADDR_IN:
		return len == sizeof(struct sockaddr_in) &&
		       sa->sa_family == AF_INET;
	case FI_SOCKADDR_IN6:
		return len == sizeof(struct sockaddr_in6) &&
		       sa->sa_family == AF_INET6;
	case FI_SOCKADDR:
		return (len == sizeof(struct sockaddr_in) &&
			sa->sa_family == AF_INET) ||
		       (len == sizeof(struct sockaddr_in6) &&
			sa->sa_family == AF_INET6);
	case FI_ADDR_STR:
		return len > 1 && memchr(addr, '\0', len) != NULL;
	default:
		/* Opaque provider formats: trust the length only. */
		return len > 0;
	}
}

static int av_insert(struct ofi_xport *x, const void *addr, xport_peer_t *peer)
{
	fi_addr_t fa = FI_ADDR_NOTAVAIL;
	int ret = fi_av_insert(x->av, addr, 1, &fa, 0, NULL);

	if (ret != 1)
		return ret < 0 ? ofi_err(ret) : -EINVAL;
	*peer = (xport_peer_t)fa;
	return 0;
}

static int ofi_resolve(struct xport *xp, const char *host_port,
		       xport_peer_t *peer)
{
	struct ofi_xport *x = to_ofi(xp);
	struct fi_info *hints, *info = NULL;
	char host[128], port[16];
	int ret;

	if (split_host_port(host_port, 0, host, sizeof(host), port,
			    sizeof(port)))
		return -EINVAL;
	hints = fi_dupinfo(x->info);
	if (!hints)
		return -ENOMEM;
	free(hints->src_addr);
	hints->src_addr = NULL;
	hints->src_addrlen = 0;
	free(hints->dest_addr);
	hints->dest_addr = NULL;
	hints->dest_addrlen = 0;
	ret = fi_getinfo(OFI_API_VERSION, host, port, 0, hints, &info);
	fi_freeinfo(hints);
	if (ret || !info->dest_addr) {
		if (info)
			fi_freeinfo(info);
		return ret == -FI_ENODATA || !ret ? -EHOSTUNREACH
						  : ofi_err(ret);
	}
	ret = av_insert(x, info->dest_addr, peer);
	fi_freeinfo(info);
	return ret;
}

static int ofi_peer_insert(struct xport *xp, const void *addr, size_t len,
			   xport_peer_t *peer)
{
	struct ofi_xport *x = to_ofi(xp);

	if (!addr_valid(x, addr, len))
		return -EINVAL;
	return av_insert(x, addr, peer);
}

static int ofi_peer_remove(struct xport *xp, xport_peer_t peer)
{
	fi_addr_t fa = (fi_addr_t)peer;
	struct ofi_stall *s = stall_find(to_ofi(xp), fa);
	int ret;

	if (peer == XPORT_PEER_NONE)
		return 0;
	if (s)
		s->since_ms = 0;
	ret = fi_av_remove(to_ofi(xp)->av, &fa, 1, 0);
	return ret ? ofi_err(ret) : 0;
}

/*
 * rxm over tcp makes a new connection by itself on the next send after
 * one broke (a refused key closes it): nothing to do, and the endpoint's
 * name stays.  rxm over verbs (libfabric 1.17) keeps a connection whose
 * queue pair went to the error state, and taking the node's address out
 * of the address vector and in again gives the same broken one back: a
 * refused key ends the context there (docs/memory.md).
 */
static int ofi_reconnect(struct xport *xp, xport_peer_t peer, xport_peer_t *out)
{
	(void)xp;
	*out = peer;
	return 0;
}

static int ofi_addr_is_local(struct xport *xp, const void *addr, size_t len)
{
	struct ofi_xport *x = to_ofi(xp);
	struct sockaddr_storage ss;
	const struct sockaddr *sa = (const struct sockaddr *)&ss;

	if (!addr_valid(x, addr, len))
		return -EINVAL;
	addr_copy(&ss, addr, len);
	if (x->info->addr_format == FI_ADDR_STR) {
		/* Only shm's string addresses are known to be same-host. */
		return !strncmp(addr, "fi_shm://", 9) ||
		       !strcmp(x->base.caps.provider, "shm");
	}
	if (len == sizeof(struct sockaddr_in) && sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)&ss;

		return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	}
	if (len == sizeof(struct sockaddr_in6) && sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 =
			(const struct sockaddr_in6 *)&ss;
		const uint8_t *b = in6->sin6_addr.s6_addr;

		if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
			return 1;
		return IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) && b[12] == 127;
	}
	return 0;
}

static int ofi_addr_str(struct xport *xp, const void *addr, size_t len,
			char *buf, size_t buflen)
{
	struct ofi_xport *x = to_ofi(xp);
	struct sockaddr_storage ss;

	if (!addr_valid(x, addr, len))
		return -EINVAL;
	addr_copy(&ss, addr, len);
	if (x->info->addr_format == FI_ADDR_STR)
		snprintf(buf, buflen, "%.*s", (int)len, (const char *)addr);
	else if (shmx__xport_sockaddr_str((const struct sockaddr *)&ss, 1, buf,
					  buflen) == -EAFNOSUPPORT)
		snprintf(buf, buflen, "(%zu-byte address)", len);
	return 0;
}

/* This endpoint's own socket address; -EAFNOSUPPORT when it has none. */
static int own_sockaddr(struct ofi_xport *x, struct sockaddr_storage *ss)
{
	uint8_t addr[XPORT_ADDR_MAX];
	size_t len = sizeof(addr);
	int ret = ofi_getname(&x->base, addr, &len);

	if (ret)
		return ret;
	if (x->info->addr_format == FI_ADDR_STR || !addr_valid(x, addr, len))
		return -EAFNOSUPPORT;
	addr_copy(ss, addr, len);
	return 0;
}

static int ofi_listen_addr(struct xport *xp, char *buf, size_t len)
{
	struct ofi_xport *x = to_ofi(xp);
	struct sockaddr_storage ss;
	int ret;

	if (!x->bound)
		return -EINVAL;
	ret = own_sockaddr(x, &ss);
	return ret ? ret
		   : shmx__xport_sockaddr_str((struct sockaddr *)&ss, 1, buf,
					      len);
}

static int is_any_addr(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ((const struct sockaddr_in *)ss)->sin_addr.s_addr ==
		       htonl(INADDR_ANY);
	return ss->ss_family == AF_INET6 &&
	       IN6_IS_ADDR_UNSPECIFIED(
		       &((const struct sockaddr_in6 *)ss)->sin6_addr);
}

/*
 * The source address the kernel's routing picks toward the node: connect
 * a datagram socket (nothing is sent) and read its name.
 */
static int route_source(struct ofi_xport *x, struct sockaddr_storage *ss)
{
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM }, *ai = NULL;
	socklen_t sl = sizeof(*ss);
	char port[8];
	int fd, ret = 0;

	snprintf(port, sizeof(port), "%u", x->node_port);
	if (getaddrinfo(x->node_host, port, &hints, &ai))
		return -EHOSTUNREACH;
	fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) ||
	    getsockname(fd, (struct sockaddr *)ss, &sl))
		ret = -errno;
	if (fd >= 0)
		close(fd);
	freeaddrinfo(ai);
	return ret;
}

static int ofi_local_host(struct xport *xp, char *buf, size_t len)
{
	struct ofi_xport *x = to_ofi(xp);
	struct sockaddr_storage ss;
	int ret;

	if (!x->node_host[0])
		return -EINVAL;
	ret = own_sockaddr(x, &ss);
	/* An endpoint bound to any address: ask the routing table. */
	if (!ret && is_any_addr(&ss))
		ret = route_source(x, &ss);
	return ret ? ret
		   : shmx__xport_sockaddr_str((struct sockaddr *)&ss, 0, buf,
					      len);
}

/* Registrations carry the generic part first and the libfabric MR after. */
struct ofi_mr {
	struct xport_mr base;
	struct fid_mr *mr;
};

static int ofi_mr_reg(struct xport *xp, void *addr, size_t len, unsigned access,
		      struct xport_mr **out)
{
	struct ofi_xport *x = to_ofi(xp);
	uint64_t acc = 0;
	struct ofi_mr *m;
	int ret;

	if (!len)
		return -EINVAL;
	if (access & XPORT_REMOTE_READ)
		acc |= FI_REMOTE_READ;
	if (access & XPORT_REMOTE_WRITE)
		acc |= FI_REMOTE_WRITE;
	if (access & XPORT_REMOTE_ATOMIC)
		acc |= FI_REMOTE_READ | FI_REMOTE_WRITE;
	if (access & XPORT_LOCAL)
		acc |= FI_READ | FI_WRITE | FI_SEND | FI_RECV;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	ret = fi_mr_reg(x->domain, addr, len, acc, 0, x->next_key++, 0, &m->mr,
			NULL);
	if (ret) {
		free(m);
		return ret == -FI_ENOMEM || ret == -FI_ENOSPC ? -ENOMEM
							      : ofi_err(ret);
	}
	m->base.addr = addr;
	m->base.len = len;
	m->base.access = access;
	m->base.key = fi_mr_key(m->mr);
	m->base.base = (x->mr_mode & FI_MR_VIRT_ADDR) ? (uintptr_t)addr : 0;
	m->base.desc = fi_mr_desc(m->mr);
	*out = &m->base;
	return 0;
}

static void ofi_mr_dereg(struct xport *xp, struct xport_mr *mr)
{
	struct ofi_mr *m = (struct ofi_mr *)mr;

	if (!m)
		return;
	fi_close(&m->mr->fid);
	free(m);
}

/*
 * A mailbox's send to @peer returned @ret.  A peer refused for
 * OFI_STALL_MS without a send getting through (its listener is gone, or
 * it has not taken a message in all that time) is unreachable: 1, and the
 * send fails with -EHOSTUNREACH instead of -EAGAIN.  With more than
 * OFI_STALLS peers stalled at once, the oldest entry is reused (its clock
 * starts again).
 */
static int stalled(struct ofi_xport *x, fi_addr_t peer, int ret)
{
	struct ofi_stall *s = stall_find(x, peer);
	uint64_t now;

	if (ret != -FI_EAGAIN) {
		if (s)
			s->since_ms = 0;
		return 0;
	}
	now = shmx__now_ms();
	if (s)
		return now - s->since_ms >= OFI_STALL_MS;
	s = &x->stalls[0];
	for (unsigned i = 1; i < OFI_STALLS && s->since_ms; i++)
		if (x->stalls[i].since_ms < s->since_ms)
			s = &x->stalls[i];
	s->peer = peer;
	s->since_ms = now ? now : 1;
	return 0;
}

static int ofi_send(struct xport *xp, xport_peer_t peer, const void *buf,
		    size_t len, void *op_ctx)
{
	struct ofi_xport *x = to_ofi(xp);
	struct ofi_op *op = x->free_tx;
	int ret;

	if (len > XPORT_MSG_MAX)
		return -EMSGSIZE;
	if (!op)
		return -EAGAIN;
	memcpy(op->msg, buf, len);
	op->kind = OFI_OP_SEND;
	op->user_ctx = op_ctx;
	ret = (int)fi_send(x->ep, op->msg, len, op_desc(x, x->tx_mr),
			   (fi_addr_t)peer, op);
	if (x->mailbox && stalled(x, (fi_addr_t)peer, ret))
		return -EHOSTUNREACH;
	if (ret)
		return ret == -FI_EAGAIN ? -EAGAIN : ofi_err(ret);
	x->free_tx = op->next;
	op->next = NULL;
	return 0;
}

/* After posting @op: give it back if libfabric refused.  0 or -errno. */
static int posted(struct ofi_xport *x, struct ofi_op *op, int ret)
{
	if (!ret)
		return 0;
	op_put(x, op);
	return ret == -FI_EAGAIN ? -EAGAIN : ofi_err(ret);
}

static int ofi_read(struct xport *xp, xport_peer_t peer, void *buf, size_t len,
		    void *desc, uint64_t raddr, uint64_t rkey, void *op_ctx)
{
	struct ofi_xport *x = to_ofi(xp);
	struct ofi_op *op = op_get(x, OFI_OP_READ, op_ctx);
	int ret;

	if (!op)
		return -EAGAIN;
	ret = (int)fi_read(x->ep, buf, len, desc, (fi_addr_t)peer, raddr, rkey,
			   op);
	return posted(x, op, ret);
}

static int ofi_write(struct xport *xp, xport_peer_t peer, const void *buf,
		     size_t len, void *desc, uint64_t raddr, uint64_t rkey,
		     void *op_ctx)
{
	struct ofi_xport *x = to_ofi(xp);
	struct ofi_op *op;
	int ret;

	/* Without delivery complete, keep a context for the fence read. */
	if (!x->delivery_complete && (!x->free_ops || !x->free_ops->next))
		return -EAGAIN;
	op = op_get(x, OFI_OP_WRITE, op_ctx);
	if (!op)
		return -EAGAIN;
	op->peer = (fi_addr_t)peer;
	op->raddr = raddr;
	op->rkey = rkey;
	ret = (int)fi_write(x->ep, buf, len, desc, (fi_addr_t)peer, raddr, rkey,
			    op);
	return posted(x, op, ret);
}

static int ofi_cas64(struct xport *xp, xport_peer_t peer, uint64_t raddr,
		     uint64_t rkey, uint64_t compare, uint64_t swap,
		     uint64_t *result, void *result_desc, void *op_ctx)
{
	struct ofi_xport *x = to_ofi(xp);
	struct ofi_op *op = op_get(x, OFI_OP_ATOMIC, op_ctx);
	void *desc = op_desc(x, x->ops_mr);
	int ret;

	if (!op)
		return -EAGAIN;
	op->operand[0] = compare;
	op->operand[1] = swap;
	ret = (int)fi_compare_atomic(x->ep, &op->operand[1], 1, desc,
				     &op->operand[0], desc, result, result_desc,
				     (fi_addr_t)peer, raddr, rkey, FI_UINT64,
				     FI_CSWAP, op);
	return posted(x, op, ret);
}

static int ofi_fadd64(struct xport *xp, xport_peer_t peer, uint64_t raddr,
		      uint64_t rkey, uint64_t add, uint64_t *result,
		      void *result_desc, void *op_ctx)
{
	struct ofi_xport *x = to_ofi(xp);
	struct ofi_op *op = op_get(x, OFI_OP_ATOMIC, op_ctx);
	void *desc = op_desc(x, x->ops_mr);
	int ret;

	if (!op)
		return -EAGAIN;
	op->operand[0] = add;
	ret = (int)fi_fetch_atomic(x->ep, &op->operand[0], 1, desc, result,
				   result_desc, (fi_addr_t)peer, raddr, rkey,
				   FI_UINT64, FI_SUM, op);
	return posted(x, op, ret);
}

/* A write completed without delivery complete: read a byte back. */
static int post_fence(struct ofi_xport *x, struct ofi_op *op)
{
	int ret;

	op->kind = OFI_OP_WRITE_FENCE;
	do {
		ret = (int)fi_read(x->ep, &op->fence_byte, 1,
				   op_desc(x, x->ops_mr), op->peer, op->raddr,
				   op->rkey, op);
	} while (ret == -FI_EAGAIN);
	if (ret)
		return ofi_err(ret);
	return 0;
}

/*
 * Turn one libfabric completion (or error, @status) of @op into at most one
 * caller-visible completion.  Returns 1 if @c was filled.
 */
static int complete(struct ofi_xport *x, struct ofi_op *op, int status,
		    size_t len, struct xport_completion *c)
{
	memset(c, 0, sizeof(*c));
	c->peer = XPORT_PEER_NONE;
	switch (op->kind) {
	case OFI_OP_RECV:
		if (status) {
			post_recv(x, op);
			return 0;
		}
		c->op = XPORT_OP_RECV;
		c->buf = op->msg;
		c->len = len;
		return 1;
	case OFI_OP_SEND:
		op->next = x->free_tx;
		x->free_tx = op;
		if (!op->user_ctx)
			return 0;
		c->op = XPORT_OP_SEND;
		break;
	case OFI_OP_WRITE:
		if (!status && !x->delivery_complete) {
			status = post_fence(x, op);
			if (!status)
				return 0;
		}
		c->op = XPORT_OP_WRITE;
		op_put(x, op);
		break;
	case OFI_OP_WRITE_FENCE:
		c->op = XPORT_OP_WRITE;
		op_put(x, op);
		break;
	case OFI_OP_READ:
		c->op = XPORT_OP_READ;
		op_put(x, op);
		break;
	case OFI_OP_ATOMIC:
		c->op = XPORT_OP_ATOMIC;
		op_put(x, op);
		break;
	}
	c->status = status;
	c->op_ctx = op->user_ctx;
	return 1;
}

static int ofi_poll(struct xport *xp, struct xport_completion *c, int max)
{
	struct ofi_xport *x = to_ofi(xp);
	struct fi_cq_data_entry e[16];
	struct fi_cq_err_entry err;
	int n = 0;

	while (n < max) {
		int want = max - n < 16 ? max - n : 16;
		ssize_t got = fi_cq_read(x->cq, e, (size_t)want);

		if (got == -FI_EAGAIN)
			break;
		if (got == -FI_EAVAIL) {
			memset(&err, 0, sizeof(err));
			if (fi_cq_readerr(x->cq, &err, 0) != 1)
				break;
			if (!err.op_context)
				continue;
			log_debug("ofi: operation failed: %s (%s)",
				  fi_strerror(err.err),
				  fi_cq_strerror(x->cq, err.prov_errno,
						 err.err_data, NULL, 0));
			n += complete(x, err.op_context, cq_err(x, &err), 0,
				      &c[n]);
			continue;
		}
		if (got < 0)
			return ofi_err((int)got);
		for (ssize_t i = 0; i < got; i++)
			n += complete(x, e[i].op_context, 0, e[i].len, &c[n]);
		if (got < want)
			break;
	}
	return n;
}

static void ofi_recv_done(struct xport *xp, void *buf)
{
	struct ofi_xport *x = to_ofi(xp);
	size_t i = (size_t)((uint8_t *)buf - x->rx_bufs) / XPORT_MSG_MAX;

	post_recv(x, &x->ops[x->nops + i]);
}

/*
 * fi_trywait says whether the CQ's fd may be slept on: it fails when
 * progress is due (poll now).  Without a wait object: nothing to arm.
 */
static int ofi_wait_arm(struct xport *xp, int *fds, int *nfds)
{
	struct ofi_xport *x = to_ofi(xp);
	struct fid *fids[1] = { &x->cq->fid };

	*nfds = 0;
	if (x->wait_fd < 0)
		return 0;
	if (fi_trywait(x->fabric, fids, 1) != FI_SUCCESS)
		return 1;
	fds[0] = x->wait_fd;
	*nfds = 1;
	return 0;
}

const struct xport_ops shmx__xport_ofi_ops = {
	.name = "ofi",
	.open = ofi_open,
	.close = ofi_close,
	.shutdown = ofi_shutdown,
	.getname = ofi_getname,
	.resolve = ofi_resolve,
	.peer_insert = ofi_peer_insert,
	.peer_remove = ofi_peer_remove,
	.reconnect = ofi_reconnect,
	.addr_is_local = ofi_addr_is_local,
	.addr_str = ofi_addr_str,
	.mr_reg = ofi_mr_reg,
	.mr_dereg = ofi_mr_dereg,
	.send = ofi_send,
	.read = ofi_read,
	.write = ofi_write,
	.cas64 = ofi_cas64,
	.fadd64 = ofi_fadd64,
	.poll = ofi_poll,
	.recv_done = ofi_recv_done,
	.wait = shmx__xport_wait,
	.wait_arm = ofi_wait_arm,
	.listen_addr = ofi_listen_addr,
	.local_host = ofi_local_host,
};
