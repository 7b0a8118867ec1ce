# minihft — `make help` lists every target. Everything installs into .venv and build/.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON_SYS ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
JOBS ?= $(shell nproc)
CPP_BUILD := build/cpp
SAN_BUILD := build/sanitize
INSTALLED := $(VENV)/.installed

.PHONY: help install build demo test test-cpp test-sanitize test-tsan test-py bench lint fmt check-schemas schemas clean \
	kafka-up kafka-down stubs check-stubs prometheus-up prometheus-down prometheus-install

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk -F':.*?## ' '{printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}'

$(INSTALLED): pyproject.toml requirements.lock
	@command -v cmake >/dev/null && command -v ninja >/dev/null || { apt-get update -qq && apt-get install -y -qq cmake ninja-build g++; }
	@test -f /usr/lib/x86_64-linux-gnu/cmake/GTest/GTestConfig.cmake || { apt-get update -qq && apt-get install -y -qq libgtest-dev; }
	@pkg-config --exists rdkafka 2>/dev/null || { apt-get update -qq && apt-get install -y -qq librdkafka-dev pkg-config; }
	@test -x /usr/bin/chromium && test -x /usr/bin/chromedriver || { apt-get update -qq && apt-get install -y -qq chromium chromium-driver; }
	test -x $(PY) || $(PYTHON_SYS) -m venv $(VENV)
	$(PIP) install -q --upgrade pip==25.3
	$(PIP) install -q -c requirements.lock $$($(PYTHON_SYS) -c "import tomllib;print(' '.join(tomllib.load(open('pyproject.toml','rb'))['build-system']['requires']))")
	$(PIP) install -q -c requirements.lock --no-build-isolation -e ".[dev,bench]"
	touch $@

install: $(INSTALLED) ## create .venv and install minihft (C++ core included), pinned

build: $(INSTALLED) ## rebuild the C++ extension after a change (incremental); refresh its stubs
	$(PIP) install -q -c requirements.lock --no-build-isolation --no-deps -e .
	@# Outside CI the stubs follow the build; in CI check-stubs proves the committed ones current.
	@if [ -z "$$CI" ]; then $(MAKE) --no-print-directory stubs; fi

demo: build ## run the demo on the bundled real sample, in-process
	$(VENV)/bin/minihft demo

test: build check-schemas check-stubs lint test-cpp test-sanitize test-tsan test-py ## everything CI runs

test-cpp: $(INSTALLED) ## C++ unit tests (GoogleTest under CTest), Release
	cmake -S . -B $(CPP_BUILD) -G Ninja -DMINIHFT_BUILD_TESTS=ON -DCMAKE_BUILD_TYPE=Release \
	  -DFLATBUFFERS_INCLUDE_DIR=$$($(PY) -m minihft.schema_codegen include-dir) >/dev/null
	cmake --build $(CPP_BUILD) -j $(JOBS)
	ctest --test-dir $(CPP_BUILD) --output-on-failure -j $(JOBS)

test-sanitize: $(INSTALLED) ## C++ unit tests under AddressSanitizer + UndefinedBehaviorSanitizer
	cmake -S . -B $(SAN_BUILD) -G Ninja -DMINIHFT_BUILD_TESTS=ON -DCMAKE_BUILD_TYPE=Debug \
	  -DMINIHFT_SANITIZE=address,undefined -DFLATBUFFERS_INCLUDE_DIR=$$($(PY) -m minihft.schema_codegen include-dir) >/dev/null
	cmake --build $(SAN_BUILD) -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --test-dir $(SAN_BUILD) --output-on-failure -j $(JOBS)

test-tsan: $(INSTALLED) ## the lock-free ring tests under ThreadSanitizer
	cmake -S . -B build/tsan -G Ninja -DMINIHFT_BUILD_TESTS=ON -DCMAKE_BUILD_TYPE=Debug \
	  -DMINIHFT_SANITIZE=thread -DFLATBUFFERS_INCLUDE_DIR=$$($(PY) -m minihft.schema_codegen include-dir) >/dev/null
	cmake --build build/tsan -j $(JOBS)
	TSAN_OPTIONS=halt_on_error=1 ctest --test-dir build/tsan --output-on-failure -R Spsc

test-py: build service kafka-up prometheus-install ## Python tests: unit, integration (real broker), regression
	$(PY) -m pytest -q

.PHONY: service
service: $(INSTALLED) ## the lob_engine Kafka service binary (librdkafka), Release, in build/service
	cmake -S . -B build/service -G Ninja -DCMAKE_BUILD_TYPE=Release -DMINIHFT_BUILD_SERVICE=ON \
	  -DFLATBUFFERS_INCLUDE_DIR=$$($(PY) -m minihft.schema_codegen include-dir) >/dev/null
	cmake --build build/service -j $(JOBS) --target lob_engine
	@echo "lob_engine: $(CURDIR)/build/service/services/lob_engine/service/lob_engine"

BENCHES := book match itch-parse itch-book udp backtest backtest-python
BENCHES_KAFKA := pipeline kafka-hop tick-to-order

bench: build service kafka-up ## every benchmark, one JSON line each (peers side by side)
	@for b in $(BENCHES) $(BENCHES_KAFKA); do $(VENV)/bin/minihft bench $$b || exit 1; done

.PHONY: profile
profile: $(INSTALLED) service ## callgrind (C++ core) + py-spy (services on the sample via Kafka) -> profiling/reports/<date>/
	bash profiling/profile.sh

lint: $(INSTALLED) ## ruff, mypy, clang-format (check only)
	$(VENV)/bin/ruff check python services tests
	$(VENV)/bin/ruff format --check python services tests
	bash tools/typecheck-tree.sh
	$(VENV)/bin/mypy
	$(VENV)/bin/clang-format --dry-run -Werror $$(git ls-files '*.cpp' '*.hpp' ':!:schemas/generated/*')

fmt: $(INSTALLED) ## format Python and C++ in place
	$(VENV)/bin/ruff check --fix python services tests
	$(VENV)/bin/ruff format python services tests
	$(VENV)/bin/clang-format -i $$(git ls-files '*.cpp' '*.hpp' ':!:schemas/generated/*')

schemas: $(INSTALLED) ## regenerate Python and C++ code from schemas/*.fbs
	$(PY) -m minihft.schema_codegen generate

# Type stubs of the C++ extensions, generated by nanobind so mypy checks calls into C++.
EXT_MODULES := _lob _feed _live

stubs: ## regenerate the type stubs (.pyi) of the C++ extensions
	@for m in $(EXT_MODULES); do $(PY) -m nanobind.stubgen -q -m minihft.$$m -o python/minihft/$$m.pyi; done

check-stubs: build ## fail when the committed extension stubs are stale
	@mkdir -p build/stubs; for m in $(EXT_MODULES); do \
	  $(PY) -m nanobind.stubgen -q -m minihft.$$m -o build/stubs/$$m.pyi && \
	  diff -u python/minihft/$$m.pyi build/stubs/$$m.pyi || { echo "stale stub for $$m: run make stubs"; exit 1; }; done

check-schemas: $(INSTALLED) ## fail when generated schema code is stale
	$(PY) -m minihft.schema_codegen check

kafka-up: ## start a local Kafka broker (KRaft, 127.0.0.1:9092); fetched from Maven Central once
	bash deploy/kafka/kafka-up.sh

kafka-down: ## stop the local Kafka broker
	bash deploy/kafka/kafka-down.sh

.PHONY: up down
up: ## the local stack as processes: broker, lob_engine, strategy_runner, feed_handler on the sample, Prometheus
	bash deploy/local/stack.sh up
	bash deploy/prometheus/prometheus-up.sh

down: ## stop the local stack (SIGTERM: each service commits, flushes and exits) and Prometheus
	bash deploy/prometheus/prometheus-down.sh
	bash deploy/local/stack.sh down

prometheus-up: ## Prometheus on 127.0.0.1:9090 scraping the local stack (Debian package, installed once)
	bash deploy/prometheus/prometheus-up.sh

prometheus-down: ## stop the local Prometheus
	bash deploy/prometheus/prometheus-down.sh

prometheus-install: ## the prometheus binary (Debian package) if missing; the dashboards test needs it
	bash deploy/prometheus/install.sh

clean: ## remove build outputs (keeps .venv)
	rm -rf build
