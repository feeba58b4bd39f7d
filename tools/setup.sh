#!/usr/bin/env bash
# setup.sh — make a fresh Debian 12 machine ready for nsprof, then build it.
#
#   tools/setup.sh [--test] [--bench] [--build-dir DIR] [--sanitize] [--target T]...
#
# Installs the Debian packages that are missing (with apt-get, when run as root; otherwise
# prints the command to run) and builds nsprof with CMake into DIR (default: build/), all of
# it or only the given targets. --test adds what the test suite needs, --bench what the
# benchmarks compare against. The compiler's output goes to DIR/build.log.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir="$here/build"
want_test=0 want_bench=0 sanitize=OFF
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --test) want_test=1 ;;
    --bench) want_bench=1 ;;
    --sanitize) sanitize=ON ;;
    --build-dir) build_dir=$2; shift ;;
    --target) targets+=(--target "$2"); shift ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done

# What building needs: compiler, CMake, and the libraries nsprof links.
packages=(build-essential cmake pkg-config zlib1g-dev libdw-dev libelf-dev libunwind-dev
          libbpf-dev bpftool clang libjansson-dev libcriterion-dev)
# What the tests need: python3 drives the integration tests; binutils and elfutils make and
# check stripped binaries; libc6-dbg gives libc line numbers; gzip, sqlite3, xz and python3 are
# real Debian programs to profile; chromium runs the flame page's browser tests; libsqlite3-dev
# libpq-dev and libmariadb-dev build the database ground-truth programs (libsqlite3-dev also
# lets a test check the SQL statement splitter against sqlite3_complete); postgresql-15 and
# mariadb-server are the servers those tests start themselves (in a temporary directory, as
# nobody; the packages' own servers are not started).
[ "$want_test" = 1 ] && packages+=(python3 binutils elfutils libc6-dbg gzip sqlite3 libsqlite3-dev xz-utils chromium libpython3.11-testsuite libpq-dev postgresql-15 libmariadb-dev mariadb-server)
# What the benchmarks compare against.
[ "$want_bench" = 1 ] && packages+=(linux-perf google-perftools libgoogle-perftools-dev
                                     heaptrack hyperfine python3 libsqlite3-dev)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup.sh: missing packages: ${missing[*]}" >&2
    echo "setup.sh: install them with: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "setup.sh: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  # Debian's postgresql-common creates and starts a "main" cluster when the server is
  # installed; the tests start their own, so none is wanted here.
  if [[ " ${missing[*]} " == *" postgresql-15 "* ]] && [ ! -e /etc/postgresql-common/createcluster.conf ]; then
    mkdir -p /etc/postgresql-common
    echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.conf
  fi
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends -o Dpkg::Options::=--force-confold "${missing[@]}" >/dev/null
fi

# The browser tests drive chromium with playwright-core, pinned in tests/browser's
# package-lock.json: installed (again) when missing or when the lock file changed.
if [ "$want_test" = 1 ]; then
  browser="$here/tests/browser"
  if [ ! -f "$browser/node_modules/.package-lock.json" ] ||
     [ "$browser/package-lock.json" -nt "$browser/node_modules/.package-lock.json" ]; then
    if ! command -v npm >/dev/null; then
      echo "setup.sh: npm is missing (the browser tests need it): install Node.js 20 and npm" >&2
      exit 1
    fi
    echo "setup.sh: npm ci in $browser" >&2
    if ! npm_log=$(cd "$browser" && npm ci --no-audit --no-fund 2>&1); then
      echo "$npm_log" >&2
      echo "setup.sh: npm ci failed in $browser" >&2
      exit 1
    fi
  fi
fi

mkdir -p "$build_dir"
log="$build_dir/build.log"
echo "setup.sh: building nsprof in $build_dir (log: $log)" >&2
if ! { cmake -S "$here" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DNSPROF_SANITIZE="$sanitize" &&
       cmake --build "$build_dir" -j"$(nproc)" "${targets[@]}"; } >"$log" 2>&1; then
  tail -n 40 "$log" >&2
  echo "setup.sh: the build failed; the whole log is in $log" >&2
  exit 1
fi
