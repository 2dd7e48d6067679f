/* SPDX-License-Identifier: MIT */
/*
 * alloc.c - shmnode's memory allocator: best fit over free blocks kept in
 * two red-black trees (by address and by size), allocated blocks in a third.
 * See alloc.h for the contract and the costs.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"

/*
 * One free or allocated block, [start, start + len).  addr_node links it
 * into free_by_addr or used_by_addr; size_node into free_by_size while it
 * is free.
 */
struct block {
	struct shmx__rb_node addr_node;
	struct shmx__rb_node size_node;
	uint64_t start;
	uint64_t len;
};

#define addr_block(n) shmx__rb_entry(n, struct block, addr_node)
#define size_block(n) shmx__rb_entry(n, struct block, size_node)

static uint64_t block_end(const struct block *b)
{
	return b->start + b->len;
}

/* Bytes to skip from @start (a multiple of the grain) to reach @align. */
static uint64_t align_pad(uint64_t start, uint64_t align)
{
	return (align - (start & (align - 1))) & (align - 1);
}

/* True when @b can hold @size bytes at an @align-aligned start. */
static int block_fits(const struct block *b, uint64_t size, uint64_t align)
{
	uint64_t pad = align_pad(b->start, align);

	return pad <= b->len && b->len - pad >= size;
}

/* True when [@start, @start + @len) is not a valid range to manage. */
static int range_invalid(uint64_t start, uint64_t len)
{
	return !len || start % SHMX_ALLOC_GRAIN || len % SHMX_ALLOC_GRAIN ||
	       len > UINT64_MAX - start;
}

/* The block of an address tree with the greatest start <= @addr, or NULL. */
static struct block *addr_floor(const struct shmx__rb_root *root, uint64_t addr)
{
	struct shmx__rb_node *n = root->node;
	struct block *best = NULL;

	while (n) {
		struct block *b = addr_block(n);

		if (b->start <= addr) {
			best = b;
			n = n->right;
		} else {
			n = n->left;
		}
	}
	return best;
}

/* The block of an address tree with the smallest start >= @addr, or NULL. */
static struct block *addr_ceil(const struct shmx__rb_root *root, uint64_t addr)
{
	struct shmx__rb_node *n = root->node;
	struct block *best = NULL;

	while (n) {
		struct block *b = addr_block(n);

		if (b->start >= addr) {
			best = b;
			n = n->left;
		} else {
			n = n->right;
		}
	}
	return best;
}

/* The next block of an address tree after @b, or NULL. */
static struct block *addr_next(const struct block *b)
{
	struct shmx__rb_node *n = shmx__rb_next(&b->addr_node);

	return n ? addr_block(n) : NULL;
}

/* True when some block of an address tree overlaps [@start, @end). */
static int addr_overlaps(const struct shmx__rb_root *root, uint64_t start,
			 uint64_t end)
{
	/* Blocks are disjoint, so the last one starting before @end ends
	 * last among them. */
	struct block *b = addr_floor(root, end - 1);

	return b && block_end(b) > start;
}

/* Insert @b into an address tree.  Returns nothing. */
static void addr_insert(struct shmx__rb_root *root, struct block *b)
{
	struct shmx__rb_node **link = &root->node, *parent = NULL;

	while (*link) {
		parent = *link;
		if (b->start < addr_block(parent)->start)
			link = &parent->left;
		else
			link = &parent->right;
	}
	shmx__rb_link(&b->addr_node, parent, link);
	shmx__rb_insert_color(&b->addr_node, root);
}

/* Order of the size tree: by length, then by start. */
static int size_less(const struct block *x, const struct block *y)
{
	return x->len < y->len || (x->len == y->len && x->start < y->start);
}

/* Insert @b into the size tree.  Returns nothing. */
static void size_insert(struct shmx__rb_root *root, struct block *b)
{
	struct shmx__rb_node **link = &root->node, *parent = NULL;

	while (*link) {
		parent = *link;
		if (size_less(b, size_block(parent)))
			link = &parent->left;
		else
			link = &parent->right;
	}
	shmx__rb_link(&b->size_node, parent, link);
	shmx__rb_insert_color(&b->size_node, root);
}

/* The first block in size order with length >= @len, or NULL. */
static struct block *size_ceil(const struct shmx__rb_root *root, uint64_t len)
{
	struct shmx__rb_node *n = root->node;
	struct block *best = NULL;

	while (n) {
		struct block *b = size_block(n);

		if (b->len >= len) {
			best = b;
			n = n->left;
		} else {
			n = n->right;
		}
	}
	return best;
}

/*
 * The free block a request for @size bytes at @align goes to, or NULL.
 * With the grain as alignment the first candidate always fits; otherwise
 * see shmx__alloc_get() in alloc.h for the bound.
 */
static struct block *find_fit(const struct shmx__alloc *a, uint64_t size,
			      uint64_t align)
{
	struct block *b = size_ceil(&a->free_by_size, size);
	struct shmx__rb_node *n;

	for (int i = 0; b && i < SHMX_ALLOC_PROBES; i++) {
		if (block_fits(b, size, align))
			return b;
		n = shmx__rb_next(&b->size_node);
		b = n ? size_block(n) : NULL;
	}
	if (!b || size > UINT64_MAX - align)
		return NULL;
	/* The padding is at most align - grain, so any of these fits. */
	return size_ceil(&a->free_by_size, size + align - SHMX_ALLOC_GRAIN);
}

/* Add @b to the free trees as it is (its neighbours are not free). */
static void free_link(struct shmx__alloc *a, struct block *b)
{
	addr_insert(&a->free_by_addr, b);
	size_insert(&a->free_by_size, b);
	a->nr_free++;
	a->free += b->len;
}

/* Take @b out of the free trees (the record itself is kept). */
static void free_unlink(struct shmx__alloc *a, struct block *b)
{
	shmx__rb_erase(&b->addr_node, &a->free_by_addr);
	shmx__rb_erase(&b->size_node, &a->free_by_size);
	a->nr_free--;
	a->free -= b->len;
}

/*
 * Make @b free, merged with the free blocks that end where it starts and
 * start where it ends; @b's record may be freed.  Returns nothing.
 */
static void free_insert(struct shmx__alloc *a, struct block *b)
{
	struct block *prev = addr_floor(&a->free_by_addr, b->start);
	struct block *next =
		prev ? addr_next(prev) : addr_ceil(&a->free_by_addr, b->start);
	int linked = 0;

	a->free += b->len;
	if (prev && block_end(prev) == b->start) {
		shmx__rb_erase(&prev->size_node, &a->free_by_size);
		prev->len += b->len;
		free(b);
		b = prev;
		linked = 1;
	}
	if (next && block_end(b) == next->start) {
		shmx__rb_erase(&next->size_node, &a->free_by_size);
		if (linked) {
			b->len += next->len;
			shmx__rb_erase(&next->addr_node, &a->free_by_addr);
			a->nr_free--;
			free(next);
		} else {
			/* next moves its start down to b's: nothing lies
			 * between them, so its place in the tree holds. */
			next->start = b->start;
			next->len += b->len;
			free(b);
			b = next;
			linked = 1;
		}
	}
	if (!linked) {
		addr_insert(&a->free_by_addr, b);
		a->nr_free++;
	}
	size_insert(&a->free_by_size, b);
}

int shmx__alloc_init(struct shmx__alloc *a, uint64_t base, uint64_t size)
{
	memset(a, 0, sizeof(*a));
	if (!size)
		return base % SHMX_ALLOC_GRAIN ? -EINVAL : 0;
	return shmx__alloc_add(a, base, size);
}

/* Free every record of the subtree at @n (no rebalancing). */
static void free_subtree(struct shmx__rb_node *n)
{
	while (n) {
		struct shmx__rb_node *left = n->left;

		free_subtree(n->right);
		free(addr_block(n));
		n = left;
	}
}

void shmx__alloc_fini(struct shmx__alloc *a)
{
	free_subtree(a->free_by_addr.node);
	free_subtree(a->used_by_addr.node);
	memset(a, 0, sizeof(*a));
}

/*
 * Allocate [@b->start + @pad, + @size) of the free block @b: what is left
 * before and after stays free.  Returns 0 or -ENOMEM (nothing changes).
 */
static int carve(struct shmx__alloc *a, struct block *b, uint64_t pad,
		 uint64_t size)
{
	struct block *head = NULL, *tail = NULL;
	uint64_t rest = b->len - pad - size;

	/* Get every record first, so a failure changes nothing. */
	if (pad && !(head = malloc(sizeof(*head))))
		return -ENOMEM;
	if (rest && !(tail = malloc(sizeof(*tail)))) {
		free(head);
		return -ENOMEM;
	}
	free_unlink(a, b);
	if (head) {
		head->start = b->start;
		head->len = pad;
		free_link(a, head);
	}
	if (tail) {
		tail->start = b->start + pad + size;
		tail->len = rest;
		free_link(a, tail);
	}
	b->start += pad;
	b->len = size;
	addr_insert(&a->used_by_addr, b);
	a->nr_used++;
	return 0;
}

int shmx__alloc_get(struct shmx__alloc *a, uint64_t size, uint64_t align,
		    uint64_t *off)
{
	struct block *b;
	uint64_t start;
	int ret;

	if (!size || align < SHMX_ALLOC_GRAIN || align > SHMX_ALLOC_ALIGN_MAX ||
	    (align & (align - 1)))
		return -EINVAL;
	if (size > UINT64_MAX - (SHMX_ALLOC_GRAIN - 1))
		return -ENOMEM;
	size = (size + SHMX_ALLOC_GRAIN - 1) &
	       ~(uint64_t)(SHMX_ALLOC_GRAIN - 1);
	b = find_fit(a, size, align);
	if (!b)
		return -ENOMEM;
	start = b->start + align_pad(b->start, align);
	ret = carve(a, b, start - b->start, size);
	if (!ret)
		*off = start;
	return ret;
}

int shmx__alloc_take(struct shmx__alloc *a, uint64_t start, uint64_t len)
{
	struct block *b;

	if (range_invalid(start, len))
		return -EINVAL;
	if (addr_overlaps(&a->used_by_addr, start, start + len))
		return -EBUSY;
	/* Free blocks never touch, so a free range lies in one block. */
	b = addr_floor(&a->free_by_addr, start);
	if (!b || block_end(b) < start + len)
		return -ENOENT;
	return carve(a, b, start - b->start, len);
}

int shmx__alloc_put(struct shmx__alloc *a, uint64_t off)
{
	struct block *b = addr_floor(&a->used_by_addr, off);

	if (!b || off - b->start >= b->len)
		return -ENOENT;
	if (b->start != off)
		return -EINVAL;
	shmx__rb_erase(&b->addr_node, &a->used_by_addr);
	a->nr_used--;
	free_insert(a, b);
	return 0;
}

/* Report @b through the optional out-parameters.  Returns 0. */
static int block_report(const struct block *b, uint64_t *start, uint64_t *len)
{
	if (start)
		*start = b->start;
	if (len)
		*len = b->len;
	return 0;
}

int shmx__alloc_find(const struct shmx__alloc *a, uint64_t addr,
		     uint64_t *start, uint64_t *len)
{
	struct block *b = addr_floor(&a->used_by_addr, addr);

	if (!b || addr - b->start >= b->len)
		return -ENOENT;
	return block_report(b, start, len);
}

int shmx__alloc_next(const struct shmx__alloc *a, uint64_t from,
		     uint64_t *start, uint64_t *len)
{
	struct block *b = addr_ceil(&a->used_by_addr, from);

	return b ? block_report(b, start, len) : -ENOENT;
}

int shmx__alloc_foreach(const struct shmx__alloc *a,
			int (*fn)(void *arg, uint64_t start, uint64_t len),
			void *arg)
{
	struct shmx__rb_node *n;
	int ret;

	for (n = shmx__rb_first(&a->used_by_addr); n; n = shmx__rb_next(n)) {
		ret = fn(arg, addr_block(n)->start, addr_block(n)->len);
		if (ret)
			return ret;
	}
	return 0;
}

void shmx__alloc_stat(const struct shmx__alloc *a, struct shmx__alloc_stat *st)
{
	struct shmx__rb_node *largest = shmx__rb_last(&a->free_by_size);

	st->total = a->total;
	st->free = a->free;
	st->largest_free = largest ? size_block(largest)->len : 0;
	st->nr_alloc = a->nr_used;
	st->nr_free_blocks = a->nr_free;
}

int shmx__alloc_add(struct shmx__alloc *a, uint64_t start, uint64_t len)
{
	struct block *b;

	if (range_invalid(start, len))
		return -EINVAL;
	if (addr_overlaps(&a->free_by_addr, start, start + len) ||
	    addr_overlaps(&a->used_by_addr, start, start + len))
		return -EEXIST;
	b = malloc(sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->start = start;
	b->len = len;
	free_insert(a, b);
	a->total += len;
	return 0;
}

int shmx__alloc_remove(struct shmx__alloc *a, uint64_t start, uint64_t len)
{
	struct block *b, *tail = NULL;
	uint64_t end = start + len, head_len, tail_len;

	if (range_invalid(start, len))
		return -EINVAL;
	if (addr_overlaps(&a->used_by_addr, start, end))
		return -EBUSY;
	/* Free blocks never touch, so a free range lies in one block. */
	b = addr_floor(&a->free_by_addr, start);
	if (!b || block_end(b) < end)
		return -ENOENT;
	head_len = start - b->start;
	tail_len = block_end(b) - end;
	if (head_len && tail_len && !(tail = malloc(sizeof(*tail))))
		return -ENOMEM;
	free_unlink(a, b);
	if (tail) {
		tail->start = end;
		tail->len = tail_len;
		free_link(a, tail);
	} else if (tail_len) {
		head_len = tail_len; /* b becomes the tail */
		b->start = end;
	}
	if (head_len) {
		b->len = head_len;
		free_link(a, b);
	} else {
		free(b);
	}
	a->total -= len;
	return 0;
}

/* True when @b is the very record the size tree holds for its key. */
static int size_tree_holds(const struct shmx__rb_root *root,
			   const struct block *b)
{
	struct shmx__rb_node *n = root->node;

	while (n && size_block(n) != b) {
		if (size_less(b, size_block(n)))
			n = n->left;
		else
			n = n->right;
	}
	return n != NULL;
}

/* True when a block's bounds break the grain or wrap. */
static int block_invalid(const struct block *b)
{
	return range_invalid(b->start, b->len);
}

int shmx__alloc_check(const struct shmx__alloc *a)
{
	long nf = shmx__rb_check(&a->free_by_addr);
	long ns = shmx__rb_check(&a->free_by_size);
	long nu = shmx__rb_check(&a->used_by_addr);
	struct shmx__rb_node *n, *fn, *un;
	const struct block *b, *last = NULL, *prev_free = NULL;
	uint64_t free_bytes = 0, used_bytes = 0;

	if (nf < 0 || ns < 0 || nu < 0 || nf != ns ||
	    (uint64_t)nf != a->nr_free || (uint64_t)nu != a->nr_used)
		return -EUCLEAN;
	/* Size order is strict. */
	for (n = shmx__rb_first(&a->free_by_size); n; n = shmx__rb_next(n)) {
		b = size_block(n);
		if (last && !size_less(last, b))
			return -EUCLEAN;
		last = b;
	}
	/* Free and allocated blocks, merged in address order: disjoint,
	 * valid, free ones never touching, each free one in the size tree. */
	last = NULL;
	fn = shmx__rb_first(&a->free_by_addr);
	un = shmx__rb_first(&a->used_by_addr);
	while (fn || un) {
		int is_free = fn && (!un || addr_block(fn)->start <
						    addr_block(un)->start);

		b = addr_block(is_free ? fn : un);
		if (block_invalid(b) || (last && block_end(last) > b->start))
			return -EUCLEAN;
		if (is_free) {
			if (prev_free && block_end(prev_free) == b->start)
				return -EUCLEAN;
			if (!size_tree_holds(&a->free_by_size, b))
				return -EUCLEAN;
			free_bytes += b->len;
			prev_free = b;
			fn = shmx__rb_next(fn);
		} else {
			used_bytes += b->len;
			un = shmx__rb_next(un);
		}
		last = b;
	}
	if (free_bytes != a->free || free_bytes + used_bytes != a->total)
		return -EUCLEAN;
	return 0;
}
