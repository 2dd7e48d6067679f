#!/usr/bin/env bash
# test.sh - the whole test suite on a fresh Debian 12 machine: install what
# is needed, build with warnings as errors and AddressSanitizer +
# UndefinedBehaviorSanitizer (clang, so the libFuzzer target builds too),
# and run every test through ctest, the multi-host tests in qemu VMs over
# soft-RoCE included (tests/rxe; skipped with the reason where qemu cannot
# run; SHMX_RXE_TESTS=OFF leaves them out).
# Usage: deploy/test.sh [ctest args...]
set -euo pipefail
cd "$(dirname "$0")/.."

deploy/install-deps.sh --test

build=${SHMX_TEST_BUILD:-build-test}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang \
	-DSHMX_WERROR=ON -DSHMX_ASAN=ON -DSHMX_UBSAN=ON -DSHMX_FUZZ=ON \
	-DSHMX_TESTS=ON -DSHMX_RXE_TESTS="${SHMX_RXE_TESTS:-ON}" >/dev/null
cmake --build "$build" -j"$(nproc)"

# libfabric keeps a few allocations for the life of the process; they are
# not ours, so LeakSanitizer is told to skip them (tests/lsan.supp).
export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:print_suppressions=0"
export ASAN_OPTIONS="abort_on_error=0:detect_leaks=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
cd "$build"
ctest --output-on-failure --timeout 300 "$@"
