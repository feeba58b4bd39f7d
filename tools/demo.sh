#!/usr/bin/env bash
# demo.sh — set up, build, profile the bundled demo workload and show what nsprof found.
#
#   tools/demo.sh
#
# Writes build/demo.nsp (the profile), build/demo.html (the interactive flame graph: one
# file, open it in a browser) and build/demo.folded (folded stacks, the input of
# FlameGraph, inferno and speedscope), and prints the report.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$here/tools/setup.sh" --target nsprof --target nsprof-demo
b="$here/build"
# CPU samples, and every allocation with its stack (--alloc full: the demo allocates little,
# so exact tracking costs nothing noticeable and the report shows the heap and its leaks).
"$b/nsprof" record --alloc full --if-exists=backup -o "$b/demo.nsp" -- "$b/nsprof-demo" 2
"$b/nsprof" report "$b/demo.nsp"
"$b/nsprof" flame --force -o "$b/demo.html" "$b/demo.nsp"
"$b/nsprof" export --format folded --force -o "$b/demo.folded" "$b/demo.nsp"
echo
echo "demo: profile $b/demo.nsp, flame graph $b/demo.html (open it in a browser),"
echo "      folded stacks $b/demo.folded"
