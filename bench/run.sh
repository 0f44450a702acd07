#!/usr/bin/env bash
# bench/run.sh - build the benchmarks in Release and run every scenario.
#
# Configures BUILD_DIR (default build-bench) with -DCIO_BUILD_BENCH=ON, builds
# it, then runs each bench/*.sh scenario script in turn with that BUILD_DIR.
# Scenario scripts only run what is built, so one of them can be rerun alone:
#     BUILD_DIR=build-bench RUNS=9 bench/nop.sh
#
# The echo scenario's libuv anchor needs libuv's headers: on Debian they are
# installed here (libuv1-dev) when missing and apt-get can; without them
# that anchor is skipped, the rest still runs.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
export BUILD_DIR=${BUILD_DIR:-$root/build-bench}

if ! pkg-config --exists libuv 2>/dev/null && command -v apt-get >/dev/null && [[ $(id -u) == 0 ]]; then
    echo "== installing libuv1-dev for the echo scenario's libuv anchor"
    apt-get install -y -q libuv1-dev >/dev/null ||
        echo "run.sh: libuv1-dev could not be installed; the libuv anchor is skipped" >&2
fi

generator=()
if [[ ! -f $BUILD_DIR/CMakeCache.txt ]] && command -v ninja >/dev/null; then generator=(-G Ninja); fi
cmake -S "$root" -B "$BUILD_DIR" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DCIO_BUILD_BENCH=ON
cmake --build "$BUILD_DIR" --parallel

for script in "$here"/*.sh; do
    [[ $(basename "$script") == run.sh ]] && continue
    echo "== $(basename "$script" .sh)"
    bash "$script"
done
