/*
 * io_stats — the kernel's own count of this process's I/O (/proc/self/io: rchar, wchar,
 * syscr, syscw), written as counters at the end so that the report can tell how much of it
 * the interposers saw. The kernel's figures include nsprof's own reads of /proc and writes
 * of the profile.
 *
 * Contract: no malloc, no stdio, no interposer: raw system calls into a stack buffer.
 */
#ifndef NS_IO_STATS_H
#define NS_IO_STATS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define NS_IO_STATS_COUNTERS 4

/* Fills names ("proc_io_rchar", "proc_io_wchar", "proc_io_syscr", "proc_io_syscw") and
 * values; returns how many (0 when /proc/self/io cannot be read, at most max). */
size_t ns_io_stats_counters(const char **names, uint64_t *values, size_t max);
/* The four values of /proc/PID/io (pid 0: this process) into v; 0, or -1. Async-signal-safe. */
int ns_io_stats_read(pid_t pid, uint64_t v[NS_IO_STATS_COUNTERS]);
/* Values as named counters; returns how many. */
size_t ns_io_stats_named(const uint64_t v[NS_IO_STATS_COUNTERS], const char **names,
                         uint64_t *values, size_t max);
/* The same for another process (pid > 0), read by the agent. */
size_t ns_io_stats_counters_of(pid_t pid, const char **names, uint64_t *values, size_t max);

#endif
