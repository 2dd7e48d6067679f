#!/usr/bin/env bash
# rxe-setup.sh - configure soft-RoCE (rdma_rxe) on a real Linux host so that
# shmnode and the shmext tools can use the verbs transport there.  Run it on
# every host (memory node and compute nodes); tests/rxe VMs do their own.
#
# Usage: deploy/rxe-setup.sh [--netdev IF] [--name NAME] [--check] [--remove]
#                            [--no-install]
#   (no option)   install what is missing (apt-get: rdma-core ibverbs-utils
#                 ibverbs-providers rdmacm-utils perftest iproute2), load
#                 rdma_rxe ib_uverbs rdma_ucm, add an rxe link on IF (or reuse
#                 the one there), wait for PORT_ACTIVE, show the device, its
#                 GIDs (the IPv4 one is the address for shmnode --listen) and
#                 RLIMIT_MEMLOCK, and print the commands to run next.
#   --netdev IF   an Ethernet interface that is up (default: the default
#                 route's); never loopback (rxe does not bind to lo)
#   --name NAME   the rxe device name (default rxe0, or the next free rxeN)
#   --check       change nothing, only report; exit 0 if an RDMA device (NAME
#                 with --name) has an ACTIVE port, 1 otherwise
#   --remove      delete the rxe link NAME (default rxe0, or the one on IF)
#   --no-install  never run apt-get; fail if a needed tool is missing
# Root is needed to install packages, load modules and add or delete links.
# Exit status: 0 ok, 1 failure (no rdma_rxe for this kernel, not root, ...),
# 2 bad arguments.
set -euo pipefail

me=rxe-setup
ib=/sys/class/infiniband
say() { echo "$me: $*"; }
warn() { echo "$me: WARNING: $*" >&2; }
die() { echo "$me: ERROR: $*" >&2; exit 1; }
usage() { sed -n '/^# Usage:/,/^set -e/{/^#/s/^# \{0,1\}//p}' "${BASH_SOURCE[0]}"; exit "$1"; }
bad() { echo "$me: $*" >&2; echo "Try '$0 --help'." >&2; exit 2; }

netdev='' name='' mode=setup install=1 argv="$*"
gid_ip='' gid_idx='' gid_type=''
while [ $# -gt 0 ]; do
	case $1 in
	--netdev | --name) [ $# -ge 2 ] || bad "$1 needs a value"
		if [ "$1" = --netdev ]; then netdev=$2; else name=$2; fi
		shift ;;
	--netdev=*) netdev=${1#*=} ;;
	--name=*) name=${1#*=} ;;
	--check | --remove) [ "$mode" = setup ] || bad "--check and --remove exclude each other"
		mode=${1#--} ;;
	--no-install) install=0 ;;
	-h | --help) usage 0 ;;
	*) bad "unknown argument: $1" ;;
	esac
	shift
done
[ -z "$name" ] || [[ $name =~ ^[A-Za-z0-9_.-]{1,63}$ ]] || bad "bad device name: $name"
[ -z "$netdev" ] || [[ $netdev =~ ^[A-Za-z0-9_.@:-]{1,15}$ ]] || bad "bad interface name: $netdev"

# Fail unless root, naming what needed it.
need_root() { [ "$(id -u)" = 0 ] || die "must be root to $1 (run: sudo $0${argv:+ $argv})"; }

# Install the missing packages (Debian/Ubuntu), then make sure the tools exist.
install_pkgs() {
	local p t missing=() tools=()
	if command -v dpkg-query >/dev/null 2>&1; then
		for p in rdma-core ibverbs-utils ibverbs-providers rdmacm-utils perftest iproute2; do
			dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
		done
	fi
	if [ ${#missing[@]} -gt 0 ] && [ "$install" = 1 ]; then
		need_root "install ${missing[*]}"
		say "installing ${missing[*]}"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -q >/dev/null || warn "apt-get update failed; trying the install anyway"
		apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null ||
			die "apt-get install ${missing[*]} failed"
	elif [ ${#missing[@]} -gt 0 ]; then
		warn "not installed (--no-install): ${missing[*]}"
	fi
	for t in rdma ibv_devinfo modprobe ip; do
		command -v "$t" >/dev/null 2>&1 || tools+=("$t")
	done
	[ ${#tools[@]} -eq 0 ] || die "missing tools: ${tools[*]} (packages iproute2, ibverbs-utils, kmod)"
}

# Explain why rdma_rxe is missing for the running kernel, and exit 1.
no_rxe() {
	local kv os
	kv=$(uname -r)
	os=$(sed -n 's/^ID="\{0,1\}\([a-z]*\).*/\1/p' /etc/os-release 2>/dev/null) || os=''
	echo "$me: ERROR: the kernel module rdma_rxe is not available for the running kernel $kv." >&2
	case $os in
	ubuntu) echo "  Ubuntu: apt-get install linux-modules-extra-$kv, then run this again (a kernel" \
		"flavour without that package needs linux-generic and a reboot)." >&2 ;;
	debian) echo "  Debian's linux-image-* kernels include it: apt-get install linux-image-amd64" \
		"(or -arm64), reboot into it, run this again." >&2 ;;
	*) echo "  Use a kernel built with CONFIG_RDMA_RXE=m (most distribution kernels; some" \
		"cloud or minimal kernels lack it)." >&2 ;;
	esac
	[ -d "/lib/modules/$kv" ] || echo "  (/lib/modules/$kv is missing: in a container, load" \
		"rdma_rxe on the host instead.)" >&2
	exit 1
}

# Load rdma_rxe, ib_uverbs and rdma_ucm (only those not loaded yet).
load_modules() {
	local m
	[ -d /sys/module/rdma_rxe ] || modinfo rdma_rxe >/dev/null 2>&1 || no_rxe
	for m in rdma_rxe ib_uverbs rdma_ucm; do
		[ -d "/sys/module/$m" ] && continue
		need_root "load the kernel module $m"
		modprobe "$m" || die "modprobe $m failed (see: dmesg | tail)"
	done
	# rxe needs a crc32 shash ("failed to init crc32 algorithm" without it).
	[ "$(id -u)" != 0 ] || modprobe -q crc32_generic 2>/dev/null || true
}

# Choose the netdev: --netdev, else the default route's; up and Ethernet.
pick_netdev() {
	local f
	if [ -z "$netdev" ]; then
		netdev=$(ip -4 route show default 2>/dev/null |
			awk '{ for (i = 1; i < NF; i++) if ($i == "dev") { print $(i + 1); exit } }')
		[ -n "$netdev" ] || die "no IPv4 default route: give the interface with --netdev IF"
		say "netdev: $netdev (the default route's)"
	fi
	f=/sys/class/net/$netdev
	[ -d "$f" ] || die "no such interface: $netdev"
	[ "$(cat "$f/type")" != 772 ] || die "$netdev is loopback: rxe does not bind to it; give an Ethernet interface"
	[ "$(cat "$f/type")" = 1 ] || die "$netdev is not Ethernet (ARPHRD $(cat "$f/type")): RoCE needs an Ethernet interface"
	if ! (($(cat "$f/flags") & 1)) || [ "$(cat "$f/carrier" 2>/dev/null)" != 1 ]; then
		die "$netdev is down (no carrier): ip link set $netdev up, check its link, or choose another with --netdev"
	fi
	ip -4 -o addr show dev "$netdev" | grep -q inet ||
		warn "$netdev has no IPv4 address: no IPv4-mapped GID to give shmnode --listen"
}

# "NAME NETDEV" of every RDMA link; the rxe driver exposes its netdev as "parent".
links() {
	rdma link show 2>/dev/null | awk '$1 == "link" { split($2, d, "/")
		for (i = 3; i < NF; i++) if ($i == "netdev" && !seen[d[1]]++) print d[1], $(i + 1) }'
}
is_rxe() { [ -e "$ib/$1/parent" ]; }
port_state() { local s; s=$(cat "$ib/$1/ports/1/state" 2>/dev/null) || s="?"; echo "${s#*: }"; }

# Reuse the RDMA link of $netdev, else add rxe link $name (or the next free rxeN).
ensure_link() {
	local n d i=0
	while read -r n d; do
		[ "$d" = "$netdev" ] || continue
		if ! is_rxe "$n"; then
			say "$netdev already has the RDMA device $n (not rxe, a RoCE NIC?): using it, no rxe needed"
		elif [ -n "$name" ] && [ "$name" != "$n" ]; then
			warn "$netdev already has the rxe link $n: reusing it instead of adding $name"
		else
			say "reusing the rxe link $n on $netdev"
		fi
		name=$n
		return 0
	done < <(links)
	if [ -z "$name" ]; then
		name=rxe0
		while [ -e "$ib/$name" ]; do i=$((i + 1)); name=rxe$i; done
	elif [ -e "$ib/$name" ]; then
		die "the RDMA device $name already exists on another netdev: choose another --name"
	fi
	need_root "add the rxe link $name"
	say "rdma link add $name type rxe netdev $netdev"
	rdma link add "$name" type rxe netdev "$netdev" || die "rdma link add failed (see: dmesg | tail)"
}

# Wait up to 10 s for port 1 of $1 to become ACTIVE.
wait_active() {
	local i
	for i in $(seq 50); do
		[[ $(port_state "$1") == *ACTIVE* ]] && return 0
		sleep 0.2
	done
	return 1
}

# Print the non-empty GIDs of port 1 of $1; sets gid_ip/gid_idx (the IPv4 one, RoCE v2 preferred).
show_gids() {
	local dir=$ib/$1/ports/1 i gid type ip h
	echo "== GID table of $1 port 1 (index, type, GID, IPv4) =="
	for ((i = 0; ; i++)); do
		read -r gid 2>/dev/null <"$dir/gids/$i" || break
		[ "${gid//[0:]/}" != "" ] || continue
		type=$(cat "$dir/gid_attrs/types/$i" 2>/dev/null) || type='?'
		ip=''
		if [[ $gid == 0000:0000:0000:0000:0000:ffff:* ]]; then
			h=${gid:30:4}${gid:35:4}
			ip=$((16#${h:0:2})).$((16#${h:2:2})).$((16#${h:4:2})).$((16#${h:6:2}))
			if [ -z "$gid_ip" ] || { [ "$type" = "RoCE v2" ] && [ "$gid_type" != "RoCE v2" ]; }; then
				gid_ip=$ip gid_idx=$i gid_type=$type
			fi
		fi
		printf '  %-4s %-11s %s  %s\n' "$i" "$type" "$gid" "$ip"
	done
	[ -n "$gid_ip" ] || warn "no IPv4-mapped GID on $1: give its netdev an IPv4 address"
}

# Show the link, an ibv_devinfo summary and the GIDs of device $1.
show_device() {
	echo "== rdma link show $1 =="
	rdma link show "$1/1" 2>&1 || true
	echo "== ibv_devinfo -d $1 =="
	ibv_devinfo -d "$1" 2>&1 | grep -E 'hca_id|transport|fw_ver|node_guid|vendor_id|port:|state|active_mtu|link_layer' || true
	show_gids "$1"
}

# Warn when the hard RLIMIT_MEMLOCK (shmext raises the soft one to it) is below 64 MiB.
check_memlock() {
	local soft hard
	soft=$(ulimit -S -l) hard=$(ulimit -H -l)
	say "RLIMIT_MEMLOCK of this shell: soft $soft, hard $hard (KiB)"
	[ "$hard" = unlimited ] || [ "$hard" -ge 65536 ] && return 0
	warn "the locked-memory limit is below 64 MiB: verbs registrations (shmnode's region, large transfers) will fail."
	cat >&2 <<-EOF
	  Raise it for the users and services that run shmnode and shmext (root is exempt):
	    /etc/security/limits.d/shmext.conf:  * soft memlock unlimited
	                                         * hard memlock unlimited   (then log in again)
	    systemd unit:  [Service] LimitMEMLOCK=infinity      docker:  --ulimit memlock=-1
	EOF
}

# Print what to run next, with the address found in the GID table.
next_steps() {
	local a=${gid_ip:-ADDR} x=${gid_idx:-1}
	cat <<-EOF

	Next (KEY: one secret file on every host: head -c 32 /dev/urandom | base64 >KEY; chmod 600 KEY):
	  on the memory node (here ADDR = $a):
	    shmnode --transport verbs --listen $a:7470 --key-file KEY
	  on a compute node (run this script there first):
	    SHMEXT_NODE=$a:7470 SHMEXT_KEY_FILE=KEY shmext info
	  raw RDMA check between two hosts (RoCE v2 is UDP port 4791; let it through firewalls):
	    here: ib_write_lat -d $name -x $x        there: ib_write_lat -d DEV -x IDX $a
	  multi-host test suite on real machines: tests/rxe/README.md and docs/testing.md
	EOF
}

# --check: report modules, devices and limits; 0 if an ACTIVE port exists.
do_check() {
	local m d n st rc=1 found=0
	for m in rdma_rxe ib_uverbs rdma_ucm; do
		if [ -d "/sys/module/$m" ]; then say "module $m: loaded"; else say "module $m: not loaded"; fi
	done
	for d in "$ib"/*; do
		[ -e "$d" ] || continue
		n=${d##*/}
		[ -z "$name" ] || [ "$n" = "$name" ] || continue
		found=1 st=$(port_state "$n")
		say "$n: $(is_rxe "$n" && echo "rxe on $(cat "$d/parent")" || echo "not rxe"), port 1 $st"
		[[ $st != *ACTIVE* ]] || rc=0
		! command -v rdma >/dev/null || ! command -v ibv_devinfo >/dev/null || show_device "$n"
	done
	[ "$found" = 1 ] || say "no RDMA device${name:+ named $name} (run $0 to set up rxe)"
	check_memlock
	if [ "$rc" = 0 ]; then say "OK: an active RDMA port exists"; else say "no active RDMA port"; fi
	exit "$rc"
}

# --remove: delete the rxe link $name (or the one on --netdev); idempotent.
do_remove() {
	local n d
	if [ -n "$netdev" ] && [ -z "$name" ]; then
		while read -r n d; do [ "$d" != "$netdev" ] || ! is_rxe "$n" || name=$n; done < <(links)
		[ -n "$name" ] || { say "no rxe link on $netdev: nothing to remove"; exit 0; }
	fi
	name=${name:-rxe0}
	[ -e "$ib/$name" ] || { say "no RDMA device $name: nothing to remove"; exit 0; }
	is_rxe "$name" || die "$name is not an rxe link: not removing it"
	need_root "delete the rxe link $name"
	rdma link delete "$name" || die "rdma link delete $name failed"
	say "removed $name"
}

case $mode in
check) do_check ;;
remove) do_remove ;;
setup)
	install_pkgs
	load_modules
	pick_netdev
	ensure_link
	wait_active "$name" || die "port 1 of $name is not ACTIVE after 10 s ($(port_state "$name")): check the carrier of $netdev"
	show_device "$name"
	check_memlock
	next_steps ;;
esac
