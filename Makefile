# The two commands a newcomer needs: `make demo` and `make test`. Everything else is a building block.
BUILD_DIR ?= build
SAN_BUILD_DIR ?= build-asan
JOBS ?= $(shell nproc)
# Integration tests side by side (each starts its own servers; see CMakeLists.txt for the ones that take turns).
TEST_JOBS ?= 2

.PHONY: bootstrap build build-asan test unit-test demo format format-check bench clean

bootstrap:
	@bash scripts/bootstrap.sh

build: bootstrap
	@cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD_DIR) -j $(JOBS)

build-asan: bootstrap
	@cmake -S . -B $(SAN_BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DSTREAMSHOP_SANITIZE=ON >/dev/null
	@cmake --build $(SAN_BUILD_DIR) -j $(JOBS)

# Unit tests under ASan+UBSan, format check, then every test (unit + integration against real servers).
test: build build-asan format-check
	@cd $(SAN_BUILD_DIR) && ctest --output-on-failure -E '^integration' -j $(JOBS)
	@cd $(BUILD_DIR) && ctest --output-on-failure -j $(TEST_JOBS)

unit-test: build
	@cd $(BUILD_DIR) && ctest --output-on-failure -E '^integration'

demo: build
	@bash scripts/demo.sh

format:
	@clang-format -i $$(git ls-files '*.cc' '*.h')

format-check:
	@clang-format --dry-run --Werror $$(git ls-files '*.cc' '*.h')

bench: build
	@bash bench/catchup.sh
	@BENCH_SHAPE=bulk bash bench/catchup.sh
	@bash bench/kafka.sh
	@BENCH_SHAPE=bulk bash bench/kafka.sh
	@BUILD_DIR=$(BUILD_DIR) bash bench/micro.sh
	@bash bench/latency.sh
	@bash bench/snapshot.sh
	@bash bench/memory.sh
	@bash bench/plot.sh

clean:
	rm -rf $(BUILD_DIR) $(SAN_BUILD_DIR)
