#!/usr/bin/env bash
# setup.sh - prepare what the soft-RoCE (rxe) VM harness needs, cached in
# WORKDIR (default: build-rxe/ under the repository root):
#   - installs the missing ones among qemu-system-x86 busybox-static cpio kmod
#     rdma-core ibverbs-utils perftest libfabric-bin (apt-get, only if missing);
#   - downloads (never installs) the Debian kernel package that
#     linux-image-amd64 depends on and unpacks it into WORKDIR/kernel;
#   - computes the guest module list (modprobe --show-depends) and builds a
#     busybox initramfs around tests/rxe/guest-init.sh.
# The host kernel needs no RDMA support: everything RDMA runs in the guests.
# Results: WORKDIR/vmlinuz, WORKDIR/initramfs.cpio.gz, WORKDIR/kver,
# WORKDIR/modules.list.  Exit 77 (ctest skip) when qemu is unavailable.
# Usage: setup.sh [WORKDIR]
# Environment: SHMX_RXE_QUIET=1 (less output), SHMX_RXE_QEMU (the qemu
# binary, default qemu-system-x86_64).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
work=${1:-$repo/build-rxe}
mkdir -p "$work"
work=$(cd "$work" && pwd)
quiet=${SHMX_RXE_QUIET:-0}

say() { [ "$quiet" = 1 ] || echo "setup: $*"; }
skip() {
	echo "setup: SKIP: $*" >&2
	exit 77
}
die() {
	echo "setup: ERROR: $*" >&2
	exit 1
}

tmp=
cleanup() {
	[ -z "$tmp" ] || rm -rf "$tmp"
	return 0
}
trap cleanup EXIT

# --- 1. host packages (only the missing ones) --------------------------------
pkgs="qemu-system-x86 busybox-static cpio kmod rdma-core ibverbs-utils perftest libfabric-bin"
missing=
for p in $pkgs; do
	st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$st" = installed ] || missing="$missing $p"
done
if [ -n "$missing" ]; then
	[ "$(id -u)" = 0 ] || skip "missing packages:$missing (and not root to install them)"
	say "installing:$missing"
	# Only refresh the package lists when they have never been fetched.
	if ! ls /var/lib/apt/lists/*_Packages >/dev/null 2>&1; then
		apt-get update -qq || true
	fi
	# shellcheck disable=SC2086
	if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >"$work/apt.log" 2>&1; then
		apt-get update -qq >/dev/null 2>&1 || true
		# shellcheck disable=SC2086
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >"$work/apt.log" 2>&1 || true
	fi
fi
qemu=${SHMX_RXE_QEMU:-qemu-system-x86_64}
command -v "$qemu" >/dev/null 2>&1 ||
	skip "$qemu not found${missing:+ (apt-get install failed: see $work/apt.log)}"
"$qemu" -accel help 2>/dev/null | grep -qx tcg || skip "$qemu cannot run here (no TCG accelerator)"
busybox=/bin/busybox
[ -x "$busybox" ] || skip "busybox-static is not installed ($busybox missing)"
file_is_static() { ! LC_ALL=C ldd "$1" >/dev/null 2>&1; }
file_is_static "$busybox" || skip "$busybox is not statically linked (need busybox-static)"
for t in cpio depmod modprobe ibv_devinfo ib_write_lat fi_info rdma; do
	command -v "$t" >/dev/null 2>&1 || die "$t not found after installing packages"
done

# --- 2. guest kernel (downloaded and unpacked, never installed) -------------
kdir=$work/kernel
resolve_kpkg() { # the linux-image-6.1.0-NN-amd64 that linux-image-amd64 depends on
	apt-cache depends linux-image-amd64 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-6\.1\.0-[0-9]*-amd64\)$/\1/p' | head -1
}
fetch_kernel() { # PKG: download and unpack into $kdir; nonzero on failure
	local pkg=$1 ver=${1#linux-image-} deb
	say "fetching $pkg"
	tmp=$(mktemp -d "$work/.dl.XXXXXX")
	# apt drops privileges to _apt for downloads; let it write there.
	! id _apt >/dev/null 2>&1 || chown _apt "$tmp"
	(cd "$tmp" && apt-get download -qq "$pkg" >/dev/null 2>"$work/download.log") || return 1
	deb=$(ls "$tmp"/*.deb)
	rm -rf "$kdir"
	mkdir -p "$kdir"
	dpkg-deb -x "$deb" "$kdir"
	depmod -b "$kdir" "$ver"
	basename "$deb" >"$kdir/.unpacked-$ver"
	rm -rf "$tmp"
	tmp=''
}
cached_kver=$(cat "$work/kver" 2>/dev/null || true)
kpkg=$(resolve_kpkg)
if [ -n "$kpkg" ] && [ -s "$kdir/.unpacked-${kpkg#linux-image-}" ]; then
	say "kernel ${kpkg#linux-image-} cached"
elif [ -n "$kpkg" ] && fetch_kernel "$kpkg"; then
	:
else
	# Stale or missing package lists: refresh once and retry.
	[ -z "$tmp" ] || { rm -rf "$tmp"; tmp=''; }
	if [ "$(id -u)" = 0 ]; then
		say "refreshing the package lists (apt-get update)"
		apt-get update -qq >/dev/null 2>&1 || true
	fi
	kpkg=$(resolve_kpkg)
	if [ -n "$kpkg" ] && { [ -s "$kdir/.unpacked-${kpkg#linux-image-}" ] || fetch_kernel "$kpkg"; }; then
		:
	elif [ -n "$cached_kver" ] && [ -s "$kdir/.unpacked-$cached_kver" ]; then
		[ -z "$tmp" ] || { rm -rf "$tmp"; tmp=''; }
		echo "setup: WARNING: cannot fetch ${kpkg:-the current kernel}; keeping the cached $cached_kver" >&2
		kpkg=linux-image-$cached_kver
	else
		die "cannot download ${kpkg:-linux-image-6.1.0-*-amd64 (not found via linux-image-amd64)} (see $work/download.log)"
	fi
fi
kver=${kpkg#linux-image-}
[ -f "$kdir/boot/vmlinuz-$kver" ] || die "no $kdir/boot/vmlinuz-$kver"
ln -sf "kernel/boot/vmlinuz-$kver" "$work/vmlinuz"
echo "$kver" >"$work/kver"

# --- 3. module list, in dependency order -------------------------------------
want="virtio_pci virtio_net bridge 9p 9pnet_virtio crc32_generic ib_uverbs rdma_rxe rdma_ucm"
list=$work/modules.list.new
: >"$list"
for m in $want; do
	modprobe -d "$kdir" -S "$kver" --show-depends "$m" >"$work/.dep" ||
		die "modprobe --show-depends $m failed"
	# Lines: "insmod /path/x.ko [opts]" or "builtin x".
	while read -r verb path _; do
		[ "$verb" = insmod ] || continue
		grep -qxF "$path" "$list" || echo "$path" >>"$list"
	done <"$work/.dep"
done
rm -f "$work/.dep"
mv "$list" "$work/modules.list"

# --- 4. initramfs --------------------------------------------------------------
# Rebuilt only when one of its inputs changed.
stamp=$( {
	echo "$kver"
	cat "$work/modules.list"
	sha256sum "$here/guest-init.sh" "$busybox" "${BASH_SOURCE[0]}"
} | sha256sum | cut -d' ' -f1)
if [ -s "$work/initramfs.cpio.gz" ] && [ "$(cat "$work/initramfs.stamp" 2>/dev/null)" = "$stamp" ]; then
	say "initramfs cached"
else
	say "building initramfs"
	tmp=$(mktemp -d "$work/.ird.XXXXXX")
	r=$tmp/root
	mkdir -p "$r"/{bin,sbin,etc,proc,sys,dev,tmp,run,newroot,out,lib/modules}
	cp "$busybox" "$r/bin/busybox"
	for a in $("$busybox" --list); do
		[ "$a" = busybox ] || [ -e "$r/bin/$a" ] || ln -s busybox "$r/bin/$a"
	done
	ln -s ../bin/busybox "$r/sbin/busybox"
	n=0
	: >"$r/lib/modules/order"
	while read -r path; do
		n=$((n + 1))
		base=$(basename "$path")
		case $base in
		*.ko.xz) xz -dc "$path" >"$r/lib/modules/${base%.xz}"; base=${base%.xz} ;;
		*.ko.zst) zstd -qdc "$path" >"$r/lib/modules/${base%.zst}"; base=${base%.zst} ;;
		*.ko.gz) gzip -dc "$path" >"$r/lib/modules/${base%.gz}"; base=${base%.gz} ;;
		*) cp "$path" "$r/lib/modules/$base" ;;
		esac
		echo "$base" >>"$r/lib/modules/order"
	done <"$work/modules.list"
	echo "$kver" >"$r/etc/kver"
	install -m 0755 "$here/guest-init.sh" "$r/init"
	(cd "$r" && find . -print0 | LC_ALL=C sort -z |
		cpio --null -o -H newc --quiet) | gzip -1 >"$tmp/initramfs.cpio.gz"
	mv "$tmp/initramfs.cpio.gz" "$work/initramfs.cpio.gz"
	echo "$stamp" >"$work/initramfs.stamp"
	rm -rf "$tmp"
	tmp=
	say "initramfs: $n modules, $(du -k "$work/initramfs.cpio.gz" | cut -f1) KiB"
fi
say "ready: kernel $kver in $work"
