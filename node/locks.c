/* SPDX-License-Identifier: MIT */
/*
 * locks.c - shmnode's table of global locks: locks in two red-black trees
 * (by id, by name when named), each with a small array of the members
 * that hold reservations of it, and a ring of free slots.  See locks.h
 * for the contract.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "locks.h"

_Static_assert(NODE_LOCK_INFO_BYTES ==
		       sizeof(((struct shmx_lock_info_rep *)0)->slot),
	       "a listing carries the slot's first 112 bytes");
_Static_assert(NODE_LOCK_INFO_BYTES ==
		       SHMX_LOCK_REC_OFF +
			       SHMX_LOCK_RECORDS * SHMX_LOCK_REC_SIZE,
	       "the words and the holder records");

/* One member's reservations of one lock (an entry exists while > 0). */
struct lock_res {
	uint32_t member;
	uint32_t count;
};

struct lock {
	struct shmx__rb_node id_node;
	struct shmx__rb_node name_node; /* linked when name[0] */
	uint64_t id;
	uint32_t slot;
	uint32_t lease_ms;
	uint32_t creator;
	uint32_t total; /* sum of every entry's count */
	char name[SHMX_NAME_MAX];
	struct lock_res *res; /* unordered */
	uint32_t nr_res;
	uint32_t cap_res;
};

#define id_lock(n) shmx__rb_entry(n, struct lock, id_node)
#define name_lock(n) shmx__rb_entry(n, struct lock, name_node)

static uint64_t lock_id_key(const struct shmx__rb_node *n)
{
	return id_lock(n)->id;
}

static const char *lock_name(const struct shmx__rb_node *n)
{
	return name_lock(n)->name;
}

/* ---- slots ---------------------------------------------------------- */

/* Slot @slot's lock word, read whole (never written here). */
static uint64_t word_load(const struct node_locks *lt, uint32_t slot)
{
	const uint64_t *w =
		(const uint64_t *)(lt->mem + (size_t)slot * SHMX_LOCK_SLOT +
				   SHMX_LOCK_WORD_OFF);

	return __atomic_load_n(w, __ATOMIC_RELAXED);
}

static int slot_quiet(const struct node_locks *lt, uint32_t slot)
{
	return shmx__lock_quiet(word_load(lt, slot));
}

/* The free ring's @i-th entry from the oldest. */
static uint32_t *ring_at(const struct node_locks *lt, uint32_t i)
{
	return &lt->free_ring[((uint64_t)lt->free_head + i) % lt->nr_slots];
}

/* Put @slot at the end of the free ring (it has room for every slot). */
static void ring_push(struct node_locks *lt, uint32_t slot)
{
	*ring_at(lt, lt->nr_free) = slot;
	lt->nr_free++;
}

/* Take the oldest slot off the free ring (which is not empty). */
static uint32_t ring_pop(struct node_locks *lt)
{
	uint32_t slot = lt->free_ring[lt->free_head];

	lt->free_head = (lt->free_head + 1) % lt->nr_slots;
	lt->nr_free--;
	return slot;
}

/*
 * Take a free slot whose word is quiet, the oldest such; the ones passed
 * over go to the end of the ring, still free.  Returns 0 with *@slot, or
 * -ENOSPC when no free slot is quiet.
 */
static int slot_take(struct node_locks *lt, uint32_t *slot)
{
	for (uint32_t tries = lt->nr_free; tries; tries--) {
		uint32_t s = ring_pop(lt);

		if (slot_quiet(lt, s)) {
			*slot = s;
			return 0;
		}
		ring_push(lt, s);
	}
	return -ENOSPC;
}

/* A new lock's slot: its holder records zeroed, its words untouched. */
static void slot_clear_records(struct node_locks *lt, uint32_t slot)
{
	memset(lt->mem + (size_t)slot * SHMX_LOCK_SLOT + SHMX_LOCK_REC_OFF, 0,
	       SHMX_LOCK_SLOT - SHMX_LOCK_REC_OFF);
}

/* ---- reservations --------------------------------------------------- */

/* The reservation entry of @member in @l, or NULL. */
static struct lock_res *res_find(const struct lock *l, uint32_t member)
{
	for (uint32_t i = 0; i < l->nr_res; i++)
		if (l->res[i].member == member)
			return &l->res[i];
	return NULL;
}

/*
 * Make room for one more reservation entry in @l (nothing visible
 * changes).  Returns 0 or -ENOMEM.
 */
static int res_room(struct lock *l)
{
	struct lock_res *grown;
	uint32_t cap;

	if (l->nr_res < l->cap_res)
		return 0;
	cap = l->cap_res ? 2 * l->cap_res : 2;
	grown = realloc(l->res, cap * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	l->res = grown;
	l->cap_res = cap;
	return 0;
}

/*
 * Take @n reservations of @member off @l (its entry @r, which holds at
 * least @n), and the entry when none are left.  Returns nothing.
 */
static void res_drop(struct node_locks *lt, struct lock *l, struct lock_res *r,
		     uint32_t n)
{
	r->count -= n;
	l->total -= n;
	lt->nr_reservations -= n;
	if (!r->count)
		*r = l->res[--l->nr_res];
}

/* ---- locks ---------------------------------------------------------- */

static struct lock *lock_by_id(const struct node_locks *lt, uint64_t id)
{
	struct shmx__rb_node *n = shmx__rb_find(&lt->by_id, id, lock_id_key);

	return n ? id_lock(n) : NULL;
}

static struct lock *lock_by_name(const struct node_locks *lt, const char *name)
{
	struct shmx__rb_node *n =
		shmx__rb_find_name(&lt->by_name, name, lock_name);

	return n ? name_lock(n) : NULL;
}

/* Forget @l: out of the trees, its slot freed (not written).  Returns
 * nothing. */
static void lock_destroy(struct node_locks *lt, struct lock *l)
{
	shmx__rb_erase(&l->id_node, &lt->by_id);
	if (l->name[0])
		shmx__rb_erase(&l->name_node, &lt->by_name);
	ring_push(lt, l->slot);
	lt->nr_reservations -= l->total;
	lt->nr_locks--;
	free(l->res);
	free(l);
}

/*
 * A new lock called @name ("" anonymous) with @lease_ms, made by @member,
 * in a quiet free slot, with room for one reservation entry and none yet.
 * Returns 0 with *@out, or -ENOMEM / -ENOSPC (nothing changed).
 */
static int lock_create(struct node_locks *lt, uint32_t member, const char *name,
		       uint32_t lease_ms, struct lock **out)
{
	struct lock *l;
	int ret;

	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	ret = res_room(l);
	if (ret)
		goto free_lock;
	ret = slot_take(lt, &l->slot);
	if (ret)
		goto free_res;
	slot_clear_records(lt, l->slot);
	l->id = lt->next_id++;
	l->lease_ms = lease_ms;
	l->creator = member;
	memcpy(l->name, name, strlen(name) + 1);
	shmx__rb_insert_key(&lt->by_id, &l->id_node, lock_id_key);
	if (l->name[0])
		shmx__rb_insert_name(&lt->by_name, &l->name_node, lock_name);
	lt->nr_locks++;
	*out = l;
	return 0;

free_res:
	free(l->res);
free_lock:
	free(l);
	return ret;
}

static void info_fill(const struct lock *l, struct node_lock_info *info)
{
	memset(info, 0, sizeof(*info));
	info->id = l->id;
	info->slot = l->slot;
	memcpy(info->name, l->name, sizeof(info->name));
	info->lease_ms = l->lease_ms;
	info->creator = l->creator;
	info->reservations = l->total;
}

/* ---- the contract (locks.h) ----------------------------------------- */

int node_locks_init(struct node_locks *lt, void *mem, uint32_t nr_slots)
{
	if (!lt || !mem || ((uintptr_t)mem & 7) || !nr_slots)
		return -EINVAL;
	memset(lt, 0, sizeof(*lt));
	lt->free_ring = malloc((size_t)nr_slots * sizeof(*lt->free_ring));
	if (!lt->free_ring)
		return -ENOMEM;
	lt->mem = mem;
	lt->nr_slots = nr_slots;
	lt->next_id = 1;
	for (uint32_t s = 0; s < nr_slots; s++)
		ring_push(lt, s);
	return 0;
}

void node_locks_fini(struct node_locks *lt)
{
	struct shmx__rb_node *n;

	while ((n = shmx__rb_first(&lt->by_id)))
		lock_destroy(lt, id_lock(n));
	free(lt->free_ring);
	lt->free_ring = NULL;
	lt->nr_free = 0;
	lt->nr_slots = 0;
}

int node_lock_reserve(struct node_locks *lt, uint32_t member, uint64_t id,
		      const char *name, uint32_t lease_ms,
		      struct node_lock_info *out, int *created)
{
	struct lock_res *r;
	struct lock *l;
	int ret, made = 0;

	if (!name)
		name = "";
	if (!member || (id && name[0]) ||
	    (name[0] && !shmx__name_valid(name)) || !lease_ms ||
	    lease_ms > SHMX_LOCK_LEASE_MAX_MS)
		return -EINVAL;
	if (id)
		l = lock_by_id(lt, id);
	else
		l = name[0] ? lock_by_name(lt, name) : NULL;
	if (!l && id)
		return -ENOENT;
	if (l) {
		if (l->total == UINT32_MAX)
			return -EOVERFLOW;
		ret = res_room(l);
		if (ret)
			return ret;
	} else {
		ret = lock_create(lt, member, name, lease_ms, &l);
		if (ret)
			return ret;
		made = 1;
	}
	r = res_find(l, member);
	if (!r) {
		r = &l->res[l->nr_res++];
		r->member = member;
		r->count = 0;
	}
	r->count++;
	l->total++;
	lt->nr_reservations++;
	if (out)
		info_fill(l, out);
	if (created)
		*created = made;
	return 0;
}

int node_lock_unreserve(struct node_locks *lt, uint32_t member, uint64_t id)
{
	struct lock *l = lock_by_id(lt, id);
	struct lock_res *r = l && member ? res_find(l, member) : NULL;

	if (!r)
		return -ENOENT;
	if (!slot_quiet(lt, l->slot))
		return -EBUSY;
	res_drop(lt, l, r, 1);
	if (!l->total)
		lock_destroy(lt, l);
	return 0;
}

int node_locks_member_gone(struct node_locks *lt, uint32_t member)
{
	struct shmx__rb_node *n, *next;

	if (!member)
		return -EINVAL;
	for (n = shmx__rb_first(&lt->by_id); n; n = next) {
		struct lock *l = id_lock(n);
		struct lock_res *r = res_find(l, member);

		next = shmx__rb_next(n);
		if (!r)
			continue;
		res_drop(lt, l, r, r->count);
		if (!l->total)
			lock_destroy(lt, l);
	}
	return 0;
}

int node_lock_next(const struct node_locks *lt, uint64_t from,
		   struct node_lock_info *info)
{
	struct shmx__rb_node *n = shmx__rb_ceil(&lt->by_id, from, lock_id_key);

	if (!n)
		return -ENOENT;
	info_fill(id_lock(n), info);
	return 0;
}

int node_lock_slot_read(const struct node_locks *lt, uint32_t slot,
			uint8_t out[NODE_LOCK_INFO_BYTES])
{
	const uint64_t *words;

	if (slot >= lt->nr_slots)
		return -EINVAL;
	words = (const uint64_t *)(lt->mem + (size_t)slot * SHMX_LOCK_SLOT);
	for (unsigned i = 0; i < NODE_LOCK_INFO_BYTES / 8; i++) {
		uint64_t w = __atomic_load_n(&words[i], __ATOMIC_RELAXED);

		for (unsigned b = 0; b < 8; b++)
			out[8 * i + b] = (uint8_t)(w >> (8 * b));
	}
	return 0;
}

int node_locks_count(const struct node_locks *lt, uint32_t *locks,
		     uint64_t *reservations)
{
	if (locks)
		*locks = lt->nr_locks;
	if (reservations)
		*reservations = lt->nr_reservations;
	return 0;
}

/*
 * Mark slot @slot seen in @seen; -EUCLEAN when it is out of the table or
 * was seen already (two locks, or a lock's slot also free).
 */
static int slot_mark(const struct node_locks *lt, uint8_t *seen, uint32_t slot)
{
	if (slot >= lt->nr_slots || seen[slot])
		return -EUCLEAN;
	seen[slot] = 1;
	return 0;
}

/* One lock's own invariants; its total is added to *@sum. */
static int lock_check(const struct node_locks *lt, const struct lock *l,
		      uint64_t *sum)
{
	uint64_t total = 0;

	if (!l->id || l->id >= lt->next_id || !l->creator || !l->total ||
	    !l->lease_ms || l->lease_ms > SHMX_LOCK_LEASE_MAX_MS ||
	    l->nr_res > l->cap_res ||
	    (l->name[0] &&
	     (!shmx__name_valid(l->name) || lock_by_name(lt, l->name) != l)))
		return -EUCLEAN;
	for (uint32_t i = 0; i < l->nr_res; i++) {
		if (!l->res[i].member || !l->res[i].count ||
		    res_find(l, l->res[i].member) != &l->res[i])
			return -EUCLEAN;
		total += l->res[i].count;
	}
	*sum += total;
	return total == l->total ? 0 : -EUCLEAN;
}

int node_locks_check(const struct node_locks *lt)
{
	const struct shmx__rb_node *n;
	uint64_t reservations = 0;
	uint32_t named = 0;
	uint64_t prev = 0;
	uint8_t *seen;
	int ret = -EUCLEAN;

	seen = calloc(lt->nr_slots, 1);
	if (!seen)
		return -ENOMEM;
	if (shmx__rb_check(&lt->by_id) != (long)lt->nr_locks ||
	    lt->nr_free > lt->nr_slots ||
	    (uint64_t)lt->nr_locks + lt->nr_free != lt->nr_slots)
		goto free_seen;
	for (n = shmx__rb_first(&lt->by_id); n; n = shmx__rb_next(n)) {
		const struct lock *l = id_lock(n);

		if (l->id <= prev || lock_check(lt, l, &reservations) ||
		    slot_mark(lt, seen, l->slot))
			goto free_seen;
		prev = l->id;
		named += !!l->name[0];
	}
	if (reservations != lt->nr_reservations ||
	    shmx__rb_check(&lt->by_name) != (long)named)
		goto free_seen;
	for (uint32_t i = 0; i < lt->nr_free; i++)
		if (slot_mark(lt, seen, *ring_at(lt, i)))
			goto free_seen;
	ret = 0;
free_seen:
	free(seen);
	return ret;
}

/* ---- persistence (persist.c) ----------------------------------------- */

size_t node_lock_save(const struct node_locks *lt, uint64_t id, void *buf,
		      size_t cap)
{
	const struct lock *l = lock_by_id(lt, id);
	struct node_lock_rec r;
	size_t len;

	if (!l)
		return 0;
	len = sizeof(r) + l->nr_res * sizeof(struct node_lock_res_rec);
	if (len > cap)
		return len;
	memset(&r, 0, sizeof(r));
	r.id = l->id;
	r.slot = l->slot;
	r.lease_ms = l->lease_ms;
	r.creator = l->creator;
	r.nr_res = l->nr_res;
	memcpy(r.name, l->name, sizeof(r.name));
	memcpy(buf, &r, sizeof(r));
	for (uint32_t i = 0; i < l->nr_res; i++) {
		struct node_lock_res_rec e = { .member = l->res[i].member,
					       .count = l->res[i].count };

		memcpy((uint8_t *)buf + sizeof(r) + i * sizeof(e), &e,
		       sizeof(e));
	}
	return len;
}

int node_lock_load(struct node_locks *lt, const void *buf, size_t len)
{
	struct node_lock_rec r;
	struct lock *l;
	uint64_t total = 0;
	int ret = -EBADMSG;

	if (len < sizeof(r))
		return -EBADMSG;
	memcpy(&r, buf, sizeof(r));
	if (len != sizeof(r) + r.nr_res * sizeof(struct node_lock_res_rec) ||
	    !r.id || r.slot >= lt->nr_slots || !r.lease_ms ||
	    r.lease_ms > SHMX_LOCK_LEASE_MAX_MS || !r.nr_res ||
	    !memchr(r.name, 0, sizeof(r.name)) ||
	    (r.name[0] && !shmx__name_valid(r.name)))
		return -EBADMSG;
	if (lock_by_id(lt, r.id) || (r.name[0] && lock_by_name(lt, r.name)))
		return -EEXIST;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	for (uint32_t i = 0; i < r.nr_res; i++) {
		struct node_lock_res_rec e;

		memcpy(&e, (const uint8_t *)buf + sizeof(r) + i * sizeof(e),
		       sizeof(e));
		ret = -EBADMSG;
		if (!e.member || !e.count || res_find(l, e.member))
			goto out_free;
		ret = res_room(l);
		if (ret)
			goto out_free;
		l->res[l->nr_res].member = e.member;
		l->res[l->nr_res].count = e.count;
		l->nr_res++;
		total += e.count;
	}
	ret = -EBADMSG;
	if (total > UINT32_MAX)
		goto out_free;
	l->id = r.id;
	l->slot = r.slot;
	l->lease_ms = r.lease_ms;
	l->creator = r.creator;
	l->total = (uint32_t)total;
	memcpy(l->name, r.name, sizeof(l->name));
	if (lt->next_id <= l->id)
		lt->next_id = l->id + 1;
	shmx__rb_insert_key(&lt->by_id, &l->id_node, lock_id_key);
	if (l->name[0])
		shmx__rb_insert_name(&lt->by_name, &l->name_node, lock_name);
	lt->nr_locks++;
	lt->nr_reservations += total;
	return 0;

out_free:
	free(l->res);
	free(l);
	return ret;
}

int node_locks_loaded(struct node_locks *lt)
{
	uint8_t *used = calloc(lt->nr_slots, 1);
	int ret = 0;

	if (!used)
		return -ENOMEM;
	for (struct shmx__rb_node *n = shmx__rb_first(&lt->by_id); n;
	     n = shmx__rb_next(n))
		if (used[id_lock(n)->slot]++)
			ret = -EUCLEAN;
	if (!ret) {
		lt->free_head = 0;
		lt->nr_free = 0;
		for (uint32_t s = 0; s < lt->nr_slots; s++)
			if (!used[s])
				ring_push(lt, s);
	}
	free(used);
	return ret;
}

uint64_t node_locks_next_id(const struct node_locks *lt)
{
	return lt->next_id;
}

void node_locks_set_next_id(struct node_locks *lt, uint64_t next)
{
	if (next > lt->next_id)
		lt->next_id = next;
}
