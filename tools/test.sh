#!/usr/bin/env bash
# test.sh — set up, build and run every test: the release build's unit and integration
# tests, then the analyzer's unit tests again under AddressSanitizer + UBSan.
#
#   tools/test.sh
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$here/tools/setup.sh" --test
(cd "$here/build" && ctest --output-on-failure -j2)
"$here/tools/setup.sh" --test --sanitize --build-dir "$here/build-asan"
(cd "$here/build-asan" && ctest --output-on-failure -j2 -L unit)
echo "test.sh: all tests passed"
