# tasks-api: the two commands of the README, and the checks CI runs.

.PHONY: run test bench build lint format check-nginx check-systemd deps fuzz

SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c

# Install what is missing, build release, migrate, run pool + nginx on 127.0.0.1:$(PORT).
run:
	scripts/run

# Install what is missing and run every test: unit, integration (real nginx and
# workers), the nginx config check, systemd-analyze verify on the units, the
# OpenAPI document through openapi-spec-validator,
# schemathesis against the live service through nginx, a short libFuzzer pass of every
# fuzz target from the committed seeds, and the format lint.
test:
	scripts/install-deps test
	swift build --build-tests
	swift test 2>&1 | tee .build/swift-test.log
	scripts/check-nginx-configs
	scripts/check-systemd-units
	scripts/check-openapi
	scripts/check-schemathesis
	scripts/fuzz check
	swift format lint --strict --recursive Sources Tests Package.swift Fuzz/Sources Fuzz/Package.swift
	scripts/test-summary .build/swift-test.log

# Throughput, latency, CPU and memory of tasks-api and its peers (C libfcgi, PHP-FPM,
# Flask + gunicorn, Hummingbird) behind the same nginx.
bench:
	scripts/install-deps bench
	bench/run

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
