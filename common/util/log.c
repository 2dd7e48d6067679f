/* SPDX-License-Identifier: MIT */
/* log.c - leveled logging to stderr with a timestamp and an identity. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"

static const char *const level_names[] = { "error", "warn", "info", "debug" };
static int log_level = -1;
static const char *log_ident = "shmext";

int shmx__log_parse_level(const char *s)
{
	for (size_t i = 0; s && i < sizeof(level_names) / sizeof(*level_names);
	     i++)
		if (!strcasecmp(s, level_names[i]))
			return (int)i;
	return -EINVAL;
}

enum shmx_log_level shmx__log_get_level(void)
{
	if (log_level < 0) {
		int l = shmx__log_parse_level(getenv("SHMEXT_LOG"));

		log_level = l >= 0 ? l : SHMX_LOG_WARN;
	}
	return (enum shmx_log_level)log_level;
}

void shmx__log_set_level(enum shmx_log_level level)
{
	log_level = (int)level;
}

void shmx__log_set_ident(const char *ident)
{
	log_ident = ident;
}

void shmx__log(enum shmx_log_level level, const char *fmt, ...)
{
	char line[1024];
	struct timespec ts;
	struct tm tm;
	va_list ap;
	int n;

	if (level > shmx__log_get_level())
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = snprintf(line, sizeof(line),
		     "%02d:%02d:%02d.%03ld %s[%d] %s: ", tm.tm_hour, tm.tm_min,
		     tm.tm_sec, ts.tv_nsec / 1000000, log_ident, (int)getpid(),
		     level_names[level]);
	va_start(ap, fmt);
	if (n > 0 && (size_t)n < sizeof(line))
		vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	/* One write per line so lines of several processes do not mix. */
	n = (int)strnlen(line, sizeof(line) - 2);
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return;
}
