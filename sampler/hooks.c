#include "hooks.h"

#include "alloc.h"
#include "capture.h"
#include "resources.h"
#include "stacks.h"

unsigned ns_hooks_on;

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
