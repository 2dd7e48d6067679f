/* SPDX-License-Identifier: MIT */
/*
 * mailbox.c - a context's mailbox (docs/messages.md).  A second transport
 * endpoint, beside the one to the node, opened at the context's first
 * messaging call (or shmx_event_fd), that listens on the address the
 * context reaches its node from; MAILBOX publishes it with a random tag
 * and the receive window in the member's registry entry.  A sender reads
 * the destination's entry, connects to its mailbox on first use and sends
 * peer messages (proto/peer.h) straight to it.
 *
 * Who receives.  A caller that waits (for a signal, a message, or room in
 * a window) polls the endpoint itself: it spins for a while, then
 * sleeps on the endpoint's wait object as the mailbox's poller (one poller
 * at a time; other waiters sleep on the condition variable and are woken
 * by what the poller takes).  A thread per mailbox receives for a context
 * that is not waiting in a call (one that uses the event fd, say): it
 * decodes what came, queues signals and messages and keeps the event fd
 * readable while something waits.  While callers wait, and for
 * MBOX_LINGER_NS after the last of them, the thread keeps off the
 * endpoint: on a small machine its wake-ups took the cores from the
 * callers and the peers, and a reply it took first cost the caller one
 * thread switch more.
 *
 * Flow control counts messages: a sender may have window messages sent
 * and not yet taken by the receiver's application; the receiver reports
 * how many it took (CREDIT) every quarter window.  mbox->lock guards all
 * of it and is taken before ctx->lock, never after.
 */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "ctx.h"
#include "mailbox.h"
#include "proto/auth.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/parse.h"

_Static_assert(SHMX_PEER_MSG_MAX <= XPORT_MSG_MAX,
	       "a peer message fits in one transport message");
_Static_assert(SHMX_MSG_INLINE_MAX == SHMX_PEER_INLINE_MAX,
	       "the public inline limit is the wire's");

/* A caller polls the endpoint before it sleeps, for twice as long as its
 * waits that ended took lately (a moving average), at least MBOX_SPIN_NS
 * and at most MBOX_SPIN_MAX_NS: the round trip is 14 us on loopback and
 * 400 us between emulated VMs, where a sleep and a wake-up cost more
 * than the spin.  It yields the CPU between polls.  The mailbox thread
 * keeps off the endpoint meanwhile (below); when it did not, the yield
 * let it take the reply first, and a signal's round trip on loopback took
 * 61 us instead of 14. */
#define MBOX_SPIN_NS 50000ull
#define MBOX_SPIN_MAX_NS 1000000ull
/* The thread keeps off the endpoint this long after a caller waited. */
#define MBOX_LINGER_NS 1000000ull
/* A sender at the window looks this often whether its destination left. */
#define MBOX_RECHECK_NS 100000000ull
/* A member that joined (MBOX_JOIN_GRACE_S ago at most) and has not
 * published its mailbox yet is looked at again this long, this often. */
#define MBOX_JOIN_GRACE_S 2
#define MBOX_JOIN_GRACE_NS 2000000000ull
#define MBOX_JOIN_PAUSE_US 2000
/* The pause when the endpoint keeps saying progress is due. */
#define MBOX_DUE_PAUSE_NS 50000ull
/* Without a wait object the poller naps between polls: from
 * MBOX_NAP_MIN_NS, doubling while nothing comes, up to the caller's or
 * the thread's longest nap. */
#define MBOX_NAP_MIN_NS 50000ull
#define MBOX_NAP_CALLER_NS 1000000ull
#define MBOX_NAP_THREAD_NS 16000000ull
/* The thread's longest sleep when nothing wakes it. */
#define MBOX_IDLE_NS 100000000ull
#define MBOX_POLL_BATCH 16
/* Queues: signals, and messages of any kind. */
enum { Q_SIGNALS, Q_MESSAGES, Q_NR };
/* Who sleeps on the endpoint's wait object. */
enum { POLLER_NONE, POLLER_CALLER, POLLER_THREAD };

/* Sending to one destination. */
struct mbox_out {
	uint64_t tag;	   /* its mailbox's tag; 0 = not looked up */
	xport_peer_t peer; /* XPORT_PEER_NONE = not connected */
	uint32_t window;
	uint64_t seq;	/* the last one sent */
	uint64_t sent;	/* messages sent (and not failed) to this tag */
	uint64_t taken; /* of them, taken by its application (CREDIT) */
};

/* Receiving from one sender. */
struct mbox_in {
	uint64_t tag; /* the sender's mailbox tag */
	uint64_t seq; /* the last one received */
	uint64_t received, taken, credited;
	int asked; /* it asked for a credit again (CREDIT_ASK) */
};

/* A send in flight; whoever sees it end last frees it. */
struct mbox_send {
	int done, status, abandoned;
};

struct shmx_mbox {
	struct shmx_ctx *ctx;
	pthread_mutex_t lock;
	pthread_cond_t cond; /* something came, a send ended, or the poller
			      * woke (its role may be taken) */
	pthread_cond_t park; /* the thread's, while callers wait */
	struct xport *xp;
	uint64_t tag;
	uint32_t window;
	uint32_t max;	      /* member ids 1..max */
	struct mbox_out *out; /* [max + 1] */
	struct mbox_in *in;   /* [max + 1] */
	struct shmx__mbox_item *head[Q_NR], **tail[Q_NR];
	int wake_fd;	   /* stops the poller's sleep */
	int kicked;	   /* wake_fd written and not read yet */
	int poller;	   /* POLLER_* */
	unsigned waiting;  /* callers waiting for signals, messages or room */
	uint64_t waited;   /* when the last of them stopped (ns) */
	unsigned sleepers; /* callers asleep on cond */
	uint64_t wait_avg; /* how long waits that ended took (ns) */
	pthread_t thread;
	int started, stop;
	int asked; /* some in[] asked for a credit: the thread answers */
	int err;   /* the endpoint failed: -errno */
};

/* ---------------------------------------------------------------------- */

static uint32_t credit_step(uint32_t window)
{
	return window >= 4 ? window / 4 : 1;
}

/* Queue @it; the event fd counts it. */
static void enqueue(struct shmx_ctx *ctx, struct shmx_mbox *mb,
		    struct shmx__mbox_item *it)
{
	int q = it->type == SHMX_PEER_SIGNAL ? Q_SIGNALS : Q_MESSAGES;

	it->next = NULL;
	*mb->tail[q] = it;
	mb->tail[q] = &it->next;
	shmx__ready_add(ctx);
}

static struct shmx__mbox_item *dequeue(struct shmx_ctx *ctx,
				       struct shmx_mbox *mb, int q)
{
	struct shmx__mbox_item *it = mb->head[q];

	if (!it)
		return NULL;
	mb->head[q] = it->next;
	if (!mb->head[q])
		mb->tail[q] = &mb->head[q];
	shmx__ready_take(ctx);
	return it;
}

/* A signal or message came from @m->src: queue it.  mb->lock held. */
static void received(struct shmx_ctx *ctx, struct shmx_mbox *mb,
		     const struct shmx_peer_msg *m)
{
	struct mbox_in *in = &mb->in[m->src];
	struct shmx__mbox_item *it;
	size_t dlen = m->type == SHMX_PEER_MSG ? m->u.msg.len : 0;

	if (in->tag != m->src_tag) { /* a new sender at that id */
		memset(in, 0, sizeof(*in));
		in->tag = m->src_tag;
	}
	if (m->seq <= in->seq) {
		log_warn("mailbox: member %u sent %llu again, dropped", m->src,
			 (unsigned long long)m->seq);
		return;
	}
	if (in->received - in->taken >= mb->window) {
		log_warn("mailbox: member %u sent past its window of %u, "
			 "dropped",
			 m->src, mb->window);
		return;
	}
	it = calloc(1, sizeof(*it) + dlen);
	if (!it) {
		log_error("mailbox: out of memory: a message from member %u "
			  "is lost",
			  m->src);
		return;
	}
	in->seq = m->seq;
	in->received++;
	it->type = m->type;
	it->src = m->src;
	it->src_tag = m->src_tag;
	if (m->type == SHMX_PEER_SIGNAL) {
		it->signo = m->u.signal.signo;
		it->value = m->u.signal.value;
	} else if (m->type == SHMX_PEER_MSG_REF) {
		it->gaddr = m->u.ref.gaddr;
		it->len = m->u.ref.len;
		it->kind = m->u.ref.kind;
	} else if (dlen) {
		memcpy(it->data, m->u.msg.data, dlen);
	}
	it->dlen = dlen;
	enqueue(ctx, mb, it);
}

/* Stop the poller's sleep.  mb->lock held. */
static void kick(struct shmx_mbox *mb)
{
	uint64_t one = 1;

	if (mb->kicked)
		return;
	mb->kicked = 1;
	(void)!write(mb->wake_fd, &one, sizeof(one));
}

/* One received peer message.  mb->lock held. */
static void dispatch(struct shmx_ctx *ctx, struct shmx_mbox *mb,
		     const void *buf, size_t len)
{
	struct shmx_peer_msg m;
	struct mbox_out *o;

	if (shmx__peer_decode(buf, len, &m)) {
		log_warn("mailbox: a malformed message (%zu bytes) dropped",
			 len);
		return;
	}
	/* Meant for an earlier member at this id or address. */
	if (m.dst != ctx->id || m.dst_tag != mb->tag || m.src > mb->max)
		return;
	if (m.type == SHMX_PEER_CREDIT_ASK) {
		/* Answered by the thread (credit() may let the lock go, and
		 * this runs inside a poll). */
		if (mb->in[m.src].tag == m.src_tag) {
			mb->in[m.src].asked = 1;
			mb->asked = 1;
			kick(mb);
			pthread_cond_signal(&mb->park);
		}
		return;
	}
	if (m.type != SHMX_PEER_CREDIT) {
		received(ctx, mb, &m);
		return;
	}
	o = &mb->out[m.src];
	if (o->tag == m.src_tag && m.u.credit.taken > o->taken)
		o->taken =
			m.u.credit.taken < o->sent ? m.u.credit.taken : o->sent;
}

/* Poll the endpoint once.  mb->lock held.  Completions handled, or
 * -errno (the endpoint failed: every call reports it from then on). */
static int poll_locked(struct shmx_ctx *ctx, struct shmx_mbox *mb)
{
	struct xport_completion c[MBOX_POLL_BATCH];
	int n;

	if (mb->err)
		return mb->err;
	n = xport_poll(mb->xp, c, MBOX_POLL_BATCH);
	if (n < 0) {
		log_error("mailbox: the endpoint failed: %s", shmx_strerror(n));
		mb->err = n;
		pthread_cond_broadcast(&mb->cond);
		return n;
	}
	for (int i = 0; i < n; i++) {
		struct mbox_send *s = c[i].op_ctx;

		if (c[i].op == XPORT_OP_RECV) {
			if (!c[i].status)
				dispatch(ctx, mb, c[i].buf, c[i].len);
			if (c[i].buf)
				xport_recv_done(mb->xp, c[i].buf);
		} else if (s) {
			s->status = c[i].status;
			s->done = 1;
			if (s->abandoned)
				free(s);
		}
	}
	if (n)
		pthread_cond_broadcast(&mb->cond);
	return n;
}

/*
 * Sleep on the endpoint as the poller (@who) until it may have something,
 * the poller is kicked, or @until (monotonic ns).  mb->lock held, let go
 * while asleep.  *@due counts the times in a row the endpoint said
 * progress was due (and the poll before found nothing): the first time
 * it is polled again at once, after that following a short pause (a
 * connection being made), or the poller would spin a core.  Without a
 * wait object (verbs;ofi_rxm) or when arming fails: a nap of *@nap_ns,
 * doubled each time up to @nap_max.
 */
static void endpoint_sleep(struct shmx_mbox *mb, int who, uint64_t until,
			   int *due, uint64_t *nap_ns, uint64_t nap_max)
{
	struct pollfd pfd[1 + XPORT_WAIT_FDS];
	int fds[XPORT_WAIT_FDS], nfds = 0, armed;
	uint64_t now, span;
	struct timespec ts;

	armed = xport_wait_arm(mb->xp, fds, &nfds);
	if (armed == 1 && !(*due)++)
		return;
	if (armed == 1) {
		span = MBOX_DUE_PAUSE_NS;
		nfds = 0;
	} else if (armed == 0 && nfds) {
		span = UINT64_MAX;
		*due = 0;
	} else {
		span = *nap_ns;
		*nap_ns = 2 * *nap_ns < nap_max ? 2 * *nap_ns : nap_max;
		nfds = 0;
		*due = 0;
	}
	now = shmx__now_ns();
	if (until <= now)
		span = 0;
	else if (until - now < span)
		span = until - now;
	ts.tv_sec = (time_t)(span / 1000000000ull);
	ts.tv_nsec = (long)(span % 1000000000ull);
	pfd[0].fd = mb->wake_fd;
	pfd[0].events = POLLIN;
	for (int i = 0; i < nfds; i++) {
		pfd[1 + i].fd = fds[i];
		pfd[1 + i].events = POLLIN;
	}
	mb->poller = who;
	pthread_mutex_unlock(&mb->lock);
	(void)ppoll(pfd, 1 + (nfds_t)nfds, &ts, NULL);
	pthread_mutex_lock(&mb->lock);
	mb->poller = POLLER_NONE;
	if (mb->kicked) {
		uint64_t v;

		(void)!read(mb->wake_fd, &v, sizeof(v));
		mb->kicked = 0;
	}
	if (mb->sleepers) /* the role is free: one of them may take it */
		pthread_cond_broadcast(&mb->cond);
}

/*
 * Wait until @ready(@arg), polling the endpoint meanwhile: spinning
 * first, then asleep on the endpoint as the poller, or on the condition
 * variable while another thread is.  @parks: a wait for signals, messages
 * or room, that keeps the thread off the endpoint (not one for a send to
 * end, which is short, nor a mere look with a deadline already past).
 * mb->lock held.  0, -ETIMEDOUT at @deadline (or at @recheck, where the
 * caller looks at something else: 1 then), or the endpoint's -errno.
 */
static int wait_locked(struct shmx_ctx *ctx, struct shmx_mbox *mb,
		       int (*ready)(void *arg), void *arg, uint64_t deadline,
		       uint64_t recheck, int parks)
{
	uint64_t start = shmx__now_ns(), now, until, nap = MBOX_NAP_MIN_NS;
	uint64_t spin = 2 * mb->wait_avg;
	struct timespec ts;
	int n, due = 0, ret = 0, waited = 0;

	spin = spin < MBOX_SPIN_NS	 ? MBOX_SPIN_NS
	       : spin > MBOX_SPIN_MAX_NS ? MBOX_SPIN_MAX_NS
					 : spin;

	parks = parks && deadline > start; /* a poll (timeout 0) does not */
	mb->waiting += !!parks;
	while (!ready(arg)) {
		n = poll_locked(ctx, mb);
		if (n < 0) {
			ret = n;
			break;
		}
		if (n > 0) {
			due = 0;
			continue;
		}
		now = shmx__now_ns();
		if (now >= deadline) {
			ret = -ETIMEDOUT;
			break;
		}
		if (recheck && now >= recheck) {
			ret = 1;
			break;
		}
		until = recheck && recheck < deadline ? recheck : deadline;
		waited = 1;
		if (now - start < spin) {
			/* Let the process's other threads in. */
			pthread_mutex_unlock(&mb->lock);
			sched_yield();
			pthread_mutex_lock(&mb->lock);
			continue;
		}
		if (mb->poller == POLLER_NONE) {
			endpoint_sleep(mb, POLLER_CALLER, until, &due, &nap,
				       MBOX_NAP_CALLER_NS);
			continue;
		}
		if (mb->poller == POLLER_THREAD && parks)
			kick(mb); /* it leaves the endpoint to the callers */
		mb->sleepers++;
		shmx__mono_timespec(until, &ts);
		pthread_cond_timedwait(&mb->cond, &mb->lock, &ts);
		mb->sleepers--;
	}
	now = shmx__now_ns();
	if (parks && !--mb->waiting)
		mb->waited = now;
	if (!ret && waited) /* an average of 8, in integers */
		mb->wait_avg +=
			((int64_t)(now - start) - (int64_t)mb->wait_avg) / 8;
	return ret;
}

/* ---------------------------------------------------------------------- */
/* Sending                                                                */
/* ---------------------------------------------------------------------- */

/* Forget the connection to @o (a send on it failed); the next send looks
 * the destination up again. */
static void out_drop(struct shmx_mbox *mb, struct mbox_out *o)
{
	if (o->peer != XPORT_PEER_NONE)
		(void)xport_peer_remove(mb->xp, o->peer);
	o->peer = XPORT_PEER_NONE;
}

/*
 * Look @dest up in the registry: 0 with its entry in *@e, -ESRCH when it
 * is no live member with a mailbox, or -errno.  A member joins before it
 * opens its mailbox (at its first messaging call): one that has just
 * joined and has none yet is looked at again for up to MBOX_JOIN_GRACE_NS
 * (and at most until @deadline).
 */
static int lookup(struct shmx_ctx *ctx, uint32_t dest,
		  struct shmx_hdr_member *e, uint64_t deadline)
{
	uint64_t end = shmx__now_ns() + MBOX_JOIN_GRACE_NS;
	int ret;

	if (end > deadline)
		end = deadline;
	for (;;) {
		ret = shmx__hdr_member_get(ctx, dest, e);
		if (ret == -ENOENT || (!ret && !e->live))
			return -ESRCH;
		if (ret)
			return ret;
		if (e->mailbox[0] && e->mbox_tag)
			return 0;
		/* One that joined a while ago does not use messages. */
		if (shmx__now_ns() >= end ||
		    shmx__wall_s() - e->joined > MBOX_JOIN_GRACE_S)
			return -ESRCH;
		shmx__sleep_us(MBOX_JOIN_PAUSE_US);
	}
}

/* The connection to @dest's mailbox, made when there is none.  mb->lock
 * held; it is let go while the registry is read (a member that has just
 * joined may be waited for, see lookup).  0 or -errno. */
static int out_connect(struct shmx_ctx *ctx, struct shmx_mbox *mb,
		       uint32_t dest, uint64_t deadline, struct mbox_out **out)
{
	struct mbox_out *o = &mb->out[dest];
	struct shmx_hdr_member e;
	int ret;

	*out = o;
	if (o->tag && o->peer != XPORT_PEER_NONE)
		return 0;
	pthread_mutex_unlock(&mb->lock);
	ret = lookup(ctx, dest, &e, deadline);
	pthread_mutex_lock(&mb->lock);
	if (ret)
		return ret;
	if (o->tag == e.mbox_tag && o->peer != XPORT_PEER_NONE)
		return 0;	    /* another thread connected meanwhile */
	if (o->tag != e.mbox_tag) { /* another member, or the first look */
		out_drop(mb, o);
		memset(o, 0, sizeof(*o));
		o->peer = XPORT_PEER_NONE;
		o->tag = e.mbox_tag;
		o->window = e.mbox_window;
	}
	ret = xport_resolve(mb->xp, e.mailbox, &o->peer);
	if (ret) {
		log_warn("mailbox: cannot reach member %u at %s: %s", dest,
			 e.mailbox, shmx_strerror(ret));
		o->peer = XPORT_PEER_NONE;
		return -EHOSTDOWN;
	}
	return 0;
}

/* Does @dest still have the mailbox @o was made for?  0, -EHOSTDOWN or
 * -errno. */
static int out_still_there(struct shmx_ctx *ctx, uint32_t dest,
			   const struct mbox_out *o)
{
	struct shmx_hdr_member e;
	int ret = lookup(ctx, dest, &e, 0);

	if (ret == -ESRCH || (!ret && e.mbox_tag != o->tag))
		return -EHOSTDOWN;
	return ret;
}

struct room_arg {
	const struct mbox_out *o;
};

static int has_room(void *arg)
{
	const struct mbox_out *o = ((struct room_arg *)arg)->o;

	return o->sent - o->taken < o->window;
}

static int send_ended(void *arg)
{
	return ((struct mbox_send *)arg)->done;
}

/* Post @len bytes at @buf to @o and wait for the send to end.  mb->lock
 * held.  0 or -errno. */
static int post_and_wait(struct shmx_ctx *ctx, struct shmx_mbox *mb,
			 struct mbox_out *o, const void *buf, size_t len,
			 uint64_t deadline)
{
	struct mbox_send *s = calloc(1, sizeof(*s));
	int ret;

	if (!s)
		return -ENOMEM;
	while ((ret = xport_send(mb->xp, o->peer, buf, len, s)) == -EAGAIN) {
		ret = poll_locked(ctx, mb);
		if (ret < 0 || shmx__now_ns() >= deadline)
			break;
	}
	if (ret) {
		free(s);
		return ret == -EAGAIN || !ret ? -ETIMEDOUT : ret;
	}
	o->sent++;
	ret = wait_locked(ctx, mb, send_ended, s, deadline, 0, 0);
	if (ret) {
		s->abandoned = 1; /* freed when it ends */
		return ret;
	}
	ret = s->status;
	free(s);
	if (ret)
		o->sent--; /* it did not arrive */
	return ret;
}

uint64_t shmx__mbox_deadline(const struct shmx_ctx *ctx, int timeout_ms)
{
	return shmx__now_ns() +
	       (uint64_t)(timeout_ms < 0 ? ctx->timeout_ms : timeout_ms) *
		       1000000ull;
}

/* Post @m (a CREDIT or CREDIT_ASK, @what in the log) to @dest over @o,
 * connected, without waiting for it: a lost one is made up for by the
 * next.  mb->lock held.  0 once posted, or -errno (@o is dropped, so the
 * next one connects again). */
static int post_unwaited(struct shmx_ctx *ctx, struct shmx_mbox *mb,
			 uint32_t dest, struct mbox_out *o,
			 struct shmx_peer_msg *m, const char *what)
{
	uint8_t buf[SHMX_PEER_HDR_LEN + 8];
	int len, ret;

	m->src = ctx->id;
	m->dst = dest;
	m->src_tag = mb->tag;
	m->dst_tag = o->tag;
	len = shmx__peer_encode(m, buf, sizeof(buf));
	if (len < 0)
		return len;
	for (int tries = 0; tries < 100; tries++) {
		ret = xport_send(mb->xp, o->peer, buf, (size_t)len, NULL);
		if (ret != -EAGAIN)
			break;
		ret = poll_locked(ctx, mb);
		if (ret < 0)
			return ret;
		ret = -EAGAIN;
	}
	if (ret) {
		log_debug("mailbox: %s member %u failed: %s", what, dest,
			  shmx_strerror(ret));
		out_drop(mb, o);
		return ret;
	}
	/* Nothing waits for it to complete: move it on now (a provider with
	 * manual progress may hold it until the endpoint is polled, and the
	 * thread keeps off while callers wait). */
	(void)poll_locked(ctx, mb);
	return 0;
}

/* Ask @dest for a credit again: one is lost when the connection it
 * travelled on broke, and a sender at the window would then wait for
 * nothing.  Not waited for: the next ask follows if this one is lost.
 * mb->lock held. */
static void credit_ask(struct shmx_ctx *ctx, struct shmx_mbox *mb,
		       uint32_t dest, struct mbox_out *o)
{
	struct shmx_peer_msg m = { .type = SHMX_PEER_CREDIT_ASK };
	uint64_t tag = o->tag;

	if (out_connect(ctx, mb, dest, 0, &o) || o->tag != tag)
		return; /* gone, or another member now: the caller sees it */
	(void)post_unwaited(ctx, mb, dest, o, &m, "asking for a credit from");
}

int shmx__mbox_send(struct shmx_ctx *ctx, uint32_t dest,
		    struct shmx_peer_msg *m, int nonblock, uint64_t deadline_ns)
{
	struct shmx_mbox *mb = shmx__mbox_get(ctx);
	uint8_t buf[SHMX_PEER_MSG_MAX];
	struct room_arg room;
	struct mbox_out *o;
	uint64_t recheck;
	int ret, len;

	if (!mb)
		return ctx->mbox_err;
	if (!dest || dest > mb->max)
		return -ESRCH;
	pthread_mutex_lock(&mb->lock);
	ret = out_connect(ctx, mb, dest, deadline_ns, &o);
	room.o = o;
	recheck = shmx__now_ns() + MBOX_RECHECK_NS;
	while (!ret && !has_room(&room)) {
		if (nonblock) {
			ret = -EAGAIN;
			break;
		}
		ret = wait_locked(ctx, mb, has_room, &room, deadline_ns,
				  recheck, 1);
		if (ret == 1) { /* a while at the window: still there? */
			ret = out_still_there(ctx, dest, o);
			if (!ret)
				credit_ask(ctx, mb, dest, o);
			recheck = shmx__now_ns() + MBOX_RECHECK_NS;
		}
	}
	if (ret)
		goto out;
	m->src = ctx->id;
	m->dst = dest;
	m->src_tag = mb->tag;
	m->dst_tag = o->tag;
	m->seq = o->seq + 1;
	len = shmx__peer_encode(m, buf, sizeof(buf));
	if (len < 0) {
		ret = len;
		goto out;
	}
	o->seq++;
	ret = post_and_wait(ctx, mb, o, buf, (size_t)len, deadline_ns);
	if (ret && ret != -ETIMEDOUT && ret != -ENOMEM) {
		log_info("mailbox: a send to member %u failed: %s", dest,
			 shmx_strerror(ret));
		out_drop(mb, o);
		ret = mb->err ? mb->err : -EHOSTDOWN;
	}
out:
	pthread_mutex_unlock(&mb->lock);
	return ret;
}

/* ---------------------------------------------------------------------- */
/* Taking                                                                 */
/* ---------------------------------------------------------------------- */

/* Tell @src how many of its messages were taken.  Not waited for: a lost
 * credit is made up for by the next.  mb->lock held. */
static void credit(struct shmx_ctx *ctx, struct shmx_mbox *mb, uint32_t src,
		   struct mbox_in *in)
{
	struct shmx_peer_msg m = { .type = SHMX_PEER_CREDIT };
	struct mbox_out *o;

	if (out_connect(ctx, mb, src, 0, &o) || o->tag != in->tag)
		return; /* it left, or its mailbox is another now */
	m.u.credit.taken = in->taken;
	if (!post_unwaited(ctx, mb, src, o, &m, "a credit to"))
		in->credited = in->taken;
}

struct take_arg {
	struct shmx_mbox *mb;
	int q;
};

static int has_item(void *arg)
{
	struct take_arg *t = arg;

	return t->mb->head[t->q] || t->mb->err;
}

int shmx__mbox_take(struct shmx_ctx *ctx, int type, uint64_t deadline_ns,
		    struct shmx__mbox_item **item)
{
	struct shmx_mbox *mb = shmx__mbox_get(ctx);
	struct take_arg t = { mb, type == SHMX_PEER_SIGNAL ? Q_SIGNALS
							   : Q_MESSAGES };
	struct shmx__mbox_item *it;
	struct mbox_in *in;
	int ret;

	if (!mb)
		return ctx->mbox_err;
	pthread_mutex_lock(&mb->lock);
	ret = wait_locked(ctx, mb, has_item, &t, deadline_ns, 0, 1);
	it = ret ? NULL : dequeue(ctx, mb, t.q);
	if (!it) {
		pthread_mutex_unlock(&mb->lock);
		return ret ? ret : mb->err;
	}
	in = &mb->in[it->src];
	if (in->tag == it->src_tag) {
		in->taken++;
		if (in->taken - in->credited >= credit_step(mb->window))
			credit(ctx, mb, it->src, in);
	}
	pthread_mutex_unlock(&mb->lock);
	*item = it;
	return 0;
}

/* ---------------------------------------------------------------------- */
/* The thread, opening and closing                                        */
/* ---------------------------------------------------------------------- */

/* Answer the senders that asked for a credit again.  mb->lock held. */
static void answer_asks(struct shmx_ctx *ctx, struct shmx_mbox *mb)
{
	mb->asked = 0;
	for (uint32_t src = 1; src <= mb->max; src++) {
		struct mbox_in *in = &mb->in[src];

		if (!in->asked)
			continue;
		in->asked = 0;
		credit(ctx, mb, src, in);
	}
}

static void *mbox_main(void *arg)
{
	struct shmx_mbox *mb = arg;
	struct shmx_ctx *ctx = mb->ctx;
	uint64_t nap = MBOX_NAP_MIN_NS, now;
	struct timespec ts;
	int due = 0, n;

	pthread_mutex_lock(&mb->lock);
	while (!mb->stop && !mb->err) {
		if (mb->asked) {
			answer_asks(ctx, mb);
			continue;
		}
		now = shmx__now_ns();
		if (mb->waiting || mb->poller != POLLER_NONE ||
		    now - mb->waited < MBOX_LINGER_NS) {
			/* Callers poll for themselves: keep out of their
			 * way, and look again a while after the last. */
			shmx__mono_timespec(
				(mb->waiting || mb->poller ? now : mb->waited) +
					MBOX_LINGER_NS,
				&ts);
			pthread_cond_timedwait(&mb->park, &mb->lock, &ts);
			continue;
		}
		n = poll_locked(ctx, mb);
		if (n) {
			due = 0;
			nap = MBOX_NAP_MIN_NS;
			continue;
		}
		endpoint_sleep(mb, POLLER_THREAD, now + MBOX_IDLE_NS, &due,
			       &nap, MBOX_NAP_THREAD_NS);
	}
	pthread_mutex_unlock(&mb->lock);
	return NULL;
}

/* The window this context asks of its senders: SHMEXT_MSG_WINDOW or the
 * default.  0 or -EINVAL. */
static int window_get(uint32_t *window)
{
	const char *s = getenv("SHMEXT_MSG_WINDOW");
	char *end;
	unsigned long v;

	*window = SHMX_MSG_WINDOW_DEFAULT;
	if (!s || !*s)
		return 0;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || !v || v > SHMX_MAILBOX_WINDOW_MAX) {
		log_error("SHMEXT_MSG_WINDOW=%s: not a window of 1 to %u "
			  "messages",
			  s, SHMX_MAILBOX_WINDOW_MAX);
		return -EINVAL;
	}
	*window = (uint32_t)v;
	return 0;
}

static void mbox_free(struct shmx_mbox *mb)
{
	for (int q = 0; q < Q_NR; q++) {
		struct shmx__mbox_item *it;

		while ((it = mb->head[q])) {
			mb->head[q] = it->next;
			free(it);
		}
	}
	if (mb->xp) {
		mb->xp->ops->shutdown(mb->xp);
		mb->xp->ops->close(mb->xp);
	}
	if (mb->wake_fd >= 0)
		close(mb->wake_fd);
	pthread_cond_destroy(&mb->cond);
	pthread_cond_destroy(&mb->park);
	pthread_mutex_destroy(&mb->lock);
	free(mb->out);
	free(mb->in);
	free(mb);
}

/* Listen where the node is reached from, on a port of the system's
 * choosing, and publish the address.  0 or -errno. */
static int mbox_listen(struct shmx_ctx *ctx, struct shmx_mbox *mb)
{
	struct xport_attr xattr = { 0 };
	char host[64], bind[80], why[160];
	struct shmx_msg req, rep;
	int ret;

	pthread_mutex_lock(&ctx->lock);
	ret = xport_local_host(ctx->xp, host, sizeof(host));
	pthread_mutex_unlock(&ctx->lock);
	if (ret)
		return ret;
	snprintf(bind, sizeof(bind), strchr(host, ':') ? "[%s]:0" : "%s:0",
		 host);
	xattr.bind = bind;
	if (!strcmp(ctx->transport, "ofi"))
		xattr.provider = ctx->xp->caps.provider;
	ret = shmx__xport_open(ctx->transport, &xattr, &mb->xp, why,
			       sizeof(why));
	if (ret) {
		mb->xp = NULL;
		return ret;
	}
	shmx__msg_init(&req, SHMX_OP_MAILBOX, 0, 0, 0);
	ret = xport_listen_addr(mb->xp, req.u.mailbox.addr,
				sizeof(req.u.mailbox.addr));
	if (ret)
		return ret;
	req.u.mailbox.tag = mb->tag;
	req.u.mailbox.window = mb->window;
	ret = shmx__rpc(ctx, &req, &rep, ctx->timeout_ms);
	if (!ret)
		log_debug("mailbox at %s, window %u", req.u.mailbox.addr,
			  mb->window);
	return ret;
}

/* Open the mailbox: ctx->mbox, or ctx->mbox_err saying why not.  Under
 * ctx->mbox_open_lock. */
static void mbox_open(struct shmx_ctx *ctx)
{
	struct shmx_mbox *mb = calloc(1, sizeof(*mb));
	pthread_condattr_t ca;
	int ret;

	if (!mb) {
		__atomic_store_n(&ctx->mbox_err, -ENOMEM, __ATOMIC_RELEASE);
		return;
	}
	mb->ctx = ctx;
	pthread_mutex_init(&mb->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&mb->cond, &ca);
	pthread_cond_init(&mb->park, &ca);
	pthread_condattr_destroy(&ca);
	for (int q = 0; q < Q_NR; q++)
		mb->tail[q] = &mb->head[q];
	mb->max = ctx->max_members;
	mb->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	mb->out = calloc((size_t)mb->max + 1, sizeof(*mb->out));
	mb->in = calloc((size_t)mb->max + 1, sizeof(*mb->in));
	ret = mb->wake_fd < 0	    ? -errno
	      : !mb->out || !mb->in ? -ENOMEM
				    : window_get(&mb->window);
	while (!ret && !mb->tag)
		ret = shmx__random(&mb->tag, sizeof(mb->tag));
	for (uint32_t i = 0; !ret && i <= mb->max; i++)
		mb->out[i].peer = XPORT_PEER_NONE;
	if (!ret)
		ret = mbox_listen(ctx, mb);
	if (!ret) {
		ret = -pthread_create(&mb->thread, NULL, mbox_main, mb);
		mb->started = !ret;
	}
	if (ret) {
		log_warn("mailbox: %s: this member can neither send nor "
			 "receive signals and messages",
			 shmx_strerror(ret));
		__atomic_store_n(&ctx->mbox_err, ret, __ATOMIC_RELEASE);
		mbox_free(mb);
		return;
	}
	__atomic_store_n(&ctx->mbox, mb, __ATOMIC_RELEASE);
}

struct shmx_mbox *shmx__mbox_get(struct shmx_ctx *ctx)
{
	struct shmx_mbox *mb = __atomic_load_n(&ctx->mbox, __ATOMIC_ACQUIRE);

	if (mb || __atomic_load_n(&ctx->mbox_err, __ATOMIC_ACQUIRE))
		return mb;
	pthread_mutex_lock(&ctx->mbox_open_lock);
	if (!ctx->mbox && !ctx->mbox_err)
		mbox_open(ctx);
	mb = ctx->mbox;
	pthread_mutex_unlock(&ctx->mbox_open_lock);
	return mb;
}

void shmx__mbox_close(struct shmx_ctx *ctx)
{
	struct shmx_mbox *mb = ctx->mbox;

	if (!mb)
		return;
	pthread_mutex_lock(&mb->lock);
	mb->stop = 1;
	kick(mb);
	pthread_cond_signal(&mb->park);
	pthread_mutex_unlock(&mb->lock);
	if (mb->started)
		pthread_join(mb->thread, NULL);
	ctx->mbox = NULL;
	ctx->mbox_err = -ENOTCONN;
	mbox_free(mb);
}

int shmx__mbox_each(struct shmx_ctx *ctx,
		    int (*send)(struct shmx_ctx *ctx, uint32_t dest, void *arg),
		    void *arg, struct shmx_send_status *st, size_t max,
		    size_t *count)
{
	struct shmx_member *m;
	size_t n = 0, k = 0;
	int ret, first = 0;

	if (!shmx__mbox_get(ctx))
		return ctx->mbox_err;
	m = calloc(ctx->max_members ? ctx->max_members : 1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	/* The members live at the call; those who join later are not in. */
	ret = shmx_members(ctx, m, ctx->max_members, &n);
	for (size_t i = 0; !ret && i < n && i < ctx->max_members; i++) {
		int r;

		if (m[i].id == ctx->id)
			continue;
		r = send(ctx, m[i].id, arg);
		if (r && !first)
			first = r;
		if (st && k < max) {
			st[k].dest = m[i].id;
			st[k].status = r;
		}
		k++;
	}
	free(m);
	if (!ret && count)
		*count = k;
	return ret ? ret : first;
}
