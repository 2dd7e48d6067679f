/* SPDX-License-Identifier: MIT */
/* config.c - shmnode's settings from defaults, a config file and argv. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "extents.h"
#include "proto/proto.h"
#include "shmext/shmext.h"
#include "util/log.h"
#include "util/parse.h"
#include "xport/xport.h"

void node_config_defaults(struct node_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->listen, sizeof(cfg->listen), "127.0.0.1:%d",
		 SHMX_DEFAULT_PORT);
	cfg->size = NODE_DEFAULT_SIZE;
	snprintf(cfg->provider, sizeof(cfg->provider), "%s",
		 SHMX_DEFAULT_PROVIDER);
	snprintf(cfg->transport, sizeof(cfg->transport), "auto");
	cfg->max_members = NODE_DEFAULT_MAX_MEMBERS;
	cfg->client_timeout_ms = NODE_DEFAULT_CLIENT_TIMEOUT_MS;
	cfg->heartbeat_ms = NODE_DEFAULT_HEARTBEAT_MS;
	cfg->max_locks = NODE_DEFAULT_MAX_LOCKS;
	cfg->lock_lease_ms = SHMX_LOCK_LEASE_MS;
	cfg->log_level = SHMX_LOG_INFO;
}

static int set_str(char *dst, size_t size, const char *key, const char *v,
		   char *err, size_t errlen)
{
	if (!*v || shmx__strlcpy(dst, v, size)) {
		snprintf(err, errlen, "%s: empty or longer than %zu bytes", key,
			 size - 1);
		return -EINVAL;
	}
	return 0;
}

static int set_u32(uint32_t *dst, uint64_t lo, uint64_t hi, const char *key,
		   const char *v, char *err, size_t errlen)
{
	uint64_t n;

	if (shmx__parse_u64(v, &n) || n < lo || n > hi) {
		snprintf(err, errlen,
			 "%s: '%s' is not a number from %llu to %llu", key, v,
			 (unsigned long long)lo, (unsigned long long)hi);
		return -EINVAL;
	}
	*dst = (uint32_t)n;
	return 0;
}

int node_config_set(struct node_config *cfg, const char *key, const char *value,
		    char *err, size_t errlen)
{
	char host[128];
	uint16_t port;
	int lvl;

	if (!strcmp(key, "listen")) {
		if (shmx__parse_host_port(value, SHMX_DEFAULT_PORT, host,
					  sizeof(host), &port)) {
			snprintf(err, errlen, "listen: '%s' is not HOST:PORT",
				 value);
			return -EINVAL;
		}
		return set_str(cfg->listen, sizeof(cfg->listen), key, value,
			       err, errlen);
	}
	if (!strcmp(key, "hugepages")) {
		if (!strcmp(value, "no"))
			cfg->hugepages = NODE_HUGE_NO;
		else if (!strcmp(value, "try"))
			cfg->hugepages = NODE_HUGE_TRY;
		else if (!strcmp(value, "require"))
			cfg->hugepages = NODE_HUGE_REQUIRE;
		else {
			snprintf(err, errlen,
				 "hugepages: '%s' is not no, try or require",
				 value);
			return -EINVAL;
		}
		return 0;
	}
	if (!strcmp(key, "size")) {
		if (shmx__parse_size(value, &cfg->size) || cfg->size < 4096) {
			snprintf(err, errlen,
				 "size: '%s' is not a size of at least 4K "
				 "(suffixes K, M, G)",
				 value);
			return -EINVAL;
		}
		return 0;
	}
	if (!strcmp(key, "max-pool-size") || !strcmp(key, "member-cap") ||
	    !strcmp(key, "max-seg-size") || !strcmp(key, "max-memory")) {
		uint64_t *v = &cfg->member_cap;

		if (!strcmp(key, "max-pool-size"))
			v = &cfg->max_pool_size;
		else if (!strcmp(key, "max-seg-size"))
			v = &cfg->max_seg_size;
		else if (!strcmp(key, "max-memory"))
			v = &cfg->max_memory;

		if (shmx__parse_size(value, v)) {
			snprintf(err, errlen,
				 "%s: '%s' is not a size (suffixes K, M, G; "
				 "0 = no limit)",
				 key, value);
			return -EINVAL;
		}
		return 0;
	}
	if (!strcmp(key, "backing"))
		return set_str(cfg->backing, sizeof(cfg->backing) - 16, key,
			       value, err, errlen);
	if (!strcmp(key, "backing-sync")) {
		if (strcmp(value, "yes") && strcmp(value, "no")) {
			snprintf(err, errlen,
				 "backing-sync: '%s' is not yes or no", value);
			return -EINVAL;
		}
		cfg->backing_sync = !strcmp(value, "yes");
		return 0;
	}
	if (!strcmp(key, "key-file"))
		return set_str(cfg->key_file, sizeof(cfg->key_file), key, value,
			       err, errlen);
	if (!strcmp(key, "provider"))
		return set_str(cfg->provider, sizeof(cfg->provider), key, value,
			       err, errlen);
	if (!strcmp(key, "transport")) {
		if (!shmx__xport_name_ok(value)) {
			snprintf(
				err, errlen,
				"transport: '%s' is not built in (auto, ofi%s)",
				value,
				shmx__xport_find("verbs") ? ", verbs" : "");
			return -EINVAL;
		}
		return set_str(cfg->transport, sizeof(cfg->transport), key,
			       value, err, errlen);
	}
	if (!strcmp(key, "max-members"))
		return set_u32(&cfg->max_members, 1, 65536, key, value, err,
			       errlen);
	if (!strcmp(key, "client-timeout"))
		return set_u32(&cfg->client_timeout_ms, 100, 3600000, key,
			       value, err, errlen);
	if (!strcmp(key, "heartbeat"))
		return set_u32(&cfg->heartbeat_ms, 10, 600000, key, value, err,
			       errlen);
	if (!strcmp(key, "max-locks"))
		return set_u32(&cfg->max_locks, 1, NODE_MAX_LOCKS_MAX, key,
			       value, err, errlen);
	if (!strcmp(key, "lock-lease"))
		return set_u32(&cfg->lock_lease_ms, 1, SHMX_LOCK_LEASE_MAX_MS,
			       key, value, err, errlen);
	if (!strcmp(key, "admin-socket")) {
		if (strlen(value) >= sizeof(cfg->admin_socket)) {
			snprintf(err, errlen,
				 "admin-socket: longer than %zu bytes",
				 sizeof(cfg->admin_socket) - 1);
			return -EINVAL;
		}
		snprintf(cfg->admin_socket, sizeof(cfg->admin_socket), "%s",
			 value);
		return 0;
	}
	if (!strcmp(key, "metrics")) {
		if (*value &&
		    (strlen(value) >= sizeof(cfg->metrics) ||
		     metrics_parse_addr(value, host, sizeof(host), &port))) {
			snprintf(err, errlen,
				 "metrics: '%s' is not HOST:PORT, :PORT or "
				 "PORT (\"\" for none)",
				 value);
			return -EINVAL;
		}
		snprintf(cfg->metrics, sizeof(cfg->metrics), "%s", value);
		return 0;
	}
	if (!strcmp(key, "log-level")) {
		lvl = shmx__log_parse_level(value);
		if (lvl < 0) {
			snprintf(err, errlen,
				 "log-level: '%s' is not error, warn, info or "
				 "debug",
				 value);
			return -EINVAL;
		}
		cfg->log_level = lvl;
		return 0;
	}
	snprintf(err, errlen, "unknown key '%s'", key);
	return -ENOENT;
}

/* Strip leading and trailing white space in place. */
static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

int node_config_load(struct node_config *cfg, const char *path, char *err,
		     size_t errlen)
{
	char line[1024], msg[256];
	unsigned lineno = 0;
	int ret = 0;
	FILE *f;

	f = fopen(path, "re");
	if (!f) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return ret;
	}
	while (fgets(line, sizeof(line), f)) {
		char *key, *value, *eq, *hash;

		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			snprintf(err, errlen, "%s:%u: line too long", path,
				 lineno);
			ret = -EINVAL;
			break;
		}
		hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		key = trim(line);
		if (!*key)
			continue;
		eq = strchr(key, '=');
		if (!eq) {
			snprintf(err, errlen, "%s:%u: expected 'key = value'",
				 path, lineno);
			ret = -EINVAL;
			break;
		}
		*eq = '\0';
		value = trim(eq + 1);
		key = trim(key);
		ret = node_config_set(cfg, key, value, msg, sizeof(msg));
		if (ret) {
			snprintf(err, errlen, "%s:%u: %s", path, lineno, msg);
			break;
		}
	}
	fclose(f);
	return ret;
}

int node_config_check(const struct node_config *cfg, char *err, size_t errlen)
{
	if (cfg->heartbeat_ms * 2 > cfg->client_timeout_ms) {
		snprintf(err, errlen,
			 "heartbeat (%u ms) must be at most half of "
			 "client-timeout (%u ms)",
			 cfg->heartbeat_ms, cfg->client_timeout_ms);
		return -EINVAL;
	}
	return 0;
}
