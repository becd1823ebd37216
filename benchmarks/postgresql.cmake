# The PostgreSQL benchmark (included by CMakeLists.txt when the driver
# target tessera::postgresql exists). Peers, each optional: libpqxx
# (Debian: libpqxx-dev, pkg-config libpqxx) and SOCI with its postgresql
# backend (Debian: libsoci-dev, no CMake config: found by header and library).
add_executable(tessera_bench_postgresql postgresql_bench.cpp)
target_link_libraries(tessera_bench_postgresql PRIVATE tessera::tessera tessera::postgresql
                                                       PostgreSQL::PostgreSQL tessera_warnings)

find_package(PkgConfig QUIET)
if(PkgConfig_FOUND)
  pkg_check_modules(PQXX QUIET IMPORTED_TARGET libpqxx)
endif()
if(TARGET PkgConfig::PQXX)
  message(STATUS "benchmarks: libpqxx ${PQXX_VERSION} found, compared on PostgreSQL")
  target_link_libraries(tessera_bench_postgresql PRIVATE PkgConfig::PQXX)
  target_compile_definitions(tessera_bench_postgresql PRIVATE TESSERA_BENCH_HAVE_PQXX)
else()
  message(STATUS "benchmarks: libpqxx not found (libpqxx-dev), skipped")
endif()

tessera_bench_soci(tessera_bench_postgresql postgresql PostgreSQL)

# A smoke run against a throwaway server: tiny N, one repetition; fails on a
# checksum mismatch of libpq or Tessera (a peer's wrong result is reported
# in its output only). The server: with the tests built, the
# postgresql_server fixture of tests/postgresql (fixtures are global to
# CTest, so it serves this test although this directory is added after
# tests/; ctest -R bench_smoke_postgresql pulls in its start and stop);
# without them, a fixture of its own here. with_server.sh reads the URL the
# fixture wrote (or takes TESSERA_TEST_POSTGRESQL_URL when that is set).
set(BENCH_PG_WITH_SERVER "${PROJECT_SOURCE_DIR}/tests/postgresql/with_server.sh")
if(TESSERA_BUILD_TESTS AND TARGET tessera_plugin_postgresql)
  set(BENCH_PG_FIXTURE postgresql_server)
  set(BENCH_PG_SERVER_DIR "${PROJECT_BINARY_DIR}/tests/postgresql/server")
else()
  set(BENCH_PG_FIXTURE bench_postgresql_server)
  set(BENCH_PG_SERVER_DIR "${CMAKE_CURRENT_BINARY_DIR}/postgresql-server")
  set(BENCH_PG_SERVICE "${PROJECT_SOURCE_DIR}/scripts/services/postgresql.sh")
  add_test(NAME bench_postgresql_server_start
           COMMAND "${BENCH_PG_SERVICE}" start "${BENCH_PG_SERVER_DIR}")
  add_test(NAME bench_postgresql_server_stop
           COMMAND "${BENCH_PG_SERVICE}" stop "${BENCH_PG_SERVER_DIR}")
  set_tests_properties(bench_postgresql_server_start PROPERTIES FIXTURES_SETUP
                                                                bench_postgresql_server)
  set_tests_properties(bench_postgresql_server_stop PROPERTIES FIXTURES_CLEANUP
                                                               bench_postgresql_server)
endif()
add_test(NAME bench_smoke_postgresql
         COMMAND "${BENCH_PG_WITH_SERVER}" "${BENCH_PG_SERVER_DIR}"
                 $<TARGET_FILE:tessera_bench_postgresql> --n 200 --reps 1)
set_tests_properties(bench_smoke_postgresql PROPERTIES FIXTURES_REQUIRED ${BENCH_PG_FIXTURE}
                                                       TIMEOUT 60)
