# PanelSim — `make demo` runs the bundled default scenario, `make test` the whole test suite.
# Both install what is missing first (Debian packages, the Python virtual environment).
SHELL := /bin/bash
.ONESHELL:
.SHELLFLAGS := -eu -o pipefail -c

APT_PACKAGES := libpng-dev libpcap-dev tshark python3-venv iproute2 xxd ola binutils
VENV := .venv
PY := $(VENV)/bin/python
BIN := .build/release/panelsim
FUZZ_SECONDS ?= 600
FUZZ_SMOKE_SECONDS ?= 5
FUZZ_SMOKE_JOBS ?= 2
FUZZ_TARGETS := artnet-decode sacn-decode artnet-node sacn-receiver ddp-display tpm2net-receiver opc-server tpm2-receiver enttec-widget \
  novastar-card colorlight-receiver novastar-framer opc-framer enttec-framer tpm2-framer ddp-decode tpm2net-decode colorlight-decode \
  novastar-controller capture-reader config-loader scenario-loader check-capture
# Targets whose inputs need more than 4 KiB (a NovaStar frame is up to 4116 bytes; capture files) get 16 KiB.
FUZZ_LONG_TARGETS := novastar-card novastar-framer novastar-controller capture-reader check-capture
FUZZ_MAX_LEN = len=4096; case " $(FUZZ_LONG_TARGETS) " in *" $$t "*) len=16384;; esac
FUZZ_SUMMARY ?= .build/fuzz-summary.txt
FUZZ_BUILD := .build-fuzz
FUZZ_BIN := $(FUZZ_BUILD)/debug/panelsim-fuzz

BENCH_RUNS ?= 1
BENCH_OUT := Benchmarks/.build/bench

.PHONY: demo test deps venv build dist test-swift test-interop test-fuzz test-dist fuzz fuzz-build bench clean

## The main job: the bundled city (five videotrons, five protocols) driven end to end and checked; the page is demo-out/index.html.
demo: deps build
	$(BIN) demo --out demo-out

## Every test suite: Swift unit and end-to-end tests, real clients and tshark, fuzz smoke.
test: deps venv build
	@start=$$(date +%s)
	rm -f .build/test-counts
	$(MAKE) --no-print-directory test-swift
	$(MAKE) --no-print-directory test-interop
	$(MAKE) --no-print-directory test-fuzz
	$(MAKE) --no-print-directory test-dist
	echo "make test: all suites finished in $$(( $$(date +%s) - start )) s"
	awk '{ p += $$1; f += $$2 } END { printf "total: %d passed, %d failed\n", p, f }' .build/test-counts

## Installs the Debian packages the build and tests need (only those missing).
deps:
	@missing=""
	for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done
	if [ -n "$$missing" ]; then
	  echo "installing:$$missing"
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo
	  $$SUDO apt-get update -qq
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null
	fi

## The Python virtual environment with the third-party clients the tests drive.
venv: $(VENV)/.installed
$(VENV)/.installed: Tests/Interop/requirements.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r Tests/Interop/requirements.txt
	touch $@

## The release binary: demo and the interop tests use it (a debug build cannot keep up with
## line-rate bursts; the unit tests build their own debug copy). The Swift runtime is linked in
## statically, so this very binary is what `make dist` ships.
build:
	swift build -c release --static-swift-stdlib --product panelsim 2>&1 | { grep -Ev "^\[|^Building|^Compiling|^Write|use of .mktemp. is dangerous" || true; }
	test -x $(BIN)

## A release binary for machines without Swift: dist/panelsim (stripped), dist/NEEDED.txt (the
## shared libraries it still needs and their Debian packages); checked by scripts/dist-check.sh.
dist: deps build
	@mkdir -p dist
	strip -o dist/panelsim $(BIN)
	scripts/dist-check.sh dist/panelsim dist/NEEDED.txt
	ls -l dist/panelsim

## The release binary runs without the Swift toolchain (hidden in a mount namespace as root).
test-dist:
	@if scripts/dist-check.sh $(BIN); then echo "1 0" >> .build/test-counts; else echo "0 1" >> .build/test-counts; exit 1; fi

test-swift:
	@s=$$(date +%s)
	swift build --build-tests 2>&1 | { grep -Ev '^\[|^Building|^Compiling|^Write' || true; }
	swift test --skip-build --disable-swift-testing 2>&1 | tee .build/swift-test.log | grep -Ev "^Test Case .* (started|passed)|^Test Suite '.*' (started|passed)"
	echo "swift test: $$(( $$(date +%s) - s )) s"
	# The last "Executed N tests, with [K skipped and] F failures" line is the whole run.
	python3 -c "import re, sys; m = re.findall(r'Executed (\d+) tests?, with (?:(\d+) tests? skipped and )?(\d+) failures?', open('.build/swift-test.log').read())[-1]; n, k, f = int(m[0]), int(m[1] or 0), int(m[2]); print(n - k - f, f)" >> .build/test-counts

test-interop:
	@s=$$(date +%s)
	PANELSIM_BIN=$(CURDIR)/$(BIN) $(VENV)/bin/pytest -q -rs --junitxml=.build/interop.xml Tests/Interop
	echo "interop tests: $$(( $$(date +%s) - s )) s"
	python3 -c "import xml.etree.ElementTree as E; s = E.parse('.build/interop.xml').getroot(); s = s.find('testsuite') if s.tag == 'testsuites' else s; t, f, e, k = (int(s.get(x, 0)) for x in ('tests', 'failures', 'errors', 'skipped')); print(t - f - e - k, f + e)" >> .build/test-counts

## Replays the stored corpora, then runs each fuzz target briefly under AddressSanitizer.
test-fuzz: fuzz-build
	@s=$$(date +%s)
	swift build --product panelsim-fuzz 2>&1 | { grep -v '^\[' || true; }
	for t in $(FUZZ_TARGETS); do
	  .build/debug/panelsim-fuzz $$t Fuzz/corpus/$$t/* $$(ls Fuzz/regressions/$$t/* 2>/dev/null)
	done
	echo "$(words $(FUZZ_TARGETS)) 0" >> .build/test-counts
	# FUZZ_SMOKE_JOBS targets at a time (one per core); xargs fails if any of them failed.
	printf '%s\n' $(FUZZ_TARGETS) | xargs -P $(FUZZ_SMOKE_JOBS) -I{} bash -o pipefail -c 't={}
	  mkdir -p .build/fuzz-corpus/$$t
	  $(FUZZ_MAX_LEN)
	  PANELSIM_FUZZ_TARGET=$$t SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=detect_leaks=0 \
	    $(FUZZ_BIN) -max_total_time=$(FUZZ_SMOKE_SECONDS) -max_len=$$len -print_final_stats=1 \
	    .build/fuzz-corpus/$$t Fuzz/corpus/$$t 2>&1 | grep -E "stat::(number_of_executed_units|new_units_added)|ERROR|crash|Done" | sed "s/^/$$t: /"'
	echo "fuzz smoke: $$(( $$(date +%s) - s )) s"

fuzz-build:
	swift build --scratch-path $(FUZZ_BUILD) --product panelsim-fuzz --sanitize=fuzzer \
	  -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING 2>&1 | { grep -Ev "^\[|warning: Cannot export" || true; }
	test -x $(FUZZ_BIN)

## Runs every fuzz target for FUZZ_SECONDS under AddressSanitizer, then a table of what each
## reached: executions, libFuzzer's coverage (cov: edges, ft: features) from its last stats line.
## Logs in .build/fuzz-logs; crash inputs in Fuzz/findings/TARGET. Fails if any target crashed.
fuzz: deps fuzz-build
	@mkdir -p .build/fuzz-logs
	printf '%-20s %7s %11s %8s %6s %7s %s\n' target seconds executions exec/s cov ft result > $(FUZZ_SUMMARY)
	failed=0
	for t in $(FUZZ_TARGETS); do
	  mkdir -p .build/fuzz-corpus/$$t Fuzz/findings/$$t
	  $(FUZZ_MAX_LEN)
	  log=.build/fuzz-logs/$$t.log
	  echo "== $$t for $(FUZZ_SECONDS) s (inputs up to $$len bytes)"
	  s=$$(date +%s); rc=0
	  PANELSIM_FUZZ_TARGET=$$t SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=detect_leaks=0 \
	    $(FUZZ_BIN) -max_total_time=$(FUZZ_SECONDS) -max_len=$$len -print_final_stats=1 \
	    -artifact_prefix=Fuzz/findings/$$t/ .build/fuzz-corpus/$$t Fuzz/corpus/$$t > $$log 2>&1 || rc=$$?
	  grep -E 'DONE|stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)|ERROR|SUMMARY|Test unit written' $$log || true
	  stats=$$(grep -E '^#[0-9]+.*cov: ' $$log | tail -1 || true)
	  cov=$$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<< "$$stats"); ft=$$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<< "$$stats")
	  execs=$$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+)/\1/p' $$log | tail -1)
	  rate=$$(sed -nE 's/^stat::average_exec_per_sec: *([0-9]+)/\1/p' $$log | tail -1)
	  result=ok; [ $$rc = 0 ] || { result="FAILED (exit $$rc, see $$log)"; failed=1; }
	  printf '%-20s %7s %11s %8s %6s %7s %s\n' $$t $$(( $$(date +%s) - s )) "$${execs:--}" "$${rate:--}" "$${cov:--}" "$${ft:--}" "$$result" >> $(FUZZ_SUMMARY)
	done
	echo; cat $(FUZZ_SUMMARY)
	exit $$failed

## Benchmarks of the encoding core (the Benchmarks/ package, release): prints the table of
## scripts/bench-report.py and writes bench.json. BENCH_RUNS=3 repeats the run (medians over runs).
bench: deps
	rm -rf $(BENCH_OUT)
	load_before=$$(cut -d' ' -f1-3 /proc/loadavg)
	for i in $$(seq 1 $(BENCH_RUNS)); do
	  echo "== benchmark run $$i of $(BENCH_RUNS)"
	  (cd Benchmarks && swift package --allow-writing-to-package-directory benchmark --no-progress \
	    --format jmh --path .build/bench/run-$$i) 2>&1 | grep -Ev '^\[|^Building|^Compiling|^Write|^Build |Warning: running with|skipping LD_PRELOAD' | awk '!seen[$$0]++' || true
	  test -s $(BENCH_OUT)/run-$$i/Current_run.jmh.json
	done
	python3 scripts/bench-report.py $(BENCH_OUT)/run-*/Current_run.jmh.json --json bench.json \
	  --load "$$load_before (before), $$(cut -d' ' -f1-3 /proc/loadavg) (after)"

clean:
	rm -rf .build $(FUZZ_BUILD) $(VENV) demo-out Benchmarks/.build
