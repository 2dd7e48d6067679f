/* SPDX-License-Identifier: MIT */
/* errstr.h - text for 0 / -errno results, shared by shmnode and libshmext. */
#ifndef SHMX_ERRSTR_H
#define SHMX_ERRSTR_H

/* Never NULL; the string is static.  Accepts 0, -errno or errno. */
const char *shmx__strerror(int err);

#endif /* SHMX_ERRSTR_H */
