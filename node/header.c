/* SPDX-License-Identifier: MIT */
/*
 * header.c - the header area at the start of extent 0: the extent map,
 * the root pointer and one entry per member slot (proto/header.h frames
 * each block with sequence numbers and a CRC).  shmnode alone writes it;
 * clients read it one-sidedly through one read-only key, given to every
 * member in WELCOME (docs/memory.md).
 */
#include <errno.h>
#include <string.h>

#include "server.h"
#include "util/errstr.h"
#include "util/log.h"

int header_init(struct server *srv)
{
	uint64_t size = shmx__hdr_size(srv->reg.max);
	int ret;

	if (size >= srv->mem.ext[0].len) {
		log_error("a region of %llu bytes leaves no room past its "
			  "header (%llu bytes for %u member slots)",
			  (unsigned long long)srv->mem.ext[0].len,
			  (unsigned long long)size, srv->reg.max);
		return -EINVAL;
	}
	srv->hdr_size = size;
	ret = srv->keys.ops.reg(srv->keys.ops.arg, 0, size, SHMX_ACC_READ,
				&srv->hdr_handle, &srv->hdr_key);
	if (ret) {
		log_error("cannot register the header area: %s",
			  shmx__strerror(ret));
		return ret;
	}
	for (uint32_t id = 1; id <= srv->reg.max; id++)
		header_member(srv, registry_slot(&srv->reg, id));
	header_map(srv);
	return 0;
}

void header_fini(struct server *srv)
{
	if (srv->hdr_handle)
		srv->keys.ops.unreg(srv->keys.ops.arg, srv->hdr_handle);
	srv->hdr_handle = NULL;
}

void header_map(struct server *srv)
{
	struct shmx_hdr_map m;

	memset(&m, 0, sizeof(m));
	extents_map(&srv->mem, &m);
	m.root = srv->root;
	m.hdr_size = srv->hdr_size;
	m.max_members = srv->reg.max;
	shmx__hdr_map_write(extents_ptr(&srv->mem, 0, SHMX_HDR_MAP_SIZE), &m);
}

void header_member(struct server *srv, const struct member *m)
{
	struct shmx_hdr_member e;
	uint64_t off;

	memset(&e, 0, sizeof(e));
	/* A slot's id is fixed (slots[i] is id i + 1), live or not. */
	e.id = (uint32_t)(m - srv->reg.slots) + 1;
	e.live = m->state == MEMBER_LIVE;
	if (e.live) {
		e.pid = m->info.pid;
		e.uid = m->info.uid;
		e.gid = m->info.gid;
		e.joined = m->info.joined;
		memcpy(e.name, m->info.name, sizeof(e.name));
		memcpy(e.host, m->info.host, sizeof(e.host));
		memcpy(e.mailbox, m->mbox_addr, sizeof(e.mailbox));
		e.mbox_tag = m->mbox_tag;
		e.mbox_window = m->mbox_window;
	}
	off = shmx__hdr_entry_off(e.id);
	shmx__hdr_member_write(extents_ptr(&srv->mem, off, SHMX_HDR_ENTRY_SIZE),
			       &e);
}
