# shellcheck shell=bash
# bench/lib/common.sh - helpers the bench/*.sh scenario scripts source.
#
# Every scenario appends its medians to bench/out/results.csv (one row per
# scenario, implementation and metric, so that runs can be compared over
# time) and rewrites its own section of docs/BENCHMARKS.md, leaving the
# other scenarios' sections alone.

BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD_DIR=${BUILD_DIR:-$BENCH_ROOT/build-bench}
RESULTS_CSV=${RESULTS_CSV:-$BENCH_ROOT/bench/out/results.csv}
BENCH_MD=${BENCH_MD:-$BENCH_ROOT/docs/BENCHMARKS.md}

die() {
    echo "$(basename "$0"): $*" >&2
    exit 1
}

# The benchmark binary NAME from the build, or a hint at how to build it:
# the scenario scripts run what is built and never build anything.
bench_bin() {
    local bin=$BUILD_DIR/bench/$1
    [[ -x $bin ]] || die "$bin not found: build with -DCIO_BUILD_BENCH=ON (bench/run.sh does)"
    echo "$bin"
}

# bench_has NAME: whether the benchmark binary NAME was built (optional
# anchors are built only when their library is installed).
bench_has() { [[ -x $BUILD_DIR/bench/$1 ]]; }

# min N..., max N...: the smallest, the largest of the numbers given.
min() { printf '%s\n' "$@" | sort -g | head -n1; }
max() { printf '%s\n' "$@" | sort -g | tail -n1; }

# field LINE KEY: the value of KEY in a "key=value key=value" result line.
field() {
    local kv
    for kv in $1; do
        if [[ ${kv%%=*} == "$2" ]]; then
            echo "${kv#*=}"
            return 0
        fi
    done
    die "no '$2' in result line: $1"
}

# field_or LINE KEY DEFAULT: the value of KEY in LINE, or DEFAULT without it
# (an older program's result line, e.g. a base build in bench/ab.sh).
field_or() {
    local kv
    for kv in $1; do
        if [[ ${kv%%=*} == "$2" ]]; then
            echo "${kv#*=}"
            return 0
        fi
    done
    echo "$3"
}

# median N...: the median of the numbers given (mean of the middle two when
# their count is even).
median() {
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
        END { if (NR % 2) printf "%.10g\n", v[(NR + 1) / 2];
              else printf "%.10g\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# ratio A B: A / B with three decimals.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f\n", (b > 0) ? a / b : 0 }'; }

# csv_row SCENARIO IMPL METRIC MEDIAN UNIT: append one row to results.csv,
# creating it with its header first.
csv_row() {
    mkdir -p "$(dirname "$RESULTS_CSV")"
    [[ -s $RESULTS_CSV ]] || echo "scenario,impl,metric,median,unit" >"$RESULTS_CSV"
    echo "$1,$2,$3,$4,$5" >>"$RESULTS_CSV"
}

# One line describing where the numbers were taken.
machine_desc() {
    local cpu
    cpu=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)
    echo "${cpu:-unknown CPU}, $(nproc) CPUs, $(uname -sr)"
}

# md_section NAME < TEXT: replace the section NAME of docs/BENCHMARKS.md
# with TEXT (between marker comments), or append it if it is not there.
md_section() {
    local begin="<!-- bench:$1:begin -->" end="<!-- bench:$1:end -->" body tmp
    body=$(cat)
    mkdir -p "$(dirname "$BENCH_MD")"
    if [[ ! -s $BENCH_MD ]]; then
        cat >"$BENCH_MD" <<'HEAD'
# Benchmarks

Each section is written by the scenario script in `bench/` named after it
(`bench/run.sh` builds in Release and runs them all). Numbers are medians of
several runs; every run also appends its medians to `bench/out/results.csv`.
They describe the machine they were taken on, nothing more.
HEAD
    fi
    tmp=$(mktemp)
    if grep -qF "$begin" "$BENCH_MD"; then
        # The body goes through the environment: awk -v would expand backslashes.
        BODY=$body awk -v b="$begin" -v e="$end" '
            $0 == b { print; print ENVIRON["BODY"]; skip = 1; next }
            $0 == e { skip = 0 }
            !skip { print }' "$BENCH_MD" >"$tmp"
    else
        { cat "$BENCH_MD"; printf '\n%s\n%s\n%s\n' "$begin" "$body" "$end"; } >"$tmp"
    fi
    cat "$tmp" >"$BENCH_MD" # not mv: the file keeps its owner and mode
    rm -f "$tmp"
}

# echo_server_bin IMPL: the program (in $BUILD_DIR/bench) that runs the echo
# server IMPL, by the names bench/echo.sh, idle_mem.sh and cq.sh use.
echo_server_bin() {
    case $1 in
    cio-task-* | cio-task3k-* | cio-taskpool-*) echo echo_task ;;
    cio-ms-*) echo echo_cio_ms ;;
    cio-1buf-*) echo echo_cio1 ;;
    cio-*) echo echo_cio ;;
    uring-naive) echo echo_uring ;;
    uring-multishot) echo echo_uring_ms ;;
    epoll-raw) echo echo_epoll ;;
    libuv) echo echo_uv ;;
    libevent) echo echo_event ;;
    tokio) echo echo_tokio ;;
    *) die "unknown server $1" ;;
    esac
}

# echo_server_cmd IMPL: that server's command line, less its CONNS. The
# backend is named on the cio servers' command line; CIO_BACKEND would
# override it (and the server would refuse to run), so it is unset.
# ECHO_POOL_BUFS, when set, sizes the pool servers' pools (their ECHO_BUFS;
# by default the multishot ones hold two buffers per connection, the task
# one 256).
echo_server_cmd() {
    local bin pool=()
    bin=$BUILD_DIR/bench/$(echo_server_bin "$1")
    [[ -z ${ECHO_POOL_BUFS:-} ]] || pool=(ECHO_BUFS="$ECHO_POOL_BUFS")
    case $1 in
    cio-task3k-*) echo env -u CIO_BACKEND ECHO_TASK_BUF=3072 "$bin" "${1#cio-task3k-}" ;;
    cio-taskpool-*) echo env -u CIO_BACKEND ECHO_TASK_BUF=pool "${pool[@]}" "$bin" "${1#cio-taskpool-}" ;;
    cio-task-*) echo env -u CIO_BACKEND "$bin" "${1#cio-task-}" ;;
    cio-ms-*) echo env -u CIO_BACKEND "${pool[@]}" "$bin" "${1#cio-ms-}" ;;
    cio-1buf-*) echo env -u CIO_BACKEND "$bin" "${1#cio-1buf-}" ;;
    cio-*) echo env -u CIO_BACKEND "$bin" "${1#cio-}" ;;
    uring-multishot) echo env "${pool[@]}" "$bin" ;;
    *) echo "$bin" ;;
    esac
}

# echo_one_run NAME CONNS SERVER_CMD...: starts one echo server (it prints
# "port=N" once it listens and a "bench=echo-server ... enters=N" line when
# done), runs the client against it with CONNS connections, and prints
# "ROUND_TRIPS_PER_S ENTERS_PER_RT SERVER_CPU_NS_PER_RT SERVER_USER_NS_PER_RT
# SERVER_SYS_NS_PER_RT CLIENT_CPU_NS_PER_RT": the client measures the
# server's CPU time (all its threads, /proc) and its own over exactly the
# timed window (bench/echo_client.c, ECHO_SERVER_PID). The caller sets
# client_bin, tmp (a scratch directory), ROUND_TRIPS, MSG, TIMEOUT,
# SERVER_CPU and CLIENT_CPU. NAME is for messages.
echo_one_run() {
    local impl=$1 conns=$2 out=$tmp/server.out port="" line sline spid pid
    local -a cmd=("${@:3}")
    # Emptied here, not by the redirection below, which runs in the
    # background: the previous server's port must not be read as this one's.
    : >"$out"
    timeout -k 5 "$TIMEOUT" taskset -c "$SERVER_CPU" "${cmd[@]}" "$conns" >"$out" &
    spid=$!
    echo_wait_port "$impl" "$spid" "$out"
    port=$ECHO_PORT
    # timeout's one child: taskset and env exec the server in place.
    pid=$(pgrep -P "$spid" | head -n1) || true
    [[ -n $pid ]] || die "$impl: no server process under timeout ($spid)"
    # shellcheck disable=SC2154 # client_bin is the caller's
    if ! line=$(ECHO_SERVER_PID=$pid timeout "$TIMEOUT" taskset -c "$CLIENT_CPU" "$client_bin" "$port" "$conns" \
        "$ROUND_TRIPS" "$MSG"); then
        kill "$spid" 2>/dev/null || true
        wait "$spid" || true
        die "$impl: the client failed with $conns connections"
    fi
    wait "$spid" || die "$impl: the server failed with $conns connections"
    sline=$(grep '^bench=echo-server' "$out") || die "$impl: no result line from the server"
    awk -v rt="$(field "$line" rtt_per_s)" -v e="$(field "$sline" enters)" -v n="$ROUND_TRIPS" \
        -v cpu="$(field_or "$line" server_cpu_ns 0)" -v u="$(field_or "$line" server_user_ns 0)" \
        -v s="$(field_or "$line" server_sys_ns 0)" -v c="$(field_or "$line" client_cpu_ns 0)" \
        'BEGIN { printf "%s %.2f %.0f %.0f %.0f %.0f\n", rt, e / n, cpu / n, u / n, s / n, c / n }'
}

# echo_wait_port NAME PID OUT: waits up to 10 s for the server PID to print
# its port into OUT, and sets ECHO_PORT; dies if it does not.
echo_wait_port() {
    local t
    ECHO_PORT=""
    for ((t = 0; t < 1000; t++)); do
        ECHO_PORT=$(sed -n 's/^port=//p' "$3")
        [[ -n $ECHO_PORT ]] && return 0
        kill -0 "$2" 2>/dev/null || break # it died before listening
        sleep 0.01
    done
    kill "$2" 2>/dev/null || true
    wait "$2" || true
    die "$1: the server did not start"
}
