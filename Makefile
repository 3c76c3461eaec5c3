# Quick start: `make demo` and `make test`. Both install what is missing on a fresh
# Debian machine (see tools/ensure-deps.sh).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
CARGO ?= cargo
PHP ?= php
PHPUNIT ?= $(shell command -v phpunit 2>/dev/null || echo /usr/bin/phpunit)
LIB := $(CURDIR)/target/release/libtenantml.so
PRELOAD_HEADER := $(CURDIR)/php-ext/build/tenantml-preload.h
C_TEST_DIR := $(CURDIR)/target/c
C_TESTS := breaker_test model_test forecast_test churn_test fraud_test registry_test telemetry_test drift_test
VALGRIND := $(shell command -v valgrind 2>/dev/null)
# Debian's python, where apt installs python3-prometheus-client (a pyenv or venv python
# earlier on the PATH would not see it); override with a venv's python if preferred.
PYTHON ?= $(shell test -x /usr/bin/python3 && echo /usr/bin/python3 || command -v python3)

.PHONY: demo test deps test-deps build header preload lint test-rust test-c test-php test-metrics bench compare compare-forecast compare-drift clean

demo: deps build
	$(PHP) php-ext/examples/demo.php

test: test-deps build lint test-rust test-c test-php test-metrics
	@echo "all suites passed: cargo tests, C header test, PHPUnit (FFI::cdef and ffi.preload), Prometheus page parsed"

deps:
	@tools/ensure-deps.sh

test-deps:
	@tools/ensure-deps.sh --test

build:
	$(CARGO) build --release --all-features

# Regenerate include/tenantml.h from src/ffi after an ABI change.
header:
	TENANTML_BLESS=1 $(CARGO) test --release --test header

# php-fpm preload header: FFI_SCOPE + absolute FFI_LIB + the C header.
preload: build
	$(PHP) php-ext/bin/tenantml-preload.php --lib=$(LIB) $(PRELOAD_HEADER)

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --release --all-features --all-targets -- -D warnings
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --no-deps --release --all-features

test-rust:
	$(CARGO) test --release --all-features

test-c: build
	@mkdir -p $(C_TEST_DIR)
	for t in $(C_TESTS); do \
		cc -std=c11 -D_DEFAULT_SOURCE -Wall -Wextra -Werror -Iinclude tests/c/$$t.c \
			-L$(CURDIR)/target/release -ltenantml -lm -Wl,-rpath,$(CURDIR)/target/release -o $(C_TEST_DIR)/$$t; \
	done
	scratch=$$(mktemp -d) && trap 'rm -rf "$$scratch"' EXIT && \
	for t in $(C_TESTS); do \
		mkdir -p "$$scratch/$$t"; \
		if [ -n "$(VALGRIND)" ]; then \
			$(VALGRIND) -q --error-exitcode=1 --suppressions=$(CURDIR)/tests/c/valgrind.supp --leak-check=full --errors-for-leak-kinds=definite --show-possibly-lost=no \
				--trace-children=yes $(C_TEST_DIR)/$$t "$$scratch/$$t"; \
		else \
			$(C_TEST_DIR)/$$t "$$scratch/$$t"; \
		fi; \
	done

# The /metrics page parsed by the Prometheus client's own parser (fails if it is missing).
test-metrics:
	$(CARGO) run --release --quiet --example metrics_page > $(CURDIR)/target/metrics-page.txt
	$(PYTHON) tests/prometheus/validate_exposition.py $(CURDIR)/target/metrics-page.txt --example

test-php: build preload
	TENANTML_LIB=$(LIB) $(PHP) $(PHPUNIT) -c php-ext/phpunit.xml.dist
	TENANTML_LIB=$(LIB) TENANTML_EXPECT_PRELOAD=1 $(PHP) -d ffi.enable=preload \
		-d ffi.preload=$(PRELOAD_HEADER) $(PHPUNIT) -c php-ext/phpunit.xml.dist

bench: build
	$(CARGO) bench --bench breaker
	$(CARGO) bench --bench binning --bench gbdt --bench model --bench explain --bench features --bench forecast
	$(CARGO) bench --bench fraud --bench churn
	$(CARGO) bench --bench drift --bench telemetry
	TENANTML_LIB=$(LIB) $(PHP) php-ext/benchmarks/breaker.php
	TENANTML_LIB=$(LIB) $(PHP) php-ext/benchmarks/model.php
	TENANTML_LIB=$(LIB) $(PHP) php-ext/benchmarks/forecast.php
	TENANTML_LIB=$(LIB) $(PHP) php-ext/benchmarks/fraud.php

# Side by side with LightGBM and scikit-learn (benches/compare/README.md).
COMPARE_VENV := $(CURDIR)/target/compare-venv
compare: build
	test -x $(COMPARE_VENV)/bin/python || python3 -m venv $(COMPARE_VENV)
	$(COMPARE_VENV)/bin/pip install -q -r benches/compare/requirements.txt
	$(COMPARE_VENV)/bin/python benches/compare/compare.py --tenantml $(CURDIR)/target/release/tenantml

# Forecast accuracy beside statsforecast and mlforecast + LightGBM (own venv: pandas pins).
FORECAST_VENV := $(CURDIR)/target/forecast-venv
compare-forecast: build
	test -x $(FORECAST_VENV)/bin/python || python3 -m venv $(FORECAST_VENV)
	$(FORECAST_VENV)/bin/pip install -q -r benches/compare/forecast-requirements.txt
	$(FORECAST_VENV)/bin/python benches/compare/forecast_compare.py --tenantml $(CURDIR)/target/release/tenantml

# Drift report timing beside scipy and Evidently (own venv).
DRIFT_VENV := $(CURDIR)/target/drift-venv
compare-drift: build
	test -x $(DRIFT_VENV)/bin/python || python3 -m venv $(DRIFT_VENV)
	$(DRIFT_VENV)/bin/pip install -q -r benches/compare/drift-requirements.txt
	$(DRIFT_VENV)/bin/python benches/compare/drift_compare.py

clean:
	$(CARGO) clean
	rm -rf php-ext/build
