# kairo: the top-level commands. CMake does the building; this wraps it.
#
#   make               release build in build/ (binaries in build/bin/)
#   make test          build + run the test suite (ctest)
#   make run           run the showcase example
#   make bench         run kairo's benchmarks
#   make bench-compare kairo vs Tokio, same run, ratios
#   make check         the test suite under ASan+UBSan and under TSan
#   make install PREFIX=/usr/local

PREFIX ?= /usr/local
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE ?= cmake
CTEST_ARGS ?= --output-on-failure -j$(JOBS)

.PHONY: all deps build test run bench bench-compare check check-asan \
        check-tsan check-torture install clean

all: build

# What the build needs on a fresh Debian machine: a compiler, CMake,
# pkg-config and cmocka (the test framework). Installed only if missing.
deps:
	@./scripts/deps.sh

build: deps
	@$(CMAKE) -S . -B build -DCMAKE_BUILD_TYPE=Release -DKR_BUILD_TESTS=ON \
	    -DKR_BUILD_BENCH=ON -DKR_BUILD_EXAMPLES=ON -DKR_SANITIZE= -DKR_TORTURE=OFF >/dev/null
	@$(CMAKE) --build build -j$(JOBS)

test: build
	cd build && ctest $(CTEST_ARGS)

run: build
	./build/bin/showcase

bench: build
	./build/bin/kairo-bench $(ARGS)

bench-compare: build
	./bench/compare.sh $(ARGS)

define sanitized
	@$(CMAKE) -S . -B build-$(1) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	    -DKR_SANITIZE=$(2) $(3) -DKR_BUILD_BENCH=OFF >/dev/null
	@$(CMAKE) --build build-$(1) -j$(JOBS)
	cd build-$(1) && $(4) ctest $(CTEST_ARGS)
endef

check: check-asan check-tsan check-torture

check-asan: deps
	$(call sanitized,asan,address,,ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1)

check-tsan: deps
	$(call sanitized,tsan,thread,,TSAN_OPTIONS=halt_on_error=1)

# Tiny run queues, every wake through the remote path (DESIGN §8).
check-torture: deps
	$(call sanitized,torture,,-DKR_TORTURE=ON,)

install: build
	$(CMAKE) --install build --prefix $(PREFIX)

clean:
	rm -rf build build-asan build-tsan build-torture
