# Thin front door. Everything real lives in CMake and scripts/.
BUILD    ?= build
TYPE     ?= Release
JOBS     ?= $(shell nproc)
PIPELINE ?= configs/pipelines/hello.yaml
FUZZ_SECONDS ?= 60

.PHONY: all deps build demo test bench chaos fuzz asan clean

all: build

deps:
	@scripts/install-deps.sh

$(BUILD)/CMakeCache.txt: | deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=$(TYPE) >/dev/null

build: deps $(BUILD)/CMakeCache.txt
	@cmake --build $(BUILD) -j $(JOBS)
	@ln -sf $(BUILD)/compile_commands.json compile_commands.json

# Runs an example pipeline on a private, temporary process tree (no tree needs to be running).
demo: build
	@env -u PIPELINE_STATE_DIR $(BUILD)/bin/pipelinectl run $(PIPELINE)

test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 600

# More chaos than CI runs: seeds 1..SEEDS of the fault suite.
SEEDS ?= 5
chaos: build
	@CHAOS_SEEDS=$$(seq -s, 1 $(SEEDS)) PIPELINE_BIN_DIR=$(BUILD)/bin $(BUILD)/bin/chaos_tests

bench: build
	@scripts/run-benchmarks.sh $(BUILD)

# Installs clang and libFuzzer if missing, builds the fuzz build (build-fuzz/) and runs every fuzz
# target for FUZZ_SECONDS each. Not needed by `make test`.
fuzz:
	@scripts/install-deps.sh --fuzz
	@scripts/run-fuzzers.sh $(FUZZ_SECONDS)

# The whole test suite under AddressSanitizer (build-asan/); any sanitizer report from any
# process fails it. Not needed by `make test`.
asan: deps
	@scripts/run-asan.sh

clean:
	@rm -rf $(BUILD) compile_commands.json
