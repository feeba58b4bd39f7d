/*
 * nsp_craft.c — hand-made .nsp bytes for the format tests (see nsp_craft.h). Allocation
 * failures abort: this is test code.
 */
#include "nsp_craft.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "nsp_format.h"
#include "profile_reader.h"

void buf_put(struct buf *b, const void *p, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n)
            cap *= 2;
        b->b = realloc(b->b, cap);
        if (!b->b)
            abort();
        b->cap = cap;
    }
    if (n)
        memcpy(b->b + b->len, p, n);
    b->len += n;
}

void buf_u(struct buf *b, uint64_t v)
{
    do {
        uint8_t byte = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v)
            byte |= 0x80;
        buf_put(b, &byte, 1);
    } while (v);
}

void buf_s(struct buf *b, int64_t v)
{
    buf_u(b, nsp_zigzag(v));
}

void buf_bytes(struct buf *b, const void *p, size_t n)
{
    buf_u(b, n);
    buf_put(b, p, n);
}

void buf_str(struct buf *b, const char *s)
{
    buf_bytes(b, s, strlen(s));
}

void buf_free(struct buf *b)
{
    free(b->b);
    memset(b, 0, sizeof *b);
}

void craft_record(struct buf *payload, uint64_t kind, const struct buf *body)
{
    buf_u(payload, kind);
    buf_u(payload, body->len);
    buf_put(payload, body->b, body->len);
}

void craft_record_u(struct buf *payload, uint64_t kind, size_t n, const uint64_t *fields)
{
    struct buf body = {0};
    for (size_t i = 0; i < n; i++)
        buf_u(&body, fields[i]);
    craft_record(payload, kind, &body);
    buf_free(&body);
}

void craft_string(struct buf *payload, uint64_t id, const char *text)
{
    struct buf body = {0};
    buf_u(&body, id);
    buf_str(&body, text);
    craft_record(payload, NSP_REC_STRING, &body);
    buf_free(&body);
}

void craft_process(struct buf *payload)
{
    struct buf body = {0};
    uint64_t nums[] = {77, 1, 0, 1000, 2000};
    for (size_t i = 0; i < 5; i++)
        buf_u(&body, nums[i]);
    const char *strs[] = {"sess", "/bin/x", "x", "host", "6.1", "craft"};
    for (size_t i = 0; i < 6; i++)
        buf_str(&body, strs[i]);
    craft_record(payload, NSP_REC_PROCESS, &body);
    buf_free(&body);
}

static void le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

void craft_file_header(struct buf *file, uint16_t major, uint16_t minor)
{
    uint8_t h[16];
    memcpy(h, NSP_MAGIC, 8);
    le16(h + 8, major);
    le16(h + 10, minor);
    le32(h + 12, (uint32_t)crc32(0, h, 12));
    buf_put(file, h, sizeof h);
}

void craft_chunk_raw(struct buf *file, uint32_t seq, const void *comp, uint32_t comp_len,
                     uint32_t raw_len)
{
    uint8_t h[20];
    memcpy(h, NSP_CHUNK_MAGIC, 4);
    le32(h + 4, seq);
    le32(h + 8, comp_len);
    le32(h + 12, raw_len);
    uLong crc = crc32(0, h, 16);
    le32(h + 16, (uint32_t)crc32(crc, comp, comp_len));
    buf_put(file, h, sizeof h);
    buf_put(file, comp, comp_len);
}

void craft_chunk(struct buf *file, uint32_t seq, const struct buf *payload)
{
    uLongf comp_len = compressBound(payload->len);
    uint8_t *comp = malloc(comp_len);
    if (!comp || compress2(comp, &comp_len, payload->b, payload->len, 6) != Z_OK)
        abort();
    craft_chunk_raw(file, seq, comp, (uint32_t)comp_len, (uint32_t)payload->len);
    free(comp);
}

void craft_file_with(struct buf *file, const struct buf *payload)
{
    struct buf all = {0};
    craft_process(&all);
    buf_put(&all, payload->b, payload->len);
    craft_file_header(file, NSP_VERSION_MAJOR, NSP_VERSION_MINOR);
    craft_chunk(file, 0, &all);
    buf_free(&all);
}

int craft_load(const struct buf *file, struct ns_profile **p, struct ns_read_error *err)
{
    return ns_profile_read_mem(file->b, file->len, "t.nsp", p, err);
}

int craft_tmpfile(char *path, size_t size)
{
    snprintf(path, size, "/tmp/nsp-format-test-XXXXXX");
    return mkstemp(path);
}

uint8_t *craft_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    struct buf b = {0};
    uint8_t tmp[65536];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
        buf_put(&b, tmp, n);
    fclose(f);
    *len = b.len;
    return b.b ? b.b : calloc(1, 1);
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

size_t craft_chunk_offsets(const uint8_t *data, size_t len, uint64_t *offs, size_t max)
{
    size_t n = 0;
    for (uint64_t off = 16; off + 20 <= len && n < max; off += 20 + rd32(data + off + 8))
        offs[n++] = off;
    return n;
}
