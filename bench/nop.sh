#!/usr/bin/env bash
# bench/nop.sh - no-op throughput: cio's loop against a hand-written liburing
# loop doing the same work (bench/nop_cio.c, bench/nop_uring.c).
#
# For each batch size the two programs run alternately (cio, liburing, cio,
# ...), so that drift in the machine's speed hits both alike, pinned to one
# CPU, since both are single-threaded and migrations only add noise. The
# result is the median ops/s of each and the ratio of the medians
# cio/liburing; the goal is a ratio of at least 0.90. On a machine whose
# speed drifts within seconds (a shared VM), the median of the ratios of
# each back-to-back pair is steadier, so it is reported too ("paired").
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
GOAL=0.90

cio_bin=$(bench_bin nop_cio)
raw_bin=$(bench_bin nop_uring)

# Runs one binary once, pinned, and prints its ops/s.
one_run() {
    local line
    line=$(taskset -c "$CPU" "$1" "$2" "$OPS") || die "$1 $2 $OPS failed"
    field "$line" ops_per_s
}

# min N..., max N...: the smallest, the largest of the numbers given.
min() { printf '%s\n' "$@" | sort -g | head -n1; }
max() { printf '%s\n' "$@" | sort -g | tail -n1; }

rows=()
fmt='%-6s %12s %23s %12s %23s %7s %7s\n'
# shellcheck disable=SC2059 # the format is ours
printf "$fmt" batch cio_ops/s "(min..max)" liburing "(min..max)" ratio paired
for batch in $BATCHES; do
    cio=() raw=() pairs=()
    for ((i = 0; i < RUNS; i++)); do
        c=$(one_run "$cio_bin" "$batch")
        l=$(one_run "$raw_bin" "$batch")
        cio+=("$c") raw+=("$l")
        pairs+=("$(ratio "$c" "$l")")
    done
    cio_med=$(median "${cio[@]}")
    raw_med=$(median "${raw[@]}")
    r=$(ratio "$cio_med" "$raw_med")
    paired=$(ratio "$(median "${pairs[@]}")" 1)
    cio_range="$(min "${cio[@]}")..$(max "${cio[@]}")"
    raw_range="$(min "${raw[@]}")..$(max "${raw[@]}")"
    # shellcheck disable=SC2059
    printf "$fmt" "$batch" "$cio_med" "($cio_range)" "$raw_med" "($raw_range)" "$r" "$paired"

    csv_row "nop_b$batch" cio ops_per_s "$cio_med" ops/s
    csv_row "nop_b$batch" liburing ops_per_s "$raw_med" ops/s
    csv_row "nop_b$batch" cio/liburing ratio "$r" x
    csv_row "nop_b$batch" cio/liburing ratio_paired "$paired" x
    meets=$(awk -v r="$r" -v g="$GOAL" 'BEGIN { print (r >= g) ? "yes" : "no" }')
    rows+=("| $batch | $cio_med | $cio_range | $raw_med | $raw_range | $r | $paired | $meets |")
done

md_section nop <<MD
## nop: no-op throughput

No-ops kept in flight \`batch\` at a time, each completion running a
callback that resubmits its op, through cio's loop (\`bench/nop_cio.c\`) and
through a hand-written liburing loop with the same ring setup
(\`bench/nop_uring.c\`). It measures the runtime's own cost per op. Goal:
cio at least $GOAL of liburing's ops/s.

- Date: $(date -u '+%Y-%m-%d %H:%M UTC')
- Machine: $(machine_desc)
- Settings: median of $RUNS alternating runs each, $OPS ops per run, pinned to CPU $CPU

\`cio/liburing\` is the ratio of the medians; \`paired\` is the median of
the ratios of each back-to-back pair of runs, steadier when the machine's
speed drifts between runs.

| batch | cio ops/s | cio min..max | liburing ops/s | liburing min..max | cio/liburing | paired | ≥ $GOAL |
|------:|----------:|-------------:|---------------:|------------------:|-------------:|-------:|:-------:|
$(printf '%s\n' "${rows[@]}")
MD
echo "results appended to $RESULTS_CSV; table written to $BENCH_MD"
