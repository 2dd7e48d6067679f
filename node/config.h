/* SPDX-License-Identifier: MIT */
/*
 * config.h - shmnode's settings: defaults, the config file and the command
 * line share one table of keys, so every option can live in the file.
 */
#ifndef SHMX_NODE_CONFIG_H
#define SHMX_NODE_CONFIG_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "admin.h"
#include "metrics.h"

#define NODE_DEFAULT_SIZE (256ull << 20)
#define NODE_DEFAULT_MAX_MEMBERS 1024
#define NODE_DEFAULT_CLIENT_TIMEOUT_MS 3000
#define NODE_DEFAULT_HEARTBEAT_MS 500
#define NODE_DEFAULT_MAX_LOCKS 65536
#define NODE_MAX_LOCKS_MAX 1048576

struct node_config {
	char listen[128];	 /* HOST:PORT */
	uint64_t size;		 /* region bytes */
	char key_file[PATH_MAX]; /* "" = no key: loopback clients only */
	char provider[64];	 /* libfabric provider */
	char transport[16];	 /* "auto", "ofi", "verbs" */
	uint32_t max_members;
	uint32_t client_timeout_ms; /* silent this long = gone */
	uint32_t heartbeat_ms;	    /* clients ping this often */
	uint64_t max_pool_size;	    /* bytes a pool may have; 0 = any */
	uint64_t member_cap;	    /* bytes one member may hold; 0 = any */
	uint64_t max_seg_size;	    /* bytes a segment may have; 0 = any */
	uint64_t max_memory;	    /* bytes all extents may reach by growing;
			      * 0 = the machine's physical memory */
	uint32_t max_locks;	    /* lock-table slots */
	uint32_t lock_lease_ms;	    /* lease of a lock created without one */
	int log_level;		    /* enum shmx_log_level */
	int hugepages;		    /* NODE_HUGE_* (extents.h) */
	char backing[PATH_MAX];	    /* "" = memory and metadata not kept */
	int backing_sync;	    /* fdatasync the journal at each change */
	/* "" = admin_default_path(listen), "none" = no admin socket */
	char admin_socket[ADMIN_PATH_MAX];
	/* "" = no metrics endpoint; else HOST:PORT, :PORT or PORT */
	char metrics[METRICS_ADDR_MAX];
};

void node_config_defaults(struct node_config *cfg);
/*
 * Set @key (a long option name, e.g. "listen", "size", "key-file") to
 * @value.  Only "admin-socket" and "metrics" may be set to "" (their
 * default).  Returns 0, or -EINVAL / -ERANGE / -ENOENT (unknown key) with a
 * message naming the key in @err.
 */
int node_config_set(struct node_config *cfg, const char *key, const char *value,
		    char *err, size_t errlen);
/*
 * Read "key = value" lines ('#' starts a comment) from @path.  Returns 0,
 * or -errno with "PATH:LINE: message" in @err.
 */
int node_config_load(struct node_config *cfg, const char *path, char *err,
		     size_t errlen);
/* Cross-field checks after everything is set.  0 or -EINVAL with @err. */
int node_config_check(const struct node_config *cfg, char *err, size_t errlen);

#endif /* SHMX_NODE_CONFIG_H */
