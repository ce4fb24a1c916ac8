# redis-types's part of kairo-redis's build (included by CMakeLists.txt).
# Unit tests of the data structures: each tests/test-types-*.c is a
# cmocka program built with the structures it tests (no server) and a
# malloc-backed zmalloc; each cmocka_unit_test(NAME) is a ctest case
# redis/<file>/<NAME>.
if(KR_BUILD_TESTS)
  if(NOT TARGET PkgConfig::KR_REDIS_CMOCKA) # ops.cmake may have found it
    find_package(PkgConfig REQUIRED)
    pkg_check_modules(KR_REDIS_CMOCKA REQUIRED IMPORTED_TARGET cmocka)
  endif()
  enable_testing()
  set(KR_REDIS_DS ${CMAKE_CURRENT_SOURCE_DIR}/rlist.c
      ${CMAKE_CURRENT_SOURCE_DIR}/zskiplist.c ${CMAKE_CURRENT_SOURCE_DIR}/zset.c
      ${CMAKE_CURRENT_SOURCE_DIR}/dict.c
      ${CMAKE_CURRENT_SOURCE_DIR}/tests/ds_alloc_stub.c)
  file(GLOB KR_REDIS_UNIT CONFIGURE_DEPENDS
       ${CMAKE_CURRENT_SOURCE_DIR}/tests/test-types-*.c)
  foreach(src ${KR_REDIS_UNIT})
    get_filename_component(name ${src} NAME_WE)
    set(exe redis-${name})
    add_executable(${exe} ${src} ${KR_REDIS_DS})
    target_include_directories(${exe} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
    target_link_libraries(${exe} PRIVATE kairo_static PkgConfig::KR_REDIS_CMOCKA m)
    target_compile_definitions(${exe} PRIVATE _GNU_SOURCE)
    set_target_properties(${exe} PROPERTIES RUNTIME_OUTPUT_DIRECTORY
                          ${CMAKE_BINARY_DIR}/tests)
    file(READ ${src} body)
    string(REGEX MATCHALL "cmocka_unit_test\\([ \n]*[A-Za-z0-9_]+" cases "${body}")
    string(REGEX REPLACE "^test-types-" "" short ${name})
    foreach(line ${cases})
      string(REGEX MATCH "cmocka_unit_test\\([ \n]*([A-Za-z0-9_]+)" _ "${line}")
      add_test(NAME redis/${short}/${CMAKE_MATCH_1} COMMAND ${exe} ${CMAKE_MATCH_1})
      set_tests_properties(redis/${short}/${CMAKE_MATCH_1} PROPERTIES TIMEOUT 120)
    endforeach()
  endforeach()
endif()

# The blocking pops against kairo-redis (one worker, then two) and
# redis-server in the same run (tests/redis/blocking_test.py).
if(KR_BUILD_TESTS)
  add_test(NAME redis_blocking
    COMMAND /usr/bin/python3 ${PROJECT_SOURCE_DIR}/tests/redis/blocking_test.py
      --kairo $<TARGET_FILE:kairo-redis>)
  add_test(NAME redis_blocking_mt
    COMMAND /usr/bin/python3 ${PROJECT_SOURCE_DIR}/tests/redis/blocking_test.py
      --kairo $<TARGET_FILE:kairo-redis> --kairo-args "--workers 2")
  set_tests_properties(redis_blocking redis_blocking_mt PROPERTIES
    SKIP_RETURN_CODE 77 TIMEOUT 300 LABELS redis)
endif()
