/* SPDX-License-Identifier: MIT */
/*
 * rbtree.h - an intrusive red-black tree with parent pointers, in the
 * manner of the Linux kernel's <linux/rbtree.h>: the caller embeds a
 * struct shmx__rb_node in its own object, does the ordered descent itself
 * (so any key and any comparison work), links the new node where the
 * descent ended and calls shmx__rb_insert_color().  Insert, erase,
 * first, last and next are O(log n); nothing here allocates.
 */
#ifndef SHMX_NODE_RBTREE_H
#define SHMX_NODE_RBTREE_H

#include <stddef.h>
#include <stdint.h>

struct shmx__rb_node {
	struct shmx__rb_node *parent;
	struct shmx__rb_node *left;
	struct shmx__rb_node *right;
	int red;
};

struct shmx__rb_root {
	struct shmx__rb_node *node; /* NULL when the tree is empty */
};

/* The object of type @type that embeds @ptr as its member @member. */
#define shmx__rb_entry(ptr, type, member)                                      \
	((type *)((char *)(ptr)-offsetof(type, member)))

/*
 * Put @node at *@link, a NULL child pointer of @parent (or the root pointer
 * with @parent NULL) where an ordered descent ended.  The tree is not
 * balanced until shmx__rb_insert_color() is called.
 */
static inline void shmx__rb_link(struct shmx__rb_node *node,
				 struct shmx__rb_node *parent,
				 struct shmx__rb_node **link)
{
	node->parent = parent;
	node->left = NULL;
	node->right = NULL;
	node->red = 1;
	*link = node;
}

/* Rebalance after shmx__rb_link() of @node.  Returns nothing. */
void shmx__rb_insert_color(struct shmx__rb_node *node,
			   struct shmx__rb_root *root);
/* Take @node out of the tree and rebalance.  Returns nothing. */
void shmx__rb_erase(struct shmx__rb_node *node, struct shmx__rb_root *root);
/* The leftmost (smallest) node, or NULL when the tree is empty. */
struct shmx__rb_node *shmx__rb_first(const struct shmx__rb_root *root);
/* The rightmost (largest) node, or NULL when the tree is empty. */
struct shmx__rb_node *shmx__rb_last(const struct shmx__rb_root *root);
/* The in-order successor of @node, or NULL after the last. */
struct shmx__rb_node *shmx__rb_next(const struct shmx__rb_node *node);
/*
 * Trees ordered by a unique 64-bit key that @key reads from a node: the
 * node whose key is the greatest <= @k (floor), the smallest >= @k
 * (ceil), exactly @k (find), each NULL when there is none; insert links
 * @node where its key belongs (keys must be unique) and rebalances.
 * O(log n) each.
 */
typedef uint64_t (*shmx__rb_key_fn)(const struct shmx__rb_node *n);
struct shmx__rb_node *shmx__rb_floor(const struct shmx__rb_root *root,
				     uint64_t k, shmx__rb_key_fn key);
struct shmx__rb_node *shmx__rb_ceil(const struct shmx__rb_root *root,
				    uint64_t k, shmx__rb_key_fn key);
struct shmx__rb_node *shmx__rb_find(const struct shmx__rb_root *root,
				    uint64_t k, shmx__rb_key_fn key);
void shmx__rb_insert_key(struct shmx__rb_root *root, struct shmx__rb_node *node,
			 shmx__rb_key_fn key);

/*
 * Trees ordered by a unique string that @name reads from a node (strcmp
 * order): find returns the node whose string is @s, or NULL; insert links
 * @node where its string belongs (strings must be unique) and rebalances.
 * O(log n) string comparisons each.
 */
typedef const char *(*shmx__rb_name_fn)(const struct shmx__rb_node *n);
struct shmx__rb_node *shmx__rb_find_name(const struct shmx__rb_root *root,
					 const char *s, shmx__rb_name_fn name);
void shmx__rb_insert_name(struct shmx__rb_root *root,
			  struct shmx__rb_node *node, shmx__rb_name_fn name);

/*
 * Check the red-black and parent-pointer invariants (not the order, which
 * only the caller knows).  O(n); for tests.  Returns the number of nodes,
 * or -1 when an invariant is broken.
 */
long shmx__rb_check(const struct shmx__rb_root *root);

#endif /* SHMX_NODE_RBTREE_H */
