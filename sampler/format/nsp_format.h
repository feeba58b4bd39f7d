/*
 * nsp_format.h — constants of the .nsp profile file format shared by its writer
 * (sampler/format/profile_writer.c) and its reader (report/read/profile_reader.c).
 * docs/FORMAT.md is the specification; this header only names its numbers.
 */
#ifndef NSP_FORMAT_H
#define NSP_FORMAT_H

#include <stdint.h>

#define NSP_MAGIC           "\x89NSP\r\n\x1a\n"
#define NSP_MAGIC_LEN       8
#define NSP_VERSION_MAJOR   1
#define NSP_VERSION_MINOR   4
#define NSP_FILE_HEADER_LEN 16

#define NSP_CHUNK_MAGIC      "NSCK"
#define NSP_CHUNK_HEADER_LEN 20
#define NSP_MAX_CHUNK_BYTES  (64u << 20)

#define NSP_MAX_STR                 (1u << 20)
#define NSP_MAX_BUILD_ID            64
#define NSP_MAX_FRAMES              4096
#define NSP_MAX_SAMPLES_PER_RECORD  (1u << 20)
#define NSP_MAX_COUNTERS_PER_RECORD 4096
#define NSP_MAX_HISTOGRAM_BUCKETS   65
#define NSP_MAX_IDS                 (1u << 26)
#define NSP_MAX_TIME_US             (1ull << 40)

enum nsp_record_kind {
    NSP_REC_PROCESS = 1,
    NSP_REC_SETTING = 2,
    NSP_REC_EVENT = 3,
    NSP_REC_STRING = 4,
    NSP_REC_MAPPING = 5,
    NSP_REC_THREAD = 6,
    NSP_REC_STACK = 7,
    NSP_REC_SAMPLES = 8,
    NSP_REC_THREAD_STATS = 9,
    NSP_REC_COUNTERS = 10,
    NSP_REC_NOTE = 11,
    NSP_REC_END = 12,
    /* 1.1 */
    NSP_REC_RESOURCE = 13,
    NSP_REC_SITE_SAMPLES = 14,
    NSP_REC_HISTOGRAM = 15,
    NSP_REC_SERIES = 16,
    /* 1.4 */
    NSP_REC_QUERY = 17,
    NSP_REC_DB_STATS = 18,
};

/* EVENT flags (1.1). */
enum nsp_event_flags {
    NSP_EVENT_AGGREGATE = 1, /* each entry adds up many calls; its weight is their total */
    NSP_EVENT_SNAPSHOT = 2,  /* the weights describe a state at the entry's time */
};

/* RESOURCE kinds (1.1). */
enum nsp_resource_kind {
    NSP_RES_FILE = 1,
    NSP_RES_SOCKET = 2,
    NSP_RES_PIPE = 3,
    NSP_RES_LOCK = 4,
    NSP_RES_OTHER_FD = 5,
    NSP_RES_UNKNOWN_FD = 6,
    /* 1.4 */
    NSP_RES_DATABASE = 7, /* name: "sqlite /path/to.db", "postgresql host:port/db user" */
    NSP_RES_QUERY = 8,    /* name: the normalized SQL; QUERY says of which database */
};

/* QUERY verbs (1.4): the statement's first keyword, for rules about writes. Keep in sync
 * with enum ns_sql_verb (preload/db/sql_norm.h). */
enum nsp_query_verb {
    NSP_VERB_OTHER = 0,
    NSP_VERB_SELECT = 1,
    NSP_VERB_INSERT = 2,
    NSP_VERB_UPDATE = 3,
    NSP_VERB_DELETE = 4,
    NSP_VERB_BEGIN = 5,
    NSP_VERB_END = 6,
};

enum nsp_query_flags {
    NSP_QUERY_CUT = 1,     /* the normalized text was cut (its end is "...") */
    NSP_QUERY_LITERALS = 2 /* the statement has literals or parameters */
};

#define NSP_DB_DISTINCT_REGS 64  /* DB_STATS: registers of the distinct-values sketch */
#define NSP_DB_HIST_BUCKETS  496 /* DB_STATS: loglin_hist.h's buckets */

enum nsp_mapping_flags {
    NSP_MAP_MAIN = 1,
    NSP_MAP_VDSO = 2,
    NSP_MAP_PSEUDO = 4,
    NSP_MAP_NAMED = 8, /* 1.1: a frame's addr is the id of the STRING naming it */
};

/* Why an unwind stopped (STACK.end). Keep in sync with enum ns_unwind_end. */
enum nsp_stack_end {
    NSP_END_ROOT = 0,
    NSP_END_DEPTH = 1,
    NSP_END_STACK_END = 2,
    NSP_END_NO_MODULE = 3,
    NSP_END_NO_CFI = 4,
    NSP_END_BAD_CFI = 5,
    NSP_END_BAD_FRAME = 6,
    NSP_END__COUNT = 7,
};

enum nsp_thread_flags {
    NSP_THREAD_EXITED = 1,
    NSP_THREAD_TIMES = 2, /* off-CPU times follow: blocked_ns, runnable_ns, unknown_ns */
};

enum nsp_note_level {
    NSP_NOTE_INFO = 0,
    NSP_NOTE_WARNING = 1,
};

enum nsp_end_reason {
    NSP_EXIT_NORMAL = 0,
    NSP_EXIT_EXEC = 1,
    NSP_EXIT_SIGNAL = 2,
    NSP_EXIT_STOPPED = 3,
    NSP_EXIT_GONE = 4, /* it ended; how (exit code, signal) was not visible */
};

static inline uint64_t nsp_zigzag(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static inline int64_t nsp_unzigzag(uint64_t v)
{
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

#endif
