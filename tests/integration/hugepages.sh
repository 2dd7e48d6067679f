#!/usr/bin/env bash
# hugepages.sh - shmnode --hugepages with a real shmnode and clients:
#  - with no free huge pages: "try" serves from ordinary pages and says
#    so; "require" refuses to start and names /proc/sys/vm/nr_hugepages;
#  - with huge pages reserved for it (as root: nr_hugepages raised for the
#    test and put back after): "require" rounds the region up to whole
#    huge pages, maps it and a grown extent in them (the admin status and
#    the process's smaps say so), a shrink takes whole huge pages (and
#    shmext says how much), and clients read and write there.
# Exits 77 (skipped) when it can neither empty nor fill the pool of huge
# pages (not root, or none on this kernel).
# Usage: hugepages.sh SHMNODE SHMEXT
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=cli_lib.sh
. "$here/cli_lib.sh"
shmnode=$1
out=/dev/null
sys=/proc/sys/vm/nr_hugepages
orig=$(cat "$sys" 2>/dev/null || echo "")
writable=0
if [ -n "$orig" ] && [ -w "$sys" ] && grep -q '^Hugepagesize:' /proc/meminfo; then
	writable=1
fi
free_pages() { awk '/^HugePages_Free:/ { print $2 }' /proc/meminfo; }
# At exit, however the test ends: the pool of huge pages as it was.
on_cleanup() {
	if [ $writable = 1 ]; then echo "$orig" >"$sys"; fi
}
trap cleanup EXIT
sock=$(mktemp -u /tmp/shmx-huge.XXXXXX.sock)
ran=0

# No free huge pages.
[ $writable = 1 ] && echo 0 >"$sys"
if [ "$(free_pages)" = 0 ]; then
	ran=1
	start_node "$shmnode" "$2" --size 16M --hugepages --admin-socket none
	expect 0 "region" -- info
	stop_node
	grep -q "huge pages: .*ordinary pages" "$log" ||
		fail "try did not say it fell back: $(cat "$log")"
	rc=0
	timeout 10 "$shmnode" --listen 127.0.0.1:1 --size 16M \
		--hugepages=require --admin-socket none >"$out" 2>&1 || rc=$?
	[ $rc != 0 ] || fail "require started without huge pages"
	grep -q "nr_hugepages" "$out" || fail "require did not say where to look"
fi

# Huge pages for a 63M region (rounded up to 64M) and an 8M extent.
if [ $writable = 1 ]; then
	echo $((orig + 40)) >"$sys"
	if [ "$(free_pages)" -ge 36 ]; then
		ran=1
		start_node "$shmnode" "$2" --size 63M --hugepages=require \
			--admin-socket "$sock"
		"$shmnode" admin --admin-socket "$sock" status >"$out"
		grep -q "^extent 0 base 0 len 67108864 huge pages$" "$out" ||
			fail "the region is not in huge pages"
		"$shmnode" admin --admin-socket "$sock" grow 7M >"$out"
		"$shmnode" admin --admin-socket "$sock" status >"$out"
		grep -q "^extent 1 base .* len 8388608 huge pages$" "$out" ||
			fail "the grown extent is not 8M of huge pages"
		grep -q "KernelPageSize: *2048 kB" "/proc/$pid/smaps" ||
			fail "no 2M pages in shmnode's mappings"
		# A shrink takes whole huge pages, and shmext says how much.
		expect 0 "took 2 MiB off the top" -- shrink 1M
		expect 0 "" -- pool create hp 32M
		a=$("$shmext" alloc hp 4096)
		expect 0 "wrote 15 bytes" -- write "$a" "in a huge page!"
		expect 0 "in a huge page!" -- read "$a" 15
		stop_node
	fi
fi
rm -f "$sock"
if [ $ran = 0 ]; then
	echo "hugepages: cannot empty or fill the huge page pool here; skipped"
	exit 77
fi
echo "hugepages: PASS"
