# Every build option of RideShare-C, in one place.
option(RIDESHARE_WERROR "Treat compiler warnings as errors (CI turns this on)" OFF)
option(RIDESHARE_SANITIZE "Build with AddressSanitizer and UndefinedBehaviorSanitizer" OFF)
option(RIDESHARE_TESTS "Build unit and system tests" ON)
option(RIDESHARE_SYSTEM_TESTS "Register system tests that start real servers" ON)
# First port base used by system tests; each test stack takes its own base.
set(RIDESHARE_TEST_PORT_BASE 20000 CACHE STRING "First port base for system test stacks")
