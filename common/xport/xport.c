/* SPDX-License-Identifier: MIT */
/*
 * xport.c - the table of transport backends built into this binary, and
 * the choice among them: "auto" takes verbs when an RDMA device is active
 * and verbs can serve the address, else ofi.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "util/errstr.h"
#include "util/log.h"
#include "xport/xport.h"

static const struct xport_ops *const backends[] = {
	&shmx__xport_ofi_ops,
#ifdef SHMX_HAVE_VERBS
	&shmx__xport_verbs_ops,
#endif
};

const struct xport_ops *shmx__xport_find(const char *name)
{
	for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
		if (name && !strcmp(backends[i]->name, name))
			return backends[i];
	return NULL;
}

int shmx__xport_name_ok(const char *name)
{
	return name && (!strcmp(name, "auto") || shmx__xport_find(name));
}

/* verbs could not serve this address, but ofi may: fall back. */
static int worth_falling_back(int err)
{
	return err == -ENODEV || err == -ECONNREFUSED || err == -ETIMEDOUT ||
	       err == -EHOSTUNREACH || err == -EADDRNOTAVAIL ||
	       err == -ENETUNREACH;
}

int shmx__xport_open(const char *name, const struct xport_attr *attr,
		     struct xport **xp, char *why, size_t why_len)
{
	const struct xport_ops *ofi = shmx__xport_find("ofi");
	const struct xport_ops *verbs = shmx__xport_find("verbs");
	char dev[64] = "";
	int ret;

	if (name && *name && strcmp(name, "auto")) {
		const struct xport_ops *ops = shmx__xport_find(name);

		if (!ops)
			return -ENODEV;
		snprintf(why, why_len, "chosen by name");
		return ops->open(attr, xp);
	}
#ifdef SHMX_HAVE_VERBS
	if (verbs && shmx__verbs_active_device(dev, sizeof(dev)) == 1) {
		ret = verbs->open(attr, xp);
		if (!ret) {
			snprintf(why, why_len, "auto: RDMA device %s is active",
				 dev);
			return 0;
		}
		if (!worth_falling_back(ret))
			return ret;
		log_debug("auto: verbs cannot serve %s (%s): trying ofi",
			  attr->bind ? attr->bind : attr->connect,
			  shmx__strerror(ret));
		snprintf(why, why_len,
			 "auto: RDMA device %s is active, but verbs could not "
			 "reach %s (%s)",
			 dev, attr->bind ? attr->bind : attr->connect,
			 shmx__strerror(ret));
		return ofi->open(attr, xp);
	}
#endif
	(void)verbs;
	snprintf(why, why_len, "auto: no active RDMA device");
	ret = ofi->open(attr, xp);
	return ret;
}
