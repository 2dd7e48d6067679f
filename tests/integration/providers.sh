#!/usr/bin/env bash
# providers.sh - the demo end to end over one libfabric provider: a real
# shmnode and the shmext command's worker processes, on loopback.
# Usage: providers.sh SHMNODE SHMEXT PROVIDER
set -euo pipefail
shmnode=$1 shmext=$2 prov=$3
if ! fi_info -p "$prov" -t FI_EP_RDM >/dev/null 2>&1; then
	echo "provider $prov not available here: skipped"
	exit 77
fi
port=$((20000 + RANDOM % 30000))
while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
	port=$((20000 + RANDOM % 30000))
done
export SHMEXT_NODE=127.0.0.1:$port SHMEXT_PROVIDER=$prov
log=$(mktemp /tmp/shmx-prov.XXXXXX)
"$shmnode" --listen "$SHMEXT_NODE" --size 16M --provider "$prov" 2>"$log" &
pid=$!
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -f "$log"
	return 0
}
trap cleanup EXIT
for _ in $(seq 100); do
	"$shmext" info >/dev/null 2>&1 && break
	kill -0 $pid 2>/dev/null || { cat "$log"; exit 1; }
	sleep 0.1
done
"$shmext" info | grep -q "provider $prov" || { "$shmext" info; exit 1; }
"$shmext" demo --workers 3 --rounds 300
"$shmext" pool create words 64K >/dev/null
at=$("$shmext" alloc words 64)
"$shmext" write "$at" "over $prov" >/dev/null
"$shmext" read "$at" 16 | grep -q "over $prov" || exit 1
"$shmext" release "$at"
kill $pid
wait $pid || { echo "shmnode did not shut down cleanly"; cat "$log"; exit 1; }
pid=""
echo "provider $prov: ok"
