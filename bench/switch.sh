#!/usr/bin/env bash
# bench/switch.sh - the cost of a context switch: cio's own switch
# (cio__ctx_switch, bench/switch_cio.c raw) against Boost.Context's fcontext
# (bench/switch_fcontext.c), the same ping-pong between two contexts, and
# for reference what the task layer adds on top: a task yielding through
# the loop, and two tasks handing a baton to each other through wait queues,
# on each backend.
#
# The two raw programs run alternately (cio, fcontext, cio, ...), pinned to
# one CPU, so that drift in the machine's speed hits both alike. The result
# is the median ns per switch of each and the ratio cio/fcontext (lower is
# better; the goal is at most 1.00), also as the median of the ratios of
# each back-to-back pair ("paired"), steadier on a machine whose speed
# drifts.
#
# Environment: BUILD_DIR (default build-bench), RUNS (5), SWITCHES
# (20000000), TASK_SWITCHES (2000000, for yield and handoff), CPU (the last
# one).
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

RUNS=${RUNS:-5}
SWITCHES=${SWITCHES:-20000000}
TASK_SWITCHES=${TASK_SWITCHES:-2000000}
CPU=${CPU:-$(($(nproc) - 1))}
GOAL=1.00
backends=(io_uring epoll poll)

cio_bin=$(bench_bin switch_cio)
fc_bin=""
if bench_has switch_fcontext; then
    fc_bin=$(bench_bin switch_fcontext)
else
    echo "switch: no fcontext anchor: bench/switch_fcontext is not built (install libboost-context-dev and reconfigure)"
fi

# one_run ARGS...: runs one program once, pinned, and prints its ns per
# switch. The backend is named on switch_cio's command line; CIO_BACKEND
# would override it (and switch_cio would refuse to run), so it is unset.
one_run() {
    local line
    line=$(env -u CIO_BACKEND taskset -c "$CPU" "$@") || die "$* failed"
    field "$line" ns_per_switch
}

cio=() fc=() pairs=()
declare -A yields=() handoffs=()
for ((i = 0; i < RUNS; i++)); do
    c=$(one_run "$cio_bin" raw "$SWITCHES")
    cio+=("$c")
    if [[ -n $fc_bin ]]; then
        f=$(one_run "$fc_bin" "$SWITCHES")
        fc+=("$f")
        pairs+=("$(ratio "$c" "$f")")
    fi
    for b in "${backends[@]}"; do
        yields[$b]+=" $(one_run "$cio_bin" yield "$TASK_SWITCHES" "$b")"
        handoffs[$b]+=" $(one_run "$cio_bin" handoff "$TASK_SWITCHES" "$b")"
    done
done

# ns2 N: N with two decimals; ns1 N: with one.
ns2() { printf '%.2f' "$1"; }
ns1() { printf '%.1f' "$1"; }

cio_med=$(ns2 "$(median "${cio[@]}")")
cio_range="$(ns2 "$(min "${cio[@]}")")..$(ns2 "$(max "${cio[@]}")")"
csv_row switch cio ns_per_switch "$cio_med" ns
fc_med=- fc_range=- r=- paired=- meets=-
if [[ -n $fc_bin ]]; then
    fc_med=$(ns2 "$(median "${fc[@]}")")
    fc_range="$(ns2 "$(min "${fc[@]}")")..$(ns2 "$(max "${fc[@]}")")"
    r=$(ratio "$cio_med" "$fc_med")
    paired=$(ratio "$(median "${pairs[@]}")" 1)
    meets=$(awk -v r="$r" -v g="$GOAL" 'BEGIN { print (r <= g) ? "yes" : "no" }')
    csv_row switch fcontext ns_per_switch "$fc_med" ns
    csv_row switch cio/fcontext ratio "$r" x
    csv_row switch cio/fcontext ratio_paired "$paired" x
fi
printf '%-10s %12s %15s\n' impl ns/switch "(min..max)"
printf '%-10s %12s %15s\n' cio "$cio_med" "($cio_range)" fcontext "$fc_med" "($fc_range)"
echo "cio/fcontext: $r (paired $paired; goal <= $GOAL)"

task_rows=()
printf '%-9s %14s %22s %16s %22s\n' backend ns/yield "(min..max)" ns/handoff "(min..max)"
for b in "${backends[@]}"; do
    # shellcheck disable=SC2086 # the lists are space-separated numbers
    y=$(ns1 "$(median ${yields[$b]})") h=$(ns1 "$(median ${handoffs[$b]})")
    # shellcheck disable=SC2086
    yr="$(ns1 "$(min ${yields[$b]})")..$(ns1 "$(max ${yields[$b]})")"
    # shellcheck disable=SC2086
    hr="$(ns1 "$(min ${handoffs[$b]})")..$(ns1 "$(max ${handoffs[$b]})")"
    csv_row switch_yield "cio-$b" ns_per_yield "$y" ns
    csv_row switch_handoff "cio-$b" ns_per_handoff "$h" ns
    printf '%-9s %14s %22s %16s %22s\n' "$b" "$y" "($yr)" "$h" "($hr)"
    task_rows+=("| $b | $y | $yr | $h | $hr |")
done

boost=$(sed -n 's/^#define BOOST_LIB_VERSION "\(.*\)"/\1/p' /usr/include/boost/version.hpp 2>/dev/null | tr _ .)
fc_note="against Boost.Context's \`jump_fcontext\` (Boost ${boost:-?}, linked
statically) by \`bench/switch_fcontext.c\`"
[[ -n $fc_bin ]] || fc_note="with no fcontext anchor (Boost.Context was not installed when this ran)"
md_section switch <<MD
## switch: context switch

Two contexts switching back and forth, $SWITCHES switches per run: cio's
own switch (\`cio__ctx_switch\`, \`src/task/switch_*.S\`, reached through
the static library by \`bench/switch_cio.c raw\`) $fc_note. Both save
the same registers (the callee-saved ones, MXCSR and the x87 control
word). Goal: cio's switch as fast or faster (cio/fcontext at most $GOAL).

- Date: $(date -u '+%Y-%m-%d %H:%M UTC')
- Machine: $(machine_desc)
- Settings: median of $RUNS alternating runs each, pinned to CPU $CPU

\`cio/fcontext\` is the ratio of the medians of ns per switch (lower is
better for cio); \`paired\` is the median of the ratios of each
back-to-back pair of runs, steadier when the machine's speed drifts.

| impl | ns/switch | min..max |
|:-----|----------:|---------:|
| cio | $cio_med | $cio_range |
| fcontext | $fc_med | $fc_range |

cio/fcontext: **$r** (paired **$paired**; at most $GOAL: $meets)

What the task layer adds, $TASK_SWITCHES per run, on each backend: a
\`yield\` is one task calling \`cio_task_yield()\`, which goes through the
loop (two switches, the wake op and a loop turn); a \`handoff\` is one of
two tasks waking the other through a wait queue (the way every sync
primitive blocks) and parking: two switches through the scheduler and the
run queue, no loop turn.

| backend | ns/yield | min..max | ns/handoff | min..max |
|:--------|---------:|---------:|-----------:|---------:|
$(printf '%s\n' "${task_rows[@]}")
MD
echo "results appended to $RESULTS_CSV; table written to $BENCH_MD"
