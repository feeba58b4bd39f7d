/*
 * nsp_craft — builds .nsp bytes by hand for the format tests, independently of
 * sampler/format/profile_writer.c, so that tests can produce exactly the defects (bad ids,
 * ceilings, CRCs, seq gaps) that the writer never would, and cross-check the writer.
 */
#ifndef NSP_CRAFT_H
#define NSP_CRAFT_H

#include <stddef.h>
#include <stdint.h>

struct ns_profile;
struct ns_read_error;

struct buf {
    uint8_t *b;
    size_t len, cap;
};

void buf_put(struct buf *b, const void *p, size_t n);
void buf_u(struct buf *b, uint64_t v);
void buf_s(struct buf *b, int64_t v);
void buf_str(struct buf *b, const char *s);
void buf_bytes(struct buf *b, const void *p, size_t n); /* u length + bytes */
void buf_free(struct buf *b);

/* Appends kind, body_len and body to a payload. */
void craft_record(struct buf *payload, uint64_t kind, const struct buf *body);
/* A record of `n` u fields. */
void craft_record_u(struct buf *payload, uint64_t kind, size_t n, const uint64_t *fields);
/* A record of u fields: CRAFT_U(payload, kind, field, field...). */
#define CRAFT_U(payload, kind, ...)                                                                \
    craft_record_u((payload), (kind), sizeof((uint64_t[]){__VA_ARGS__}) / sizeof(uint64_t),        \
                   (uint64_t[]){__VA_ARGS__})
/* A STRING record. */
void craft_string(struct buf *payload, uint64_t id, const char *text);
/* A valid PROCESS record (pid 77), the first record every file needs. */
void craft_process(struct buf *payload);
void craft_file_header(struct buf *file, uint16_t major, uint16_t minor);
/* Compresses payload into a chunk with a correct header and CRC. */
void craft_chunk(struct buf *file, uint32_t seq, const struct buf *payload);
/* A chunk around given payload bytes, with a correct CRC and the given raw_len. */
void craft_chunk_raw(struct buf *file, uint32_t seq, const void *comp, uint32_t comp_len,
                     uint32_t raw_len);
/* A whole file: header 1.0 and one chunk of PROCESS followed by `payload`. */
void craft_file_with(struct buf *file, const struct buf *payload);

/* Loads bytes with ns_profile_read_mem under the name "t.nsp". */
int craft_load(const struct buf *file, struct ns_profile **p, struct ns_read_error *err);

/* A fresh temporary file (unlinked at exit is the caller's business); returns its fd. */
int craft_tmpfile(char *path, size_t size);
/* Whole contents of a file (malloc'd). */
uint8_t *craft_slurp(const char *path, size_t *len);
/* Offsets of the chunks of a well-formed file, from their comp_len fields. */
size_t craft_chunk_offsets(const uint8_t *data, size_t len, uint64_t *offs, size_t max);

#endif
