/*
 * src/net/net_internal.h - what the files of src/net share, and the two
 * calls of the core they use besides the public API (src/core/socket.c):
 * a quick setup op run at once through the loop's backend, so that the
 * simulated backend answers it with its own handles.
 */
#ifndef CIO_NET_INTERNAL_H
#define CIO_NET_INTERNAL_H

#include "cio/net.h"
#include "cio/socket.h"
#include "cio/sync.h"
#include "cio/task.h"

/*
 * cio__setup_op - runs `op` (prepared: CIO_OP_SOCKET, CIO_OP_BIND,
 * CIO_OP_LISTEN, or CIO_OP_CLOSE of a handle no op waits on) now, on the
 * calling thread, through the loop's backend (the system call on the real
 * ones), and returns its result (cio_op_fd(op) for a socket). Never
 * waits. -CIO_EINVAL for an unusable loop or another opcode.
 */
int32_t cio__setup_op(cio_loop *loop, cio_op *op);

/* An AF_UNIX address for `path` ("@name": abstract, when allowed). */
int cio__unix_addr(cio_addr *out, const char *path, bool allow_abstract);

/* Setup helpers of src/net/sock.c. */
int cio__net_socket(cio_loop *loop, int family, int type, cio_fd *out);
void cio__net_close_now(cio_loop *loop, cio_fd fd);
int cio__net_bound(cio_loop *loop, const cio_addr *addr, int type, const cio_listen_options *opts, bool reuseaddr,
                   bool listen, cio_fd *out);

/* The task's loop, or NULL. */
static inline cio_loop *cio__net_loop(void) { return cio_task_loop(); }

/* ---- resolving (resolve.c), for connect-by-name ---- */

typedef void (*cio__resolved_fn)(void *ctx, int32_t res);

/* Starts resolving; `done(ctx, res)` runs once from a completion on the
 * loop's thread, unless detached first. `*handle` names it for
 * cio__resolve_detach. Errors as cio_resolve_start (then nothing runs). */
int cio__resolve_begin(cio_loop *loop, const char *host, uint16_t port, int family, cio_addr *out, unsigned max,
                       uint64_t deadline, cio__resolved_fn done, void *ctx, void **handle);

/* Ends interest in a resolve: `done` will not run, `out` is not written
 * any more; cio frees the rest once the pool hands it back. */
void cio__resolve_detach(void *handle);

/* Ends it with `res` (-CIO_ECANCELED): `done` runs at the next turn.
 * -CIO_EALREADY when already ending. */
int cio__resolve_end(void *handle, int32_t res);

#endif /* CIO_NET_INTERNAL_H */
