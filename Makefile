# kairo: the top-level commands. CMake does the building; this wraps it.
#
#   make               release build in build/ (binaries in build/bin/)
#   make test          build + run the test suite (ctest)
#   make run           run kairo-redis on 127.0.0.1 (port 6379 or the next free)
#   make run-showcase  run the showcase example
#   make bench         run kairo's benchmarks
#   make bench-compare kairo vs Tokio, same run, ratios
#   make bench-instructions  ct rows' instructions per iteration (callgrind),
#                      kairo vs Tokio (WORKERS=N ARGS="NAME..." for other rows)
#   make bench-timers  libuv's million_timers: kairo vs Tokio vs libuv
#   make bench-redis   kairo-redis vs redis-server (redis-benchmark)
#   make bench-echo    TCP echo: kairo vs epoll, libuv, Tokio (bench/echo/run.sh)
#   make bench-http    HTTP hello under wrk: kairo-http vs peers (bench/http/bench.py)
#   make check         the test suite under ASan+UBSan, TSan, the torture
#                      configuration and the debug build (KR_DEBUG)
#   make check-clang   release build with clang + the test suite
#   make check-format  clang-format --dry-run over every C file
#   WERROR=ON          any target: warnings are errors (CI sets it)
#   make lib           the library alone (build-lib/): no tests, benchmarks
#                      or examples, and no packages installed
#   make install PREFIX=/usr/local   installs what `make lib` builds

PREFIX ?= /usr/local
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE ?= cmake
CTEST_ARGS ?= --output-on-failure -j$(JOBS)
WERROR ?= OFF
CLANG ?= clang
CLANG_FORMAT ?= clang-format

.PHONY: all deps build test run run-showcase bench-redis bench bench-compare bench-instructions check \
        check-layers check-asan \
        check-tsan check-torture check-debug check-clang check-format \
        lib install clean bench-timers bench-echo bench-http format

all: build

# What the build needs on a fresh Debian machine: a compiler, CMake,
# pkg-config and cmocka (the test framework). Installed only if missing.
deps:
	@./scripts/deps.sh

build: deps
	@$(CMAKE) -S . -B build -DCMAKE_BUILD_TYPE=Release -DKR_BUILD_TESTS=ON \
	    -DKR_BUILD_BENCH=ON -DKR_BUILD_EXAMPLES=ON -DKR_SANITIZE= -DKR_TORTURE=OFF \
	    -DKR_WERROR=$(WERROR) >/dev/null
	@$(CMAKE) --build build -j$(JOBS)

test: build
	cd build && ../scripts/ctest-retry.sh $(CTEST_ARGS)

# kairo-redis in the foreground on 127.0.0.1:6379 (or the next free port),
# printing how to connect; ARGS go to kairo-redis (e.g. ARGS="--workers 2").
run: build
	./scripts/run-redis.sh $(ARGS)

run-showcase: build
	./build/bin/showcase

# kairo-redis vs redis-server under redis-benchmark, same run, interleaved,
# three rounds, medians (bench/redis/bench.py; ARGS: e.g. "--rounds 1").
bench-redis: build
	/usr/bin/python3 bench/redis/bench.py $(ARGS)

bench: build
	./build/bin/kairo-bench $(ARGS)

bench-compare: build
	./bench/compare.sh $(ARGS)

# Instructions per iteration of each ct row under callgrind, kairo and the
# Tokio peer side by side: noise-free on a shared machine. ARGS: filters.
bench-instructions: build
	./bench/instructions.sh $(ARGS)

# libuv's million_timers (1,000,000 timers, seq and shuf) on kairo, Tokio and
# libuv (the peers are built on the way; libuv1-dev is apt-installed if
# missing). ARGS: filters; RUNS, WORKERS, BENCH_REPS: see bench/timers.sh.
bench-timers: build
	./bench/timers.sh $(ARGS)

# TCP echo servers under a closed-loop load (1, 16, 64, 1000 connections and
# ping_pongs); SECONDS per point (default 5), about 3 minutes in all.
bench-echo: build
	./bench/echo/run.sh

# kairo-http's hello route under wrk (-t1 -c64 and -c1000, --latency),
# current-thread and 2 workers, against the peers in HTTP_PEERS (default:
# those built of epoll-http, tokio-http and hyper-http; the last two by
# bench/peers/tokio/build.sh), same run, interleaved rounds, medians.
# ARGS: e.g. "--rounds 1 --seconds 3".
bench-http: build
	/usr/bin/python3 bench/http/bench.py $(ARGS)

# The layer check: every #include "..." under src/ against the table of
# allowed folder edges in docs/design.md (the architecture, kept acyclic).
check-layers:
	python3 scripts/check-layers.py

define sanitized
	@$(CMAKE) -S . -B build-$(1) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	    -DKR_SANITIZE=$(2) $(3) -DKR_BUILD_BENCH=OFF -DKR_WERROR=$(WERROR) >/dev/null
	@$(CMAKE) --build build-$(1) -j$(JOBS)
	cd build-$(1) && $(4) ../scripts/ctest-retry.sh $(CTEST_ARGS)
endef

check: check-asan check-tsan check-torture check-debug

check-asan: deps
	$(call sanitized,asan,address,,ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1)

check-tsan: deps
	$(call sanitized,tsan,thread,,TSAN_OPTIONS=halt_on_error=1)

# Tiny run queues, every wake through the remote path (DESIGN §8).
check-torture: deps
	$(call sanitized,torture,,-DKR_TORTURE=ON,)

# The executable invariants: every KR__REQUIRE (src/util/debug.h) checked.
check-debug: deps
	$(call sanitized,debug,,-DKR_DEBUG=ON,)

# The same release build as `make build`, compiled by clang (CI builds with
# both compilers; warnings differ).
check-clang: deps
	@$(CMAKE) -S . -B build-clang -DCMAKE_C_COMPILER=$(CLANG) \
	    -DCMAKE_BUILD_TYPE=Release -DKR_BUILD_TESTS=ON -DKR_BUILD_BENCH=ON \
	    -DKR_BUILD_EXAMPLES=ON -DKR_WERROR=$(WERROR) >/dev/null
	@$(CMAKE) --build build-clang -j$(JOBS)
	cd build-clang && ../scripts/ctest-retry.sh $(CTEST_ARGS)

# Fails, naming each place, if any C file is not formatted
# as `make format` would leave it.
check-format:
	git ls-files '*.c' '*.h' | xargs $(CLANG_FORMAT) --dry-run -Werror

# The library alone: a C compiler and CMake are all it needs (no cmocka, no
# apt-get), and it builds none of the tests, benchmarks or examples.
lib:
	@$(CMAKE) -S . -B build-lib -DCMAKE_BUILD_TYPE=Release -DKR_BUILD_TESTS=OFF \
	    -DKR_BUILD_BENCH=OFF -DKR_BUILD_EXAMPLES=OFF -DKR_BUILD_APPS=OFF -DKR_SANITIZE= \
	    -DKR_TORTURE=OFF -DKR_WERROR=$(WERROR) >/dev/null
	@$(CMAKE) --build build-lib -j$(JOBS)

# Headers, libkairo.so and .a, kairo.pc and the CMake package under PREFIX
# (a prefix the loader does not search needs an rpath: see README.md).
install: lib
	$(CMAKE) --install build-lib --prefix $(PREFIX)

clean:
	rm -rf build build-lib build-asan build-tsan build-torture build-debug \
	    build-clang

# Formats every C file with the project's .clang-format (clang-format 14).
format:
	git ls-files '*.c' '*.h' | xargs $(CLANG_FORMAT) -i

# libFuzzer on kairo-redis's RESP parser (clang; apps/kairo-redis/fuzz),
# then on kairo-http's request parsing glue (apps/kairo-http/fuzz), each
# for FUZZ_SECONDS (default 300). New inputs go to build-fuzz/corpus and
# build-fuzz/corpus-http; the repositories' corpora seed them. CI runs 30 s
# each.
.PHONY: fuzz
FUZZ_SECONDS ?= 300
fuzz: deps
	@CLANG=$(CLANG) ./scripts/deps-fuzz.sh
	@$(CMAKE) -S . -B build-fuzz -DCMAKE_C_COMPILER=$(CLANG) \
	    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKR_BUILD_TESTS=OFF \
	    -DKR_BUILD_BENCH=OFF -DKR_BUILD_EXAMPLES=OFF -DKR_REDIS_FUZZ=ON \
	    -DKR_HTTP_FUZZ=ON \
	    -DKR_WERROR=$(WERROR) >/dev/null
	@$(CMAKE) --build build-fuzz --target kairo-redis-fuzz -j$(JOBS)
	@mkdir -p build-fuzz/corpus
	./build-fuzz/bin/kairo-redis-fuzz -max_total_time=$(FUZZ_SECONDS) \
	    -max_len=4096 -print_final_stats=1 build-fuzz/corpus \
	    apps/kairo-redis/fuzz/corpus
	@$(CMAKE) --build build-fuzz --target kairo-http-fuzz -j$(JOBS)
	@mkdir -p build-fuzz/corpus-http
	./build-fuzz/bin/kairo-http-fuzz -max_total_time=$(FUZZ_SECONDS) \
	    -max_len=4096 -print_final_stats=1 build-fuzz/corpus-http \
	    apps/kairo-http/fuzz/corpus
