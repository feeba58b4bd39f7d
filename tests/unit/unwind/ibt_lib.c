/* A library linked with -z ibtplt (CMakeLists.txt): its lazy .plt entries start with endbr64,
 * so ld describes them with a different PLT expression (threshold 9), and calls go through
 * .plt.sec. test_cfi_real checks both. */
#include <stdlib.h>
#include <string.h>

size_t ibt_lib_calls(const char *s)
{
    char *copy = strdup(s);
    size_t n = strlen(copy);
    free(copy);
    return n;
}
