/* SPDX-License-Identifier: MIT */
/*
 * output.h - printing for the shmext command: a small JSON writer that
 * keeps --json output well-formed, the hex dump, and human-readable sizes,
 * times and names.
 */
#ifndef SHMX_OUTPUT_H
#define SHMX_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define JW_MAX_DEPTH 8

/*
 * A JSON writer.  Every value call takes the member name @key inside an
 * object and NULL inside an array (or for the top-level value); commas are
 * placed for the caller.  Closing the top-level value ends the line.
 */
struct jw {
	FILE *f;
	int depth;
	bool first[JW_MAX_DEPTH];
};

void jw_init(struct jw *w, FILE *f);
void jw_obj(struct jw *w, const char *key);
void jw_obj_end(struct jw *w);
void jw_arr(struct jw *w, const char *key);
void jw_arr_end(struct jw *w);
/* A string (NULL gives null), escaped; bytes that are not UTF-8 become
 * U+FFFD. */
void jw_str(struct jw *w, const char *key, const char *v);
void jw_u64(struct jw *w, const char *key, uint64_t v);
void jw_i64(struct jw *w, const char *key, int64_t v);
void jw_bool(struct jw *w, const char *key, bool v);
void jw_null(struct jw *w, const char *key);
/* A number with @prec decimals; null when not finite. */
void jw_double(struct jw *w, const char *key, double v, int prec);
/* @n bytes as a string of 2n lowercase hex digits. */
void jw_hex(struct jw *w, const char *key, const uint8_t *p, size_t n);

/* Write @s as a JSON string literal, quotes included. */
void out_json_string(FILE *f, const char *s);

/*
 * One hex dump line per 16 bytes: the global address (@base + offset, at
 * least @width hex digits), the bytes in hex, the bytes as ASCII.
 */
void out_hexdump(FILE *f, uint64_t base, const uint8_t *p, size_t n, int width);
/* Hex digits needed for @v (at least 1). */
int out_hex_width(uint64_t v);

/* "256 MiB", "1.5 GiB", "100 B". */
const char *out_bytes(uint64_t n, char *buf, size_t len);
/* Local time "2026-11-25 01:23:05" of @t seconds since the epoch. */
const char *out_time(int64_t t, char *buf, size_t len);
/* @s with control and non-ASCII bytes replaced by '?', for a terminal. */
const char *out_printable(const char *s, char *buf, size_t len);

/* Table columns: the widest of @w and the printable form of @s; of @w and
 * @v in decimal (@hex: as 0x-hex). */
int out_width(int w, const char *s);
int out_num_width(int w, uint64_t v, int hex);

#endif /* SHMX_OUTPUT_H */
