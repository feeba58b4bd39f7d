/* The settings registry: defaults, validation, environment, derived values. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "settings.h"

static struct ns_config cfg;
static char err[512];

Test(settings, defaults)
{
    ns_config_defaults(&cfg);
    ns_config_resolve(&cfg);
    cr_assert_eq(cfg.value[NS_SET_EVENT], NS_EVENT_CPU);
    cr_assert_eq(cfg.value[NS_SET_FREQ], 999, "auto = 999 Hz for cpu");
    cr_assert_str_eq(cfg.text[NS_SET_FREQ], "999");
    cr_assert_eq(cfg.value[NS_SET_STACK_COPY], 16384);
    cr_assert_str_eq(cfg.text[NS_SET_OUTPUT], "nsprof.%s.%p.%e.nsp");
    for (int i = 0; i < NS_SET__COUNT; i++) {
        cr_assert_not_null(ns_setting_defs[i].help);
        cr_assert(strncmp(ns_setting_defs[i].env, "NSPROF_", 7) == 0);
    }
}

/* Wall mode samples only the time on a CPU (the rest comes from the kernel's switch records
 * or the blocking calls), at the cpu event's rate. */
Test(settings, wall_mode_samples_on_cpu_time_at_the_cpu_rate)
{
    ns_config_defaults(&cfg);
    cr_assert_eq(ns_config_set(&cfg, NS_SET_EVENT, "wall", err, sizeof(err)), 0);
    ns_config_resolve(&cfg);
    cr_assert_eq(cfg.value[NS_SET_FREQ], 999);
}

Test(settings, values_are_validated_with_a_reason)
{
    ns_config_defaults(&cfg);
    cr_assert_eq(ns_config_set(&cfg, NS_SET_EVENT, "gpu", err, sizeof(err)), -1);
    cr_assert(strstr(err, "cpu|wall"), "%s", err);
    cr_assert_eq(ns_config_set(&cfg, NS_SET_FREQ, "0", err, sizeof(err)), -1);
    cr_assert(strstr(err, "between 1 and"), "%s", err);
    cr_assert_eq(ns_config_set(&cfg, NS_SET_FREQ, "12abc", err, sizeof(err)), -1);
    cr_assert_eq(ns_config_set(&cfg, NS_SET_FREQ, "-5", err, sizeof(err)), -1);
    cr_assert_eq(ns_config_set(&cfg, NS_SET_STACK_COPY, "64K", err, sizeof(err)), -1,
                 "the kernel copies less than 64 KiB");
    cr_assert_eq(ns_config_set(&cfg, NS_SET_OUTPUT, "", err, sizeof(err)), -1);
    cr_assert_eq(cfg.value[NS_SET_EVENT], NS_EVENT_CPU, "a refused value changes nothing");
}

Test(settings, sizes_and_numbers)
{
    ns_config_defaults(&cfg);
    cr_assert_eq(ns_config_set(&cfg, NS_SET_STACK_COPY, "8K", err, sizeof(err)), 0);
    cr_assert_eq(cfg.value[NS_SET_STACK_COPY], 8192);
    cr_assert_eq(ns_config_set(&cfg, NS_SET_STACK_COPY, "4000", err, sizeof(err)), 0);
    ns_config_resolve(&cfg);
    cr_assert_eq(cfg.value[NS_SET_STACK_COPY], 4000 & ~7u, "whole 8-byte words");
    cr_assert_eq(ns_config_set(&cfg, NS_SET_FREQ, "4999", err, sizeof(err)), 0);
    cr_assert_eq(cfg.value[NS_SET_FREQ], 4999);
}

static char *last_warning;
static void keep_warning(const char *msg)
{
    free(last_warning);
    last_warning = strdup(msg);
}

Test(settings, environment_with_a_bad_value_keeps_the_default)
{
    ns_config_defaults(&cfg);
    setenv("NSPROF_FREQ", "lots", 1);
    setenv("NSPROF_EVENT", "wall", 1);
    cr_assert_eq(ns_config_from_env(&cfg, keep_warning), 1);
    unsetenv("NSPROF_FREQ");
    unsetenv("NSPROF_EVENT");
    cr_assert_eq(cfg.value[NS_SET_EVENT], NS_EVENT_WALL);
    cr_assert_str_eq(cfg.text[NS_SET_FREQ], "auto");
    cr_assert(last_warning && strstr(last_warning, "NSPROF_FREQ=lots"), "%s", last_warning);
}

Test(settings, lookup_by_key_or_option)
{
    cr_assert_eq(ns_setting_find("stack_copy"), NS_SET_STACK_COPY);
    cr_assert_eq(ns_setting_find("stack-copy"), NS_SET_STACK_COPY);
    cr_assert_eq(ns_setting_find("nonsense"), -1);
    cr_assert_eq(ns_choice_index("auto|perf|signal", "signal"), 2);
    cr_assert_eq(ns_choice_index("auto|perf|signal", "sig"), -1);
}
