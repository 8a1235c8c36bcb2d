/*
 * subject.h - NATS subject rules (NATS-SPEC §1.7), as nats-server applies
 * them (server/sublist.go: Insert, IsValidSubject, IsValidLiteralSubject).
 *
 * Tokens are separated by '.'. '*' matches one token and '>' one or more,
 * each only as a whole token ("foo*" is a literal token). A subscription
 * subject is valid when no token is empty and nothing follows '>'.
 */
#ifndef NATSIM_PROTO_SUBJECT_H
#define NATSIM_PROTO_SUBJECT_H

#include <stdbool.h>
#include <stddef.h>

/* What SUB accepts (the sublist insert rule): no empty token, nothing
 * after '>'. Whitespace cannot occur on the wire. */
bool proto_subject_valid_sub(const char *subject, size_t len);

/* A valid subject that also rejects whitespace inside tokens
 * (IsValidSubject): for configuration and JetStream. */
bool proto_subject_valid(const char *subject, size_t len);

/* A valid literal subject: no empty token, no '*' or '>' token
 * (IsValidLiteralSubject; used by pedantic PUB checks). */
bool proto_subject_valid_literal(const char *subject, size_t len);

/* True when the literal subject matches the pattern. */
bool proto_subject_matches(const char *pattern, size_t pattern_len, const char *subject, size_t subject_len);

/* True when some subject could match both patterns. */
bool proto_subject_overlaps(const char *a, size_t a_len, const char *b, size_t b_len);

/* True when the pattern contains a '*' or '>' token. */
bool proto_subject_has_wildcard(const char *subject, size_t len);

#endif
