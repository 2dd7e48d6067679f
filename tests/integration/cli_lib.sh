# cli_lib.sh - sourced by the shell tests of the shmext command: a real
# shmnode on a free loopback port, a scratch directory, and the checks.
#   start_node SHMNODE SHMEXT [SHMNODE ARGS...]  start it (SHMEXT_NODE is
#       exported, $shmext set), wait until it answers; removed at exit
#   stop_node   SIGTERM it; fails when it does not shut down cleanly
#   cleanup     (at exit) stop it, remove the scratch files, then call the
#       script's on_cleanup when it defines one; a script that has work to
#       undo before start_node sets `trap cleanup EXIT` itself
#   expect STATUS TEXT -- ARGS...  shmext ARGS exits STATUS and says TEXT
#   fail MESSAGE  report (with the last output) and exit 1
#   free_port   print a loopback port nothing listens on
# $out holds the last output of expect; $dir is a scratch directory.

scratch=()
free_port() {
	local p=$((20000 + RANDOM % 30000))
	while (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do
		p=$((20000 + RANDOM % 30000))
	done
	echo "$p"
}

start_node() {
	local shmnode=$1
	shmext=$2
	shift 2
	export SHMEXT_NODE=127.0.0.1:$(free_port)
	log=$(mktemp /tmp/shmx-cli.XXXXXX)
	out=$(mktemp /tmp/shmx-cli-out.XXXXXX)
	dir=$(mktemp -d /tmp/shmx-cli-dir.XXXXXX)
	scratch+=("$log" "$out" "$dir") # every start's, removed at exit
	"$shmnode" --listen "$SHMEXT_NODE" "$@" 2>"$log" &
	pid=$!
	trap cleanup EXIT
	for _ in $(seq 100); do
		"$shmext" info >/dev/null 2>&1 && return 0
		kill -0 $pid 2>/dev/null || { cat "$log"; exit 1; }
		sleep 0.1
	done
}

cleanup() {
	[ -n "${pid:-}" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "${scratch[@]}"
	if declare -F on_cleanup >/dev/null; then on_cleanup; fi
	return 0
}

stop_node() {
	kill $pid
	wait $pid || { echo "shmnode did not shut down cleanly"; cat "$log"; exit 1; }
	pid=""
}

fail() { echo "FAIL: $*"; cat "$out"; exit 1; }

expect() {
	local want=$1 text=$2 rc=0
	shift 3
	"$shmext" "$@" >"$out" 2>&1 || rc=$?
	[ "$rc" = "$want" ] || fail "shmext $* exited $rc, not $want"
	grep -q -- "$text" "$out" || fail "shmext $* did not say '$text'"
}
