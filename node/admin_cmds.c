/* SPDX-License-Identifier: MIT */
/*
 * admin_cmds.c - what shmnode's admin channel (admin.c) can be asked:
 * status, grow SIZE and shrink SIZE, the last two as shmx_grow and
 * shmx_shrink do for a member.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "server.h"
#include "util/errstr.h"
#include "util/parse.h"

/* Append to @out (NUL-terminated, @len bytes) at *@at. */
static void put(char *out, size_t len, size_t *at, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void put(char *out, size_t len, size_t *at, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*at >= len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(out + *at, len - *at, fmt, ap);
	va_end(ap);
	if (n > 0)
		*at += (size_t)n;
}

static void status(struct server *srv, char *out, size_t len)
{
	const struct node_extents *x = &srv->mem;
	struct shmx__alloc_stat st;
	uint32_t nr_locks;
	size_t at = 0;

	shmx__alloc_stat(&srv->space, &st);
	put(out, len, &at, "memory %llu bytes in %u extents, generation %llu\n",
	    (unsigned long long)x->total, x->nr,
	    (unsigned long long)x->generation);
	for (uint32_t i = 0; i < x->nr; i++)
		put(out, len, &at, "extent %u base %#llx len %llu%s\n", i,
		    (unsigned long long)x->ext[i].base,
		    (unsigned long long)x->ext[i].len,
		    x->ext[i].huge ? " huge pages" : "");
	put(out, len, &at, "header %llu bytes\n",
	    (unsigned long long)srv->hdr_size);
	put(out, len, &at, "free %llu bytes, largest free block %llu\n",
	    (unsigned long long)st.free, (unsigned long long)st.largest_free);
	put(out, len, &at, "objects %llu\n", (unsigned long long)st.nr_alloc);
	put(out, len, &at, "registrations %llu\n",
	    (unsigned long long)srv->keys.count);
	put(out, len, &at, "members %u of %u\n",
	    registry_count(&srv->reg, MEMBER_LIVE), srv->reg.max);
	(void)node_locks_count(&srv->locks, &nr_locks, NULL);
	put(out, len, &at, "locks: %u reserved, %u slots\n", nr_locks,
	    srv->cfg.max_locks);
	if (srv->persist.on)
		put(out, len, &at,
		    "backing %s: journal %llu bytes, %llu writes and %llu "
		    "rewrites since the start, %llu failed%s\n",
		    srv->cfg.backing, (unsigned long long)srv->persist.j.size,
		    (unsigned long long)srv->persist.commits,
		    (unsigned long long)srv->persist.rewrites,
		    (unsigned long long)srv->persist.errors,
		    srv->cfg.backing_sync ? ", synced" : "");
	else
		put(out, len, &at, "backing: none (memory not kept)\n");
}

int admin_command(void *arg, int argc, char **argv, char *out, size_t len)
{
	struct server *srv = arg;
	uint64_t size, base = 0;
	int ret, grow;

	if (!strcmp(argv[0], "status") && argc == 1) {
		status(srv, out, len);
		return 0;
	}
	grow = !strcmp(argv[0], "grow");
	if ((!grow && strcmp(argv[0], "shrink")) || argc != 2) {
		snprintf(out, len,
			 "commands: status, grow SIZE, shrink SIZE\n");
		return -EINVAL;
	}
	if (shmx__parse_size(argv[1], &size) || !size) {
		snprintf(out, len, "%s: '%s' is not a size (K M G T)\n",
			 argv[0], argv[1]);
		return -EINVAL;
	}
	ret = grow ? growth_grow(srv, size, &base) : growth_shrink(srv, size);
	if (ret) {
		snprintf(out, len, "%s %s: %s\n", argv[0], argv[1],
			 ret == -EBUSY
				 ? "objects (or the root) lie in that memory"
			 : ret == -EFBIG ? "the memory would pass max-memory"
			 : ret == -ENOSPC && grow
				 ? "the node has the most extents it may"
			 : ret == -ENOSPC ? "not that much memory above the "
					    "header"
					  : shmx__strerror(ret));
		return ret;
	}
	if (grow)
		snprintf(out, len, "extent base %#llx, memory %llu bytes\n",
			 (unsigned long long)base,
			 (unsigned long long)srv->mem.total);
	else
		snprintf(out, len, "memory %llu bytes\n",
			 (unsigned long long)srv->mem.total);
	return 0;
}
