/*
 * fuzz_profile_reader — libFuzzer harness for report/read/profile_reader.c.
 *
 * Random bytes rarely get past a chunk's CRC and zlib framing, which would leave the
 * record parser, the part with most of the logic, almost unexplored. So the first input
 * byte picks a mode:
 *  - even: the rest of the input is a whole file, fed as is (framing, CRCs, truncation);
 *  - odd:  the rest is a sequence of records that the harness wraps into a valid file —
 *          header, then chunks with correct lengths, zlib payloads and CRCs, split at
 *          points chosen by the second byte — so every execution reaches the records.
 * Both paths call ns_profile_read_mem, and a loaded profile is walked so that ASan sees
 * every index the reader produced.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "nsp_format.h"
#include "profile_reader.h"

#define MAX_CHUNKS 4

static void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static size_t put_header(uint8_t *out)
{
    memcpy(out, NSP_MAGIC, NSP_MAGIC_LEN);
    out[8] = NSP_VERSION_MAJOR;
    out[9] = 0;
    out[10] = NSP_VERSION_MINOR;
    out[11] = 0;
    put_le32(out + 12, (uint32_t)crc32(0, out, 12));
    return NSP_FILE_HEADER_LEN;
}

/* Appends one chunk holding records[0..len) at out; returns its size or 0 on failure. */
static size_t put_chunk(uint8_t *out, uint32_t seq, const uint8_t *records, size_t len)
{
    uLongf comp_len = compressBound(len);
    uint8_t *h = out;
    if (compress2(h + NSP_CHUNK_HEADER_LEN, &comp_len, records, len, 1) != Z_OK)
        return 0;
    memcpy(h, NSP_CHUNK_MAGIC, 4);
    put_le32(h + 4, seq);
    put_le32(h + 8, (uint32_t)comp_len);
    put_le32(h + 12, (uint32_t)len);
    uLong crc = crc32(0, h, 16);
    put_le32(h + 16, (uint32_t)crc32(crc, h + NSP_CHUNK_HEADER_LEN, (uInt)comp_len));
    return NSP_CHUNK_HEADER_LEN + comp_len;
}

static uint8_t *wrap_records(const uint8_t *data, size_t len, size_t *out_len)
{
    if (len < 1)
        return NULL;
    size_t nchunks = 1 + data[0] % MAX_CHUNKS;
    data++, len--;
    uint8_t *out = malloc(NSP_FILE_HEADER_LEN + nchunks * (NSP_CHUNK_HEADER_LEN + 64) +
                          compressBound(len) * nchunks);
    if (!out)
        return NULL;
    size_t n = put_header(out), done = 0;
    for (size_t c = 0; c < nchunks; c++) {
        size_t piece = c + 1 == nchunks ? len - done : (len - done) / (nchunks - c);
        if (piece == 0)
            continue; /* raw_len 0 is not a valid chunk: leave the rest to the next one */
        size_t sz = put_chunk(out + n, (uint32_t)c, data + done, piece);
        if (sz == 0)
            break;
        n += sz;
        done += piece;
    }
    *out_len = n;
    return out;
}

/* Touches everything the profile's indices point at. */
static uint64_t walk(const struct ns_profile *p)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < p->nstacks; i++) {
        const struct ns_prof_stack *s = &p->stacks[i];
        for (uint32_t f = 0; f < s->nframes; f++) {
            const struct ns_prof_frame *fr = &p->frames[s->first + f];
            sum += fr->addr + p->mappings[fr->mapping].lo;
        }
    }
    for (size_t i = 0; i < p->nmappings; i++)
        sum += (uint8_t)p->strings[p->mappings[i].path].s[0];
    for (size_t i = 0; i < p->nthreads; i++)
        sum += (uint8_t)p->strings[p->threads[i].name].s[0];
    for (size_t i = 0; i < p->samples.n; i++)
        sum += p->stacks[p->samples.stack[i]].nframes + (uint64_t)p->samples.time_ns[i];
    for (size_t i = 0; i < p->ncounters; i++)
        sum += p->counters[i].value + (uint8_t)p->counters[i].name.s[p->counters[i].name.len];
    return sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t *file = NULL;
    size_t len = size - 1;
    const uint8_t *input = data + 1;
    if (data[0] & 1) {
        file = wrap_records(data + 1, size - 1, &len);
        if (!file)
            return 0;
        input = file;
    }
    struct ns_profile *p = NULL;
    struct ns_read_error err;
    if (ns_profile_read_mem(input, len, "fuzz.nsp", &p, &err) == 0) {
        volatile uint64_t sink = walk(p);
        (void)sink;
        ns_profile_free(p);
    } else if (memchr(err.msg, '\0', sizeof err.msg) == NULL) {
        abort(); /* the message must be a terminated string */
    }
    free(file);
    return 0;
}
