#!/usr/bin/env bash
# scripts/demo.sh - the quick start: install what is missing, build cio (Release), run the examples.
#
# Build directory: build-demo under the repository root, or $CIO_BUILD_DIR.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dir=${CIO_BUILD_DIR:-$root/build-demo}

"$root/scripts/deps.sh"
cmake -S "$root" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCIO_BUILD_TESTS=OFF
cmake --build "$dir"

for example in hello_timer tcp_echo; do
    echo
    echo "== examples/$example.c"
    timeout 60 "$dir/examples/$example"
done
echo
echo "demo: all examples ran. Next: scripts/test.sh runs the whole test suite."
