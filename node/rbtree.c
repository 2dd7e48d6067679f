/* SPDX-License-Identifier: MIT */
/*
 * rbtree.c - intrusive red-black tree (CLRS, with NULL leaves and parent
 * pointers).  Ordering is the caller's business; see rbtree.h.
 */
#include <string.h>

#include "rbtree.h"

static int is_red(const struct shmx__rb_node *n)
{
	return n && n->red;
}

/* Make @new take @old's place under @old's parent (or as the root). */
static void replace_child(struct shmx__rb_root *root, struct shmx__rb_node *old,
			  struct shmx__rb_node *new)
{
	struct shmx__rb_node *p = old->parent;

	if (!p)
		root->node = new;
	else if (p->left == old)
		p->left = new;
	else
		p->right = new;
	if (new)
		new->parent = p;
}

static void rotate_left(struct shmx__rb_root *root, struct shmx__rb_node *x)
{
	struct shmx__rb_node *y = x->right;

	x->right = y->left;
	if (y->left)
		y->left->parent = x;
	replace_child(root, x, y);
	y->left = x;
	x->parent = y;
}

static void rotate_right(struct shmx__rb_root *root, struct shmx__rb_node *x)
{
	struct shmx__rb_node *y = x->left;

	x->left = y->right;
	if (y->right)
		y->right->parent = x;
	replace_child(root, x, y);
	y->right = x;
	x->parent = y;
}

void shmx__rb_insert_color(struct shmx__rb_node *node,
			   struct shmx__rb_root *root)
{
	struct shmx__rb_node *p, *g, *u;

	node->red = 1;
	while ((p = node->parent) && p->red) {
		g = p->parent; /* a red node is never the root */
		if (p == g->left) {
			u = g->right;
			if (is_red(u)) {
				p->red = 0;
				u->red = 0;
				g->red = 1;
				node = g;
				continue;
			}
			if (node == p->right) {
				rotate_left(root, p);
				node = p;
				p = node->parent;
			}
			p->red = 0;
			g->red = 1;
			rotate_right(root, g);
		} else {
			u = g->left;
			if (is_red(u)) {
				p->red = 0;
				u->red = 0;
				g->red = 1;
				node = g;
				continue;
			}
			if (node == p->left) {
				rotate_right(root, p);
				node = p;
				p = node->parent;
			}
			p->red = 0;
			g->red = 1;
			rotate_left(root, g);
		}
	}
	root->node->red = 0;
}

/*
 * Restore the black height after a black node was removed above @x (which
 * may be NULL, hence its parent @xp is passed along).
 */
static void erase_fixup(struct shmx__rb_root *root, struct shmx__rb_node *x,
			struct shmx__rb_node *xp)
{
	struct shmx__rb_node *w;

	while (x != root->node && !is_red(x)) {
		if (x == xp->left) {
			w = xp->right; /* non-NULL: x's side is short by one */
			if (w->red) {
				w->red = 0;
				xp->red = 1;
				rotate_left(root, xp);
				w = xp->right;
			}
			if (!is_red(w->left) && !is_red(w->right)) {
				w->red = 1;
				x = xp;
				xp = x->parent;
				continue;
			}
			if (!is_red(w->right)) {
				w->left->red = 0;
				w->red = 1;
				rotate_right(root, w);
				w = xp->right;
			}
			w->red = xp->red;
			xp->red = 0;
			w->right->red = 0;
			rotate_left(root, xp);
		} else {
			w = xp->left;
			if (w->red) {
				w->red = 0;
				xp->red = 1;
				rotate_right(root, xp);
				w = xp->left;
			}
			if (!is_red(w->left) && !is_red(w->right)) {
				w->red = 1;
				x = xp;
				xp = x->parent;
				continue;
			}
			if (!is_red(w->left)) {
				w->right->red = 0;
				w->red = 1;
				rotate_left(root, w);
				w = xp->left;
			}
			w->red = xp->red;
			xp->red = 0;
			w->left->red = 0;
			rotate_right(root, xp);
		}
		x = root->node;
		break;
	}
	if (x)
		x->red = 0;
}

void shmx__rb_erase(struct shmx__rb_node *node, struct shmx__rb_root *root)
{
	struct shmx__rb_node *y, *x, *xp;
	int removed_red = node->red;

	if (!node->left) {
		x = node->right;
		xp = node->parent;
		replace_child(root, node, x);
	} else if (!node->right) {
		x = node->left;
		xp = node->parent;
		replace_child(root, node, x);
	} else {
		/* Two children: the successor y takes node's place. */
		y = node->right;
		while (y->left)
			y = y->left;
		removed_red = y->red;
		x = y->right;
		if (y->parent == node) {
			xp = y;
		} else {
			xp = y->parent;
			replace_child(root, y, x);
			y->right = node->right;
			y->right->parent = y;
		}
		replace_child(root, node, y);
		y->left = node->left;
		y->left->parent = y;
		y->red = node->red;
	}
	if (!removed_red)
		erase_fixup(root, x, xp);
	node->parent = node->left = node->right = NULL;
}

struct shmx__rb_node *shmx__rb_first(const struct shmx__rb_root *root)
{
	struct shmx__rb_node *n = root->node;

	while (n && n->left)
		n = n->left;
	return n;
}

struct shmx__rb_node *shmx__rb_last(const struct shmx__rb_root *root)
{
	struct shmx__rb_node *n = root->node;

	while (n && n->right)
		n = n->right;
	return n;
}

struct shmx__rb_node *shmx__rb_next(const struct shmx__rb_node *node)
{
	const struct shmx__rb_node *n;

	if (node->right) {
		n = node->right;
		while (n->left)
			n = n->left;
		return (struct shmx__rb_node *)n;
	}
	while (node->parent && node == node->parent->right)
		node = node->parent;
	return node->parent;
}

/*
 * Black height of the subtree at @n (counting the NULL leaves as one), and
 * its node count added to *@count; -1 when an invariant is broken.
 */
static int check_subtree(const struct shmx__rb_node *n, long *count)
{
	int lh, rh;

	if (!n)
		return 1;
	if ((n->left && n->left->parent != n) ||
	    (n->right && n->right->parent != n))
		return -1;
	if (n->red && (is_red(n->left) || is_red(n->right)))
		return -1;
	lh = check_subtree(n->left, count);
	rh = check_subtree(n->right, count);
	if (lh < 0 || rh < 0 || lh != rh)
		return -1;
	++*count;
	return lh + !n->red;
}

long shmx__rb_check(const struct shmx__rb_root *root)
{
	long count = 0;

	if (root->node && (root->node->parent || root->node->red))
		return -1;
	return check_subtree(root->node, &count) < 0 ? -1 : count;
}

struct shmx__rb_node *shmx__rb_floor(const struct shmx__rb_root *root,
				     uint64_t k, shmx__rb_key_fn key)
{
	struct shmx__rb_node *n = root->node, *best = NULL;

	while (n) {
		if (key(n) <= k) {
			best = n;
			n = n->right;
		} else {
			n = n->left;
		}
	}
	return best;
}

struct shmx__rb_node *shmx__rb_ceil(const struct shmx__rb_root *root,
				    uint64_t k, shmx__rb_key_fn key)
{
	struct shmx__rb_node *n = root->node, *best = NULL;

	while (n) {
		if (key(n) >= k) {
			best = n;
			n = n->left;
		} else {
			n = n->right;
		}
	}
	return best;
}

struct shmx__rb_node *shmx__rb_find(const struct shmx__rb_root *root,
				    uint64_t k, shmx__rb_key_fn key)
{
	struct shmx__rb_node *n = shmx__rb_floor(root, k, key);

	return n && key(n) == k ? n : NULL;
}

void shmx__rb_insert_key(struct shmx__rb_root *root, struct shmx__rb_node *node,
			 shmx__rb_key_fn key)
{
	struct shmx__rb_node **link = &root->node, *parent = NULL;
	uint64_t k = key(node);

	while (*link) {
		parent = *link;
		link = k < key(parent) ? &parent->left : &parent->right;
	}
	shmx__rb_link(node, parent, link);
	shmx__rb_insert_color(node, root);
}

struct shmx__rb_node *shmx__rb_find_name(const struct shmx__rb_root *root,
					 const char *s, shmx__rb_name_fn name)
{
	struct shmx__rb_node *n = root->node;

	while (n) {
		int c = strcmp(s, name(n));

		if (!c)
			return n;
		n = c < 0 ? n->left : n->right;
	}
	return NULL;
}

void shmx__rb_insert_name(struct shmx__rb_root *root,
			  struct shmx__rb_node *node, shmx__rb_name_fn name)
{
	struct shmx__rb_node **link = &root->node, *parent = NULL;
	const char *s = name(node);

	while (*link) {
		parent = *link;
		link = strcmp(s, name(parent)) < 0 ? &parent->left
						   : &parent->right;
	}
	shmx__rb_link(node, parent, link);
	shmx__rb_insert_color(node, root);
}
