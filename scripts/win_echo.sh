#!/usr/bin/env bash
# scripts/win_echo.sh BUILD_DIR - the echo examples built for Windows serve real clients under Wine.
#
# For examples/tcp_echo.exe (callbacks) and examples/task_echo.exe (tasks): starts the server under
# Wine on 127.0.0.1 with a free port and the default backend (CIO_BACKEND_AUTO: IOCP), reads the
# port it prints, and drives it with scripts/echo_check.py, a Linux python3 client (a Wine process
# uses the host's loopback): CONNS connections at once, MESSAGES messages of random sizes each,
# every byte of every echo compared, then a half-close that the server must answer by closing.
# The server must then exit 0 by itself. Everything is bounded in time; a server still running
# at the end is killed.
#
# Environment: WINEPREFIX (a prefix with a running wineserver: scripts/test.sh's win64 configuration
# makes one; otherwise Wine's default), CIO_WINE (the loader; default: wine64 from PATH or
# /usr/lib/wine/wine64), CONNS (4), MESSAGES (60), MAX_SIZE (16384), SEED (1), LIMIT (90 seconds
# for each server's whole run). Prints what it did; exit status 1 if any server failed.
set -uo pipefail

build=${1:?usage: win_echo.sh BUILD_DIR}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
conns=${CONNS:-4} messages=${MESSAGES:-60} max_size=${MAX_SIZE:-16384} seed=${SEED:-1} limit=${LIMIT:-90}

wine=${CIO_WINE:-}
if [[ -z $wine ]]; then
    for w in wine64 /usr/lib/wine/wine64 wine; do
        if command -v "$w" >/dev/null 2>&1; then wine=$w; break; fi
    done
fi
[[ -n $wine ]] || { echo "win_echo: wine64 not found"; exit 1; }
command -v python3 >/dev/null 2>&1 || { echo "win_echo: python3 not found"; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/cio-win-echo.XXXXXX")
server_pid=""
cleanup() {
    if [[ -n $server_pid ]]; then kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; fi
    rm -rf "$work"
}
trap cleanup EXIT

# serve <name> <exe> <args...>: one server, one client run against it.
serve() {
    local name=$1 exe=$2 out=$work/$1.out port="" rc t0=$SECONDS
    shift 2
    echo "-- $name: $exe $* (under Wine), $conns connections x $messages messages of 1..$max_size bytes"
    [[ -f $exe ]] || { echo "$name: $exe not built"; return 1; }
    : >"$out" # there before the server's shell opens it, for the grep below
    # The server's own bound; it exits by itself once its clients are done.
    timeout -k 5 "$limit" "$wine" "$exe" "$@" >"$out" 2>&1 </dev/null &
    server_pid=$!
    for ((i = 0; i < 600; i++)); do # up to 60 s: a cold Wine start takes seconds
        port=$(grep -o -m1 '127\.0\.0\.1:[0-9]*' "$out" | cut -d: -f2)
        [[ -n $port ]] && break
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.1
    done
    if [[ -z $port ]]; then
        echo "$name: the server printed no port:"
        sed 's/^/    /' "$out"
        kill "$server_pid" 2>/dev/null
        wait "$server_pid" 2>/dev/null
        server_pid=""
        return 1
    fi
    local client_rc=0
    python3 "$here/echo_check.py" "$port" --conns "$conns" --messages "$messages" --max-size "$max_size" \
        --seed "$seed" --timeout "$((limit - (SECONDS - t0) > 10 ? limit - (SECONDS - t0) - 5 : 5))" ||
        client_rc=$?
    if ((client_rc != 0)); then kill "$server_pid" 2>/dev/null; fi
    wait "$server_pid"
    rc=$?
    server_pid=""
    sed 's/^/    server: /' "$out"
    if ((client_rc != 0 || rc != 0)); then
        echo "$name: FAILED (client $client_rc, server exit $rc$( ((rc == 124)) && echo ": timed out"))"
        return 1
    fi
    echo "$name: ok ($((SECONDS - t0)) s)"
}

status=0
serve tcp_echo "$build/examples/tcp_echo.exe" 0 "$conns" || status=1
serve task_echo "$build/examples/task_echo.exe" 0 "$conns" || status=1
exit $status
