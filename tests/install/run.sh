#!/usr/bin/env bash
# run.sh - install test: `cmake --install` into a scratch prefix, build a
# program outside the tree against it twice (pkg-config, find_package), and
# run both against a real shmnode from that prefix.
# Usage: run.sh BUILD_DIR SRC_DIR CC "C_FLAGS"
set -euo pipefail
build=$1 src=$2 cc=$3 flags=$4
tmp=$(mktemp -d /tmp/shmx-install.XXXXXX)
node_pid=
cleanup() {
	[ -n "$node_pid" ] && kill "$node_pid" 2>/dev/null && wait "$node_pid" 2>/dev/null
	rm -rf "$tmp"
}
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
port=$((20000 + RANDOM % 30000))
while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
	port=$((20000 + RANDOM % 30000))
done
export SHMEXT_NODE=127.0.0.1:$port
"$prefix/sbin/shmnode" --listen "$SHMEXT_NODE" --size 4M 2>"$tmp/node.log" &
node_pid=$!
for _ in $(seq 100); do
	LD_LIBRARY_PATH=$libdir "$prefix/bin/shmext" info >/dev/null 2>&1 && break
	kill -0 "$node_pid" || { cat "$tmp/node.log"; exit 1; }
	sleep 0.1
done
"$tmp/consumer-pc"
"$tmp/proj/build/consumer"
echo "install test: ok"
