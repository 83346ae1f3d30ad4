# Every external C dependency, found once. Targets used by the subdirectories:
#   PkgConfig::PROTOBUFC PkgConfig::PQ PkgConfig::JANSSON PkgConfig::CURL
#   PkgConfig::CMOCKA PkgConfig::RABBITMQ nng::nng ZooKeeper::zookeeper_mt
#   CivetWeb::civetweb Threads::Threads
find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(PROTOBUFC REQUIRED IMPORTED_TARGET libprotobuf-c)
pkg_check_modules(PQ REQUIRED IMPORTED_TARGET libpq)
pkg_check_modules(JANSSON REQUIRED IMPORTED_TARGET jansson)
pkg_check_modules(CURL REQUIRED IMPORTED_TARGET libcurl)
pkg_check_modules(RABBITMQ REQUIRED IMPORTED_TARGET librabbitmq)
if(RIDESHARE_TESTS)
  pkg_check_modules(CMOCKA REQUIRED IMPORTED_TARGET cmocka)
endif()
find_package(nng CONFIG REQUIRED)   # no pkg-config file on Debian
find_package(ZooKeeper REQUIRED)
find_package(CivetWeb REQUIRED)
find_program(PROTOC_C protoc-c REQUIRED)
