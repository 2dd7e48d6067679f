/* SPDX-License-Identifier: MIT */
/*
 * persist.c - what shmnode keeps in its backing file and journal, and how
 * it comes back after a restart (persist.h): the records of the node
 * (extents, root, next ids) and of its members, the tables' own records
 * (pools.c, segments.c, locks.c), which request changes which object, and
 * the order in which objects are put back.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "persist.h"
#include "server.h"
#include "util/clock.h"
#include "util/errstr.h"
#include "util/log.h"

/* The lock table comes first in the memory file, rounded up to this. */
#define LOCK_AREA_ALIGN ((uint64_t)2 << 20)

/* PERSIST_NODE's record (key 0). */
struct node_rec {
	uint64_t root;
	uint64_t next_pool, next_seg, next_lock;
	uint32_t nr;
	uint32_t pad;
	struct shmx_extent ext[SHMX_EXTENTS_MAX];
};

/* PERSIST_MEMBER's record (key: the node id). */
struct member_rec {
	uint64_t token;
	uint32_t authenticated;
	uint32_t mbox_window;
	uint64_t mbox_tag;
	struct shmx_member_wire info;
	char mbox_addr[SHMX_MAILBOX_ADDR_MAX];
	uint8_t addr_len;
	uint8_t addr[SHMX_WIRE_ADDR_MAX];
};

/* A record read back, the last of its object. */
struct staged {
	struct shmx__rb_node node;
	uint64_t key;
	size_t len;
	uint8_t body[];
};

#define node_staged(n) shmx__rb_entry(n, struct staged, node)

static uint64_t staged_key(const struct shmx__rb_node *n)
{
	return node_staged(n)->key;
}

/* journal_fn: keep the last record of each object. */
static int stage(void *arg, uint32_t type, int del, uint64_t key,
		 const void *body, size_t len)
{
	struct persist *p = arg;
	struct shmx__rb_root *root;
	struct shmx__rb_node *n;
	struct staged *s;

	if (!type || type >= PERSIST_KINDS)
		return 0; /* a kind this version does not know */
	root = &p->staged[type];
	n = shmx__rb_find(root, key, staged_key);
	if (n) {
		shmx__rb_erase(n, root);
		free(node_staged(n));
	}
	if (del)
		return 0;
	s = malloc(sizeof(*s) + len);
	if (!s)
		return -ENOMEM;
	s->key = key;
	s->len = len;
	memcpy(s->body, body, len);
	shmx__rb_insert_key(root, &s->node, staged_key);
	return 0;
}

static void unstage(struct persist *p)
{
	for (int k = 0; k < PERSIST_KINDS; k++) {
		struct shmx__rb_node *n;

		while ((n = shmx__rb_first(&p->staged[k]))) {
			shmx__rb_erase(n, &p->staged[k]);
			free(node_staged(n));
		}
	}
}

/* The node's record read back, or NULL. */
static const struct node_rec *staged_node(const struct persist *p)
{
	struct shmx__rb_node *n =
		shmx__rb_find(&p->staged[PERSIST_NODE], 0, staged_key);

	if (!n || node_staged(n)->len != sizeof(struct node_rec))
		return NULL;
	return (const struct node_rec *)node_staged(n)->body;
}

int persist_open(struct server *srv, uint64_t *size0)
{
	struct persist *p = &srv->persist;
	const char *path = srv->cfg.backing;
	uint64_t locks = (uint64_t)srv->cfg.max_locks * SHMX_LOCK_SLOT;
	struct journal_head head = { 0 };
	const struct node_rec *nr;
	char jpath[PATH_MAX], err[256] = "";
	uint64_t dropped;
	int ret, fresh;

	memset(p, 0, sizeof(*p));
	p->fd = -1;
	p->j.fd = -1;
	*size0 = srv->cfg.size;
	if (!path[0])
		return 0;
	p->on = 1;
	p->file_off = (locks + LOCK_AREA_ALIGN - 1) / LOCK_AREA_ALIGN *
		      LOCK_AREA_ALIGN;
	p->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (p->fd < 0) {
		ret = -errno;
		log_error("backing file %s: %s", path, shmx__strerror(ret));
		return ret;
	}
	if (flock(p->fd, LOCK_EX | LOCK_NB)) {
		ret = errno == EWOULDBLOCK ? -EBUSY : -errno;
		log_error("backing file %s: %s", path,
			  ret == -EBUSY ? "in use by another shmnode"
					: shmx__strerror(ret));
		goto fail;
	}
	if (snprintf(jpath, sizeof(jpath), "%s.journal", path) >=
	    (int)sizeof(jpath)) {
		ret = -ENAMETOOLONG;
		log_error("backing file %s: name too long", path);
		goto fail;
	}
	head.max_members = srv->cfg.max_members;
	head.max_locks = srv->cfg.max_locks;
	head.file_off = p->file_off;
	ret = journal_open(&p->j, jpath, &head, srv->cfg.backing_sync, &fresh,
			   err, sizeof(err));
	if (ret) {
		log_error("journal %s: %s", jpath,
			  err[0] ? err : shmx__strerror(ret));
		goto fail;
	}
	if (fresh) {
		log_info("backing file %s: new (journal %s)", path, jpath);
		return 0;
	}
	ret = journal_read(&p->j, stage, p, &dropped);
	if (ret) {
		log_error("journal %s: cannot read it back: %s", jpath,
			  shmx__strerror(ret));
		goto fail;
	}
	if (dropped)
		log_warn("journal %s: %llu bytes after the last whole record "
			 "dropped (a write cut by a crash: never answered)",
			 jpath, (unsigned long long)dropped);
	nr = staged_node(p);
	if (nr && nr->nr) {
		if (nr->ext[0].len != srv->cfg.size)
			log_warn("backing file %s: the region keeps its %llu "
				 "bytes (size = %llu ignored)",
				 path, (unsigned long long)nr->ext[0].len,
				 (unsigned long long)srv->cfg.size);
		*size0 = nr->ext[0].len;
	}
	return 0;

fail:
	persist_close(srv);
	return ret;
}

int persist_fd(const struct server *srv)
{
	return srv->persist.fd;
}

uint64_t persist_file_off(const struct server *srv)
{
	return srv->persist.file_off;
}

/* ---- writing records ------------------------------------------------- */

/* A table's save function (pools.h, segments.h, locks.h), on @srv. */
static size_t save_obj(struct server *srv, int kind, uint64_t key, void *buf,
		       size_t cap)
{
	switch (kind) {
	case PERSIST_POOL:
		return node_pool_save(&srv->pools, key, buf, cap);
	case PERSIST_BLOCK:
		return node_block_save(&srv->pools, key, buf, cap);
	case PERSIST_SEG:
		return node_seg_save(&srv->segs, key, buf, cap);
	case PERSIST_LOCK:
		return node_lock_save(&srv->locks, key, buf, cap);
	}
	return 0;
}

/* Put object @key of @kind in the journal as it is now: its record, or
 * its deletion when it is gone. */
static void note(struct server *srv, int kind, uint64_t key)
{
	uint8_t small[512], *buf = small;
	size_t len = save_obj(srv, kind, key, small, sizeof(small));

	if (len > sizeof(small)) {
		buf = malloc(len);
		if (!buf) {
			srv->persist.j.err = -ENOMEM;
			return;
		}
		len = save_obj(srv, kind, key, buf, len);
	}
	if (len)
		journal_put(&srv->persist.j, (uint32_t)kind, key, buf, len);
	else
		journal_del(&srv->persist.j, (uint32_t)kind, key);
	if (buf != small)
		free(buf);
}

static void note_node(struct server *srv)
{
	struct node_rec r;

	memset(&r, 0, sizeof(r));
	r.root = srv->root;
	r.next_pool = node_pools_next_id(&srv->pools);
	r.next_seg = node_segs_next_id(&srv->segs);
	r.next_lock = node_locks_next_id(&srv->locks);
	r.nr = srv->mem.nr;
	for (uint32_t i = 0; i < srv->mem.nr; i++) {
		r.ext[i].base = srv->mem.ext[i].base;
		r.ext[i].len = srv->mem.ext[i].len;
	}
	journal_put(&srv->persist.j, PERSIST_NODE, 0, &r, sizeof(r));
}

static void note_member(struct server *srv, const struct member *m)
{
	struct member_rec r;

	if (m->state != MEMBER_LIVE) {
		journal_del(&srv->persist.j, PERSIST_MEMBER, m->info.id);
		return;
	}
	memset(&r, 0, sizeof(r));
	r.token = m->token;
	r.authenticated = (uint32_t)m->authenticated;
	r.mbox_window = m->mbox_window;
	r.mbox_tag = m->mbox_tag;
	r.info = m->info;
	memcpy(r.mbox_addr, m->mbox_addr, sizeof(r.mbox_addr));
	r.addr_len = m->addr_len;
	memcpy(r.addr, m->addr, sizeof(r.addr));
	journal_put(&srv->persist.j, PERSIST_MEMBER, m->info.id, &r, sizeof(r));
}

/* Every object as it is now, into a new journal. */
static int rewrite(struct server *srv)
{
	struct node_pool_info pi;
	struct node_block_info bi;
	struct node_seg_info si;
	struct node_lock_info li;
	int ret;

	ret = journal_rewrite_begin(&srv->persist.j);
	if (ret)
		return ret;
	note_node(srv);
	for (struct member *m = registry_next_live(&srv->reg, 1); m;
	     m = registry_next_live(&srv->reg, m->info.id + 1))
		note_member(srv, m);
	for (uint64_t at = 1; !node_pool_next(&srv->pools, at, &pi);
	     at = pi.id + 1)
		note(srv, PERSIST_POOL, pi.id);
	for (uint64_t at = 0; !node_block_next(&srv->pools, at, &bi);
	     at = bi.start + 1)
		note(srv, PERSIST_BLOCK, bi.start);
	for (uint64_t at = 1; !node_seg_next(&srv->segs, at, &si);
	     at = si.id + 1)
		note(srv, PERSIST_SEG, si.id);
	for (uint64_t at = 1; !node_lock_next(&srv->locks, at, &li);
	     at = li.id + 1)
		note(srv, PERSIST_LOCK, li.id);
	return journal_rewrite_end(&srv->persist.j);
}

int persist_commit(struct server *srv)
{
	struct persist *p = &srv->persist;
	int ret;

	if (!p->on)
		return 0;
	if (p->all || journal_wants_rewrite(&p->j)) {
		/* What was noted is in the rewrite too. */
		p->j.len = 0;
		p->j.err = 0;
		ret = rewrite(srv);
		p->all = ret != 0;
		p->rewrites += !ret;
	} else {
		if (!p->j.len && !p->j.err)
			return 0; /* nothing noted */
		ret = journal_commit(&p->j);
		p->all = ret != 0; /* try a whole rewrite next time */
		p->commits += !ret;
	}
	p->errors += ret != 0;
	if (ret)
		log_error("journal %s: %s: changes since the last write would "
			  "not survive a restart",
			  p->j.path, shmx__strerror(ret));
	return ret;
}

int persist_request(struct server *srv, const struct member *m,
		    const struct shmx_msg *req, const struct shmx_msg *rep)
{
	if (!srv->persist.on || rep->hdr.status != SHMX_ST_OK)
		return 0;
	switch (req->hdr.opcode) {
	case SHMX_OP_AUTH:
	case SHMX_OP_MAILBOX:
	case SHMX_OP_RESUME:
		note_member(srv, m);
		break;
	case SHMX_OP_ROOT_SET:
	case SHMX_OP_GROW:
	case SHMX_OP_SHRINK:
		note_node(srv);
		break;
	case SHMX_OP_POOL_OPEN:
		note(srv, PERSIST_POOL, rep->u.pool.id);
		note_node(srv);
		break;
	case SHMX_OP_POOL_CLOSE:
	case SHMX_OP_POOL_DESTROY:
		/* A pool's blocks go with it: at the next start, records of
		 * blocks whose pool is gone are passed over. */
		note(srv, PERSIST_POOL, req->u.obj.id);
		break;
	case SHMX_OP_ALLOC:
	case SHMX_OP_OWN:
	case SHMX_OP_OWN_TRANSFER:
	case SHMX_OP_DISOWN:
		note(srv, PERSIST_BLOCK, rep->u.grant.start);
		break;
	case SHMX_OP_RELEASE:
		note(srv, PERSIST_BLOCK, req->u.addr.gaddr);
		break;
	case SHMX_OP_SEG_OPEN:
		note(srv, PERSIST_SEG, rep->u.seg.id);
		note_node(srv);
		break;
	case SHMX_OP_SEG_CLOSE:
		note(srv, PERSIST_SEG, req->u.seg_close.id);
		break;
	case SHMX_OP_SEG_SET:
		note(srv, PERSIST_SEG, req->u.seg_set.id);
		break;
	case SHMX_OP_SEG_REMOVE:
	case SHMX_OP_SEG_FREEZE:
	case SHMX_OP_SEG_THAW:
		note(srv, PERSIST_SEG, req->u.obj.id);
		break;
	case SHMX_OP_LOCK_RESERVE:
		note(srv, PERSIST_LOCK, rep->u.lock.id);
		note_node(srv);
		break;
	case SHMX_OP_LOCK_UNRESERVE:
		note(srv, PERSIST_LOCK, req->u.obj.id);
		break;
	default:
		return 0; /* changes nothing kept */
	}
	return persist_commit(srv);
}

void persist_member(struct server *srv, const struct member *m)
{
	if (srv->persist.on)
		note_member(srv, m);
}

void persist_node(struct server *srv)
{
	if (srv->persist.on)
		note_node(srv);
}

void persist_everything(struct server *srv)
{
	srv->persist.all = srv->persist.on;
}

/* ---- putting it back ------------------------------------------------- */

/* The extents past extent 0 and the root of @r.  0 or -errno. */
static int restore_node(struct server *srv, const struct node_rec *r)
{
	uint64_t base;
	int ret;

	if (r->nr > SHMX_EXTENTS_MAX)
		return -EBADMSG;
	for (uint32_t i = 1; i < r->nr; i++) {
		ret = extents_add(&srv->mem, r->ext[i].len, &base);
		if (ret)
			return ret;
		if (base != r->ext[i].base) {
			log_error("journal: extent %u at %#llx, not %#llx", i,
				  (unsigned long long)base,
				  (unsigned long long)r->ext[i].base);
			return -EBADMSG;
		}
		ret = shmx__alloc_add(&srv->space, base, r->ext[i].len);
		if (ret)
			return ret;
	}
	if (r->root == SHMX_GADDR_NULL || extents_ptr(&srv->mem, r->root, 1))
		srv->root = r->root;
	node_pools_set_next_id(&srv->pools, r->next_pool);
	node_segs_set_next_id(&srv->segs, r->next_seg);
	node_locks_set_next_id(&srv->locks, r->next_lock);
	return 0;
}

static int restore_member(struct server *srv, uint64_t id, const void *body,
			  size_t len)
{
	struct member_rec r;
	struct member *m = registry_slot(&srv->reg, (uint32_t)id);

	if (len != sizeof(r) || !m || id > UINT32_MAX)
		return -EBADMSG;
	memcpy(&r, body, sizeof(r));
	if (r.info.id != id || r.addr_len > SHMX_WIRE_ADDR_MAX ||
	    !memchr(r.info.name, 0, sizeof(r.info.name)) ||
	    !memchr(r.mbox_addr, 0, sizeof(r.mbox_addr)) ||
	    registry_find_name(&srv->reg, r.info.name))
		return -EBADMSG;
	memset(m, 0, sizeof(*m));
	m->state = MEMBER_LIVE;
	m->token = r.token;
	m->peer = XPORT_PEER_NONE; /* until it RESUMEs */
	m->last_seen_ms = shmx__now_ms();
	m->authenticated = !!r.authenticated;
	m->info = r.info;
	memcpy(m->mbox_addr, r.mbox_addr, sizeof(m->mbox_addr));
	m->mbox_tag = r.mbox_tag;
	m->mbox_window = r.mbox_window;
	m->addr_len = r.addr_len;
	memcpy(m->addr, r.addr, sizeof(m->addr));
	header_member(srv, m);
	return 0;
}

static const char *const kind_name[PERSIST_KINDS] = {
	[PERSIST_NODE] = "node",   [PERSIST_MEMBER] = "member",
	[PERSIST_POOL] = "pool",   [PERSIST_BLOCK] = "block",
	[PERSIST_SEG] = "segment", [PERSIST_LOCK] = "lock",
};

/* Put back every staged object of @kind; one that cannot be is left out,
 * with a warning.  Returns how many were put back. */
static unsigned restore_kind(struct server *srv, int kind)
{
	struct persist *p = &srv->persist;
	unsigned done = 0;

	for (struct shmx__rb_node *n = shmx__rb_first(&p->staged[kind]); n;
	     n = shmx__rb_next(n)) {
		const struct staged *s = node_staged(n);
		int ret = -EINVAL;

		switch (kind) {
		case PERSIST_MEMBER:
			ret = restore_member(srv, s->key, s->body, s->len);
			break;
		case PERSIST_POOL:
			ret = node_pool_load(&srv->pools, s->body, s->len);
			break;
		case PERSIST_BLOCK:
			ret = node_block_load(&srv->pools, s->body, s->len);
			break;
		case PERSIST_SEG:
			ret = node_seg_load(&srv->segs, s->body, s->len);
			break;
		case PERSIST_LOCK:
			ret = node_lock_load(&srv->locks, s->body, s->len);
			break;
		}
		/* A block of a pool destroyed since is no loss. */
		if (ret == -ENOENT && kind == PERSIST_BLOCK)
			continue;
		if (ret)
			log_warn("journal: %s %#llx left out: %s",
				 kind_name[kind], (unsigned long long)s->key,
				 shmx__strerror(ret));
		else
			done++;
	}
	return done;
}

int persist_restore(struct server *srv)
{
	struct persist *p = &srv->persist;
	const struct node_rec *nr;
	unsigned counts[PERSIST_KINDS] = { 0 };
	int ret = 0;

	if (!p->on)
		return 0;
	nr = staged_node(p);
	if (nr) {
		ret = restore_node(srv, nr);
		if (ret) {
			log_error("journal %s: cannot put the memory back: %s",
				  p->j.path, shmx__strerror(ret));
			goto out;
		}
	}
	for (int k = PERSIST_MEMBER; k < PERSIST_KINDS; k++)
		counts[k] = restore_kind(srv, k);
	ret = node_locks_loaded(&srv->locks);
	if (ret) {
		log_error("journal %s: the lock table does not add up: %s",
			  p->j.path, shmx__strerror(ret));
		goto out;
	}
	header_map(srv);
	if (nr)
		log_info("restored %llu bytes in %u extents, %u members, %u "
			 "pools, %u blocks, %u segments, %u locks; members "
			 "have %u ms to come back",
			 (unsigned long long)srv->mem.total, srv->mem.nr,
			 counts[PERSIST_MEMBER], counts[PERSIST_POOL],
			 counts[PERSIST_BLOCK], counts[PERSIST_SEG],
			 counts[PERSIST_LOCK], srv->cfg.client_timeout_ms);
	p->all = 1;
	ret = persist_commit(srv);
out:
	unstage(p);
	return ret;
}

void persist_close(struct server *srv)
{
	struct persist *p = &srv->persist;

	unstage(p);
	journal_close(&p->j);
	if (p->fd >= 0)
		close(p->fd); /* drops the flock */
	p->fd = -1;
	p->on = 0;
}
