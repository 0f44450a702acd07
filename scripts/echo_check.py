#!/usr/bin/env python3
"""scripts/echo_check.py - drive an echo server over TCP and check every byte it sends back.

    echo_check.py PORT [--conns N] [--messages M] [--max-size BYTES] [--seed S] [--timeout SECONDS]

Opens N connections to 127.0.0.1:PORT at once and, on each, sends M messages of random sizes (1 to
BYTES, random bytes, from the seed), one at a time: the next goes out once the echo of the previous
one is back whole and equal. Then it shuts its side down and expects the server to close (end of
file, no further byte). All connections run together in one thread (selectors), so that sends and
receives overlap and no buffer size can deadlock the two. Everything is bounded by --timeout.

Exit status 0 when every byte came back in order on every connection; 1 with the first difference
otherwise. Used by scripts/win_echo.sh against the examples built for Windows and run by Wine
(a Wine process uses the host's loopback), and works against any echo server.
"""
import argparse
import random
import selectors
import socket
import sys
import time


class Conn:
    def __init__(self, index, rng, messages, max_size):
        self.index = index
        # Mostly small messages, some large ones: both a single recv and many pieces.
        self.sizes = [rng.randint(1, 64) if rng.random() < 0.3 else rng.randint(1, max_size)
                      for _ in range(messages)]
        self.rng = rng
        self.sock = None
        self.msg = 0          # the message being echoed
        self.out = b""        # the current message
        self.sent = 0         # bytes of it sent
        self.back = bytearray()
        self.eof = False
        self.done = False
        self.bytes = 0

    def next_message(self):
        self.out = self.rng.randbytes(self.sizes[self.msg])
        self.sent = 0
        self.back = bytearray()


def fail(what):
    print(f"echo_check: FAILED: {what}", file=sys.stderr)
    sys.exit(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--conns", type=int, default=4)
    ap.add_argument("--messages", type=int, default=100)
    ap.add_argument("--max-size", type=int, default=65536)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=60.0)
    a = ap.parse_args()

    start = time.monotonic()
    deadline = start + a.timeout
    sel = selectors.DefaultSelector()
    conns = []
    for i in range(a.conns):
        c = Conn(i, random.Random(a.seed * 1000 + i), a.messages, a.max_size)
        s = socket.create_connection((a.host, a.port), timeout=max(1.0, deadline - time.monotonic()))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.setblocking(False)
        c.sock = s
        if a.messages:
            c.next_message()
        else:
            s.shutdown(socket.SHUT_WR)
        conns.append(c)
        sel.register(s, selectors.EVENT_READ | (selectors.EVENT_WRITE if a.messages else 0), c)

    left = len(conns)
    while left:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            states = ", ".join(f"conn {c.index}: message {c.msg}/{a.messages}, sent {c.sent}/{len(c.out)}, "
                               f"back {len(c.back)}" for c in conns if not c.done)
            fail(f"timed out after {a.timeout:.0f} s ({states})")
        for key, events in sel.select(timeout=min(remaining, 1.0)):
            c = key.data
            if events & selectors.EVENT_WRITE and c.sent < len(c.out):
                try:
                    c.sent += c.sock.send(c.out[c.sent:c.sent + 262144])
                except BlockingIOError:
                    pass
                except OSError as e:
                    fail(f"conn {c.index}: send of message {c.msg}: {e}")
                if c.sent == len(c.out):  # all out: wait for the rest of the echo only
                    sel.modify(c.sock, selectors.EVENT_READ, c)
            if events & selectors.EVENT_READ:
                try:
                    data = c.sock.recv(262144)
                except BlockingIOError:
                    continue
                except OSError as e:
                    fail(f"conn {c.index}: recv during message {c.msg}: {e}")
                if not data:
                    if c.msg < a.messages:
                        fail(f"conn {c.index}: the server closed during message {c.msg} "
                             f"({len(c.back)} of {len(c.out)} bytes back)")
                    c.done = True
                    left -= 1
                    sel.unregister(c.sock)
                    c.sock.close()
                    continue
                if c.msg >= a.messages:
                    fail(f"conn {c.index}: {len(data)} bytes after the last echo")
                c.back += data
                if len(c.back) > len(c.out) or c.back != c.out[:len(c.back)]:
                    at = next((k for k in range(min(len(c.back), len(c.out))) if c.back[k] != c.out[k]),
                              min(len(c.back), len(c.out)))
                    fail(f"conn {c.index}: message {c.msg} ({len(c.out)} bytes) differs at byte {at}")
                if len(c.back) == len(c.out):
                    c.bytes += len(c.out)
                    c.msg += 1
                    if c.msg < a.messages:
                        c.next_message()
                        sel.modify(c.sock, selectors.EVENT_READ | selectors.EVENT_WRITE, c)
                    else:
                        c.out = b""
                        c.sent = 0
                        c.sock.shutdown(socket.SHUT_WR)  # the server's recv sees end of file

    total = sum(c.bytes for c in conns)
    print(f"echo_check: {a.conns} connections x {a.messages} messages (1..{a.max_size} bytes), "
          f"{total} bytes echoed and checked, closed by the server, {time.monotonic() - start:.1f} s")


if __name__ == "__main__":
    main()
