# Coffer's front door. `make run` serves on 127.0.0.1:8200 with the embedded SQLite database;
# `make test` runs every test (PostgreSQL ones against a throwaway local server).
SHELL := /bin/bash
.DEFAULT_GOAL := build

SWIFT ?= swift
PYTHON ?= python3
DATA ?= ./coffer-data
APT_PACKAGES := libsodium-dev libsqlite3-dev libpq-dev libssl-dev pkg-config postgresql-15 postgresql-client-15 wrk openssl python3-venv \
	chromium chromium-driver pgbouncer
RELEASE_BIN := .build/release

.PHONY: deps build build-release test lint run migrate clean generate check-generated bench-store bench-crypto bench-gate bench-kv bench-rotate bench-suite1 bench-suite2 bench-peers bench-scale bench-replica fuzz-api fuzz crash-test dependency-faults failover-test soak test-tsan test-asan test-lsan rotate rotate-status rotate-keys production-targets help

help:
	@echo "make run | test | lint | build | build-release | migrate | rotate | rotate-status | rotate-keys | install | production-targets | generate | check-generated | bench-store | bench-crypto | bench-gate | bench-kv | bench-rotate | bench-suite1 | bench-suite2 | bench-peers | bench-scale | bench-replica | fuzz-api | fuzz | crash-test | dependency-faults | failover-test | soak | test-tsan | test-asan | test-lsan | clean | deps"

## deps: install the Debian packages Coffer builds and tests with (as root), or say how.
deps:
	@missing=""; for p in $(APT_PACKAGES); do \
	    dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	    if [ "$$(id -u)" = 0 ]; then \
	        echo "Installing:$$missing"; \
	        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	    else \
	        echo "Missing Debian packages:$$missing. Install them with:"; \
	        echo "  sudo apt-get update && sudo apt-get install -y$$missing"; \
	        exit 1; \
	    fi; \
	fi
	@command -v $(PYTHON) >/dev/null || { echo "python3 is needed for scripts/: sudo apt-get install -y python3"; exit 1; }

build: deps
	$(SWIFT) build

build-release: deps
	$(SWIFT) build -c release --product coffer
	$(SWIFT) build -c release --product coffer-bench

## test: every test. Without COFFER_TEST_POSTGRES_URL a throwaway PostgreSQL is started and stopped.
test: deps
	@bash scripts/run-tests.sh $(SWIFT)

## test-tsan / test-asan: the Swift tests under ThreadSanitizer or AddressSanitizer, each in its own build
## folder (.build-tsan, .build-asan; a clean build takes about 10 minutes here). ASan runs with detect_leaks=0
## (XCTest's own leaks). No suppressions: Coffer's locks are pthread mutexes TSan sees (CofferFoundation's
## Locked). Last runs and what is still open: Docs/RELIABILITY.md.
test-tsan: deps
	$(SWIFT) build --build-tests --sanitize=thread --scratch-path .build-tsan
	TSAN_OPTIONS="halt_on_error=0" \
		bash scripts/with-postgres.sh $(SWIFT) test --skip-build --sanitize=thread --scratch-path .build-tsan

test-asan: deps
	$(SWIFT) build --build-tests --sanitize=address --scratch-path .build-asan
	ASAN_OPTIONS="detect_leaks=0" \
		bash scripts/with-postgres.sh $(SWIFT) test --skip-build --sanitize=address --scratch-path .build-asan

## test-lsan: LeakSanitizer on the server process alone (not XCTest's): `coffer` built with AddressSanitizer
## into .build-asan, LEAK_MINUTES (default 2) of the soak's mixed load on each backend, then a clean stop, at
## which LeakSanitizer reports; fails on any leak or error.
LEAK_MINUTES ?= 2
test-lsan: deps
	$(SWIFT) build --product coffer --sanitize=address --scratch-path .build-asan
	@bash scripts/with-postgres.sh python3 scripts/soak.py --minutes $(LEAK_MINUTES) --interval 20 --leak-check \
		--binary .build-asan/debug/coffer

## fuzz: libFuzzer over every parser that takes outside input (scripts/fuzz.py; targets in Sources/CofferFuzzing):
## each target for FUZZ_SECONDS (default 60; FUZZ_TARGETS=a,b for some) from the committed corpus, with
## AddressSanitizer; prints executions and coverage per target. A crash or a failed property fails the run and
## leaves its input in .build-fuzz/work/crashes/. FUZZ_MERGE=1 adds new coverage to the committed corpus.
fuzz:
	$(SWIFT) build --scratch-path .build-fuzz --product coffer-fuzz \
		-Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -DCOFFER_LIBFUZZER
	python3 scripts/fuzz.py $(if $(FUZZ_MERGE),--merge)

## lint: swift-format's lint (rules in .swift-format) and no line over 140 columns (scripts/lint.sh).
lint:
	@bash scripts/lint.sh

## run: the service on 127.0.0.1:8200, data in $(DATA). DEVELOPMENT MODE: the first run initialises the
## key hierarchy with a key file in $(DATA) (dev-unseal.key, dev-root-token) and unseals with it.
run: deps
	$(SWIFT) build
	@echo "make run: development mode; the unseal key and root token are kept in $(DATA). Never for real secrets." >&2
	.build/debug/coffer serve --database sqlite:$(DATA)/coffer.db --dev

## migrate: apply pending migrations to COFFER_DATABASE_URL (default: the embedded database).
migrate: deps
	$(SWIFT) build
	.build/debug/coffer migrate

## generate: embed Migrations/ and the service identities' Policies/services/ into the binary's sources.
generate:
	$(PYTHON) scripts/generate-migrations.py
	$(PYTHON) scripts/generate-service-policies.py

## check-generated: fail if the embedded migrations or service policies differ from their files (run by CI).
check-generated: generate
	@git diff --exit-code -- Sources/CofferStore/Generated Sources/CofferAccess/Generated \
	    || { echo "generated sources are stale: run make generate and commit them"; exit 1; }

## bench-store: SQL layer vs raw C API, both backends, release build.
bench-store: build-release
	@bash scripts/with-postgres.sh $(RELEASE_BIN)/coffer-bench store

## bench-crypto: seal+open of a 256-byte secret through the key hierarchy vs raw libsodium, release build.
bench-crypto: build-release
	$(RELEASE_BIN)/coffer-bench crypto

## bench-gate: requests/s through the Gate (durable audit) vs bypassed, and audit group commit, on SQLite and PostgreSQL.
bench-gate: build-release
	@bash scripts/with-postgres.sh $(RELEASE_BIN)/coffer-bench gate

## bench-kv: authenticated, audited, decrypted KV v2 reads vs sys/health over HTTP (wrk), at 1, 8 and 32 connections, SQLite and PostgreSQL.
bench-kv: build-release
	@bash scripts/with-postgres.sh $(RELEASE_BIN)/coffer-bench kv

## bench-rotate: 1,000 due credentials rotated by coffer rotate (what make rotate runs), SQLite and PostgreSQL; dynamic credentials/s.
bench-rotate: build-release
	@bash scripts/with-postgres.sh $(RELEASE_BIN)/coffer-bench rotate

## bench-suite1: model registrations/s (1 MiB), feature batch reads of 100 entities, cache gets vs a dictionary and sys/health; SQLite and PostgreSQL.
bench-suite1: build-release
	@bash scripts/with-postgres.sh $(RELEASE_BIN)/coffer-bench suite1

## bench-suite2: metric ingest vs the raw C-API insert, a 30-day p99 over 10M points from rollups, error events/s; SQLite and PostgreSQL.
bench-suite2: build-release
	@bash scripts/with-postgres.sh $(RELEASE_BIN)/coffer-bench suite2

## bench-peers: OpenBao (bao from the tests' virtualenv) and Coffer side by side in one run, sides alternating, best of
## 3: audited KV read and write, token create, AppRole login; raft + file audit vs SQLite, and both on one PostgreSQL
## with a bare pgcrypto point read beside them (Docs/BENCHMARKS.md). PEERS_ARGS passes options (--seconds, --pairs).
PEERS_ARGS ?=
bench-peers: build-release
	@bash scripts/venv.sh
	@bash scripts/with-postgres.sh .venv/bin/python scripts/bench-peers.py $(PEERS_ARGS)

## bench-scale: 1, 2 and 3 instances on one PostgreSQL, the audited KV read and write driven on all at once: totals,
## audit entries per commit, CPU per request on the instances and on PostgreSQL (Docs/SCALING.md). SCALE_ARGS for more.
bench-scale: build-release
	@bash scripts/venv.sh
	@bash scripts/with-postgres.sh .venv/bin/python scripts/bench-scale.py $(SCALE_ARGS)

## bench-replica: a primary and a synchronous standby; the audited KV read on an instance reading the primary and on
## one with the standby as its read_replica, the write with and without the consistency index: req/s, p99, CPU per
## request on the instance, the primary and the standby (Docs/SCALING.md).
bench-replica: build-release
	@python3 scripts/bench-replica.py $(REPLICA_ARGS)

## fuzz-api: schemathesis from Docs/openapi.yaml against a live coffer on SQLite and PostgreSQL, with the root token
## and a reader-only one; fails on any 5xx or answer outside the document. FUZZ_EXAMPLES per operation (make test
## runs 5; this default is the long run).
FUZZ_EXAMPLES ?= 50
fuzz-api: build
	@bash scripts/venv.sh
	@bash scripts/with-postgres.sh .venv/bin/python scripts/fuzz-api.py --examples $(FUZZ_EXAMPLES)

## crash-test: SIGKILL the service at random instants under load (KV check-and-set writes, tokens, wrapping,
## key terms and rewraps) and during migrations, on both backends; after each restart every acknowledged write
## is there, nothing half-applied is visible, single-use tokens stayed single-use, the audit trail verifies.
## Then failpoints: a kill at a named instant inside key rotation, rewrap, rekey and lease creation, revocation
## and reaping (scripts/crash_failpoints.py). CRASH_KILLS per backend (default 100: 200 in all), CRASH_MIGRATION_KILLS per backend, CRASH_SEED.
CRASH_KILLS ?= 100
CRASH_MIGRATION_KILLS ?= 20
crash-test: build
	@bash scripts/with-postgres.sh python3 scripts/crash-test.py --kills $(CRASH_KILLS) --migration-kills $(CRASH_MIGRATION_KILLS)

## dependency-faults: PostgreSQL halted under load and started again; SQLite's data folder on a small tmpfs
## filled under load and freed (needs root for the mount). No 500, no hang, clear 503s, readiness says why,
## recovery without a restart, nothing acknowledged lost, the audit trail verifies. Also part of make test.
dependency-faults: build
	@python3 scripts/dependency-faults.py

## failover-test: a PostgreSQL primary with a synchronous hot standby (pg_basebackup -R) and coffer on a libpq
## multi-host URL (target_session_attrs=read-write); the primary SIGKILLed under load and the standby promoted,
## FAILOVERS times (default 10; make test runs 2). 503 with Retry-After in the gap, never a 500 or a hang; writes
## again without a restart; every acknowledged write there after all of them; the audit chain verifies.
FAILOVERS ?= 10
failover-test: build
	@python3 scripts/failover-test.py --failovers $(FAILOVERS)

## soak: SOAK_MINUTES (default 10) of mixed load at SOAK_CONNECTIONS (default 32) keep-alive connections on each
## backend, with a restricted token: KV reads and writes, token create/revoke, wrap/unwrap, metrics ingest, cache
## puts and gets. A row per minute (requests, errors, p50/p99, RSS, open descriptors); fails on any error, on RSS or
## descriptors growing more than 10% after the first minute, or on a p99 more than twice the smallest.
SOAK_MINUTES ?= 10
SOAK_CONNECTIONS ?= 32
soak: build
	@bash scripts/with-postgres.sh python3 scripts/soak.py --minutes $(SOAK_MINUTES) --connections $(SOAK_CONNECTIONS)

## The coffer the operator targets run: COFFER if set, else `coffer` on PATH (an installed one, `make install`),
## else this checkout's release build (built first if swift is here). They need nothing the tests need
## (PostgreSQL, wrk, Python) and never build debug binaries or check Debian packages: on a production host
## they run the installed binary as it is.
COFFER ?= $(or $(shell command -v coffer 2>/dev/null),$(RELEASE_BIN)/coffer)
PREFIX ?= /usr/local
DESTDIR ?=

.PHONY: coffer-binary install
coffer-binary:
	@if [ "$(COFFER)" = "$(RELEASE_BIN)/coffer" ]; then \
	    if command -v $(SWIFT) >/dev/null 2>&1; then \
	        $(SWIFT) build -c release --product coffer >&2 || exit 1; \
	    elif [ ! -x "$(COFFER)" ]; then \
	        echo "No coffer to run: install it (make install, on a build host), put it on PATH or set COFFER=/path/to/coffer." >&2; \
	        exit 1; \
	    fi; \
	elif ! command -v "$(COFFER)" >/dev/null 2>&1; then \
	    echo "COFFER=$(COFFER) is not an executable: set COFFER to the installed coffer (make install puts it in $(PREFIX)/bin)." >&2; \
	    exit 1; \
	fi

# DRY_RUN=1 (or true, yes) shows what is due and changes nothing; DRY_RUN=0 (false, no) or unset rotates.
DRY_RUN_FLAG = $(strip $(if $(filter 1 true yes,$(DRY_RUN)),--dry-run,$(if $(filter-out 0 false no,$(DRY_RUN)),\
	$(error DRY_RUN=$(DRY_RUN): use DRY_RUN=1 for a dry run or DRY_RUN=0 to rotate))))

## rotate: rotate every credential that is due on the running service (COFFER_ADDR), as COFFER_TOKEN or the
## token file (COFFER_TOKEN_FILE) — a token with the rotation-runner policy; never a make variable.
## SECRET=mount/path rotates one now; DRY_RUN=1 shows what is due. Exits non-zero if any rotation failed.
## The service also rotates on its own (rotation_scheduler, Docs/ROTATION.md); this is for a run now.
rotate: export SECRET := $(SECRET)
rotate: coffer-binary
	"$(COFFER)" rotate run $(if $(SECRET),--secret "$$SECRET") $(DRY_RUN_FLAG)

## rotate-status: schedules, last and next runs, failures, unfinished runs.
rotate-status: coffer-binary
	"$(COFFER)" rotate status

## rotate-keys: a new data-key term on the running service (COFFER_ADDR, root token in COFFER_TOKEN),
## then rewrap every record onto it.
rotate-keys: coffer-binary
	"$(COFFER)" operator rotate
	"$(COFFER)" operator rewrap

## production-targets: make install into a scratch PREFIX, then rotate, rotate-status and rotate-keys with only
## that PREFIX's bin on PATH (what a production host has); part of make test.
production-targets:
	$(PYTHON) scripts/production-targets.py

## install: the release coffer into $(DESTDIR)$(PREFIX)/bin, the shipped policies into
## $(DESTDIR)$(PREFIX)/share/coffer/policies (apply them with `coffer policy apply`), and a hardened systemd
## unit into $(DESTDIR)$(PREFIX)/lib/systemd/system/coffer.service (its settings in /etc/coffer/coffer.env).
## Builds the release binary first when it is missing; run as root for a PREFIX outside your home.
install:
	@if command -v $(SWIFT) >/dev/null 2>&1; then $(SWIFT) build -c release --product coffer; \
	elif [ ! -x $(RELEASE_BIN)/coffer ]; then echo "No release build to install and no swift to build one." >&2; exit 1; fi
	install -d -m 755 "$(DESTDIR)$(PREFIX)/bin" "$(DESTDIR)$(PREFIX)/share/coffer/policies" \
	    "$(DESTDIR)$(PREFIX)/lib/systemd/system"
	install -m 755 $(RELEASE_BIN)/coffer "$(DESTDIR)$(PREFIX)/bin/coffer"
	install -m 644 Policies/*.hcl "$(DESTDIR)$(PREFIX)/share/coffer/policies/"
	sed 's|@BINDIR@|$(PREFIX)/bin|g' packaging/coffer.service > "$(DESTDIR)$(PREFIX)/lib/systemd/system/coffer.service"
	chmod 644 "$(DESTDIR)$(PREFIX)/lib/systemd/system/coffer.service"
	@echo "Installed coffer $(PREFIX)/bin/coffer, policies in $(PREFIX)/share/coffer/policies, unit coffer.service."
	@echo "Next: create the coffer user (useradd --system --home /var/lib/coffer coffer), put settings in"
	@echo "/etc/coffer/coffer.env (Docs/OPERATIONS.md), then systemctl daemon-reload && systemctl enable --now coffer."

clean:
	rm -rf .build
