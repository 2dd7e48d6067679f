#!/usr/bin/env bash
# cli_stats.sh - shmext stats and shmnode's --metrics endpoint against a
# real shmnode on loopback, read with curl (a real HTTP client): the
# Prometheus text's names and types, counters that move by what shmext
# commands did (allocations, releases, an error, a segment, members that
# expire), locks held and waited for, shmext stats and its --json saying
# the same numbers as /metrics, the answers to other paths, methods and
# malformed requests, and clients that connect and say nothing (or too
# much) not stopping the node from answering anyone else.
# Usage: cli_stats.sh SHMNODE SHMEXT
set -euo pipefail
. "$(dirname "$0")/cli_lib.sh"
command -v curl >/dev/null || { echo "curl is not installed (deploy/install-deps.sh --test)"; exit 1; }

mport=$(free_port) # the endpoint's
start_node "$1" "$2" --size 16M --client-timeout 1000 --heartbeat 200 \
	--metrics ":$mport"
url=http://127.0.0.1:$mport
grep -q "metrics on http://127.0.0.1:$mport/metrics" "$log" ||
	fail "shmnode did not say where its metrics are: $(cat "$log")"

scrape() { curl -sS --max-time 5 "$url/metrics" >"$dir/metrics" || fail "curl $url/metrics failed"; }
# metric NAME[{LABELS}]: its value in the last scrape (0 when absent).
metric() {
	awk -v k="$1" '{ v = $NF; name = substr($0, 1, length($0) - length(v) - 1) }
		name == k { r = v } END { print (r == "" ? 0 : r) }' "$dir/metrics"
}
moved() { # NAME BEFORE WANT: the metric went from BEFORE up by WANT
	local now
	now=$(metric "$1")
	[ "$((now - $2))" = "$3" ] || fail "$1 moved from $2 to $now, not by $3"
}

# The answer itself: status, type, and every family with HELP and TYPE.
code=$(curl -sS --max-time 5 -o "$dir/metrics" -D "$dir/headers" -w '%{http_code}' "$url/metrics")
[ "$code" = 200 ] || fail "GET /metrics answered $code"
grep -qi '^Content-Type: text/plain; version=0.0.4' "$dir/headers" ||
	fail "GET /metrics is not text/plain; version=0.0.4: $(cat "$dir/headers")"
for name in uptime_seconds requests_total request_errors_total \
	received_messages_total received_bytes_total sent_messages_total \
	sent_bytes_total allocs_total allocated_bytes_total releases_total \
	released_bytes_total segments_created_total \
	segment_created_bytes_total members_joined_total members_left_total \
	members_expired_total members members_max pools blocks segments \
	locks_reserved lock_slots locks_held lock_holds lock_waiters \
	memory_bytes region_bytes region_free_bytes \
	region_largest_free_bytes region_free_fragments \
	region_fragmentation_ratio; do
	grep -q "^# HELP shmext_$name " "$dir/metrics" || fail "no HELP for shmext_$name"
	grep -q "^# TYPE shmext_$name \(counter\|gauge\)$" "$dir/metrics" ||
		fail "no TYPE for shmext_$name"
done
# Every line is a comment or NAME[{LABELS}] VALUE.
bad=$(grep -v -e '^# \(HELP\|TYPE\) shmext_' \
	-e '^shmext_[a-z_]*\({[a-z]*="[^"]*"\(,[a-z]*="[^"]*"\)*}\)\{0,1\} [0-9.]*$' \
	"$dir/metrics" || true)
[ -z "$bad" ] || fail "lines not in the text format: $bad"
[ "$(metric shmext_memory_bytes)" = 16777216 ] || fail "shmext_memory_bytes is not 16M"
[ "$(metric shmext_members)" = 0 ] || fail "members live before any"

# Counters move by what was done.
scrape
allocs=$(metric shmext_allocs_total)
abytes=$(metric shmext_allocated_bytes_total)
rels=$(metric shmext_releases_total)
rbytes=$(metric shmext_released_bytes_total)
ralloc=$(metric 'shmext_requests_total{op="alloc"}')
rrel=$(metric 'shmext_requests_total{op="release"}')
joined=$(metric shmext_members_joined_total)
left=$(metric shmext_members_left_total)
"$shmext" pool create p 1M >/dev/null
a=$("$shmext" alloc p 4K)
b=$("$shmext" alloc p 8K)
c=$("$shmext" alloc p 4K)
"$shmext" release "$b" >/dev/null
expect 1 "No such" -- release "$b"
"$shmext" seg create s1 64K >/dev/null
scrape
moved shmext_allocs_total "$allocs" 3
moved shmext_allocated_bytes_total "$abytes" $((16 << 10))
moved shmext_releases_total "$rels" 1
moved shmext_released_bytes_total "$rbytes" $((8 << 10))
moved 'shmext_requests_total{op="alloc"}' "$ralloc" 3
moved 'shmext_requests_total{op="release"}' "$rrel" 2
[ "$(metric 'shmext_request_errors_total{op="release",status="not found"}')" = 1 ] ||
	fail "the release of a released block is not counted as not found"
# Seven shmext runs joined and left (the scrape is no member).
moved shmext_members_joined_total "$joined" 7
moved shmext_members_left_total "$left" 7
[ "$(metric shmext_pools)" = 1 ] || fail "shmext_pools is not 1"
[ "$(metric shmext_blocks)" = 2 ] || fail "shmext_blocks is not 2"
[ "$(metric shmext_segments)" = 1 ] || fail "shmext_segments is not 1"
[ "$(metric shmext_segments_created_total)" = 1 ] || fail "no segment counted"
[ "$(metric shmext_segment_created_bytes_total)" = 65536 ] || fail "segment bytes"
free=$(metric shmext_region_free_bytes)
[ "$free" -gt 0 ] && [ "$free" -lt "$(metric shmext_region_bytes)" ] ||
	fail "region free $free of $(metric shmext_region_bytes)"

# Locks: one held, one waiting.
"$shmext" --name holder lock X --hold 3000 --lease 6000 >"$dir/holder" 2>&1 &
holder=$!
for _ in $(seq 50); do
	scrape
	[ "$(metric shmext_locks_held)" = 1 ] && break
	sleep 0.1
done
[ "$(metric shmext_locks_held)" = 1 ] || fail "no lock held"
[ "$(metric shmext_lock_holds)" = 1 ] || fail "not one hold"
[ "$(metric shmext_locks_reserved)" = 1 ] || fail "not one lock reserved"
"$shmext" --name waiter --timeout 10000 lock X -- true >"$dir/waiter" 2>&1 &
waiter=$!
for _ in $(seq 50); do
	scrape
	[ "$(metric shmext_lock_waiters)" = 1 ] && break
	sleep 0.1
done
[ "$(metric shmext_lock_waiters)" = 1 ] || fail "no lock waiter"
wait $holder || fail "the holder failed: $(cat "$dir/holder")"
wait $waiter || fail "the waiter failed: $(cat "$dir/waiter")"
scrape
[ "$(metric shmext_locks_held)" = 0 ] && [ "$(metric shmext_lock_waiters)" = 0 ] ||
	fail "locks still held or waited for"

# A member killed is expired after the client timeout.
expired=$(metric shmext_members_expired_total)
"$shmext" --name victim lock Y --hold 30000 --lease 60000 >/dev/null 2>&1 &
victim=$!
for _ in $(seq 50); do
	scrape
	[ "$(metric shmext_members)" = 1 ] && break
	sleep 0.1
done
kill -9 $victim
wait $victim 2>/dev/null || true
for _ in $(seq 50); do
	scrape
	[ "$(metric shmext_members_expired_total)" = $((expired + 1)) ] && break
	sleep 0.1
done
moved shmext_members_expired_total "$expired" 1

# shmext stats and --json say what /metrics says (nothing changes in
# between but the members and messages of these runs).
expect 0 "^objects: *1 pools, 2 blocks, 1 segments$" -- stats
cp "$out" "$dir/stats.txt"
expect 0 '"objects":{"pools":1,"blocks":2,"segments":1,' -- --json stats
python3 -m json.tool "$out" >/dev/null || fail "stats --json is not JSON"
cp "$out" "$dir/stats.json"
scrape
python3 - "$dir/stats.json" "$dir/stats.txt" "$dir/metrics" <<'EOF' || fail "stats, stats --json and /metrics disagree"
import json, re, sys
j = json.load(open(sys.argv[1]))
txt = open(sys.argv[2]).read()
prom = {}
for line in open(sys.argv[3]):
    if not line.startswith("#"):
        k, v = line.rsplit(" ", 1)
        prom[k] = float(v)
o, l, m = j["objects"], j["locks"], j["memory"]
same = {
    "shmext_pools": o["pools"], "shmext_blocks": o["blocks"],
    "shmext_segments": o["segments"], "shmext_allocs_total": o["allocs"],
    "shmext_allocated_bytes_total": o["alloc_bytes"],
    "shmext_releases_total": o["releases"],
    "shmext_released_bytes_total": o["release_bytes"],
    "shmext_segments_created_total": o["segments_created"],
    "shmext_segment_created_bytes_total": o["segment_bytes_created"],
    "shmext_members_expired_total": j["members"]["expired"],
    "shmext_locks_reserved": l["reserved"], "shmext_lock_slots": l["slots"],
    "shmext_locks_held": l["held"], "shmext_lock_waiters": l["waiters"],
    "shmext_memory_bytes": m["total"], "shmext_region_bytes": m["region"],
    "shmext_region_free_bytes": m["free"],
    "shmext_region_largest_free_bytes": m["largest_free"],
    "shmext_region_free_fragments": m["free_fragments"],
}
for r in j["requests"]:
    if r["op"] in ("alloc", "release", "seg_open", "lock_reserve"):
        same['shmext_requests_total{op="%s"}' % r["op"]] = r["requests"]
bad = [f"{k}: /metrics {prom.get(k)}, --json {v}" for k, v in same.items() if prom.get(k) != v]
if abs(prom["shmext_region_fragmentation_ratio"] - m["fragmentation"]) > 1e-6:
    bad.append("fragmentation")
errs = {e["status"]: e["count"] for e in j["errors"]}
if errs["not found"] != 1:
    bad.append("--json errors: not found %s" % errs["not found"])
# The text: the same objects, allocations, locks and requests.
want = [
    r"^objects: +%d pools, %d blocks, %d segments$" % (o["pools"], o["blocks"], o["segments"]),
    r"^allocated: +%d \(.*\); released %d \(" % (o["allocs"], o["releases"]),
    r"^locks: +%d reserved of %d slots; %d held \(%d holds\), %d waiting$"
    % (l["reserved"], l["slots"], l["held"], l["holds"], l["waiters"]),
    r"^members: .* %d expired$" % j["members"]["expired"],
    r"^fragmentation: %.6f$" % m["fragmentation"],
    r"^  alloc +%d +0$" % next(r["requests"] for r in j["requests"] if r["op"] == "alloc"),
    r"^  not found +1  ",
]
bad += ["text lacks " + w for w in want if not re.search(w, txt, re.M)]
if bad:
    print("\n".join(bad))
    sys.exit(1)
EOF

# Other paths, methods and malformed requests.
code() { curl -sS --max-time 5 -o /dev/null -w '%{http_code}' "$@"; }
[ "$(code "$url/nope")" = 404 ] || fail "/nope did not answer 404"
[ "$(code "$url/")" = 404 ] || fail "/ did not answer 404"
[ "$(code -X POST "$url/metrics")" = 405 ] || fail "POST did not answer 405"
[ "$(code -I "$url/metrics")" = 200 ] || fail "HEAD did not answer 200"
[ "$(code "$url/metrics?x=1")" = 200 ] || fail "a query string is not ignored"
raw() { # send REQUEST (printf format), print the status line
	exec 7<>"/dev/tcp/127.0.0.1/$mport"
	printf "$1" >&7
	timeout 5 head -n 1 <&7 | tr -d '\r'
	exec 7<&- 7>&-
}
[ "$(raw 'GARBAGE\r\n\r\n')" = "HTTP/1.1 400 Bad Request" ] || fail "garbage did not get 400"
[ "$(raw 'GET /metrics HTTP/2.0\r\n\r\n')" = "HTTP/1.1 400 Bad Request" ] || fail "HTTP/2.0 did not get 400"
[ "$(raw 'GET /metrics HTTP/1.0\r\nBad header\r\n\r\n')" = "HTTP/1.1 400 Bad Request" ] ||
	fail "a header without a colon did not get 400"
[ "$(raw 'GET /metrics HTTP/1.0\n\n')" = "HTTP/1.1 200 OK" ] || fail "bare LF lines are not taken"
long=$(head -c 5000 /dev/zero | tr '\0' a)
[ "$(raw "GET /metrics HTTP/1.1\r\nX: $long\r\n\r\n")" = "HTTP/1.1 431 Request Header Fields Too Large" ] ||
	fail "a 5000-byte head did not get 431"

# Clients that connect and say nothing take every slot: the node still
# answers its members at once, and /metrics once a slot is free (2 s).
for fd in 10 11 12 13 14 15 16 17 18 19; do
	eval "exec $fd<>/dev/tcp/127.0.0.1/$mport"
done
start=$(date +%s%N)
expect 0 "region" -- info
took=$((($(date +%s%N) - start) / 1000000))
[ "$took" -lt 1500 ] || fail "shmext info took $took ms with silent HTTP clients"
[ "$(code "$url/metrics")" = 200 ] || fail "/metrics did not answer with silent clients around"
# A silent client is told 408 once its time is up.
exec 9<>"/dev/tcp/127.0.0.1/$mport"
status=$(timeout 5 head -n 1 <&9 | tr -d '\r')
[ "$status" = "HTTP/1.1 408 Request Timeout" ] || fail "a silent client got '$status', not 408"
for fd in 9 10 11 12 13 14 15 16 17 18 19; do
	eval "exec $fd<&- $fd>&-"
done
expect 0 "region" -- info

# Settings: a bad address is refused, the key works in a config file.
rc=0
"$1" --metrics nohost --listen 127.0.0.1:1 >"$out" 2>&1 || rc=$?
[ $rc = 2 ] && grep -q "metrics: 'nohost' is not" "$out" || fail "--metrics nohost was taken"
stop_node
echo "PASS"
