#!/usr/bin/env bash
# bench/spawn.sh - tasks spawned and joined per second (bench/spawn_cio.c),
# in batches: BATCH trivial tasks are spawned, then all joined, again and
# again. For scale, the same batches as threads (bench/spawn_pthread.c,
# pthread_create and pthread_join): a reference point, not a goal.
#
# The two programs run alternately, pinned to one CPU (the threads
# inherit the pin). The result is the median ns per spawn plus join, and
# tasks per second, of each. The batch sizes straddle the per-thread pool
# of freed stacks (64 in src/task/stack.c): up to it a spawn reuses a
# stack, past it most spawns map a fresh one (mmap, mprotect for the guard
# page, the first page fault, munmap when released).
#
# Environment: BUILD_DIR (default build-bench), RUNS (5), TASKS (2000000:
# at most that many per run; a run also stops after 3 s), BATCHES
# ("1 64 1024"), CPU (the last one).
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

RUNS=${RUNS:-5}
TASKS=${TASKS:-2000000}
BATCHES=${BATCHES:-1 64 1024}
CPU=${CPU:-$(($(nproc) - 1))}

cio_bin=$(bench_bin spawn_cio)
thr_bin=$(bench_bin spawn_pthread)

# one_run ARGS...: one program once, pinned; prints its ns per spawn+join.
one_run() {
    local line
    line=$(env -u CIO_BACKEND taskset -c "$CPU" "$@") || die "$* failed"
    awk -v ns="$(field "$line" ns)" -v n="$(field "$line" ops)" 'BEGIN { printf "%.1f\n", ns / n }'
}

# ns1 N, ns0 N: N with one decimal, with none.
ns1() { printf '%.1f' "$1"; }
ns0() { printf '%.0f' "$1"; }

# per_s NS: tasks per second at NS ns each.
per_s() { awk -v ns="$1" 'BEGIN { printf "%.0f\n", 1e9 / ns }'; }

rows=()
fmt='%-6s %12s %19s %10s %14s %21s %9s\n'
# shellcheck disable=SC2059 # the format is ours
printf "$fmt" batch cio_ns "(min..max)" cio/s pthread_ns "(min..max)" speedup
for batch in $BATCHES; do
    cio=() thr=() pairs=()
    for ((i = 0; i < RUNS; i++)); do
        c=$(one_run "$cio_bin" "$batch" "$TASKS" io_uring)
        t=$(one_run "$thr_bin" "$batch" "$TASKS")
        cio+=("$c") thr+=("$t")
        pairs+=("$(ratio "$t" "$c")")
    done
    cio_med=$(ns1 "$(median "${cio[@]}")")
    thr_med=$(ns0 "$(median "${thr[@]}")")
    cio_range="$(ns1 "$(min "${cio[@]}")")..$(ns1 "$(max "${cio[@]}")")"
    thr_range="$(ns0 "$(min "${thr[@]}")")..$(ns0 "$(max "${thr[@]}")")"
    speedup=$(ns1 "$(median "${pairs[@]}")")
    # shellcheck disable=SC2059
    printf "$fmt" "$batch" "$cio_med" "($cio_range)" "$(per_s "$cio_med")" "$thr_med" "($thr_range)" "$speedup"
    csv_row "spawn_b$batch" cio-io_uring ns_per_spawn_join "$cio_med" ns
    csv_row "spawn_b$batch" cio-io_uring tasks_per_s "$(per_s "$cio_med")" tasks/s
    csv_row "spawn_b$batch" pthread ns_per_spawn_join "$thr_med" ns
    csv_row "spawn_b$batch" pthread/cio ratio_paired "$speedup" x
    rows+=("| $batch | $cio_med | $cio_range | $(per_s "$cio_med") | $thr_med | $thr_range | $speedup |")
done

md_section spawn <<MD
## spawn: tasks spawned and joined

A task (\`bench/spawn_cio.c\`) spawns \`batch\` tasks that return at once,
then joins them all, over and over: each costs a stack, the first switch
into it, its return and its joiner's wake-up. No op is submitted (the
loop is io_uring, but idle). For scale, the same batches run as threads
(\`bench/spawn_pthread.c\`, \`pthread_create\` + \`pthread_join\`), a
reference point, not a goal.

Freed stacks wait in a per-thread pool (up to 4,096 stacks and 512 MiB,
\`src/task/stack.c\`), so every spawn after the first round reuses one; the
newest 64 (more when spawns draw more from the pool at once) keep their
touched pages, older ones give them back (\`madvise\`) and fault them in
again when reused.

- Date: $(date -u '+%Y-%m-%d %H:%M UTC')
- Machine: $(machine_desc)
- Settings: median of $RUNS alternating runs each, up to $TASKS tasks (or 3 s) per run, pinned to CPU $CPU

\`pthread/cio\` is the median of the ratios of each back-to-back pair of
runs: how many times cheaper a task is than a thread.

| batch | cio ns per spawn+join | min..max | cio tasks/s | pthread ns | min..max | pthread/cio |
|------:|----------------------:|---------:|------------:|-----------:|---------:|------------:|
$(printf '%s\n' "${rows[@]}")
MD
echo "results appended to $RESULTS_CSV; table written to $BENCH_MD"
