#!/usr/bin/env bash
# scripts/win_install_check.sh BUILD_DIR - the Windows package (mingw-w64 build) works for a project
# outside the tree, and exports what it should (the Windows counterpart of tests/install).
#
# Installs BUILD_DIR into a fresh prefix and checks:
#   - the layout: include/cio.h, lib/libcio.a, lib/libcio.dll.a, bin/libcio.dll,
#     lib/pkgconfig/cio.pc (and cio-static.pc), lib/cmake/cio/cioConfig.cmake;
#   - libcio.dll exports only cio_* (nothing internal: no cio__*), and imports only system DLLs
#     (no libgcc_s, no libwinpthread: it is linked with -static-libgcc and uses Win32 threads);
#   - tests/install/consumer/consumer.c, built with -Werror through pkg-config against the DLL
#     (cio.pc: -DCIO_USING_SHARED, import library) and against libcio.a (cio-static.pc), and through
#     find_package(cio) with cio::cio and cio::cio_static: each program runs under Wine and passes;
#     the DLL programs import libcio.dll, the static ones do not and export nothing.
#
# Environment: WINEPREFIX (as for any Wine run), CIO_WINE (the loader; default wine64 from PATH or
# /usr/lib/wine/wine64), CC (default x86_64-w64-mingw32-gcc). Exit status 1 on the first failure.
set -uo pipefail

build=${1:?usage: win_install_check.sh BUILD_DIR}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cc=${CC:-x86_64-w64-mingw32-gcc}
objdump=${OBJDUMP:-x86_64-w64-mingw32-objdump}
wine=${CIO_WINE:-}
if [[ -z $wine ]]; then
    for w in wine64 /usr/lib/wine/wine64 wine; do
        if command -v "$w" >/dev/null 2>&1; then wine=$w; break; fi
    done
fi
[[ -n $wine ]] || { echo "win_install_check: wine64 not found"; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/cio-win-install.XXXXXX")
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix

fail() {
    echo "win_install_check: FAILED: $*"
    exit 1
}
ok() { echo "ok: $*"; }

# exports <pe file>: its exported names, one a line (none: nothing).
exports() {
    "$objdump" -p "$1" | sed -n '/^\[Ordinal\/Name Pointer\] Table/,/^$/p' | awk '/^\t\[/ { print $NF }'
}
# imports <pe file>: the DLLs it imports, one a line.
imports() { "$objdump" -p "$1" | awk '/DLL Name:/ { print $3 }'; }

# ---- install and layout ----
cmake --install "$build" --prefix "$prefix" >"$work/install.log" 2>&1 || { cat "$work/install.log"; fail "cmake --install"; }
for f in include/cio.h lib/libcio.a lib/libcio.dll.a bin/libcio.dll lib/pkgconfig/cio.pc lib/pkgconfig/cio-static.pc \
    lib/cmake/cio/cioConfig.cmake; do
    [[ -f $prefix/$f ]] || fail "the install lacks $f"
done
ok "install layout (include/, lib/libcio.a, lib/libcio.dll.a, bin/libcio.dll, lib/pkgconfig/cio.pc)"

# ---- the DLL: what it exports and imports ----
dll=$prefix/bin/libcio.dll
mapfile -t names < <(exports "$dll")
((${#names[@]} > 0)) || fail "libcio.dll exports nothing"
for n in "${names[@]}"; do
    [[ $n == cio_* && $n != cio__* ]] || fail "libcio.dll exports '$n', which is not part of the API"
done
ok "libcio.dll exports ${#names[@]} symbols, all cio_*"
mapfile -t dlls < <(imports "$dll")
for d in "${dlls[@]}"; do
    case ${d,,} in
        kernel32.dll | msvcrt.dll | ws2_32.dll | ntdll.dll | mswsock.dll | advapi32.dll) ;;
        *) fail "libcio.dll imports $d: only system DLLs expected" ;;
    esac
done
ok "libcio.dll imports only system DLLs: ${dlls[*]}"

# run_exe <exe>: under Wine, must print the consumer's ok line and exit 0.
run_exe() {
    local out
    out=$(timeout -k 5 60 "$wine" "$1" 2>&1) || { echo "$out"; fail "$(basename "$1") under Wine"; }
    [[ $out == *": ok"* ]] || { echo "$out"; fail "$(basename "$1") printed no ok line"; }
    ok "$(basename "$1") runs under Wine: $(tr -d '\r' <<<"$out")"
}
# check_linkage <exe> shared|static
check_linkage() {
    local exe=$1 kind=$2 imp
    imp=$(imports "$exe" | tr '[:upper:]' '[:lower:]')
    if [[ $kind == shared ]]; then
        grep -qx 'libcio.dll' <<<"$imp" || fail "$(basename "$exe") does not import libcio.dll"
        # CIO_USING_SHARED (dllimport): calls load __imp_cio_* themselves; without it the linker
        # adds a jump stub named after each function it calls.
        if "$objdump" -d "$exe" | grep -q '^[0-9a-f]* <cio_[a-z_]*>:'; then
            fail "$(basename "$exe") calls cio through linker stubs: built without CIO_USING_SHARED"
        fi
    else
        ! grep -qx 'libcio.dll' <<<"$imp" || fail "$(basename "$exe") imports libcio.dll but was linked statically"
    fi
    [[ -z $(exports "$exe") ]] || fail "$(basename "$exe") exports: $(exports "$exe" | tr '\n' ' ')"
    ok "$(basename "$exe"): $kind, exports nothing"
}

src=$root/tests/install/consumer/consumer.c
cflags=(-std=c11 -Wall -Wextra -Wpedantic -Werror)

# ---- pkg-config ----
if command -v pkg-config >/dev/null 2>&1; then
    export PKG_CONFIG_LIBDIR=$prefix/lib/pkgconfig PKG_CONFIG_PATH=""
    read -ra pc_shared <<<"$(pkg-config --cflags --libs cio)" || fail "pkg-config cio"
    read -ra pc_static <<<"$(pkg-config --cflags --libs cio-static)" || fail "pkg-config cio-static"
    mkdir -p "$work/pc"
    "$cc" "${cflags[@]}" "$src" "${pc_shared[@]}" -o "$work/pc/consumer_pc_shared.exe" ||
        fail "compile with pkg-config cio (${pc_shared[*]})"
    "$cc" "${cflags[@]}" "$src" "${pc_static[@]}" -o "$work/pc/consumer_pc_static.exe" ||
        fail "compile with pkg-config cio-static (${pc_static[*]})"
    cp "$dll" "$work/pc/" # Windows finds a program's DLLs next to it
    check_linkage "$work/pc/consumer_pc_shared.exe" shared
    check_linkage "$work/pc/consumer_pc_static.exe" static
    run_exe "$work/pc/consumer_pc_shared.exe"
    run_exe "$work/pc/consumer_pc_static.exe"
    unset PKG_CONFIG_LIBDIR PKG_CONFIG_PATH
else
    echo "skip: pkg-config not found"
fi

# ---- find_package(cio) ----
# cio_DIR names the package directly: the toolchain file confines searches to the mingw sysroot.
cmake -S "$root/tests/install/consumer" -B "$work/cm" -G Ninja \
    -DCMAKE_TOOLCHAIN_FILE="$root/cmake/toolchain-x86_64-w64-mingw32.cmake" -DCMAKE_BUILD_TYPE=Release \
    -Dcio_DIR="$prefix/lib/cmake/cio" \
    -DCMAKE_C_FLAGS="-Wall -Wextra -Wpedantic -Werror" >"$work/cm.log" 2>&1 ||
    { cat "$work/cm.log"; fail "configure the consumer with find_package(cio)"; }
cmake --build "$work/cm" >>"$work/cm.log" 2>&1 || { cat "$work/cm.log"; fail "build the consumer"; }
cp "$dll" "$work/cm/"
check_linkage "$work/cm/consumer_shared.exe" shared
check_linkage "$work/cm/consumer_static.exe" static
run_exe "$work/cm/consumer_shared.exe"
run_exe "$work/cm/consumer_static.exe"
echo "win_install_check: the Windows package works (pkg-config and find_package, DLL and static)"
