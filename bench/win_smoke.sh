#!/usr/bin/env bash
# bench/win_smoke.sh - the benchmark programs built for Windows run under Wine: a smoke test, not a
# measurement. Wine turns each wait on the completion port and each socket operation into calls to
# its wineserver process, so its numbers say nothing about Windows; this script only shows that
# the programs build, run on the IOCP backend and finish with a well-formed result line.
#
#   WIN_BUILD_DIR=build-win BUILD_DIR=build-bench bench/win_smoke.sh
#
# WIN_BUILD_DIR: a mingw-w64 build with -DCIO_BUILD_BENCH=ON (cmake/toolchain-x86_64-w64-mingw32.cmake).
# BUILD_DIR: a native bench build, for bench/echo_client, which drives the Windows echo servers
# from Linux (a Wine process uses the host's loopback); without it the echo servers are driven by
# scripts/echo_check.py instead. WINEPREFIX as for any Wine run; CIO_WINE: the loader (default
# wine64 from PATH or /usr/lib/wine/wine64). Each run is bounded (LIMIT, 60 s). Exit status 1 if
# any program failed or printed no result line. Nothing is written to docs/BENCHMARKS.md.
set -uo pipefail
# shellcheck source=SCRIPTDIR/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

WIN_BUILD_DIR=${WIN_BUILD_DIR:?set WIN_BUILD_DIR to a Windows build with -DCIO_BUILD_BENCH=ON}
LIMIT=${LIMIT:-60}
wine=${CIO_WINE:-}
if [[ -z $wine ]]; then
    for w in wine64 /usr/lib/wine/wine64 wine; do
        if command -v "$w" >/dev/null 2>&1; then wine=$w; break; fi
    done
fi
[[ -n $wine ]] || die "wine64 not found"
win_bin() { echo "$WIN_BUILD_DIR/bench/$1.exe"; }

failures=0
# run <program> <args...>: one run under Wine; its result line, or a failure.
run() {
    local out rc
    out=$(timeout -k 5 "$LIMIT" "$wine" "$(win_bin "$1")" "${@:2}" 2>&1)
    rc=$?
    if ((rc != 0)) || ! grep -q '^bench=' <<<"$out"; then
        echo "FAILED ($rc): $1 ${*:2}"
        sed 's/^/    /' <<<"$out"
        failures=$((failures + 1))
        return 1
    fi
    grep '^bench=' <<<"$out"
}

# echo_run <server> <conns>: a Windows echo server under Wine, driven from Linux.
echo_run() {
    local srv=$1 conns=$2 out port="" pid rc crc=0
    out=$(mktemp)
    timeout -k 5 "$LIMIT" "$wine" "$(win_bin "$srv")" iocp "$conns" >"$out" 2>&1 </dev/null &
    pid=$!
    for ((i = 0; i < 300; i++)); do
        port=$(grep -o -m1 '^port=[0-9]*' "$out" | cut -d= -f2)
        [[ -n $port ]] && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if [[ -z $port ]]; then
        crc=1
    elif bench_has echo_client; then
        timeout "$LIMIT" "$BUILD_DIR/bench/echo_client" "$port" "$conns" 2000 64 || crc=$?
    else
        timeout "$LIMIT" python3 "$BENCH_ROOT/scripts/echo_check.py" "$port" --conns "$conns" --messages 200 \
            --max-size 64 --timeout "$((LIMIT - 5))" || crc=$?
    fi
    ((crc == 0)) || kill "$pid" 2>/dev/null
    wait "$pid"
    rc=$?
    if ((crc != 0 || rc != 0)) || ! grep -q '^bench=' "$out"; then
        echo "FAILED (client $crc, server $rc): $srv $conns"
        sed 's/^/    /' "$out"
        failures=$((failures + 1))
    else
        grep '^bench=' "$out"
    fi
    rm -f "$out"
}

echo "Windows benchmark programs under Wine ($wine): smoke test only, not Windows numbers"
for b in 1 16 128; do run nop_cio "$b" 20000 iocp; done
run nop_cio 16 200000 mock
run switch_cio raw 2000000
run switch_cio yield 20000 iocp
run switch_cio handoff 200000 iocp
run spawn_cio 16 100000 iocp
for srv in echo_cio echo_task; do
    for conns in 1 8; do echo_run "$srv" "$conns"; done
done
if ((failures)); then
    echo "win_smoke: $failures run(s) failed"
    exit 1
fi
echo "win_smoke: every program ran"
