/* SPDX-License-Identifier: MIT */
/* clock.c - monotonic and wall-clock time helpers. */
#include <errno.h>
#include <time.h>

#include "util/clock.h"

uint64_t shmx__now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void shmx__mono_timespec(uint64_t mono_ns, struct timespec *ts)
{
	ts->tv_sec = (time_t)(mono_ns / 1000000000ull);
	ts->tv_nsec = (long)(mono_ns % 1000000000ull);
}

uint64_t shmx__now_ms(void)
{
	return shmx__now_ns() / 1000000ull;
}

uint64_t shmx__wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int64_t shmx__wall_s(void)
{
	return (int64_t)time(NULL);
}

void shmx__sleep_us(uint64_t us)
{
	struct timespec ts = { .tv_sec = (time_t)(us / 1000000),
			       .tv_nsec = (long)(us % 1000000) * 1000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}
