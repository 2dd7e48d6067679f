/* SPDX-License-Identifier: MIT */
/* auth.c - key files and HMAC-SHA256 challenge-response (OpenSSL libcrypto). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "proto/auth.h"

int shmx__key_load(const char *path, struct shmx_key *key, int *loose)
{
	struct stat st;
	ssize_t n;
	size_t len = 0;
	int fd, ret = 0;

	memset(key, 0, sizeof(*key));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ENOENT : -EACCES;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		ret = -EINVAL;
		goto out_close;
	}
	if (loose)
		*loose = !!(st.st_mode & (S_IRWXG | S_IRWXO));
	while ((n = read(fd, key->bytes + len, sizeof(key->bytes) - len)) > 0)
		len += (size_t)n;
	if (n < 0) {
		ret = -EACCES;
		goto out_close;
	}
	/* A key that fills the buffer may be longer than we can hold. */
	if (len == sizeof(key->bytes)) {
		char extra;

		if (read(fd, &extra, 1) == 1) {
			ret = -EINVAL;
			goto out_close;
		}
	}
	while (len && isspace(key->bytes[len - 1]))
		len--;
	if (len < SHMX_KEY_MIN)
		ret = -EINVAL;
	key->len = len;
out_close:
	close(fd);
	if (ret)
		shmx__key_wipe(key);
	return ret;
}

void shmx__key_wipe(struct shmx_key *key)
{
	OPENSSL_cleanse(key, sizeof(*key));
}

int shmx__random(void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = getrandom(p, len, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void le32(uint8_t out[4], uint32_t v)
{
	for (int i = 0; i < 4; i++)
		out[i] = (uint8_t)(v >> (8 * i));
}

/* HMAC-SHA256 over the concatenation of up to five parts. */
static void hmac_parts(const struct shmx_key *key, const void *const *part,
		       const size_t *plen, int nparts,
		       uint8_t mac[SHMX_MAC_LEN])
{
	uint8_t msg[16 + 2 * SHMX_NONCE_LEN + 4 + SHMX_NAME_MAX];
	unsigned int maclen = SHMX_MAC_LEN;
	size_t off = 0;

	for (int i = 0; i < nparts; i++) {
		memcpy(msg + off, part[i], plen[i]);
		off += plen[i];
	}
	HMAC(EVP_sha256(), key->bytes, (int)key->len, msg, off, mac, &maclen);
	OPENSSL_cleanse(msg, sizeof(msg));
}

void shmx__auth_client_mac(const struct shmx_key *key,
			   const uint8_t node_nonce[SHMX_NONCE_LEN],
			   const uint8_t client_nonce[SHMX_NONCE_LEN],
			   uint32_t session, const char *name,
			   uint8_t mac[SHMX_MAC_LEN])
{
	static const char label[] = "shmext-client-v1";
	uint8_t s[4];
	const void *part[] = { label, node_nonce, client_nonce, s, name };
	const size_t plen[] = { sizeof(label) - 1, SHMX_NONCE_LEN,
				SHMX_NONCE_LEN, 4,
				strnlen(name, SHMX_NAME_MAX - 1) };

	le32(s, session);
	hmac_parts(key, part, plen, 5, mac);
}

void shmx__auth_node_mac(const struct shmx_key *key,
			 const uint8_t client_nonce[SHMX_NONCE_LEN],
			 const uint8_t node_nonce[SHMX_NONCE_LEN],
			 uint32_t session, uint8_t mac[SHMX_MAC_LEN])
{
	static const char label[] = "shmext-node-v1";
	uint8_t s[4];
	const void *part[] = { label, client_nonce, node_nonce, s };
	const size_t plen[] = { sizeof(label) - 1, SHMX_NONCE_LEN,
				SHMX_NONCE_LEN, 4 };

	le32(s, session);
	hmac_parts(key, part, plen, 4, mac);
}

int shmx__mac_equal(const uint8_t a[SHMX_MAC_LEN],
		    const uint8_t b[SHMX_MAC_LEN])
{
	return CRYPTO_memcmp(a, b, SHMX_MAC_LEN) == 0;
}
