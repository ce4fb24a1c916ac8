# Every source file the user-facing documentation names (a "src/....c" or
# ".h" path in the public headers, the README, docs/net.md) exists, so a
# reader sent to one finds it. Run by ctest as docs/public_docs_name_-
# existing_files: cmake -DROOT=<source dir> -P check-doc-paths.cmake.
file(GLOB docs ${ROOT}/include/kairo.h ${ROOT}/include/kairo/*.h
     ${ROOT}/README.md ${ROOT}/docs/net.md)
set(bad 0)
foreach(doc ${docs})
  file(STRINGS ${doc} lines REGEX "src/[A-Za-z0-9_/-]+\\.[ch]")
  foreach(line ${lines})
    string(REGEX MATCHALL "src/[A-Za-z0-9_/-]+\\.[ch]" paths "${line}")
    foreach(p ${paths})
      if(NOT EXISTS ${ROOT}/${p})
        message("${doc}: names ${p}, which does not exist")
        set(bad 1)
      endif()
    endforeach()
  endforeach()
endforeach()
if(bad)
  message(FATAL_ERROR "documentation names missing files")
endif()
