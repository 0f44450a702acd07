# cmake/toolchain-aarch64-linux-gnu.cmake - cross-build cio for 64-bit ARM Linux with Debian's
# gcc-aarch64-linux-gnu, and run the tests under qemu-user:
#
#   cmake -S . -B build-aarch64 -G Ninja -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-aarch64-linux-gnu.cmake \
#         -DCIO_WITH_URING=OFF
#   cmake --build build-aarch64 && (cd build-aarch64 && ctest)
#
# ctest prefixes every test command with CMAKE_CROSSCOMPILING_EMULATOR. qemu-user emulates the CPU
# but forwards system calls to the host kernel, which is why epoll and poll work; io_uring's shared
# rings would need qemu to translate memory the kernel writes behind its back, so build without it.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(CIO_CROSS_TRIPLE aarch64-linux-gnu)
set(CMAKE_C_COMPILER ${CIO_CROSS_TRIPLE}-gcc)
set(CMAKE_ASM_COMPILER ${CIO_CROSS_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${CIO_CROSS_TRIPLE}-g++)

# Debian's multiarch cross sysroot; headers and libraries come from there only.
set(CMAKE_FIND_ROOT_PATH /usr/${CIO_CROSS_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# Keep pkg-config from handing the host's (x86-64) liburing to an ARM build.
set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/${CIO_CROSS_TRIPLE}/pkgconfig:/usr/${CIO_CROSS_TRIPLE}/lib/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")

# -L: where qemu finds the ARM dynamic loader and libc.
find_program(CIO_QEMU_AARCH64 NAMES qemu-aarch64 qemu-aarch64-static)
if(CIO_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${CIO_QEMU_AARCH64} -L /usr/${CIO_CROSS_TRIPLE})
endif()
