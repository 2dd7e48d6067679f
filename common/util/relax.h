/* SPDX-License-Identifier: MIT */
/* relax.h - the processor's hint that the caller is spinning on a value. */
#ifndef SHMX_RELAX_H
#define SHMX_RELAX_H

/* A short pause in a spin loop: it lets the core's other hardware thread
 * run, and costs no system call. */
static inline void shmx__cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#else
	__asm__ __volatile__("" ::: "memory");
#endif
}

#endif /* SHMX_RELAX_H */
