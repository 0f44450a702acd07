#!/usr/bin/env bash
# bench/timers.sh - a million timers: cio's core timers (the timer wheel of
# src/core/timer_wheel.c) against libuv's and libevent's timer heaps
# (bench/timers_cio.c, timers_uv.c, timers_event.c, bench/timers.h).
#
# Two scenarios, each program doing the same work from the same
# pseudo-random numbers:
#   fire    start COUNT timers due at random times within SPAN_US, and run
#           the loop until all have fired;
#   cancel  start COUNT timers due a minute or more ahead and cancel all of
#           them, in a random order, before any fires (the remove path).
# The measure is CPU time from the first start to the last callback: in
# `fire` a loop that keeps up sleeps between deadlines, so wall time is the
# span, not the cost. ops/s is COUNT per CPU second.
#
# The programs run alternately (cio, libuv, libevent, cio on epoll, and the
# base build's cio when BASE_BUILD is set), pinned to one CPU, so that drift
# in the machine's speed hits all alike. Reported: the median ops/s of each
# with min..max, the ratios of the medians cio/libuv and cio/libevent, and
# the median of the ratios of each back-to-back pair ("paired"), steadier
# on a machine whose speed drifts. Goal: cio at least 2x libuv in `fire`.
#
# BASE_BUILD: the build directory (Release, -DCIO_BUILD_BENCH=ON) of another
# tree, e.g. the commit before the wheel, whose timers_cio is then measured
# as "cio-base" (io_uring) beside this one:
#     git worktree add /tmp/base <commit>
#     cmake -S /tmp/base -B /tmp/base/build-bench -DCMAKE_BUILD_TYPE=Release -DCIO_BUILD_BENCH=ON
#     cmake --build /tmp/base/build-bench --target timers_cio
#     BASE_BUILD=/tmp/base/build-bench bench/timers.sh
# (a base without bench/timers_cio.c: build this tree's bench/timers_cio.c
# against it by hand and put it at $BASE_BUILD/bench/timers_cio).
#
# Environment: BUILD_DIR (default build-bench), RUNS (5), COUNT (1000000),
# SPAN_US (1000000), MODES ("fire cancel"), CPU (the last one), BASE_BUILD.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

RUNS=${RUNS:-5}
COUNT=${COUNT:-1000000}
SPAN_US=${SPAN_US:-1000000}
MODES=${MODES:-fire cancel}
CPU=${CPU:-$(($(nproc) - 1))}
GOAL=2.0

cio_bin=$(bench_bin timers_cio)
impls=(cio cio-epoll)
declare -A bins=([cio]=$cio_bin [cio-epoll]=$cio_bin)
declare -A args=([cio]=io_uring [cio-epoll]=epoll)
for anchor in libuv:timers_uv libevent:timers_event; do
    name=${anchor%%:*} prog=${anchor#*:}
    if bench_has "$prog"; then
        impls+=("$name")
        bins[$name]=$BUILD_DIR/bench/$prog
        args[$name]=""
    else
        echo "timers: $name anchor not built (its library is missing): skipped"
    fi
done
if [[ -n ${BASE_BUILD:-} ]]; then
    [[ -x $BASE_BUILD/bench/timers_cio ]] || die "$BASE_BUILD/bench/timers_cio not found"
    impls+=(cio-base)
    bins[cio-base]=$BASE_BUILD/bench/timers_cio
    args[cio-base]=io_uring
fi
has() { [[ -n ${bins[$1]:-} ]]; }

# one_run IMPL MODE: runs one program once, pinned, and prints its ops/s
# (per CPU second). CIO_BACKEND would override the backend named on the
# command line (and timers_cio would refuse to run), so it is unset.
one_run() {
    local line cmd=("${bins[$1]}" "$2" "$COUNT" "$SPAN_US")
    if [[ -n ${args[$1]} ]]; then cmd+=("${args[$1]}"); fi
    line=$(env -u CIO_BACKEND taskset -c "$CPU" "${cmd[@]}") || die "${cmd[*]} failed"
    field "$line" ops_per_s
}

load=$(cut -d' ' -f1-3 /proc/loadavg)
rows=()
fmt='%-7s %-10s %12s %25s %9s %9s\n'
# shellcheck disable=SC2059 # the format is ours
printf "$fmt" mode impl ops/s "(min..max)" "cio/it" paired
for mode in $MODES; do
    declare -A res=()
    declare -A pairs=()
    for ((i = 0; i < RUNS; i++)); do
        declare -A this=()
        for impl in "${impls[@]}"; do
            this[$impl]=$(one_run "$impl" "$mode")
            res[$impl]+="${this[$impl]} "
        done
        for impl in "${impls[@]}"; do
            [[ $impl == cio ]] && continue
            pairs[$impl]+="$(ratio "${this[cio]}" "${this[$impl]}") "
        done
    done
    declare -A med=()
    for impl in "${impls[@]}"; do
        # shellcheck disable=SC2086 # word splitting wanted: the runs' numbers
        med[$impl]=$(median ${res[$impl]})
    done
    for impl in "${impls[@]}"; do
        # shellcheck disable=SC2086
        range="$(min ${res[$impl]})..$(max ${res[$impl]})"
        r="" p=""
        if [[ $impl != cio ]]; then
            r=$(ratio "${med[cio]}" "${med[$impl]}")
            # shellcheck disable=SC2086
            p=$(ratio "$(median ${pairs[$impl]})" 1)
        fi
        # shellcheck disable=SC2059
        printf "$fmt" "$mode" "$impl" "${med[$impl]}" "($range)" "$r" "$p"
        csv_row "timers_$mode" "$impl" ops_per_s "${med[$impl]}" ops/s
        if [[ -n $r ]]; then
            csv_row "timers_$mode" "cio/$impl" ratio "$r" x
            csv_row "timers_$mode" "cio/$impl" ratio_paired "$p" x
        fi
        rows+=("| $mode | $impl | ${med[$impl]} | $range | ${r:-–} | ${p:-–} |")
    done
    unset res pairs med
done

goal_line=""
if has libuv && [[ " $MODES " == *" fire "* ]]; then
    goal_line="Goal: cio (io_uring) at least ${GOAL}x libuv in \`fire\` (\`cio/it\` in the libuv row)."
fi

md_section timers <<MD
## timers: a million timers, started and fired, or started and cancelled

\`$COUNT\` timers started at once, each due at a pseudo-random time within
$SPAN_US µs (\`fire\`: the loop runs until all have fired), or due a minute
or more ahead and all cancelled in a random order before any fires
(\`cancel\`: the remove path, then the loop runs until idle). Programs:
\`bench/timers_cio.c\` (cio's core timers, a hierarchical timer wheel:
\`src/core/timer_wheel.c\`), \`bench/timers_uv.c\` (libuv: a binary heap,
millisecond deadlines), \`bench/timers_event.c\` (libevent: a binary
min-heap, microsecond deadlines). Every program uses the same deadlines
and cancel order, and checks that each timer fired (or was cancelled)
exactly once. A cancel in cio completes the timer with \`-CIO_ECANCELED\`
and runs its callback (every op completes exactly once); libuv's and
libevent's stop runs none. cio's timers fire at their nanosecond deadline,
never earlier.

ops/s is \`COUNT\` per second of CPU time (CLOCK_PROCESS_CPUTIME_ID) from
the first start to the last callback: a loop that keeps up sleeps between
deadlines, and wall time would then be the span.
$goal_line
\`cio-base\` (when present) is the same program built from the base tree
given as BASE_BUILD (before the wheel: a pairing heap).

Where the time goes (perf): in \`fire\`, reading each timer from memory
once when its wheel slot comes due (a million ops are 128 MB; a slot's
lists are walked four at a time to keep loads in flight) and ordering
each millisecond's timers in a small heap. On io_uring a loop that keeps
up also waits once per distinct deadline, with nanosecond timeouts (tens
of thousands of waits a second); epoll's waits, like libuv's, are whole
milliseconds. In \`cancel\`, half of cio's time is delivering the million
\`-CIO_ECANCELED\` completions (the ready queue, in the random cancel
order); the removal itself is O(1).

- Date: $(date -u '+%Y-%m-%d %H:%M UTC')
- Machine: $(machine_desc); load average before the runs: $load
- Settings: median of $RUNS alternating runs each, pinned to CPU $CPU

\`cio/it\` is cio's (io_uring) median ops/s divided by that row's;
\`paired\` is the median of the same ratio over each round's back-to-back
runs, steadier when the machine's speed drifts.

| mode | impl | ops/s | min..max | cio/it | paired |
|:-----|:-----|------:|---------:|-------:|-------:|
$(printf '%s\n' "${rows[@]}")
MD
echo "results appended to $RESULTS_CSV; table written to $BENCH_MD"
