# redis-ops's part of kairo-redis's build (included by CMakeLists.txt): the
# AOF and glob unit tests, the persistence and abuse tests, and the RESP
# parser's fuzz target. ${KR_REDIS_SOURCES} are the server's sources.

# The fuzz harness on the server's sources, its main renamed away.
function(kr_redis_fuzz_target name)
  add_executable(${name} fuzz/resp_fuzz.c ${KR_REDIS_SOURCES})
  target_link_libraries(${name} PRIVATE kairo_static m)
  target_compile_definitions(${name} PRIVATE _GNU_SOURCE
                             main=kairo_redis_main ${ARGN})
  target_compile_options(${name} PRIVATE -Wno-missing-prototypes)
endfunction()

if(KR_BUILD_TESTS)
  enable_testing()
  find_package(PkgConfig REQUIRED)
  pkg_check_modules(KR_REDIS_CMOCKA REQUIRED IMPORTED_TARGET cmocka)
  set(KR_REDIS_TEST_TIMEOUT 300)

  # Unit tests of the AOF and glob modules, on both runtime flavors.
  add_executable(test-redis-aof tests/test-redis-aof.c
                 ${PROJECT_SOURCE_DIR}/tests/helpers.c aof_file.c aof_load.c
                 glob.c)
  target_link_libraries(test-redis-aof PRIVATE kairo_static
                        PkgConfig::KR_REDIS_CMOCKA)
  target_include_directories(test-redis-aof PRIVATE ${PROJECT_SOURCE_DIR}/tests
                             ${PROJECT_SOURCE_DIR}/src
                             ${CMAKE_CURRENT_SOURCE_DIR})
  target_compile_definitions(test-redis-aof PRIVATE _GNU_SOURCE
                             KR_BIN_DIR="${CMAKE_BINARY_DIR}/bin")
  set_target_properties(test-redis-aof PROPERTIES RUNTIME_OUTPUT_DIRECTORY
                        ${CMAKE_BINARY_DIR}/tests)
  file(READ tests/test-redis-aof.c body)
  string(REGEX MATCHALL "cmocka_unit_test\\([ \n]*[A-Za-z0-9_]+" lines "${body}")
  foreach(line ${lines})
    string(REGEX MATCH "cmocka_unit_test\\([ \n]*([A-Za-z0-9_]+)" _ "${line}")
    foreach(fl ct mt)
      add_test(NAME ${fl}/redis-aof/${CMAKE_MATCH_1}
               COMMAND test-redis-aof ${CMAKE_MATCH_1})
      set_tests_properties(${fl}/redis-aof/${CMAKE_MATCH_1} PROPERTIES
        TIMEOUT ${KR_REDIS_TEST_TIMEOUT} ENVIRONMENT "KR_TEST_FLAVOR=${fl}")
    endforeach()
  endforeach()

  # Persistence and abuse, driven by Python with Debian's python3-redis
  # (skipped, exit 77, without it). /usr/bin/python3: a pyenv python3 on
  # PATH may lack the module.
  set(KR_REDIS_OPS_CASES kill9_always kill9_everysec torn_tail
      rewrite_under_load shutdown_flushes many_clients slowloris
      slow_subscriber huge_bulk_header random_bytes)
  foreach(case ${KR_REDIS_OPS_CASES})
    add_test(NAME redis-ops/${case}
             COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/tests/ops_tests.py
                     $<TARGET_FILE:kairo-redis> ${case})
    set_tests_properties(redis-ops/${case} PROPERTIES
      TIMEOUT ${KR_REDIS_TEST_TIMEOUT} SKIP_RETURN_CODE 77)
  endforeach()
  # Each starts servers of its own: one at a time keeps 2 cores sane.
  set_tests_properties(redis-ops/many_clients redis-ops/slow_subscriber
                       redis-ops/random_bytes PROPERTIES RUN_SERIAL TRUE)

  # The pub/sub and transaction cases of the differential suite: kairo-redis
  # (current-thread, and 2 workers) against redis-server, same run.
  foreach(file pubsub multi multi_more)
    foreach(mode ct mt)
      set(extra)
      if(mode STREQUAL "mt")
        set(extra --workers 2)
      endif()
      add_test(NAME redis-diff/${mode}/${file}
               COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/tests/diff_ops.py
                       ${extra} $<TARGET_FILE:kairo-redis>
                       ${CMAKE_CURRENT_SOURCE_DIR}/tests/ops_cases/${file}.txt)
      set_tests_properties(redis-diff/${mode}/${file} PROPERTIES
        TIMEOUT ${KR_REDIS_TEST_TIMEOUT} SKIP_RETURN_CODE 77)
    endforeach()
  endforeach()

  # The fuzz corpus replayed through the harness (any compiler).
  kr_redis_fuzz_target(kairo-redis-fuzz-replay KR_FUZZ_REPLAY)
  file(GLOB KR_REDIS_CORPUS CONFIGURE_DEPENDS
       ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/*)
  add_test(NAME redis-fuzz/corpus
           COMMAND kairo-redis-fuzz-replay ${KR_REDIS_CORPUS})
  set_tests_properties(redis-fuzz/corpus PROPERTIES TIMEOUT 120)
endif()

# libFuzzer (clang): `make fuzz` builds it in build-fuzz and runs it.
option(KR_REDIS_FUZZ "Build kairo-redis-fuzz (clang -fsanitize=fuzzer)" OFF)
if(KR_REDIS_FUZZ)
  kr_redis_fuzz_target(kairo-redis-fuzz)
  target_compile_options(kairo-redis-fuzz PRIVATE
                         -fsanitize=fuzzer,address,undefined)
  target_link_options(kairo-redis-fuzz PRIVATE
                      -fsanitize=fuzzer,address,undefined)
endif()
