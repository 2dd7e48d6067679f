#!/usr/bin/env bash
# cluster.sh - boot a small star of qemu VMs joined by soft-RoCE (rxe) and run
# one script in each, then collect the results.
#
# Topology (N VMs, default 3): "node" (the memory node) has N-1 NICs, bridged
# inside the guest into br0 = 10.77.1.1/24 with rxe0 on br0; compute VM ci
# has one NIC, eth0 = 10.77.1.(i+1)/24 with rxe0, linked to the node's NIC i-1
# by a qemu -netdev socket on 127.0.0.1.  So every VM is on one subnet and
# compute VMs reach each other through the node's bridge:
#   c1 10.77.1.2 --+
#   c2 10.77.1.3 --+-- node 10.77.1.1 (br0, rxe0)
# With N=1 the node gets one unconnected NIC (10.77.1.1 on eth0, rxe0).
# Guest traffic never leaves qemu: the host only sees 127.0.0.1 sockets.
#
# Each guest chroots into the host's root (9p, read-only), so scripts and
# binaries are given by their host paths; /tmp and /run are private tmpfs in
# the guests, so scripts must not live there.  In the script, $SHMX_NAME is
# the VM name, $SHMX_OUT (/run/shmx/out) its writable results directory
# (OUTDIR/NAME on the host), $SHMX_IP its address, $SHMX_NODE_IP the
# memory node's (10.77.1.1).
#
# Usage: cluster.sh [options]
#   -s, --script NAME=PATH  script for VM NAME (node, c1, c2, ...); VMs
#                           without one boot, record their setup, power off
#   -n, --vms N             number of VMs (default 3)
#   -t, --timeout SECONDS   overall timeout (default 600); guests' watchdogs
#                           fire a little earlier
#   -o, --out DIR           results (default WORKDIR/runs/YYYYmmdd-HHMMSS)
#   -w, --workdir DIR       setup.sh's cache (default build-rxe/ in the repo)
#   -m, --mem MIB           memory per VM (default 1024)
#   -c, --cpus N            vCPUs per VM (default 1)
#   -a, --append ARGS       extra guest kernel command line arguments
#   -e, --env FILE          a file of VAR=value lines that scripts find as
#                           $SHMX_ENV
#   -x, --share DIR         show host directory DIR (read-only) at the same
#                           path in the guests; needed for what lives under
#                           /tmp or /run, which the guests have of their own
#                           (the scripts' and env file's directories are
#                           shared so automatically)
#   -l, --link tcp|udp      how qemu carries a link (default udp): udp =
#                           -netdev socket,udp=127.0.0.1:P,localaddr=127.0.0.1:Q
#                           (two ports per link); tcp = listen=/connect=
#                           (one port per link; measured here: ~22 ms per
#                           two-sided round trip, ib_send_lat/ib_write_lat,
#                           vs ~0.5 ms over udp - most likely Nagle on the
#                           stream, the accepted socket has no TCP_NODELAY)
#   -p, --port-base PORT    first 127.0.0.1 port (default: a free random one)
#   -q, --quiet             print only the summary, not the logs
#   -E, --event-idx         NICs with the virtio event index (qemu's
#                           default; off otherwise: see start_vm), to
#                           reproduce the transmit stall it brings
# Environment: SHMX_RXE_QEMU (the qemu binary, default qemu-system-x86_64).
# Exit: 0 if every VM ran its script with status 0; 1 if any script failed,
# a VM timed out or did not report; 75 if a VM's network stalled (a qemu
# fault: the run was ended early, worth running again); 77 (skip) if qemu
# cannot run here; 2 on usage errors.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)

usage() {
	sed -n '/^# Usage:/,/^# 2 on usage/s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
	exit 2
}

shares=()
nvms=3 timeout=600 out='' work=$repo/build-rxe mem=1024 cpus=1 extra='' link=udp port_base='' quiet=0 envfile='' eidx=off
declare -A script=()
while [ $# -gt 0 ]; do
	case $1 in
	-q | --quiet | -h | --help | -E | --event-idx) ;;
	*) [ $# -ge 2 ] || { echo "cluster: $1 needs a value" >&2; exit 2; } ;;
	esac
	case $1 in
	-s | --script) script[${2%%=*}]=${2#*=}; shift 2 ;;
	-n | --vms) nvms=$2; shift 2 ;;
	-t | --timeout) timeout=$2; shift 2 ;;
	-o | --out) out=$2; shift 2 ;;
	-w | --workdir) work=$2; shift 2 ;;
	-m | --mem) mem=$2; shift 2 ;;
	-c | --cpus) cpus=$2; shift 2 ;;
	-a | --append) extra=$2; shift 2 ;;
	-x | --share) shares+=("$(realpath -e "$2")") || { echo "cluster: no such directory: $2" >&2; exit 2; }; shift 2 ;;
	-e | --env) envfile=$(realpath -e "$2") || { echo "cluster: no such file: $2" >&2; exit 2; }; shift 2 ;;
	-l | --link) link=$2; shift 2 ;;
	-p | --port-base) port_base=$2; shift 2 ;;
	-q | --quiet) quiet=1; shift ;;
	-E | --event-idx) eidx=on; shift ;;
	-h | --help) usage ;;
	*) echo "cluster: unknown argument $1" >&2; usage ;;
	esac
done
if ! [[ $nvms =~ ^[1-9][0-9]?$ ]]; then echo "cluster: bad --vms $nvms" >&2; exit 2; fi
case $link in tcp | udp) ;; *) echo "cluster: --link must be tcp or udp" >&2; exit 2 ;; esac
if ! [[ $timeout =~ ^[0-9]+$ ]] || [ "$timeout" -lt 30 ]; then echo "cluster: --timeout must be >= 30" >&2; exit 2; fi
for v in "$mem" "$cpus"; do
	[[ $v =~ ^[1-9][0-9]*$ ]] || { echo "cluster: bad --mem/--cpus $v" >&2; exit 2; }
done

names=(node)
for ((i = 1; i < nvms; i++)); do names+=("c$i"); done
for n in "${!script[@]}"; do
	ok=0
	for v in "${names[@]}"; do [ "$v" = "$n" ] && ok=1; done
	[ $ok = 1 ] || { echo "cluster: no VM named '$n' (VMs: ${names[*]})" >&2; exit 2; }
	p=$(realpath -e "${script[$n]}" 2>/dev/null) || { echo "cluster: no such script: ${script[$n]}" >&2; exit 2; }
	case $p in
	/proc/* | /sys/* | /dev/*)
		echo "cluster: $p: /proc, /sys, /dev are the guests' own; put the script elsewhere" >&2
		exit 2
		;;
	esac
	shares+=("$(dirname "$p")")
	case $p in *[[:space:]]*) echo "cluster: script path with spaces: $p" >&2; exit 2 ;; esac
	script[$n]=$p
done

# The guests have /tmp and /run of their own: show them the host's
# directories there that they need, at the same paths, read-only.
[ -z "$envfile" ] || shares+=("$(dirname "$envfile")")
share_args=() share_words=''
if [ ${#shares[@]} -gt 0 ]; then
	mapfile -t shares < <(printf '%s\n' "${shares[@]}" | awk '{ print length($0) " " $0 }' | sort -u | sort -n -s -k1,1 | cut -d' ' -f2-)
fi
i=0
for d in "${shares[@]}"; do
	case $d in /tmp/* | /tmp | /run/* | /run) ;; *) continue ;; esac
	case $d in *[[:space:],]*) echo "cluster: cannot share a path with spaces or commas: $d" >&2; exit 2 ;; esac
	share_args+=(-fsdev "local,path=$d,security_model=none,id=x$i,readonly=on,multidevs=remap"
		-device "virtio-9p-pci,fsdev=x$i,mount_tag=x$i")
	share_words+=" shmx.share=$d"
	i=$((i + 1))
done

# setup.sh is idempotent and cached; it exits 77 if qemu cannot be had.
rc=0
SHMX_RXE_QUIET=1 "$here/setup.sh" "$work" || rc=$?
[ $rc = 0 ] || exit $rc
work=$(cd "$work" && pwd)
qemu=$(command -v "${SHMX_RXE_QEMU:-qemu-system-x86_64}") || { echo "cluster: SKIP: no qemu-system-x86_64" >&2; exit 77; }
kernel=$work/vmlinuz initrd=$work/initramfs.cpio.gz

[ -n "$out" ] || out=$work/runs/$(date +%Y%m%d-%H%M%S)
mkdir -p "$out"
out=$(cd "$out" && pwd)
case $out in *[[:space:],]*) echo "cluster: results path with spaces or commas: $out" >&2; exit 2 ;; esac

# Ports: a free range on 127.0.0.1, one (tcp) or two (udp) per link; there
# are nvms-1 links (with one VM, the node still gets one NIC).
nlinks=$((nvms > 1 ? nvms - 1 : 1))
if [ "$link" = udp ]; then nports=$((2 * nlinks)); else nports=$nlinks; fi
port_used() { # port in use (any state) according to /proc/net/{tcp,udp}{,6}?
	local hex
	hex=$(printf ':%04X ' "$1")
	grep -q "$hex" /proc/net/tcp /proc/net/tcp6 /proc/net/udp /proc/net/udp6 2>/dev/null
}
port_listening() {
	local hex
	hex=$(printf ':%04X 00000000:0000 0A' "$1")
	grep -q "$hex" /proc/net/tcp 2>/dev/null
}
if [ -z "$port_base" ]; then
	for _ in $(seq 50); do
		port_base=$((30000 + RANDOM % 30000))
		free=1
		for ((i = 0; i < nports; i++)); do port_used $((port_base + i)) && free=0; done
		[ $free = 1 ] && break
	done
fi

# qemu's socket netdevs use the host's default socket buffers (208 KiB):
# a burst of rxe packets (a 1 MiB RDMA READ is 1024 of them) overflows the
# receiver's, and every loss costs a retransmission timeout (measured: 1 MiB
# reads at 1.4 MB/s, 37 MB/s with 16 MiB buffers).  On loopback a datagram
# is charged to its sender until the receiver reads it, so the send buffer
# must be as large, or a sender whose peer lags stays unwritable (its
# virtio queue stalled: "NETDEV WATCHDOG ... transmit queue timed out" in
# the guest).  Raise both for the run, if we may.  16 MiB still stalled a
# VM in about half of the full scenario runs of 2026-11-26 (bursts of
# 1 MiB sends, 8 MiB of transfers in flight, a VM that lags under TCG);
# 64 MiB gives a lagging peer four times the room.
mem_saved=
raise_rmem() {
	local want=67108864 k d m saved=''
	for k in rmem wmem; do
		d=$(sysctl -n net.core.${k}_default 2>/dev/null) || return 0
		m=$(sysctl -n net.core.${k}_max 2>/dev/null) || return 0
		saved+="net.core.${k}_default=$d net.core.${k}_max=$m "
		[ "$d" -lt $want ] || continue
		if sysctl -q -w net.core.${k}_default=$want net.core.${k}_max=$((m > want ? m : want)) 2>/dev/null; then
			echo "cluster: net.core.${k}_default $d -> $want for the run"
		else
			echo "cluster: cannot raise net.core.${k}_default ($d): expect packet loss on large transfers" >&2
		fi
	done
	mem_saved=$saved
}
restore_rmem() {
	[ -n "$mem_saved" ] || return 0
	# shellcheck disable=SC2086 # one argument per setting
	sysctl -q -w $mem_saved 2>/dev/null || true
	mem_saved=
}

declare -A pid=() qrc=() started=()
# shellcheck disable=SC2317 # (called from the trap)
cleanup() {
	local p
	for p in "${pid[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${pid[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	restore_rmem
	return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The guest watchdog fires before the host gives up, so that scripts that hang
# still leave their logs and an rc (124) behind.
guest_timeout=$((timeout - 15))

netdev() { # node|client LINK -> the -netdev argument (id n<LINK> / n0)
	local side=$1 i=$2 np nc
	if [ "$link" = tcp ]; then
		np=$((port_base + i))
		if [ "$side" = node ]; then echo "socket,id=n$i,listen=127.0.0.1:$np"; else echo "socket,id=n0,connect=127.0.0.1:$np"; fi
	else
		np=$((port_base + 2 * i)) nc=$((port_base + 2 * i + 1))
		if [ "$side" = node ]; then
			echo "socket,id=n$i,udp=127.0.0.1:$nc,localaddr=127.0.0.1:$np"
		else
			echo "socket,id=n0,udp=127.0.0.1:$np,localaddr=127.0.0.1:$nc"
		fi
	fi
}

# The NICs run without VIRTIO_RING_F_EVENT_IDX (event_idx=off).  With it,
# a guest whose one vCPU is kept busy (spinning pollers: shmnode, the
# tests) loses a transmit notification under TCG now and then, and its NIC
# stops transmitting for good ("NETDEV WATCHDOG ... transmit queue 0 timed
# out").  Measured on 2026-11-27 with 3 VMs, each spinning a loop beside
# bidirectional ib_write_bw: 9 runs of 13 stalled with it, none of 10
# without (tests/rxe/README.md; nicstress-guest.sh reproduces it).
start_vm() { # NAME INDEX
	local n=$1 idx=$2 ips='' args=() i mac
	rm -rf "${out:?}/$n"
	mkdir -p "$out/$n"
	if [ "$n" = node ]; then
		for ((i = 0; i < nlinks; i++)); do
			mac=$(printf '52:54:00:77:%02x:%02x' "$idx" "$i")
			args+=(-netdev "$(netdev node "$i")"
				-device "virtio-net-pci,netdev=n$i,mac=$mac,romfile=,event_idx=$eidx")
		done
		ips=10.77.1.1/24
	else
		i=$((idx - 1))
		mac=$(printf '52:54:00:77:%02x:00' "$idx")
		args+=(-netdev "$(netdev client "$i")"
			-device "virtio-net-pci,netdev=n0,mac=$mac,romfile=,event_idx=$eidx")
		ips=10.77.1.$((idx + 1))/24
	fi
	local append="console=ttyS0 panic=-1 quiet shmx.name=$n shmx.ip=$ips shmx.timeout=$guest_timeout"
	[ -z "${script[$n]:-}" ] || append+=" shmx.run=${script[$n]}"
	[ -z "$envfile" ] || append+=" shmx.env=$envfile"
	append+=$share_words
	# The node bridges the compute VMs: it stays up until they are done.
	[ "$n" != node ] || [ "$nvms" -lt 2 ] || append+=" shmx.hold=1"
	[ -z "$extra" ] || append+=" $extra"
	"$qemu" -name "shmx-rxe-$n" -M pc -accel tcg,thread=multi -cpu max -smp "$cpus" -m "$mem" \
		-nodefaults -no-user-config -display none -monitor none -no-reboot \
		-kernel "$kernel" -initrd "$initrd" -append "$append" \
		-serial "file:$out/$n.console.log" \
		-fsdev local,path=/,security_model=none,id=root,readonly=on,multidevs=remap \
		-device virtio-9p-pci,fsdev=root,mount_tag=root \
		-fsdev "local,path=$out/$n,security_model=none,id=out,multidevs=remap" \
		-device virtio-9p-pci,fsdev=out,mount_tag=out \
		"${share_args[@]}" \
		"${args[@]}" </dev/null >"$out/$n.qemu.log" 2>&1 &
	pid[$n]=$!
	started[$n]=$SECONDS
	echo "cluster: started $n (pid ${pid[$n]}) ips=$ips${script[$n]:+ script=${script[$n]}}"
}

t0=$SECONDS
deadline=$((SECONDS + timeout))
echo "cluster: $nvms VM(s), links over $link 127.0.0.1:$port_base..$((port_base + nports - 1)), results in $out"
raise_rmem
start_vm node 0
# tcp: the compute VMs connect to the node's sockets: wait until qemu listens.
if [ "$link" = tcp ] && [ "$nvms" -gt 1 ]; then
	for ((i = 0; i < nlinks; i++)); do
		until port_listening $((port_base + i)); do
			if ! kill -0 "${pid[node]}" 2>/dev/null || [ $SECONDS -ge $((t0 + 30)) ]; then
				echo "cluster: node's qemu did not come up:" >&2
				cat "$out/node.qemu.log" >&2
				exit 1
			fi
			sleep 0.1
		done
	done
fi
for ((i = 1; i < nvms; i++)); do start_vm "c$i" "$i"; done

# Kill every VM still running, and record it as killed.
kill_running() {
	local n
	for n in "${names[@]}"; do
		[ -n "${qrc[$n]:-}" ] && continue
		kill "${pid[$n]}" 2>/dev/null || true
		wait "${pid[$n]}" 2>/dev/null || true
		qrc[$n]=killed
		took[$n]=$((SECONDS - ${started[$n]}))
		unset "pid[$n]"
	done
}

# Wait for all of them to power off, up to the deadline.
declare -A took=()
timed_out=0 stalled=
while :; do
	running=0
	for n in "${names[@]}"; do
		[ -z "${qrc[$n]:-}" ] || continue
		if kill -0 "${pid[$n]}" 2>/dev/null; then
			running=$((running + 1))
		else
			r=0
			wait "${pid[$n]}" || r=$?
			qrc[$n]=$r
			took[$n]=$((SECONDS - ${started[$n]}))
			unset "pid[$n]"
		fi
	done
	[ $running -gt 0 ] || break
	# Every compute VM is down: let the node (which holds the bridge) go.
	if [ -n "${pid[node]:-}" ] && [ "$running" = 1 ] && [ ! -e "$out/node/release" ]; then
		: >"$out/node/release"
	fi
	# A VM whose virtio NIC stopped transmitting never recovers (a qemu
	# fault seen under TCG: "NETDEV WATCHDOG ... transmit queue 0 timed
	# out" on its console, every peer unreachable): end the run now and
	# say so, rather than let every script run into its timeout.
	if [ -z "$stalled" ] && stalled=$(grep -l 'NETDEV WATCHDOG' "$out"/*.console.log 2>/dev/null | head -1) && [ -n "$stalled" ]; then
		stalled=$(basename "$stalled" .console.log)
		echo "cluster: STALLED: the network of VM $stalled stopped (virtio transmit queue timed out: a qemu fault); ending the run" >&2
		kill_running
		break
	fi
	if [ $SECONDS -ge $deadline ]; then
		timed_out=1
		echo "cluster: TIMEOUT after ${timeout}s, killing the VMs still running" >&2
		kill_running
		break
	fi
	sleep 0.5
done
total=$((SECONDS - t0))

# Report.
status=0
summary=()
for n in "${names[@]}"; do
	d=$out/$n
	rcv=$(cat "$d/rc" 2>/dev/null || true)
	if [ "${qrc[$n]}" = killed ] && [ -n "$stalled" ]; then
		st="STOPPED (the network of VM $stalled stalled)"
		status=1
	elif [ "${qrc[$n]}" = killed ]; then
		st="TIMEOUT (killed by the host after ${timeout}s)"
		status=1
	elif [ -z "$rcv" ]; then
		st="NO RESULT (qemu exit ${qrc[$n]}; see $n.console.log)"
		status=1
	elif [ "$rcv" = 124 ] && grep -q '^watchdog' "$d/init.log" 2>/dev/null; then
		st="TIMEOUT (guest watchdog after ${guest_timeout}s)"
		status=1
	elif [ "$rcv" = 0 ]; then
		st=ok
	else
		st="FAILED (rc $rcv)"
		status=1
	fi
	summary+=("$(printf '%-5s %4ss  %s' "$n" "${took[$n]}" "$st")")
	if [ $quiet = 0 ] || [ "$st" != ok ]; then
		echo "=================== $n: $st"
		[ -f "$d/init.log" ] && sed 's/^/[init] /' "$d/init.log"
		if [ -f "$d/script.log" ]; then
			sed 's/^/  /' "$d/script.log"
		elif [ "$st" != ok ]; then
			echo "--- last lines of $n.console.log:"
			tail -n 30 "$out/$n.console.log" 2>/dev/null || true
			cat "$out/$n.qemu.log" 2>/dev/null || true
		fi
	fi
done
echo "=================== summary (wall ${total}s, results in $out)"
printf '%s\n' "${summary[@]}"
[ $timed_out = 0 ] || status=1
[ -z "$stalled" ] || exit 75
exit $status
