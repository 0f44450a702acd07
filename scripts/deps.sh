#!/usr/bin/env bash
# scripts/deps.sh - install what building and testing cio needs on Debian 12 (bookworm) or later.
#
#   scripts/deps.sh                  the native toolchains (what the gcc, clang, asan, posix CI
#                                    configurations need), and the real clients the examples'
#                                    tests drive them with: python3, socat, nc (netcat-openbsd)
#   scripts/deps.sh aarch64 win64    also the cross groups, for the CI configurations of those names:
#                                    aarch64 - gcc-aarch64-linux-gnu and qemu-user (runs the tests)
#                                    win64   - mingw-w64 (gcc for x86_64-w64-mingw32), wine64, and
#                                              python3 (the echo client of scripts/win_echo.sh)
#   scripts/deps.sh bench            also the benchmarks' anchors and tools (bench/): libuv, libevent,
#                                    Boost.Context, tokio (cargo and Debian's crates, built offline),
#                                    perf (system call counts), gnuplot (plots), fio and jq (the
#                                    file-read scenario's anchor and the parsing of its output)
#
# Does nothing when everything is already there. Otherwise runs `apt-get update` once and installs
# the missing packages without recommends, non-interactively, as root or through sudo.
set -euo pipefail

# libclang-rt-dev holds clang's sanitizer runtimes
# (clang itself only recommends it, so --no-install-recommends would leave -fsanitize unlinkable);
# llvm brings llvm-symbolizer, which turns sanitizer stack traces into file:line. gcc's sanitizer
# runtimes (libasan8, libubsan1) come with gcc through libgcc-12-dev.
packages=(cmake ninja-build gcc clang libc6-dev pkg-config liburing-dev libclang-rt-dev llvm
    python3 socat netcat-openbsd)
commands=(cmake ninja gcc clang pkg-config python3 socat nc)
for group in "$@"; do
    case $group in
        aarch64)
            packages+=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user)
            commands+=(aarch64-linux-gnu-gcc qemu-aarch64)
            ;;
        win64)
            packages+=(gcc-mingw-w64-x86-64 wine64 python3)
            commands+=(x86_64-w64-mingw32-gcc python3)
            ;;
        bench)
            packages+=(libuv1-dev libevent-dev libboost-context-dev cargo librust-tokio-dev linux-perf gnuplot-nox fio jq)
            commands+=(cargo perf gnuplot fio jq)
            ;;
        *)
            echo "deps: unknown package group '$group' (use aarch64, win64, bench)" >&2
            exit 2
            ;;
    esac
done

missing=()
if command -v dpkg-query >/dev/null 2>&1; then
    for p in "${packages[@]}"; do
        status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
        [[ $status == "install ok installed" ]] || missing+=("$p")
    done
fi
for cmd in "${commands[@]}"; do
    if ! command -v "$cmd" >/dev/null 2>&1; then
        missing+=("$cmd")
    fi
done

if ((${#missing[@]} == 0)); then
    echo "deps: all build and test dependencies are present"
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "deps: missing ${missing[*]}, and there is no apt-get here; install them by hand" >&2
    exit 1
fi

# Command names that differ from their package.
want=()
for p in "${missing[@]}"; do
    case $p in
        ninja) want+=(ninja-build) ;;
        aarch64-linux-gnu-gcc) want+=(gcc-aarch64-linux-gnu) ;;
        qemu-aarch64) want+=(qemu-user) ;;
        nc) want+=(netcat-openbsd) ;;
        perf) want+=(linux-perf) ;;
        gnuplot) want+=(gnuplot-nox) ;;
        x86_64-w64-mingw32-gcc) want+=(gcc-mingw-w64-x86-64) ;;
        *) want+=("$p") ;;
    esac
done
mapfile -t want < <(printf '%s\n' "${want[@]}" | sort -u)

as_root=()
if ((EUID != 0)); then
    if ! command -v sudo >/dev/null 2>&1; then
        echo "deps: need root (or sudo) to install: ${want[*]}" >&2
        exit 1
    fi
    as_root=(sudo)
fi

echo "deps: installing ${want[*]}"
${as_root[@]+"${as_root[@]}"} env DEBIAN_FRONTEND=noninteractive apt-get update -q
${as_root[@]+"${as_root[@]}"} env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${want[@]}"
