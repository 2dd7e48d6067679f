#!/usr/bin/env bash
# quickstart.sh - set up and run the demo on the embedded default: install
# what is needed, build, start shmnode on loopback (libfabric tcp;ofi_rxm),
# run several compute processes that share its memory, print the results
# and stop the node.
set -euo pipefail
cd "$(dirname "$0")/.."

deploy/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSHMX_TESTS=OFF >/dev/null
cmake --build build -j"$(nproc)" >/dev/null

# A free loopback port: the default one unless something already uses it.
port=7470
while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
	port=$((port + 1))
done
node="127.0.0.1:$port"
log=$(mktemp /tmp/shmnode.XXXXXX.log)

build/node/shmnode --listen "$node" --size 64M 2>"$log" &
shmnode_pid=$!
cleanup() {
	kill "$shmnode_pid" 2>/dev/null && wait "$shmnode_pid" 2>/dev/null
	rm -f "$log"
	return 0
}
trap cleanup EXIT

export SHMEXT_NODE="$node"
for _ in $(seq 50); do
	build/compute/shmext info >/dev/null 2>&1 && break
	kill -0 $shmnode_pid 2>/dev/null || { cat "$log"; exit 1; }
	sleep 0.1
done

echo "== shmnode on $node =="
build/compute/shmext info
echo
echo "== demo: 4 compute processes share the node's memory =="
status=0
build/compute/shmext demo --workers 4 --rounds 1000 || status=$?
echo
echo "== shmnode's log =="
kill $shmnode_pid
wait $shmnode_pid 2>/dev/null || true
cat "$log"
exit $status
