/* SPDX-License-Identifier: MIT */
/* clock.h - monotonic and wall-clock time in the units the code uses. */
#ifndef SHMX_CLOCK_H
#define SHMX_CLOCK_H

#include <stdint.h>

/* Monotonic nanoseconds. */
uint64_t shmx__now_ns(void);
/* Monotonic milliseconds. */
uint64_t shmx__now_ms(void);
/* Nanoseconds since the epoch (CLOCK_REALTIME). */
uint64_t shmx__wall_ns(void);
/* Seconds since the epoch. */
int64_t shmx__wall_s(void);
/* The monotonic time @mono_ns as a timespec, for waits on a condition
 * variable whose clock is CLOCK_MONOTONIC. */
struct timespec;
void shmx__mono_timespec(uint64_t mono_ns, struct timespec *ts);
/* Sleep for @us microseconds (restarts after signals). */
void shmx__sleep_us(uint64_t us);

#endif /* SHMX_CLOCK_H */
