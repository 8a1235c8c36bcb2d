/*
 * filestore_record.h - the on-disk formats of the JetStream file store:
 * the records of message segments, and the checksummed small files
 * (consumer state blobs, the stream's meta.json).
 *
 * Callers: broker/js/filestore.c (writing, recovery, loads) and its tests.
 * No I/O here: encoders append bytes to a buffer, parsers read a buffer.
 *
 * Segment record (all integers little-endian; docs/filestore.md has the
 * same table):
 *
 *   offset  bytes  field
 *   0       4      record_bytes   whole record, checksum included
 *   4       2      magic          'F' 'S'
 *   6       1      version        2 (1 still read)
 *   7       1      kind           FsRecordKind
 *   8       8      seq
 *   16      8      ts_ns          Unix ns (0 for DELETE, PURGE_BELOW)
 *   24      2      subject_len
 *   26      2      header check   low 16 bits of XXH3-64 of bytes 0..35
 *                                 with these two taken as 0 (version 1: 0)
 *   28      4      hdr_len
 *   32      4      data_len
 *   36      ...    subject, hdr, data
 *   end-8   8      XXH3-64 (seed 0) of every byte before it; for ERASED
 *                  (version 2) of the 36 header bytes only
 *
 * so record_bytes = 44 + subject_len + hdr_len + data_len, and a record
 * parses only when its length, magic, version, header check, kind, field
 * lengths and checksum all agree. Only MSG and ERASED records carry a body.
 *
 * The header check lets recovery tell a record cut short by a crash (its
 * header whole and checked, its length past the end of the file) from a
 * damaged one (a header failing its check), so damage at the end of a
 * file is never taken for a torn write. The checksum of an ERASED record
 * covers its header only: a removal rewrites a MSG's header and checksum
 * in place and may leave its body (erase zeroes the body too); any damage
 * to the header or the checksum makes the record unreadable, never a MSG
 * again.
 *
 * Invariants owned here: an encoded record always parses back to the same
 * fields; a parse never reads outside the given buffer.
 */
#ifndef NATSIM_BROKER_JS_FILESTORE_RECORD_H
#define NATSIM_BROKER_JS_FILESTORE_RECORD_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FS_RECORD_HEADER_BYTES 36u
#define FS_RECORD_CHECKSUM_BYTES 8u
#define FS_RECORD_OVERHEAD_BYTES (FS_RECORD_HEADER_BYTES + FS_RECORD_CHECKSUM_BYTES)
/* Limits of one message: the subject length field is 16 bits; headers
 * plus payload are bounded by 64 MiB (nats-server's max_payload ceiling). */
#define FS_SUBJECT_BYTES_MAX 65535u
#define FS_PAYLOAD_BYTES_MAX (64u * 1024u * 1024u)
#define FS_RECORD_BYTES_MAX (FS_RECORD_OVERHEAD_BYTES + FS_SUBJECT_BYTES_MAX + FS_PAYLOAD_BYTES_MAX)

typedef enum FsRecordKind {
	FS_RECORD_MSG = 1,     /* a stored message with sequence seq */
	FS_RECORD_SKIP,        /* seq used up without storing (store.h skip) */
	FS_RECORD_DELETE,      /* legacy, read only: message seq of this segment removed */
	FS_RECORD_ERASED,      /* a MSG rewritten in place: removed (checksum over the header) */
	FS_RECORD_PURGE_BELOW, /* legacy, read only: every message of this segment below seq removed */
	FS_RECORD_MARK,        /* first record of a segment: last_seq and last_ts then */
	FS_RECORD_KIND_END,
} FsRecordKind;

typedef struct FsRecord {
	FsRecordKind kind;
	uint64_t seq;
	int64_t ts_ns;
	const char *subject; /* not NUL-terminated */
	size_t subject_len;
	const uint8_t *hdr;
	size_t hdr_len;
	const uint8_t *data;
	size_t data_len;
	uint32_t record_bytes; /* set by parse */
} FsRecord;

typedef enum FsParseResult {
	FS_PARSE_OK = 0,
	FS_PARSE_SHORT,        /* the buffer ends inside the record (torn write) */
	FS_PARSE_BAD_LENGTH,   /* record_bytes out of range */
	FS_PARSE_BAD_MAGIC,    /* magic or version wrong */
	FS_PARSE_BAD_HEADER,   /* the header check does not match: a damaged header */
	FS_PARSE_BAD_KIND,     /* unknown kind */
	FS_PARSE_BAD_FIELDS,   /* field lengths disagree with record_bytes or kind */
	FS_PARSE_BAD_CHECKSUM, /* the bytes are not the ones written */
} FsParseResult;

const char *fs_parse_result_str(FsParseResult result);

/* Bytes of a record with this body. */
uint64_t fs_record_bytes(size_t subject_len, size_t hdr_len, size_t data_len);

/* Appends the encoded record to out. Lengths must respect the limits. An
 * ERASED record gets a zeroed body (its subject, hdr and data pointers are
 * not read). */
void fs_record_encode(GByteArray *out, const FsRecord *rec);

/* The header and checksum of an ERASED record for seq whose body (subject
 * then payload) is subject_len + payload_len bytes: frame[0..36) goes at
 * the record's offset, frame[36..44) at its last 8 bytes, and the body in
 * between may stay what it was. */
void fs_record_erased_frame(uint8_t frame[FS_RECORD_OVERHEAD_BYTES], uint64_t seq, int64_t ts_ns,
    size_t subject_len, size_t payload_len);

/* Parses the record at the start of buf (len bytes available). On OK, *out
 * points into buf. Never reads past buf + len. */
FsParseResult fs_record_parse(const uint8_t *buf, size_t len, FsRecord *out);

/* For bytes that start a record failing fs_record_parse (other than SHORT):
 * how long that damaged record is, as far as its header still tells -
 * 0 when it cannot be told. A header passing its check is believed; one
 * that fails it is repaired when flipping one of its bits gives a header
 * passing its check and a record passing its checksum; otherwise only a
 * length field and body lengths that agree are believed. Always within
 * len. Recovery uses it to count the sequences of damaged records at a
 * segment's end: any other answer than the truth needs two flips landing
 * just so. */
uint64_t fs_record_damaged_bytes(const uint8_t *buf, size_t len);

/* Checksummed blob files (consumer state):
 *   0 8 magic "NSFSOBS1" | 8 8 blob_len | 16 blob | end-8 8 XXH3-64 of all before. */
#define FS_BLOB_OVERHEAD_BYTES 24u
void fs_blob_encode(GByteArray *out, const void *blob, size_t len);
/* True when buf holds exactly one valid blob file; *blob points into buf. */
bool fs_blob_parse(const uint8_t *buf, size_t len, const uint8_t **blob, size_t *blob_len);

/* meta.json: {"xxh3":"<16 hex of XXH3-64 of the config text>","config":<text>}
 * followed by a newline; the config text is kept byte for byte. */
void fs_meta_encode(GString *out, const char *json);
/* Returns the config text (g_free) or NULL when the file is not valid. */
char *fs_meta_parse(const uint8_t *buf, size_t len);

#endif
