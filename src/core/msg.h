/*
 * src/core/msg.h - the fields of cio_msghdr by one name on every platform:
 * struct msghdr on POSIX, WSAMSG on Windows (whose buffers are WSABUFs,
 * laid out as cio_iovec). Lvalues, so that a backend can write them.
 */
#ifndef CIO_CORE_MSG_H
#define CIO_CORE_MSG_H

#include "cio/platform.h"

#if defined(_WIN32)
#define CIO__MSG_NAME(m) ((m)->name)
#define CIO__MSG_NAMELEN(m) ((m)->namelen)
#define CIO__MSG_IOV(m) ((cio_iovec *)(void *)(m)->lpBuffers)
#define CIO__MSG_IOVLEN(m) ((m)->dwBufferCount)
#define CIO__MSG_CONTROL(m) ((m)->Control.buf)
#define CIO__MSG_CONTROLLEN(m) ((m)->Control.len)
#define CIO__MSG_FLAGS(m) ((m)->dwFlags)
#define CIO__IOV_LEN(n) ((unsigned long)(n)) /* WSABUF.len: 32 bits */
_Static_assert(sizeof(cio_iovec) == sizeof(WSABUF), "cio_iovec is laid out as WSABUF");
#else
#define CIO__MSG_NAME(m) ((m)->msg_name)
#define CIO__MSG_NAMELEN(m) ((m)->msg_namelen)
#define CIO__MSG_IOV(m) ((m)->msg_iov)
#define CIO__MSG_IOVLEN(m) ((m)->msg_iovlen)
#define CIO__MSG_CONTROL(m) ((m)->msg_control)
#define CIO__MSG_CONTROLLEN(m) ((m)->msg_controllen)
#define CIO__MSG_FLAGS(m) ((m)->msg_flags)
#define CIO__IOV_LEN(n) ((size_t)(n))
#endif

#endif /* CIO_CORE_MSG_H */
