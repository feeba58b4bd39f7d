/* alloc_live: the full mode's table of live blocks — every block inserted is found once, with
 * its size and stack, whether it died young (in the nursery, while the process has one
 * thread) or old (in the stripes), and whichever thread frees it once there are several.
 * Criterion's process has threads of its own: the nursery's cases run in alloc_live_solo. */
#include <criterion/criterion.h>
#include <spawn.h>
#include <sys/wait.h>

#define CHECK(cond, ...) cr_assert(cond, __VA_ARGS__)
#include "alloc_live_cases.h"

Test(alloc_live, young_and_old_blocks_are_found_once)
{
    case_young_and_old();
}

Test(alloc_live, an_address_made_again_replaces_its_untracked_predecessor)
{
    case_address_made_again();
}

Test(alloc_live, blocks_are_found_by_any_thread)
{
    case_found_by_a_later_thread();
}

Test(alloc_live, the_same_cases_in_a_single_threaded_process)
{
    extern char **environ;
    char *argv[] = {ALLOC_LIVE_SOLO, NULL};
    pid_t pid;
    cr_assert_eq(posix_spawn(&pid, ALLOC_LIVE_SOLO, NULL, NULL, argv, environ), 0);
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status), "alloc_live_solo died (status %#x)", status);
    cr_assert_neq(WEXITSTATUS(status), 2, "alloc_live_solo was not single-threaded");
    cr_assert_eq(WEXITSTATUS(status), 0, "alloc_live_solo failed (see its stderr)");
}
