/* alloc_live_solo — alloc_live's cases run by a process that has one thread, as most
 * profiled programs start (the nursery is used only then); test_alloc_live runs it. Exit 0
 * when every case held, 1 with the failure on stderr, 2 if the process was not alone. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/single_threaded.h>

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

#include "alloc_live_cases.h"

int main(void)
{
    if (!__libc_single_threaded)
        return 2;
    case_young_and_old();
    case_address_made_again();
    case_found_by_a_later_thread(); /* last: the process has two threads from here */
    return 0;
}
