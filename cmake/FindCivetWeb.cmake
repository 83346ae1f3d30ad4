# Finds CivetWeb. Debian's own CMake config references a missing
# /usr/bin/civetweb, so we look for the header and library directly.
# Provides CivetWeb::civetweb.
find_path(CivetWeb_INCLUDE_DIR civetweb.h)
find_library(CivetWeb_LIBRARY civetweb)
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(CivetWeb REQUIRED_VARS CivetWeb_LIBRARY CivetWeb_INCLUDE_DIR)
if(CivetWeb_FOUND AND NOT TARGET CivetWeb::civetweb)
  find_package(Threads REQUIRED)
  add_library(CivetWeb::civetweb UNKNOWN IMPORTED)
  set_target_properties(CivetWeb::civetweb PROPERTIES
    IMPORTED_LOCATION ${CivetWeb_LIBRARY}
    INTERFACE_INCLUDE_DIRECTORIES ${CivetWeb_INCLUDE_DIR}
    INTERFACE_LINK_LIBRARIES "Threads::Threads;${CMAKE_DL_LIBS}")
endif()
