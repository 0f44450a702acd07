#!/usr/bin/env bash
# scripts/check_posix_headers.sh CC SOURCE_DIR - prove that the core and the
# poll backend include nothing beyond ISO C and POSIX when built as for
# macOS and the BSDs (CIO_POSIX_ONLY), so that the port is a compile away.
#
# For each source, the compiler lists every header it opens (-H). Only the
# headers that cio's own files include are checked (what the C library pulls
# in behind <sys/socket.h> is its own business); each must be on the list.
set -euo pipefail
cc=${1:?compiler}
src=${2:?source dir}
allowed=" assert.h dirent.h errno.h fcntl.h inttypes.h limits.h poll.h pthread.h signal.h stdatomic.h stdbool.h \
stddef.h stdint.h stdio.h stdlib.h string.h time.h unistd.h sys/resource.h sys/socket.h sys/stat.h \
sys/types.h sys/uio.h netinet/in.h sys/un.h "
status=0
for f in "$src"/src/core/*.c "$src"/src/backend/poll.c; do
    [[ $f == *_win.c ]] && continue # the Windows half of a platform interface (thread.h, sync ops)
    included=$("$cc" -std=c11 -DCIO_POSIX_ONLY -DCIO_HAVE_POLL -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
        -I"$src/include" -H -fsyntax-only "$f" 2>&1 >/dev/null |
        awk -v root="$src/" -v file="$f" '
            /^\.+ / {
                depth = length($1); path = $2
                stack[depth] = path
                parent = depth == 1 ? file : stack[depth - 1]
                if (index(parent, root) == 1 && index(path, root) != 1) print path
            }' |
        sed -E 's#^.*/include/([a-z0-9_]+-linux-gnu/)?##' | sort -u)
    for h in $included; do
        if [[ $allowed != *" $h "* ]]; then
            echo "${f#"$src"/}: includes <$h>, which is not ISO C or POSIX"
            status=1
        fi
    done
done
[[ $status == 0 ]] && echo "core and poll backend: only ISO C and POSIX headers"
exit $status
