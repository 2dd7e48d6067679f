/* SPDX-License-Identifier: MIT */
/*
 * consumer.c - a program outside the tree that uses an installed libshmext:
 * built by tests/install/run.sh with pkg-config and with find_package.
 */
#include <stdio.h>
#include <string.h>

#include <shmext/shmext.h>

int main(void)
{
	const char msg[] = "hello from an installed libshmext";
	char back[sizeof(msg)] = "";
	struct shmx_pool *pool = NULL;
	struct shmx_ctx *ctx;
	shmx_gaddr_t at;
	uint64_t old;
	int ret;

	ret = shmx_open(NULL, &ctx); /* SHMEXT_NODE names the node */
	if (ret) {
		fprintf(stderr, "shmx_open: %s\n", shmx_strerror(ret));
		return 1;
	}
	ret = shmx_pool_open(ctx, "consumer", 1 << 16, SHMX_CREAT, &pool);
	if (!ret)
		ret = shmx_alloc(pool, 4096, 0, &at);
	if (!ret)
		ret = shmx_write(ctx, at + 128, msg, sizeof(msg));
	if (!ret)
		ret = shmx_read(ctx, at + 128, back, sizeof(back));
	if (!ret)
		ret = shmx_fadd64(ctx, at, 1, &old);
	if (!ret)
		ret = shmx_release(ctx, at);
	if (pool)
		shmx_pool_close(pool);
	shmx_close(ctx);
	if (ret || strcmp(msg, back)) {
		fprintf(stderr, "consumer: %s\n", shmx_strerror(ret));
		return 1;
	}
	printf("consumer: ok\n");
	return 0;
}
