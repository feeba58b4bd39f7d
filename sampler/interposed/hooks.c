#include "hooks.h"

#include "alloc.h"
#include "capture.h"
#include "resources.h"
#include "stacks.h"

void ns_hooks_set(unsigned kinds)
{
    if (ns_shm_local->hooks_on != kinds)
        __atomic_store_n(&ns_shm_local->hooks_on, kinds, __ATOMIC_RELEASE);
}

void ns_hooks_prefork(void)
{
    ns_stacks_prefork();
    ns_resources_prefork();
    ns_alloc_prefork();
}

void ns_hooks_postfork(int child)
{
    ns_alloc_postfork(child);
    ns_resources_postfork(child);
    ns_stacks_postfork(child);
}
