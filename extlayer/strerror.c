/* SPDX-License-Identifier: MIT */
/* strerror.c - shmx_strerror, the public face of the shared error texts. */
#include "shmext/shmext.h"
#include "util/errstr.h"

SHMX_EXPORT const char *shmx_strerror(int err)
{
	return shmx__strerror(err);
}
