/* SPDX-License-Identifier: MIT */
/*
 * output.c - printing for the shmext command: the JSON writer, the hex
 * dump, and human-readable sizes, times and names.
 */
#include <math.h>
#include <string.h>
#include <time.h>

#include "output.h"

/*
 * Length of the well-formed UTF-8 sequence at @s (at most @n bytes), or 0
 * when @s does not start one (overlong forms, surrogates and code points
 * past U+10FFFF included).
 */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

void out_json_string(FILE *f, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n = strlen(str), len;

	fputc('"', f);
	for (size_t i = 0; i < n; i += len) {
		unsigned char c = s[i];

		len = 1;
		switch (c) {
		case '"':
			fputs("\\\"", f);
			continue;
		case '\\':
			fputs("\\\\", f);
			continue;
		case '\n':
			fputs("\\n", f);
			continue;
		case '\r':
			fputs("\\r", f);
			continue;
		case '\t':
			fputs("\\t", f);
			continue;
		}
		if (c < 0x20 || c == 0x7f) {
			fprintf(f, "\\u%04x", c);
		} else if (c < 0x80) {
			fputc(c, f);
		} else {
			len = utf8_len(s + i, n - i);
			if (len) {
				fwrite(s + i, 1, len, f);
			} else {
				fputs("\\ufffd", f);
				len = 1;
			}
		}
	}
	fputc('"', f);
}

void jw_init(struct jw *w, FILE *f)
{
	w->f = f;
	w->depth = 0;
	w->first[0] = true;
}

/* Comma and member name before a value. */
static void jw_key(struct jw *w, const char *key)
{
	if (!w->first[w->depth])
		fputc(',', w->f);
	w->first[w->depth] = false;
	if (key) {
		out_json_string(w->f, key);
		fputc(':', w->f);
	}
}

static void jw_open(struct jw *w, const char *key, char c)
{
	jw_key(w, key);
	fputc(c, w->f);
	if (w->depth < JW_MAX_DEPTH - 1)
		w->depth++;
	w->first[w->depth] = true;
}

static void jw_close(struct jw *w, char c)
{
	fputc(c, w->f);
	if (w->depth > 0)
		w->depth--;
	if (w->depth == 0)
		fputc('\n', w->f);
}

void jw_obj(struct jw *w, const char *key)
{
	jw_open(w, key, '{');
}

void jw_obj_end(struct jw *w)
{
	jw_close(w, '}');
}

void jw_arr(struct jw *w, const char *key)
{
	jw_open(w, key, '[');
}

void jw_arr_end(struct jw *w)
{
	jw_close(w, ']');
}

void jw_str(struct jw *w, const char *key, const char *v)
{
	jw_key(w, key);
	if (v)
		out_json_string(w->f, v);
	else
		fputs("null", w->f);
}

void jw_u64(struct jw *w, const char *key, uint64_t v)
{
	jw_key(w, key);
	fprintf(w->f, "%llu", (unsigned long long)v);
}

void jw_i64(struct jw *w, const char *key, int64_t v)
{
	jw_key(w, key);
	fprintf(w->f, "%lld", (long long)v);
}

void jw_bool(struct jw *w, const char *key, bool v)
{
	jw_key(w, key);
	fputs(v ? "true" : "false", w->f);
}

void jw_null(struct jw *w, const char *key)
{
	jw_key(w, key);
	fputs("null", w->f);
}

void jw_double(struct jw *w, const char *key, double v, int prec)
{
	jw_key(w, key);
	if (isfinite(v))
		fprintf(w->f, "%.*f", prec, v);
	else
		fputs("null", w->f);
}

void jw_hex(struct jw *w, const char *key, const uint8_t *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";

	jw_key(w, key);
	fputc('"', w->f);
	for (size_t i = 0; i < n; i++) {
		fputc(digits[p[i] >> 4], w->f);
		fputc(digits[p[i] & 15], w->f);
	}
	fputc('"', w->f);
}

int out_hex_width(uint64_t v)
{
	int n = 1;

	while (v >>= 4)
		n++;
	return n;
}

void out_hexdump(FILE *f, uint64_t base, const uint8_t *p, size_t n, int width)
{
	for (size_t off = 0; off < n; off += 16) {
		size_t k = n - off < 16 ? n - off : 16;

		fprintf(f, "%0*llx ", width, (unsigned long long)base + off);
		for (size_t i = 0; i < 16; i++) {
			if (i == 8)
				fputc(' ', f);
			if (i < k)
				fprintf(f, " %02x", p[off + i]);
			else
				fputs("   ", f);
		}
		fputs("  |", f);
		for (size_t i = 0; i < k; i++) {
			uint8_t c = p[off + i];

			fputc(c >= 0x20 && c < 0x7f ? c : '.', f);
		}
		fputs("|\n", f);
	}
}

const char *out_bytes(uint64_t n, char *buf, size_t len)
{
	static const char *const unit[] = { "B",   "KiB", "MiB",
					    "GiB", "TiB", "PiB" };
	unsigned u = 0;

	while (u < 5 && n >= (1ull << (10 * (u + 1))))
		u++;
	if (!(n & ((1ull << (10 * u)) - 1)))
		snprintf(buf, len, "%llu %s", (unsigned long long)n >> (10 * u),
			 unit[u]);
	else
		snprintf(buf, len, "%.1f %s",
			 (double)n / (double)(1ull << (10 * u)), unit[u]);
	return buf;
}

const char *out_time(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!localtime_r(&tt, &tm) ||
	    !strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(buf, len, "%lld", (long long)t);
	return buf;
}

const char *out_printable(const char *str, char *buf, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n = strlen(str), o = 0, k;

	for (size_t i = 0; i < n && o + 1 < len; i += k) {
		k = s[i] < 0x80 ? 1 : utf8_len(s + i, n - i);
		if (k > 1 && o + k < len) {
			memcpy(buf + o, s + i, k);
			o += k;
			continue;
		}
		if (!k)
			k = 1;
		buf[o++] = s[i] >= 0x20 && s[i] < 0x7f ? (char)s[i] : '?';
	}
	buf[o] = 0;
	return buf;
}

int out_width(int w, const char *s)
{
	char buf[256];
	int n = (int)strlen(out_printable(s, buf, sizeof(buf)));

	return n > w ? n : w;
}

int out_num_width(int w, uint64_t v, int hex)
{
	int n = hex ? 2 + out_hex_width(v)
		    : snprintf(NULL, 0, "%llu", (unsigned long long)v);

	return n > w ? n : w;
}
