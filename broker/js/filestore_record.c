/*
 * filestore_record.c - encoding and parsing of the file store's on-disk
 * formats (see filestore_record.h for the layouts).
 *
 * Callers: broker/js/filestore.c. Invariants: encoders assert their limits
 * before writing a byte; parsers check every length against the buffer
 * before reading, and the checksum before trusting any field.
 */
#include "broker/js/filestore_record.h"

#include <string.h>
#define XXH_STATIC_LINKING_ONLY /* XXH3_state_t on the stack */
#include <xxhash.h>

#include "proto/assert.h"

#define FS_MAGIC_0 'F'
#define FS_MAGIC_1 'S'
#define FS_VERSION 2        /* written */
#define FS_VERSION_LEGACY 1 /* read: no header check, ERASED checksummed whole */
#define FS_BLOB_MAGIC "NSFSOBS1"
#define FS_META_PREFIX "{\"xxh3\":\""
#define FS_META_MIDDLE "\",\"config\":"
#define FS_META_SUFFIX "}\n"

static void
put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void
put_u32(uint8_t *p, uint32_t v)
{
	for (int k = 0; k < 4; k++)
		p[k] = (uint8_t)(v >> (8 * k));
}

static void
put_u64(uint8_t *p, uint64_t v)
{
	for (int k = 0; k < 8; k++)
		p[k] = (uint8_t)(v >> (8 * k));
}

static uint16_t
get_u16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t
get_u32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return GUINT32_FROM_LE(v);
}

static uint64_t
get_u64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return GUINT64_FROM_LE(v);
}

const char *
fs_parse_result_str(FsParseResult result)
{
	switch (result) {
	case FS_PARSE_OK:
		return "ok";
	case FS_PARSE_SHORT:
		return "incomplete record";
	case FS_PARSE_BAD_LENGTH:
		return "bad record length";
	case FS_PARSE_BAD_MAGIC:
		return "bad record magic";
	case FS_PARSE_BAD_HEADER:
		return "header check mismatch";
	case FS_PARSE_BAD_KIND:
		return "unknown record kind";
	case FS_PARSE_BAD_FIELDS:
		return "record fields disagree with its length";
	case FS_PARSE_BAD_CHECKSUM:
		return "checksum mismatch";
	}
	return "?";
}

uint64_t
fs_record_bytes(size_t subject_len, size_t hdr_len, size_t data_len)
{
	return (uint64_t)FS_RECORD_OVERHEAD_BYTES + subject_len + hdr_len + data_len;
}

/* The 16-bit check of a version-2 header (offset 26): XXH3-64 of the 36
 * header bytes with the check itself taken as zero, low 16 bits. */
static uint16_t
header_check(const uint8_t *header)
{
	uint8_t copy[FS_RECORD_HEADER_BYTES];
	memcpy(copy, header, sizeof(copy));
	copy[26] = 0;
	copy[27] = 0;
	return (uint16_t)XXH3_64bits(copy, sizeof(copy));
}

static bool
kind_has_body(FsRecordKind kind)
{
	return kind == FS_RECORD_MSG || kind == FS_RECORD_ERASED;
}

void
fs_record_encode(GByteArray *out, const FsRecord *rec)
{
	ASSERT(rec->kind >= FS_RECORD_MSG && rec->kind < FS_RECORD_KIND_END);
	ASSERT(rec->subject_len <= FS_SUBJECT_BYTES_MAX);
	ASSERT(rec->hdr_len + rec->data_len <= FS_PAYLOAD_BYTES_MAX);
	ASSERT(kind_has_body(rec->kind) || rec->subject_len + rec->hdr_len + rec->data_len == 0);
	uint64_t total = fs_record_bytes(rec->subject_len, rec->hdr_len, rec->data_len);
	guint start = out->len;
	g_byte_array_set_size(out, start + (guint)total);
	uint8_t *p = out->data + start;
	put_u32(p, (uint32_t)total);
	p[4] = FS_MAGIC_0;
	p[5] = FS_MAGIC_1;
	p[6] = FS_VERSION;
	p[7] = (uint8_t)rec->kind;
	put_u64(p + 8, rec->seq);
	put_u64(p + 16, (uint64_t)rec->ts_ns);
	put_u16(p + 24, (uint16_t)rec->subject_len);
	put_u16(p + 26, 0);
	put_u32(p + 28, (uint32_t)rec->hdr_len);
	put_u32(p + 32, (uint32_t)rec->data_len);
	put_u16(p + 26, header_check(p));
	uint8_t *body = p + FS_RECORD_HEADER_BYTES;
	/* ERASED records keep their lengths with a zeroed body, and their
	 * checksum covers the header only (fs_record_erased_frame). */
	bool zero = rec->kind == FS_RECORD_ERASED;
	if (rec->subject_len > 0) {
		if (zero)
			memset(body, 0, rec->subject_len);
		else
			memcpy(body, rec->subject, rec->subject_len);
	}
	body += rec->subject_len;
	if (rec->hdr_len > 0) {
		if (zero)
			memset(body, 0, rec->hdr_len);
		else
			memcpy(body, rec->hdr, rec->hdr_len);
	}
	body += rec->hdr_len;
	if (rec->data_len > 0) {
		if (zero)
			memset(body, 0, rec->data_len);
		else
			memcpy(body, rec->data, rec->data_len);
	}
	body += rec->data_len;
	size_t covered = zero ? FS_RECORD_HEADER_BYTES : total - FS_RECORD_CHECKSUM_BYTES;
	put_u64(body, XXH3_64bits(p, covered));
	ASSERT(body + FS_RECORD_CHECKSUM_BYTES == out->data + out->len);
}

void
fs_record_erased_frame(uint8_t frame[FS_RECORD_OVERHEAD_BYTES], uint64_t seq, int64_t ts_ns, size_t subject_len,
    size_t payload_len)
{
	ASSERT(subject_len <= FS_SUBJECT_BYTES_MAX && payload_len <= FS_PAYLOAD_BYTES_MAX);
	uint64_t total = fs_record_bytes(subject_len, 0, payload_len);
	put_u32(frame, (uint32_t)total);
	frame[4] = FS_MAGIC_0;
	frame[5] = FS_MAGIC_1;
	frame[6] = FS_VERSION;
	frame[7] = (uint8_t)FS_RECORD_ERASED;
	put_u64(frame + 8, seq);
	put_u64(frame + 16, (uint64_t)ts_ns);
	put_u16(frame + 24, (uint16_t)subject_len);
	put_u16(frame + 26, 0);
	put_u32(frame + 28, 0);
	put_u32(frame + 32, (uint32_t)payload_len);
	put_u16(frame + 26, header_check(frame));
	put_u64(frame + FS_RECORD_HEADER_BYTES, XXH3_64bits(frame, FS_RECORD_HEADER_BYTES));
}

FsParseResult
fs_record_parse(const uint8_t *buf, size_t len, FsRecord *out)
{
	if (len < 4)
		return FS_PARSE_SHORT;
	uint32_t total = get_u32(buf);
	if (total < FS_RECORD_OVERHEAD_BYTES || total > FS_RECORD_BYTES_MAX)
		return FS_PARSE_BAD_LENGTH;
	if (len < FS_RECORD_HEADER_BYTES)
		return FS_PARSE_SHORT;
	if (buf[4] != FS_MAGIC_0 || buf[5] != FS_MAGIC_1 || (buf[6] != FS_VERSION && buf[6] != FS_VERSION_LEGACY))
		return FS_PARSE_BAD_MAGIC;
	bool legacy = buf[6] == FS_VERSION_LEGACY;
	/* Checked before anything the header says is believed: a damaged
	 * header must not pass for a record cut short (FS_PARSE_SHORT). */
	if (legacy ? get_u16(buf + 26) != 0 : get_u16(buf + 26) != header_check(buf))
		return FS_PARSE_BAD_HEADER;
	uint8_t kind = buf[7];
	if (kind < FS_RECORD_MSG || kind >= FS_RECORD_KIND_END)
		return FS_PARSE_BAD_KIND;
	size_t subject_len = get_u16(buf + 24);
	size_t hdr_len = get_u32(buf + 28);
	size_t data_len = get_u32(buf + 32);
	if (hdr_len > FS_PAYLOAD_BYTES_MAX || data_len > FS_PAYLOAD_BYTES_MAX ||
	    fs_record_bytes(subject_len, hdr_len, data_len) != total)
		return FS_PARSE_BAD_FIELDS;
	if (!kind_has_body((FsRecordKind)kind) && total != FS_RECORD_OVERHEAD_BYTES)
		return FS_PARSE_BAD_FIELDS;
	if (kind == FS_RECORD_MSG && subject_len == 0)
		return FS_PARSE_BAD_FIELDS;
	if (len < total)
		return FS_PARSE_SHORT;
	/* ERASED (version 2): the header alone; everything else: everything. */
	size_t covered =
	    kind == FS_RECORD_ERASED && !legacy ? FS_RECORD_HEADER_BYTES : total - FS_RECORD_CHECKSUM_BYTES;
	if (XXH3_64bits(buf, covered) != get_u64(buf + total - FS_RECORD_CHECKSUM_BYTES))
		return FS_PARSE_BAD_CHECKSUM;
	const uint8_t *body = buf + FS_RECORD_HEADER_BYTES;
	*out = (FsRecord){
		.kind = (FsRecordKind)kind,
		.seq = get_u64(buf + 8),
		.ts_ns = (int64_t)get_u64(buf + 16),
		.subject = (const char *)body,
		.subject_len = subject_len,
		.hdr = hdr_len > 0 ? body + subject_len : NULL,
		.hdr_len = hdr_len,
		.data = body + subject_len + hdr_len,
		.data_len = data_len,
		.record_bytes = total,
	};
	return FS_PARSE_OK;
}

/* The length a header gives when its length field and body lengths agree
 * and fit in len bytes, else 0. */
static uint64_t
header_consistent_bytes(const uint8_t *h, size_t len)
{
	uint64_t claimed = get_u32(h);
	uint64_t computed = fs_record_bytes(get_u16(h + 24), get_u32(h + 28), get_u32(h + 32));
	return claimed == computed && claimed >= FS_RECORD_OVERHEAD_BYTES && claimed <= len ? claimed : 0;
}

/* Whether h (a candidate header for the record in buf) is a whole valid
 * version-2 header whose record, with h in place of its first 36 bytes,
 * passes its checksum: the header check (16 bits) weeds out nearly every
 * candidate before the record is hashed. Returns the record's length or 0. */
static uint64_t
header_repairs(const uint8_t *h, const uint8_t *buf, size_t len)
{
	if (h[4] != FS_MAGIC_0 || h[5] != FS_MAGIC_1 || h[6] != FS_VERSION || h[7] < FS_RECORD_MSG ||
	    h[7] >= FS_RECORD_KIND_END || get_u16(h + 26) != header_check(h))
		return 0;
	uint64_t total = header_consistent_bytes(h, len);
	if (total == 0)
		return 0;
	uint64_t sum = get_u64(buf + total - FS_RECORD_CHECKSUM_BYTES);
	if (h[7] == FS_RECORD_ERASED)
		return XXH3_64bits(h, FS_RECORD_HEADER_BYTES) == sum ? total : 0;
	XXH3_state_t state;
	XXH3_INITSTATE(&state);
	XXH3_64bits_reset(&state);
	XXH3_64bits_update(&state, h, FS_RECORD_HEADER_BYTES);
	XXH3_64bits_update(&state, buf + FS_RECORD_HEADER_BYTES, total - FS_RECORD_OVERHEAD_BYTES);
	return XXH3_64bits_digest(&state) == sum ? total : 0;
}

uint64_t
fs_record_damaged_bytes(const uint8_t *buf, size_t len)
{
	if (len < FS_RECORD_OVERHEAD_BYTES)
		return 0;
	/* A whole version-2 header, checked: its lengths are the ones written. */
	if (buf[4] == FS_MAGIC_0 && buf[5] == FS_MAGIC_1 && buf[6] == FS_VERSION &&
	    get_u16(buf + 26) == header_check(buf))
		return header_consistent_bytes(buf, len);
	/* One flipped bit in the header: find it, the record's checksum
	 * confirming the repair. */
	uint8_t h[FS_RECORD_HEADER_BYTES];
	memcpy(h, buf, sizeof(h));
	for (unsigned bit = 0; bit < 8 * FS_RECORD_HEADER_BYTES; bit++) {
		h[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		uint64_t total = header_repairs(h, buf, len);
		h[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		if (total > 0)
			return total;
	}
	/* More damage than that (or a version-1 record, which has no header
	 * check): only lengths that agree are believed. */
	return header_consistent_bytes(buf, len);
}

void
fs_blob_encode(GByteArray *out, const void *blob, size_t len)
{
	ASSERT(len <= G_MAXUINT - FS_BLOB_OVERHEAD_BYTES);
	guint start = out->len;
	g_byte_array_set_size(out, start + (guint)(len + FS_BLOB_OVERHEAD_BYTES));
	uint8_t *p = out->data + start;
	memcpy(p, FS_BLOB_MAGIC, 8);
	put_u64(p + 8, len);
	if (len > 0)
		memcpy(p + 16, blob, len);
	put_u64(p + 16 + len, XXH3_64bits(p, 16 + len));
}

bool
fs_blob_parse(const uint8_t *buf, size_t len, const uint8_t **blob, size_t *blob_len)
{
	if (len < FS_BLOB_OVERHEAD_BYTES || memcmp(buf, FS_BLOB_MAGIC, 8) != 0)
		return false;
	uint64_t n = get_u64(buf + 8);
	if (n != len - FS_BLOB_OVERHEAD_BYTES)
		return false;
	if (XXH3_64bits(buf, 16 + n) != get_u64(buf + 16 + n))
		return false;
	*blob = buf + 16;
	*blob_len = n;
	return true;
}

void
fs_meta_encode(GString *out, const char *json)
{
	ASSERT(json != NULL);
	size_t len = strlen(json);
	g_string_append(out, FS_META_PREFIX);
	g_string_append_printf(out, "%016" G_GINT64_MODIFIER "x", (guint64)XXH3_64bits(json, len));
	g_string_append(out, FS_META_MIDDLE);
	g_string_append_len(out, json, (gssize)len);
	g_string_append(out, FS_META_SUFFIX);
}

char *
fs_meta_parse(const uint8_t *buf, size_t len)
{
	const size_t prefix = strlen(FS_META_PREFIX), middle = strlen(FS_META_MIDDLE);
	const size_t suffix = strlen(FS_META_SUFFIX);
	if (len < prefix + 16 + middle + suffix || memcmp(buf, FS_META_PREFIX, prefix) != 0 ||
	    memcmp(buf + prefix + 16, FS_META_MIDDLE, middle) != 0 ||
	    memcmp(buf + len - suffix, FS_META_SUFFIX, suffix) != 0)
		return NULL;
	char hex[17];
	memcpy(hex, buf + prefix, 16);
	hex[16] = '\0';
	char *end = NULL;
	guint64 want = g_ascii_strtoull(hex, &end, 16);
	if (end != hex + 16)
		return NULL;
	const uint8_t *text = buf + prefix + 16 + middle;
	size_t text_len = len - prefix - 16 - middle - suffix;
	if (memchr(text, '\0', text_len) != NULL || XXH3_64bits(text, text_len) != want)
		return NULL;
	return g_strndup((const char *)text, text_len);
}
