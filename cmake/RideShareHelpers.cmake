# Helper functions shared by the subdirectories.

# rs_protoc_c(OUT_SRCS OUT_HDRS file.proto...): generate C with protoc-c at
# build time into the binary dir (generated code is never committed).
function(rs_protoc_c out_srcs out_hdrs)
  set(srcs)
  set(hdrs)
  foreach(proto ${ARGN})
    get_filename_component(abs ${proto} ABSOLUTE)
    get_filename_component(dir ${abs} DIRECTORY)
    get_filename_component(name ${proto} NAME_WE)
    set(c ${CMAKE_CURRENT_BINARY_DIR}/${name}.pb-c.c)
    set(h ${CMAKE_CURRENT_BINARY_DIR}/${name}.pb-c.h)
    add_custom_command(OUTPUT ${c} ${h}
      COMMAND ${PROTOC_C} --c_out=${CMAKE_CURRENT_BINARY_DIR} -I${dir} ${abs}
      DEPENDS ${abs}
      COMMENT "protoc-c ${name}.proto")
    list(APPEND srcs ${c})
    list(APPEND hdrs ${h})
  endforeach()
  set(${out_srcs} ${srcs} PARENT_SCOPE)
  set(${out_hdrs} ${hdrs} PARENT_SCOPE)
endfunction()

# rs_unit_test(NAME SOURCES... LIBS ...): a cmocka unit test, label "unit".
function(rs_unit_test name)
  cmake_parse_arguments(T "" "TIMEOUT" "SOURCES;LIBS" ${ARGN})
  if(NOT RIDESHARE_TESTS)
    return()
  endif()
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 60)
  endif()
  add_executable(${name} ${T_SOURCES} ${PROJECT_SOURCE_DIR}/tests/unit/rs_test.c)
  target_link_libraries(${name} PRIVATE ${T_LIBS} PkgConfig::CMOCKA)
  # tests/unit/rs_test.[ch]: what the unit tests share (RS_TEST_MAIN, ports)
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests/unit)
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES LABELS unit TIMEOUT ${T_TIMEOUT})
endfunction()

# rs_unit_tests(LIBS lib... TESTS name...): rs_unit_test(name SOURCES
# name.c LIBS lib...) for each name: a folder's unit tests that are each one
# file beside the code they test, linked against the same libraries.
function(rs_unit_tests)
  cmake_parse_arguments(T "" "" "LIBS;TESTS" ${ARGN})
  foreach(name ${T_TESTS})
    rs_unit_test(${name} SOURCES ${name}.c LIBS ${T_LIBS})
  endforeach()
endfunction()

# rs_test_set_if(NAME PROPERTY VALUE): sets the test's property, unless VALUE
# is empty (an option the caller left out).
function(rs_test_set_if name prop value)
  if(NOT "${value}" STREQUAL "")
    set_tests_properties(${name} PROPERTIES ${prop} "${value}")
  endif()
endfunction()

# rs_system_test(NAME PORT_BASE base COMMAND cmd... [FIXTURE f] [TIMEOUT s]
#                [LABELS l...] [ENV VAR=value...] [REQUIRES fixture...]
#                [SKIP_RETURN_CODE n]):
# a test against real servers, declared in one call. Without FIXTURE it gets
# a throwaway stack of its own on PORT_BASE (tests/with-stack.sh; give every
# test its own base below 32768, ports base+0..+24); with FIXTURE it shares
# the stack that fixture set up. ENV reaches the test and the stack's
# services; REQUIRES names fixtures it needs (e.g. docker_images). Labels
# "system" plus LABELS.
function(rs_system_test name)
  cmake_parse_arguments(T "" "PORT_BASE;TIMEOUT;FIXTURE;SKIP_RETURN_CODE"
    "COMMAND;LABELS;ENV;REQUIRES" ${ARGN})
  if(NOT RIDESHARE_TESTS OR NOT RIDESHARE_SYSTEM_TESTS)
    return()
  endif()
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  set(ws ${PROJECT_SOURCE_DIR}/tests/with-stack.sh)
  set(fixtures ${T_REQUIRES})
  if(T_FIXTURE)
    add_test(NAME ${name} COMMAND ${ws} ${T_PORT_BASE} env -- ${T_COMMAND})
    list(APPEND fixtures ${T_FIXTURE})
  else()
    add_test(NAME ${name} COMMAND ${ws} ${T_PORT_BASE} -- ${T_COMMAND})
  endif()
  set_tests_properties(${name} PROPERTIES LABELS "system;${T_LABELS}" TIMEOUT ${T_TIMEOUT}
    RESOURCE_LOCK "stack-${T_PORT_BASE}"
    ENVIRONMENT "RIDESHARE_BUILD_DIR=${CMAKE_BINARY_DIR};RIDESHARE_NO_BUILD=1;RIDESHARE_NO_DEPS=1;${T_ENV}")
  rs_test_set_if(${name} FIXTURES_REQUIRED "${fixtures}")
  rs_test_set_if(${name} SKIP_RETURN_CODE "${T_SKIP_RETURN_CODE}")
endfunction()

# rs_script_test(NAME COMMAND cmd... [LABELS l...] [TIMEOUT s] [ENV ...]
#                [SKIP_RETURN_CODE n] [SERIAL] [SYSTEM]):
# a test that brings its own servers or none (lint, fresh machine, fuzz,
# docker). SYSTEM: only when RIDESHARE_SYSTEM_TESTS; SERIAL: never beside
# another test (it uses every core).
function(rs_script_test name)
  cmake_parse_arguments(T "SERIAL;SYSTEM" "TIMEOUT;SKIP_RETURN_CODE"
    "COMMAND;LABELS;ENV" ${ARGN})
  if(NOT RIDESHARE_TESTS OR (T_SYSTEM AND NOT RIDESHARE_SYSTEM_TESTS))
    return()
  endif()
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  add_test(NAME ${name} COMMAND ${T_COMMAND})
  set_tests_properties(${name} PROPERTIES LABELS "${T_LABELS}" TIMEOUT ${T_TIMEOUT})
  rs_test_set_if(${name} ENVIRONMENT "${T_ENV}")
  rs_test_set_if(${name} SKIP_RETURN_CODE "${T_SKIP_RETURN_CODE}")
  if(T_SERIAL)
    set_tests_properties(${name} PROPERTIES RUN_SERIAL TRUE)
  endif()
endfunction()
