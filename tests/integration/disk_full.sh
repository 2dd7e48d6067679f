#!/usr/bin/env bash
# disk_full.sh - shmnode --backing on a file system that fills up, a small
# tmpfs in a mount namespace of the test's own (root; skipped otherwise):
#  - a memory the file system cannot hold is refused at start, with the
#    reason (before, the node started on a sparse file and died of SIGBUS
#    at the first store into it);
#  - once the rest of the file system is filled, requests are still
#    answered, locks taken, and what clients write is kept (the memory's
#    and the lock table's blocks are reserved);
#    each journal write that fails is logged and counted (admin status,
#    /metrics), a growth is refused, and the node goes on; a segment
#    saved to that disk is refused with the system's reason and the file
#    saved there before stays whole;
#  - with room again, the next change rewrites the journal whole, and a
#    restart keeps what was done while the disk was full.
# Usage: disk_full.sh SHMNODE SHMEXT
set -euo pipefail

if [ -z "${SHMX_DISK_FULL_NS:-}" ]; then
	[ "$(id -u)" = 0 ] || { echo "not root: cannot mount a small file system"; exit 77; }
	command -v unshare >/dev/null && unshare -m true 2>/dev/null ||
		{ echo "no mount namespace here (unshare -m)"; exit 77; }
	SHMX_DISK_FULL_NS=1 exec unshare -m --propagation private "$0" "$@"
fi

. "$(dirname "$0")/cli_lib.sh"
command -v curl >/dev/null || { echo "curl is not installed (deploy/install-deps.sh --test)"; exit 1; }
shmnode=$1
locks=(--max-locks 1024) # a lock table of 128 KiB, in the backing file too
out=/dev/null # what fail() prints until shmext has said something

fs=$(mktemp -d /tmp/shmx-full.XXXXXX)
mount -t tmpfs -o size=8M shmx-full "$fs"
on_cleanup() { umount "$fs" 2>/dev/null; rmdir "$fs"; }
trap cleanup EXIT

# --- a memory the file system cannot hold ---------------------------------
refused=$(mktemp /tmp/shmx-full-log.XXXXXX)
scratch+=("$refused")
rc=0
timeout 30 "$shmnode" --listen "127.0.0.1:$(free_port)" --backing "$fs/big" \
	--size 16M "${locks[@]}" 2>"$refused" || rc=$?
[ "$rc" != 0 ] && [ "$rc" != 124 ] ||
	{ cat "$refused"; fail "shmnode started (or hung: $rc) with 16M of memory on an 8M file system"; }
grep -q "backing file: cannot reserve 16777216 bytes .*No space left on device" "$refused" ||
	{ cat "$refused"; fail "the refusal does not say why"; }
grep -q "signal 7" "$refused" && { cat "$refused"; fail "shmnode died of SIGBUS"; }
rm -f "$fs/big" "$fs/big.journal"

# --- the file system fills up under a running node -------------------------
mport=$(free_port)
start_node "$shmnode" "$2" --size 4M "${locks[@]}" --backing "$fs/mem" \
	--metrics ":$mport"
url=http://127.0.0.1:$mport/metrics
metric() { curl -sS --max-time 5 "$url" | awk -v k="$1" '$1 == k { print $2 }'; }
[ "$(metric shmext_journal_write_errors_total)" = 0 ] || fail "journal errors before any"
"$shmext" pool create p 2M >/dev/null
a=$("$shmext" alloc p 4K)
"$shmext" write "$a" "before the disk filled" >/dev/null
"$shmext" seg create S 64K >/dev/null
"$shmext" seg save S "$fs/S.seg" >/dev/null
saved=$(mktemp /tmp/shmx-full-seg.XXXXXX)
scratch+=("$saved")
cp "$fs/S.seg" "$saved"
rewrites=$(metric shmext_journal_rewrites_total)

dd if=/dev/zero of="$fs/filler" bs=64K 2>/dev/null || true
[ "$(df --output=avail "$fs" | tail -n 1 | tr -d ' ')" = 0 ] || fail "the file system did not fill: $(df "$fs")"
# A pool made now: the node clears its memory, never touched before.
"$shmext" pool create q 1M >/dev/null || fail "pool create failed on a full disk"
b=$("$shmext" alloc q 512K) || fail "alloc failed on a full disk"
data=$(mktemp /tmp/shmx-full-data.XXXXXX)
scratch+=("$data")
head -c 512K /dev/urandom >"$data"
"$shmext" write "$b" - <"$data" >/dev/null || fail "a write to the memory failed on a full disk"
"$shmext" read "$b" 524288 --raw | cmp - "$data" || fail "the block does not read back"
# A segment saved again: refused, and the file saved before is whole.
expect 1 "No space left on device; '$fs/S.seg' is as it was" -- seg save S "$fs/S.seg"
cmp -s "$fs/S.seg" "$saved" || fail "the saved segment file changed"
[ -z "$(ls "$fs" | grep -v '^\(mem\|mem.journal\|filler\|S.seg\)$')" ] ||
	fail "files left behind on the full disk: $(ls "$fs")"
# Lock words are stores into the lock table's part of the file.
for l in L1 L2 L3; do
	"$shmext" lock "$l" true >/dev/null || fail "lock $l failed on a full disk"
done
expect 1 "cannot map that much more memory" -- grow 1M
grep -q "cannot reserve 1048576 bytes .*No space left on device" "$log" ||
	fail "a growth on the full disk does not say why: $(cat "$log")"
kill -0 "$pid" || fail "shmnode died on a full disk: $(cat "$log")"
grep -q "error: journal $fs/mem.journal: .*would not survive a restart" "$log" ||
	fail "no journal error in the log: $(cat "$log")"
errors=$(metric shmext_journal_write_errors_total)
[ "$errors" -ge 1 ] || fail "shmext_journal_write_errors_total is $errors"
status=$("$shmnode" admin --listen "$SHMEXT_NODE" status)
grep -q "backing $fs/mem: journal .*, $errors failed" <<<"$status" ||
	fail "admin status does not count the failed writes: $status"

# --- room again: the journal is rewritten whole -----------------------------
rm -f "$fs/filler"
c=$("$shmext" alloc p 4K)
[ "$(metric shmext_journal_rewrites_total)" -gt "$rewrites" ] ||
	fail "the journal was not rewritten once there was room"
[ "$(metric shmext_journal_write_errors_total)" = "$errors" ] ||
	fail "journal errors after the disk had room"
[ "$(metric shmext_journal_bytes)" = "$(stat -c %s "$fs/mem.journal")" ] ||
	fail "shmext_journal_bytes is not the journal's size"
stop_node

start_node "$shmnode" "$2" --size 4M "${locks[@]}" --backing "$fs/mem"
out_blocks=$("$shmext" ipcs --blocks)
for x in "$a" "$b" "$c"; do
	grep -q "$x" <<<"$out_blocks" || fail "block $x is gone after the restart: $out_blocks"
done
"$shmext" read "$b" 524288 --raw | cmp - "$data" || fail "the block made on a full disk lost its data"
"$shmext" read "$a" 22 --raw | grep -q "before the disk filled" || fail "the first block lost its data"
echo "refused 16M on 8M; $errors journal write(s) failed on the full disk, node alive; rewritten after; kept across a restart"
