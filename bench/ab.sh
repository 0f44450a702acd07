#!/usr/bin/env bash
# bench/ab.sh - did a change make cio slower? The same cio benchmarks built
# from two trees, the base (BASE_BUILD: the code before the change) and the
# change (BUILD_DIR), run alternately (base, change, base, ...), so that
# drift in the machine's speed hits both alike. For each scenario it prints
# both medians and the median of the ratios change/base of each
# back-to-back pair ("paired"; above 1 is faster for throughputs, below 1
# is faster for ns per switch), and writes them to the "ab" section of
# docs/BENCHMARKS.md.
#
# Scenarios: nop on io_uring (batches 1, 16, 128) and on epoll (16); the raw
# context switch; echo with CONNS connections for the callback server on
# io_uring and epoll and the task server on io_uring.
#
#     git worktree add /tmp/base <commit>
#     cmake -S /tmp/base -B /tmp/base/build-bench -DCMAKE_BUILD_TYPE=Release -DCIO_BUILD_BENCH=ON
#     cmake --build /tmp/base/build-bench
#     BASE_BUILD=/tmp/base/build-bench bench/ab.sh     # after bench/run.sh built BUILD_DIR
#
# Environment: BASE_BUILD (required), BUILD_DIR (default build-bench), SCENARIOS
# (a space-separated subset of the scenarios above, by the names it prints), RUNS
# (7), OPS (5000000), SWITCHES (20000000), ROUND_TRIPS (100000), CONNS (32),
# MSG (64), CPU (the last one), SERVER_CPU (1), CLIENT_CPU (0), TIMEOUT (300).
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

: "${BASE_BUILD:?set BASE_BUILD to the build directory of the base tree}"
RUNS=${RUNS:-7}
OPS=${OPS:-5000000}
SWITCHES=${SWITCHES:-20000000}
ROUND_TRIPS=${ROUND_TRIPS:-100000}
CONNS=${CONNS:-32}
MSG=${MSG:-64}
TIMEOUT=${TIMEOUT:-300}
CPU=${CPU:-$(($(nproc) - 1))}
if (($(nproc) >= 2)); then
    SERVER_CPU=${SERVER_CPU:-1} CLIENT_CPU=${CLIENT_CPU:-0}
else
    SERVER_CPU=${SERVER_CPU:-0} CLIENT_CPU=${CLIENT_CPU:-0}
fi
for b in nop_cio switch_cio echo_cio echo_task echo_client; do
    [[ -x $BASE_BUILD/bench/$b ]] || die "$BASE_BUILD/bench/$b not found: build the base with -DCIO_BUILD_BENCH=ON"
    bench_bin "$b" >/dev/null
done
client_bin=$(bench_bin echo_client)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The commit a build directory was made from, for the record.
commit_of() {
    local src
    src=$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$1/CMakeCache.txt" 2>/dev/null || true)
    git -C "${src:-.}" describe --always --dirty 2>/dev/null || echo unknown
}

# measure SCENARIO BUILD: one run of SCENARIO with the binaries of BUILD.
measure() {
    local bin=$2/bench line
    case $1 in
    nop-*)
        local be=${1#nop-} batch
        batch=${be##*-b}
        be=${be%-b*}
        line=$(env -u CIO_BACKEND taskset -c "$CPU" "$bin/nop_cio" "$batch" "$OPS" "$be") || die "nop failed"
        field "$line" ops_per_s
        ;;
    switch-raw)
        line=$(taskset -c "$CPU" "$bin/switch_cio" raw "$SWITCHES") || die "switch failed"
        field "$line" ns_per_switch
        ;;
    echo-task-*) echo_one_run "$1" "$CONNS" env -u CIO_BACKEND "$bin/echo_task" "${1#echo-task-}" | cut -d' ' -f1 ;;
    echo-*) echo_one_run "$1" "$CONNS" env -u CIO_BACKEND "$bin/echo_cio" "${1#echo-}" | cut -d' ' -f1 ;;
    *) die "unknown scenario $1" ;;
    esac
}

all_scenarios="nop-io_uring-b1 nop-io_uring-b16 nop-io_uring-b128 nop-epoll-b16 switch-raw"
all_scenarios+=" echo-io_uring echo-task-io_uring echo-epoll"
read -ra scenarios <<<"${SCENARIOS:-$all_scenarios}"
base_commit=$(commit_of "$BASE_BUILD")
new_commit=$(commit_of "$BUILD_DIR")
fmt='%-20s %14s %14s %8s %8s\n'
# shellcheck disable=SC2059 # the format is ours
printf "$fmt" scenario base change ratio paired
rows=()
for sc in "${scenarios[@]}"; do
    base=() new=() pairs=()
    for ((i = 0; i < RUNS; i++)); do
        b=$(measure "$sc" "$BASE_BUILD")
        n=$(measure "$sc" "$BUILD_DIR")
        base+=("$b") new+=("$n")
        pairs+=("$(ratio "$n" "$b")")
    done
    bm=$(median "${base[@]}")
    nm=$(median "${new[@]}")
    r=$(ratio "$nm" "$bm")
    p=$(ratio "$(median "${pairs[@]}")" 1)
    unit="ops/s"
    [[ $sc == switch-* ]] && unit="ns/switch"
    [[ $sc == echo-* ]] && unit="rt/s"
    # shellcheck disable=SC2059
    printf "$fmt" "$sc" "$bm" "$nm" "$r" "$p"
    csv_row "ab_$sc" base "$unit" "$bm" "$unit"
    csv_row "ab_$sc" change "$unit" "$nm" "$unit"
    csv_row "ab_$sc" change/base ratio_paired "$p" x
    rows+=("| $sc | $unit | $bm | $nm | $r | $p |")
done

md_section ab <<MD
## ab: this tree against a base, for regressions

The same cio benchmarks built from two trees, run alternately
(\`bench/ab.sh\`): base \`$base_commit\`, change \`$new_commit\`. \`ratio\` is
change/base of the medians, \`paired\` the median of the ratios of each
back-to-back pair. For ops/s and rt/s above 1 is faster; for ns/switch
below 1 is faster.

- Date: $(date -u '+%Y-%m-%d %H:%M UTC')
- Machine: $(machine_desc)
- Settings: median of $RUNS alternating runs; nop $OPS ops pinned to CPU $CPU; switch $SWITCHES
  switches; echo $ROUND_TRIPS round trips of $MSG bytes on $CONNS connections, server on CPU
  $SERVER_CPU, client on CPU $CLIENT_CPU

| scenario | unit | base | change | ratio | paired |
|----------|------|-----:|-------:|------:|-------:|
$(printf '%s\n' "${rows[@]}")
MD
echo "results appended to $RESULTS_CSV; table written to $BENCH_MD"
