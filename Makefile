# tasks-api: the two commands of the README, and the checks CI runs.

.PHONY: run test bench link-order build lint format check-nginx check-systemd deps fuzz dev dist check-dist check-dev

SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c

# Install what is missing, build release, migrate, run pool + nginx on 127.0.0.1:$(PORT).
run:
	scripts/run

# Install what is missing and run every test: unit, integration (real nginx and
# workers; a throwaway PostgreSQL cluster for the whole run), the nginx config check, systemd-analyze verify on the units, the
# OpenAPI document through openapi-spec-validator,
# schemathesis against the live service through nginx, a short libFuzzer pass of every
# fuzz target from the committed seeds, and the format lint.
test:
	scripts/install-deps test
	swift build --build-tests
	scripts/with-postgres swift test 2>&1 | tee .build/swift-test.log
	scripts/check-nginx-configs
	scripts/check-systemd-units
	scripts/check-openapi
	scripts/check-schemathesis
	scripts/check-browser
	scripts/check-openapi-client
	scripts/check-dist
	$(MAKE) --no-print-directory check-dev
	scripts/fuzz check
	swift format lint --strict --recursive Sources Tests Package.swift Fuzz/Sources Fuzz/Package.swift
	scripts/test-summary .build/swift-test.log

# Throughput, latency, CPU and memory of tasks-api and its peers (C libfcgi, PHP-FPM,
# Flask + gunicorn, Hummingbird) behind the same nginx.
bench:
	scripts/install-deps bench
	bench/run

# Rewrites link/tasks-api.order, the layout of the release binary, from a profiled pool
# (callgrind). Commit the result; release builds read it (README, Memory).
link-order:
	scripts/install-deps bench
	scripts/link-order

# Fuzz each libFuzzer target for FUZZ_SECONDS (default 60); findings stay in .build-fuzz/.
fuzz:
	scripts/fuzz run

build:
	swift build

lint:
	swift format lint --strict --recursive Sources Tests Package.swift Fuzz/Sources Fuzz/Package.swift

format:
	swift format --in-place --recursive Sources Tests Package.swift

check-nginx:
	scripts/check-nginx-configs

check-systemd:
	scripts/check-systemd-units

deps:
	scripts/install-deps test

# The pool and nginx on 127.0.0.1:$(PORT) from a debug build, rebuilt and upgraded in
# place when Sources/ changes (inotifywait); a failed build keeps the old pool serving.
dev:
	scripts/dev

# The Debian package (release build, static Swift runtime) in .build/dist/.
dist:
	scripts/install-deps dist
	scripts/dist

# The package built from the debug binary: contents, maintainer scripts, and the extracted
# binary serving a request. No release build.
check-dist:
	scripts/check-dist

# One rebuild-and-upgrade of `make dev` on a free port, then one with a failing build.
check-dev:
	port=$$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'); \
	    PORT=$$port scripts/dev --once && PORT=$$port DEV_BUILD=false scripts/dev --once
