#!/usr/bin/env bash
# bench/echo.sh - short echo round trips over TCP loopback: cio's echo
# servers against every anchor, all driven by the same client
# (bench/echo_client.c).
#
#   bench/echo.sh            the full run (about 25 minutes on 2 CPUs)
#   bench/echo.sh --quick    every server once, short: checks that all work;
#                            writes its table and CSV to a scratch directory
#
# Servers (SERVERS, default all that are built, in this order):
#   cio-io_uring, cio-epoll    bench/echo_cio.c: callbacks (cio-poll on request)
#   cio-task-io_uring, ...     bench/echo_task.c: a task per connection
#   uring-naive                bench/echo_uring.c: raw liburing, a recv and a send SQE per message
#   uring-multishot            bench/echo_uring_ms.c: raw liburing, multishot recv, buffer ring
#   epoll-raw                  bench/echo_epoll.c: raw level-triggered epoll
#   libuv, libevent            bench/echo_uv.c, bench/echo_event.c
#   tokio                      bench/echo_tokio/: tokio's current-thread runtime
#
# The client keeps one MSG-byte message in flight on each of C connections
# and counts ROUND_TRIPS replies; the server and the client run as separate
# processes pinned to different CPUs. For each message size and connection
# count the servers run in turn, RUNS times each, so that drift in the
# machine's speed hits all alike. Per server: the median round trips per
# second, the server's CPU time per round trip (all its threads, over the
# client's timed window: bench/echo_client.c reads /proc), the client's, and
# how often the server entered the kernel to wait (as it counts them itself).
# The goals of issue 12 are checked on paired ratios: the median over the
# rounds of the ratio of two servers' runs taken side by side, steadier than
# the ratio of the medians when the machine's speed drifts.
#
# Then, apart (tracing costs time), the system calls per round trip of each
# server at SYSCALL_CONNS connections: `perf stat` counts the server's
# raw_syscalls:sys_enter and a few syscalls:sys_enter_* tracepoints, enabled
# by the client for exactly its timed window (perf's --control fifo), mean
# of SYSCALL_RUNS runs.
#
# Environment: BUILD_DIR (default build-bench), RUNS (5), ROUND_TRIPS
# (200000), CONNS ("1 100 1000"), MSGS ("64 4096"), SERVERS, SYSCALL_CONNS
# ("100 1000"), SYSCALL_MSG (64), SYSCALL_ROUND_TRIPS (100000), SYSCALL_RUNS
# (3), SERVER_CPU (1), CLIENT_CPU (0), TIMEOUT (300 s for one run), PLOT
# (1: a gnuplot PNG in docs/ when gnuplot is installed).
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
quick=0
if [[ ${1:-} == --quick ]]; then
    quick=1
    RUNS=${RUNS:-1} ROUND_TRIPS=${ROUND_TRIPS:-20000} SYSCALL_ROUND_TRIPS=${SYSCALL_ROUND_TRIPS:-20000}
    SYSCALL_RUNS=${SYSCALL_RUNS:-1} PLOT=${PLOT:-0}
    # A check, not a result: nothing goes to the repository's files.
    RESULTS_CSV=$tmp/results.csv BENCH_MD=$tmp/BENCHMARKS.md
elif [[ -n ${1:-} ]]; then
    die "usage: $0 [--quick]"
fi
RUNS=${RUNS:-5}
ROUND_TRIPS=${ROUND_TRIPS:-200000}
CONNS=${CONNS:-1 100 1000}
MSGS=${MSGS:-64 4096}
SYSCALL_CONNS=${SYSCALL_CONNS:-100 1000}
SYSCALL_MSG=${SYSCALL_MSG:-64}
SYSCALL_ROUND_TRIPS=${SYSCALL_ROUND_TRIPS:-100000}
SYSCALL_RUNS=${SYSCALL_RUNS:-3}
TIMEOUT=${TIMEOUT:-300}
PLOT=${PLOT:-1}
if (($(nproc) >= 2)); then
    SERVER_CPU=${SERVER_CPU:-1} CLIENT_CPU=${CLIENT_CPU:-0}
else # one CPU: the two processes share it, and the numbers say little
    SERVER_CPU=${SERVER_CPU:-0} CLIENT_CPU=${CLIENT_CPU:-0}
fi

client_bin=$(bench_bin echo_client)

default_servers="cio-io_uring cio-task-io_uring cio-ms-io_uring cio-epoll cio-task-epoll cio-ms-epoll uring-naive
    uring-multishot epoll-raw libuv libevent tokio"
impls=()
for impl in ${SERVERS:-$default_servers}; do
    if bench_has "$(echo_server_bin "$impl")"; then
        impls+=("$impl")
    elif [[ -n ${SERVERS:-} || $impl != cio-ms-* ]]; then
        echo "echo: $impl skipped: $BUILD_DIR/bench/$(echo_server_bin "$impl") is not built" \
            "(see bench/CMakeLists.txt for what it needs)"
    fi
done
((${#impls[@]} > 0)) || die "no server is built"
has() { [[ " ${impls[*]} " == *" $1 "* ]]; }

# The goals of issue 12, each "SERVER ANCHOR RT_GOAL CPU_GOAL": the paired
# ratio of round trips per second at least RT_GOAL, that of server CPU time
# per round trip at most CPU_GOAL ("-": shown, no goal).
goals=()
for cio in cio-io_uring cio-ms-io_uring; do
    has "$cio" || continue
    goals+=("$cio uring-naive 1.00 0.90" "$cio uring-multishot 1.00 1.03" "$cio tokio 1.00 0.90"
        "$cio libuv 1.00 0.65" "$cio libevent - -")
done
goals+=("cio-task-io_uring cio-io_uring 0.95 1.05" "cio-epoll epoll-raw 0.97 -" "cio-epoll libuv - -"
    "cio-task-epoll cio-epoll 0.95 1.05" "cio-ms-epoll epoll-raw 0.97 -")
active_goals=()
for g in "${goals[@]}"; do
    read -r a b _ <<<"$g"
    if has "$a" && has "$b"; then active_goals+=("$g"); fi
done

# one_run IMPL CONNS: one server process, one client run against it.
one_run() {
    local -a cmd
    read -r -a cmd <<<"$(echo_server_cmd "$1")"
    echo_one_run "$1" "$2" "${cmd[@]}"
}

# meets VALUE OP GOAL: "yes"/"no", or "-" without a goal.
meets() {
    [[ $3 == - ]] && { echo -; return; }
    awk -v v="$1" -v g="$3" -v op="$2" 'BEGIN {
        ok = (op == ">=") ? v >= g : (op == "<") ? v < g : v <= g; print ok ? "yes" : "no" }'
}

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
date_start=$(date -u '+%Y-%m-%d %H:%M UTC')
echo "echo: servers: ${impls[*]}; load average at the start: $load_start"

rows=() goal_rows=() plot_rows=()
fmt='%-5s %-6s %-18s %9s %17s %8s %15s %6s %5s %5s %7s\n'
# shellcheck disable=SC2059 # the format is ours
printf "$fmt" msg conns server rt/s "(min..max)" "cpu ns" "(min..max)" user% srv% cli% waits/rt
for msg in $MSGS; do
    for conns in $CONNS; do
        declare -A rts=() cpus=() users=() syss=() clis=() waits=() sbusy=() cbusy=()
        declare -A prt=() pcpu=() this_rt=() this_cpu=()
        for ((i = 0; i < RUNS; i++)); do
            echo "echo: $msg bytes, $conns connections, round $((i + 1)) of $RUNS ($(date -u +%H:%M:%S)," \
                "load $(cut -d' ' -f1 /proc/loadavg))" >&2
            for impl in "${impls[@]}"; do
                res=$(MSG=$msg one_run "$impl" "$conns") # a failed run ends the script here
                read -r rt w cpu u s c <<<"$res"
                rts[$impl]+=" $rt" waits[$impl]+=" $w" cpus[$impl]+=" $cpu" users[$impl]+=" $u"
                syss[$impl]+=" $s" clis[$impl]+=" $c"
                sbusy[$impl]+=" $(awk -v a="$cpu" -v r="$rt" 'BEGIN { printf "%.1f", a * r / 1e7 }')"
                cbusy[$impl]+=" $(awk -v a="$c" -v r="$rt" 'BEGIN { printf "%.1f", a * r / 1e7 }')"
                this_rt[$impl]=$rt this_cpu[$impl]=$cpu
            done
            for g in "${active_goals[@]}"; do
                read -r a b _ <<<"$g"
                prt[$a/$b]+=" $(ratio "${this_rt[$a]}" "${this_rt[$b]}")"
                pcpu[$a/$b]+=" $(ratio "${this_cpu[$a]}" "${this_cpu[$b]}")"
            done
        done
        scenario="echo_m${msg}_c$conns"
        declare -A mrt=() mcpu=()
        for impl in "${impls[@]}"; do
            # shellcheck disable=SC2086 # the lists are space-separated numbers
            {
                mrt[$impl]=$(median ${rts[$impl]})
                mcpu[$impl]=$(median ${cpus[$impl]})
                rrange="$(min ${rts[$impl]})..$(max ${rts[$impl]})"
                crange="$(min ${cpus[$impl]})..$(max ${cpus[$impl]})"
                mu=$(median ${users[$impl]}) ms=$(median ${syss[$impl]})
                mcli=$(median ${clis[$impl]})
                msb=$(median ${sbusy[$impl]}) mcb=$(median ${cbusy[$impl]})
                w=$(ratio "$(median ${waits[$impl]})" 1)
            }
            ushare=$(awk -v u="$mu" -v s="$ms" 'BEGIN { printf "%.0f", (u + s > 0) ? 100 * u / (u + s) : 0 }')
            # Servers that cannot count their waits report 0: the syscall table has them.
            [[ $w == 0.000 ]] && w=-
            csv_row "$scenario" "$impl" rtt_per_s "${mrt[$impl]}" rt/s
            csv_row "$scenario" "$impl" server_cpu_ns_per_rt "${mcpu[$impl]}" ns/rt
            csv_row "$scenario" "$impl" client_cpu_ns_per_rt "$mcli" ns/rt
            [[ $w == - ]] || csv_row "$scenario" "$impl" enters_per_rt "$w" enters/rt
            # shellcheck disable=SC2059
            printf "$fmt" "$msg" "$conns" "$impl" "${mrt[$impl]}" "($rrange)" "${mcpu[$impl]}" "($crange)" \
                "$ushare" "$msb" "$mcb" "$w"
            rows+=("| $msg | $conns | $impl | ${mrt[$impl]} | $rrange | ${mcpu[$impl]} | $crange | $ushare | $msb | $mcb | $mcli | $w |")
            plot_rows+=("$msg $conns $impl ${mrt[$impl]} ${mcpu[$impl]}")
        done
        for g in "${active_goals[@]}"; do
            read -r a b grt gcpu <<<"$g"
            # shellcheck disable=SC2086
            {
                rr=$(ratio "${mrt[$a]}" "${mrt[$b]}") rp=$(ratio "$(median ${prt[$a/$b]})" 1)
                cr=$(ratio "${mcpu[$a]}" "${mcpu[$b]}") cp=$(ratio "$(median ${pcpu[$a/$b]})" 1)
            }
            csv_row "$scenario" "$a/$b" ratio "$rr" x
            csv_row "$scenario" "$a/$b" ratio_paired "$rp" x
            csv_row "$scenario" "$a/$b" cpu_ratio "$cr" x
            csv_row "$scenario" "$a/$b" cpu_ratio_paired "$cp" x
            rt_goal=$([[ $grt == - ]] && echo - || echo "≥ $grt: $(meets "$rp" ">=" "$grt")")
            cpu_goal=$([[ $gcpu == - ]] && echo - || echo "≤ $gcpu: $(meets "$cp" "<=" "$gcpu")")
            printf '      %-6s %-18s / %-16s rt/s %s (paired %s, %s)  cpu/rt %s (paired %s, %s)\n' "$conns" "$a" \
                "$b" "$rr" "$rp" "$rt_goal" "$cr" "$cp" "$cpu_goal"
            goal_rows+=("| $msg | $conns | $a | $b | $rr | $rp | $rt_goal | $cr | $cp | $cpu_goal |")
        done
        unset rts cpus users syss clis waits sbusy cbusy prt pcpu this_rt this_cpu mrt mcpu
    done
done

# --- System calls per round trip, apart: perf stat on the server, enabled
# by the client for its timed window only.
sys_rows=() sys_goals=() sys_note=""
declare -A sys_of=()
sys_events=(raw_syscalls:sys_enter)
sys_names=(io_uring_enter epoll_wait epoll_pwait epoll_ctl recvfrom recvmsg read readv sendto sendmsg write writev
    ioctl)
for n in "${sys_names[@]}"; do sys_events+=("syscalls:sys_enter_$n"); done
perf_ok=0
if ! command -v perf >/dev/null; then
    sys_note="perf is not installed (Debian: linux-perf; scripts/deps.sh bench): no system call counts."
elif ! perf stat -x, -o /dev/null -e "$(
    IFS=,
    echo "${sys_events[*]}"
)" -- true 2>/dev/null; then
    sys_note="perf cannot count the syscall tracepoints here (tracefs, perf_event_paranoid): no system call counts."
else
    perf_ok=1
fi
[[ -n $sys_note ]] && echo "echo: $sys_note"

# perf_run IMPL CONNS: one server under perf stat, one client run; prints
# "NAME=COUNT ..." for the events counted in the client's window.
perf_run() {
    local impl=$1 conns=$2 out=$tmp/server.out pout=$tmp/perf.out spid line
    local -a cmd
    read -r -a cmd <<<"$(echo_server_cmd "$impl")"
    rm -f "$tmp/ctl" "$tmp/ack" "$pout"
    mkfifo "$tmp/ctl" "$tmp/ack"
    : >"$out"
    timeout -k 5 "$TIMEOUT" perf stat -x, -o "$pout" -D -1 --control "fifo:$tmp/ctl,$tmp/ack" \
        -e "$(IFS=, && echo "${sys_events[*]}")" -- taskset -c "$SERVER_CPU" "${cmd[@]}" "$conns" >"$out" \
        2>"$tmp/perf.err" &
    spid=$!
    echo_wait_port "$impl" "$spid" "$out"
    if ! line=$(ECHO_PERF_CTL=$tmp/ctl ECHO_PERF_ACK=$tmp/ack timeout "$TIMEOUT" taskset -c "$CLIENT_CPU" \
        "$client_bin" "$ECHO_PORT" "$conns" "$SYSCALL_ROUND_TRIPS" "$SYSCALL_MSG"); then
        kill "$spid" 2>/dev/null || true
        wait "$spid" || true
        cat "$tmp/perf.err" >&2
        die "$impl: the client failed under perf with $conns connections"
    fi
    wait "$spid" || { cat "$tmp/perf.err" >&2; die "$impl: the server failed under perf with $conns connections"; }
    # CSV lines "COUNT,,EVENT,...": unsupported or absent events count 0.
    awk -F, '$3 ~ /sys_enter/ { n = $3; sub(/.*:/, "", n); sub(/^sys_enter_/, "", n);
        printf "%s=%s ", n, ($1 ~ /^[0-9]+$/) ? $1 : 0 } END { print "" }' "$pout"
}

if ((perf_ok)); then
    printf '%-6s %-18s %9s %8s %8s %8s %9s %8s %8s\n' conns server syscalls/rt waits recv send epoll_ctl ioctl other
    for conns in $SYSCALL_CONNS; do
        declare -A tot=()
        for ((i = 0; i < SYSCALL_RUNS; i++)); do
            for impl in "${impls[@]}"; do
                for kv in $(perf_run "$impl" "$conns"); do
                    tot[$impl:${kv%%=*}]=$((${tot[$impl:${kv%%=*}]:-0} + ${kv#*=}))
                done
            done
        done
        n=$((SYSCALL_RUNS * SYSCALL_ROUND_TRIPS))
        for impl in "${impls[@]}"; do
            g() { echo "${tot[$impl:$1]:-0}"; }
            all=$(g sys_enter)
            nwait=$(($(g io_uring_enter) + $(g epoll_wait) + $(g epoll_pwait)))
            recv=$(($(g recvfrom) + $(g recvmsg) + $(g read) + $(g readv)))
            send=$(($(g sendto) + $(g sendmsg) + $(g write) + $(g writev)))
            ctl=$(g epoll_ctl) ioc=$(g ioctl)
            other=$((all - nwait - recv - send - ctl - ioc))
            per() { awk -v a="$1" -v n="$n" 'BEGIN { printf "%.3f", a / n }'; }
            scenario="echo_syscalls_m${SYSCALL_MSG}_c$conns"
            csv_row "$scenario" "$impl" syscalls_per_rt "$(per "$all")" syscalls/rt
            csv_row "$scenario" "$impl" waits_per_rt "$(per "$nwait")" syscalls/rt
            printf '%-6s %-18s %9s %8s %8s %8s %9s %8s %8s\n' "$conns" "$impl" "$(per "$all")" "$(per "$nwait")" \
                "$(per "$recv")" "$(per "$send")" "$(per "$ctl")" "$(per "$ioc")" "$(per "$other")"
            [[ $impl == cio-epoll || $impl == libuv ]] && sys_of[$impl:$conns]=$(per "$all")
            sys_rows+=("| $conns | $impl | $(per "$all") | $(per "$nwait") | $(per "$recv") | $(per "$send") | $(per "$ctl") | $(per "$ioc") | $(per "$other") |")
        done
        unset tot
        if [[ -n ${sys_of[cio-epoll:$conns]:-} ]]; then
            e=${sys_of[cio-epoll:$conns]} u=${sys_of[libuv:$conns]:-}
            l="cio-epoll at $conns connections: $e system calls per round trip (at most 2.1: $(meets "$e" "<=" 2.1)"
            [[ -n $u ]] && l+="; fewer than libuv's $u: $(meets "$e" "<" "$u")"
            sys_goals+=("- $l)")
            echo "$l)"
        fi
    done
fi
load_end=$(cut -d' ' -f1-3 /proc/loadavg)
echo "echo: load average at the end: $load_end"

# --- A picture: server CPU time per round trip and round trips per second
# at 64 bytes, one bar per server, grouped by connection count.
plot_md=""
if ((PLOT)) && command -v gnuplot >/dev/null && [[ " $MSGS " == *" 64 "* ]]; then
    png=$(dirname "$BENCH_MD")/bench-echo.png
    dat=$tmp/plot.dat
    {
        for impl in "${impls[@]}"; do
            printf '%s' "$impl"
            for c in $CONNS; do
                printf '%s\n' "${plot_rows[@]}" | awk -v c="$c" -v i="$impl" \
                    '$1 == 64 && $2 == c && $3 == i { printf " %s %s", $4, $5 }'
            done
            printf '\n'
        done
    } >"$dat"
    ncols=$(echo "$CONNS" | wc -w)
    gnuplot <<GP && plot_md="![echo at 64 bytes: round trips per second and server CPU per round trip](bench-echo.png)"
set terminal pngcairo size 1200,760 font ",10"
set output "$png"
set multiplot layout 2,1 title "TCP echo, 64-byte messages, $(machine_desc | sed 's/"//g')"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set key outside right top vertical
set grid ytics
set xtics scale 0 rotate by -25
set termoption noenhanced
set yrange [0:*]
set ylabel "round trips per second (higher is better)"
plot for [i=1:$ncols] "$dat" using 2*i:xtic(1) title word("$CONNS", i)." conns"
set ylabel "server CPU ns per round trip (lower is better)"
plot for [i=1:$ncols] "$dat" using 2*i+1:xtic(1) title word("$CONNS", i)." conns"
unset multiplot
GP
    [[ -n $plot_md ]] || echo "echo: gnuplot failed; no picture"
fi

# A run on a busy machine says little; the table says so when it was. The
# benchmark's own two processes keep the 1-minute load near 2 while it runs;
# at the start, the Release build just before (bench/run.sh) leaves it near
# 2 as well on a machine that is otherwise quiet, so the start counts as
# busy only above 2.5.
load_md=""
if awk -v a="${load_start%% *}" -v b="${load_end%% *}" 'BEGIN { exit !(a > 2.5 || b > 3.0) }'; then
    load_md="
**Taken on a busy machine** (other work ran alongside: see the load above, and \`srv %\` and
\`cli %\` below, how much of its CPU each side got): round trips per second are then not what
the machine can do, and CPU time per round trip is inflated by the other work's cache and
scheduler traffic. Compare servers only through the paired ratios, and rerun on a quiet machine.
"
fi

servers_md=""
for impl in "${impls[@]}"; do
    case $impl in
    cio-task-*) d="cio with tasks on ${impl#cio-task-} (\`bench/echo_task.c\`: a task per connection looping \`cio_recv\` and \`cio_send\` on a 4 KiB buffer on its stack)" ;;
    cio-ms-*) d="cio with multishot receives from a buffer pool on ${impl#cio-ms-} (\`bench/echo_cio_ms.c\`)" ;;
    cio-*) d="cio with callbacks on ${impl#cio-} (\`bench/echo_cio.c\`: one struct per connection embedding its receive and send ops, two 4 KiB buffers so that the next receive is posted with the send)" ;;
    uring-naive) d="raw liburing, naive (\`bench/echo_uring.c\`: \`io_uring_queue_init\` with no flags, a recv SQE and a send SQE per message, one \`io_uring_submit_and_wait\` per turn)" ;;
    uring-multishot) d="raw liburing, the real limit (\`bench/echo_uring_ms.c\`: one multishot recv per connection from a registered buffer ring of 4 KiB buffers, the echo sent from the buffer the kernel filled, which goes back to the ring when the send completes; SINGLE_ISSUER, DEFER_TASKRUN and a registered ring fd as cio's backend sets up)" ;;
    epoll-raw) d="raw epoll (\`bench/echo_epoll.c\`: level-triggered, one \`recv\` and one \`send\` per event)" ;;
    libuv) d="libuv $(pkg-config --modversion libuv 2>/dev/null || echo '?') (\`bench/echo_uv.c\`: \`uv_read_start\`, each chunk copied into a \`uv_write\`)" ;;
    libevent) d="libevent $(pkg-config --modversion libevent_core 2>/dev/null || echo '?') (\`bench/echo_event.c\`: a socket bufferevent per connection whose read callback moves its input to its output)" ;;
    tokio) d="tokio $(sed -n 's/^version = "\(.*\)"/\1/p' /usr/share/cargo/registry/tokio-1.*/Cargo.toml 2>/dev/null | head -n1) current-thread (\`bench/echo_tokio/\`: a task per connection looping \`read\` and \`write_all\` on a 4 KiB buffer; Debian's crates, built offline)" ;;
    esac
    servers_md+="- \`$impl\`: $d"$'\n'
done

if ((perf_ok)); then
    sys_md="System calls per round trip, counted by \`perf stat\` on the server
(\`raw_syscalls:sys_enter\` and \`syscalls:sys_enter_*\`) over the client's
timed window only, $SYSCALL_ROUND_TRIPS round trips of $SYSCALL_MSG bytes, mean of $SYSCALL_RUNS runs, in
separate runs from the ones above. \`waits\` are \`io_uring_enter\`,
\`epoll_wait\` and \`epoll_pwait\`; \`recv\` counts recvfrom, recvmsg, read and
readv; \`send\` sendto, sendmsg, write and writev. Goal (issue 12): cio on
epoll at most 2.1 per round trip, and fewer than libuv.

| conns | server | syscalls/rt | waits | recv | send | epoll_ctl | ioctl | other |
|------:|:-------|------------:|------:|-----:|-----:|----------:|------:|------:|
$(printf '%s\n' "${sys_rows[@]}")

$(printf '%s\n' "${sys_goals[@]}")"
else
    sys_md="No system call counts: $sys_note"
fi

md_section echo <<MD
## echo: short round trips over TCP loopback

A client (\`bench/echo_client.c\`) keeps one message in flight on each of
\`conns\` connections: it sends it, waits until all of it has come back,
checks it and sends the next. Server and client are separate processes
pinned to different CPUs, so with one connection the number is a latency
(both sides' work adds up), with many a throughput (the slower side sets
it: with one load client on 2 CPUs it is usually the client, so the
server's CPU time per round trip is the sharper comparison). The servers:

$servers_md
- Date: $date_start
- Machine: $(machine_desc)
- cio: $(git -C "$BENCH_ROOT" describe --always --dirty 2>/dev/null || echo unknown) (the working tree as built in $(basename "$BUILD_DIR"))
- Load average (1, 5, 15 min): $load_start at the start, $load_end at the end
- Settings: median of $RUNS runs per server, taken in turn; $ROUND_TRIPS round trips per run;
  server on CPU $SERVER_CPU, client on CPU $CLIENT_CPU
- One command: \`bench/run.sh echo\` (a Release build in build-bench, the anchors installed
  where apt-get can, then this scenario); \`bench/echo.sh\` alone runs what is built
$load_md
\`cpu ns\` is the server's CPU time per round trip (user and system, all its
threads, from \`/proc/PID/task/*/schedstat\` read by the client right before
and after its timed window); \`user %\` its user-space share (from
\`/proc/PID/stat\`, in 10 ms ticks); \`srv %\` and \`cli %\` how busy the
server's and the client's CPUs were (CPU time over wall time, median);
\`client ns\` the client's CPU time per round trip. \`waits/rt\` is how often
the server entered the kernel to wait, as it counts that itself (\`-\`:
libevent and tokio have no hook for it; see the system calls below).

| msg B | conns | server | rt/s | min..max | cpu ns/rt | min..max | user % | srv % | cli % | client ns/rt | waits/rt |
|------:|------:|:-------|-----:|---------:|----------:|---------:|-------:|------:|------:|-------------:|---------:|
$(printf '%s\n' "${rows[@]}")

$plot_md

The goals of issue 12, on ratios of one server to another: \`rt/s\` the
ratio of the medians and \`paired\` the median of the ratios of the runs
taken side by side (the goal is judged on it); \`cpu/rt\` likewise for the
server's CPU time per round trip (lower is better for the first server).

| msg B | conns | server | vs | rt/s | paired | goal | cpu/rt | paired | goal |
|------:|------:|:-------|:---|-----:|-------:|:-----|-------:|-------:|:-----|
$(printf '%s\n' "${goal_rows[@]}")

$sys_md
MD
echo "results appended to $RESULTS_CSV; table written to $BENCH_MD"
((quick)) && cat "$BENCH_MD"
exit 0
