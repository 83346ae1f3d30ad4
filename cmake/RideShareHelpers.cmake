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
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBS} PkgConfig::CMOCKA)
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES LABELS unit TIMEOUT ${T_TIMEOUT})
endfunction()

# rs_system_test(NAME PORT_BASE base COMMAND cmd... [FIXTURE f] [TIMEOUT s]):
# a test against real servers. Without FIXTURE it gets a throwaway stack of
# its own on PORT_BASE (tests/with-stack.sh); with FIXTURE it shares the
# stack that fixture set up. Label "system".
function(rs_system_test name)
  cmake_parse_arguments(T "" "PORT_BASE;TIMEOUT;FIXTURE" "COMMAND;LABELS" ${ARGN})
  if(NOT RIDESHARE_TESTS OR NOT RIDESHARE_SYSTEM_TESTS)
    return()
  endif()
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  set(ws ${PROJECT_SOURCE_DIR}/tests/with-stack.sh)
  if(T_FIXTURE)
    add_test(NAME ${name} COMMAND ${ws} ${T_PORT_BASE} env -- ${T_COMMAND})
    set_tests_properties(${name} PROPERTIES FIXTURES_REQUIRED ${T_FIXTURE})
  else()
    add_test(NAME ${name} COMMAND ${ws} ${T_PORT_BASE} -- ${T_COMMAND})
  endif()
  set_tests_properties(${name} PROPERTIES LABELS "system;${T_LABELS}" TIMEOUT ${T_TIMEOUT}
    RESOURCE_LOCK "stack-${T_PORT_BASE}"
    ENVIRONMENT "RIDESHARE_BUILD_DIR=${CMAKE_BINARY_DIR};RIDESHARE_NO_BUILD=1;RIDESHARE_NO_DEPS=1")
endfunction()
