/*
 * cio/fixed.h - registered resources: handles and buffers that a loop
 * holds for its ops, so that the kernel does not look them up again for
 * every op. io_uring does this for real (registered files, registered
 * buffers); every other backend keeps the same API and results with plain
 * handles and buffers, so a program written for this header runs
 * everywhere.
 *
 * ---- fixed files ----
 *
 * Every op on a descriptor makes the kernel look the descriptor up in the
 * process's table and take a reference on the file for as long as the op
 * runs (atomic counts, shared with every thread of the process). io_uring
 * can hold files in a table of the ring itself instead: an op names a slot
 * of that table, and the lookup costs next to nothing. cio calls such a
 * handle a fixed handle.
 *
 *     cio_files_reserve(&loop, 1024);            // once: room for 1024 handles
 *     cio_file_fix(&loop, listener, &lfix);      // the loop takes `listener`
 *     cio_prep_accept(&op, lfix, NULL, NULL, 0);
 *     op.flags |= CIO_F_FIXED_FILE;              // lfix is fixed; so is the result
 *     ...                                        // in the callback:
 *     cio_fd conn = cio_op_fd(&op);              // a fixed handle
 *     cio_prep_recv(&rd, conn, buf, sizeof buf, 0);
 *     rd.flags |= CIO_F_FIXED_FILE;
 *     ...
 *     cio_prep_close(&cl, conn);                 // closing it frees its slot
 *     cl.flags |= CIO_F_FIXED_FILE;
 *
 * Where fixed handles come from: cio_file_fix() hands an open handle over
 * to the loop; an accept, openat or socket op with CIO_F_FIXED_FILE makes
 * its new handle a fixed one (cio_op_fd() in its callback, as usual). An
 * accept with the flag also names its listener by a fixed handle. Where
 * they go: a close op with CIO_F_FIXED_FILE, or cio_loop_close(), which
 * closes every fixed handle still open.
 *
 * The opcodes that take CIO_F_FIXED_FILE: read, write, readv, writev,
 * fsync, send, recv, sendmsg, recvmsg, recv_pool, shutdown, connect and
 * accept (their handle is a fixed one), openat and socket (the new handle
 * is), accept (both), close (releases one), and the zero-copy and
 * fixed-buffer ops below. Any other opcode with the flag is refused by
 * cio_submit() with -CIO_EINVAL. Bind and listen are not among them (the
 * kernels before 6.11 cannot run them on a slot): set a listener up on a
 * plain handle, then fix it. Nor is poll: readiness is for code that
 * wants plain descriptors.
 *
 * What a fixed handle is: on io_uring (Linux 6.0 or later) a slot number
 * of the ring's table, not a descriptor. It means nothing outside the ops
 * of the loop that made it: not to a plain system call, not to another
 * loop, not to the task calls of cio/task.h (cio_recv, ...) nor the L3
 * calls of fs.h and net.h, which take plain handles. Slot 3 and
 * descriptor 3 are different files. On the other backends (epoll, poll,
 * IOCP, the mock, and io_uring on a kernel older than 6.0 or one that
 * refuses the table) a fixed handle is the plain handle itself, recorded
 * as fixed; the rules are the same there all the same, so that a program
 * that keeps them runs unchanged on io_uring. cio_files_registered() says
 * which case a loop is in.
 *
 * What every backend checks, with the same answer: an op with
 * CIO_F_FIXED_FILE whose handle is not a fixed handle of this loop open
 * now (never fixed, closed, a close of it under way, another loop's) is
 * refused by cio_submit() with -CIO_EBADF, as io_uring would answer; an
 * openat, socket or accept with the flag on a loop without a table with
 * -CIO_EINVAL. With every slot taken, cio_file_fix() returns -CIO_ENFILE
 * and an openat, socket or accept with the flag completes with
 * -CIO_ENFILE (an accept after the pause every accept out of descriptors
 * takes: cio_prep_accept() in cio/op.h). io_uring takes the slot when the
 * op starts, the other backends once the new handle exists (a connection
 * accepted then has nowhere to go and is closed, as the kernel does when
 * its own table is full); so with several such ops waiting on a nearly
 * full table, which one gets the last slot may differ.
 *
 * Closing: a close op with CIO_F_FIXED_FILE keeps every promise of
 * cio_prep_close(): the ops of this loop on the handle complete first
 * (-CIO_ECANCELED, or their own result), then the close, and the peer of
 * a socket sees the end of the stream. From the close's submission on the
 * handle is no longer fixed (new ops on it get -CIO_EBADF); its slot is
 * free again once the close has completed. One exception, as for any
 * close: a zero-copy send whose bytes are queued already may complete
 * after the close (cio_prep_send_zc() in cio/op.h); free such an op and
 * its buffer after its own completion, not the close's.
 *
 * Socket options and names (cio/socket.h) take plain handles only: set
 * options (SO_LINGER, TCP_NODELAY, ...) on a socket before cio_file_fix(),
 * and for connections, accept them without the flag, set their options,
 * then fix them (on Linux an accepted connection also inherits most
 * options set on its listener). Link chains with a fixed handle in them
 * run op by op in the core (CIO_F_LINK in cio/op.h), not as kernel links.
 *
 * Multishot accept with the flag: on io_uring cio arms one accept per
 * connection (the kernel's multishot accept would pick slots itself, and
 * two allocators of one table would give one slot twice); the program
 * sees the same completions as from any multishot accept. An openat with
 * the flag opens a plain descriptor and moves it into its slot, so that
 * it keeps every rule of cio_prep_openat() (a FIFO opened without
 * blocking). Ops on slots always go to the kernel: CIO_URING_DISABLE
 * (README) does not apply to them.
 */
#ifndef CIO_FIXED_H
#define CIO_FIXED_H

#include <stdbool.h>

#include "loop.h"
#include "op.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The most slots cio_files_reserve() accepts (io_uring's own limit). */
#define CIO_FILES_MAX (1u << 20)

/*
 * cio_files_reserve - give the loop a table of `count` fixed handles.
 *
 * Once per loop, before any other call of this fixed-files section (the
 * fixed buffers below need no table). On io_uring it
 * registers a sparse file table of `count` slots with the ring (memory the
 * kernel charges to the process); elsewhere, and where the kernel refuses
 * the table, it allocates cio's own record of `count` handles. Fixed
 * handles do not raise the process's limit on open files: on every backend
 * but io_uring each one is an open descriptor. Loop thread. Returns 0, or
 * -CIO_EINVAL (`count` 0 or above CIO_FILES_MAX, a loop not set up or
 * closing), -CIO_EBUSY (already reserved), -CIO_ENOMEM, -CIO_EPERM (a loop
 * inherited across fork()).
 */
CIO_API int cio_files_reserve(cio_loop *loop, unsigned count);

/*
 * cio_file_fix - hand the open handle `fd` over to the loop and get its
 * fixed handle in `*fixed`, for ops with CIO_F_FIXED_FILE.
 *
 * Ownership moves: on success the caller must no longer use or close `fd`
 * (on io_uring cio has closed it already: the ring holds the file; ops of
 * the loop already in flight on `fd` run to their end all the same).
 * Close the fixed handle with a close op with CIO_F_FIXED_FILE, or leave
 * it to cio_loop_close(). On error nothing changed: `fd` is still the
 * caller's and `*fixed` is untouched. Loop thread. Returns 0, or
 * -CIO_EINVAL (no table reserved, `fixed` NULL), -CIO_EBADF (`fd` is not
 * an open handle, or is one of this loop's fixed handles already; not
 * checked on Windows and the mock, where a later op says so), -CIO_ENFILE
 * (every slot taken), -CIO_ENOMEM, -CIO_EPERM (a loop inherited across
 * fork()).
 */
CIO_API int cio_file_fix(cio_loop *loop, cio_fd fd, cio_fd *fixed);

/*
 * cio_files_registered - whether the loop's fixed handles are slots of a
 * table the kernel holds (io_uring), rather than plain handles: false
 * without a table, on the other backends, and where the kernel refused
 * one. Only for reports and benchmarks: the rules above are the same
 * either way. Loop thread.
 */
CIO_API bool cio_files_registered(const cio_loop *loop);

/*
 * ---- fixed buffers ----
 *
 * Every read or write of user memory makes the kernel find and pin the
 * pages of the buffer for as long as the IO runs, and let go of them
 * after. io_uring can pin a set of buffers once, up front: an op then
 * names a buffer by its index (and a range inside it), and the per-op
 * pinning is gone. That pays for large or O_DIRECT file IO and for
 * zero-copy sends.
 *
 *     static char bufs[4][65536];
 *     cio_iovec iov[4];
 *     for (int i = 0; i < 4; i++) iov[i] = (cio_iovec){.iov_base = bufs[i], .iov_len = sizeof bufs[i]};
 *     cio_buffers_register(&loop, iov, 4);          // once
 *     cio_prep_read_fixed(&op, fd, bufs[2], 65536, 0, 2);  // buffer 2, the whole of it
 *     cio_prep_write_fixed(&op, fd, bufs[1] + 512, 100, off, 1); // a range inside buffer 1
 *     cio_prep_send_zc_fixed(&op, sock, bufs[0], n, 0, 0);
 *     ...
 *     cio_buffers_unregister(&loop);               // once no op uses them
 *
 * The ops that use them: cio_prep_read_fixed(), cio_prep_write_fixed()
 * and cio_prep_send_zc_fixed() (cio/op.h). Each names a buffer index and
 * a range [buf, buf + len) that must lie inside that buffer. cio_submit()
 * checks that on every backend, before anything is done, and refuses the
 * op with -CIO_EFAULT when no buffers are registered, the index is not
 * below the count registered, or the range reaches outside the buffer.
 * Results and errors are otherwise those of the plain read, write and
 * zero-copy send.
 *
 * Where the pinning is saved: io_uring (io_uring_register_buffers: the
 * pages count against RLIMIT_MEMLOCK where the kernel charges it, and a
 * refusal, -CIO_ENOMEM, comes back from cio_buffers_register()). On epoll,
 * poll, IOCP and the mock the ops are plain reads, writes and sends of the
 * same memory, and registering only records the table for the checks, so
 * a program behaves the same everywhere.
 *
 * O_DIRECT files want what they always want: buffers, lengths and offsets
 * aligned to the device's logical block size (4096 is safe), e.g. buffers
 * from aligned_alloc(4096, ...); registering changes nothing there.
 *
 * The buffers stay the caller's memory: cio keeps a copy of the array of
 * cio_iovec (not of the bytes), and the caller must keep the buffers
 * themselves valid until cio_buffers_unregister() or cio_loop_close().
 * An op's range is under the buffer rule while it runs, as with any op.
 */

/* The most buffers one cio_buffers_register() takes, and the largest
 * buffer (io_uring's limits, kept on every backend). */
#define CIO_BUFFERS_MAX (1u << 14)
#define CIO_BUFFER_MAX_LEN ((size_t)1 << 30)

/*
 * cio_buffers_register - register the `n` buffers bufs[0..n) with the
 * loop, for the fixed-buffer ops; buffer i is bufs[i].
 *
 * The array is copied (it may go after the call); the memory it points to
 * must stay valid while registered. One set per loop at a time. Loop
 * thread. Returns 0, or -CIO_EBUSY (a set is registered already),
 * -CIO_EINVAL (`bufs` NULL, `n` 0 or above CIO_BUFFERS_MAX, a buffer with
 * a NULL base, a length of 0 or above CIO_BUFFER_MAX_LEN, or wrapping
 * around the address space; also a loop not set up or closed),
 * -CIO_ENOMEM, -CIO_EPERM (a loop inherited across fork()), or on io_uring
 * the kernel's refusal as it gives it (-CIO_ENOMEM past RLIMIT_MEMLOCK,
 * -CIO_EFAULT for memory it cannot pin, -CIO_ENOTSUP for file-backed
 * memory on older kernels); then nothing is registered.
 */
CIO_API int cio_buffers_register(cio_loop *loop, const cio_iovec *bufs, unsigned n);

/*
 * cio_buffers_unregister - drop the registered buffers; the memory is the
 * caller's alone again. cio_loop_close() does the same by itself. Loop
 * thread. Returns 0, or -CIO_EBUSY while any submitted op that names a
 * registered buffer has not completed yet (its final callback not yet
 * started; cancel or wait for it, then call again), -CIO_ENXIO (none
 * registered), -CIO_EINVAL (a loop not set up or closed), -CIO_EPERM (a
 * loop inherited across fork()).
 */
CIO_API int cio_buffers_unregister(cio_loop *loop);

#ifdef __cplusplus
}
#endif

#endif /* CIO_FIXED_H */
