cmake_minimum_required(VERSION 3.25)
# Generates the C table of areas from data/AreaNameEnum.csv at build time:
#   cmake -DCSV=<csv> -DOUT=<c file> -P gen_areas.cmake
# The CSV is "Area No,Area Name" then one "<number>,<name>" row per area
# (CRLF or LF). A malformed row, a duplicate or a number outside 1..1000
# fails the build.
file(STRINGS ${CSV} lines ENCODING UTF-8)
set(body "")
set(count 0)
set(max 0)
set(seen "")
list(POP_FRONT lines header)
string(STRIP "${header}" header)
if(NOT header STREQUAL "Area No,Area Name")
  message(FATAL_ERROR "${CSV}: unexpected header '${header}'")
endif()
foreach(line IN LISTS lines)
  string(STRIP "${line}" line)
  if(line STREQUAL "")
    continue()
  endif()
  if(NOT line MATCHES "^([0-9]+),(.+)$")
    message(FATAL_ERROR "${CSV}: malformed row '${line}'")
  endif()
  set(no ${CMAKE_MATCH_1})
  set(name "${CMAKE_MATCH_2}")
  if(no LESS 1 OR no GREATER 1000)
    message(FATAL_ERROR "${CSV}: area number ${no} out of range")
  endif()
  if(no IN_LIST seen)
    message(FATAL_ERROR "${CSV}: duplicate area number ${no}")
  endif()
  list(APPEND seen ${no})
  string(REPLACE "\\" "\\\\" name "${name}")
  string(REPLACE "\"" "\\\"" name "${name}")
  string(APPEND body "\t{ ${no}, \"${name}\" },\n")
  math(EXPR count "${count} + 1")
  if(no GREATER max)
    set(max ${no})
  endif()
endforeach()
file(WRITE ${OUT}.tmp
"/* Generated from data/AreaNameEnum.csv by gen_areas.cmake. Do not edit. */
#include \"rs_gw_area.h\"

const struct rs_gw_area rs_gw_areas[] = {
${body}};
const size_t rs_gw_areas_count = ${count};
const int rs_gw_areas_max = ${max};
")
file(COPY_FILE ${OUT}.tmp ${OUT} ONLY_IF_DIFFERENT)
file(REMOVE ${OUT}.tmp)
