/* SPDX-License-Identifier: MIT */
/* log.h - leveled logging to stderr for shmnode, libshmext and the tools. */
#ifndef SHMX_LOG_H
#define SHMX_LOG_H

enum shmx_log_level {
	SHMX_LOG_ERROR = 0,
	SHMX_LOG_WARN,
	SHMX_LOG_INFO,
	SHMX_LOG_DEBUG,
};

/* Messages above this level are dropped.  Default: WARN, or SHMEXT_LOG. */
void shmx__log_set_level(enum shmx_log_level level);
enum shmx_log_level shmx__log_get_level(void);
/* "error", "warn", "info", "debug" -> level; -EINVAL if unknown. */
int shmx__log_parse_level(const char *s);
/* Prefix for every line, e.g. "shmnode". */
void shmx__log_set_ident(const char *ident);

void shmx__log(enum shmx_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_error(...) shmx__log(SHMX_LOG_ERROR, __VA_ARGS__)
#define log_warn(...) shmx__log(SHMX_LOG_WARN, __VA_ARGS__)
#define log_info(...) shmx__log(SHMX_LOG_INFO, __VA_ARGS__)
#define log_debug(...)                                                         \
	do {                                                                   \
		if (shmx__log_get_level() >= SHMX_LOG_DEBUG)                   \
			shmx__log(SHMX_LOG_DEBUG, __VA_ARGS__);                \
	} while (0)

#endif /* SHMX_LOG_H */
