/*
 * cio/mock.h - the simulated backend, for testing async code.
 *
 * A loop set up with CIO_BACKEND_MOCK (in cio_loop_options, or
 * CIO_BACKEND=mock in the environment) runs a program unchanged with no
 * kernel object behind its ops and with virtual time: cio_now() starts at
 * one second and moves only when the loop waits, straight to the next
 * timer or completion, so that an hour of timers takes microseconds. Every
 * choice the simulation makes (the latency of each op, and so the order in
 * which ops submitted together complete) comes from a seed: the `seed`
 * option, else CIO_MOCK_SEED in the environment, else 1. The same program
 * with the same seed does the same thing, which cio_mock_trace() proves.
 *
 * The simulated world: every op runs on the mock. Nops, timers, cancels,
 * deadlines, links, batches, posts and wakes between threads, and tasks
 * with their sync primitives, groups and sleeps; pipes (cio_mock_pipe) and
 * socket pairs (cio_mock_socketpair); sockets made by CIO_OP_SOCKET, bound
 * to simulated addresses, listening, connecting and accepting, stream and
 * datagram (below, and cio/socket.h for their names and options); and an
 * in-memory file system for the *at ops, files and directories (below).
 * An op on a real (not simulated) handle completes with -CIO_EBADF: it is
 * no handle of the simulated world, and nothing ever reaches the real
 * system (the standard handles 0, 1 and 2 included: print with stdio). A
 * plain system call given a simulated handle (read(2), fcntl(2),
 * setsockopt(2)) fails with EBADF: use the cio calls. cio_loop_fd() is
 * -CIO_ENOTSUP: a simulated loop has no kernel object to wait on.
 *
 * Beyond a seeded world: scripted results (cio/mock_script.h), faults
 * injected at seeded rates, and invariants checked on every run, each
 * violation reported with the seed and the command that replays it (the
 * end of this file). docs/testing.md shows how to test a program with it.
 *
 * Known limits: virtual time does not wait for other threads (a loop whose
 * only pending work is a timer jumps to it even when another thread is
 * about to post: test cross-thread timing on a real backend).
 */
#ifndef CIO_MOCK_H
#define CIO_MOCK_H

#include <stdint.h>

#include "loop.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * cio_mock_trace - a hash of what the simulation of `loop` has done so
 * far: its seed, the virtual time of each wait, and each completion it
 * delivered (opcode, result) in order. Print it at the end of a run: two
 * runs of one program with one seed give the same value. 0 for a loop
 * that does not run on the mock backend. Loop thread.
 */
CIO_API uint64_t cio_mock_trace(const cio_loop *loop);

/* cio_mock_seed - the seed `loop` runs with (to print with a failure, so
 * that CIO_MOCK_SEED=<seed> replays it); 0 for a loop not on the mock.
 * Loop thread. */
CIO_API uint64_t cio_mock_seed(const cio_loop *loop);

/*
 * cio_mock_pipe - makes a simulated pipe in the world of `loop`: fds[0]
 * its read end, fds[1] its write end. 0, -CIO_EINVAL for a loop not on the
 * mock (or NULL), -CIO_ENOMEM, or -CIO_EMFILE. Loop thread.
 *
 * The handles are numbers from CIO_MOCK_FD_BASE (2^30) up, which no real
 * descriptor reaches: a plain system call given one (read(2), fcntl(2))
 * fails with EBADF and touches no real file. They are valid only in ops on
 * `loop`, and are closed with cio_prep_close() (or cio_close() in a task);
 * a closed number is used again, lowest first, as descriptors
 * are. cio_loop_close() frees every pipe still open, and reports each
 * as a leak (see the invariants below).
 *
 * On them run read, write, readv and writev (the offset is ignored: a pipe
 * has no position), poll (multishot too, as on sockets below) and close,
 * as on a real pipe:
 * - the pipe holds up to CIO_MOCK_PIPE_CAPACITY bytes;
 * - a read of an empty pipe waits until bytes come, or completes with 0
 *   (end of file) once the write end is closed; a write to a full pipe
 *   waits for room; a write with the read end closed fails with
 *   -CIO_EPIPE (no SIGPIPE); a read or write of 0 bytes completes with 0;
 *   a read on the write end, or a write on the read end, -CIO_EBADF;
 * - poll reports CIO_POLLIN on the read end while bytes are held and
 *   CIO_POLLHUP once no writer is left; CIO_POLLOUT on the write end while
 *   there is room and CIO_POLLERR once no reader is left; it waits until
 *   one of the events asked (or HUP, ERR) holds;
 * - a close ends the ops of the loop waiting on that end with
 *   -CIO_ECANCELED before it completes (cio_prep_close in cio/op.h); a
 *   cancel or a deadline ends a waiting op as on any handle, and it then
 *   has moved no byte.
 * What the seed decides: each op's latency (so the order of completions),
 * and how much each read or write moves: a number of bytes between 1 and
 * all that is possible (asked, and held or room left), as a real pipe may
 * move fewer bytes than asked; but a write of at most PIPE_BUF (4096)
 * bytes moves all of them or waits, as POSIX makes it atomic. A program
 * must loop on short transfers; the mock makes sure it has to. fsync on a
 * pipe or socket: -CIO_EINVAL, as Linux.
 */
CIO_API int cio_mock_pipe(cio_loop *loop, cio_fd fds[2]);
#define CIO_MOCK_FD_BASE (1 << 30)
#define CIO_MOCK_PIPE_CAPACITY 4096u

/*
 * cio_mock_socketpair - makes two connected stream sockets in the world of
 * `loop`, as socketpair(AF_UNIX, SOCK_STREAM) or a TCP connection over
 * loopback would be: each end reads what the other sends. 0, -CIO_EINVAL
 * for a loop not on the mock (or NULL), -CIO_ENOMEM, or -CIO_EMFILE. Loop
 * thread. The handles are numbered, valid and closed as cio_mock_pipe()'s.
 *
 * On them run recv, send, read, write, readv and writev (read and write
 * are recv and send without flags; the offset is ignored), recvmsg and
 * sendmsg, poll, shutdown and close, as on a connected TCP socket on Linux
 * (the section on simulated sockets below says what else they answer):
 * - each direction holds up to CIO_MOCK_PIPE_CAPACITY bytes; a recv with
 *   nothing held waits for bytes, a send with no room waits for room;
 * - recv flags: CIO_MSG_DONTWAIT (-CIO_EAGAIN instead of waiting),
 *   CIO_MSG_PEEK (the bytes stay held), CIO_MSG_WAITALL (goes on until
 *   the whole length, end of file or an error, and reports the bytes done
 *   even when it then fails, is cancelled or times out; not with
 *   DONTWAIT or PEEK, as on Linux). send flags: CIO_MSG_DONTWAIT,
 *   CIO_MSG_WAITALL (the same), and MSG_NOSIGNAL and MSG_MORE, which
 *   change nothing here. Any other flag: -CIO_EINVAL. recv, send and
 *   shutdown on a pipe's handle: -CIO_ENOTSOCK;
 * - shutdown(CIO_SHUT_WR): the peer reads the bytes sent before it, then
 *   end of file (0); a later send on this end fails with -CIO_EPIPE; the
 *   other direction goes on. CIO_SHUT_RD: a recv on this end gets what is
 *   held, then 0 instead of waiting (the peer's sends still succeed, as on
 *   Linux). CIO_SHUT_RDWR: both. Another `how`: -CIO_EINVAL. It takes
 *   effect when it completes;
 * - close: the ops of the loop waiting on that end end with -CIO_ECANCELED
 *   first (cio_prep_close in cio/op.h). The peer then reads what was sent
 *   before the close, then end of file, and its sends fail with
 *   -CIO_EPIPE. A close with bytes still unread on the closing end is a
 *   reset, as TCP on Linux does: the peer's next recv (once it has read
 *   what was sent before) or send fails with -CIO_ECONNRESET, once; after
 *   it, the end is as after a plain close (0, -CIO_EPIPE);
 * - poll, as tcp_poll(): CIO_POLLIN while bytes are held or a recv would
 *   not wait; CIO_POLLRDHUP once the receiving half is over (the peer shut
 *   down or closed, or this end did SHUT_RD); CIO_POLLOUT while there is
 *   room, or a send fails at once; CIO_POLLHUP once both halves are over
 *   (RDHUP and this end's SHUT_WR, or a reset); CIO_POLLERR while a reset
 *   is still to be reported. It waits until one of the events asked (or
 *   HUP, ERR) holds;
 * - a cancel or a deadline ends a waiting op as on any handle, and it has
 *   then moved no byte (a MSG_WAITALL op: the bytes reported).
 * What the seed decides, as for pipes: each op's latency, and how many
 * bytes each try moves (between 1 and all that is possible), so that a
 * send or recv may be short. The ends are unnamed AF_UNIX sockets: their
 * names and options are answered as the section below says.
 */
CIO_API int cio_mock_socketpair(cio_loop *loop, cio_fd fds[2]);

/* ---- simulated listeners, addresses and datagrams (mock_net.c) ---- */

/*
 * Simulated sockets. CIO_OP_SOCKET on a mock loop makes a simulated socket
 * (a number as cio_mock_pipe()'s): AF_INET, AF_INET6 or AF_UNIX, and
 * SOCK_STREAM or SOCK_DGRAM (CIO_SOCK_NONBLOCK and CIO_SOCK_CLOEXEC are
 * taken and change nothing; protocol 0, or IPPROTO_TCP, IPPROTO_UDP as the
 * type says). Another family: -CIO_EAFNOSUPPORT; a type or protocol the
 * mock does not simulate (SOCK_SEQPACKET, SOCK_RAW, ...): -CIO_EPROTONOSUPPORT;
 * a type no system has: -CIO_EINVAL. Bind, listen, connect, accept, the
 * transfers, shutdown, poll and close run on them as on Linux, and
 * cio/socket.h's calls answer their names and options. Everything the
 * simulation chooses (ephemeral ports, autobound names, latencies, short
 * transfers) comes from the seed; nothing happens before an op's try, so a
 * cancel, a deadline or a close ends a waiting op having done nothing.
 *
 * The world is one host with loopback only, as Linux with no network:
 * - its addresses are 127.0.0.0/8 and ::1; a bind takes those and the
 *   wildcards 0.0.0.0 and :: (another address: -CIO_EADDRNOTAVAIL); a
 *   destination 0.0.0.0 or :: is this host (127.0.0.1, ::1), any address
 *   not the host's is unreachable (-CIO_ENETUNREACH). Ports are the
 *   privileged ones too (the simulation runs as root);
 * - TCP and UDP ports are two namespaces that IPv4 and IPv6 share: an
 *   IPv6 socket without IPV6_V6ONLY also takes IPv4, which it sees as
 *   v4-mapped addresses (::ffff:127.0.0.1), and its wildcard overlaps
 *   0.0.0.0. Port 0 binds an ephemeral port, seeded, from Linux's range
 *   (32768-60999), never one in use; a connect, a send or a listen of a
 *   socket that has no name binds one the same way;
 * - a bind of an address that overlaps one in use (the same address, or a
 *   wildcard and an address it covers, same port) fails with
 *   -CIO_EADDRINUSE, unless, as Linux: both sockets set SO_REUSEPORT; or
 *   both set SO_REUSEADDR and (TCP) the other one does not listen. A listen
 *   fails with -CIO_EADDRINUSE while another socket listens on an
 *   overlapping address (unless both have SO_REUSEPORT). Connected and
 *   accepted TCP sockets hold their port until they close (a server that
 *   restarts needs SO_REUSEADDR); there is no TIME_WAIT: a port is free
 *   once its last socket closed. A bind of a bound socket: -CIO_EINVAL;
 *   IPV6_V6ONLY once bound: -CIO_EINVAL;
 * - AF_UNIX names are a namespace of the mock's, never files: a path name
 *   (cut at its first NUL) is one name whatever the socket type; an
 *   abstract name (sun_path[0] == 0) is one per type, as in Linux. A name
 *   goes with its socket: once it closed, a bind of it works and a connect
 *   to it fails as to a name nobody has (a path: -CIO_ENOENT; abstract:
 *   -CIO_ECONNREFUSED). A bind with the family alone autobinds a seeded
 *   abstract name of five hex digits. Unnamed sockets have the name of
 *   length 2 (the family alone).
 *
 * Streams:
 * - listen takes the backlog as Linux (a negative one or one above 4096:
 *   4096); a listen again changes it. An AF_UNIX socket must be bound
 *   (-CIO_EINVAL); a datagram socket cannot listen (-CIO_ENOTSUP:
 *   EOPNOTSUPP). shutdown(CIO_SHUT_RD or RDWR) of a listener stops it;
 * - connect reaches the listener of the address (an exact address before
 *   a wildcard) and is established at once, before an accept takes it, as
 *   TCP's handshake is: it completes with 0 and its socket is a connected
 *   stream as cio_mock_socketpair()'s ends (the same number). With the
 *   listener's queue full (more than its backlog waiting) it waits for
 *   room, as Linux retries its SYN (a deadline bounds it). Nobody listening
 *   (or bound without listening): -CIO_ECONNREFUSED; a path nobody has:
 *   -CIO_ENOENT; an AF_UNIX name of another type: -CIO_EPROTOTYPE; a
 *   connected or listening socket: -CIO_EISCONN; AF_UNSPEC: 0, and
 *   nothing happens;
 * - accept waits for a connection, completes with its new handle and
 *   fills addr, addrlen with the peer's address (at most *addrlen bytes,
 *   and its full length, as accept(2)); the accepted socket has the
 *   listener's options. CIO_F_MULTISHOT: one completion with CIO_F_MORE per
 *   connection, until cancelled. On a socket that does not listen:
 *   -CIO_EINVAL; on a datagram socket: -CIO_ENOTSUP. A close of a listener
 *   ends its waiting accepts with -CIO_ECANCELED (once each), and resets
 *   the connections it had not accepted: their clients' next op fails with
 *   -CIO_ECONNRESET; connects waiting for room then fail with
 *   -CIO_ECONNREFUSED (-CIO_ENOENT for an AF_UNIX path: the name goes
 *   with its socket here, where Linux keeps a socket file until unlink);
 * - a stream socket that never connected, as Linux: recv -CIO_ENOTCONN and
 *   send -CIO_EPIPE on TCP, -CIO_EINVAL and -CIO_ENOTCONN on AF_UNIX;
 *   shutdown -CIO_ENOTCONN (TCP); poll reports CIO_POLLOUT | CIO_POLLHUP;
 *   a listener's poll reports CIO_POLLIN while a connection waits;
 * - recvmsg and sendmsg on a connected stream: the buffers of msg_iov
 *   (at most 1024: -CIO_EMSGSIZE), with the flags of recv and send;
 *   msg_name is ignored by TCP, and refused on AF_UNIX (-CIO_EISCONN);
 *   recvmsg sets msg_namelen to 0 (TCP) or the peer's name (AF_UNIX, when
 *   it has one), msg_controllen and msg_flags to 0. Ancillary data
 *   (msg_controllen on a send): -CIO_ENOTSUP, it is not simulated;
 * - SO_LINGER on, with 0 seconds: a close resets the peer (its next op
 *   fails with -CIO_ECONNRESET). Other options change no behaviour.
 *
 * Datagrams (UDP, AF_UNIX SOCK_DGRAM):
 * - send, write and sendmsg send one datagram, to msg_name when given,
 *   else to the default peer that connect set (none: -CIO_EDESTADDRREQ,
 *   AF_UNIX -CIO_ENOTCONN); it completes with its length. Longer than
 *   65507 bytes (IPv4), 65527 (IPv6) or the sender's SO_SNDBUF less 32
 *   (AF_UNIX): -CIO_EMSGSIZE. Flags: CIO_MSG_DONTWAIT, MSG_NOSIGNAL,
 *   CIO_MSG_WAITALL (no effect); MSG_MORE (UDP's corking) is not simulated:
 *   -CIO_EINVAL;
 * - recv, read, recvmsg take the oldest datagram, whole: what does not fit
 *   the buffers is lost, and recvmsg sets MSG_TRUNC in msg_flags; with
 *   MSG_TRUNC in the op's flags the result is the datagram's full length;
 *   CIO_MSG_PEEK leaves it queued; a datagram is one message whatever
 *   CIO_MSG_WAITALL says. recvmsg fills msg_name with the sender's
 *   address (in the receiver's family; an unnamed AF_UNIX sender: length
 *   0). Nothing queued: it waits (CIO_MSG_DONTWAIT: -CIO_EAGAIN);
 * - UDP: a datagram goes to the socket bound to its address (exact before
 *   wildcard; a connected socket takes only its peer's). Nobody there: it
 *   is lost, silently, as Linux drops it; a connected sender learns of it
 *   as from ICMP: its next recv or send (a waiting recv at once), or
 *   SO_ERROR, reports -CIO_ECONNREFUSED once, and poll reports
 *   CIO_POLLERR. A receiver holds datagrams while what it holds is within
 *   its SO_RCVBUF (each counting its length and 256 bytes): more are lost,
 *   as Linux drops them. A send to 127.0.0.0/8 or ::1 on port 0:
 *   -CIO_EINVAL;
 * - AF_UNIX: a send to a name nobody has fails at once (a path:
 *   -CIO_ENOENT; abstract, or a connected peer that went: -CIO_ECONNREFUSED;
 *   a stream socket's name: -CIO_EPROTOTYPE; a receiver connected to
 *   another: -CIO_EPERM). A receiver holds 11 datagrams (Linux's
 *   max_dgram_qlen of 10, plus one); a send to a full one waits for room
 *   (CIO_MSG_DONTWAIT: -CIO_EAGAIN), and fails with -CIO_ECONNREFUSED if
 *   the receiver closes meanwhile. poll on a connected sender reports
 *   CIO_POLLOUT only while its peer has room;
 * - connect sets the default peer and filters what comes in (AF_UNSPEC:
 *   none again); UDP checks nothing else, AF_UNIX needs a datagram socket
 *   of that name. shutdown on a connected one: CIO_SHUT_RD makes an empty
 *   recv complete with 0, CIO_SHUT_WR makes a send fail with -CIO_EPIPE;
 *   on an unconnected UDP socket it is -CIO_ENOTCONN.
 *
 * poll on any simulated handle may be CIO_F_MULTISHOT: it reports the
 * asked events that hold, then reports again after each change of the
 * handle (bytes in or out, a connection, a close) while one holds, until
 * it is cancelled or its handle closed (a change that comes while it is
 * reporting is reported next, not lost). On a file, whose poll is always
 * ready, a multishot poll reports once, as its last completion.
 *
 * Names and options (cio/socket.h) on simulated sockets, from the
 * simulation, as Linux answers them:
 * - cio_socket_name(): the socket's address; an unnamed IP socket has the
 *   wildcard and port 0; once a connect named it, the loopback address of
 *   its destination's family. cio_socket_peer(): a connected stream's peer
 *   (its address as the other end's cio_socket_name() says it, in this
 *   socket's family), a datagram socket's default peer; else -CIO_ENOTCONN.
 *   A socket pair's ends are unnamed AF_UNIX sockets, each the other's
 *   peer;
 * - options kept and read back (ints read back as 0 or 1 for the flags):
 *   SOL_SOCKET SO_REUSEADDR, SO_REUSEPORT, SO_KEEPALIVE, SO_LINGER (its
 *   time kept when turned off, as Linux), SO_RCVBUF and SO_SNDBUF (kept
 *   doubled, within Linux's bounds: 2304 resp. 4608 up to 425984, as
 *   getsockopt reads them on Linux; defaults: TCP 131072 and 16384, others
 *   212992); IPPROTO_TCP TCP_NODELAY (TCP); IPPROTO_IPV6 IPV6_V6ONLY
 *   (AF_INET6). Read only: SO_TYPE, SO_DOMAIN, SO_PROTOCOL, SO_ACCEPTCONN,
 *   SO_ERROR (the error the next op would report, cleared by the read:
 *   -CIO_ECONNREFUSED from ICMP, a reset to report);
 * - any other option, and a read only one set: -CIO_ENOPROTOOPT, never a
 *   value; as Linux's getsockopt, a level an IPv4 socket does not have
 *   reads -CIO_ENOTSUP, and on AF_UNIX every level but SOL_SOCKET is
 *   -CIO_ENOTSUP (EOPNOTSUPP). A value shorter than an int (a struct
 *   linger): -CIO_EINVAL;
 * - a handle that is not simulated: -CIO_EBADF; a pipe or file: -CIO_ENOTSOCK.
 * The plain calls (getsockname(2), setsockopt(2), fcntl(2)) given a
 * simulated number fail with EBADF: the system has no such descriptor.
 */

/* ---- the in-memory file system (mock_fs.c) ---- */

/*
 * The in-memory file system. Each loop on the mock has its own tree of
 * directories and regular files, made empty (only "/") at its first use
 * and freed by cio_loop_close(); nothing ever reaches the real file
 * system: a path that exists on the machine (/etc/hostname) is
 * -CIO_ENOENT here until the program or cio_mock_file_put() makes it. The
 * ops behave as on Linux with tmpfs, each at the end of its seeded
 * latency, on the tree as it is then:
 * - paths: absolute, or relative to CIO_AT_FDCWD (the current directory,
 *   which is "/") or to a simulated directory handle (opened with
 *   CIO_O_DIRECTORY, or plainly read-only); "." and "..", repeated and
 *   trailing slashes (a trailing slash asks for a directory). Errors:
 *   -CIO_ENOENT, -CIO_ENOTDIR, -CIO_EISDIR, -CIO_EEXIST, -CIO_ENOTEMPTY,
 *   -CIO_EINVAL, -CIO_EBUSY (rename or rmdir of ".", ".." or "/" as
 *   Linux), -CIO_ENAMETOOLONG (a name over 255 bytes, a path of 4096 or
 *   more), -CIO_EBADF (a dirfd that is not an open simulated handle, for a
 *   relative path: a real descriptor is none), -CIO_ENOTDIR (a dirfd that
 *   is a file, pipe or socket). Symbolic links (symlinkat; followed in
 *   paths, 40 at most: -CIO_ELOOP; CIO_O_NOFOLLOW on one: -CIO_ELOOP) and
 *   hard links (linkat); no special files. Modes
 *   are kept and reported but not enforced (no -CIO_EACCES, as for root);
 *   a new file or directory gets `mode` & ~022 (the simulation's umask);
 *   uid and gid are 0.
 * - openat: CIO_O_RDONLY, WRONLY, RDWR, CREAT, EXCL, TRUNC (also when
 *   opened read-only, as Linux), APPEND, DIRECTORY (CREAT with it:
 *   -CIO_EINVAL, as Linux 6.4 on), NOFOLLOW, CLOEXEC, NONBLOCK, SYNC,
 *   DSYNC (no effect). It completes with a new simulated handle (numbered
 *   as cio_mock_pipe()'s, lowest free first) on a new open file
 *   description with its own position. A directory opened for writing or
 *   with CIO_O_TRUNC: -CIO_EISDIR.
 * - read, write, readv, writev at an offset, or at CIO_OFFSET_CURRENT (the
 *   position, which then moves); CIO_O_APPEND writes at the end, even at
 *   an offset (Linux's pwrite(2)). A read past the end completes with 0,
 *   holes read as zeros; a read or write is never short except at the end
 *   of the file, or when the capacity is full (a write then moves what
 *   fits, or fails with -CIO_ENOSPC), or past Linux's 0x7ffff000 bytes
 *   per call. Reading a directory: -CIO_EISDIR;
 *   a read on a handle not opened for reading, or a write on one not
 *   opened for writing: -CIO_EBADF.
 * - fsync (with or without CIO_FSYNC_DATASYNC) completes with 0. poll is
 *   always ready (the asked events among CIO_POLLIN and CIO_POLLOUT, as
 *   poll(2) says of files). Socket ops on a file: -CIO_ENOTSOCK.
 * - close: an unlinked (or replaced) file lives on until its last handle
 *   closes; a removed directory stays open but empty (creating in it:
 *   -CIO_ENOENT).
 * - statx, by path or of a handle (CIO_AT_EMPTY_PATH and ""): type, mode,
 *   nlink, uid, gid, ino, size, blocks, blksize (4096) and the four times,
 *   which come from the loop's virtual clock (cio_now()), never the wall
 *   clock, and move as on Linux (writes: mtime and ctime; entries: the
 *   directory's; atime as relatime). As tmpfs: inode numbers from 1 (the
 *   root) up, in the order of creation; a directory's size is 40 plus 20
 *   per entry and its nlink 2 plus its subdirectories; a file's blocks
 *   (of 512 bytes) count the 4096-byte pages it holds data in. A pipe's
 *   handle is CIO_S_IFIFO (0600), a socket's CIO_S_IFSOCK (0777), size 0,
 *   no times (the mask says which fields are filled).
 * - unlinkat (CIO_AT_REMOVEDIR for a directory; a directory without it:
 *   -CIO_EISDIR, as Linux), renameat (replacing a file, or an empty
 *   directory; CIO_RENAME_NOREPLACE; CIO_RENAME_EXCHANGE; a directory
 *   into itself or below: -CIO_EINVAL), mkdirat.
 * - splice between a simulated pipe and a file, a connected stream
 *   socket or another pipe, as splice(2): the pipe's and the socket's
 *   side take CIO_OFFSET_CURRENT (else -CIO_ESPIPE), the file's side an
 *   offset or CIO_OFFSET_CURRENT (the position, which moves); a file
 *   opened with CIO_O_APPEND as fd_out: -CIO_EINVAL; neither side a pipe:
 *   -CIO_EINVAL; a socket not connected: -CIO_ENOTCONN. It moves a seeded
 *   number of bytes, from 1 to all it can, and waits while what it reads
 *   is empty (0 once no writer is left; a reset socket: -CIO_ECONNRESET,
 *   once) or the pipe or socket it writes is full (-CIO_EPIPE once no
 *   reader is left); CIO_SPLICE_F_NONBLOCK: -CIO_EAGAIN instead of
 *   waiting. A close of fd_out ends a waiting splice (-CIO_ECANCELED); a
 *   close of fd_in, as on io_uring, does not: the splice fails with
 *   -CIO_EBADF when it next tries, which a change of the pipe's other end
 *   brings about (with that end gone too, only a cancel, a deadline or the
 *   close of fd_out ends it).
 * The capacity is CIO_MOCK_FS_CAPACITY bytes of file data, counted in
 * 4096-byte pages as tmpfs counts them, and CIO_MOCK_FS_MAX_NODES files
 * and directories: past them a write or a creation fails with
 * -CIO_ENOSPC, so that a runaway test cannot eat the machine's memory.
 * A file of at most the capacity may still be made sparse at any offset
 * below 2^63 (past it: -EFBIG).
 */
#define CIO_MOCK_FS_CAPACITY (64ull << 20)
#define CIO_MOCK_FS_MAX_NODES 65536u

/*
 * cio_mock_file_put - makes the regular file `path` (absolute, or
 * relative to "/") in the simulated file system of `loop` hold a copy of
 * the `len` bytes at `data`, for a test to set up before (or while) its
 * program runs. Missing parent directories are made (mode 0755), a new
 * file gets mode 0644; an existing file keeps its inode, and handles open
 * on it see the new contents (as a write after O_TRUNC). The caller keeps
 * `data`. 0, or -CIO_EINVAL (a loop not on the mock, closed or NULL;
 * `path` NULL; `data` NULL with `len`), -CIO_EISDIR (`path` is a
 * directory), -CIO_ENOTDIR (a parent is a file), -CIO_ENAMETOOLONG,
 * -CIO_ENOSPC (past the capacity: the file is then as before), or
 * -CIO_ENOMEM. Takes no virtual time and draws nothing from the seed.
 * Loop thread (or any thread while the loop is not running).
 */
CIO_API int cio_mock_file_put(cio_loop *loop, const char *path, const void *data, size_t len);

/*
 * cio_mock_file_get - copies the contents of the regular file `path` of
 * the simulated file system of `loop` into `buf` (at most `cap` bytes;
 * `buf` may be NULL when `cap` is 0, to ask for the size). Returns the
 * file's size, which is more than was copied when it exceeds `cap`, or
 * -CIO_EINVAL (as for cio_mock_file_put), -CIO_ENOENT, -CIO_ENOTDIR,
 * -CIO_EISDIR, -CIO_ENAMETOOLONG. Holes read as zeros. Changes nothing
 * (not even atime). Loop thread (or any thread while the loop is not
 * running).
 */
CIO_API int64_t cio_mock_file_get(cio_loop *loop, const char *path, void *buf, size_t cap);

/* ---- faults and invariants ---- */

/*
 * Faults the simulation injects, each at a rate of its own, in parts per
 * million of the chances it gets. Each is a thing a real kernel does, only
 * rarely, so that a correct program copes with it:
 */
typedef enum cio_mock_fault {
    /* A connected stream is reset as by the network: the op that meets it,
     * and the first op of the other end, fail with -CIO_ECONNRESET; after
     * that both ends are as after the peer's close (0, -CIO_EPIPE). Chance:
     * each try of a read, write, recv, send, recvmsg or sendmsg on a
     * connected stream. */
    CIO_MOCK_FAULT_RESET,
    /* An op with CIO_MSG_DONTWAIT fails with -CIO_EAGAIN though it could
     * have gone on (readiness is always a race). Chance: each try of one. */
    CIO_MOCK_FAULT_AGAIN,
    /* socket, accept or openat fails with -CIO_ENOMEM, resp. -CIO_EMFILE,
     * and changes nothing (an accept leaves its connection queued). Chance:
     * each try of one. */
    CIO_MOCK_FAULT_NOMEM,
    CIO_MOCK_FAULT_MFILE,
    /* The submission queue is full: the op reaches the simulated kernel
     * later (after up to 100 us of virtual time more), so that ops
     * submitted after it may complete first. Chance: each submit. */
    CIO_MOCK_FAULT_RING_FULL,
    /* A cancel meets an op that has just finished: the op completes with
     * its own result (its bytes moved) and the cancel with -CIO_ENOENT.
     * Chance: each cancel of an op (not multishot) that could finish now. */
    CIO_MOCK_FAULT_CANCEL_RACE,
    /* A cancel meets an op while it executes: the op completes with
     * -CIO_EINTR (nothing moved) and the cancel with -CIO_EALREADY, as
     * op.h allows. Chance: each CIO_OP_CANCEL op (cio_prep_cancel) that
     * finds its target; cio_cancel() and a task's cancel report no
     * outcome, so they never meet this fault. */
    CIO_MOCK_FAULT_INTR,
    /* A close meets an op that has just finished: the op completes with
     * its own result instead of -CIO_ECANCELED. Chance: each op still in
     * flight on a handle when a close of that handle ends it, if it could
     * finish now (a program that closes only idle handles never meets
     * it). */
    CIO_MOCK_FAULT_CLOSE_RACE,
    CIO_MOCK_FAULT_COUNT_
} cio_mock_fault;

/* CIO_MOCK_FAULTS=<ppm> sets every rate; CIO_MOCK_FAULTS=reset=<ppm>,... a
 * few, by these names; anything else makes cio_loop_init() fail with
 * -CIO_EINVAL. */
#define CIO_MOCK_FAULT_NAMES \
    { "reset", "again", "nomem", "mfile", "ring_full", "cancel_race", "intr", "close_race" }

/*
 * The mock's own settings, through cio_loop_options.backend_options (NULL:
 * the environment's, CIO_MOCK_FAULTS and CIO_MOCK_POISON, else none).
 * Start from all-zero: no fault, no poisoning.
 */
typedef struct cio_mock_options {
    uint32_t fault_ppm[CIO_MOCK_FAULT_COUNT_]; /* each fault's rate; 0: never */
    uint32_t flags;                            /* CIO_MOCK_* below */
    uint32_t max_handles;                      /* simulated handles open at once, as RLIMIT_NOFILE:
                                                  past it an op or call that makes one fails with
                                                  -CIO_EMFILE; 0: CIO_MOCK_MAX_HANDLES */
    uint32_t reserved_[6];                     /* must be 0 */
} cio_mock_options;

/* The default limit of simulated handles (cio_mock_options.max_handles),
 * as a process's default hard limit of descriptors on Linux. */
#define CIO_MOCK_MAX_HANDLES 4096u

/* Poison what cio keeps in each op (cio_op.internal_) at its final
 * completion, so that a runtime that touched it afterwards would fail
 * loudly, and check every op the mock takes back from its queues against
 * the poison (a violation names it). Costs little; for tests. Also
 * CIO_MOCK_POISON=1 in the environment. */
#define CIO_MOCK_POISON 1u

/* cio_mock_set_fault - sets the rate of `fault` from now on, in parts per
 * million (at most 1000000). 0, or -CIO_EINVAL (a loop not on the mock, a
 * bad fault or rate). Loop thread. A run with every rate 0 draws no random
 * number for faults: its trace is the same as with no fault support. */
CIO_API int cio_mock_set_fault(cio_loop *loop, cio_mock_fault fault, uint32_t ppm);

/* cio_mock_faults - how many faults of kind `fault` the simulation of
 * `loop` injected so far; CIO_MOCK_FAULT_COUNT_ for all kinds together.
 * A test checks the program's output in runs where this is 0, and that it
 * failed cleanly in the others. 0 for a loop not on the mock. Loop
 * thread. */
CIO_API uint64_t cio_mock_faults(const cio_loop *loop, cio_mock_fault fault);

/*
 * What the mock checks on every run, and reports on stderr as
 *   cio mock: <what, naming the op: its opcode, handle and address> (seed S;
 *   replay: CIO_BACKEND=mock CIO_MOCK_SEED=S ... <the command line>)
 * - every op it takes completes exactly once, and no op is taken back
 *   after its final completion (with CIO_MOCK_POISON);
 * - nothing is left when the loop closes: no simulated handle open (the
 *   close frees it, but a program that forgets a handle leaks it on a
 *   real system) and no task alive (blocked in an op, a sleep or a sync
 *   primitive: the close ends it, but a program that shuts down cleanly
 *   has ended its tasks first), each named. Ops in flight at the close
 *   are not leftovers: the close cancels them, as on every backend;
 * - a deadlock: the loop would wait for ever, with ops parked that
 *   nothing can wake: no op due, no timer set, and no other thread wakes
 *   the loop within 50 ms of real time (10 s once another thread has
 *   woken it before: it may be busy). The parked ops then complete with
 *   -CIO_EDEADLK, so the program ends instead of hanging. A loop with
 *   nothing in flight that waits for another thread's post waits as long
 *   as it takes.
 * A violation does not change what the program does or its exit status:
 * check cio_mock_violations() (with NULL after cio_main(), whose loop is
 * gone), or set CIO_MOCK_ABORT=1 in the environment: the first violation
 * then aborts the process after its report (and the CIO_MOCK_REPORT
 * line), for test runners that only look at the exit. The replay command
 * sets cio's environment and repeats the command line: a program that
 * reads settings of its own from the environment or from files needs
 * those too.
 * With CIO_MOCK_REPORT=1 each mock loop prints, when it closes, one line
 *   cio mock: seed S: N ops, F faults (kind n, ...), V violations, T s virtual, trace H
 * so that a run that is not the program's own test (an example, a
 * server) still shows its seed, whether a fault struck, and the trace
 * that proves a replay is the same run.
 */

/* cio_mock_violations - how many violations the mock reported for `loop`
 * so far (loop thread), or, with NULL, in the whole process, loops closed
 * included (any thread). */
CIO_API uint64_t cio_mock_violations(const cio_loop *loop);

/*
 * cio_mock_replay - writes into `buf` (`size` bytes, NUL-terminated, cut if
 * short) the one-line shell command that replays this run: the
 * environment that sets the backend, seed and faults of `loop`, then the
 * process's command line (Linux; elsewhere "<program>"). Returns the length
 * the whole line needs (as snprintf), or -CIO_EINVAL for a loop not on the
 * mock. Print it with a failure. Loop thread.
 */
CIO_API int cio_mock_replay(const cio_loop *loop, char *buf, size_t size);

/*
 * cio_mock_fail - reports a violation that the program (or a layer of cio
 * above the loop, such as tasks) found in a simulated run, the same way as
 * the mock's own: the printf-style message, the seed and the replay
 * command on stderr, counted in cio_mock_violations(), an abort under
 * CIO_MOCK_ABORT=1. 0, or -CIO_EINVAL for a loop not on the mock (nothing
 * is printed then). Loop thread.
 */
CIO_API int cio_mock_fail(cio_loop *loop, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

#ifdef __cplusplus
}
#endif

#endif /* CIO_MOCK_H */
