#!/usr/bin/env bash
# scripts/test.sh - what CI runs: build with -Werror under gcc and under clang, run the test suite
# and the examples on each, then do the same once more under ASan+UBSan. Prints a summary and exits
# non-zero if any step failed.
#
#   scripts/test.sh                              all four configurations
#   CIO_CI_CONFIGS="gcc asan" scripts/test.sh    a subset of gcc, clang, asan, posix
#   CIO_CI_CLEAN=1 scripts/test.sh               start from empty build directories
#
# Build directories: build-ci-gcc, build-ci-clang, build-ci-asan under the repository root
# (or under $CIO_CI_BUILD_ROOT).
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root" || exit 1
build_root=${CIO_CI_BUILD_ROOT:-$root}
configs=${CIO_CI_CONFIGS:-gcc clang asan posix}

"$root/scripts/deps.sh" || { echo "test.sh: installing dependencies failed" >&2; exit 1; }

summary=()     # one line per step: "status  seconds  what"
failed_tests=() # "<config>: <ctest name>"
failures=0
t_start=$SECONDS

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

run_ctest() { (cd "$1" && ctest --output-on-failure -j2); }

run_examples() {
    local dir=$1/examples rc=0 ex
    for ex in hello_timer tcp_echo; do
        echo "-- $ex"
        if ! timeout 60 "$dir/$ex"; then
            echo "example $ex FAILED"
            rc=1
        fi
    done
    return $rc
}

# run_config <name> <compiler> <cmake args...>: configure, build, ctest, examples.
run_config() {
    local name=$1 cc=$2 dir=$build_root/build-ci-$1
    shift 2
    if [[ ${CIO_CI_CLEAN:-0} == 1 ]]; then rm -rf "$dir"; fi
    step "$name" "configure ($cc $*)" \
        cmake -S "$root" -B "$dir" -G Ninja -DCMAKE_C_COMPILER="$cc" "$@" || return
    step "$name" "build" cmake --build "$dir" || return
    # ctest keeps the names of the failed tests of its last run here.
    local failed_log=$dir/Testing/Temporary/LastTestsFailed.log
    rm -f "$failed_log"
    if ! step "$name" "ctest" run_ctest "$dir"; then
        if [[ -f $failed_log ]]; then
            while IFS= read -r line; do failed_tests+=("$name: ${line#*:}"); done <"$failed_log"
        fi
    fi
    step "$name" "examples" run_examples "$dir"
}

# Does `cc` build and run a program with ASan+UBSan? (clang needs its runtime package for that.)
probe_dir=$(mktemp -d)
trap 'rm -rf "$probe_dir"' EXIT
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
        clang) run_config clang clang -DCMAKE_BUILD_TYPE=Debug -DCIO_WERROR=ON ;;
        # What macOS and the BSDs would build: the core and the poll backend
        # only, with no Linux interface (the posix_headers test checks the
        # includes), and the whole suite on the poll backend.
        posix) run_config posix gcc -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCIO_WERROR=ON -DCIO_POSIX_ONLY=ON ;;
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
            run_config asan "$san_cc" -DCMAKE_BUILD_TYPE=Debug -DCIO_SANITIZE=ON
            unset ASAN_OPTIONS UBSAN_OPTIONS
            ;;
        *) step "$config" "unknown configuration (use gcc, clang, asan, posix)" false ;;
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
