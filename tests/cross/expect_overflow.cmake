# tests/cross/expect_overflow.cmake - runs `test_context overflow` and passes only if the program
# died (any non-zero status or signal) after the guard page's report named the context.
#
#   cmake -DEXE=<test_context> [-DEMULATOR=<cmd|arg|...>] [-DMODE=overflow16k] -P expect_overflow.cmake
#
# EMULATOR is CMAKE_CROSSCOMPILING_EMULATOR with its arguments joined by "|".
cmake_minimum_required(VERSION 3.16)
if(NOT EXE)
  message(FATAL_ERROR "expect_overflow: pass -DEXE=<test_context>")
endif()
string(REPLACE "|" ";" emulator "${EMULATOR}")
if(NOT MODE)
  set(MODE overflow)
endif()
execute_process(COMMAND ${emulator} ${EXE} ${MODE}
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 60)
message("status: ${rc}\n---- stdout ----\n${out}---- stderr ----\n${err}")
if(rc STREQUAL "0")
  message(FATAL_ERROR "expect_overflow: the overflowing program exited 0")
endif()
if(NOT err MATCHES "stack overflow in task 'deep'")
  message(FATAL_ERROR "expect_overflow: no report naming the context")
endif()
