# cmake/toolchain-x86_64-w64-mingw32.cmake - cross-build cio for Windows x64 with Debian's mingw-w64
# (gcc-mingw-w64-x86-64, the win32 thread model: no winpthreads) and run it under Wine (wine64):
#
#   cmake -S . -B build-win64 -G Ninja -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-x86_64-w64-mingw32.cmake
#   cmake --build build-win64 && (cd build-win64 && ctest)
#
# The whole project builds: libcio.dll (its import library libcio.dll.a) and libcio.a, the tests,
# the examples and, with -DCIO_BUILD_BENCH=ON, the benchmark programs that have a Windows version.
# ctest runs each test program through CMAKE_CROSSCOMPILING_EMULATOR (below). `cmake --install`
# puts bin/libcio.dll, lib/libcio.dll.a, lib/libcio.a, include/ and lib/pkgconfig/cio.pc.
# scripts/test.sh's win64 configuration does all this and more (scripts/win_echo.sh,
# scripts/win_install_check.sh); tests/cross still builds the context switch alone.
# Wine wants a prefix (WINEPREFIX) and runs faster with a persistent wineserver (`wineserver -p`).
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)

set(CIO_CROSS_TRIPLE x86_64-w64-mingw32)
set(CMAKE_C_COMPILER ${CIO_CROSS_TRIPLE}-gcc)
set(CMAKE_ASM_COMPILER ${CIO_CROSS_TRIPLE}-gcc)
set(CMAKE_RC_COMPILER ${CIO_CROSS_TRIPLE}-windres)

set(CMAKE_FIND_ROOT_PATH /usr/${CIO_CROSS_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# Debian keeps the 64-bit loader out of PATH (/usr/lib/wine/wine64); `wine` also works once the
# wine package is there.
find_program(CIO_WINE NAMES wine64 wine PATHS /usr/lib/wine /usr/lib64/wine NO_CMAKE_FIND_ROOT_PATH)
if(CIO_WINE)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${CIO_WINE})
endif()
