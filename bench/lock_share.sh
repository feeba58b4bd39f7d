#!/bin/bash
# lock_share.sh — does profiling add lock cost to a real single-threaded program?
#
# Runs Debian's sqlite3 shell on a fixed SQL workload (1,000,000-row insert, index, scans) and
# reports the share of CPU samples in pthread_mutex_lock/unlock and
# __pthread_{enable,disable}_asynccancel (the functions glibc makes cheaper while a process
# is single-threaded) as perf sees it in the unprofiled program, as perf sees it with
# libnsprof.so preloaded (agent, and in-process: the mode before the agent), and as nsprof's
# own profile says. perf record and nsprof sample together in the preloaded runs; perf counts
# user-space samples only, as nsprof does.
#
#   bench/lock_share.sh [build] [rounds]      (default build, 3)
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
rounds=${2:-3}
command -v perf >/dev/null || { echo "lock_share: needs perf (tools/setup.sh --bench)" >&2; exit 1; }
command -v sqlite3 >/dev/null || { echo "lock_share: needs sqlite3 (apt-get install sqlite3)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/work.sql" <<'EOF'
CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT, c REAL);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 1000000)
INSERT INTO t SELECT i, printf('%08x%08x', i * 2654435761 % 4294967296, i), i * 0.5 FROM n;
CREATE INDEX tb ON t(b);
SELECT count(*), sum(length(b)), avg(c) FROM t WHERE b LIKE '%a%';
SELECT b FROM t ORDER BY b DESC LIMIT 1;
EOF
# Names as nsprof gives them; perf's get their "@@GLIBC_x" version and "__GI_" alias prefix
# stripped first. lll_mutex_*_optimized are the single-thread paths, inlined (nsprof names
# inlined functions; perf charges them to their caller).
locks='^(pthread_mutex_lock|pthread_mutex_unlock|___pthread_mutex_lock|__pthread_mutex_unlock_usercnt|__pthread_enable_asynccancel|__pthread_disable_asynccancel|lll_mutex_lock_optimized|lll_mutex_unlock_optimized)$'

perf_share() { # perf.data -> "G%" or "G% + I%": % of sqlite3's samples (not the agent's)
    # whose leaf is a lock function in glibc (G) and in libnsprof.so's interposers (I: the
    # lock interposer's flag test and jump, there even with --locks off)
    # comm is a sort key: --comms alone keeps the entries sqlite3 has but counts every
    # process's samples in them (the agent's too). perf then leaves the one comm's column out.
    perf report -i "$1" --comms sqlite3 --percentage relative --no-children --sort comm,dso,sym \
        --stdio -F overhead,comm,dso,sym 2>/dev/null |
        awk -v re="$locks" '/^ +[0-9.]+%/ {p=$1; sub("%","",p); s=$NF; sub("@.*$","",s); sub("^__GI_","",s)
            if (s !~ re) next; if ($2 == "libnsprof.so") i+=p; else g+=p}
            END {if (i > 0) printf "%.2f%% + %.2f%%", g, i; else printf "%.2f%%", g}'
}
nsprof_share() { # profile -> % of cpu self time in lock functions
    "$build/nsprof" report --json --top 0 "$1" | python3 -c '
import json, re, sys
ev = next(e for e in json.load(sys.stdin)["events"] if e["name"] == "cpu")
tot = sum(f["self_weight"] for f in ev["functions_by_self"])
lk = sum(f["self_weight"] for f in ev["functions_by_self"] if re.match(sys.argv[1], f["name"]))
print("%.2f" % (100.0 * lk / tot if tot else 0))' "$locks"
}

echo "share of sqlite3's user-space CPU samples in lock functions: glibc's (+ nsprof's interposer)"
printf '%-5s %-28s %-28s %-28s %-22s\n' round "perf, unprofiled" "perf, preloaded (agent)" \
    "perf, preloaded (in-process)" "nsprof's own profile"
for r in $(seq 1 "$rounds"); do
    # perf runs env, which preloads nsprof into sqlite3 only (not into perf).
    (cd "$tmp" && perf record -q --all-user -F 999 -o plain.data -- sqlite3 :memory: <work.sql >/dev/null)
    (cd "$tmp" && perf record -q --all-user -F 999 -o agent.data -- env LD_PRELOAD="$build/libnsprof.so" \
        NSPROF_OUTPUT="$tmp/agent.nsp" NSPROF_LOG=quiet sqlite3 :memory: <work.sql >/dev/null)
    (cd "$tmp" && perf record -q --all-user -F 999 -o inproc.data -- env LD_PRELOAD="$build/libnsprof.so" \
        NSPROF_OUTPUT="$tmp/inproc.nsp" NSPROF_LOG=quiet NSPROF_AGENT=off \
        sqlite3 :memory: <work.sql >/dev/null)
    printf '%-5s %-28s %-28s %-28s %-22s\n' "$r" "$(perf_share "$tmp/plain.data")" \
        "$(perf_share "$tmp/agent.data")" "$(perf_share "$tmp/inproc.data")" \
        "$(nsprof_share "$tmp/agent.nsp")%"
    rm -f "$tmp"/*.data "$tmp"/*.nsp
done
