/* SPDX-License-Identifier: MIT */
/* registry.c - shmnode's membership registry (slots indexed by node id). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "registry.h"

/* Node ids must fit the wire and never be 0. */
#define REGISTRY_MAX_SLOTS (1u << 20)

int registry_init(struct registry *reg, uint32_t max)
{
	memset(reg, 0, sizeof(*reg));
	if (!max || max > REGISTRY_MAX_SLOTS)
		return -EINVAL;
	reg->slots = calloc(max, sizeof(*reg->slots));
	if (!reg->slots)
		return -ENOMEM;
	reg->max = max;
	return 0;
}

void registry_fini(struct registry *reg)
{
	free(reg->slots);
	memset(reg, 0, sizeof(*reg));
}

struct member *registry_alloc(struct registry *reg)
{
	for (uint32_t n = 0; n < reg->max; n++) {
		uint32_t i = (reg->cursor + n) % reg->max;
		struct member *m = &reg->slots[i];

		if (m->state != MEMBER_FREE)
			continue;
		memset(m, 0, sizeof(*m));
		m->state = MEMBER_PENDING;
		m->peer = XPORT_PEER_NONE;
		m->info.id = i + 1;
		reg->cursor = (i + 1) % reg->max;
		return m;
	}
	return NULL;
}

struct member *registry_slot(struct registry *reg, uint32_t id)
{
	if (id == 0 || id > reg->max)
		return NULL;
	return &reg->slots[id - 1];
}

struct member *registry_get(struct registry *reg, uint32_t id)
{
	struct member *m = registry_slot(reg, id);

	return m && m->state != MEMBER_FREE ? m : NULL;
}

struct member *registry_find_name(struct registry *reg, const char *name)
{
	for (uint32_t i = 0; i < reg->max; i++) {
		struct member *m = &reg->slots[i];

		if (m->state != MEMBER_FREE && !strcmp(m->info.name, name))
			return m;
	}
	return NULL;
}

void registry_free(struct registry *reg, struct member *m)
{
	uint8_t addr[SHMX_WIRE_ADDR_MAX];
	uint8_t len = m->addr_len;
	uint32_t id = m->info.id;
	uint64_t token = m->token;

	(void)reg;
	memcpy(addr, m->addr, sizeof(addr));
	memset(m, 0, sizeof(*m));
	m->state = MEMBER_FREE;
	m->peer = XPORT_PEER_NONE;
	m->info.id = id;
	m->token = token;
	m->addr_len = len;
	memcpy(m->addr, addr, sizeof(addr));
}

uint32_t registry_count(const struct registry *reg, enum member_state state)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < reg->max; i++)
		n += reg->slots[i].state == state;
	return n;
}

struct member *registry_next_live(struct registry *reg, uint32_t start)
{
	for (uint32_t id = start ? start : 1; id <= reg->max; id++)
		if (reg->slots[id - 1].state == MEMBER_LIVE)
			return &reg->slots[id - 1];
	return NULL;
}
