/*
 * cio/platform.h - the OS types that cio's public API passes through.
 *
 * cio hands the caller's own OS objects to the kernel untouched: handles,
 * buffer vectors, socket addresses and message headers. This header names
 * them once so that the rest of the API reads the same on every platform.
 *
 * Portable code:
 * - initialise a cio_iovec by field name, {.iov_base = p, .iov_len = n}:
 *   on Windows the fields come in the other order (it is a WSABUF), so a
 *   positional {p, n} swaps them there. A Windows buffer holds at most
 *   4 GiB - 1 bytes (iov_len is a 32-bit unsigned long).
 * - fill a cio_msghdr with cio_msg_init() and read it back with
 *   cio_msg_flags() / cio_msg_namelen() / cio_msg_controllen() (cio/op.h),
 *   not through its fields, whose names differ (msghdr vs WSAMSG).
 * - Windows: this header includes <winsock2.h>, <ws2tcpip.h> and
 *   <windows.h> (a cio_op holds an OVERLAPPED), with their macros. A
 *   program that wants less of windows.h may define WIN32_LEAN_AND_MEAN
 *   and NOMINMAX before it first includes cio; cio never defines them for
 *   it. These bring struct sockaddr_in/in6, htons and inet_pton, which
 *   POSIX code takes from <netinet/in.h> and <arpa/inet.h> (include them
 *   under #if !defined(_WIN32), as the examples do); struct sockaddr_un
 *   needs <afunix.h>, included after cio. Define CIO_USING_SHARED when
 *   calling libcio.dll; libcio.a needs the system libraries cio-static.pc
 *   names (ws2_32, ...). The CMake targets cio::cio and cio::cio_static
 *   and the .pc files do this for you.
 */
#ifndef CIO_PLATFORM_H
#define CIO_PLATFORM_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#else
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Symbol visibility: only functions marked CIO_API leave the library. */
#if defined(_WIN32)
#if defined(CIO_BUILDING_SHARED)
#define CIO_API __declspec(dllexport)
#elif defined(CIO_USING_SHARED)
#define CIO_API __declspec(dllimport)
#else
#define CIO_API
#endif
#elif defined(__GNUC__)
#define CIO_API __attribute__((visibility("default")))
#else
#define CIO_API
#endif

#if defined(_WIN32)
/* A SOCKET or a HANDLE; both are pointer-sized. */
typedef uintptr_t cio_fd;
#define CIO_FD_INVALID ((cio_fd)~(uintptr_t)0)
/* Laid out as WSABUF so that it can be handed to WSASend/WSARecv as is. */
typedef struct cio_iovec {
    unsigned long iov_len;
    void *iov_base;
} cio_iovec;
typedef WSAMSG cio_msghdr;
typedef int cio_socklen;
#else
/* A file descriptor. */
typedef int cio_fd;
#define CIO_FD_INVALID (-1)
/* struct iovec itself: the kernel reads the caller's array directly. */
typedef struct iovec cio_iovec;
typedef struct msghdr cio_msghdr;
typedef socklen_t cio_socklen;
#endif

/* A list the runtime keeps inside public structs (the waiters of a sync
 * primitive, the children of a group); never read or write it. */
typedef struct cio_lnode_ {
    struct cio_lnode_ *next, *prev;
} cio_lnode_;
typedef struct cio_list_ {
    cio_lnode_ *head, *tail;
} cio_list_;

#ifdef __cplusplus
}
#endif

#endif /* CIO_PLATFORM_H */
