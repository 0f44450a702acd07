#!/usr/bin/env bash
# bench/echo.sh - short echo round trips over TCP loopback: cio's echo
# server on each backend, written with callbacks (bench/echo_cio.c) and
# with tasks (bench/echo_task.c), against a raw epoll server
# (bench/echo_epoll.c, the limit) and a libuv server (bench/echo_uv.c, when
# built), all driven by the same client (bench/echo_client.c).
#
# The client keeps one MSG-byte message in flight on each of C connections
# and counts ROUND_TRIPS replies; the server and the client run as separate
# processes pinned to different CPUs. For each connection count the
# servers run in turn (cio-io_uring, cio-task-io_uring, cio-epoll,
# cio-task-epoll, ..., epoll-raw, libuv, cio-io_uring, ...), RUNS times
# each, so that drift in the machine's speed hits all alike. The result is
# each server's median round trips per second, the ratio of each cio
# server's median to the raw epoll server's and to libuv's, that of each
# task server to the callback server on the same backend (the goal: within
# 5 percent, at least 0.95), and how often each server entered the kernel
# to wait per round trip. Loopback round trips on a shared VM drift widely
# (several times over with one connection, where every round trip wakes a
# process on each CPU), so the median of the ratios of the runs taken side
# by side in each turn is reported too ("paired", against the raw epoll
# server, and task against callback).
#
# Environment: BUILD_DIR (default build-bench), RUNS (5), ROUND_TRIPS
# (200000), CONNS ("1 32"), MSG (64), SERVER_CPU (1), CLIENT_CPU (0),
# TIMEOUT (300 s for one run).
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

RUNS=${RUNS:-5}
ROUND_TRIPS=${ROUND_TRIPS:-200000}
CONNS=${CONNS:-1 32}
MSG=${MSG:-64}
TIMEOUT=${TIMEOUT:-300}
if (($(nproc) >= 2)); then
    SERVER_CPU=${SERVER_CPU:-1} CLIENT_CPU=${CLIENT_CPU:-0}
else # one CPU: the two processes share it, and the numbers say little
    SERVER_CPU=${SERVER_CPU:-0} CLIENT_CPU=${CLIENT_CPU:-0}
fi

client_bin=$(bench_bin echo_client)
cio_bin=$(bench_bin echo_cio)
task_bin=$(bench_bin echo_task)
epoll_bin=$(bench_bin echo_epoll)
backends=(io_uring epoll poll)
TASK_GOAL=0.95
cio_impls=()
for b in "${backends[@]}"; do cio_impls+=("cio-$b" "cio-task-$b"); done
impls=("${cio_impls[@]}" epoll-raw)
if bench_has echo_uv; then
    uv_bin=$(bench_bin echo_uv)
    impls+=(libuv)
else
    echo "echo: no libuv anchor: bench/echo_uv is not built (install libuv1-dev and reconfigure)"
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# server_cmd IMPL: the command line of that server, less its CONNS.
server_cmd() {
    case $1 in
    # The backend is named on echo_cio's (echo_task's) command line;
    # CIO_BACKEND would override it (and the server would refuse to run),
    # so it is unset.
    cio-task-*) echo env -u CIO_BACKEND "$task_bin" "${1#cio-task-}" ;;
    cio-*) echo env -u CIO_BACKEND "$cio_bin" "${1#cio-}" ;;
    epoll-raw) echo "$epoll_bin" ;;
    libuv) echo "$uv_bin" ;;
    *) die "unknown server $1" ;;
    esac
}

# one_run IMPL CONNS: one server process, one client run against it.
# Prints "ROUND_TRIPS_PER_S ENTERS_PER_ROUND_TRIP".
one_run() {
    local -a cmd
    read -r -a cmd <<<"$(server_cmd "$1")"
    echo_one_run "$1" "$2" "${cmd[@]}"
}

rows=()
fmt='%-6s %-18s %10s %19s %9s %11s %7s %7s %10s %7s\n'
# shellcheck disable=SC2059 # the format is ours
printf "$fmt" conns server rt/s "(min..max)" waits/rt "/epoll-raw" paired "/libuv" "/callback" paired
for conns in $CONNS; do
    declare -A rts=() waits=() pairs=() tpairs=() med=() this=()
    for ((i = 0; i < RUNS; i++)); do
        for impl in "${impls[@]}"; do
            res=$(one_run "$impl" "$conns") # a failed run ends the script here
            read -r rt w <<<"$res"
            rts[$impl]+=" $rt"
            waits[$impl]+=" $w"
            this[$impl]=$rt
        done
        for impl in "${cio_impls[@]}"; do
            pairs[$impl]+=" $(ratio "${this[$impl]}" "${this[epoll-raw]}")"
        done
        for b in "${backends[@]}"; do
            tpairs[$b]+=" $(ratio "${this[cio-task-$b]}" "${this[cio-$b]}")"
        done
    done
    for impl in "${impls[@]}"; do
        # shellcheck disable=SC2086 # the lists are space-separated numbers
        med[$impl]=$(median ${rts[$impl]})
    done
    scenario="echo_c$conns"
    for impl in "${impls[@]}"; do
        # shellcheck disable=SC2086
        range="$(min ${rts[$impl]})..$(max ${rts[$impl]})"
        # shellcheck disable=SC2086
        w=$(ratio "$(median ${waits[$impl]})" 1)
        vs_raw=- paired=- vs_uv=- vs_cb=- tpaired=-
        csv_row "$scenario" "$impl" rtt_per_s "${med[$impl]}" rt/s
        csv_row "$scenario" "$impl" enters_per_rt "$w" enters/rt
        if [[ " ${cio_impls[*]} " == *" $impl "* ]]; then
            vs_raw=$(ratio "${med[$impl]}" "${med[epoll-raw]}")
            # shellcheck disable=SC2086
            paired=$(ratio "$(median ${pairs[$impl]})" 1)
            csv_row "$scenario" "$impl/epoll-raw" ratio "$vs_raw" x
            csv_row "$scenario" "$impl/epoll-raw" ratio_paired "$paired" x
            if [[ -n ${med[libuv]:-} ]]; then
                vs_uv=$(ratio "${med[$impl]}" "${med[libuv]}")
                csv_row "$scenario" "$impl/libuv" ratio "$vs_uv" x
            fi
        fi
        if [[ $impl == cio-task-* ]]; then
            cb=cio-${impl#cio-task-}
            vs_cb=$(ratio "${med[$impl]}" "${med[$cb]}")
            # shellcheck disable=SC2086
            tpaired=$(ratio "$(median ${tpairs[${impl#cio-task-}]})" 1)
            csv_row "$scenario" "$impl/$cb" ratio "$vs_cb" x
            csv_row "$scenario" "$impl/$cb" ratio_paired "$tpaired" x
        fi
        # shellcheck disable=SC2059
        printf "$fmt" "$conns" "$impl" "${med[$impl]}" "($range)" "$w" "$vs_raw" "$paired" "$vs_uv" "$vs_cb" \
            "$tpaired"
        rows+=("| $conns | $impl | ${med[$impl]} | $range | $w | $vs_raw | $paired | $vs_uv | $vs_cb | $tpaired |")
    done
    unset rts waits pairs tpairs med this
done

uv_note="libuv's server (\`bench/echo_uv.c\`, libuv $(pkg-config --modversion libuv 2>/dev/null || echo '?'))"
bench_has echo_uv || uv_note="no libuv server (libuv was not installed when this ran)"
md_section echo <<MD
## echo: short round trips over TCP loopback

A client (\`bench/echo_client.c\`) keeps one $MSG-byte message in flight on
each of \`conns\` connections: it sends the message, waits until all of it
has come back, checks it and sends the next. The servers echo every byte:
cio's on each backend, written with callbacks (\`cio-*\`,
\`bench/echo_cio.c\`: one struct per connection embedding its receive and
send ops) and with tasks (\`cio-task-*\`, \`bench/echo_task.c\`: an accept
task spawning one task per connection that loops \`cio_recv\` and
\`cio_send\` on a buffer on its stack), a raw epoll
server (\`bench/echo_epoll.c\`: level-triggered, one \`recv\` and one \`send\`
per event; the limit) and $uv_note.
Server and client are separate processes pinned to different CPUs, so
with one connection the number is a latency (both sides' work adds up),
with many a throughput (the slower side sets it).

- Date: $(date -u '+%Y-%m-%d %H:%M UTC')
- Machine: $(machine_desc)
- Settings: median of $RUNS runs per server, taken in turn; $ROUND_TRIPS round trips per run;
  server on CPU $SERVER_CPU, client on CPU $CLIENT_CPU

\`/epoll-raw\` and \`/libuv\` are the ratios of the medians; \`paired\` is
the median of the ratios to the raw epoll server of the runs taken side by
side, steadier when the machine's speed drifts. With one connection every
round trip wakes a process on each CPU, and on a shared VM that wake-up
dominates and drifts several times over between runs (see min..max):
read those rows through \`paired\`.

\`/callback\` is the ratio of a task server's median to that of the
callback server on the same backend, and the \`paired\` after it the
median of the ratios of their runs taken side by side. Goal: the task
server within 5 percent of the callback server (at least $TASK_GOAL). The
callback server keeps a receive posted while it sends (two buffers); a
task does one thing at a time, so on io_uring its send and its next
receive go to the kernel in separate submissions.

\`waits/rt\` is how often the server entered the kernel to wait
(\`io_uring_enter\`, \`epoll_wait\`, \`poll\`) per round trip. On io_uring that
is every system call the server makes; with one connection it is two, as
the send completes within the enter that submits it, which then returns
with it, and a second enter waits for the next message. The readiness
servers make their \`recv\`, \`send\` (and cio's \`epoll_ctl\`) calls on top.

| conns | server | rt/s | min..max | waits/rt | /epoll-raw | paired | /libuv | /callback | paired |
|------:|:-------|-----:|---------:|---------:|-----------:|-------:|-------:|----------:|-------:|
$(printf '%s\n' "${rows[@]}")
MD
echo "results appended to $RESULTS_CSV; table written to $BENCH_MD"
