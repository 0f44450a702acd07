#!/bin/sh
# Build every probe and run it under Wine. Usage: ./run.sh [pNN_name ...]
set -u
cd "$(dirname "$0")"
export PATH=/usr/lib/wine:$PATH
export WINEPREFIX=${WINEPREFIX:-/tmp/probe-wine}
export WINEDEBUG=${WINEDEBUG:--all}
WINE=$(command -v wine64 || command -v wine)
[ -d "$WINEPREFIX" ] || "$WINE" wineboot -u >/dev/null 2>&1
"$WINE" --version
progs=${*:-$(ls p[0-9][0-9]_*.c | sed 's/\.c$//')}
for p in $progs; do
	x86_64-w64-mingw32-gcc -O1 -Wall -o "$p.exe" "$p.c" -lws2_32 -lmswsock -lntdll || { echo "BUILD FAIL $p"; continue; }
	echo "=== $p"
	timeout 60 "$WINE" "./$p.exe" 2>"$p.stderr" | tee "$p.out"
done
