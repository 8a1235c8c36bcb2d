/*
 * subject.c - see subject.h.
 */
#include "proto/subject.h"

#include <string.h>

/* Walks the '.'-separated tokens of s[0..len): *start and *tlen get the
 * next token; returns false after the last one. */
typedef struct TokenIter {
	const char *s;
	size_t len;
	size_t pos;
	bool done;
} TokenIter;

static bool
token_next(TokenIter *it, const char **tok, size_t *tok_len)
{
	if (it->done)
		return false;
	const char *dot = memchr(it->s + it->pos, '.', it->len - it->pos);
	size_t end = dot ? (size_t)(dot - it->s) : it->len;
	*tok = it->s + it->pos;
	*tok_len = end - it->pos;
	if (dot == NULL)
		it->done = true;
	else
		it->pos = end + 1;
	return true;
}

static bool
is_pwc(const char *t, size_t n)
{
	return n == 1 && t[0] == '*';
}

static bool
is_fwc(const char *t, size_t n)
{
	return n == 1 && t[0] == '>';
}

bool
proto_subject_valid_sub(const char *subject, size_t len)
{
	TokenIter it = { subject, len, 0, false };
	const char *t;
	size_t n;
	bool after_fwc = false;
	while (token_next(&it, &t, &n)) {
		if (n == 0 || after_fwc)
			return false;
		after_fwc = is_fwc(t, n);
	}
	return true;
}

bool
proto_subject_valid(const char *subject, size_t len)
{
	if (len == 0)
		return false;
	TokenIter it = { subject, len, 0, false };
	const char *t;
	size_t n;
	bool after_fwc = false;
	while (token_next(&it, &t, &n)) {
		if (n == 0 || after_fwc)
			return false;
		for (size_t k = 0; k < n; k++)
			if (t[k] == ' ' || t[k] == '\t' || t[k] == '\n' || t[k] == '\r' || t[k] == '\f')
				return false;
		after_fwc = is_fwc(t, n);
	}
	return true;
}

bool
proto_subject_valid_literal(const char *subject, size_t len)
{
	TokenIter it = { subject, len, 0, false };
	const char *t;
	size_t n;
	while (token_next(&it, &t, &n))
		if (n == 0 || is_pwc(t, n) || is_fwc(t, n))
			return false;
	return true;
}

bool
proto_subject_has_wildcard(const char *subject, size_t len)
{
	TokenIter it = { subject, len, 0, false };
	const char *t;
	size_t n;
	while (token_next(&it, &t, &n))
		if (is_pwc(t, n) || is_fwc(t, n))
			return true;
	return false;
}

bool
proto_subject_matches(const char *pattern, size_t pattern_len, const char *subject, size_t subject_len)
{
	TokenIter p = { pattern, pattern_len, 0, false };
	TokenIter s = { subject, subject_len, 0, false };
	const char *pt = NULL, *st = NULL;
	size_t pn = 0, sn = 0;
	for (;;) {
		bool have_p = token_next(&p, &pt, &pn);
		bool have_s = token_next(&s, &st, &sn);
		if (!have_p)
			return !have_s;
		if (is_fwc(pt, pn))
			return have_s; /* '>' needs at least one more token */
		if (!have_s || sn == 0)
			return false;
		if (!is_pwc(pt, pn) && (pn != sn || memcmp(pt, st, pn) != 0))
			return false;
	}
}

bool
proto_subject_overlaps(const char *a, size_t a_len, const char *b, size_t b_len)
{
	TokenIter x = { a, a_len, 0, false };
	TokenIter y = { b, b_len, 0, false };
	const char *xt = NULL, *yt = NULL;
	size_t xn = 0, yn = 0;
	for (;;) {
		bool have_x = token_next(&x, &xt, &xn);
		bool have_y = token_next(&y, &yt, &yn);
		if (!have_x || !have_y)
			return have_x == have_y;
		if (is_fwc(xt, xn) || is_fwc(yt, yn))
			return true;
		if (is_pwc(xt, xn) || is_pwc(yt, yn))
			continue;
		if (xn != yn || memcmp(xt, yt, xn) != 0)
			return false;
	}
}
