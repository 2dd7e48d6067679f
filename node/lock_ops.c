/* SPDX-License-Identifier: MIT */
/*
 * lock_ops.c - shmnode's global locks (docs/locks.md): the lock table's
 * memory, mapped and registered once at startup with remote read, write
 * and atomic rights, and the answers to LOCK_RESERVE, LOCK_UNRESERVE and
 * LOCK_NEXT.  The table (locks.c) keeps the books; this file turns its
 * results into replies (a slot's transport address and the table's key)
 * and its errors into statuses, and ends a leaving member's reservations.
 * The lock words are the members': the node only reads them.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "server.h"
#include "util/errstr.h"
#include "util/log.h"

int lock_table_init(struct server *srv)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t len = (size_t)srv->cfg.max_locks * SHMX_LOCK_SLOT;
	void *mem;
	int ret;

	len = (len + page - 1) / page * page;
	/* With a backing file, the slots are its first bytes, reserved:
	 * the lock words outlive the process (persist.h). */
	if (persist_fd(srv) >= 0) {
		ret = extents_reserve(persist_fd(srv), 0, len);
		if (ret) {
			log_error("cannot keep a lock table of %u slots in the "
				  "backing file",
				  srv->cfg.max_locks);
			return ret;
		}
		mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED,
			   persist_fd(srv), 0);
	} else
		mem = mmap(NULL, len, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		ret = -errno;
		log_error("cannot map a lock table of %u slots: %s",
			  srv->cfg.max_locks, shmx__strerror(ret));
		return ret;
	}
	ret = xport_mr_reg(srv->xp, mem, len,
			   XPORT_REMOTE_READ | XPORT_REMOTE_WRITE |
				   XPORT_REMOTE_ATOMIC,
			   &srv->lock_mr);
	if (ret) {
		log_error("cannot register the lock table for remote "
			  "access: %s",
			  shmx__strerror(ret));
		goto unmap;
	}
	ret = node_locks_init(&srv->locks, mem, srv->cfg.max_locks);
	if (ret) {
		log_error("cannot set up the lock table: %s",
			  shmx__strerror(ret));
		goto dereg;
	}
	srv->lock_mem = mem;
	srv->lock_mem_len = len;
	return 0;

dereg:
	xport_mr_dereg(srv->xp, srv->lock_mr);
	srv->lock_mr = NULL;
unmap:
	munmap(mem, len);
	return ret;
}

void lock_table_fini(struct server *srv)
{
	if (!srv->lock_mr)
		return;
	node_locks_fini(&srv->locks);
	xport_mr_dereg(srv->xp, srv->lock_mr);
	srv->lock_mr = NULL;
}

void lock_table_unmap(struct server *srv)
{
	if (srv->lock_mem)
		munmap(srv->lock_mem, srv->lock_mem_len);
	srv->lock_mem = NULL;
}

enum shmx_status lock_op_reserve(struct server *srv, struct member *m,
				 const struct shmx_msg *req,
				 struct shmx_msg *rep)
{
	const struct shmx_lock_reserve *q = &req->u.lock_reserve;
	struct shmx_lock_rep *r = &rep->u.lock;
	struct node_lock_info info;
	int ret, created;

	ret = node_lock_reserve(&srv->locks, m->info.id, q->id, q->name,
				q->lease_ms ? q->lease_ms
					    : srv->cfg.lock_lease_ms,
				&info, &created);
	if (ret)
		return shmx__errno_to_status(ret);
	if (created)
		log_debug("member %u '%s' created lock %llu '%s' in slot %u, "
			  "lease %u ms",
			  m->info.id, m->info.name, (unsigned long long)info.id,
			  info.name, info.slot, info.lease_ms);
	r->id = info.id;
	r->raddr = srv->lock_mr->base + (uint64_t)info.slot * SHMX_LOCK_SLOT;
	r->key = srv->lock_mr->key;
	r->lease_ms = info.lease_ms;
	r->created = (uint32_t)created;
	return SHMX_ST_OK;
}

enum shmx_status lock_op_unreserve(struct server *srv, struct member *m,
				   const struct shmx_msg *req,
				   struct shmx_msg *rep)
{
	return shmx__errno_to_status(
		node_lock_unreserve(&srv->locks, m->info.id, req->u.obj.id));
}

enum shmx_status lock_op_next(struct server *srv, struct member *m,
			      const struct shmx_msg *req, struct shmx_msg *rep)
{
	struct shmx_lock_info_rep *r = &rep->u.lock_info;
	struct node_lock_info info;
	int ret;

	ret = node_lock_next(&srv->locks, req->u.next.from, &info);
	if (!ret)
		ret = node_lock_slot_read(&srv->locks, info.slot, r->slot);
	if (ret)
		return shmx__errno_to_status(ret);
	r->id = info.id;
	r->lease_ms = info.lease_ms;
	r->reservations = info.reservations;
	r->creator = info.creator;
	memcpy(r->name, info.name, sizeof(r->name));
	return SHMX_ST_OK;
}

void lock_member_gone(struct server *srv, uint32_t id)
{
	(void)node_locks_member_gone(&srv->locks, id);
}
