#!/usr/bin/env bash
# bench/run.sh - build the benchmarks in Release and run every scenario.
#
# Configures BUILD_DIR (default build-bench) with -DCIO_BUILD_BENCH=ON, builds
# it, then runs each bench/*.sh scenario script in turn with that BUILD_DIR.
# Scenario scripts only run what is built, so one of them can be rerun alone:
#     BUILD_DIR=build-bench RUNS=9 bench/nop.sh
#
# The echo scenario's libuv anchor needs libuv's headers, the switch
# scenario's fcontext anchor Boost.Context: on Debian they are installed
# here (libuv1-dev, libboost-context-dev) when missing and apt-get can;
# without them that anchor is skipped, the rest still runs.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
export BUILD_DIR=${BUILD_DIR:-$root/build-bench}

# install_anchor PACKAGE WHAT: apt-get install PACKAGE if that can be done.
install_anchor() {
    command -v apt-get >/dev/null && [[ $(id -u) == 0 ]] || return 0
    echo "== installing $1 for $2"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$1" >/dev/null ||
        echo "run.sh: $1 could not be installed; $2 is skipped" >&2
}
pkg-config --exists libuv 2>/dev/null || install_anchor libuv1-dev "the echo scenario's libuv anchor"
pkg-config --exists libevent_core 2>/dev/null || install_anchor libevent-dev "the echo scenario's libevent anchor"
[[ -x /usr/bin/cargo ]] || install_anchor cargo "the echo scenario's tokio anchor"
compgen -G "/usr/share/cargo/registry/tokio-1.*" >/dev/null || install_anchor librust-tokio-dev "the echo scenario's tokio anchor"
command -v perf >/dev/null || install_anchor linux-perf "the echo scenario's system call counts"
command -v fio >/dev/null || install_anchor fio "the fileread scenario's fio anchors"
command -v jq >/dev/null || install_anchor jq "the fileread scenario's fio anchors (fio's JSON output)"
command -v gnuplot >/dev/null || install_anchor gnuplot-nox "the plots"
# Boost ships no pkg-config file; its header is what the build looks for.
[[ -f /usr/include/boost/context/detail/fcontext.hpp ]] ||
    install_anchor libboost-context-dev "the switch scenario's fcontext anchor"

generator=()
if [[ ! -f $BUILD_DIR/CMakeCache.txt ]] && command -v ninja >/dev/null; then generator=(-G Ninja); fi
cmake -S "$root" -B "$BUILD_DIR" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DCIO_BUILD_BENCH=ON
cmake --build "$BUILD_DIR" --parallel

# bench/run.sh [SCENARIO...]: only those (e.g. `bench/run.sh echo`), else all.
for script in "$here"/*.sh; do
    case $(basename "$script") in run.sh | ab.sh) continue ;; esac # ab.sh needs a base build
    if (($#)) && [[ " $* " != *" $(basename "$script" .sh) "* ]]; then continue; fi
    echo "== $(basename "$script" .sh)"
    bash "$script"
done
