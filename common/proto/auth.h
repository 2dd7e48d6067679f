/* SPDX-License-Identifier: MIT */
/*
 * auth.h - the shared key and the challenge-response of the handshake.
 *
 * The key file holds at least SHMX_KEY_MIN bytes (trailing whitespace is
 * ignored); whoever can read it may join the node.  The key never crosses
 * the wire: the client proves it with
 *   client_mac = HMAC-SHA256(key, "shmext-client-v1" || node_nonce ||
 *                            client_nonce || le32(session) || name)
 * and the node proves it back with
 *   node_mac   = HMAC-SHA256(key, "shmext-node-v1" || client_nonce ||
 *                            node_nonce || le32(session))
 * so neither side can be replayed into a session it did not start.
 */
#ifndef SHMX_AUTH_H
#define SHMX_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "proto/proto.h"

#define SHMX_KEY_MIN 16
#define SHMX_KEY_MAX 1024

struct shmx_key {
	size_t len;
	uint8_t bytes[SHMX_KEY_MAX];
};

/*
 * Load a key file.  Returns 0, -ENOENT, -EACCES (unreadable), -EINVAL (shorter
 * than SHMX_KEY_MIN after trimming, or longer than SHMX_KEY_MAX).  Sets
 * *loose when the file is readable by group or others.
 */
int shmx__key_load(const char *path, struct shmx_key *key, int *loose);
/* Wipe a key from memory. */
void shmx__key_wipe(struct shmx_key *key);

/* Fill @buf with @len bytes from the system's CSPRNG.  0 or -errno. */
int shmx__random(void *buf, size_t len);

void shmx__auth_client_mac(const struct shmx_key *key,
			   const uint8_t node_nonce[SHMX_NONCE_LEN],
			   const uint8_t client_nonce[SHMX_NONCE_LEN],
			   uint32_t session, const char *name,
			   uint8_t mac[SHMX_MAC_LEN]);
void shmx__auth_node_mac(const struct shmx_key *key,
			 const uint8_t client_nonce[SHMX_NONCE_LEN],
			 const uint8_t node_nonce[SHMX_NONCE_LEN],
			 uint32_t session, uint8_t mac[SHMX_MAC_LEN]);
/* Constant-time comparison of two MACs: 1 if equal. */
int shmx__mac_equal(const uint8_t a[SHMX_MAC_LEN],
		    const uint8_t b[SHMX_MAC_LEN]);

#endif /* SHMX_AUTH_H */
