# libFuzzer builds (fuzz/, docs/security.md). Off by default; needs clang:
#   CC=clang-14 cmake -S . -B build-fuzz -DRIDESHARE_FUZZ=ON \
#     -DRIDESHARE_SANITIZE=ON -DRIDESHARE_TESTS=OFF
# (fuzz/run.sh does this). Every library is then built with libFuzzer's
# coverage instrumentation; the harnesses link the fuzzer's main.
option(RIDESHARE_FUZZ "Build the libFuzzer harnesses in fuzz/ (clang only)" OFF)
if(RIDESHARE_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "RIDESHARE_FUZZ needs clang (CC=clang-14), not ${CMAKE_C_COMPILER_ID}")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()
