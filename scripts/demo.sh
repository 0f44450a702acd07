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

# task_echo is a server: start it for one client on a free port, be that client (bash's /dev/tcp),
# and check that what comes back is what went out.
echo
echo "== examples/task_echo.c"
out=$(mktemp)
server=""
# On a failure below the server is not left waiting for its client.
trap 'rm -f "$out"; if [[ -n $server ]]; then kill "$server" 2>/dev/null || true; fi' EXIT
timeout 60 "$dir/examples/task_echo" 0 1 >"$out" &
server=$!
port=""
for _ in $(seq 100); do # the port is on its first line, within 10 s
    port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$out")
    [[ -n $port ]] && break
    sleep 0.1
done
cat "$out"
[[ -n $port ]] || { echo "demo: task_echo did not say its port" >&2; exit 1; }
exec 3<>"/dev/tcp/127.0.0.1/$port"
for line in hello "written with tasks" bye; do
    printf '%s\n' "$line" >&3
    read -r -t 10 back <&3 || { echo "demo: no echo from task_echo" >&2; exit 1; }
    [[ $back == "$line" ]] || { echo "demo: sent '$line', got '$back'" >&2; exit 1; }
    echo "echoed: $back"
done
exec 3>&- # the client closes: the server's only client is done, so it exits
wait "$server"
server=""
echo
echo "demo: all examples ran. Next: scripts/test.sh runs the whole test suite."
