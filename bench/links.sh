#!/usr/bin/env bash
# bench/links.sh - link chains per second on io_uring: the kernel's links
# (a chain in one submission, src/backend/uring.c: submit_chain) against the
# core's (CIO_URING_DISABLE=links: each op started by the core once the one
# before it completed, a loop turn per op), both through cio
# (bench/links_cio.c), and the enters each chain took.
#
# Kinds: "nop" (N no-ops) and "pipe" (N/2 pairs of a 64-byte write into a
# pipe and the read of it back). One chain is in flight at a time, so a
# chain's rate is the inverse of its latency. For each kind and length the
# two settings run alternately (kernel, core, kernel, ...), pinned to one
# CPU; the result is each median, the ratio of the medians and the median of
# the ratios of each back-to-back pair ("paired", steadier on a machine
# whose speed drifts).
#
# Environment: BUILD_DIR (default build-bench), RUNS (5), CHAINS (200000),
# LENGTHS ("2 4 8"), KINDS ("nop pipe"), CPU (the last one).
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

RUNS=${RUNS:-5}
CHAINS=${CHAINS:-200000}
LENGTHS=${LENGTHS:-2 4 8}
KINDS=${KINDS:-nop pipe}
CPU=${CPU:-$(($(nproc) - 1))}

bin=$(bench_bin links_cio)

# one_run KIND N LINKS: one run, pinned; prints "chains_per_s enters_per_chain".
one_run() {
    local line
    local -a env_=(env -u CIO_BACKEND -u CIO_URING_DISABLE)
    [[ $3 == core ]] && env_+=(CIO_URING_DISABLE=links)
    line=$("${env_[@]}" taskset -c "$CPU" "$bin" "$1" "$2" "$CHAINS" io_uring) || die "links_cio $1 $2 ($3) failed"
    [[ $(field "$line" links) == "$3" ]] || die "links_cio ran with links=$(field "$line" links), not $3"
    echo "$(field "$line" chains_per_s) $(field "$line" enters_per_chain)"
}

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
rows=()
fmt='%-5s %3s %14s %14s %7s %7s %13s %13s\n'
# shellcheck disable=SC2059 # the format is ours
printf "$fmt" kind n kernel_ch/s core_ch/s ratio paired kernel_ent/ch core_ent/ch
for kind in $KINDS; do
    for n in $LENGTHS; do
        k=() c=() ke=() ce=() pairs=()
        for ((i = 0; i < RUNS; i++)); do
            read -r kr ken <<<"$(one_run "$kind" "$n" kernel)"
            read -r cr cen <<<"$(one_run "$kind" "$n" core)"
            k+=("$kr") c+=("$cr") ke+=("$ken") ce+=("$cen")
            pairs+=("$(ratio "$kr" "$cr")")
        done
        k_med=$(median "${k[@]}")
        c_med=$(median "${c[@]}")
        ke_med=$(median "${ke[@]}")
        ce_med=$(median "${ce[@]}")
        r=$(ratio "$k_med" "$c_med")
        paired=$(ratio "$(median "${pairs[@]}")" 1)
        # shellcheck disable=SC2059
        printf "$fmt" "$kind" "$n" "$k_med" "$c_med" "$r" "$paired" "$ke_med" "$ce_med"
        scen="links_${kind}_n$n"
        csv_row "$scen" cio-kernel-links chains_per_s "$k_med" chains/s
        csv_row "$scen" cio-core-links chains_per_s "$c_med" chains/s
        csv_row "$scen" kernel/core ratio "$r" x
        csv_row "$scen" kernel/core ratio_paired "$paired" x
        csv_row "$scen" cio-kernel-links enters_per_chain "$ke_med" enters
        csv_row "$scen" cio-core-links enters_per_chain "$ce_med" enters
        rows+=("| $kind | $n | $k_med | $(min "${k[@]}")..$(max "${k[@]}") | $c_med | $(min "${c[@]}")..$(max "${c[@]}") | $r | $paired | $ke_med | $ce_med |")
    done
done

md_section links <<MD
## links: link chains in the kernel

Chains of \`n\` soft-linked ops (\`CIO_F_LINK\`), one in flight at a time,
each submitted with one \`cio_submit_batch()\` from the callback of the
previous chain's last op (\`bench/links_cio.c\`): \`nop\` chains of no-ops,
\`pipe\` chains of a 64-byte write into a pipe and its read back, in pairs.
On io_uring cio runs such a chain with the kernel's links: one submission,
no loop turn between its ops (\`kernel\`). \`core\` is the same program with
\`CIO_URING_DISABLE=links\`: the core starts each op once it has seen the one
before it complete, as on every other backend. Enters are cio's count of
\`io_uring_enter\` calls (\`cio_loop_stats\`) per chain.

- Date: $(date -u '+%Y-%m-%d %H:%M UTC')
- Machine: $(machine_desc)
- Settings: median of $RUNS alternating runs each, $CHAINS chains per run, pinned to CPU $CPU
- Load average (1, 5, 15 min): $load_start at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end

\`kernel/core\` is the ratio of the medians; \`paired\` the median of the
ratios of each back-to-back pair of runs.

| kind | n | kernel chains/s | min..max | core chains/s | min..max | kernel/core | paired | kernel enters/chain | core enters/chain |
|:-----|--:|----------------:|---------:|--------------:|---------:|------------:|-------:|--------------------:|------------------:|
$(printf '%s\n' "${rows[@]}")
MD
echo "results appended to $RESULTS_CSV; table written to $BENCH_MD"
