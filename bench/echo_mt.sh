#!/usr/bin/env bash
# bench/echo_mt.sh - the echo server on 1 and 2 worker threads: cio's
# thread-per-core runtime (bench/echo_rt.c) against tokio's multi-threaded
# runtime and a raw multi-threaded liburing server (bench/echo_uring.c with
# ECHO_THREADS), driven by the same client as bench/echo.sh
# (bench/echo_client.c: one process, one thread, one MSG-byte message in
# flight per connection).
#
#   bench/echo_mt.sh           the full run (about 5 minutes on 2 CPUs)
#   bench/echo_mt.sh --quick   every server once, short; results to a scratch directory
#
# Servers: cio-rtN (N workers, each pinned to a CPU of the mask, SO_REUSEPORT
# listeners, a task per connection), uring-mtN (N threads with a ring and a
# SO_REUSEPORT listener each, pinned likewise), tokio-mtN (tokio's
# work-stealing runtime with N workers, not pinned: tokio offers no pinning).
#
# Placement: with one worker the server runs on CPU SERVER_CPU (1) and the
# client on CLIENT_CPU (0), as in bench/echo.sh; with two workers the server
# may use CPUs MT_SERVER_CPUS ("0,1") and the client stays on CLIENT_CPU:
# this machine has two CPUs, so the client shares one with a worker. There
# the workers are not pinned (MT_PIN=0, ECHO_PIN for the servers): a worker
# pinned to the client's CPU would get half of it whatever the load, where
# the scheduler moves an unpinned one. The scaling factor (round trips per
# second with 2 workers over 1, paired per round) is therefore a floor on
# what a machine with a free CPU for the client shows; server CPU time per
# round trip is the steadier figure.
#
# Environment: BUILD_DIR (build-bench), RUNS (5), ROUND_TRIPS (200000), CONNS
# ("100 1000"), MSG (64), WORKERS ("1 2"), TIMEOUT (300), SERVER_CPU (1),
# CLIENT_CPU (0), MT_SERVER_CPUS ("0,1"), MT_PIN (0: two workers unpinned).
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [[ ${1:-} == --quick ]]; then
    RUNS=${RUNS:-1} ROUND_TRIPS=${ROUND_TRIPS:-20000}
    RESULTS_CSV=$tmp/results.csv BENCH_MD=$tmp/BENCHMARKS.md
elif [[ -n ${1:-} ]]; then
    die "usage: $0 [--quick]"
fi
RUNS=${RUNS:-5}
ROUND_TRIPS=${ROUND_TRIPS:-200000}
CONNS=${CONNS:-100 1000}
MSG=${MSG:-64}
WORKERS=${WORKERS:-1 2}
TIMEOUT=${TIMEOUT:-300}
SERVER_CPU1=${SERVER_CPU:-1}
CLIENT_CPU=${CLIENT_CPU:-0}
MT_SERVER_CPUS=${MT_SERVER_CPUS:-0,1}
MT_PIN=${MT_PIN:-0}
export MSG

client_bin=$(bench_bin echo_client)
for b in echo_rt echo_uring echo_tokio; do bench_has "$b" || echo "echo_mt: $b is not built; its server is skipped"; done

# server_cmd IMPL WORKERS: the command line, less CONNS.
server_cmd() {
    case $1 in
    cio-rt) echo env -u CIO_BACKEND "$BUILD_DIR/bench/echo_rt" "$2" ;;
    uring-mt) echo env ECHO_THREADS="$2" "$BUILD_DIR/bench/echo_uring" ;;
    tokio-mt) echo env ECHO_TOKIO_THREADS="$2" "$BUILD_DIR/bench/echo_tokio" ;;
    esac
}
impls=()
for impl in cio-rt uring-mt tokio-mt; do
    case $impl in
    cio-rt) bench_has echo_rt && impls+=("$impl") ;;
    uring-mt) bench_has echo_uring && impls+=("$impl") ;;
    tokio-mt) bench_has echo_tokio && impls+=("$impl") ;;
    esac
done
((${#impls[@]} > 0)) || die "no server is built"

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
date_start=$(date -u '+%Y-%m-%d %H:%M UTC')
rows=() ratio_rows=()
fmt='%-6s %-10s %9s %17s %8s %15s\n'
# shellcheck disable=SC2059
printf "$fmt" conns server rt/s "(min..max)" "cpu ns" "(min..max)"
for conns in $CONNS; do
    declare -A rts=() cpus=() pair=() this=()
    for ((i = 0; i < RUNS; i++)); do
        echo "echo_mt: $conns connections, round $((i + 1)) of $RUNS ($(date -u +%H:%M:%S))" >&2
        for n in $WORKERS; do
            if ((n == 1)); then SERVER_CPU=$SERVER_CPU1 ECHO_PIN=1; else SERVER_CPU=$MT_SERVER_CPUS ECHO_PIN=$MT_PIN; fi
            export ECHO_PIN
            for impl in "${impls[@]}"; do
                read -r -a cmd <<<"$(server_cmd "$impl" "$n")"
                res=$(echo_one_run "$impl$n" "$conns" "${cmd[@]}")
                read -r rt _ cpu _ <<<"$res"
                rts[$impl$n]+=" $rt" cpus[$impl$n]+=" $cpu" this[$impl$n]=$rt
            done
        done
        # Paired per round: each server's scaling, and cio against each anchor at each worker count.
        for impl in "${impls[@]}"; do
            [[ -n ${this[${impl}1]:-} && -n ${this[${impl}2]:-} ]] &&
                pair[scale/$impl]+=" $(ratio "${this[${impl}2]}" "${this[${impl}1]}")"
        done
        for n in $WORKERS; do
            for anchor in uring-mt tokio-mt; do
                [[ -n ${this[cio-rt$n]:-} && -n ${this[$anchor$n]:-} ]] &&
                    pair[cio-rt$n/$anchor$n]+=" $(ratio "${this[cio-rt$n]}" "${this[$anchor$n]}")"
            done
        done
    done
    scenario="echo_mt_m${MSG}_c$conns"
    for n in $WORKERS; do
        for impl in "${impls[@]}"; do
            k=$impl$n
            # shellcheck disable=SC2086
            {
                mrt=$(median ${rts[$k]}) mcpu=$(median ${cpus[$k]})
                rr="$(min ${rts[$k]})..$(max ${rts[$k]})" cr="$(min ${cpus[$k]})..$(max ${cpus[$k]})"
            }
            csv_row "$scenario" "$k" rtt_per_s "$mrt" rt/s
            csv_row "$scenario" "$k" server_cpu_ns_per_rt "$mcpu" ns/rt
            # shellcheck disable=SC2059
            printf "$fmt" "$conns" "$k" "$mrt" "($rr)" "$mcpu" "($cr)"
            rows+=("| $conns | $k | $mrt | $rr | $mcpu | $cr |")
        done
    done
    for key in "${!pair[@]}"; do
        # shellcheck disable=SC2086
        m=$(ratio "$(median ${pair[$key]})" 1)
        csv_row "$scenario" "$key" ratio_paired "$m" x
        printf '      %-6s %-24s paired rt/s ratio %s\n' "$conns" "$key" "$m"
        ratio_rows+=("| $conns | $key | $m |")
    done
    unset rts cpus pair this
done
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

{
    echo "## Echo on 1 and 2 worker threads ($date_start)"
    echo
    echo "\`bench/echo_mt.sh\`: $(machine_desc); load average $load_start at the start, $load_end at the end."
    echo "$MSG-byte messages, $ROUND_TRIPS round trips per run, medians of $RUNS rounds (min..max). One worker:"
    echo "server on CPU $SERVER_CPU1, client on CPU $CLIENT_CPU. Two workers: server on CPUs $MT_SERVER_CPUS, client"
    echo "still on CPU $CLIENT_CPU, sharing it with a worker (two CPUs in all), and the workers are pinned only if"
    echo "MT_PIN=1 (here: $MT_PIN). \`cio-rtN\`: \`bench/echo_rt.c\` on \`cio/runtime.h\` (N workers, SO_REUSEPORT, a task"
    echo "per connection); \`uring-mtN\`: raw liburing, N threads each with a ring and a SO_REUSEPORT listener"
    echo "(\`bench/echo_uring.c\`, ECHO_THREADS; with one thread it is the naive server of \`bench/echo.sh\`);"
    echo "\`tokio-mtN\`: tokio's multi-threaded runtime with N workers (\`bench/echo_tokio\`, ECHO_TOKIO_THREADS)."
    echo
    echo "| conns | server | rt/s | (min..max) | server CPU ns/rt | (min..max) |"
    echo "|---|---|---|---|---|---|"
    printf '%s\n' "${rows[@]}"
    echo
    echo "Paired ratios of round trips per second (median over the rounds of the ratio of runs taken side by side):"
    echo "\`scale/X\` is X on 2 workers over X on 1 (the scaling factor); \`cio-rtN/Y\` is cio against anchor Y."
    echo
    echo "| conns | pair | rt/s ratio |"
    echo "|---|---|---|"
    printf '%s\n' "${ratio_rows[@]}" | sort
} | md_section echo_mt
echo "echo_mt: table in $BENCH_MD, rows appended to $RESULTS_CSV"
