/* SPDX-License-Identifier: MIT */
/* xport.c - the table of transport backends built into this binary. */
#include <string.h>

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
