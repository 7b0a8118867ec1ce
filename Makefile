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

.PHONY: help install build demo test test-cpp test-sanitize test-py bench lint fmt check-schemas schemas clean \
	kafka-up kafka-down

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk -F':.*?## ' '{printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}'

$(INSTALLED): pyproject.toml requirements.lock
	@command -v cmake >/dev/null && command -v ninja >/dev/null || { apt-get update -qq && apt-get install -y -qq cmake ninja-build g++; }
	@test -f /usr/lib/x86_64-linux-gnu/cmake/GTest/GTestConfig.cmake || { apt-get update -qq && apt-get install -y -qq libgtest-dev; }
	test -x $(PY) || $(PYTHON_SYS) -m venv $(VENV)
	$(PIP) install -q --upgrade pip==25.3
	$(PIP) install -q -c requirements.lock $$($(PYTHON_SYS) -c "import tomllib;print(' '.join(tomllib.load(open('pyproject.toml','rb'))['build-system']['requires']))")
	$(PIP) install -q -c requirements.lock --no-build-isolation -e ".[dev]"
	touch $@

install: $(INSTALLED) ## create .venv and install minihft (C++ core included), pinned

build: $(INSTALLED) ## rebuild the C++ extension after a change (incremental)
	$(PIP) install -q -c requirements.lock --no-build-isolation --no-deps -e .

demo: build ## run the demo on the bundled real sample, in-process
	$(VENV)/bin/minihft demo

test: build check-schemas lint test-cpp test-sanitize test-py ## everything CI runs

test-cpp: $(INSTALLED) ## C++ unit tests (GoogleTest under CTest), Release
	cmake -S . -B $(CPP_BUILD) -G Ninja -DMINIHFT_BUILD_TESTS=ON -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build $(CPP_BUILD) -j $(JOBS)
	ctest --test-dir $(CPP_BUILD) --output-on-failure -j $(JOBS)

test-sanitize: $(INSTALLED) ## C++ unit tests under AddressSanitizer + UndefinedBehaviorSanitizer
	cmake -S . -B $(SAN_BUILD) -G Ninja -DMINIHFT_BUILD_TESTS=ON -DCMAKE_BUILD_TYPE=Debug \
	  -DMINIHFT_SANITIZE=address,undefined >/dev/null
	cmake --build $(SAN_BUILD) -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --test-dir $(SAN_BUILD) --output-on-failure -j $(JOBS)

test-py: build kafka-up ## Python tests: unit, integration (real broker), regression
	$(PY) -m pytest -q

bench: build ## benchmarks, one JSON line each
	@$(VENV)/bin/minihft bench book
	@$(VENV)/bin/minihft bench match

lint: $(INSTALLED) ## ruff, mypy, clang-format (check only)
	$(VENV)/bin/ruff check python services tests
	$(VENV)/bin/ruff format --check python services tests
	$(VENV)/bin/mypy
	$(VENV)/bin/clang-format --dry-run -Werror $$(git ls-files '*.cpp' '*.hpp' ':!:schemas/generated/*')

fmt: $(INSTALLED) ## format Python and C++ in place
	$(VENV)/bin/ruff check --fix python services tests
	$(VENV)/bin/ruff format python services tests
	$(VENV)/bin/clang-format -i $$(git ls-files '*.cpp' '*.hpp' ':!:schemas/generated/*')

schemas: $(INSTALLED) ## regenerate Python and C++ code from schemas/*.fbs
	$(PY) -m minihft.schema_codegen generate

check-schemas: $(INSTALLED) ## fail when generated schema code is stale
	$(PY) -m minihft.schema_codegen check

kafka-up: ## start a local Kafka broker (KRaft, 127.0.0.1:9092); fetched from Maven Central once
	bash deploy/kafka/kafka-up.sh

kafka-down: ## stop the local Kafka broker
	bash deploy/kafka/kafka-down.sh

clean: ## remove build outputs (keeps .venv)
	rm -rf build
