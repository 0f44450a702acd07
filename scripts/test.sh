#!/usr/bin/env bash
# scripts/test.sh - what CI runs: build with -Werror under gcc and under clang, run the test suite
# and the examples on each, then do the same once more under ASan+UBSan, and the threaded tests
# under ThreadSanitizer; cross-build for aarch64
# (tests under qemu-user) and for Windows x64 (tests under Wine). Prints a summary and
# exits non-zero if any step failed.
#
#   scripts/test.sh                              all configurations
#   CIO_CI_CONFIGS="gcc asan" scripts/test.sh    a subset of gcc, clang, asan, tsan, posix, aarch64, win64
#   CIO_CI_CLEAN=1 scripts/test.sh               start from empty build directories
#
# Build directories: build-ci-<config> under the repository root (or under $CIO_CI_BUILD_ROOT).
# The cross configurations install their toolchains and emulators (scripts/deps.sh groups of the
# same names) only when they run.
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root" || exit 1
build_root=${CIO_CI_BUILD_ROOT:-$root}
configs=${CIO_CI_CONFIGS:-gcc clang asan tsan posix aarch64 win64}

dep_groups=()
for config in $configs; do
    case $config in aarch64 | win64) dep_groups+=("$config") ;; esac
done
t_start=$SECONDS
t_deps=$SECONDS
"$root/scripts/deps.sh" ${dep_groups[@]+"${dep_groups[@]}"} ||
    { echo "test.sh: installing dependencies failed" >&2; exit 1; }
deps_seconds=$((SECONDS - t_deps))

summary=("$(printf '%-4s %5ss  [%s] %s' PASS "$deps_seconds" deps "scripts/deps.sh ${dep_groups[*]}")")
failed_tests=() # "<config>: <ctest name>"
failures=0

# step <config> <what> <command...>: runs a command, records PASS/FAIL and its duration.
step() {
    local config=$1 what=$2 t0=$SECONDS rc
    shift 2
    echo
    echo "==== [$config] $what"
    "$@"
    rc=$?
    local status=PASS
    if ((rc != 0)); then
        status=FAIL
        failures=$((failures + 1))
    fi
    summary+=("$(printf '%-4s %5ss  [%s] %s' "$status" $((SECONDS - t0)) "$config" "$what")")
    return $rc
}

ctest_args=()
ctest_limit="" # seconds for the whole ctest run (empty: no bound beyond the tests' own timeouts)
run_ctest() {
    local rc limit=()
    if [[ -n $ctest_limit ]]; then limit=(timeout -k 10 "$ctest_limit"); fi
    (cd "$1" && ${limit[@]+"${limit[@]}"} ctest --output-on-failure -j2 ${ctest_args[@]+"${ctest_args[@]}"})
    rc=$?
    if ((rc == 124)); then echo "ctest stopped after ${ctest_limit}s"; fi
    print_skips "$1"
    return $rc
}

# print_skips <build dir>: every test (or case) that did not run says so by name and reason on a
# line "SKIP <test>: <reason>" (tests/port.h, tests/CMakeLists.txt); ctest itself only counts them.
print_skips() {
    local log=$1/Testing/Temporary/LastTest.log
    [[ -f $log ]] || return 0
    local skips
    skips=$(grep -a -h -E '^SKIP [^ ]+: ' "$log" | sort -u)
    if [[ -n $skips ]]; then
        echo "skipped, with reasons ($(printf '%s\n' "$skips" | wc -l)):"
        printf '%s\n' "$skips" | sed 's/^/  /'
    fi
}

# run_examples <build dir> [runner...]: the runner (an emulator) prefixes each example.
# The L3 examples run here in their `self` mode (their own clients, files and pipes); ctest drives
# them with outside clients (scripts/examples_check.py, the "examples" label).
run_examples() {
    local dir=$1/examples rc=0 ex args
    shift
    for ex in hello_timer tcp_echo "echo_server self 3" "echo_client self" "cat self" "pcopy self" \
        "chat_server self 3" "runner self"; do
        read -ra args <<<"$ex"
        echo "-- $ex"
        if ! timeout 60 "$@" "$dir/${args[0]}" "${args[@]:1}"; then
            echo "example $ex FAILED"
            rc=1
        fi
    done
    return $rc
}

# run_config <name> <compiler> <cmake args...>: configure, build, ctest, examples. The globals
# config_src (the source tree, default the repository), example_runner (a command that runs a
# target program; empty: run it directly) and with_examples (0: skip them) adjust it for cross builds.
config_src=$root
example_runner=()
with_examples=1
run_config() {
    local name=$1 cc=$2 dir=$build_root/build-ci-$1
    shift 2
    if [[ ${CIO_CI_CLEAN:-0} == 1 ]]; then rm -rf "$dir"; fi
    step "$name" "configure ($cc $*)" \
        cmake -S "$config_src" -B "$dir" -G Ninja -DCMAKE_C_COMPILER="$cc" "$@" || return
    step "$name" "build" cmake --build "$dir" || return
    # ctest keeps the names of the failed tests of its last run here.
    local failed_log=$dir/Testing/Temporary/LastTestsFailed.log
    rm -f "$failed_log"
    if ! step "$name" "ctest" run_ctest "$dir"; then
        if [[ -f $failed_log ]]; then
            while IFS= read -r line; do failed_tests+=("$name: ${line#*:}"); done <"$failed_log"
        fi
    fi
    if ((with_examples)); then
        step "$name" "examples" run_examples "$dir" ${example_runner[@]+"${example_runner[@]}"}
    fi
}

# Wine for the win64 configuration: a throwaway prefix, no debug output, no display (the tests are
# console programs), and one persistent wineserver for the whole run, started with its output away
# from ours so that nothing it leaves behind holds the CI log open; stopped on exit.
wine_prefix=""
wine_cmd() {
    local w
    for w in wine64 /usr/lib/wine/wine64 wine; do
        if command -v "$w" >/dev/null 2>&1; then echo "$w"; return 0; fi
    done
    return 1
}
wineserver_cmd() {
    local w
    for w in wineserver /usr/lib/wine/wineserver64 /usr/lib/wine/wineserver; do
        if command -v "$w" >/dev/null 2>&1; then echo "$w"; return 0; fi
    done
    return 1
}
wine_start() {
    local wine server
    wine=$(wine_cmd) || { echo "wine64 not found"; return 1; }
    server=$(wineserver_cmd) || { echo "wineserver not found"; return 1; }
    wine_prefix=$(mktemp -d "${TMPDIR:-/tmp}/cio-wine.XXXXXX")
    export WINEPREFIX=$wine_prefix WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
    unset DISPLAY WAYLAND_DISPLAY
    "$server" -p </dev/null >/dev/null 2>&1
    # Creating the prefix takes a few seconds, once. Its output must go to
    # /dev/null: the first Wine program of a server session starts Wine's
    # own processes, which inherit its standard error and keep it open as
    # long as the server lives (tests/CMakeLists.txt's wine_session does the
    # same for a ctest run on its own).
    timeout 120 "$wine" wineboot --init </dev/null >/dev/null 2>&1
}
wine_stop() {
    if [[ -n $wine_prefix ]]; then
        local server
        if server=$(wineserver_cmd); then WINEPREFIX=$wine_prefix "$server" -k >/dev/null 2>&1; fi
        rm -rf "$wine_prefix"
        wine_prefix=""
    fi
}

# ---- win64: the build side (examples, echo servers, package, benchmarks) -------------------------
# Called by the win64 configuration after its ctest run, in the same build directory and Wine
# prefix; each part is a step of its own. Kept apart from the test-running part above it.
win_examples() {
    local dir=$1/examples wine rc=0 ex
    wine=$(wine_cmd) || return 1
    # The examples that run alone: hello_timer, tcp_echo, task_echo, udp_echo and the L3 examples'
    # self modes on the default backend (IOCP), mock_script and mock_short_write on the mock.
    local args
    for ex in hello_timer tcp_echo "task_echo 0 3 self" udp_echo mock_script "mock_short_write 50 1 fixed" \
        "echo_server self 3" "echo_client self" "cat self" "pcopy self" "chat_server self 3" "runner self"; do
        read -ra args <<<"$ex"
        echo "-- $ex"
        if ! timeout -k 5 60 "$wine" "$dir/${args[0]}.exe" "${args[@]:1}"; then
            echo "example $ex FAILED"
            rc=1
        fi
    done
    return $rc
}
# Only the Windows benchmark programs (bench/CMakeLists.txt), not the whole tree once more.
win_build_bench() {
    cmake -S "$root" -B "$1" -DCIO_BUILD_BENCH=ON >/dev/null &&
        cmake --build "$1" --target nop_cio echo_cio echo_task spawn_cio switch_cio
}
win_build_side() {
    local dir=$build_root/build-ci-win64
    if [[ ! -f $dir/libcio.dll ]]; then
        echo "win64: no library built: examples, package and benchmarks not run"
        return
    fi
    step win64 "examples under Wine" win_examples "$dir"
    step win64 "echo examples serve a Linux client (scripts/win_echo.sh)" "$root/scripts/win_echo.sh" "$dir"
    step win64 "L3 examples driven by Linux clients (scripts/examples_check.py under Wine)" \
        timeout -k 10 900 python3 "$root/scripts/examples_check.py" --bin "$dir/examples" --exe .exe \
        --runner "$(wine_cmd)" --conns 200 all
    step win64 "installed package: exports, DLL and static (scripts/win_install_check.sh)" \
        "$root/scripts/win_install_check.sh" "$dir"
    if step win64 "build the benchmark programs" win_build_bench "$dir"; then
        step win64 "benchmark programs under Wine, smoke only (bench/win_smoke.sh)" \
            env WIN_BUILD_DIR="$dir" BUILD_DIR="$dir/no-native-bench" "$root/bench/win_smoke.sh"
    fi
}

# Does `cc` build and run a program with ASan+UBSan? (clang needs its runtime package for that.)
probe_dir=$(mktemp -d)
trap 'rm -rf "$probe_dir"; wine_stop' EXIT
sanitizer_works() {
    printf 'int main(void) { return 0; }\n' >"$probe_dir/ok.c"
    "$1" -fsanitize=address,undefined "$probe_dir/ok.c" -o "$probe_dir/ok" 2>/dev/null && "$probe_dir/ok"
}

# LeakSanitizer stops the process with ptrace-like machinery to scan it; some containers forbid
# that, and every test would then fail with "LeakSanitizer has encountered a fatal error". So leak
# checking is on only where a known leak is actually reported.
leak_detection_works() {
    cat >"$probe_dir/leak.c" <<'EOF'
#include <stdlib.h>
static void *volatile sink;
__attribute__((noinline)) static void leak(void) { sink = malloc(7); sink = 0; }
int main(void) { leak(); return 0; }
EOF
    "$1" -fsanitize=address "$probe_dir/leak.c" -o "$probe_dir/leak" 2>/dev/null || return 1
    # The program exits non-zero when the leak is found: look at what it says, not at its status.
    local out
    out=$(ASAN_OPTIONS=detect_leaks=1 "$probe_dir/leak" 2>&1)
    [[ $out == *"detected memory leaks"* ]]
}

for config in $configs; do
    case $config in
        gcc) run_config gcc gcc -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCIO_WERROR=ON ;;
        # The mock's 1,000 seeds per program run in the gcc configuration; the others run 200.
        clang) CIO_MOCK_SEEDS_CAP=200 run_config clang clang -DCMAKE_BUILD_TYPE=Debug -DCIO_WERROR=ON ;;
        # What macOS and the BSDs would build: the core and the poll backend
        # only, with no Linux interface (the posix_headers test checks the
        # includes), and the whole suite on the poll backend.
        posix) CIO_MOCK_SEEDS_CAP=200 run_config posix gcc -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCIO_WERROR=ON \
            -DCIO_POSIX_ONLY=ON ;;
        asan)
            san_cc=""
            for cc in clang gcc; do
                if sanitizer_works "$cc"; then san_cc=$cc; break; fi
            done
            if [[ -z $san_cc ]]; then
                step asan "find a compiler whose ASan+UBSan works" false
                continue
            fi
            leaks=0
            if leak_detection_works "$san_cc"; then leaks=1; fi
            echo "asan: using $san_cc, detect_leaks=$leaks"
            export ASAN_OPTIONS="detect_leaks=$leaks:abort_on_error=0:halt_on_error=1"
            export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
            # A process per seed starts slowly under ASan: 200 seeds of each example here, the
            # plain configurations run the full 1,000 (tests/mock_seeds.c).
            export CIO_MOCK_SEEDS_CAP=200
            run_config asan "$san_cc" -DCMAKE_BUILD_TYPE=Debug -DCIO_SANITIZE=ON
            unset ASAN_OPTIONS UBSAN_OPTIONS CIO_MOCK_SEEDS_CAP
            ;;
        # ThreadSanitizer over the tests that run threads (their own, or the
        # blocking pool's): the label "threads" (tests/CMakeLists.txt).
        # die_after_fork=0: some tests fork a child that starts pool threads.
        tsan)
            ctest_args=(-L threads) with_examples=0
            export TSAN_OPTIONS="halt_on_error=1:die_after_fork=0:second_deadlock_stack=1"
            run_config tsan clang -DCMAKE_BUILD_TYPE=Debug -DCIO_TSAN=ON -DCIO_WERROR=ON
            unset TSAN_OPTIONS
            ctest_args=() with_examples=1
            ;;
        # The whole library for 64-bit ARM, its tests run by qemu-user (ctest's cross-compiling
        # emulator). No io_uring: its rings are shared memory that qemu-user cannot translate.
        aarch64)
            example_runner=(qemu-aarch64 -L /usr/aarch64-linux-gnu)
            run_config aarch64 aarch64-linux-gnu-gcc -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCIO_WERROR=ON \
                -DCMAKE_TOOLCHAIN_FILE="$root/cmake/toolchain-aarch64-linux-gnu.cmake" -DCIO_WITH_URING=OFF
            example_runner=()
            ;;
        # Windows x64: the whole project (library, tests, examples) built with mingw-w64 and its
        # tests run by Wine (ctest's cross-compiling emulator, from the toolchain file), each test
        # once on the IOCP backend (tests that name the mock run once on it). The context-switch
        # tests of tests/cross are among them. Bounded: 60 s per test, the tests' own watchdog
        # at 50 s, 15 minutes for the whole ctest run. Tests that cannot run under Windows are
        # listed as skipped with their reasons (print_skips).
        win64)
            if step win64 "start wine (prefix, wineserver)" wine_start; then
                with_examples=0 ctest_limit=900
                export CIO_TEST_WATCHDOG=50
                run_config win64 x86_64-w64-mingw32-gcc -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCIO_WERROR=ON \
                    -DCMAKE_TOOLCHAIN_FILE="$root/cmake/toolchain-x86_64-w64-mingw32.cmake" \
                    -DCIO_WINEPREFIX="$wine_prefix" -DCIO_TEST_TIMEOUT=60
                unset CIO_TEST_WATCHDOG
                with_examples=1 ctest_limit=""
                win_build_side # examples, echo servers, package, benchmarks (above)
            fi
            wine_stop
            unset WINEPREFIX WINEDEBUG WINEDLLOVERRIDES
            ;;
        *) step "$config" "unknown configuration (use gcc, clang, asan, tsan, posix, aarch64, win64)" false ;;
    esac
done

echo
echo "================ summary ================"
printf '%s\n' "${summary[@]}"
if ((${#failed_tests[@]} > 0)); then
    echo "failed tests:"
    printf '  %s\n' "${failed_tests[@]}"
fi
echo "total: $((SECONDS - t_start))s, $failures failed step(s)"
if ((failures > 0)); then
    echo "RESULT: FAIL"
    exit 1
fi
echo "RESULT: PASS"
