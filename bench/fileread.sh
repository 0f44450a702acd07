#!/usr/bin/env bash
# bench/fileread.sh - random 4 KiB reads from one file: cio on each backend
# (bench/fileread_cio.c) against fio's io_uring, libaio and psync engines
# and a plain pread(2) loop, at queue depth 1 and 32, with the file's pages
# in the page cache (warm) and not (cold).
#
#   bench/fileread.sh           the full run (about 10 minutes on 2 CPUs)
#   bench/fileread.sh --quick   every implementation once, few reads: checks
#                               that all work; table and CSV to a scratch dir
#
# Implementations (IMPLS, default all; fio's are skipped without fio):
#   cio-io_uring, cio-epoll, cio-poll   bench/fileread_cio.c on that backend
#   fio-io_uring, fio-libaio            fio 3's engines, buffered (direct=0)
#   fio-psync                           fio's pread engine (depth 1 only)
#   pread                               bench/fileread_cio.c psync: pread in a loop (depth 1 only)
#
# All read the same FILE (MIB MiB, made once with a pattern fileread_cio
# checks), 4 KiB blocks at random offsets with no block read twice in a run
# (fio's random map; a permutation in fileread_cio), the same number of
# reads (WARM_READS warm, COLD_READS cold), pinned to the same CPU (fio runs
# its job as a thread, all of fio in that CPU; cio's blocking pool threads,
# used on epoll and poll for reads the cache cannot answer, inherit it).
# fio is told to leave the page cache alone (invalidate=0) and to give no
# access hint (fadvise_hint=0), as cio gives none.
#
# Warm: the file is read whole once per round and fincore must show all of
# it resident. Cold: before every run the file's pages are dropped
# (`dd iflag=nocache count=0`: posix_fadvise(POSIX_FADV_DONTNEED) on the
# whole file) and fincore must show none resident, else the script stops.
#
# Each round runs every implementation once per cache state and depth, in
# turn, so that drift in the machine's speed hits all alike; RUNS rounds.
# Per implementation: the median reads per second and min..max; per pair
# the median of the per-round ratios ("paired"). Goals (issue 12): cio on
# io_uring at least 1.0x fio's io_uring engine at both depths; cio on epoll
# at least 0.9x psync with a warm cache.
#
# Environment: BUILD_DIR (default build-bench), RUNS (5), FILE
# (/tmp/cio-fileread.dat), MIB (1024), WARM_READS (200000), COLD_READS
# (20000), QDS ("1 32"), CACHES ("warm cold"), IMPLS, CPU (the last one).
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
quick=0
if [[ ${1:-} == --quick ]]; then
    quick=1
    RUNS=${RUNS:-1} WARM_READS=${WARM_READS:-20000} COLD_READS=${COLD_READS:-2000}
    RESULTS_CSV=$tmp/results.csv BENCH_MD=$tmp/BENCHMARKS.md
elif [[ -n ${1:-} ]]; then
    die "usage: $0 [--quick]"
fi
RUNS=${RUNS:-5}
FILE=${FILE:-/tmp/cio-fileread.dat}
MIB=${MIB:-1024}
WARM_READS=${WARM_READS:-200000}
COLD_READS=${COLD_READS:-20000}
QDS=${QDS:-1 32}
CACHES=${CACHES:-warm cold}
CPU=${CPU:-$(($(nproc) - 1))}

bin=$(bench_bin fileread_cio)
command -v fincore >/dev/null || die "fincore (util-linux) is needed to check the page cache"
impls=()
for impl in ${IMPLS:-cio-io_uring cio-epoll cio-poll fio-io_uring fio-libaio fio-psync pread}; do
    if [[ $impl == fio-* ]] && ! command -v fio >/dev/null; then
        echo "fileread: $impl skipped: fio is not installed (Debian: fio; scripts/deps.sh bench)"
        continue
    fi
    if [[ $impl == fio-* ]] && ! command -v jq >/dev/null; then
        echo "fileread: $impl skipped: jq is needed to read fio's JSON output"
        continue
    fi
    impls+=("$impl")
done
has() { [[ " ${impls[*]} " == *" $1 "* ]]; }
# Synchronous implementations have one read in flight whatever the depth.
sync_impl() { [[ $1 == fio-psync || $1 == pread ]]; }

size=$((MIB << 20))
if [[ ! -f $FILE ]] || (($(stat -c %s "$FILE") < size)); then
    echo "fileread: making $FILE ($MIB MiB)"
    "$bin" make "$FILE" "$MIB"
fi
resident() { fincore -b -n -o RES "$FILE"; }

# warm_file: reads FILE whole (twice if need be) and checks that all of it
# is resident (99.9%: the kernel may have let a few pages go meanwhile).
warm_file() {
    local res _
    for _ in 1 2; do
        cat "$FILE" >/dev/null
        res=$(resident)
        ((res * 1000 >= size * 999)) && return 0
    done
    die "$FILE: only $res of $size bytes resident after reading it whole"
}
# drop_file: drops FILE's pages from the page cache and checks that none is left.
drop_file() {
    dd if="$FILE" iflag=nocache count=0 status=none
    local res
    res=$(resident)
    ((res == 0)) || die "$FILE: $res bytes still resident after dropping its pages"
}

# one_run IMPL QD READS SEED: one run, pinned; prints its reads per second.
one_run() {
    local impl=$1 qd=$2 reads=$3 seed=$4 line out
    case $impl in
    cio-*)
        line=$(env -u CIO_BACKEND taskset -c "$CPU" "$bin" "${impl#cio-}" "$FILE" "$qd" "$reads" "$seed") ||
            die "$impl failed"
        field "$line" reads_per_s
        ;;
    pread)
        line=$(taskset -c "$CPU" "$bin" psync "$FILE" 1 "$reads" "$seed") || die "$impl failed"
        field "$line" reads_per_s
        ;;
    fio-*)
        out=$tmp/fio.json
        taskset -c "$CPU" fio --name=fileread --filename="$FILE" --size="$size" --rw=randread --bs=4k \
            --ioengine="${impl#fio-}" --iodepth="$qd" --number_ios="$reads" --direct=0 --invalidate=0 \
            --fadvise_hint=0 --thread --randseed="$((seed + 1))" --output-format=json --output="$out" \
            >/dev/null || die "$impl: fio failed"
        local ios
        ios=$(jq '.jobs[0].read.total_ios' "$out")
        ((ios == reads)) || die "$impl: fio read $ios blocks, not $reads"
        jq '.jobs[0].read.iops' "$out" | awk '{ printf "%.0f\n", $1 }'
        ;;
    *) die "unknown implementation $impl" ;;
    esac
}

# The goals and the ratios shown: "A B GOAL" (GOAL "-": shown only). psync's
# rate is that of depth 1 at every depth (it has one read in flight).
pairs=()
for a in cio-io_uring cio-epoll cio-poll; do
    has "$a" || continue
    for b in fio-io_uring fio-psync; do
        has "$b" || continue
        g=-
        [[ $a == cio-io_uring && $b == fio-io_uring ]] && g=1.00
        [[ $a == cio-epoll && $b == fio-psync ]] && g=0.90
        pairs+=("$a $b $g")
    done
done

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
date_start=$(date -u '+%Y-%m-%d %H:%M UTC')
echo "fileread: ${impls[*]} on $FILE ($MIB MiB), CPU $CPU; load average at the start: $load_start"
declare -A rate=() pr=()
loads=()
for ((i = 0; i < RUNS; i++)); do
    loads+=("$(cut -d' ' -f1 /proc/loadavg)")
    echo "fileread: round $((i + 1)) of $RUNS ($(date -u +%H:%M:%S), load ${loads[-1]})" >&2
    for cache in $CACHES; do
        reads=$([[ $cache == warm ]] && echo "$WARM_READS" || echo "$COLD_READS")
        [[ $cache == warm ]] && warm_file
        for qd in $QDS; do
            declare -A this=()
            for impl in "${impls[@]}"; do
                sync_impl "$impl" && ((qd != 1)) && continue
                [[ $cache == cold ]] && drop_file
                this[$impl]=$(one_run "$impl" "$qd" "$reads" "$i")
                rate[$cache/$qd/$impl]+=" ${this[$impl]}"
                # Left resident by a cold run: the reads, and what readahead added.
                if [[ $cache == cold && $i == 0 ]]; then
                    echo "fileread:   $impl qd $qd cold: $(($(resident) / 4096)) pages resident after $reads reads" >&2
                fi
            done
            for p in "${pairs[@]}"; do
                read -r a b _ <<<"$p"
                bq=$qd
                sync_impl "$b" && bq=1
                [[ -n ${this[$a]:-} ]] || continue
                if [[ $bq == "$qd" ]]; then
                    pr[$cache/$qd/$a/$b]+=" $(ratio "${this[$a]}" "${this[$b]}")"
                else # depth 1 of this round, run just before
                    last=${rate[$cache/1/$b]##* }
                    pr[$cache/$qd/$a/$b]+=" $(ratio "${this[$a]}" "$last")"
                fi
            done
            unset this
        done
    done
done
load_end=$(cut -d' ' -f1-3 /proc/loadavg)
echo "fileread: load average at the end: $load_end"

rows=() goal_rows=()
fmt='%-5s %-3s %-13s %10s %23s\n'
# shellcheck disable=SC2059 # the format is ours
printf "$fmt" cache qd impl reads/s "(min..max)"
declare -A med=()
for cache in $CACHES; do
    for qd in $QDS; do
        for impl in "${impls[@]}"; do
            v=${rate[$cache/$qd/$impl]:-}
            [[ -n $v ]] || continue
            # shellcheck disable=SC2086 # space-separated numbers
            med[$cache/$qd/$impl]=$(median $v) range="$(min $v)..$(max $v)"
            csv_row "fileread_${cache}_qd$qd" "$impl" reads_per_s "${med[$cache/$qd/$impl]}" reads/s
            # shellcheck disable=SC2059
            printf "$fmt" "$cache" "$qd" "$impl" "${med[$cache/$qd/$impl]}" "($range)"
            rows+=("| $cache | $qd | $impl | ${med[$cache/$qd/$impl]} | $range |")
        done
    done
done
for cache in $CACHES; do
    for qd in $QDS; do
        for p in "${pairs[@]}"; do
            read -r a b g <<<"$p"
            v=${pr[$cache/$qd/$a/$b]:-}
            [[ -n $v ]] || continue
            bq=$qd
            sync_impl "$b" && bq=1
            # shellcheck disable=SC2086
            {
                rr=$(ratio "${med[$cache/$qd/$a]}" "${med[$cache/$bq/$b]}")
                rp=$(ratio "$(median $v)" 1) prange="$(min $v)..$(max $v)"
            }
            # The epoll goal is for a warm cache; cold it is shown.
            [[ $cache == cold && $b == fio-psync ]] && g=-
            verdict=-
            [[ $g == - ]] || verdict="≥ $g: $(awk -v r="$rp" -v g="$g" 'BEGIN { print (r >= g) ? "yes" : "no" }')"
            csv_row "fileread_${cache}_qd$qd" "$a/$b" ratio "$rr" x
            csv_row "fileread_${cache}_qd$qd" "$a/$b" ratio_paired "$rp" x
            printf '      %-5s %-3s %-13s / %-13s %6s (paired %s, %s) %s\n' "$cache" "$qd" "$a" "$b" "$rr" "$rp" \
                "$prange" "$verdict"
            goal_rows+=("| $cache | $qd | $a | $b | $rr | $rp | $prange | $verdict |")
        done
    done
done

fio_v=$(fio --version 2>/dev/null || echo none)
md_section fileread <<MD
## fileread: random 4 KiB reads from one file, warm and cold

One file of $MIB MiB on the root file system (a virtio disk), read in
random 4 KiB blocks, no block twice in a run, by cio on each backend
(\`bench/fileread_cio.c\`: one \`cio_prep_read\` per block, \`qd\` in
flight, each callback checks the bytes and submits the next read), by fio
($fio_v; \`ioengine=io_uring\`, \`libaio\` and \`psync\`, buffered,
\`invalidate=0 fadvise_hint=0\`, the job as a thread) and by a plain
\`pread\` loop (\`fileread_cio psync\`). Every run is pinned to CPU $CPU
(cio's blocking pool threads, which epoll and poll use for reads the page
cache cannot answer, too). \`warm\`: the file was read whole first and
fincore showed all of it resident; $WARM_READS reads per run. \`cold\`:
before every run the file's pages were dropped
(\`dd iflag=nocache count=0\`, i.e. \`posix_fadvise(POSIX_FADV_DONTNEED)\`)
and fincore showed none resident; $COLD_READS reads per run. The synchronous
ones (\`fio-psync\`, \`pread\`) run at depth 1 only; their rate is used at
every depth.

- Date: $date_start
- Machine: $(machine_desc)
- cio: $(git -C "$BENCH_ROOT" describe --always --dirty 2>/dev/null || echo unknown) (the working tree as built in $(basename "$BUILD_DIR"))
- Load average (1, 5, 15 min): $load_start at the start, $load_end at the end; 1-minute load at
  each round's start: ${loads[*]} (other helpers compiled on this 2-CPU machine meanwhile: the
  rates are lower and noisier than on a quiet machine; the paired ratios are what to read)
- Settings: median of $RUNS rounds, each running every implementation in turn
- One command: \`bench/run.sh fileread\`

| cache | qd | impl | reads/s | min..max |
|:------|---:|:-----|--------:|---------:|
$(printf '%s\n' "${rows[@]}")

Ratios: \`ratio\` of the medians, \`paired\` the median over the rounds of
the ratio of the two runs of the same round (the goal is judged on it),
with its min..max. Goals (issue 12): cio on io_uring at least 1.0x fio's
io_uring engine at both depths; cio on epoll at least 0.9x psync (fio's)
with a warm cache.

| cache | qd | cio | vs | ratio | paired | paired min..max | goal |
|:------|---:|:----|:---|------:|-------:|----------------:|:-----|
$(printf '%s\n' "${goal_rows[@]}")
MD
echo "results appended to $RESULTS_CSV; table written to $BENCH_MD"
((quick)) && cat "$BENCH_MD"
exit 0
