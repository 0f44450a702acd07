//! bench/echo_tokio - the echo server on tokio's current-thread runtime, an
//! anchor of bench/echo.sh among async runtimes.
//!
//! Usage: echo_tokio CONNS (see bench/echo.h for the protocol).
//!
//! tokio's usual shape: one task per connection looping `read` and
//! `write_all` on a 4 KiB buffer of its own, spawned by an accept loop, all
//! on one thread (`Builder::new_current_thread`), as cio's task server is.
//! tokio does not say how often it polls the kernel, so `enters` is
//! reported as 0 (unknown); bench/echo.sh counts the system calls apart.
//!
//! ECHO_TOKIO_THREADS=N (bench/echo_mt.sh): the same server on tokio's
//! multi-threaded runtime with N worker threads (`tokio::spawn`, work
//! stealing), the usual shape of a multi-core tokio server.

use std::cell::Cell;
use std::io::Write;
use std::rc::Rc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const ECHO_BUF: usize = 4096; // bench/echo.h

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let conns: u32 = match args.get(1).and_then(|s| s.parse().ok()) {
        Some(n) if args.len() == 2 && n > 0 && n <= 10000 => n,
        _ => {
            eprintln!("usage: {} CONNS", args.first().map(String::as_str).unwrap_or("echo_tokio"));
            std::process::exit(2);
        }
    };
    if let Some(n) = std::env::var("ECHO_TOKIO_THREADS").ok().and_then(|s| s.parse::<usize>().ok()) {
        multi_thread(conns, n.max(1));
        return;
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .expect("tokio runtime");
    // Tasks that are not Send: a LocalSet on the one thread.
    let local = tokio::task::LocalSet::new();
    let recvs = Rc::new(Cell::new(0u64));
    let r = recvs.clone();
    local.block_on(&rt, async move {
        let listener = listen_announce(conns);
        let mut tasks = Vec::with_capacity(conns as usize);
        for _ in 0..conns {
            let (mut s, _) = listener.accept().await.expect("accept");
            s.set_nodelay(true).expect("nodelay");
            let recvs = r.clone();
            tasks.push(tokio::task::spawn_local(async move {
                let mut buf = [0u8; ECHO_BUF];
                loop {
                    let n = s.read(&mut buf).await.expect("read");
                    if n == 0 {
                        break; // the client closed: all was echoed
                    }
                    recvs.set(recvs.get() + 1);
                    s.write_all(&buf[..n]).await.expect("write");
                }
            }));
        }
        drop(listener);
        for t in tasks {
            t.await.expect("connection task");
        }
    });
    println!(
        "bench=echo-server impl=tokio conns={} recvs={} enters=0",
        conns,
        recvs.get()
    );
}

/// The same listening socket as the other servers: 127.0.0.1, a port the
/// kernel chooses, a backlog of at least CONNS; its port announced on stdout.
/// Inside a runtime (tokio registers the socket with the current one).
fn listen_announce(conns: u32) -> TcpListener {
    let sock = tokio::net::TcpSocket::new_v4().expect("socket");
    sock.bind("127.0.0.1:0".parse().unwrap()).expect("bind");
    let listener: TcpListener = sock.listen(conns.max(128)).expect("listen");
    let port = listener.local_addr().expect("local_addr").port();
    let mut out = std::io::stdout().lock();
    writeln!(out, "port={}", port).unwrap();
    out.flush().unwrap();
    listener
}

fn multi_thread(conns: u32, threads: usize) {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_io()
        .build()
        .expect("tokio runtime");
    let recvs = Arc::new(AtomicU64::new(0));
    let r = recvs.clone();
    rt.block_on(async move {
        let listener = listen_announce(conns);
        let mut tasks = Vec::with_capacity(conns as usize);
        for _ in 0..conns {
            let (mut s, _) = listener.accept().await.expect("accept");
            s.set_nodelay(true).expect("nodelay");
            let recvs = r.clone();
            tasks.push(tokio::spawn(async move {
                let mut buf = [0u8; ECHO_BUF];
                let mut n_recvs = 0u64;
                loop {
                    let n = s.read(&mut buf).await.expect("read");
                    if n == 0 {
                        break;
                    }
                    n_recvs += 1;
                    s.write_all(&buf[..n]).await.expect("write");
                }
                recvs.fetch_add(n_recvs, Ordering::Relaxed);
            }));
        }
        drop(listener);
        for t in tasks {
            t.await.expect("connection task");
        }
    });
    println!(
        "bench=echo-server impl=tokio-mt conns={} recvs={} enters=0",
        conns,
        recvs.load(Ordering::Relaxed)
    );
}
