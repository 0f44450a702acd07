#!/usr/bin/env bash
# bench/mock.sh - what the mock backend's simulation costs: simulated ops
# per second, and seeds per minute of the CI's seed runs.
#
# - nops: bench/nop_cio.c on the mock (every nop is scheduled in virtual
#   time, traced and delivered by the simulation) and, for scale, on
#   io_uring, alternately, pinned; batches 1, 16 and 128.
# - seeds: tests/test_mock_tasks (tasks, sync primitives, groups and L1
#   batches under 1,000 seeds in one process) and tests/mock_seeds
#   (examples/tcp_echo as a process per seed, every invariant armed), as
#   they print their own rates.
#
# Environment: BUILD_DIR (default build-bench; needs the tests and
# examples built too), RUNS (5), OPS (2000000), CPU (the last one).
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

RUNS=${RUNS:-5}
OPS=${OPS:-2000000}
CPU=${CPU:-$(($(nproc) - 1))}
cio_bin=$(bench_bin nop_cio)

one_run() {
    local line
    line=$(env -u CIO_BACKEND -u CIO_MOCK_FAULTS taskset -c "$CPU" "$cio_bin" "$1" "$OPS" "$2") || die "nop_cio $* failed"
    field "$line" ops_per_s
}

rows=()
printf '%-6s %14s %25s %14s %8s\n' batch mock_ops/s "(min..max)" io_uring mock/uring
for batch in 1 16 128; do
    mk=() ur=()
    for ((i = 0; i < RUNS; i++)); do
        mk+=("$(one_run "$batch" mock)")
        ur+=("$(one_run "$batch" io_uring)")
    done
    mk_med=$(median "${mk[@]}") ur_med=$(median "${ur[@]}")
    range="$(min "${mk[@]}")..$(max "${mk[@]}")"
    r=$(ratio "$mk_med" "$ur_med")
    printf '%-6s %14.0f %25s %14.0f %8s\n' "$batch" "$mk_med" "($range)" "$ur_med" "$r"
    csv_row "mock_nop_b$batch" cio-mock ops_per_s "$mk_med" ops/s
    rows+=("| $batch | $(printf '%.0f' "$mk_med") | $range | $(printf '%.0f' "$ur_med") | $r |")
done

tasks_line="(tests/test_mock_tasks not built)"
if [[ -x $BUILD_DIR/tests/test_mock_tasks ]]; then
    tasks_line=$(env -u CIO_MOCK_FAULTS taskset -c "$CPU" "$BUILD_DIR/tests/test_mock_tasks" | grep -m1 'seeds/s' || true)
fi
seeds_line="(tests/mock_seeds or examples/tcp_echo not built)"
if [[ -x $BUILD_DIR/tests/mock_seeds && -x $BUILD_DIR/examples/tcp_echo ]]; then
    seeds_line=$(taskset -c "$CPU" "$BUILD_DIR/tests/mock_seeds" 1000 20000 -- "$BUILD_DIR/examples/tcp_echo" | tail -n1)
fi
echo "tasks: $tasks_line"
echo "examples: $seeds_line"

md_section mock <<MD
## mock: the cost of the simulation

The mock backend (\`cio/mock.h\`) schedules every op in virtual time,
draws its latency from the seed, hashes it into the trace and delivers
it. Simulated nops per second through \`bench/nop_cio.c\` on the mock,
$OPS per run, against the same program on io_uring for scale (the
kernel's nop is the cheapest real op).

- Date: $(date -u '+%Y-%m-%d %H:%M UTC')
- Machine: $(machine_desc)
- Settings: median of $RUNS alternating runs each, pinned to CPU $CPU

| batch | mock ops/s | min..max | io_uring ops/s | mock/io_uring |
|------:|-----------:|---------:|---------------:|--------------:|
$(printf '%s\n' "${rows[@]}")

Seeds per minute, as the seed runs of the test suite print them (Release):

- \`tests/test_mock_tasks\` (tasks, sync primitives, groups, cancels and
  linked batches; 1,000 seeds in one process): $tasks_line
- \`tests/mock_seeds\` running \`examples/tcp_echo\` unchanged, one process
  per seed, every invariant armed, faults at 2%: $seeds_line
MD
echo "results appended to $RESULTS_CSV; table written to $BENCH_MD"
