/* plugin — a shared library the dlopen workloads load, call and unload. */
#include <stdint.h>

#include "burn.h"

BURN_FUNCTION(plugin_work, 23)
