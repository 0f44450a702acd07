# cmake/toolchain-x86_64-w64-mingw32.cmake - cross-build for Windows x64 with Debian's mingw-w64
# (gcc-mingw-w64-x86-64) and run the tests under Wine (wine64):
#
#   cmake -S tests/cross -B build-win64 -G Ninja \
#         -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-x86_64-w64-mingw32.cmake
#   cmake --build build-win64 && (cd build-win64 && ctest)
#
# Only tests/cross builds for Windows so far (the library needs its IOCP backend first).
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
