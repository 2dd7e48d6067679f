#!/usr/bin/env bash
# cli_segments.sh - the shmext command's named-segment commands (seg create,
# stat, rm, save, load) and ipcs against a real shmnode on loopback: what
# they print, --json, and the exit status and message of each refusal.
# shmext read and write reach only what this process has attached, and a
# shmext run attaches nothing, so segment contents are made as files in the
# format of docs/segfile.md and checked by saving the segment again.
# Usage: cli_segments.sh SHMNODE SHMEXT
set -euo pipefail
. "$(dirname "$0")/cli_lib.sh"
start_node "$1" "$2" --size 16M --client-timeout 1000 --heartbeat 200

# The @2 bytes at offset @1 of the file @3, replaced by the hex digits @4.
patch_hex() {
	printf "$(sed 's/../\\x&/g' <<<"$4")" |
		dd of="$3" bs=1 seek="$1" count="$2" conv=notrunc status=none
}

# seg_file SRC DST TEXT: a copy of the segment file SRC whose content
# starts with TEXT, its checksums made right again (docs/segfile.md).
seg_file() {
	local src=$1 dst=$2 sum
	cp "$src" "$dst"
	printf '%s' "$3" | dd of="$dst" bs=1 seek=256 conv=notrunc status=none
	sum=$(tail -c +257 "$dst" | sha256sum | cut -c1-64)
	patch_hex 112 32 "$dst" "$sum"
	patch_hex 144 32 "$dst" "$(printf '%064d' 0)"
	sum=$(head -c 256 "$dst" | sha256sum | cut -c1-64)
	patch_hex 144 32 "$dst" "$sum"
}

# content FILE: the content bytes of a segment file, as text.
content() { tail -c +257 "$1" | tr -d '\0'; }

# create, stat, and their refusals
expect 0 "created segment 's1': 64 KiB (65536 bytes) at 0x" -- \
	seg create s1 64K
expect 1 "Already exists" -- seg create s1 64K
expect 0 "mode 0640" -- seg create s2 100 --mode 640
expect 0 '"size":104' -- --json seg stat s2
expect 0 '"perms":"rw-r-----"' -- --json seg stat s2
expect 2 "is not permission bits" -- seg create s3 1K --mode 999
expect 2 "at least 1 byte" -- seg create s3 0
expect 2 "is not a segment name" -- seg create "" 1K
expect 2 "--mode does not apply to seg stat" -- seg stat s1 --mode 600
expect 2 "needs an action" -- seg
expect 2 "unknown action 'frob'" -- seg frob
# A usage error under --json is JSON too.
expect 2 '"name":"EINVAL","message":"seg: unknown action' -- --json seg frob
expect 0 "mode:           0600 (rw-------)" -- seg stat s1
expect 0 "removed:        no" -- seg stat s1
expect 0 "last change:    [0-9]" -- seg stat s1
expect 1 "No such" -- seg stat nosuch
expect 1 '"name":"ENOENT"' -- --json seg stat nosuch

# ipcs: pools, blocks, segments, members
expect 0 "" -- pool create p1 1M
a=$("$shmext" alloc p1 100)
expect 0 "Segments: 2" -- ipcs
expect 0 "rw-r-----" -- ipcs
expect 0 "Blocks: 1 (--blocks lists them)" -- ipcs
expect 0 "^ *$a " -- ipcs --blocks
expect 0 '"segments":\[{"id":1,"name":"s1"' -- --json ipcs
expect 0 '"blocks":\[{"start":'$((a)) -- --json ipcs
expect 0 '"members":\[{' -- --json ipcs
expect 2 "--blocks does not apply to seg stat" -- seg stat s1 --blocks
expect 0 "" -- release "$a"
expect 0 "" -- pool destroy p1

# save: a file of the header and the content, mode 0600; no bar off a tty
"$shmext" seg save s1 "$dir/zero.seg" >"$out" 2>"$dir/err" ||
	fail "seg save exited $?"
grep -q "saved segment 's1' to '$dir/zero.seg': 64 KiB (65536 bytes) in .* MB/s" \
	"$out" || fail "seg save said: $(cat "$out")"
[ ! -s "$dir/err" ] || fail "seg save wrote to stderr: $(cat "$dir/err")"
[ "$(stat -c %s "$dir/zero.seg")" = $((256 + 65536)) ] ||
	fail "the file has $(stat -c %s "$dir/zero.seg") bytes"
[ "$(stat -c %a "$dir/zero.seg")" = 600 ] || fail "the file is not 0600"
expect 0 '"saved":true,"bytes":65536' -- --json seg save s1 "$dir/z2.seg"
expect 1 "does not exist" -- seg save s1 "$dir/nosuch/x.seg"
[ ! -e "$dir/nosuch" ] || fail "save made a directory"

# load writes the file's bytes; saving again gives them back
seg_file "$dir/zero.seg" "$dir/a.seg" "pattern A: the saved bytes"
seg_file "$dir/zero.seg" "$dir/b.seg" "pattern B: other bytes"
expect 0 "loaded segment 's1' from '$dir/a.seg': 64 KiB" -- \
	seg load s1 "$dir/a.seg"
expect 0 "" -- seg save s1 "$dir/a2.seg"
cmp -s <(tail -c +257 "$dir/a.seg") <(tail -c +257 "$dir/a2.seg") ||
	fail "the segment does not hold what was loaded"
expect 0 '"loaded":true' -- --json seg load s1 "$dir/b.seg"
expect 0 "" -- seg save s1 "$dir/b2.seg"
[ "$(content "$dir/b2.seg")" = "pattern B: other bytes" ] ||
	fail "after loading b.seg the segment holds '$(content "$dir/b2.seg")'"
expect 0 "" -- seg load s1 "$dir/a2.seg"
expect 0 "" -- seg save s1 "$dir/a3.seg"
[ "$(content "$dir/a3.seg")" = "pattern A: the saved bytes" ] ||
	fail "loading a2.seg gave '$(content "$dir/a3.seg")'"

# refused files change nothing: damaged, truncated, another size, not one
cp "$dir/b2.seg" "$dir/bad.seg"
patch_hex 1000 1 "$dir/bad.seg" 5a
expect 1 "the file is damaged" -- seg load s1 "$dir/bad.seg"
expect 1 '"name":"EBADMSG"' -- --json seg load s1 "$dir/bad.seg"
cp "$dir/b2.seg" "$dir/badhdr.seg"
patch_hex 30 1 "$dir/badhdr.seg" 5a
expect 1 "the file is damaged" -- seg load s1 "$dir/badhdr.seg"
head -c 4096 "$dir/b2.seg" >"$dir/short.seg"
expect 1 "the file is damaged" -- seg load s1 "$dir/short.seg"
expect 1 '"name":"EMSGSIZE"' -- --json seg load s2 "$dir/a.seg"
echo "not a segment" >"$dir/text"
expect 1 "not a segment file" -- seg load s1 "$dir/text"
expect 1 "there is no file" -- seg load s1 "$dir/missing.seg"
expect 0 "" -- seg save s1 "$dir/a4.seg"
[ "$(content "$dir/a4.seg")" = "pattern A: the saved bytes" ] ||
	fail "a refused load changed the segment"

# rm: the name goes at once
expect 0 "removed segment 's1'" -- seg rm s1
expect 1 "No such" -- seg rm s1
expect 1 "No such" -- seg load s1 "$dir/a.seg"
expect 0 '"removed":true' -- --json seg rm s2
expect 0 "Segments: 0" -- ipcs

stop_node
echo "cli segment commands: ok"
