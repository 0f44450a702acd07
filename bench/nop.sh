#!/usr/bin/env bash
# bench/nop.sh - no-op throughput: cio's loop against a hand-written liburing
# loop doing the same work (bench/nop_cio.c, bench/nop_uring.c), and cio's
# loop on its readiness backends (epoll, poll) for reference.
#
# For each batch size the programs run alternately (cio, liburing, cio on
# epoll, cio on poll, cio, ...), so that drift in the machine's speed hits
# all alike, pinned to one CPU, since all are single-threaded and
# migrations only add noise. The result is the median ops/s of each and the
# ratio of the medians cio/liburing, both on io_uring; the goal (issue 12)
# is a ratio of at least 0.95. On a machine whose speed drifts within
# seconds (a shared VM), the median of the ratios of each back-to-back pair
# is steadier, so it is reported too ("paired").
#
# On epoll and poll a no-op never reaches the kernel (the core completes it
# in user space; the loop makes one non-blocking epoll_wait/poll per turn),
# so those numbers are higher and have no anchor: they show the core's own
# cost per op, not a kernel round trip.
#
# Environment: BUILD_DIR (default build-bench), RUNS (5), OPS (10000000),
# BATCHES ("1 16 128"), CPU (the last one).
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

RUNS=${RUNS:-5}
OPS=${OPS:-10000000}
BATCHES=${BATCHES:-1 16 128}
CPU=${CPU:-$(($(nproc) - 1))}
GOAL=0.95

if ! bench_has nop_uring; then
    echo "nop: skipped: bench/nop_uring is not built (liburing missing)"
    exit 0
fi
cio_bin=$(bench_bin nop_cio)
raw_bin=$(bench_bin nop_uring)

# one_run BIN BATCH [BACKEND]: runs one binary once, pinned, and prints its
# ops/s and its ops per CPU second (0 from a program that does not say). The backend is named on nop_cio's command line; CIO_BACKEND would
# override it (and nop_cio would refuse to run), so it is unset.
one_run() {
    local line cmd=("$1" "$2" "$OPS" "${@:3}")
    line=$(env -u CIO_BACKEND taskset -c "$CPU" "${cmd[@]}") || die "${cmd[*]} failed"
    echo "$(field "$line" ops_per_s) $(field_or "$line" ops_per_cpu_s 0)"
}

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
loads=()
rows=()
fmt='%-6s %12s %23s %12s %23s %7s %7s %12s %12s %7s %12s %12s\n'
# shellcheck disable=SC2059 # the format is ours
printf "$fmt" batch cio_ops/s "(min..max)" liburing "(min..max)" ratio paired cio/cpu-s liburing/cpu-s paired \
    cio-epoll cio-poll
cpu_rows=()
for batch in $BATCHES; do
    cio=() raw=() pairs=() ep=() pl=() ccpu=() rcpu=() cpairs=()
    for ((i = 0; i < RUNS; i++)); do
        loads+=("$(cut -d' ' -f1 /proc/loadavg)")
        read -r c cc <<<"$(one_run "$cio_bin" "$batch" io_uring)"
        read -r l lc <<<"$(one_run "$raw_bin" "$batch")"
        cio+=("$c") raw+=("$l") ccpu+=("$cc") rcpu+=("$lc")
        pairs+=("$(ratio "$c" "$l")")
        cpairs+=("$(ratio "$cc" "$lc")")
        read -r e _ <<<"$(one_run "$cio_bin" "$batch" epoll)"
        read -r p _ <<<"$(one_run "$cio_bin" "$batch" poll)"
        ep+=("$e") pl+=("$p")
    done
    ccpu_med=$(median "${ccpu[@]}") rcpu_med=$(median "${rcpu[@]}")
    cpaired=$(ratio "$(median "${cpairs[@]}")" 1)
    cio_med=$(median "${cio[@]}")
    raw_med=$(median "${raw[@]}")
    ep_med=$(median "${ep[@]}")
    pl_med=$(median "${pl[@]}")
    r=$(ratio "$cio_med" "$raw_med")
    paired=$(ratio "$(median "${pairs[@]}")" 1)
    cio_range="$(min "${cio[@]}")..$(max "${cio[@]}")"
    raw_range="$(min "${raw[@]}")..$(max "${raw[@]}")"
    # shellcheck disable=SC2059
    printf "$fmt" "$batch" "$cio_med" "($cio_range)" "$raw_med" "($raw_range)" "$r" "$paired" "$ccpu_med" \
        "$rcpu_med" "$cpaired" "$ep_med" "$pl_med"

    # "cio" is cio on io_uring, the name earlier runs used for it.
    csv_row "nop_b$batch" cio ops_per_s "$cio_med" ops/s
    csv_row "nop_b$batch" liburing ops_per_s "$raw_med" ops/s
    csv_row "nop_b$batch" cio/liburing ratio "$r" x
    csv_row "nop_b$batch" cio/liburing ratio_paired "$paired" x
    csv_row "nop_b$batch" cio ops_per_cpu_s "$ccpu_med" ops/cpu-s
    csv_row "nop_b$batch" liburing ops_per_cpu_s "$rcpu_med" ops/cpu-s
    csv_row "nop_b$batch" cio/liburing cpu_ratio_paired "$cpaired" x
    csv_row "nop_b$batch" cio-epoll ops_per_s "$ep_med" ops/s
    csv_row "nop_b$batch" cio-poll ops_per_s "$pl_med" ops/s
    meets=$(awk -v r="$paired" -v g="$GOAL" 'BEGIN { print (r >= g) ? "yes" : "no" }')
    cmeets=$(awk -v r="$cpaired" -v g="$GOAL" 'BEGIN { print (r >= g) ? "yes" : "no" }')
    rows+=("| $batch | $cio_med | $cio_range | $raw_med | $raw_range | $r | $paired | $meets | $ep_med | $pl_med |")
    cpu_rows+=("| $batch | $ccpu_med | $(min "${ccpu[@]}")..$(max "${ccpu[@]}") | $rcpu_med | $(min "${rcpu[@]}")..$(max "${rcpu[@]}") | $cpaired | $cmeets |")
done

md_section nop <<MD
## nop: no-op throughput

No-ops kept in flight \`batch\` at a time, each completion running a
callback that resubmits its op, through cio's loop (\`bench/nop_cio.c\`) and
through a hand-written liburing loop with the same ring setup
(\`bench/nop_uring.c\`). It measures the runtime's own cost per op. Goal:
cio at least $GOAL of liburing's ops/s.

The same program also runs on cio's readiness backends (\`cio-epoll\`,
\`cio-poll\`). There a no-op never reaches the kernel: the core completes
it in user space, and the loop makes one non-blocking \`epoll_wait\`/\`poll\`
per turn (per batch), not one per op. Those numbers are therefore expected
to be higher than io_uring's; they show the core's own cost per op and
have no anchor.

- Date: $(date -u '+%Y-%m-%d %H:%M UTC')
- Machine: $(machine_desc)
- Settings: median of $RUNS alternating runs each, $OPS ops per run, pinned to CPU $CPU
- Load average (1, 5, 15 min): $load_start at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end;
  1-minute load at each round's start: ${loads[*]} (above 1 on 2 CPUs, other work ran meanwhile;
  the paired ratio is then the number to read)

\`cio/liburing\` is the ratio of the medians; \`paired\` is the median of
the ratios of each back-to-back pair of runs, steadier when the machine's
speed drifts between runs; the goal is judged on it.

| batch | cio (io_uring) ops/s | cio min..max | liburing ops/s | liburing min..max | cio/liburing | paired | ≥ $GOAL | cio-epoll ops/s | cio-poll ops/s |
|------:|----------:|-------------:|---------------:|------------------:|-------------:|-------:|:-------:|----------------:|---------------:|
$(printf '%s\n' "${rows[@]}")

The same runs counted in ops per CPU second (the process's CPU time,
\`CLOCK_PROCESS_CPUTIME_ID\`, over the same span): both loops are
single-threaded and never sleep (a no-op completes inside the
\`io_uring_enter\` that submits it), so on a quiet machine this equals ops
per second, and on a busy one it leaves out the time the process waited
for its CPU. \`paired\` as above.

| batch | cio ops/cpu-s | min..max | liburing ops/cpu-s | min..max | paired | ≥ $GOAL |
|------:|--------------:|---------:|-------------------:|---------:|-------:|:-------:|
$(printf '%s\n' "${cpu_rows[@]}")
MD
echo "results appended to $RESULTS_CSV; table written to $BENCH_MD"
