# tests/install/check_install.cmake - does the installed cio work for a project outside the tree?
#
#   cmake -DCIO_SOURCE_DIR=<src> -DCIO_BINARY_DIR=<built tree> -DCIO_C_COMPILER=<cc> -P check_install.cmake
#
# Installs the built tree into a fresh prefix, then builds tests/install/consumer against it three
# ways (find_package with cio::cio, with cio::cio_static, and pkg-config) and runs each program.
# Any failing step ends the script with FATAL_ERROR, which fails the ctest.
cmake_minimum_required(VERSION 3.16)

foreach(v CIO_SOURCE_DIR CIO_BINARY_DIR CIO_C_COMPILER)
  if(NOT DEFINED ${v} OR "${${v}}" STREQUAL "")
    message(FATAL_ERROR "check_install: pass -D${v}=...")
  endif()
endforeach()

# run_step(<what> <command...>): runs a command, fails with its output if it does not exit 0.
# The environment of the script (set(ENV{...})) is passed on.
function(run_step what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 240)
  if(NOT rc STREQUAL "0")
    string(REPLACE ";" " " cmd "${ARGN}")
    message(FATAL_ERROR "check_install: ${what} failed (${rc})\n  command: ${cmd}\n"
                        "---- stdout ----\n${out}\n---- stderr ----\n${err}")
  endif()
  message(STATUS "ok: ${what}")
  set(step_output "${out}" PARENT_SCOPE)
endfunction()

# read_cache(<var>): the value of <var> in the built tree's CMakeCache.txt, or "".
function(read_cache var)
  file(STRINGS "${CIO_BINARY_DIR}/CMakeCache.txt" line REGEX "^${var}:[A-Z]+=")
  string(REGEX REPLACE "^${var}:[A-Z]+=" "" value "${line}")
  set(${var} "${value}" PARENT_SCOPE)
endfunction()

read_cache(CMAKE_GENERATOR)
read_cache(CMAKE_MAKE_PROGRAM)
read_cache(CIO_SANITIZE)

# A sanitized library only links into programs built with the same runtime.
set(extra_flags "")
if(CIO_SANITIZE)
  set(extra_flags -fsanitize=address,undefined -fno-omit-frame-pointer)
endif()
string(REPLACE ";" " " extra_flags_str "${extra_flags}")

set(work "${CIO_BINARY_DIR}/install_check")
set(prefix "${work}/prefix")
file(REMOVE_RECURSE "${work}")
file(MAKE_DIRECTORY "${work}")

# ---- 1. install ----
run_step("install into ${prefix}" "${CMAKE_COMMAND}" --install "${CIO_BINARY_DIR}" --prefix "${prefix}")
file(GLOB_RECURSE pc_files "${prefix}/*/cio.pc")
file(GLOB_RECURSE config_files "${prefix}/*/cioConfig.cmake")
if(NOT pc_files OR NOT config_files OR NOT EXISTS "${prefix}/include/cio.h")
  message(FATAL_ERROR "check_install: the install lacks cio.pc, cioConfig.cmake or include/cio.h")
endif()
list(GET pc_files 0 pc_file)
get_filename_component(pc_dir "${pc_file}" DIRECTORY)
get_filename_component(libdir "${pc_dir}" DIRECTORY)

# Only the public API leaves the shared library (plus the sanitizers' own hooks in a sanitized build).
file(GLOB shared_libs "${libdir}/libcio.so.*.*.*")
find_program(NM nm)
if(shared_libs AND NM)
  list(GET shared_libs 0 shared_lib)
  run_step("list the exported symbols" "${NM}" -D --defined-only "${shared_lib}")
  string(REGEX MATCHALL "[^\n]+" lines "${step_output}")
  foreach(line ${lines})
    string(REGEX REPLACE "^.* " "" sym "${line}")
    if(NOT sym MATCHES "^cio_" AND NOT (CIO_SANITIZE AND sym MATCHES "^(__|_init$|_fini$)"))
      message(FATAL_ERROR "check_install: ${shared_lib} exports '${sym}', which is not part of the API")
    endif()
  endforeach()
endif()

# ---- 2. find_package(cio): cio::cio and cio::cio_static ----
set(gen_args -G "${CMAKE_GENERATOR}")
if(CMAKE_MAKE_PROGRAM)
  list(APPEND gen_args "-DCMAKE_MAKE_PROGRAM=${CMAKE_MAKE_PROGRAM}")
endif()
run_step("configure the consumer with find_package(cio)"
  "${CMAKE_COMMAND}" -S "${CIO_SOURCE_DIR}/tests/install/consumer" -B "${work}/build" ${gen_args}
  "-DCMAKE_C_COMPILER=${CIO_C_COMPILER}" -DCMAKE_BUILD_TYPE=Release "-DCMAKE_PREFIX_PATH=${prefix}"
  "-DCMAKE_C_FLAGS=${extra_flags_str}")

# The package must be the one just installed, not one that happens to be on the system.
file(STRINGS "${work}/build/CMakeCache.txt" found_dir REGEX "^cio_DIR:")
string(REGEX REPLACE "^cio_DIR:[A-Z]+=" "" found_dir "${found_dir}")
string(FIND "${found_dir}" "${prefix}/" at)
if(NOT at EQUAL 0)
  message(FATAL_ERROR "check_install: find_package(cio) found '${found_dir}', not the package in ${prefix}")
endif()

run_step("build the consumer" "${CMAKE_COMMAND}" --build "${work}/build")
run_step("run consumer_shared (cio::cio)" "${work}/build/consumer_shared")
run_step("run consumer_static (cio::cio_static)" "${work}/build/consumer_static")

# ---- 3. pkg-config: cio (shared) and cio-static ----
find_program(PKG_CONFIG NAMES pkg-config pkgconf)
if(NOT PKG_CONFIG)
  message(FATAL_ERROR "check_install: pkg-config not found (scripts/deps.sh installs it)")
endif()
set(ENV{PKG_CONFIG_PATH} "${pc_dir}")
run_step("pkg-config --cflags --libs cio" "${PKG_CONFIG}" --cflags --libs cio)
string(STRIP "${step_output}" pc_flags)
separate_arguments(pc_flags UNIX_COMMAND "${pc_flags}")
# cio-static names libcio.a itself (the README's way to link statically).
run_step("pkg-config --cflags --libs cio-static" "${PKG_CONFIG}" --cflags --libs cio-static)
string(STRIP "${step_output}" pc_static_flags)
separate_arguments(pc_static_flags UNIX_COMMAND "${pc_static_flags}")

# Strict C11 with warnings as errors: the public headers must compile cleanly in a user's build.
set(cflags -std=c11 -Wall -Wextra -Wpedantic -Werror ${extra_flags})
set(src "${CIO_SOURCE_DIR}/tests/install/consumer/consumer.c")
run_step("compile with pkg-config (shared)"
  "${CIO_C_COMPILER}" ${cflags} "${src}" ${pc_flags} -o "${work}/consumer_pc_shared")
run_step("compile with pkg-config --static (libcio.a)"
  "${CIO_C_COMPILER}" ${cflags} "${src}" ${pc_static_flags} -o "${work}/consumer_pc_static")

set(ENV{LD_LIBRARY_PATH} "${libdir}")
run_step("run consumer_pc_shared" "${work}/consumer_pc_shared")
run_step("run consumer_pc_static" "${work}/consumer_pc_static")
unset(ENV{LD_LIBRARY_PATH})

# The shared build must really load the installed library.
find_program(LDD ldd)
if(LDD)
  set(ENV{LD_LIBRARY_PATH} "${libdir}")
  run_step("ldd consumer_pc_shared" "${LDD}" "${work}/consumer_pc_shared")
  unset(ENV{LD_LIBRARY_PATH})
  if(NOT step_output MATCHES "libcio\\.so[^\n]*=> ${libdir}/libcio\\.so")
    message(FATAL_ERROR "check_install: consumer_pc_shared does not load ${libdir}/libcio.so:\n${step_output}")
  endif()
  run_step("ldd consumer_pc_static" "${LDD}" "${work}/consumer_pc_static")
  if(step_output MATCHES "libcio\\.so")
    message(FATAL_ERROR "check_install: consumer_pc_static (cio-static) loads libcio.so:\n${step_output}")
  endif()
endif()

message(STATUS "check_install: the installed package works (find_package and pkg-config)")
