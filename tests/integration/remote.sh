#!/usr/bin/env bash
# remote.sh - a client on another host: two network namespaces made here
# (the memory node's and a compute node's), joined by a veth pair with
# addresses that exist only inside them.  Without a key file the node
# refuses the remote client (EPERM); with one, the right key joins and runs
# the demo across the link and a wrong key is refused (EACCES).
# Needs root and iproute2; otherwise it is skipped.
# Usage: remote.sh SHMNODE SHMEXT
set -uo pipefail
shmnode=$1 shmext=$2
if [ "$(id -u)" -ne 0 ] || ! command -v ip >/dev/null; then
	echo "needs root and iproute2: skipped"
	exit 77
fi
tag=$$
nsn=shmx-node-$tag nsc=shmx-cli-$tag
net=10.$((200 + tag % 50)).$((tag / 50 % 250)) # private, inside the namespaces only
tmp=$(mktemp -d /tmp/shmx-remote.XXXXXX)
node_pid=
cleanup() {
	[ -n "$node_pid" ] && kill "$node_pid" 2>/dev/null
	wait 2>/dev/null
	ip netns del "$nsn" 2>/dev/null
	ip netns del "$nsc" 2>/dev/null
	rm -rf "$tmp"
	return 0
}
trap cleanup EXIT
if ! ip netns add "$nsn" 2>/dev/null || ! ip netns add "$nsc"; then
	echo "cannot create network namespaces here: skipped"
	exit 77
fi
set -e
ip -n "$nsn" link add veth0 type veth peer name veth1 netns "$nsc"
ip -n "$nsn" addr add "$net.1/24" dev veth0
ip -n "$nsc" addr add "$net.2/24" dev veth1
for ns in "$nsn" "$nsc"; do
	ip -n "$ns" link set lo up
done
ip -n "$nsn" link set veth0 up
ip -n "$nsc" link set veth1 up
node=$net.1:7470

start_node() {
	ip netns exec "$nsn" "$shmnode" --listen "$node" --size 16M "$@" \
		2>>"$tmp/node.log" &
	node_pid=$!
	for _ in $(seq 50); do
		grep -q "serving" "$tmp/node.log" 2>/dev/null && return 0
		sleep 0.1
	done
	cat "$tmp/node.log"
	return 1
}
stop_node() {
	kill "$node_pid"
	wait "$node_pid"
	node_pid=
}
client() { # expected-exit-status shmext-args...
	local want=$1 got=0
	shift
	ip netns exec "$nsc" env SHMEXT_NODE="$node" "$shmext" --timeout 3000 "$@" \
		>"$tmp/out" 2>&1 || got=$?
	if [ "$got" != "$want" ]; then
		echo "shmext $*: exit $got, expected $want"
		cat "$tmp/out" "$tmp/node.log"
		exit 1
	fi
}

# 1. No key: loopback clients only.
start_node
client 1 info
grep -q "not permitted" "$tmp/out"
grep -q "without a key file only loopback clients" "$tmp/node.log"
stop_node

# 2. A key: the remote client proves it and works across the link.
head -c 32 /dev/urandom | base64 >"$tmp/key"
chmod 600 "$tmp/key"
start_node --key-file "$tmp/key"
client 0 --key-file "$tmp/key" info
grep -q "authenticated: yes" "$tmp/out"
client 0 --key-file "$tmp/key" demo --workers 3 --rounds 200
grep -q PASS "$tmp/out"
head -c 32 /dev/urandom | base64 >"$tmp/wrong"
client 1 --key-file "$tmp/wrong" info
grep -q "Permission denied" "$tmp/out"
client 0 --key-file "$tmp/key" members
stop_node
echo "remote client over a veth link: ok"
