#!/bin/sh
# guest-init.sh - /init (PID 1) of the rxe test VMs; busybox sh, packed into
# the initramfs by setup.sh.  It loads the modules listed in
# /lib/modules/order, mounts the results share (9p tag "out", writable) on
# /out and the host's root (9p tag "root", read-only) on /newroot, configures
# one address shmx.ip=ADDR/LEN on eth0 (or on a bridge br0 over all NICs
# when there are several), adds rxe0 on that interface, records
# uname/ibv_devinfo/versions in /out, then runs shmx.run=SCRIPT chrooted into
# the host root with /out visible as $SHMX_OUT (/run/shmx/out).  It always
# powers off at the end (the memory node, given shmx.hold=1, only once the
# host writes release into its results share), and a watchdog (shmx.timeout=SECONDS, default 600)
# powers off a guest whose script hangs.
# Files in the results share: init.log, uname.txt, ibv_devinfo.txt,
# versions.txt, rdma-link.txt, script.log, rc (script exit status; 124 on
# watchdog, with watchdog-ps.txt and watchdog-dmesg.txt beside it; 125/126
# when the guest could not be set up), done.
# Not `set -e`: PID 1 must reach poweroff whatever fails.
# shellcheck disable=SC3040,SC3045 # busybox ash has pipefail and ulimit -l
export PATH=/bin:/sbin
umask 022

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
exec </dev/null >/dev/console 2>&1

name=guest run='' ips='' timeout=600 hold=0 envfile='' shares=
# shellcheck disable=SC2013 # words, indeed
for w in $(cat /proc/cmdline); do
	case $w in
	shmx.name=*) name=${w#shmx.name=} ;;
	shmx.run=*) run=${w#shmx.run=} ;;
	shmx.ip=*) ips=${w#shmx.ip=} ;;
	shmx.timeout=*) timeout=${w#shmx.timeout=} ;;
	shmx.hold=*) hold=${w#shmx.hold=} ;;
	shmx.env=*) envfile=${w#shmx.env=} ;;
	shmx.share=*) shares="$shares ${w#shmx.share=}" ;;
	esac
done

# busybox-static has no mountpoint(1).
mounted() { grep -q "^[^ ]* $1 " /proc/mounts; }

off() {
	sync
	umount /newroot/run/shmx/out 2>/dev/null
	umount /out 2>/dev/null
	echo "shmx-init[$name]: poweroff"
	poweroff -f
	sleep 10
	exit 1 # init exiting panics the kernel; with panic=-1 and -no-reboot qemu exits too
}

# Watchdog: whatever hangs, the VM goes down after $timeout seconds.
(
	sleep "$timeout"
	echo "shmx-init[$name]: WATCHDOG after ${timeout}s" >/dev/console
	if mounted /out; then
		echo "watchdog after ${timeout}s" >>/out/init.log
		# What was running and what the kernel said, for the post-mortem.
		ps >/out/watchdog-ps.txt 2>&1
		dmesg >/out/watchdog-dmesg.txt 2>&1
		echo 124 >/out/rc
		: >/out/done
	fi
	sync
	poweroff -f
) &

log() { echo "shmx-init[$name]: $*"; [ -w /out ] && echo "$*" >>/out/init.log; }
fatal() {
	log "FATAL: $2"
	mounted /out && echo "$1" >/out/rc && : >/out/done
	off
}

t0=$(cut -d' ' -f1 /proc/uptime)
# shellcheck disable=SC2013
for m in $(cat /lib/modules/order); do
	insmod "/lib/modules/$m" || echo "shmx-init[$name]: insmod $m failed"
done

mkdir -p /out
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144,cache=none out /out ||
	fatal 125 "cannot mount the results share"
: >/out/init.log
rm -f /out/rc /out/done
log "modules loaded at ${t0}s..$(cut -d' ' -f1 /proc/uptime)s"

mount -t 9p -o ro,trans=virtio,version=9p2000.L,msize=262144,cache=loose root /newroot ||
	fatal 125 "cannot mount the host root"
mount --bind /proc /newroot/proc
mount --bind /sys /newroot/sys
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -o rbind /dev /newroot/dev
mount -t tmpfs -o mode=1777 tmpfs /newroot/tmp
mount -t tmpfs -o mode=755 tmpfs /newroot/run
mkdir -p /newroot/run/shmx/out /newroot/run/shmx/bin
mount --bind /out /newroot/run/shmx/out
# Host directories under /tmp or /run, shown at their own paths (9p tags
# x0, x1, ... in the order given, shortest path first).
i=0
for d in $shares; do
	mkdir -p "/newroot$d"
	mount -t 9p -o ro,trans=virtio,version=9p2000.L,msize=262144,cache=loose "x$i" "/newroot$d" ||
		fatal 125 "cannot mount the host's $d"
	i=$((i + 1))
done
# busybox in the chroot, last on PATH, for tools the host lacks (ping, ...).
cp /bin/busybox /newroot/run/shmx/bin/busybox
for a in ping ping6 arping nc traceroute ifconfig route; do
	ln -s busybox "/newroot/run/shmx/bin/$a"
done

hostname "$name"
ip link set lo up
# One address on one interface: eth0, or with several NICs (the memory node
# of a star) the bridge br0 over all of them, so that every VM is on one
# subnet and compute VMs reach each other through the node.
nics=0
while [ -e "/sys/class/net/eth$nics" ]; do
	ip link set "eth$nics" up || fatal 126 "cannot bring up eth$nics"
	nics=$((nics + 1))
done
[ "$nics" -gt 0 ] || fatal 126 "no NIC"
dev=eth0
if [ "$nics" -gt 1 ]; then
	dev=br0
	brctl addbr br0 || fatal 126 "cannot create br0"
	brctl setfd br0 0
	brctl stp br0 off
	i=0
	while [ "$i" -lt "$nics" ]; do
		brctl addif br0 "eth$i" || fatal 126 "cannot add eth$i to br0"
		i=$((i + 1))
	done
	ip link set br0 up
fi
ip addr add "$ips" dev "$dev" || fatal 126 "cannot add $ips to $dev"
ulimit -l unlimited || log "ulimit -l unlimited failed"

# From here on, tools come from the host root (rdma-core, iproute2, perftest).
inroot() {
	chroot /newroot /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/run/shmx/bin \
		HOME=/root TERM=dumb LANG=C.UTF-8 SHMX_NAME="$name" SHMX_OUT=/run/shmx/out SHMX_IP="${ips%/*}" SHMX_NODE_IP=10.77.1.1 SHMX_ENV="$envfile" "$@"
}
inroot rdma link add rxe0 type rxe netdev "$dev" || fatal 126 "rdma link add rxe0 ($dev) failed"
# The port becomes ACTIVE once the link has carrier; wait a little for that.
n=0
while [ $n -lt 50 ]; do
	inroot rdma link show >/out/rdma-link.txt 2>&1
	grep -q 'state ACTIVE' /out/rdma-link.txt && break
	sleep 0.2
	n=$((n + 1))
done
ip addr >/out/ip-addr.txt 2>&1
uname -r >/out/uname.txt
inroot ibv_devinfo >/out/ibv_devinfo.txt 2>&1
{
	inroot dpkg-query -W rdma-core ibverbs-providers libibverbs1 libfabric1 perftest 2>&1
	inroot fi_info --version 2>&1
} >/out/versions.txt
log "ready at $(cut -d' ' -f1 /proc/uptime)s: rxe0 on $dev ($nics NIC(s)), ip=$ips"

if [ -z "$run" ]; then
	log "no shmx.run= script given"
	echo 0 >/out/rc
else
	log "running $run"
	set -o pipefail
	# shellcheck disable=SC2016 # $0 is for the inner sh
	inroot /bin/sh -c 'cd /tmp && if [ -x "$0" ]; then exec "$0"; else exec bash "$0"; fi' "$run" 2>&1 |
		tee /out/script.log
	rc=$?
	set +o pipefail
	echo "$rc" >/out/rc
	log "script exited with $rc at $(cut -d' ' -f1 /proc/uptime)s"
fi
: >/out/done
# The memory node carries the others' traffic (br0): with shmx.hold=1 it stays
# up until the host writes /out/release (all other VMs are down).
if [ "$hold" = 1 ]; then
	log "holding the bridge until the other VMs are done"
	while [ ! -e /out/release ]; do sleep 0.2; done
fi
off
