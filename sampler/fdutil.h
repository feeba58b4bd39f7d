/*
 * fdutil — nsprof's own file descriptors live high, away from the numbers a program
 * expects to get (the lowest free ones), and are close-on-exec.
 */
#ifndef NS_FDUTIL_H
#define NS_FDUTIL_H

/* Moves fd to a high number (>= 3/4 of the open-files limit, at least 200) and returns the
 * new descriptor; returns fd unchanged if no high number is free. */
int ns_fd_move_high(int fd);

/* Reads up to cap bytes of a (small, /proc) file; how many were read (0 if none). */
#include <stddef.h>
size_t ns_read_file(const char *path, char *buf, size_t cap);

#endif
