#!/usr/bin/env bash
# bench/cq.sh - does the completion queue overflow? The io_uring echo
# servers of bench/echo.sh at CONNS connections (100, 1,000 and 10,000),
# each under `perf stat` counting the kernel's tracepoints
# io_uring:io_uring_cqe_overflow (a CQE that found the CQ full and went to
# the kernel's overflow list, or was dropped) and io_uring:io_uring_complete
# (every CQE posted), over the server's whole life (accepts, the warm-up
# and ROUND_TRIPS round trips of MSG bytes). The sizes of the server's
# rings are read from /proc/PID/fdinfo of its io_uring file (SqMask and
# CqMask + 1) while it runs. An overflow costs the flush of the list (cio
# counts those flushes in cio_stats.cq_overflows) but loses nothing
# (IORING_FEAT_NODROP); the count says whether the CQ is big enough.
#
# Environment: BUILD_DIR (default build-bench), CONNS ("100 1000 10000"),
# ROUND_TRIPS (200000), MSG (64), RUNS (3), SERVERS, SERVER_CPU (1),
# CLIENT_CPU (0), TIMEOUT (300 s).
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

CONNS=${CONNS:-100 1000 10000}
ROUND_TRIPS=${ROUND_TRIPS:-200000}
MSG=${MSG:-64}
RUNS=${RUNS:-3}
TIMEOUT=${TIMEOUT:-300}
if (($(nproc) >= 2)); then
    SERVER_CPU=${SERVER_CPU:-1} CLIENT_CPU=${CLIENT_CPU:-0}
else
    SERVER_CPU=${SERVER_CPU:-0} CLIENT_CPU=${CLIENT_CPU:-0}
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
client_bin=$(bench_bin echo_client)
events=io_uring:io_uring_cqe_overflow,io_uring:io_uring_complete
if ! command -v perf >/dev/null || ! perf stat -x, -o /dev/null -e "$events" -- true 2>/dev/null; then
    echo "cq: skipped: perf cannot count the io_uring tracepoints here (linux-perf, tracefs, perf_event_paranoid)"
    exit 0
fi
hard=$(ulimit -Hn)
ulimit -n "$hard"

impls=()
for impl in ${SERVERS:-cio-io_uring cio-task-io_uring cio-ms-io_uring uring-naive uring-multishot}; do
    if bench_has "$(echo_server_bin "$impl")"; then impls+=("$impl"); else echo "cq: $impl skipped: not built"; fi
done

# ring_sizes PID: "SQ CQ" entries of the process's first io_uring file.
ring_sizes() {
    local fd info sq cq
    for fd in /proc/"$1"/fd/*; do
        [[ $(readlink "$fd" 2>/dev/null) == "anon_inode:[io_uring]" ]] || continue
        info=/proc/$1/fdinfo/${fd##*/}
        sq=$(awk '$1 == "SqMask:" { print $2 }' "$info") cq=$(awk '$1 == "CqMask:" { print $2 }' "$info")
        [[ -n $sq && -n $cq ]] || break
        echo "$((sq + 1)) $((cq + 1))" # the masks are hex (0x...)
        return 0
    done
    echo "? ?"
}

# one_run IMPL CONNS: prints "OVERFLOWS COMPLETIONS SQ CQ FLUSHES" (FLUSHES:
# the server's cq_overflows, "-" for the raw liburing servers).
one_run() {
    local impl=$1 conns=$2 out=$tmp/server.out pout=$tmp/perf.out spid pid sizes line sline
    local -a cmd
    read -r -a cmd <<<"$(echo_server_cmd "$impl")"
    : >"$out"
    timeout -k 5 "$TIMEOUT" perf stat -x, -o "$pout" -e "$events" -- taskset -c "$SERVER_CPU" "${cmd[@]}" \
        "$conns" >"$out" 2>"$tmp/perf.err" &
    spid=$!
    echo_wait_port "$impl" "$spid" "$out"
    sleep 0.2 # the ring is set up right after the port is printed
    # timeout's child is perf, whose child is the server (taskset and env exec it).
    pid=$(pgrep -P "$(pgrep -P "$spid" | head -n1)" | head -n1) || true
    sizes=$([[ -n $pid ]] && ring_sizes "$pid" || echo "? ?")
    line=$(timeout "$TIMEOUT" taskset -c "$CLIENT_CPU" "$client_bin" "$ECHO_PORT" "$conns" "$ROUND_TRIPS" "$MSG") ||
        { kill "$spid" 2>/dev/null || true; wait "$spid" || true; die "$impl: the client failed with $conns connections"; }
    wait "$spid" || { cat "$tmp/perf.err" >&2; die "$impl: the server failed"; }
    awk -F, '$3 ~ /cqe_overflow/ { o = $1 } $3 ~ /io_uring_complete/ { c = $1 }
        END { printf "%d %d ", o, c }' "$pout"
    sline=$(grep '^bench=echo-server' "$out") || die "$impl: no result line from the server"
    echo "$sizes $(field_or "$sline" cq_overflows -)"
}

rows=()
fmt='%-6s %-18s %7s %7s %12s %14s %10s %8s\n'
# shellcheck disable=SC2059 # the format is ours
printf "$fmt" conns server sq cq overflows "(min..max)" completions flushes
for conns in $CONNS; do
    for impl in "${impls[@]}"; do
        ov=() co=() fl=() sq='?' cq='?'
        for ((i = 0; i < RUNS; i++)); do
            read -r o c sq cq f <<<"$(one_run "$impl" "$conns")"
            ov+=("$o") co+=("$c") fl+=("$f")
        done
        mo=$(median "${ov[@]}") mc=$(median "${co[@]}")
        mf=-
        [[ ${fl[0]} == - ]] || mf=$(median "${fl[@]}")
        csv_row "cq_c$conns" "$impl" cqe_overflows "$mo" cqes
        csv_row "cq_c$conns" "$impl" cqes "$mc" cqes
        # shellcheck disable=SC2059
        printf "$fmt" "$conns" "$impl" "$sq" "$cq" "$mo" "($(min "${ov[@]}")..$(max "${ov[@]}"))" "$mc" "$mf"
        rows+=("| $conns | $impl | $sq | $cq | $mo | $(min "${ov[@]}")..$(max "${ov[@]}") | $mc | $mf |")
    done
done

md_section cq <<MD
## cq: completion queue overflows in the echo server

The io_uring echo servers of the echo scenario under \`perf stat\`, counting
the kernel's tracepoints \`io_uring:io_uring_cqe_overflow\` (a completion
that found the CQ full and was put on the kernel's overflow list) and
\`io_uring:io_uring_complete\` (every completion posted), over the server's
whole run: accepting \`conns\` connections, one warm-up round trip on each,
then $ROUND_TRIPS round trips of $MSG bytes with one message in flight per
connection. \`sq\` and \`cq\` are the ring's sizes, read from
\`/proc/PID/fdinfo\` of the server's io_uring file while it ran. An
overflow loses nothing (IORING_FEAT_NODROP: the kernel keeps the
completion and cio flushes the list when the flag says so, counted in
\`cio_stats.cq_overflows\`, shown as \`flushes\`: the turns that found
the kernel's overflow flag set), but costs a system call and an
allocation in the kernel per completion; none is the goal.

- Date: $(date -u '+%Y-%m-%d %H:%M UTC')
- Machine: $(machine_desc)
- cio: $(git -C "$BENCH_ROOT" describe --always --dirty 2>/dev/null || echo unknown)
- Settings: median of $RUNS runs; server on CPU $SERVER_CPU, client on CPU $CLIENT_CPU
- One command: \`bench/run.sh cq\`

| conns | server | sq | cq | CQE overflows | min..max | CQEs | flushes |
|------:|:-------|---:|---:|--------------:|---------:|-----:|--------:|
$(printf '%s\n' "${rows[@]}")
MD
echo "results appended to $RESULTS_CSV; table written to $BENCH_MD"
