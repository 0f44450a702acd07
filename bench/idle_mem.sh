#!/usr/bin/env bash
# bench/idle_mem.sh - resident memory per idle connection: an echo server
# holding CONNS (10,000) open TCP connections that have each echoed one
# message and now wait for the next, cio's ways of writing it against
# libuv, tokio and the raw loops.
#
# The servers are bench/echo.sh's, unchanged; the client is
# bench/echo_client.c with ECHO_HOLD=1: it opens CONNS connections, makes
# one round trip of MSG bytes on each (one after the other), prints "held"
# and keeps them all open and idle until told to go on. Server and client
# are separate processes (the hard limit on open files, 20,000 here, is
# per process; the soft one is raised to it). The server's memory is read
# from /proc/PID/status (VmRSS, RssAnon, VmPTE) and
# /proc/PID/smaps_rollup (Pss) twice: once it listens and has set up its
# loop (SETTLE seconds after it printed its port, before any connection),
# and while the CONNS connections are held (SETTLE seconds after the
# client said "held", so that every receive is posted again). The growth
# divided by CONNS is the memory one idle connection costs in user space.
# Kernel memory (socket buffers, io_uring's requests) is not resident
# memory of the process and is not counted, except page tables (VmPTE,
# shown apart).
#
# Servers (SERVERS, default all that are built):
#   cio-1buf-io_uring, cio-1buf-epoll bench/echo_cio1.c: callbacks, a struct per connection with
#                                    one op and one 4 KiB buffer (malloc)
#   cio-io_uring, cio-epoll          bench/echo_cio.c: callbacks, a struct per connection with its
#                                    two ops and two 4 KiB buffers (one receiving while the other
#                                    sends; calloc)
#   cio-ms-io_uring, cio-ms-epoll    bench/echo_cio_ms.c: callbacks, one multishot recv per connection
#                                    from a buffer pool of POOL_BUFS 4 KiB buffers: an idle
#                                    connection holds no buffer
#   cio-task-io_uring, cio-task-epoll bench/echo_task.c: a task per connection, 4 KiB buffer on its stack
#   cio-task3k-io_uring              the same with a 3 KiB buffer (ECHO_TASK_BUF=3072)
#   cio-taskpool-io_uring, cio-taskpool-epoll  a task per connection receiving with cio_recv_pool
#                                    from one pool of POOL_BUFS 4 KiB buffers (ECHO_TASK_BUF=pool),
#                                    64 KiB stacks: an idle task holds no buffer
#   uring-multishot                  bench/echo_uring_ms.c: raw liburing, buffer ring of POOL_BUFS
#   epoll-raw                        bench/echo_epoll.c: raw epoll, 4 KiB buffer per connection
#   libuv                            bench/echo_uv.c: 4 KiB buffer in each connection's struct
#   tokio                            bench/echo_tokio: a task per connection, 4 KiB buffer in it
#
# Memory is not timing: other work on the machine does not change it, and
# the runs barely differ, but the median of RUNS is taken all the same.
# Goals (issue 12): cio with tasks at most tokio's (judged on the pool task
# server, whose idle task holds no buffer, as the issue allows; page tables
# are shown beside); cio with callbacks and provided buffers (cio-ms-*) at
# most 0.5 KiB per connection.
#
# Environment: BUILD_DIR (default build-bench), RUNS (3), CONNS (10000),
# MSG (64), POOL_BUFS (256), SETTLE (0.5 s), SERVERS, SERVER_CPU (1),
# CLIENT_CPU (0), TIMEOUT (120 s for one run).
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

RUNS=${RUNS:-3}
CONNS=${CONNS:-10000}
MSG=${MSG:-64}
POOL_BUFS=${POOL_BUFS:-256}
SETTLE=${SETTLE:-0.5}
TIMEOUT=${TIMEOUT:-120}
if (($(nproc) >= 2)); then
    SERVER_CPU=${SERVER_CPU:-1} CLIENT_CPU=${CLIENT_CPU:-0}
else
    SERVER_CPU=${SERVER_CPU:-0} CLIENT_CPU=${CLIENT_CPU:-0}
fi
GOAL_MS=0.5

tmp=$(mktemp -d)
trap 'exec 7>&- 2>/dev/null || true; rm -rf "$tmp"' EXIT
client_bin=$(bench_bin echo_client)

# Every connection takes a file in the server and one in the client.
hard=$(ulimit -Hn)
if [[ $hard != unlimited ]] && ((hard < CONNS + 64)); then
    echo "idle_mem: skipped: $CONNS connections need $((CONNS + 64)) open files per process; the hard limit is $hard"
    exit 0
fi
ulimit -n "$hard"

# The pool servers get a pool of POOL_BUFS buffers (their ECHO_BUFS), not
# their default of two per connection: a pool sized by the connections
# would be touched whole by the first message on each and say nothing
# about idleness.
ECHO_POOL_BUFS=$POOL_BUFS

impls=()
for impl in ${SERVERS:-cio-1buf-io_uring cio-1buf-epoll cio-io_uring cio-epoll cio-ms-io_uring cio-ms-epoll
    cio-task-io_uring cio-task-epoll cio-task3k-io_uring cio-taskpool-io_uring cio-taskpool-epoll uring-multishot epoll-raw libuv tokio}; do
    if bench_has "$(echo_server_bin "$impl")"; then
        impls+=("$impl")
    else
        echo "idle_mem: $impl skipped: $BUILD_DIR/bench/$(echo_server_bin "$impl") is not built"
    fi
done
((${#impls[@]} > 0)) || die "no server is built"

# mem PID: "RSS RSSANON PTE PSS" in KiB.
mem() {
    local rss anon pte pss
    rss=$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$1/status")
    anon=$(awk '$1 == "RssAnon:" { print $2 }' "/proc/$1/status")
    pte=$(awk '$1 == "VmPTE:" { print $2 }' "/proc/$1/status")
    pss=$(awk '$1 == "Pss:" { print $2 }' "/proc/$1/smaps_rollup")
    echo "$rss $anon $pte $pss"
}

# wait_line FILE PATTERN PID WHAT: waits up to TIMEOUT s for a line
# matching PATTERN in FILE while PID lives.
wait_line() {
    local t
    for ((t = 0; t < TIMEOUT * 100; t++)); do
        grep -q "$2" "$1" 2>/dev/null && return 0
        kill -0 "$3" 2>/dev/null || die "$4: exited before '$2'"
        sleep 0.01
    done
    die "$4: no '$2' after $TIMEOUT s"
}

# one_run IMPL: prints "RSS ANON PTE PSS" growth per connection, in KiB.
one_run() {
    local impl=$1 out=$tmp/server.out cout=$tmp/client.out spid cpid pid m0 m1 port
    local -a cmd
    read -r -a cmd <<<"$(echo_server_cmd "$impl")"
    : >"$out"
    : >"$cout"
    timeout -k 5 "$TIMEOUT" taskset -c "$SERVER_CPU" "${cmd[@]}" "$CONNS" >"$out" &
    spid=$!
    echo_wait_port "$impl" "$spid" "$out"
    port=$ECHO_PORT
    pid=$(pgrep -P "$spid" | head -n1) || true
    [[ -n $pid ]] || die "$impl: no server process under timeout ($spid)"
    sleep "$SETTLE"
    m0=$(mem "$pid")
    rm -f "$tmp/hold"
    mkfifo "$tmp/hold"
    exec 7<>"$tmp/hold" # read-write: opening does not wait for the other end
    ECHO_HOLD=1 timeout "$TIMEOUT" taskset -c "$CLIENT_CPU" "$client_bin" "$port" "$CONNS" 1 "$MSG" \
        <"$tmp/hold" >"$cout" &
    cpid=$!
    wait_line "$cout" '^held' "$cpid" "$impl: the client"
    sleep "$SETTLE"
    m1=$(mem "$pid")
    echo go >&7
    exec 7>&-
    wait "$cpid" || die "$impl: the client failed"
    wait "$spid" || die "$impl: the server failed"
    read -r r0 a0 p0 s0 <<<"$m0"
    read -r r1 a1 p1 s1 <<<"$m1"
    awk -v n="$CONNS" -v r="$((r1 - r0))" -v a="$((a1 - a0))" -v p="$((p1 - p0))" -v s="$((s1 - s0))" \
        -v base="$r0" 'BEGIN { printf "%.3f %.3f %.3f %.3f %d\n", r / n, a / n, p / n, s / n, base }'
}

echo "idle_mem: $CONNS idle connections, servers: ${impls[*]}"
declare -A rss=() anon=() pte=() pss=() base=()
for ((i = 0; i < RUNS; i++)); do
    for impl in "${impls[@]}"; do
        read -r r a p s b <<<"$(one_run "$impl")"
        rss[$impl]+=" $r" anon[$impl]+=" $a" pte[$impl]+=" $p" pss[$impl]+=" $s" base[$impl]+=" $b"
        echo "idle_mem: round $((i + 1)): $impl $r KiB/conn (RSS), $s (Pss)" >&2
    done
done

declare -A m=() mpte=()
rows=()
fmt='%-18s %9s %17s %9s %9s %9s %12s\n'
# shellcheck disable=SC2059 # the format is ours
printf "$fmt" server KiB/conn "(min..max)" anon pss pte base_KiB
for impl in "${impls[@]}"; do
    # shellcheck disable=SC2086 # space-separated numbers
    {
        m[$impl]=$(median ${rss[$impl]}) range="$(min ${rss[$impl]})..$(max ${rss[$impl]})"
        ma=$(median ${anon[$impl]}) mp=$(median ${pss[$impl]}) mt=$(median ${pte[$impl]})
        mb=$(median ${base[$impl]})
        mpte[$impl]=$mt
    }
    csv_row "idle_mem_c$CONNS" "$impl" rss_kib_per_conn "${m[$impl]}" KiB
    csv_row "idle_mem_c$CONNS" "$impl" anon_kib_per_conn "$ma" KiB
    csv_row "idle_mem_c$CONNS" "$impl" pss_kib_per_conn "$mp" KiB
    csv_row "idle_mem_c$CONNS" "$impl" pte_kib_per_conn "$mt" KiB
    # shellcheck disable=SC2059
    printf "$fmt" "$impl" "${m[$impl]}" "($range)" "$ma" "$mp" "$mt" "$mb"
    rows+=("| $impl | ${m[$impl]} | $range | $ma | $mp | $mt | $mb |")
done

goals=()
le() { awk -v a="$1" -v b="$2" 'BEGIN { print (a <= b) ? "yes" : "no" }'; }
if [[ -n ${m[tokio]:-} ]]; then
    for t in cio-task-io_uring cio-task-epoll cio-taskpool-io_uring cio-taskpool-epoll; do
        [[ -n ${m[$t]:-} ]] || continue
        sum_t=$(awk -v a="${m[$t]}" -v b="${mpte[$t]}" 'BEGIN { printf "%.3f", a + b }')
        sum_k=$(awk -v a="${m[tokio]}" -v b="${mpte[tokio]}" 'BEGIN { printf "%.3f", a + b }')
        goals+=("- $t: ${m[$t]} KiB per connection, tokio ${m[tokio]}: at most tokio's: $(le "${m[$t]}" "${m[tokio]}") (with page tables: $sum_t against $sum_k: $(le "$sum_t" "$sum_k"))")
    done
fi
for t in cio-ms-io_uring cio-ms-epoll; do
    [[ -n ${m[$t]:-} ]] || continue
    goals+=("- $t: ${m[$t]} KiB per connection: at most $GOAL_MS KiB: $(le "${m[$t]}" "$GOAL_MS")")
done
printf '%s\n' "${goals[@]}"

md_section idle_mem <<MD
## idle_mem: resident memory per idle connection

An echo server holds $CONNS TCP connections over loopback that have each
echoed one $MSG-byte message and wait for the next; the client
(\`bench/echo_client.c\` with \`ECHO_HOLD=1\`) is another process. The
servers are those of the echo scenario. \`KiB/conn\` is the growth of the
server's resident memory (VmRSS) from when it listened (its loop set up,
no connection) to when all $CONNS connections were held idle, divided by
$CONNS; \`anon\` the same for anonymous memory, \`Pss\` from
\`/proc/PID/smaps_rollup\`, \`pte\` page tables (VmPTE), \`base\` the
server's VmRSS with no connection. Kernel memory (socket buffers,
io_uring's requests) is not counted.

What each server keeps per connection:

- \`cio-1buf-io_uring\`, \`cio-1buf-epoll\`: callbacks (\`bench/echo_cio1.c\`),
  a struct with one op (receive, send, receive again) and one 4 KiB buffer,
  from \`malloc\`: what is resident is what was written, the op and the
  first bytes of the buffer
- \`cio-io_uring\`, \`cio-epoll\`: the echo scenario's callback server
  (\`bench/echo_cio.c\`), a struct with two ops and two 4 KiB buffers (the
  next receive is posted with the send), from \`calloc\`, which zeroes (so
  touches) all of it
- \`cio-ms-io_uring\`, \`cio-ms-epoll\`: callbacks with one multishot
  receive from a buffer pool (\`bench/echo_cio_ms.c\`, \`cio/bufpool.h\`): a
  struct with two ops and no buffer; the pool has $POOL_BUFS buffers of 4 KiB
  for all connections (\`ECHO_BUFS\`), which the first messages touch: at most
  $((POOL_BUFS * 4)) KiB in all, $(awk -v b="$POOL_BUFS" -v n="$CONNS" 'BEGIN { printf "%.3f", b * 4 / n }') KiB per connection at most
- \`cio-task-io_uring\`, \`cio-task-epoll\`: a task per connection
  (\`bench/echo_task.c\`), its 4 KiB buffer on the task's stack; the task
  struct and the parked frames take the top of the stack, so the buffer
  reaches into a second page, which the message is written into: two pages
- \`cio-task3k-io_uring\`: the same with a 3 KiB buffer
  (\`ECHO_TASK_BUF=3072\`), which fits in the top page with the frames
- \`cio-taskpool-io_uring\`, \`cio-taskpool-epoll\`: a task per connection
  that receives with \`cio_recv_pool\` from one pool of $POOL_BUFS 4 KiB
  buffers (\`ECHO_TASK_BUF=pool\`), sends from the buffer it was handed and
  puts it back: an idle task holds no buffer, only the top page of its
  stack (64 KiB stacks, so that more of them share a page-table page; the
  128 KiB guard below each stack is address space that still spreads them)
- \`uring-multishot\`: raw liburing, a multishot receive per connection
  from a buffer ring of $POOL_BUFS buffers (\`bench/echo_uring_ms.c\`)
- \`epoll-raw\`: raw epoll (\`bench/echo_epoll.c\`), a struct with a 4 KiB buffer
- \`libuv\`: (\`bench/echo_uv.c\`) a \`uv_tcp_t\` and a 4 KiB buffer per connection
- \`tokio\`: (\`bench/echo_tokio\`, current-thread) a task per connection
  with a 4 KiB buffer in its future

- Date: $(date -u '+%Y-%m-%d %H:%M UTC')
- Machine: $(machine_desc)
- cio: $(git -C "$BENCH_ROOT" describe --always --dirty 2>/dev/null || echo unknown) (the working tree as built in $(basename "$BUILD_DIR"))
- Settings: median of $RUNS runs per server; server on CPU $SERVER_CPU, client on CPU
  $CLIENT_CPU; load average $(cut -d' ' -f1-3 /proc/loadavg) at the end (memory is not
  disturbed by other work)
- One command: \`bench/run.sh idle_mem\`

| server | KiB/conn | min..max | anon KiB/conn | Pss KiB/conn | pte KiB/conn | base KiB |
|:-------|---------:|---------:|--------------:|-------------:|-------------:|---------:|
$(printf '%s\n' "${rows[@]}")

Goals (issue 12): cio with tasks at most tokio's per connection; cio with
callbacks and provided buffers at most $GOAL_MS KiB.

$(printf '%s\n' "${goals[@]}")
MD
echo "results appended to $RESULTS_CSV; table written to $BENCH_MD"
