#!/usr/bin/env bash
# bench/task_mem.sh - resident memory per task parked in IO
# (bench/task_mem.c): TASKS tasks, each blocked in cio_recv() on one end of
# a socket pair, on each backend. The goal is at most 8 KiB each.
#
# The program reads VmRSS, RssAnon and VmPTE from /proc/self/status before
# spawning and once all tasks are parked, and inspects every stack with
# mincore(). Memory is not timing: the runs barely differ, but the median
# of RUNS is taken all the same.
#
# Environment: BUILD_DIR (default build-bench), RUNS (5), TASKS (10000; one
# fd each, so the hard RLIMIT_NOFILE must allow a few more), CPU (the last
# one).
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

RUNS=${RUNS:-5}
TASKS=${TASKS:-10000}
CPU=${CPU:-$(($(nproc) - 1))}
GOAL=8
backends=(io_uring epoll poll)
keys=(kib_per_task anon_kib_per_task stack_pages_per_task stack_bytes_per_task pte_kib_per_task)
declare -A units=([kib_per_task]=KiB [anon_kib_per_task]=KiB [stack_pages_per_task]=pages
    [stack_bytes_per_task]=bytes [pte_kib_per_task]=KiB)

bin=$(bench_bin task_mem)
hard=$(ulimit -Hn)
if [[ $hard != unlimited ]] && ((hard < TASKS + 64)); then
    echo "task_mem: skipped: $TASKS tasks need $((TASKS + 64)) fds; the hard limit is $hard"
    exit 0
fi

declare -A vals=()
for ((i = 0; i < RUNS; i++)); do
    for b in "${backends[@]}"; do
        line=$(env -u CIO_BACKEND taskset -c "$CPU" "$bin" "$b" "$TASKS") || die "task_mem $b failed"
        for k in "${keys[@]}"; do vals[$b.$k]+=" $(field "$line" "$k")"; done
    done
done

rows=()
fmt='%-9s %9s %10s %12s %12s %9s %5s\n'
# shellcheck disable=SC2059 # the format is ours
printf "$fmt" backend KiB/task anon_KiB stack_pages stack_bytes pte_KiB "<=$GOAL"
for b in "${backends[@]}"; do
    declare -A m=()
    for k in "${keys[@]}"; do
        # shellcheck disable=SC2086 # the lists are space-separated numbers
        m[$k]=$(median ${vals[$b.$k]})
        csv_row task_mem "cio-$b" "$k" "${m[$k]}" "${units[$k]}"
    done
    meets=$(awk -v r="${m[kib_per_task]}" -v g="$GOAL" 'BEGIN { print (r <= g) ? "yes" : "no" }')
    # shellcheck disable=SC2059
    printf "$fmt" "$b" "${m[kib_per_task]}" "${m[anon_kib_per_task]}" "${m[stack_pages_per_task]}" \
        "${m[stack_bytes_per_task]}" "${m[pte_kib_per_task]}" "$meets"
    rows+=("| $b | ${m[kib_per_task]} | ${m[anon_kib_per_task]} | ${m[stack_pages_per_task]} |\
 ${m[stack_bytes_per_task]} | ${m[pte_kib_per_task]} | $meets |")
    unset m
done

md_section task_mem <<MD
## task_mem: resident memory per parked task

$TASKS tasks (\`bench/task_mem.c\`), each blocked in \`cio_recv()\` with a
16-byte buffer on one end of a Unix socket pair ($((TASKS / 2)) pairs), on
each backend. \`KiB/task\` is the growth of the process's resident memory
(VmRSS) from before the spawns to when all are parked, divided by the
tasks; \`anon\` counts anonymous memory only. Code pages, the signal stack
and the loop's tables are warmed by one task first. Goal: at most $GOAL KiB
per task.

Kernel memory (socket buffers, io_uring's requests, the mappings) is not
resident memory and is not counted, except page tables, shown apart
(\`pte KiB\`, VmPTE). \`stack pages\` are the pages of each task's stack
that are resident (mincore), and \`stack bytes\` how deep into them
anything was written, the task struct at the top included: a parked task
fits in one page with room to spare, so a deeper call chain in the
application costs nothing until it crosses a page.

- Date: $(date -u '+%Y-%m-%d %H:%M UTC')
- Machine: $(machine_desc)
- Settings: median of $RUNS runs per backend

| backend | KiB/task | anon KiB/task | stack pages | stack bytes | pte KiB/task | ≤ $GOAL KiB |
|:--------|---------:|--------------:|------------:|------------:|-------------:|:------:|
$(printf '%s\n' "${rows[@]}")
MD
echo "results appended to $RESULTS_CSV; table written to $BENCH_MD"
