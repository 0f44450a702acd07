#!/usr/bin/env python3
"""scripts/examples_check.py - drive the L3 examples with clients and data nobody here wrote.

    examples_check.py [--bin DIR] [--runner CMD] [--exe SUFFIX] [--conns N] [--quick] NAME...

NAME is one of echo_server, echo_client, cat, pcopy, chat_server, runner (or "all"). Each starts the
example (from DIR, default build/examples; under CMD if given, e.g. "wine64", with SUFFIX ".exe")
on the backend CIO_BACKEND says, drives it, checks every byte it returns against what was sent or
what the files hold, and bounds everything in time (a hung example is killed and the check fails):

  echo_server  python3 clients (scripts/echo_check.py over selectors: N connections at once, random
               sizes; asyncio: N/2 connections writing 64 KiB before reading), socat and OpenBSD nc
               with a file on stdin; then SIGTERM with idle connections open: each must see the
               server close, and the server exit 0 (POSIX); a second server bounded by a client
               count exits 0 by itself (everywhere, and the only way under Wine).
  echo_client  against a python3 echo server: stdin of 2 MiB to stdout, byte for byte; "localhost:PORT"
               by name; lines given as arguments; several clients at once; a refused port fails.
  cat          files (empty, small, large) to a pipe, to a regular file (appended to), to a terminal
               (a pty, POSIX), stdin from a pipe and from a file, a missing file among others, a
               reader that goes away.
  pcopy        files around the chunk size and a large one, with 1, 4 and 16 tasks, several files
               into a directory, over a larger old file, a missing source; sha256 and mode compared.
  chat_server  N asyncio clients: each sends lines, each must get every other client's lines, in
               order, prefixed by the sender's address; a client that never reads must be dropped
               while the others go on; a line over the limit ends that client only.
  runner       sh -c children writing stdout and stderr: every line prefixed in order per stream,
               a last line without newline, long lines in pieces, exit status and signals reported.

Exit status 0 if every check passed, 1 otherwise; a check that cannot run here (no socat, no pty,
a POSIX-only part under Wine) prints "SKIP <name>: <reason>" and does not fail.
"""
import argparse
import asyncio
import hashlib
import os
import queue
import random
import shlex
import shutil
import signal
import socket
import socketserver
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
A = None  # parsed arguments
WINE = False


class Fail(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Fail(what)


def skip(name, reason):
    print(f"SKIP {name}: {reason}", flush=True)


def exe(name):
    return [*A.runner, os.path.join(A.bin, name + A.exe)]


def run(argv, timeout=60, **kw):
    """Runs a command to its end, bounded; returns the CompletedProcess (bytes)."""
    try:
        return subprocess.run(argv, timeout=timeout, capture_output=kw.pop("capture_output", True), **kw)
    except subprocess.TimeoutExpired:
        raise Fail(f"{shlex.join(argv)} did not end within {timeout} s")


class Server:
    """An example server: started, its port read from "listening on HOST:PORT", its output kept."""

    def __init__(self, name, args, timeout=30):
        self.argv = exe(name) + args
        self.p = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT)
        self.lines = queue.Queue()
        self.out = []
        threading.Thread(target=self._reader, daemon=True).start()
        self.port = None
        deadline = time.monotonic() + timeout
        while self.port is None:
            try:
                line = self.lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                line = None
            if line is None or time.monotonic() > deadline:
                self.kill()
                raise Fail(f"{shlex.join(self.argv)} printed no port: {self.text()!r}")
            if "listening on " in line:
                self.port = int(line.rsplit(":", 1)[1].split()[0])

    def _reader(self):
        for raw in self.p.stdout:
            line = raw.decode(errors="replace").rstrip("\n")
            self.out.append(line)
            self.lines.put(line)
        self.lines.put(None)

    def text(self):
        return "\n".join(self.out)

    def signal(self, sig):
        self.p.send_signal(sig)

    def wait(self, timeout):
        try:
            return self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise Fail(f"{shlex.join(self.argv)} did not exit within {timeout} s; output:\n{self.text()}")

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()

    def finish(self, timeout, want=0):
        rc = self.wait(timeout)
        time.sleep(0.05)  # let the reader thread take the last lines
        check(rc == want, f"{shlex.join(self.argv)} exited {rc}, not {want}; output:\n{self.text()}")


def randbytes(rng, n):
    return rng.randbytes(n)


# ---------------------------------------------------------------------------------------------
# echo_server


def pipe_through(argv, data, timeout=60):
    r = run(argv, timeout=timeout, input=data)
    return r


async def async_echo_clients(port, conns, size, seed, timeout):
    """conns connections at once; each writes `size` random bytes in random pieces while reading
    concurrently, then half-closes and expects exactly those bytes back followed by EOF."""

    async def one(i):
        rng = random.Random(seed * 7919 + i)
        data = rng.randbytes(size)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)

        async def send():
            at = 0
            while at < len(data):
                n = rng.randint(1, 16384)
                writer.write(data[at:at + n])
                at += n
                if rng.random() < 0.3:
                    await writer.drain()
            await writer.drain()
            writer.write_eof()

        sender = asyncio.ensure_future(send())
        got = bytearray()
        while True:
            chunk = await reader.read(65536)
            if not chunk:
                break
            got += chunk
        await sender
        writer.close()
        check(bytes(got) == data, f"asyncio conn {i}: {len(got)} bytes back of {len(data)}, or different")

    await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(conns))), timeout)


def idle_connections(port, n):
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        socks.append(s)
    # One round trip each, so that the server has surely accepted them before the signal.
    for s in socks:
        s.sendall(b"ping\n")
    for s in socks:
        got = b""
        while len(got) < 5:
            chunk = s.recv(16)
            check(chunk, "idle connection: closed before its echo")
            got += chunk
        check(got == b"ping\n", f"idle connection: echo {got!r}")
    return socks


def expect_closed(socks, timeout, what):
    for i, s in enumerate(socks):
        s.settimeout(timeout)
        try:
            data = s.recv(16)
            check(data == b"", f"{what}: connection {i} got {data!r} instead of end of file")
        except ConnectionResetError:
            pass  # closed with a reset: closed too
        except socket.timeout:
            raise Fail(f"{what}: connection {i} still open {timeout} s after the signal")
        s.close()


def t_echo_server():
    conns = A.conns
    rng = random.Random(11)
    big = randbytes(rng, 1 << 20)
    has_signals = not WINE and os.name == "posix"

    # 1. A server that runs until a signal (on POSIX), driven by every client in turn.
    srv = Server("echo_server", ["127.0.0.1:0"] if has_signals else ["127.0.0.1:0", str(conns + conns // 2 + 2)])
    try:
        r = run([sys.executable, os.path.join(HERE, "echo_check.py"), str(srv.port), "--conns", str(conns),
                 "--messages", "4", "--max-size", "16384", "--seed", "3", "--timeout", "90"], timeout=120)
        check(r.returncode == 0, f"echo_check.py: {r.stdout.decode()}{r.stderr.decode()}")
        print(" ", r.stdout.decode().strip(), flush=True)
        asyncio.run(async_echo_clients(srv.port, conns // 2, 65536, 5, 90))
        print(f"  asyncio: {conns // 2} connections x 64 KiB written in pieces while reading, all back", flush=True)
        if shutil.which("socat"):
            r = pipe_through(["socat", "-t", "30", "-", f"TCP:127.0.0.1:{srv.port}"], big)
            check(r.returncode == 0 and r.stdout == big, f"socat: status {r.returncode}, {len(r.stdout)} bytes back "
                  f"of {len(big)}{'' if r.stdout == big[:len(r.stdout)] else ', different'}: {r.stderr.decode()}")
            print("  socat: 1 MiB through, byte for byte", flush=True)
        else:
            skip("echo_server.socat", "socat not installed (scripts/deps.sh)")
            if not has_signals:
                socket.create_connection(("127.0.0.1", srv.port)).close()  # the count needs it
        if shutil.which("nc") and b"OpenBSD" in run(["nc", "-h"]).stderr + run(["nc", "-h"]).stdout:
            r = pipe_through(["nc", "-N", "127.0.0.1", str(srv.port)], big[:300000])
            check(r.returncode == 0 and r.stdout == big[:300000], f"nc: status {r.returncode}, {len(r.stdout)} bytes")
            print("  nc: 300,000 bytes through, byte for byte", flush=True)
        else:
            skip("echo_server.nc", "OpenBSD nc not installed (scripts/deps.sh: netcat-openbsd)")
            if not has_signals:
                socket.create_connection(("127.0.0.1", srv.port)).close()
        if has_signals:
            socks = idle_connections(srv.port, 20)
            srv.signal(signal.SIGTERM)
            expect_closed(socks, 10, "SIGTERM")
            srv.finish(15)
            check(any("shutting down" in line for line in srv.out), f"no 'shutting down' line:\n{srv.text()}")
            print("  SIGTERM: 20 idle connections closed by the server, exit 0", flush=True)
        else:
            srv.finish(30)
            print(f"  served its {conns + conns // 2 + 2} connections and exited 0", flush=True)
    finally:
        srv.kill()

    # 2. SIGINT with nobody connected; and a server bounded by a client count exits by itself.
    if has_signals:
        srv = Server("echo_server", ["127.0.0.1:0"])
        try:
            srv.signal(signal.SIGINT)
            srv.finish(15)
            print("  SIGINT, idle: exit 0", flush=True)
        finally:
            srv.kill()
        srv = Server("echo_server", ["127.0.0.1:0", "3"])
        try:
            r = run([sys.executable, os.path.join(HERE, "echo_check.py"), str(srv.port), "--conns", "3",
                     "--messages", "5", "--timeout", "30"], timeout=60)
            check(r.returncode == 0, f"echo_check.py: {r.stdout.decode()}{r.stderr.decode()}")
            srv.finish(15)
            print("  bounded by 3 clients: exit 0 after them", flush=True)
        finally:
            srv.kill()


# ---------------------------------------------------------------------------------------------
# echo_client


class EchoHandler(socketserver.BaseRequestHandler):
    def handle(self):
        while True:
            data = self.request.recv(65536)
            if not data:
                break
            self.request.sendall(data)


class EchoServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def start_echo(host="127.0.0.1", family=socket.AF_INET):
    EchoServer.address_family = family
    s = EchoServer((host, 0), EchoHandler)
    threading.Thread(target=s.serve_forever, daemon=True).start()
    return s


def t_echo_client():
    rng = random.Random(21)
    data = randbytes(rng, 2 << 20)
    srv = start_echo()
    port = srv.server_address[1]
    try:
        r = run(exe("echo_client") + [f"127.0.0.1:{port}"], input=data, timeout=60)
        check(r.returncode == 0, f"echo_client: exit {r.returncode}: {r.stderr.decode()}")
        check(r.stdout == data, f"echo_client: {len(r.stdout)} bytes out of {len(data)} in, or different")
        print("  2 MiB from stdin through a python3 echo server to stdout, byte for byte", flush=True)
        r = run(exe("echo_client") + [f"localhost:{port}", "hello", "world, again"], timeout=30)
        check(r.returncode == 0 and r.stdout.replace(b"\r\n", b"\n") == b"hello\nworld, again\n",
              f"echo_client lines: exit {r.returncode}, {r.stdout!r} {r.stderr.decode()}")
        print("  localhost:PORT by name, two lines as arguments", flush=True)
        procs = []
        inputs = [randbytes(rng, rng.randint(1, 300000)) for _ in range(8)]
        for i in range(8):
            procs.append(subprocess.Popen(exe("echo_client") + [f"127.0.0.1:{port}"], stdin=subprocess.PIPE,
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE))
        outs = []
        for p, d in zip(procs, inputs):  # communicate() writes and reads together: no deadlock
            try:
                outs.append(p.communicate(d, timeout=60))
            except subprocess.TimeoutExpired:
                for q in procs:
                    q.kill()
                raise Fail("8 echo_clients at once: one did not end within 60 s")
        for i, (p, d, (o, e)) in enumerate(zip(procs, inputs, outs)):
            check(p.returncode == 0 and o == d, f"client {i} of 8: exit {p.returncode}, {len(o)} of {len(d)}: {e!r}")
        print("  8 clients at once, random sizes, byte for byte", flush=True)
    finally:
        srv.shutdown()
        srv.server_close()
    if socket.has_ipv6:
        try:
            srv6 = start_echo("::1", socket.AF_INET6)
        except OSError as e:
            skip("echo_client.ipv6", f"no ::1 here ({e})")
        else:
            try:
                r = run(exe("echo_client") + [f"[::1]:{srv6.server_address[1]}", "over IPv6"], timeout=30)
                check(r.returncode == 0 and r.stdout.strip() == b"over IPv6",
                      f"echo_client [::1]: exit {r.returncode}, {r.stdout!r} {r.stderr.decode()}")
                print("  [::1]:PORT", flush=True)
            finally:
                srv6.shutdown()
                srv6.server_close()
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    closed_port = s.getsockname()[1]
    s.close()
    t0 = time.monotonic()
    r = run(exe("echo_client") + [f"127.0.0.1:{closed_port}", "x"], timeout=30)
    check(r.returncode != 0 and b"refused" in r.stderr and time.monotonic() - t0 < 8,
          f"a refused connection: exit {r.returncode} after {time.monotonic() - t0:.1f} s (its deadline is 10 s), "
          f"stderr {r.stderr!r}")
    print(f"  refused: exit {r.returncode}: {r.stderr.decode().strip()}", flush=True)


# ---------------------------------------------------------------------------------------------
# cat


def t_cat(tmp):
    rng = random.Random(31)
    sizes = [0, 1, 4095, 65537, 3 << 20]
    files = []
    for i, n in enumerate(sizes):
        path = os.path.join(tmp, f"in{i}")
        with open(path, "wb") as f:
            f.write(randbytes(rng, n))
        files.append(path)
    contents = [open(p, "rb").read() for p in files]
    everything = b"".join(contents)

    r = run(exe("cat") + files)
    check(r.returncode == 0 and r.stdout == everything,
          f"cat to a pipe: exit {r.returncode}, {len(r.stdout)} of {len(everything)} bytes: {r.stderr.decode()}")
    print(f"  {len(files)} files ({len(everything)} bytes) to a pipe", flush=True)

    out = os.path.join(tmp, "out")
    with open(out, "wb") as f:
        f.write(b"head\n")
    with open(out, "ab") as f:
        r = run(exe("cat") + files, stdout=f, capture_output=False, stderr=subprocess.PIPE)
    got = open(out, "rb").read()
    check(r.returncode == 0 and got == b"head\n" + everything,
          f"cat >> file: exit {r.returncode}, {len(got)} bytes of {5 + len(everything)}")
    with open(out, "wb") as f:
        r = run(exe("cat") + files[3:], stdout=f, capture_output=False, stderr=subprocess.PIPE)
    got = open(out, "rb").read()
    check(r.returncode == 0 and got == b"".join(contents[3:]), f"cat > file: {len(got)} bytes")
    print("  to a regular file, appended and fresh", flush=True)

    r = run(exe("cat"), input=contents[4])
    check(r.returncode == 0 and r.stdout == contents[4], f"stdin pipe: exit {r.returncode}, {len(r.stdout)} bytes")
    r = run(exe("cat") + [files[1], "-", files[2]], input=contents[3])
    check(r.returncode == 0 and r.stdout == contents[1] + contents[3] + contents[2], "cat a - b with stdin a pipe")
    with open(files[4], "rb") as f:
        r = run(exe("cat"), stdin=f)
    check(r.returncode == 0 and r.stdout == contents[4], f"stdin a file: exit {r.returncode}, {len(r.stdout)} bytes")
    print("  stdin from a pipe (alone and as '-') and from a file", flush=True)

    r = run(exe("cat") + [files[2], os.path.join(tmp, "missing"), files[3]])
    check(r.returncode == 1 and r.stdout == contents[2] + contents[3] and b"missing" in r.stderr,
          f"a missing file among others: exit {r.returncode}, {len(r.stdout)} bytes, {r.stderr!r}")
    print(f"  a missing file: the others still out, exit 1: {r.stderr.decode().strip()}", flush=True)

    # A reader that goes away: cat must end (an error, or SIGPIPE), not hang.
    p = subprocess.Popen(exe("cat") + [files[4]] * 20, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdout.read(10)
    p.stdout.close()
    try:
        p.wait(30)
    except subprocess.TimeoutExpired:
        p.kill()
        raise Fail("cat kept running 30 s after its reader went away")
    p.stderr.close()
    print(f"  its reader goes away: ended with status {p.returncode}", flush=True)

    if WINE or os.name != "posix":
        skip("cat.pty", "no pty under Wine (its console is not a terminal the host makes)")
        return
    import pty
    import tty
    master, slave = pty.openpty()
    tty.setraw(slave)  # no \n -> \r\n, no echo: the bytes as written
    p = subprocess.Popen(exe("cat") + files[:4], stdout=slave, stderr=subprocess.PIPE)
    os.close(slave)
    got = bytearray()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: every slave end closed
            break
        if not chunk:
            break
        got += chunk
    os.close(master)
    try:
        p.wait(10)
    except subprocess.TimeoutExpired:
        p.kill()
        raise Fail("cat to a terminal did not end")
    want = b"".join(contents[:4])
    check(p.returncode == 0 and bytes(got) == want, f"cat to a pty: exit {p.returncode}, {len(got)} of {len(want)}")
    print(f"  to a terminal (pty, raw): {len(want)} bytes", flush=True)


# ---------------------------------------------------------------------------------------------
# pcopy

CHUNK = 1 << 20


def sha(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def t_pcopy(tmp):
    rng = random.Random(41)
    sizes = [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 9 * CHUNK + 77, 24 * CHUNK + 5]
    src = []
    for i, n in enumerate(sizes):
        path = os.path.join(tmp, f"src{i}")
        with open(path, "wb") as f:
            f.write(randbytes(rng, n))
        if os.name == "posix":
            os.chmod(path, 0o640 if i % 2 else 0o755)
        src.append(path)
    for tasks in (1, 4, 16):
        for path in src:
            dst = path + f".copy{tasks}"
            r = run(exe("pcopy") + ["-j", str(tasks), path, dst])
            check(r.returncode == 0, f"pcopy -j {tasks} {os.path.basename(path)}: exit {r.returncode}: "
                  f"{r.stderr.decode()}")
            check(os.path.getsize(dst) == os.path.getsize(path) and sha(dst) == sha(path),
                  f"pcopy -j {tasks}: {os.path.basename(dst)} differs from its source")
            if os.name == "posix" and not WINE:
                want = os.stat(path).st_mode & 0o777 & ~current_umask()
                check(os.stat(dst).st_mode & 0o777 == want, f"{dst}: mode {os.stat(dst).st_mode & 0o777:o}, not {want:o}")
    print(f"  {len(src)} files (0 B .. {sizes[-1]} B) one by one with 1, 4 and 16 tasks: sha256 equal", flush=True)

    d = os.path.join(tmp, "dir")
    os.mkdir(d)
    r = run(exe("pcopy") + ["-j", "8"] + src + [d])
    check(r.returncode == 0, f"pcopy into a directory: exit {r.returncode}: {r.stderr.decode()}")
    for path in src:
        copy = os.path.join(d, os.path.basename(path))
        check(os.path.exists(copy) and sha(copy) == sha(path), f"{copy} differs from its source")
    print(f"  {len(src)} files into a directory at once, 8 tasks: sha256 equal", flush=True)

    old = os.path.join(tmp, "old")
    with open(old, "wb") as f:
        f.write(b"x" * (30 * CHUNK))
    r = run(exe("pcopy") + [src[4], old])
    check(r.returncode == 0 and sha(old) == sha(src[4]), f"pcopy over a larger file: exit {r.returncode}, "
          f"size {os.path.getsize(old)} (want {sizes[4]})")
    print("  over a larger existing file: cut to size", flush=True)

    r = run(exe("pcopy") + [os.path.join(tmp, "missing"), os.path.join(tmp, "nowhere")])
    check(r.returncode != 0 and b"missing" in r.stderr, f"missing source: exit {r.returncode}, {r.stderr!r}")
    print(f"  missing source: exit {r.returncode}: {r.stderr.decode().strip()}", flush=True)


def current_umask():
    u = os.umask(0)
    os.umask(u)
    return u


# ---------------------------------------------------------------------------------------------
# chat_server


class ChatClient:
    def __init__(self, i):
        self.i = i
        self.reader = self.writer = None
        self.name = None  # our address as the server writes it: "127.0.0.1:PORT"
        self.got = {}  # sender name -> next expected sequence number


async def chat_connect(port, i):
    c = ChatClient(i)
    c.reader, c.writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
    host, p = c.writer.get_extra_info("sockname")[:2]
    c.name = f"{host}:{p}"
    return c


async def chat_line(c, timeout):
    line = await asyncio.wait_for(c.reader.readline(), timeout)
    return line


FILLER = "".join(random.Random(51).choice("abcdefghijklmnopqrstuvwxyz0123456789 ") for _ in range(4096))


def chat_payload(sender, seq, width=40):
    """The text of line `seq` from `sender`: names it, and varies with both (a cheap slice)."""
    at = (seq * 131 + len(sender) * 17 + int(sender.rsplit(":", 1)[-1])) % 2048
    return f"{sender} #{seq} " + FILLER[at:at + width]


async def chat_main(port, n, m, timeout):
    t0 = time.monotonic()
    clients = []
    for i in range(n):  # one at a time, so that the server has them in this order
        clients.append(await chat_connect(port, i))
    # The welcome line comes after the server registered the client: once the last one has its
    # welcome, everyone is registered (the server accepts in order) and every line reaches all.
    for c in clients:
        while True:
            line = await chat_line(c, timeout)
            check(line, f"client {c.i}: closed before its welcome")
            if line.startswith(b"* welcome"):
                break
    names = {c.name for c in clients}

    async def talk(c):
        for seq in range(m):
            c.writer.write(f"{chat_payload(c.name, seq)}\n".encode())
        await c.writer.drain()
        want = (n - 1) * m
        seen = 0
        while seen < want:
            line = await c.reader.readline()  # the whole exchange is bounded below
            check(line, f"client {c.i}: closed by the server after {seen} of {want} lines")
            text = line.decode().rstrip("\n")
            if text.startswith("* "):
                continue  # joins and leaves
            sender, _, said = text.partition(": ")
            if sender not in names or sender == c.name:
                raise Fail(f"client {c.i}: line from {sender!r}: {text!r}")
            seq = c.got.get(sender, 0)
            if said != chat_payload(sender, seq):  # (no check(): its message would be built every time)
                raise Fail(f"client {c.i}: from {sender} #{seq}: got {said!r}")
            c.got[sender] = seq + 1
            seen += 1
        # Nobody sent more than m: done once all others have all their lines here.

    try:
        await asyncio.wait_for(asyncio.gather(*(talk(c) for c in clients)), timeout)
    except asyncio.TimeoutError:
        short = [(c.i, sum(c.got.values())) for c in clients if sum(c.got.values()) < (n - 1) * m][:5]
        raise Fail(f"not every client got the others' lines within {timeout} s: (client, lines) {short}...")
    for c in clients:
        c.writer.close()
    return time.monotonic() - t0


async def chat_slow(port, timeout, lines=12000, width=1000, window=400):
    """One client never reads while three others talk: the server must drop it, not stall them.
    Each talker keeps at most `window` of its lines ahead of what it has read, so that the talkers
    themselves read fast enough never to be dropped; the silent one falls behind without bound."""
    slow = await chat_connect(port, 0)
    fast = [await chat_connect(port, i) for i in (1, 2, 3)]
    for c in [slow] + fast:
        while not (await chat_line(c, timeout)).startswith(b"* welcome"):
            pass
    names = {c.name for c in fast}

    async def talk(c):
        progress = asyncio.Event()
        seen = 0

        async def send():
            for seq in range(lines):
                while seq - seen // 2 >= window:
                    progress.clear()
                    await progress.wait()
                c.writer.write(f"{chat_payload(c.name, seq, width)}\n".encode())
                if seq % 64 == 0:
                    await c.writer.drain()
            await c.writer.drain()

        sender = asyncio.ensure_future(send())
        try:
            want = 2 * lines
            while seen < want:
                line = await c.reader.readline()
                if not line:
                    raise Fail(f"talker {c.i}: closed by the server after {seen} of {want} lines")
                text = line.decode().rstrip("\n")
                if text.startswith("* "):
                    continue
                sender_name, _, said = text.partition(": ")
                if sender_name not in names:
                    continue
                seq = c.got.get(sender_name, 0)
                if said != chat_payload(sender_name, seq, width):
                    raise Fail(f"talker {c.i}: from {sender_name} #{seq}: {said[:60]!r}")
                c.got[sender_name] = seq + 1
                seen += 1
                progress.set()
            await sender
        finally:
            sender.cancel()

    t0 = time.monotonic()
    try:
        await asyncio.wait_for(asyncio.gather(*(talk(c) for c in fast)), timeout)
    except asyncio.TimeoutError:
        raise Fail(f"the three talkers did not get each other's lines within {timeout} s "
                   f"({[sum(c.got.values()) for c in fast]} of {2 * lines} each): stalled by the silent client?")
    took = time.monotonic() - t0
    # Now the silent one reads what it has: an in-order prefix from each talker, then the end.
    got, total = {}, 0
    while True:
        try:
            line = await chat_line(slow, 30)
        except (ConnectionResetError, asyncio.IncompleteReadError):
            break
        except asyncio.TimeoutError:
            raise Fail(f"silent client: never dropped: after {total} lines, nothing more and no end for 30 s")
        if not line:
            break
        text = line.decode(errors="replace").rstrip("\n")
        if text.startswith("* "):
            continue
        sender_name, _, said = text.partition(": ")
        if sender_name not in names:
            continue
        seq = got.get(sender_name, 0)
        if not line.endswith(b"\n"):  # the last line, cut where the drop stopped the send
            if not chat_payload(sender_name, seq, width).startswith(said):
                raise Fail(f"silent client: the cut last line from {sender_name} #{seq} differs")
            break
        if said != chat_payload(sender_name, seq, width):
            raise Fail(f"silent client: from {sender_name} #{seq}: out of order or different")
        got[sender_name] = seq + 1
        total += 1
    check(total < 3 * lines, f"silent client: got all {total} lines: never dropped (raise the line count?)")
    for c in fast:
        c.writer.close()
    slow.writer.close()
    return took, total


async def chat_too_long(port, timeout):
    a = await chat_connect(port, 0)
    b = await chat_connect(port, 1)
    for c in (a, b):
        while not (await chat_line(c, timeout)).startswith(b"* welcome"):
            pass
    a.writer.write(b"y" * 10000 + b"\n")
    await a.writer.drain()
    rest = await asyncio.wait_for(a.reader.read(), timeout)  # up to the end: the server closed
    check(b"too long" in rest, f"the long line's sender got {rest[:200]!r}, no 'too long'")
    b.writer.write(b"still here\n")
    await b.writer.drain()
    c = await chat_connect(port, 2)
    while not (await chat_line(c, timeout)).startswith(b"* welcome"):
        pass
    b.writer.write(b"hello c\n")
    await b.writer.drain()
    # b's "still here" went out before c connected, but the server may see c's connection and
    # b's line in the same wait and accept first: c then gets that line too, legitimately.
    while True:
        line = (await chat_line(c, timeout)).decode()
        check(line, "c: closed")
        if not line.startswith("* ") and line != f"{b.name}: still here\n":
            break
    check(line == f"{b.name}: hello c\n", f"after the long line, c got {line!r}")
    for x in (b, c):
        x.writer.close()


def t_chat_server():
    n = A.conns
    has_signals = not WINE and os.name == "posix"
    srv = Server("chat_server", ["127.0.0.1:0"] if has_signals else ["127.0.0.1:0", str(n + 4 + 3)])
    try:
        m = A.chat_lines
        took = asyncio.run(chat_main(srv.port, n, m, 90))
        print(f"  {n} clients x {m} lines: each got the {(n - 1) * m} lines of the others in order ({took:.1f} s)",
              flush=True)
        took, total = asyncio.run(chat_slow(srv.port, 120))
        print(f"  a client that never reads: dropped after {total} lines; three others sent 36,000 lines "
              f"of 1 KB to each other meanwhile ({took:.1f} s)", flush=True)
        check(any("dropped" in line or "too slow" in line for line in srv.out),
              f"the server did not say it dropped the slow client:\n{srv.text()[-2000:]}")
        asyncio.run(chat_too_long(srv.port, 30))
        print("  a 10,000-byte line: its sender told and closed, the others go on", flush=True)
        if has_signals:
            srv.signal(signal.SIGTERM)
        srv.finish(20)
        print("  " + ("SIGTERM: exit 0" if has_signals else "exit 0 after its clients"), flush=True)
    finally:
        srv.kill()


# ---------------------------------------------------------------------------------------------
# runner


def runner_out(stdout):
    """Splits the runner's output into its streams: [(stream, text)], and the status line."""
    lines = stdout.decode(errors="replace").split("\n")
    check(lines[-1] == "", f"the runner's output does not end with a newline: {lines[-1][-80:]!r}")
    out = {"out": [], "err": []}
    status = None
    for line in lines[:-1]:
        tag, sep, text = line.partition(": ")
        if tag in ("out", "err") and sep:
            out[tag].append(text)
        elif line.startswith("runner: "):
            status = line
        else:
            raise Fail(f"an unprefixed line in the runner's output: {line[:120]!r}")
    return out, status


def t_runner():
    if WINE:
        skip("runner.sh", "the children are POSIX shell commands; Wine runs cmd.exe below")
        return t_runner_wine()
    r = run(exe("runner") + ["sh", "-c", "echo one; echo two >&2; echo three; printf partial; exit 3"],
            stdin=subprocess.PIPE)
    out, status = runner_out(r.stdout)
    check(out == {"out": ["one", "three", "partial"], "err": ["two"]}, f"simple: {out}")
    check(status == "runner: exit status 3" and r.returncode == 3, f"simple: {status!r}, exit {r.returncode}")
    print("  stdout and stderr lines prefixed, a last line without newline, exit status 3", flush=True)

    r = run(exe("runner") + ["sh", "-c", "seq 1 100000; seq 1 50000 >&2; seq 100001 150000"])
    out, status = runner_out(r.stdout)
    check(out["out"] == [str(i) for i in range(1, 150001)], f"seq: {len(out['out'])} stdout lines, or out of order")
    check(out["err"] == [str(i) for i in range(1, 50001)], f"seq: {len(out['err'])} stderr lines, or out of order")
    check(status == "runner: exit status 0" and r.returncode == 0, f"seq: {status!r}")
    print("  150,000 + 50,000 lines, each stream in order", flush=True)

    r = run(exe("runner") + ["sh", "-c", "head -c 10000 /dev/zero | tr '\\0' a; echo; echo short"])
    out, status = runner_out(r.stdout)
    check(out["out"] == ["a" * 4095, "a" * 4095, "a" * 1810, "short"], f"a long line: pieces "
          f"{[len(x) for x in out['out']]}")
    print("  a 10,000-byte line in pieces of 4,095", flush=True)

    r = run(exe("runner") + ["sh", "-c", "echo before; kill -KILL $$"])
    out, status = runner_out(r.stdout)
    check(out["out"] == ["before"] and status == "runner: killed by signal 9" and r.returncode == 128 + 9,
          f"killed: {out}, {status!r}, exit {r.returncode}")
    print("  a child killed by SIGKILL: reported, exit 137", flush=True)

    p = subprocess.Popen(exe("runner") + ["cat"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    try:
        o, e = p.communicate(timeout=20)  # stdin left open: the child must not be reading it
    except subprocess.TimeoutExpired:
        p.kill()
        raise Fail("runner cat: still running; its child reads the runner's stdin instead of an empty one")
    check(p.returncode == 0 and o == b"runner: exit status 0\n", f"runner cat: {o!r} {e!r}")
    print("  the child's stdin is empty (cat ends at once)", flush=True)

    r = run(exe("runner") + ["/nonexistent/program"])
    check(r.returncode == 127 and b"nonexistent" in r.stderr, f"not found: exit {r.returncode}, {r.stderr!r}")
    print(f"  a program that does not exist: exit 127: {r.stderr.decode().strip()}", flush=True)


def t_runner_wine():
    r = run(exe("runner") + ["cmd", "/c", "echo one& echo two 1>&2& echo three& exit 3"], timeout=60)
    out, status = runner_out(r.stdout.replace(b"\r\n", b"\n"))
    out = {k: [x.rstrip() for x in v] for k, v in out.items()}
    check(out == {"out": ["one", "three"], "err": ["two"]}, f"cmd: {out}")
    check(status == "runner: exit status 3" and r.returncode == 3, f"cmd: {status!r}, exit {r.returncode}")
    print("  cmd /c: stdout and stderr lines prefixed, exit status 3", flush=True)

    r = run(exe("runner") + ["cmd", "/c", "for /L %i in (1,1,3000) do @echo %i"], timeout=120)
    out, status = runner_out(r.stdout.replace(b"\r\n", b"\n"))
    check([x.rstrip() for x in out["out"]] == [str(i) for i in range(1, 3001)] and not out["err"],
          f"cmd for /L: {len(out['out'])} lines, or out of order")
    check(status == "runner: exit status 0" and r.returncode == 0, f"cmd for /L: {status!r}")
    print("  cmd /c for /L: 3,000 lines in order, exit status 0", flush=True)

    r = run(exe("runner") + ["no-such-program-here"], timeout=60)
    check(r.returncode == 127 and b"no-such-program-here" in r.stderr, f"not found: exit {r.returncode}, {r.stderr!r}")
    print(f"  a program that does not exist: exit 127: {r.stderr.decode().strip()}", flush=True)


# ---------------------------------------------------------------------------------------------

TESTS = {"echo_server": t_echo_server, "echo_client": t_echo_client, "cat": t_cat, "pcopy": t_pcopy,
         "chat_server": t_chat_server, "runner": t_runner}


def main():
    global A, WINE
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("names", nargs="+")
    ap.add_argument("--bin", default=os.path.join(HERE, "..", "build", "examples"))
    ap.add_argument("--runner", default="", help="a command that runs each example (wine64)")
    ap.add_argument("--exe", default="", help="the examples' file name suffix (.exe)")
    ap.add_argument("--conns", type=int, default=300, help="concurrent connections (servers)")
    ap.add_argument("--chat-lines", type=int, default=3, help="lines each chat client sends")
    A = ap.parse_args()
    A.runner = shlex.split(A.runner)
    WINE = any("wine" in os.path.basename(x) for x in A.runner)
    names = list(TESTS) if A.names == ["all"] else A.names
    failed = 0
    for name in names:
        if name not in TESTS:
            print(f"unknown example {name}; use {', '.join(TESTS)} or all", file=sys.stderr)
            return 2
        t0 = time.monotonic()
        print(f"-- {name} (backend {os.environ.get('CIO_BACKEND', 'default')})", flush=True)
        try:
            with tempfile.TemporaryDirectory(prefix=f"cio-ex-{name}-") as tmp:
                fn = TESTS[name]
                fn(tmp) if fn.__code__.co_argcount else fn()
            print(f"{name}: ok ({time.monotonic() - t0:.1f} s)", flush=True)
        except Fail as e:
            print(f"{name}: FAILED: {e}", flush=True)
            failed += 1
        except (asyncio.TimeoutError, OSError, asyncio.IncompleteReadError) as e:
            print(f"{name}: FAILED: {type(e).__name__} {e}", flush=True)
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
