#!/usr/bin/env bash
# cli_memory.sh - the shmext command's pool, allocation and ownership
# commands, and the memory's extents (extents, grow, shrink), against a real
# shmnode on loopback: what they print, --json, and the exit status and
# message of each refusal.
# Usage: cli_memory.sh SHMNODE SHMEXT
set -euo pipefail
. "$(dirname "$0")/cli_lib.sh"
start_node "$1" "$2" --size 16M --member-cap 1M --client-timeout 1000 --heartbeat 200

expect 0 "created pool 'p1'" -- pool create p1 1M
expect 1 "Already exists" -- pool create p1 1M
expect 1 "No such" -- pool stat nosuch
expect 2 "" -- pool create p2 0
a=$("$shmext" alloc p1 100)
[[ $a =~ ^0x[0-9a-f]+$ ]] || fail "alloc printed '$a'"
b=$("$shmext" alloc p1 4K 4K)
(( b % 4096 == 0 )) || fail "alloc with ALIGN 4K gave $b"
"$shmext" write "$a" "hello pools" >/dev/null
"$shmext" read "$a" 11 | grep -q "hello pools" || fail "read back"
expect 0 '"nr_alloc": *2\|"allocations": *2' -- --json pool stat p1
expect 1 "Invalid argument" -- release $((a + 8))
expect 1 "Busy" -- pool destroy p1
expect 1 "Out of memory" -- alloc p1 2M
expect 0 "" -- pool create big 4M
expect 1 "memory cap" -- alloc big 2M
expect 0 "" -- pool destroy big
expect 1 "No such live member" -- own "$a" 99999
expect 0 "epoch 1" -- epoch "$a"
expect 0 "" -- release "$a"
expect 1 "No such" -- release "$a"
expect 0 "" -- release "$b"
expect 0 "destroyed pool 'p1'" -- pool destroy p1
expect 1 "No such" -- pool stat p1

# The memory's extents: 16 MiB at 0, then one more at every grow.
expect 0 "^Extents: 1, 16 MiB (16777216 bytes) in all" -- extents
expect 0 "^ *0 *0x0 *16 MiB *0x1000000$" -- extents
# Extent 0 has the header area and a 12 MiB pool: no room for 6 MiB more.
expect 0 "" -- pool create fill 12M
expect 1 "No room left" -- pool create p6 6M
expect 1 "'shmext grow SIZE' adds one" -- pool create p6 6M
expect 0 '"len":8388608,"total":25165824,"extents":2' -- --json grow 8M
base=$(sed -n 's/^{"base":\([0-9]*\),.*/\1/p' "$out")
[ -n "$base" ] && ((base >= 16 << 20)) || fail "grow's base is '$base'"
hbase=$(printf '0x%x' "$base")
expect 0 "^Extents: 2, 24 MiB (25165824 bytes) in all" -- extents
expect 0 "^ *1 *$hbase *8 MiB *$(printf '0x%x' $((base + (8 << 20))))$" -- \
	extents
x0='{"index":0,"base":0,"len":16777216,"end":16777216}'
x1='{"index":1,"base":'$base',"len":8388608,"end":'$((base + (8 << 20)))'}'
expect 0 "^{\"generation\":[0-9]*,\"total\":25165824,\"count\":2,\"extents\":\\[$x0,$x1\\]}$" \
	-- --json extents
expect 0 "region: *24 MiB (25165824 bytes)" -- info
expect 0 "extents: *2 (generation" -- info
expect 0 '"region_size":25165824,.*"extents":2,"generation":' -- --json info
expect 0 "^Extents: 2," -- ipcs
head -n 1 "$out" | grep -q "^Extents: 2," || fail "ipcs does not start with the extents"
expect 0 '"memory":{"generation":[0-9]*,"total":25165824,"count":2,' -- \
	--json ipcs
# A pool that fits only in the new extent; its blocks are read and written.
expect 0 "created pool 'p6': 6 MiB (6291456 bytes) at $hbase" -- \
	pool create p6 6M
expect 0 "" -- pool create p2 1M
a=$("$shmext" alloc p2 100)
((a >= base + (6 << 20))) || fail "pool p2's block at $a is not past p6"
expect 0 "wrote 11 bytes" -- write "$a" "hello grown"
expect 0 "hello grown" -- read "$a" 11
expect 1 "runs past the end of its extent \[$hbase," -- \
	read $((base + (8 << 20) - 8)) 16
expect 1 "lies in none of the memory's 2 extents" -- read 0x1000000 8
expect 0 "" -- release "$a"
expect 0 "" -- pool destroy p2
expect 1 "Busy" -- shrink 8M
expect 1 "hint: a pool or segment lies in that memory; see shmext ipcs" -- \
	shrink 8M
expect 1 '"name":"EBUSY"' -- --json shrink 8M
expect 0 "^Extents: 2," -- extents
expect 0 "destroyed pool 'p6'" -- pool destroy p6
expect 0 "the memory has 16 MiB (16777216 bytes) in 1 extent$" -- shrink 8M
expect 0 "^Extents: 1, 16 MiB" -- extents
expect 1 "is not inside the memory \[0x0, 0x1000000)" -- read "$base" 8
expect 1 "No room left in the node's memory" -- shrink 1G
expect 1 "less than 1 GiB\|the memory has 16 MiB in all" -- shrink 1G
expect 2 "SIZE: at least 1 byte" -- grow 0
expect 2 "SIZE: at least 1 byte" -- shrink 0
expect 2 "expects SIZE" -- grow
expect 2 "is not a size" -- grow lots
expect 2 "takes no arguments" -- extents 1
# 4 KiB off the top of extent 0, and back as an extent of its own.
expect 0 '"removed":4096,"total":16773120,"extents":1' -- --json shrink 1
expect 0 "new extent of 4 KiB at 0x" -- grow 4K
expect 0 "^Extents: 2, 16 MiB (16777216 bytes) in all" -- extents
expect 0 "" -- shrink 4K
expect 0 "" -- pool destroy fill
# Only root or the node's user may resize: as root, try as nobody.
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null &&
	as_nobody "$shmext" --version >/dev/null 2>&1; then
	rc=0
	as_nobody "$shmext" grow 4K >"$out" 2>&1 || rc=$?
	[ $rc = 1 ] || fail "grow as nobody exited $rc, not 1"
	grep -q "hint: only root or the node's own user may resize" "$out" ||
		fail "grow as nobody: no hint"
	expect 0 "^Extents: 1," -- extents
fi

stop_node
echo "cli memory commands: ok"
