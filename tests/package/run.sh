#!/usr/bin/env bash
# run.sh - package test: a Release build with prefix /usr in a scratch
# directory, its Debian packages made with cpack (cmake/packaging.cmake),
# then checked: their names, files and dependencies (dpkg-deb), unpacked
# into a scratch root, and run from there: shmnode with the packaged
# settings, the shmext demo against it, and a program built against the
# -dev package with pkg-config.
# Usage: run.sh SRC_DIR
set -euo pipefail
src=$1
# shellcheck source=../integration/cli_lib.sh
. "$src/tests/integration/cli_lib.sh"
tmp=$(mktemp -d /tmp/shmx-pkg.XXXXXX)
on_cleanup() { rm -rf "$tmp"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

cmake -S "$src" -B "$tmp/build" -DCMAKE_BUILD_TYPE=Release \
	-DCMAKE_INSTALL_PREFIX=/usr -DSHMX_TESTS=OFF >"$tmp/cmake.log" 2>&1 ||
	{ cat "$tmp/cmake.log"; fail "configure"; }
cmake --build "$tmp/build" -j"$(nproc)" >"$tmp/build.log" 2>&1 ||
	{ tail -30 "$tmp/build.log"; fail "build"; }
(cd "$tmp/build" && cpack -G DEB) >"$tmp/cpack.log" 2>&1 ||
	{ cat "$tmp/cpack.log"; fail "cpack"; }
! grep -i "warning" "$tmp/cpack.log" || fail "cpack warned"

version=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$tmp/build/CMakeCache.txt")
deb() {
	local f
	f=$(ls "$tmp/build/$1_${version}_"*.deb 2>/dev/null) || fail "no package $1"
	echo "$f"
}
node=$(deb shmnode) lib=$(deb libshmext0) dev=$(deb libshmext-dev) cli=$(deb shmext)
[ "$(find "$tmp/build" -maxdepth 1 -name '*.deb' | wc -l)" = 4 ] ||
	fail "not exactly 4 packages: $(ls "$tmp/build"/*.deb)"

# Dependencies: Debian's libraries found by dpkg-shlibdeps, each other's
# by exact version.
depends() { dpkg-deb -f "$1" Depends; }
# has_dep DEB WHAT: one of DEB's dependencies is WHAT, alone or with a
# version constraint ("libc6" matches "libc6 (>= 2.34)", not "libc6-dev").
has_dep() {
	depends "$1" | tr ',' '\n' | sed 's/^ *//' |
		awk -v w="$2" 'index($0, w) == 1 && (length($0) == length(w) || substr($0, length(w) + 1, 1) == " ") { ok = 1 } END { exit !ok }' ||
		fail "$(basename "$1") does not depend on $2: $(depends "$1")"
}
for p in "$node" "$lib"; do
	has_dep "$p" libc6
	has_dep "$p" libfabric1
	has_dep "$p" libssl3
done
depends "$node" | grep -q libshmext && fail "shmnode depends on libshmext"
has_dep "$dev" "libshmext0 (= $version)"
has_dep "$cli" "libshmext0 (= $version)"
has_dep "$cli" libc6

# Files: each where its package puts it, the link-time .so only in -dev,
# the settings a conffile.
contents() { dpkg-deb -c "$1" | awk '{ print $6 }' | sed 's|^\./|/|'; }
has_file() { contents "$1" | grep -qx "$2" || fail "$(basename "$1") lacks $2"; }
has_file "$node" /usr/sbin/shmnode
has_file "$node" /usr/lib/systemd/system/shmnode.service
has_file "$node" /etc/shmext/shmnode.conf
contents "$lib" | grep -q '^/usr/lib.*/libshmext\.so\.0$' || fail "libshmext0 lacks libshmext.so.0"
contents "$lib" | grep -q 'libshmext\.so$' && fail "the runtime package has the link-time libshmext.so"
has_file "$dev" /usr/include/shmext/shmext.h
contents "$dev" | grep -q '/libshmext\.so$' || fail "libshmext-dev lacks libshmext.so"
contents "$dev" | grep -q '/pkgconfig/shmext\.pc$' || fail "libshmext-dev lacks shmext.pc"
contents "$dev" | grep -q '/cmake/shmext/shmextConfig\.cmake$' || fail "libshmext-dev lacks shmextConfig.cmake"
has_file "$cli" /usr/bin/shmext
# The manual, each page with its program or the development files.
has_file "$node" /usr/share/man/man8/shmnode.8
has_file "$cli" /usr/share/man/man1/shmext.1
has_file "$dev" /usr/share/man/man3/shmx_open.3
has_file "$dev" /usr/share/man/man3/shmx_msg_send.3
dpkg-deb -e "$node" "$tmp/control"
grep -qx /etc/shmext/shmnode.conf "$tmp/control/conffiles" ||
	fail "/etc/shmext/shmnode.conf is not a conffile"

# Unpacked into a scratch root, run from there.
root=$tmp/root
for p in "$node" "$lib" "$dev" "$cli"; do
	dpkg-deb -x "$p" "$root"
done
libdir=$(dirname "$(find "$root" -name 'libshmext.so.0')")
export LD_LIBRARY_PATH=$libdir
start_node "$root/usr/sbin/shmnode" "$root/usr/bin/shmext" \
	--config "$root/etc/shmext/shmnode.conf" --size 64M --admin-socket none
"$shmext" demo >"$tmp/demo.log" 2>&1 ||
	{ cat "$tmp/demo.log"; fail "the demo"; }
grep -q PASS "$tmp/demo.log" || { cat "$tmp/demo.log"; fail "the demo did not pass"; }
# shellcheck disable=SC2046
cc -o "$tmp/consumer" "$src/tests/install/consumer.c" \
	$(PKG_CONFIG_PATH=$libdir/pkgconfig pkg-config --cflags --libs shmext) \
	-Wl,-rpath,"$libdir"
"$tmp/consumer"
echo "package test: ok ($(cd "$tmp/build" && ls ./*.deb | tr '\n' ' '))"
