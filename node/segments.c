/* SPDX-License-Identifier: MIT */
/*
 * segments.c - shmnode's table of named shared-memory segments: segments in
 * three red-black trees (by id, by name while not removed, by address),
 * each with a small array of its attachers.  See segments.h for the
 * contract.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "segments.h"

/* One member's attachments to one segment (an entry exists while > 0). */
struct attacher {
	uint32_t member;
	uint32_t nr_rw; /* read-write attachments */
	uint32_t nr_ro; /* read-only attachments */
};

struct seg {
	struct shmx__rb_node id_node;
	struct shmx__rb_node name_node; /* linked while !removed */
	struct shmx__rb_node addr_node;
	uint64_t id;
	char name[SHMX_NAME_MAX];
	uint64_t gaddr;
	uint64_t size;
	uint32_t uid, gid, mode;
	uint32_t cuid, cgid;
	uint32_t creator_node;
	uint32_t last_attach_node;
	uint32_t last_detach_node;
	uint32_t nattch; /* sum of every attacher's counts */
	int64_t atime, dtime, ctime;
	int removed;
	int frozen;
	uint32_t frozen_by;
	void *rw_handle; /* NULL while frozen */
	uint64_t rw_key;
	void *ro_handle;
	uint64_t ro_key;
	struct attacher *att; /* unordered */
	uint32_t nr_att;
	uint32_t cap_att;
};

#define id_seg(n) shmx__rb_entry(n, struct seg, id_node)
#define name_seg(n) shmx__rb_entry(n, struct seg, name_node)
#define addr_seg(n) shmx__rb_entry(n, struct seg, addr_node)

/* Permission bits asked for by an attach (the "other" triple). */
#define PERM_R 04u
#define PERM_W 02u

/* ---- trees keyed by an integer ------------------------------------- */

static uint64_t seg_id_key(const struct shmx__rb_node *n)
{
	return id_seg(n)->id;
}

static uint64_t seg_addr_key(const struct shmx__rb_node *n)
{
	return addr_seg(n)->gaddr;
}

/* ---- lookups -------------------------------------------------------- */

/* The segment with id @id (removed or not), or NULL. */
static struct seg *seg_by_id(const struct node_segs *st, uint64_t id)
{
	struct shmx__rb_node *n = shmx__rb_floor(&st->by_id, id, seg_id_key);

	return n && id_seg(n)->id == id ? id_seg(n) : NULL;
}

static const char *seg_name(const struct shmx__rb_node *n)
{
	return name_seg(n)->name;
}

/* The segment called @name that is not removed, or NULL. */
static struct seg *seg_by_name(const struct node_segs *st, const char *name)
{
	struct shmx__rb_node *n =
		shmx__rb_find_name(&st->by_name, name, seg_name);

	return n ? name_seg(n) : NULL;
}

/* The segment whose range holds @gaddr, or NULL. */
static struct seg *seg_at(const struct node_segs *st, uint64_t gaddr)
{
	struct shmx__rb_node *n =
		shmx__rb_floor(&st->by_addr, gaddr, seg_addr_key);

	if (!n || gaddr - addr_seg(n)->gaddr >= addr_seg(n)->size)
		return NULL;
	return addr_seg(n);
}

/* ---- permissions ---------------------------------------------------- */

/*
 * Linux ipcperms(): 0 when @uid/@gid may have @want (PERM_R, PERM_W bits)
 * on a segment with owner @s_uid/@s_gid, creator @cuid/@cgid and @mode;
 * else -EACCES.  uid 0 passes.
 */
static int ipc_perms(uint32_t s_uid, uint32_t s_gid, uint32_t cuid,
		     uint32_t cgid, uint32_t mode, uint32_t uid, uint32_t gid,
		     unsigned want)
{
	unsigned granted = mode;

	if (!uid)
		return 0;
	if (uid == s_uid || uid == cuid)
		granted >>= 6;
	else if (gid == s_gid || gid == cgid)
		granted >>= 3;
	return want & ~granted & 07 ? -EACCES : 0;
}

/* 0 when @uid may shmctl(IPC_SET / IPC_RMID) @s, else -EPERM. */
static int ctl_perm(const struct seg *s, uint32_t uid)
{
	return !uid || uid == s->uid || uid == s->cuid ? 0 : -EPERM;
}

/* ---- attachers ------------------------------------------------------ */

/* The attacher entry of @member in @s, or NULL. */
static struct attacher *att_find(const struct seg *s, uint32_t member)
{
	for (uint32_t i = 0; i < s->nr_att; i++)
		if (s->att[i].member == member)
			return &s->att[i];
	return NULL;
}

/*
 * Make room for one more attacher entry in @s (nothing visible changes).
 * Returns 0 or -ENOMEM.
 */
static int att_reserve(struct seg *s)
{
	struct attacher *grown;
	uint32_t cap;

	if (s->nr_att < s->cap_att)
		return 0;
	cap = s->cap_att ? 2 * s->cap_att : 4;
	grown = realloc(s->att, cap * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	s->att = grown;
	s->cap_att = cap;
	return 0;
}

/*
 * Count one attachment of @member to @s (read-only when @ro); room for a
 * new entry must have been reserved.  Returns nothing.
 */
static void att_add(struct seg *s, uint32_t member, int ro)
{
	struct attacher *a = att_find(s, member);

	if (!a) {
		a = &s->att[s->nr_att++];
		a->member = member;
		a->nr_rw = 0;
		a->nr_ro = 0;
	}
	if (ro)
		a->nr_ro++;
	else
		a->nr_rw++;
	s->nattch++;
}

/* Drop @a (an entry of @s) altogether.  Returns nothing. */
static void att_remove(struct seg *s, struct attacher *a)
{
	*a = s->att[--s->nr_att];
}

/* ---- segments ------------------------------------------------------- */

static void grant_fill(const struct seg *s, int rw, struct node_seg_grant *g)
{
	g->start = s->gaddr;
	g->len = s->size;
	g->key = rw ? s->rw_key : s->ro_key;
	g->access = rw ? NODE_KEY_RW : NODE_KEY_READ;
}

/*
 * Free @s altogether: unregister its keys, give its range back to the
 * region, take it out of every tree.  Returns nothing.
 */
static void seg_destroy(struct node_segs *st, struct seg *s)
{
	if (s->rw_handle)
		st->keys->unreg(st->keys->arg, s->rw_handle);
	st->keys->unreg(st->keys->arg, s->ro_handle);
	/* Cannot fail: the block was carved for @s and is still there. */
	(void)shmx__alloc_put(st->region, s->gaddr);
	shmx__rb_erase(&s->id_node, &st->by_id);
	shmx__rb_erase(&s->addr_node, &st->by_addr);
	if (!s->removed)
		shmx__rb_erase(&s->name_node, &st->by_name);
	st->nr_segs--;
	free(s->att);
	free(s);
}

/* Free @s when it is removed and nobody is attached.  Returns nothing. */
static void seg_reap(struct node_segs *st, struct seg *s)
{
	if (s->removed && !s->nattch)
		seg_destroy(st, s);
}

/*
 * Register a new read/write key for @s (frozen: it has none).  Returns 0,
 * or -ENOMEM (nothing changed).
 */
static int seg_thaw(struct node_segs *st, struct seg *s)
{
	void *handle;
	uint64_t key;

	if (st->keys->reg(st->keys->arg, s->gaddr, s->size, NODE_KEY_RW,
			  &handle, &key))
		return -ENOMEM;
	s->rw_handle = handle;
	s->rw_key = key;
	s->frozen = 0;
	s->frozen_by = 0;
	return 0;
}

static void seg_info(const struct seg *s, struct node_seg_info *info)
{
	memset(info, 0, sizeof(*info));
	info->id = s->id;
	memcpy(info->name, s->name, sizeof(info->name));
	info->gaddr = s->gaddr;
	info->size = s->size;
	info->uid = s->uid;
	info->gid = s->gid;
	info->mode = s->mode;
	info->cuid = s->cuid;
	info->cgid = s->cgid;
	info->creator_node = s->creator_node;
	info->last_attach_node = s->last_attach_node;
	info->last_detach_node = s->last_detach_node;
	info->nattch = s->nattch;
	info->removed = s->removed;
	info->frozen = s->frozen;
	info->frozen_by = s->frozen_by;
	info->atime = s->atime;
	info->dtime = s->dtime;
	info->ctime = s->ctime;
}

/* ---- the table ------------------------------------------------------ */

int node_segs_init(struct node_segs *st, struct shmx__alloc *region,
		   const struct node_keys *keys,
		   const struct node_segs_limits *limits)
{
	if (!st || !region || !keys || !keys->reg || !keys->unreg)
		return -EINVAL;
	memset(st, 0, sizeof(*st));
	st->region = region;
	st->keys = keys;
	if (limits)
		st->limits = *limits;
	st->next_id = 1;
	return 0;
}

void node_segs_fini(struct node_segs *st)
{
	struct shmx__rb_node *n;

	if (!st->keys)
		return;
	while ((n = shmx__rb_first(&st->by_id)))
		seg_destroy(st, id_seg(n));
}

/*
 * The create half of node_seg_open (the name is absent).  Returns 0 with
 * *@out filled, or an errno of node_seg_open's creating branch.
 */
static int seg_create(struct node_segs *st, uint32_t member, uint32_t uid,
		      uint32_t gid, const char *name, uint64_t size,
		      unsigned flags, uint32_t mode, int64_t now,
		      struct node_seg_attach *out)
{
	int ro = !!(flags & NODE_SEG_RDONLY);
	struct seg *s;
	int err;

	if (!size || size > UINT64_MAX - (SHMX_ALLOC_GRAIN - 1))
		return -EINVAL;
	size = (size + SHMX_ALLOC_GRAIN - 1) & ~(SHMX_ALLOC_GRAIN - 1);
	if (st->limits.max_seg_size && size > st->limits.max_seg_size)
		return -EINVAL;
	if (ipc_perms(uid, gid, uid, gid, mode, uid, gid,
		      ro ? PERM_R : PERM_R | PERM_W))
		return -EACCES;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	err = att_reserve(s);
	if (err)
		goto out_free_seg;
	err = shmx__alloc_get(st->region, size, NODE_SEG_ALIGN, &s->gaddr);
	if (err) {
		err = err == -ENOMEM ? -ENOSPC : err;
		goto out_free_seg;
	}
	s->size = size;
	err = st->keys->reg(st->keys->arg, s->gaddr, s->size, NODE_KEY_RW,
			    &s->rw_handle, &s->rw_key);
	if (err)
		goto out_put_range;
	err = st->keys->reg(st->keys->arg, s->gaddr, s->size, NODE_KEY_READ,
			    &s->ro_handle, &s->ro_key);
	if (err)
		goto out_unreg_rw;

	s->id = st->next_id++;
	memcpy(s->name, name, strlen(name) + 1);
	s->uid = s->cuid = uid;
	s->gid = s->cgid = gid;
	s->mode = mode;
	s->creator_node = member;
	s->ctime = now;
	shmx__rb_insert_key(&st->by_id, &s->id_node, seg_id_key);
	shmx__rb_insert_key(&st->by_addr, &s->addr_node, seg_addr_key);
	shmx__rb_insert_name(&st->by_name, &s->name_node, seg_name);
	st->nr_segs++;

	att_add(s, member, ro);
	s->last_attach_node = member;
	s->atime = now;
	out->id = s->id;
	out->created = 1;
	grant_fill(s, !ro, &out->g);
	return 0;

out_unreg_rw:
	st->keys->unreg(st->keys->arg, s->rw_handle);
out_put_range:
	err = -ENOMEM;
	(void)shmx__alloc_put(st->region, s->gaddr);
out_free_seg:
	free(s->att);
	free(s);
	return err;
}

int node_seg_open(struct node_segs *st, uint32_t member, uint32_t uid,
		  uint32_t gid, const char *name, uint64_t size, unsigned flags,
		  uint32_t mode, int64_t now, struct node_seg_attach *out)
{
	const unsigned known = NODE_SEG_CREAT | NODE_SEG_EXCL | NODE_SEG_RDONLY;
	int ro = !!(flags & NODE_SEG_RDONLY);
	struct seg *s;
	int err;

	if (!member || !out || !shmx__name_valid(name) || (flags & ~known) ||
	    ((flags & NODE_SEG_EXCL) && !(flags & NODE_SEG_CREAT)) ||
	    (mode & ~NODE_SEG_MODE_MASK))
		return -EINVAL;

	s = seg_by_name(st, name);
	if (!s) {
		if (!(flags & NODE_SEG_CREAT))
			return -ENOENT;
		return seg_create(st, member, uid, gid, name, size, flags, mode,
				  now, out);
	}

	/* Linux ipcget_public(): EEXIST, then the size, then permissions. */
	if (flags & NODE_SEG_EXCL)
		return -EEXIST;
	if (size > s->size)
		return -EINVAL;
	if (ipc_perms(s->uid, s->gid, s->cuid, s->cgid, s->mode, uid, gid,
		      ro ? PERM_R : PERM_R | PERM_W))
		return -EACCES;
	if (!ro && s->frozen)
		return -EBUSY;
	if (s->nattch == UINT32_MAX)
		return -EOVERFLOW;
	err = att_reserve(s);
	if (err)
		return err;

	att_add(s, member, ro);
	s->last_attach_node = member;
	s->atime = now;
	out->id = s->id;
	out->created = 0;
	grant_fill(s, !ro, &out->g);
	return 0;
}

/*
 * End @n read-write and @m read-only attachments of the entry @a of @s
 * (as many as it holds, at most), with @member as last detacher at @now;
 * the entry goes when it reaches 0, the segment when it is removed and
 * nobody is attached.  Returns nothing.
 */
static void seg_detach(struct node_segs *st, struct seg *s, struct attacher *a,
		       uint32_t n, uint32_t m, int64_t now)
{
	s->last_detach_node = a->member;
	s->dtime = now;
	a->nr_rw -= n;
	a->nr_ro -= m;
	s->nattch -= n + m;
	if (!a->nr_rw && !a->nr_ro)
		att_remove(s, a);
	seg_reap(st, s);
}

int node_seg_close(struct node_segs *st, uint32_t member, uint64_t id,
		   int64_t now)
{
	const struct seg *s = seg_by_id(st, id);
	const struct attacher *a = s ? att_find(s, member) : NULL;

	/* A read-only attachment first; close_kind says what is wrong. */
	return node_seg_close_kind(st, member, id, a && a->nr_ro, now);
}

int node_seg_close_kind(struct node_segs *st, uint32_t member, uint64_t id,
			int ro, int64_t now)
{
	struct attacher *a;
	struct seg *s;

	if (!member)
		return -EINVAL;
	s = seg_by_id(st, id);
	if (!s)
		return -ENOENT;
	a = att_find(s, member);
	if (!a || !(ro ? a->nr_ro : a->nr_rw))
		return -EINVAL;
	seg_detach(st, s, a, !ro, !!ro, now);
	return 0;
}

uint64_t node_seg_attachments(const struct node_segs *st, uint64_t id,
			      uint32_t member, uint32_t *rw, uint32_t *ro)
{
	const struct seg *s = seg_by_id(st, id);
	const struct attacher *a = s ? att_find(s, member) : NULL;
	uint32_t nrw = a ? a->nr_rw : 0, nro = a ? a->nr_ro : 0;

	if (rw)
		*rw = nrw;
	if (ro)
		*ro = nro;
	return (uint64_t)nrw + nro;
}

int node_seg_stat(const struct node_segs *st, uint64_t id,
		  struct node_seg_info *info)
{
	const struct seg *s = seg_by_id(st, id);

	if (!s)
		return -ENOENT;
	seg_info(s, info);
	return 0;
}

int node_seg_stat_name(const struct node_segs *st, const char *name,
		       struct node_seg_info *info)
{
	const struct seg *s =
		shmx__name_valid(name) ? seg_by_name(st, name) : NULL;

	if (!s)
		return -ENOENT;
	seg_info(s, info);
	return 0;
}

int node_seg_set(struct node_segs *st, uint32_t uid, uint64_t id,
		 uint32_t new_uid, uint32_t new_gid, uint32_t mode, int64_t now)
{
	struct seg *s;
	int err;

	if (mode & ~NODE_SEG_MODE_MASK || new_uid == UINT32_MAX ||
	    new_gid == UINT32_MAX)
		return -EINVAL;
	s = seg_by_id(st, id);
	if (!s)
		return -ENOENT;
	err = ctl_perm(s, uid);
	if (err)
		return err;
	s->uid = new_uid;
	s->gid = new_gid;
	s->mode = mode;
	s->ctime = now;
	return 0;
}

int node_seg_remove(struct node_segs *st, uint32_t uid, uint64_t id,
		    int64_t now)
{
	struct seg *s = seg_by_id(st, id);
	int err;

	if (!s)
		return -ENOENT;
	err = ctl_perm(s, uid);
	if (err)
		return err;
	if (s->removed)
		return 0;
	shmx__rb_erase(&s->name_node, &st->by_name);
	s->removed = 1;
	s->ctime = now;
	seg_reap(st, s);
	return 0;
}

int node_segs_member_gone(struct node_segs *st, uint32_t member, int64_t now)
{
	struct shmx__rb_node *n, *next;
	int ret = 0;

	if (!member)
		return -EINVAL;
	for (n = shmx__rb_first(&st->by_id); n; n = next) {
		struct seg *s = id_seg(n);
		struct attacher *a;

		next = shmx__rb_next(n);
		if (s->frozen && s->frozen_by == member) {
			if (seg_thaw(st, s)) {
				s->frozen_by = 0;
				ret = -ENOMEM;
			}
		}
		a = att_find(s, member);
		if (a)
			seg_detach(st, s, a, a->nr_rw, a->nr_ro, now);
	}
	return ret;
}

int node_seg_freeze(struct node_segs *st, uint32_t member, uint64_t id,
		    struct node_seg_grant *ro)
{
	struct seg *s;

	if (!member)
		return -EINVAL;
	s = seg_by_id(st, id);
	if (!s)
		return -ENOENT;
	if (!att_find(s, member))
		return -EINVAL;
	if (s->frozen)
		return -EBUSY;
	st->keys->unreg(st->keys->arg, s->rw_handle);
	s->rw_handle = NULL;
	s->rw_key = 0;
	s->frozen = 1;
	s->frozen_by = member;
	if (ro)
		grant_fill(s, 0, ro);
	return 0;
}

int node_seg_thaw(struct node_segs *st, uint32_t member, uint64_t id)
{
	struct seg *s;

	if (!member)
		return -EINVAL;
	s = seg_by_id(st, id);
	if (!s)
		return -ENOENT;
	if (!s->frozen)
		return -EINVAL;
	if (s->frozen_by && s->frozen_by != member)
		return -EPERM;
	return seg_thaw(st, s);
}

int node_seg_grant(const struct node_segs *st, uint32_t member, uint64_t gaddr,
		   int want_write, struct node_seg_grant *g)
{
	const struct attacher *a;
	const struct seg *s;

	if (!member || !g)
		return -EINVAL;
	s = seg_at(st, gaddr);
	if (!s)
		return -EFAULT;
	a = att_find(s, member);
	if (!a || (want_write && !a->nr_rw))
		return -EACCES;
	if (want_write && s->frozen)
		return -EBUSY;
	grant_fill(s, a->nr_rw && !s->frozen, g);
	return 0;
}

int node_seg_next(const struct node_segs *st, uint64_t from_id,
		  struct node_seg_info *info)
{
	struct shmx__rb_node *n =
		shmx__rb_ceil(&st->by_id, from_id, seg_id_key);

	if (!n)
		return -ENOENT;
	seg_info(id_seg(n), info);
	return 0;
}

int node_segs_foreach(const struct node_segs *st,
		      int (*fn)(void *arg, const struct node_seg_info *info),
		      void *arg)
{
	struct node_seg_info info;

	for (struct shmx__rb_node *n = shmx__rb_first(&st->by_id); n;
	     n = shmx__rb_next(n)) {
		int ret;

		seg_info(id_seg(n), &info);
		ret = fn(arg, &info);
		if (ret)
			return ret;
	}
	return 0;
}

uint64_t node_segs_count(const struct node_segs *st)
{
	return st->nr_segs;
}

/* ---- invariants ----------------------------------------------------- */

/* 0 when segment @s is consistent on its own, else -EUCLEAN. */
static int seg_check(const struct node_segs *st, const struct seg *s)
{
	uint64_t start, len, sum = 0;

	if (!s->id || s->id >= st->next_id || !shmx__name_valid(s->name) ||
	    !s->size || s->size % SHMX_ALLOC_GRAIN ||
	    s->gaddr % NODE_SEG_ALIGN || s->mode & ~NODE_SEG_MODE_MASK ||
	    !s->creator_node || !s->ro_handle)
		return -EUCLEAN;
	if (st->limits.max_seg_size && s->size > st->limits.max_seg_size)
		return -EUCLEAN;
	if (s->frozen ? s->rw_handle != NULL : s->rw_handle == NULL)
		return -EUCLEAN;
	if (!s->frozen && s->frozen_by)
		return -EUCLEAN;
	if (s->removed && !s->nattch)
		return -EUCLEAN;
	if (shmx__alloc_find(st->region, s->gaddr, &start, &len) ||
	    start != s->gaddr || len != s->size)
		return -EUCLEAN;
	if (s->nr_att > s->cap_att)
		return -EUCLEAN;
	for (uint32_t i = 0; i < s->nr_att; i++) {
		const struct attacher *a = &s->att[i];

		if (!a->member || (!a->nr_rw && !a->nr_ro))
			return -EUCLEAN;
		for (uint32_t j = 0; j < i; j++)
			if (s->att[j].member == a->member)
				return -EUCLEAN;
		sum += (uint64_t)a->nr_rw + a->nr_ro;
	}
	return sum == s->nattch ? 0 : -EUCLEAN;
}

int node_segs_check(const struct node_segs *st)
{
	const struct shmx__rb_node *n;
	const struct seg *prev = NULL;
	uint64_t named = 0, end = 0;
	long count;

	count = shmx__rb_check(&st->by_id);
	if (count < 0 || (uint64_t)count != st->nr_segs ||
	    shmx__rb_check(&st->by_addr) != count)
		return -EUCLEAN;
	for (n = shmx__rb_first(&st->by_id); n; n = shmx__rb_next(n)) {
		const struct seg *s = id_seg(n);

		if ((prev && prev->id >= s->id) || seg_check(st, s))
			return -EUCLEAN;
		if (!s->removed) {
			if (seg_by_name(st, s->name) != s)
				return -EUCLEAN;
			named++;
		}
		if (seg_at(st, s->gaddr) != s)
			return -EUCLEAN;
		prev = s;
	}
	count = shmx__rb_check(&st->by_name);
	if (count < 0 || (uint64_t)count != named)
		return -EUCLEAN;
	prev = NULL;
	for (n = shmx__rb_first(&st->by_name); n; n = shmx__rb_next(n)) {
		const struct seg *s = name_seg(n);

		if (s->removed || (prev && strcmp(prev->name, s->name) >= 0))
			return -EUCLEAN;
		prev = s;
	}
	for (n = shmx__rb_first(&st->by_addr); n; n = shmx__rb_next(n)) {
		const struct seg *s = addr_seg(n);

		if (s->gaddr < end)
			return -EUCLEAN;
		end = s->gaddr + s->size;
	}
	return 0;
}

/* ---- persistence (persist.c) ----------------------------------------- */

size_t node_seg_save(const struct node_segs *st, uint64_t id, void *buf,
		     size_t cap)
{
	const struct seg *s = seg_by_id(st, id);
	struct node_seg_rec r;
	size_t len;

	if (!s)
		return 0;
	len = sizeof(r) + s->nr_att * sizeof(struct node_seg_att_rec);
	if (len > cap)
		return len;
	memset(&r, 0, sizeof(r));
	seg_info(s, &r.info);
	r.nr_att = s->nr_att;
	memcpy(buf, &r, sizeof(r));
	for (uint32_t i = 0; i < s->nr_att; i++) {
		struct node_seg_att_rec a = { .member = s->att[i].member,
					      .nr_rw = s->att[i].nr_rw,
					      .nr_ro = s->att[i].nr_ro };

		memcpy((uint8_t *)buf + sizeof(r) + i * sizeof(a), &a,
		       sizeof(a));
	}
	return len;
}

int node_seg_load(struct node_segs *st, const void *buf, size_t len)
{
	const struct node_seg_info *i;
	struct node_seg_rec r;
	uint64_t nattch = 0;
	struct seg *s;
	int ret;

	if (len < sizeof(r))
		return -EBADMSG;
	memcpy(&r, buf, sizeof(r));
	i = &r.info;
	if (len != sizeof(r) + r.nr_att * sizeof(struct node_seg_att_rec) ||
	    !i->id || !i->size || i->size % SHMX_ALLOC_GRAIN ||
	    i->gaddr % NODE_SEG_ALIGN || i->mode & ~NODE_SEG_MODE_MASK ||
	    !memchr(i->name, 0, sizeof(i->name)) || !shmx__name_valid(i->name))
		return -EBADMSG;
	if (seg_by_id(st, i->id) || (!i->removed && seg_by_name(st, i->name)))
		return -EEXIST;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	for (uint32_t k = 0; k < r.nr_att; k++) {
		struct node_seg_att_rec a;

		memcpy(&a, (const uint8_t *)buf + sizeof(r) + k * sizeof(a),
		       sizeof(a));
		ret = -EBADMSG;
		if (!a.member || !(a.nr_rw || a.nr_ro) || att_find(s, a.member))
			goto out_free;
		ret = att_reserve(s);
		if (ret)
			goto out_free;
		s->att[s->nr_att].member = a.member;
		s->att[s->nr_att].nr_rw = a.nr_rw;
		s->att[s->nr_att].nr_ro = a.nr_ro;
		s->nr_att++;
		nattch += (uint64_t)a.nr_rw + a.nr_ro;
	}
	ret = -EBADMSG;
	if (nattch != i->nattch || (i->removed && !nattch))
		goto out_free;
	ret = shmx__alloc_take(st->region, i->gaddr, i->size);
	if (ret)
		goto out_free;
	ret = st->keys->reg(st->keys->arg, i->gaddr, i->size, NODE_KEY_READ,
			    &s->ro_handle, &s->ro_key);
	if (ret)
		goto out_put;
	if (!i->frozen &&
	    st->keys->reg(st->keys->arg, i->gaddr, i->size, NODE_KEY_RW,
			  &s->rw_handle, &s->rw_key)) {
		st->keys->unreg(st->keys->arg, s->ro_handle);
		ret = -ENOMEM;
		goto out_put;
	}
	s->id = i->id;
	memcpy(s->name, i->name, sizeof(s->name));
	s->gaddr = i->gaddr;
	s->size = i->size;
	s->uid = i->uid;
	s->gid = i->gid;
	s->mode = i->mode;
	s->cuid = i->cuid;
	s->cgid = i->cgid;
	s->creator_node = i->creator_node;
	s->last_attach_node = i->last_attach_node;
	s->last_detach_node = i->last_detach_node;
	s->nattch = i->nattch;
	s->atime = i->atime;
	s->dtime = i->dtime;
	s->ctime = i->ctime;
	s->removed = i->removed;
	s->frozen = i->frozen;
	s->frozen_by = i->frozen_by;
	if (st->next_id <= s->id)
		st->next_id = s->id + 1;
	shmx__rb_insert_key(&st->by_id, &s->id_node, seg_id_key);
	shmx__rb_insert_key(&st->by_addr, &s->addr_node, seg_addr_key);
	if (!s->removed)
		shmx__rb_insert_name(&st->by_name, &s->name_node, seg_name);
	st->nr_segs++;
	return 0;

out_put:
	ret = ret ? ret : -ENOMEM;
	(void)shmx__alloc_put(st->region, i->gaddr);
out_free:
	free(s->att);
	free(s);
	return ret;
}

uint64_t node_segs_next_id(const struct node_segs *st)
{
	return st->next_id;
}

void node_segs_set_next_id(struct node_segs *st, uint64_t next)
{
	if (next > st->next_id)
		st->next_id = next;
}
