#!/usr/bin/env bash
# install-deps.sh - install the Debian packages shmext needs to build, test
# and run (Debian 12).  Installs only what is missing; needs root (or sudo).
set -euo pipefail

# Build and run: compiler, CMake, libfabric, rdma-core, OpenSSL's libcrypto.
pkgs=(build-essential cmake pkg-config libfabric-dev libfabric-bin libssl-dev
	libibverbs-dev librdmacm-dev)
# Tests: cmocka; clang with its sanitizer and libFuzzer runtimes; pandoc
# for the man pages (a build without it has none, and the test of the
# man pages fails); curl, the HTTP client that reads shmnode's metrics
# (cli_stats); iproute2 for ss, which resets a connection between two
# members (test_messages), and ip (the client in another namespace).
if [ "${1:-}" = "--test" ]; then
	pkgs+=(libcmocka-dev clang libclang-rt-14-dev pandoc curl iproute2)
fi

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q >/dev/null
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
