/* SPDX-License-Identifier: MIT */
/*
 * context.c - shmx_open and shmx_close: settings from attr and environment,
 * the transport, the authenticated handshake with shmnode, and the
 * heartbeat thread that keeps the membership alive and notices a dead node.
 */
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ctx.h"
#include "mailbox.h"
#include "proto/auth.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/parse.h"

#define ATTR_KNOWN_MASK                                                        \
	(SHMX_OPEN_ATTR_NODE | SHMX_OPEN_ATTR_NAME |                           \
	 SHMX_OPEN_ATTR_TRANSPORT | SHMX_OPEN_ATTR_PROVIDER |                  \
	 SHMX_OPEN_ATTR_KEY_FILE | SHMX_OPEN_ATTR_TIMEOUT)

/* The settings of one open, after attr and environment are applied. */
struct settings {
	const char *node;
	const char *transport;
	const char *provider;
	const char *key_file;
	char name[SHMX_NAME_MAX];
	int timeout_ms;
	int reconnect_ms;
};

/* How long an unreachable node is tried again unless SHMEXT_RECONNECT_MS
 * says otherwise. */
#define RECONNECT_MS_DEFAULT 10000

/* attr field if its bit is set and it is non-NULL, else env, else @def. */
static const char *pick(const struct shmx_open_attr *attr, uint32_t bit,
			const char *field, const char *env, const char *def)
{
	const char *v;

	if (attr && (attr->comp_mask & bit) && field)
		return field;
	v = getenv(env);
	return v && *v ? v : def;
}

static int settings_get(const struct shmx_open_attr *attr, struct settings *s)
{
	const char *name, *tmo, *rec;
	int64_t t;

	if (attr && (attr->comp_mask & ~ATTR_KNOWN_MASK))
		return -EINVAL;
	s->node = pick(attr, SHMX_OPEN_ATTR_NODE, attr ? attr->node : NULL,
		       "SHMEXT_NODE", SHMX_DEFAULT_NODE);
	s->transport =
		pick(attr, SHMX_OPEN_ATTR_TRANSPORT,
		     attr ? attr->transport : NULL, "SHMEXT_TRANSPORT", "auto");
	s->provider = pick(attr, SHMX_OPEN_ATTR_PROVIDER,
			   attr ? attr->provider : NULL, "SHMEXT_PROVIDER",
			   SHMX_DEFAULT_PROVIDER);
	s->key_file =
		pick(attr, SHMX_OPEN_ATTR_KEY_FILE,
		     attr ? attr->key_file : NULL, "SHMEXT_KEY_FILE", NULL);
	name = pick(attr, SHMX_OPEN_ATTR_NAME, attr ? attr->name : NULL,
		    "SHMEXT_NAME", NULL);
	if (name) {
		if (!*name || shmx__strlcpy(s->name, name, sizeof(s->name)))
			return -EINVAL;
		for (const char *p = name; *p; p++)
			if (*p < 0x20 || *p > 0x7e)
				return -EINVAL;
	} else {
		snprintf(s->name, sizeof(s->name), "%.40s-%d",
			 program_invocation_short_name, (int)getpid());
	}
	if (attr && (attr->comp_mask & SHMX_OPEN_ATTR_TIMEOUT)) {
		s->timeout_ms = attr->timeout_ms;
	} else if ((tmo = getenv("SHMEXT_TIMEOUT_MS")) && *tmo) {
		if (shmx__parse_i64(tmo, &t) || t <= 0 || t > INT32_MAX)
			return -EINVAL;
		s->timeout_ms = (int)t;
	} else {
		s->timeout_ms = SHMX_DEFAULT_TIMEOUT_MS;
	}
	if (s->timeout_ms <= 0)
		return -EINVAL;
	s->reconnect_ms = RECONNECT_MS_DEFAULT;
	if ((rec = getenv("SHMEXT_RECONNECT_MS")) && *rec) {
		if (shmx__parse_i64(rec, &t) || t < 0 || t > INT32_MAX)
			return -EINVAL;
		s->reconnect_ms = (int)t;
	}
	return 0;
}

/* This host's name, cut to fit and to printable characters. */
static void host_name(char *buf, size_t len)
{
	if (gethostname(buf, len) || !buf[0])
		shmx__strlcpy(buf, "localhost", len);
	buf[len - 1] = '\0';
	for (char *p = buf; *p; p++)
		if (*p < 0x20 || *p > 0x7e)
			*p = '?';
}

/* HELLO, CHALLENGE, AUTH, WELCOME.  Returns 0 or -errno. */
static int handshake(struct shmx_ctx *ctx, const struct shmx_key *key)
{
	uint8_t client_nonce[SHMX_NONCE_LEN], mac[SHMX_MAC_LEN];
	struct shmx_msg req, rep;
	struct shmx_hello *h = &req.u.hello;
	struct shmx_welcome *w;
	size_t alen = sizeof(h->addr);
	int ret;

	shmx__msg_init(&req, SHMX_OP_HELLO, 0, 0, 0);
	h->pid = (uint32_t)getpid();
	h->uid = (uint32_t)getuid();
	h->gid = (uint32_t)getgid();
	ret = shmx__random(client_nonce, sizeof(client_nonce));
	if (ret)
		return ret;
	memcpy(h->nonce, client_nonce, sizeof(client_nonce));
	shmx__strlcpy(h->name, ctx->name, sizeof(h->name));
	host_name(h->host, sizeof(h->host));
	ret = xport_getname(ctx->xp, h->addr, &alen);
	if (ret)
		return ret;
	h->addr_len = (uint8_t)alen;
	ret = shmx__rpc(ctx, &req, &rep, ctx->timeout_ms);
	if (ret == -ETIMEDOUT || ret == -ECONNRESET || ret == -ENOTCONN ||
	    ret == -EIO)
		return -ECONNREFUSED;
	if (ret)
		return ret;

	if ((rep.u.challenge.flags & SHMX_CHAL_KEY_REQUIRED) && !key) {
		log_warn("%s requires a key: set SHMEXT_KEY_FILE",
			 ctx->node_addr);
		return -EACCES;
	}
	pthread_mutex_lock(&ctx->lock);
	ctx->id = rep.u.challenge.session;
	ctx->token = rep.u.challenge.token;
	pthread_mutex_unlock(&ctx->lock);

	shmx__msg_init(&req, SHMX_OP_AUTH, 0, 0, 0);
	if (key)
		shmx__auth_client_mac(key, rep.u.challenge.nonce, client_nonce,
				      ctx->id, ctx->name, req.u.auth.mac);
	{
		uint8_t node_nonce[SHMX_NONCE_LEN];

		memcpy(node_nonce, rep.u.challenge.nonce, sizeof(node_nonce));
		ret = shmx__rpc(ctx, &req, &rep, ctx->timeout_ms);
		if (ret)
			return ret;
		w = &rep.u.welcome;
		if (w->authenticated) {
			if (!key)
				return -EPROTO;
			shmx__auth_node_mac(key, client_nonce, node_nonce,
					    ctx->id, mac);
			if (!shmx__mac_equal(mac, w->mac)) {
				log_warn("%s could not prove it knows the key",
					 ctx->node_addr);
				return -EACCES;
			}
		}
	}
	if (w->node_id != ctx->id)
		return -EPROTO;
	/* Until the header is read: one extent, enough to read it. */
	ctx->map.nr_extents = 1;
	ctx->map.ext[0].len = w->region_size;
	ctx->map.total = w->region_size;
	ctx->authenticated = (int)w->authenticated;
	ctx->heartbeat_ms = w->heartbeat_ms ? w->heartbeat_ms : 500;
	ctx->boot = w->boot;
	shmx__strlcpy(ctx->node_version, w->version, sizeof(ctx->node_version));
	/* The whole current map and the root, from the header. */
	return shmx__hdr_connect(ctx, w->hdr_key, w->hdr_base, w->hdr_size);
}

/*
 * Ping the node every heartbeat; a failed ping marks the context lost.
 * While lock tickets given up by timed-out waiters are still in line, it
 * also looks at them every millisecond and passes the lock on when their
 * turn comes, and drives the completions of lock releases in flight;
 * while the context has lock handles, it writes the holder record of
 * holds that last, every 10 ms.
 */
static void *heartbeat_main(void *arg)
{
	struct shmx_ctx *ctx = arg;
	uint64_t next_ping = shmx__now_ns() + ctx->heartbeat_ms * 1000000ull;
	struct shmx_msg req, rep;
	struct timespec ts;

	pthread_mutex_lock(&ctx->hb_lock);
	while (!ctx->hb_stop) {
		uint64_t wake = next_ping, now = shmx__now_ns();

		if ((ctx->lock_orphans ||
		     __atomic_load_n(&ctx->lock_releasing, __ATOMIC_RELAXED)) &&
		    now + 1000000ull < wake)
			wake = now + 1000000ull;
		if (__atomic_load_n(&ctx->nr_locks, __ATOMIC_RELAXED) &&
		    now + SHMX_LOCK_RECORD_EVERY_NS < wake)
			wake = now + SHMX_LOCK_RECORD_EVERY_NS;
		shmx__mono_timespec(wake, &ts);
		pthread_cond_timedwait(&ctx->hb_cond, &ctx->hb_lock, &ts);
		if (ctx->hb_stop)
			break;
		pthread_mutex_unlock(&ctx->hb_lock);
		(void)shmx__lock_releases_run(ctx);
		(void)shmx__lock_orphans_run(ctx);
		(void)shmx__lock_records_run(ctx);
		(void)shmx__msg_sweep_run(ctx);
		if (shmx__now_ns() >= next_ping) {
			next_ping =
				shmx__now_ns() + ctx->heartbeat_ms * 1000000ull;
			shmx__msg_init(&req, SHMX_OP_PING, 0, 0, 0);
			if (shmx__rpc(ctx, &req, &rep, ctx->timeout_ms)) {
				pthread_mutex_lock(&ctx->hb_lock);
				break;
			}
		}
		pthread_mutex_lock(&ctx->hb_lock);
	}
	pthread_mutex_unlock(&ctx->hb_lock);
	return NULL;
}

static int heartbeat_start(struct shmx_ctx *ctx)
{
	pthread_condattr_t ca;
	int ret;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&ctx->hb_cond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&ctx->hb_lock, NULL);
	ret = pthread_create(&ctx->hb_thread, NULL, heartbeat_main, ctx);
	if (ret)
		return -ret;
	ctx->hb_started = 1;
	return 0;
}

static void heartbeat_stop(struct shmx_ctx *ctx)
{
	if (!ctx->hb_started)
		return;
	pthread_mutex_lock(&ctx->hb_lock);
	ctx->hb_stop = 1;
	pthread_cond_signal(&ctx->hb_cond);
	pthread_mutex_unlock(&ctx->hb_lock);
	pthread_join(ctx->hb_thread, NULL);
	ctx->hb_started = 0;
}

/* Free a context whose heartbeat thread is stopped. */
static void ctx_free(struct shmx_ctx *ctx)
{
	if (ctx->xp) {
		/* Operations still in flight (a timed-out call) must not
		 * write into buffers freed below. */
		ctx->xp->ops->shutdown(ctx->xp);
		shmx__data_release(ctx);
		shmx__lock_orphans_free(ctx);
		ctx->xp->ops->close(ctx->xp);
	}
	shmx__rpc_release(ctx);
	shmx__km_clear(&ctx->keys);
	shmx__events_fini(ctx);
	pthread_mutex_destroy(&ctx->mbox_open_lock);
	pthread_mutex_destroy(&ctx->lock);
	pthread_rwlock_destroy(&ctx->msg_rw);
	free(ctx);
}

SHMX_EXPORT int shmx_open(const struct shmx_open_attr *attr,
			  struct shmx_ctx **out)
{
	struct xport_attr xattr = { 0 };
	struct shmx_key key, *keyp = NULL;
	struct settings s = { 0 };
	struct shmx_ctx *ctx;
	char host[128];
	uint16_t port;
	int ret, loose = 0;

	if (!out)
		return -EINVAL;
	ret = settings_get(attr, &s);
	if (ret)
		return ret;
	ret = shmx__parse_host_port(s.node, SHMX_DEFAULT_PORT, host,
				    sizeof(host), &port);
	if (ret)
		return -EINVAL;
	if (!shmx__xport_name_ok(s.transport))
		return -ENODEV;
	if (s.key_file) {
		ret = shmx__key_load(s.key_file, &key, &loose);
		if (ret)
			return ret;
		if (loose)
			log_warn("key file %s is readable by others",
				 s.key_file);
		keyp = &key;
	}

	ctx = calloc(1, sizeof(*ctx));
	if (!ctx) {
		ret = -ENOMEM;
		goto out_wipe_key;
	}
	pthread_mutex_init(&ctx->lock, NULL);
	pthread_rwlock_init(&ctx->msg_rw, NULL);
	pthread_mutex_init(&ctx->mbox_open_lock, NULL);
	ret = shmx__events_init(ctx);
	if (ret)
		goto out_free_ctx;
	ctx->timeout_ms = s.timeout_ms;
	ctx->node = XPORT_PEER_NONE;
	shmx__strlcpy(ctx->name, s.name, sizeof(ctx->name));
	snprintf(ctx->node_addr, sizeof(ctx->node_addr), "%s", s.node);

	xattr.provider = s.provider;
	xattr.connect = s.node;
	ret = shmx__xport_open(s.transport, &xattr, &ctx->xp,
			       ctx->transport_why, sizeof(ctx->transport_why));
	if (ret) {
		ctx->xp = NULL;
		goto out_free_ctx;
	}
	shmx__strlcpy(ctx->transport, ctx->xp->ops->name,
		      sizeof(ctx->transport));
	ret = xport_resolve(ctx->xp, s.node, &ctx->node);
	if (ret) {
		ret = ret == -ENODEV ? ret : -EINVAL;
		goto out_free_ctx;
	}
	ret = handshake(ctx, keyp);
	if (ret)
		goto out_free_ctx;
	/* Joined: from now on a node that goes away is waited for. */
	pthread_mutex_lock(&ctx->lock);
	ctx->reconnect_ms = s.reconnect_ms;
	ctx->heard_ns = shmx__now_ns();
	pthread_mutex_unlock(&ctx->lock);
	ret = heartbeat_start(ctx);
	if (ret)
		goto out_free_ctx;
	if (keyp)
		shmx__key_wipe(keyp);
	log_debug("joined %s as member %u (%s)", ctx->node_addr, ctx->id,
		  ctx->name);
	*out = ctx;
	return 0;

out_free_ctx:
	ctx_free(ctx);
out_wipe_key:
	if (keyp)
		shmx__key_wipe(keyp);
	return ret;
}

SHMX_EXPORT int shmx_close(struct shmx_ctx *ctx)
{
	struct shmx_msg req, rep;
	int ret = 0;

	if (!ctx)
		return 0;
	/* Releases still in flight land before the goodbye. */
	(void)shmx__lock_settle(ctx);
	/* A node that went away is not waited for any more. */
	pthread_mutex_lock(&ctx->lock);
	ctx->closing = 1;
	pthread_mutex_unlock(&ctx->lock);
	shmx__msg_drop_untaken(ctx);
	shmx__mbox_close(ctx);
	/* Not under a sweep of the message pool (heartbeat thread). */
	pthread_rwlock_wrlock(&ctx->msg_rw);
	if (ctx->msg_pool)
		(void)shmx_pool_close(ctx->msg_pool);
	pthread_mutex_lock(&ctx->lock);
	ctx->msg_pool = NULL;
	pthread_mutex_unlock(&ctx->lock);
	pthread_rwlock_unlock(&ctx->msg_rw);
	heartbeat_stop(ctx);
	shmx__msg_init(&req, SHMX_OP_BYE, 0, 0, 0);
	ret = shmx__rpc(ctx, &req, &rep,
			ctx->timeout_ms < 1000 ? ctx->timeout_ms : 1000);
	pthread_cond_destroy(&ctx->hb_cond);
	pthread_mutex_destroy(&ctx->hb_lock);
	ctx_free(ctx);
	return ret;
}

SHMX_EXPORT shmx_node_t shmx_self(const struct shmx_ctx *ctx)
{
	return ctx ? ctx->id : 0;
}
