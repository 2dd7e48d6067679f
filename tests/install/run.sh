#!/usr/bin/env bash
# run.sh - install test: `cmake --install` into a scratch prefix, build a
# program outside the tree against it twice (pkg-config, find_package), and
# run both against a real shmnode from that prefix.
# Usage: run.sh BUILD_DIR SRC_DIR CC "C_FLAGS"
set -euo pipefail
build=$1 src=$2 cc=$3 flags=$4
# shellcheck source=../integration/cli_lib.sh
. "$src/tests/integration/cli_lib.sh"
tmp=$(mktemp -d /tmp/shmx-install.XXXXXX)
on_cleanup() { rm -rf "$tmp"; }
trap cleanup EXIT

cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
prefix=$tmp/prefix
libdir=$(dirname "$(find "$prefix" -name 'libshmext.so' | head -1)")
test -f "$prefix/include/shmext/shmext.h"
test -x "$prefix/sbin/shmnode"
test -x "$prefix/bin/shmext"

# 1. pkg-config
export PKG_CONFIG_PATH=$libdir/pkgconfig
# shellcheck disable=SC2046,SC2086
"$cc" $flags -o "$tmp/consumer-pc" "$src/tests/install/consumer.c" \
	$(pkg-config --cflags --libs shmext) -Wl,-rpath,"$libdir"

# 2. find_package
mkdir -p "$tmp/proj"
cp "$src/tests/install/consumer.c" "$tmp/proj/"
cp "$src/tests/install/CMakeLists.txt.consumer" "$tmp/proj/CMakeLists.txt"
cmake -S "$tmp/proj" -B "$tmp/proj/build" -DCMAKE_PREFIX_PATH="$prefix" \
	-DCMAKE_C_COMPILER="$cc" -DCMAKE_C_FLAGS="$flags" \
	-DCMAKE_EXE_LINKER_FLAGS="$flags" -DCMAKE_BUILD_RPATH="$libdir" >/dev/null
cmake --build "$tmp/proj/build" >/dev/null

# A node from the installed prefix on a free loopback port.
export LD_LIBRARY_PATH=$libdir
start_node "$prefix/sbin/shmnode" "$prefix/bin/shmext" --size 4M
"$tmp/consumer-pc"
"$tmp/proj/build/consumer"
echo "install test: ok"
