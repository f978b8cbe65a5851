#!/usr/bin/env bash
# Build the `contents` scenario's disk images from the fixture trees and record each as an EBS snapshot in
# ebs/<snapshot-id>/ (blocks.json + <index>.bin, see sparsify.py). Nothing is mounted: the filesystems are
# made from the trees by mkfs.xfs -p (a prototype file) and mke2fs -d, the partition tables written on the
# image files by sgdisk/sfdisk, and each filesystem copied in at its partition's offset.
#
#   mocks/contents/build.sh                  rebuild every image (needs xfsprogs, e2fsprogs, gdisk, fdisk,
#                                            python3; about 2 GB of scratch space, freed at the end)
#   mocks/contents/build.sh --tree NAME DIR  write the full tree NAME into DIR (committed files plus the
#                                            special files below): what the images hold, for comparing
#
# The committed trees (trees/<name>/) lack what git cannot hold or should not: FIFOs, big sparse files and
# names with control bytes. `specials` adds them to a copy of the tree before the image is made; `--tree`
# gives that same copy, so reading a tree and reading its image can be compared.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TREES="$HERE/trees"
EBS="$HERE/ebs"
GIB=$((1 << 30))
MIB=$((1 << 20))

# Files added to a copy of tree $1 at $2.
specials() {
    local name="$1" dir="$2"
    case "$name" in
    al2023-violations)
        # A FIFO where a DNS config file is read (refused, not opened), and a link to it.
        mkfifo -m 644 "$dir/etc/sysconfig/network-scripts/ifcfg-eth0"
        # A NetworkManager drop-in whose name holds an escape sequence, and sets rotate.
        printf '[global-dns]\noptions=rotate\n' >"$dir/etc/NetworkManager/conf.d/"$'\e[31mred.conf'
        # EA063: 1.5 GiB under /var and 64 MiB under /tmp, by apparent size (sparse: no data).
        truncate -s $((3 * GIB / 2)) "$dir/var/cache/dnf/packages.tar"
        truncate -s $((64 * MIB)) "$dir/tmp/scratch.bin"
        ;;
    al1-violations)
        mkfifo -m 600 "$dir/tmp/fifo"
        printf 'fixture\n' >"$dir/var/log/"$'\e]0;pwned\a.log'
        # EA063: 1.25 GiB under /var (sparse).
        truncate -s $((5 * GIB / 4)) "$dir/var/log/big.log"
        ;;
    esac
}

# The full tree $1 in directory $2 (created).
materialize() {
    local name="$1" dir="$2"
    mkdir -p "$dir"
    cp -a "$TREES/$name/." "$dir/"
    specials "$name" "$dir"
}

if [[ "${1:-}" == "--tree" ]]; then
    [[ $# -eq 3 ]] || { echo "usage: $0 --tree NAME DIR" >&2; exit 2; }
    materialize "$2" "$3"
    exit 0
fi

# `--only SNAPSHOT_ID`: rebuild that image alone (a rebuild changes every recorded block of an image).
ONLY=""
if [[ "${1:-}" == "--only" ]]; then
    [[ $# -eq 2 ]] || { echo "usage: $0 --only SNAPSHOT_ID" >&2; exit 2; }
    ONLY="$2"
fi
wanted() { [[ -z "$ONLY" || "$ONLY" == "$1" ]]; }

for tool in mkfs.xfs mke2fs sgdisk sfdisk python3; do
    command -v "$tool" >/dev/null || { echo "$0: $tool is needed" >&2; exit 1; }
done

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# An XFS filesystem of $3 bytes holding tree $1, in file $2.
make_xfs() {
    local name="$1" out="$2" size="$3"
    local tree="$WORK/tree-$name-xfs"
    materialize "$name" "$tree"
    python3 "$HERE/protofile.py" "$tree" >"$WORK/proto"
    truncate -s "$size" "$out"
    # Label "/" as Amazon Linux 2023's root. Two allocation groups and the smallest log mkfs.xfs allows
    # (64 MiB, written as zeros but for its head) keep the recorded snapshot small.
    mkfs.xfs -q -f -L / -d agcount=2 -l size=64m -p "$WORK/proto" "$out"
}

# An ext filesystem (type $4) of $3 bytes holding tree $1, in file $2.
make_ext() {
    local name="$1" out="$2" size="$3" type="$4"
    local tree="$WORK/tree-$name-$type"
    materialize "$name" "$tree"
    truncate -s "$size" "$out"
    # The smallest journal (4 MiB): ext3 maps it with indirect blocks, one per 4 MiB, each a separate
    # recorded block.
    mke2fs -q -F -t "$type" -L / -J size=4 -E nodiscard,lazy_itable_init=1 -d "$tree" "$out"
}

# Copy filesystem file $1 into disk image $2 at byte $3, leaving holes as holes.
place() {
    dd if="$1" of="$2" bs=1M seek="$(($3 / MIB))" conv=notrunc,sparse status=none
}

record() {
    local image="$1" id="$2"
    python3 "$HERE/sparsify.py" "$image" "$id" "$EBS/$id"
    echo "$id: $(du -sh "$EBS/$id" | cut -f1) recorded"
}

# Amazon Linux 2023's layout on a volume of $3 GiB (8 by default): EFI System p128 (10 MiB at 1 MiB), BIOS
# boot p127 (1 MiB at 11 MiB), the root p1 (Linux filesystem data, named "Linux") from 12 MiB to the end.
al2023_disk() {
    local name="$1" id="$2" gib="${3:-8}"
    wanted "$id" || return 0
    local disk="$WORK/$id.img"
    truncate -s $((gib * GIB)) "$disk"
    sgdisk \
        -n 128:2048:22527 -t 128:C12A7328-F81F-11D2-BA4B-00A0C93EC93B -c 128:"EFI System Partition" \
        -n 127:22528:24575 -t 127:21686148-6449-6E6F-744E-656564454649 -c 127:"BIOS Boot Partition" \
        -n 1:24576:0 -t 1:0FC63DAF-8483-4772-8E79-3D69D8477DE4 -c 1:"Linux" \
        "$disk" >/dev/null
    local end
    end="$(sgdisk -i 1 "$disk" | sed -n 's/^Last sector: \([0-9]*\).*/\1/p')"
    make_xfs "$name" "$WORK/$id.fs" $(((end - 24576 + 1) * 512))
    place "$WORK/$id.fs" "$disk" $((24576 * 512))
    rm -f "$WORK/$id.fs"
    record "$disk" "$id"
    rm -f "$disk"
}

al2023_disk al2023-clean snap-0a12023c1ea400001
al2023_disk al2023-violations snap-0a12023ba0d000002
# The clean tree on a 100 GiB volume: what reading it costs must not grow with the volume.
al2023_disk al2023-clean snap-0a12023b160000006 100

# Amazon Linux 1-like: a 2 GiB volume with an MBR, partition 1 (type 0x83) from 1 MiB, ext4.
id=snap-0a1ba0d0e40000003
if wanted "$id"; then
disk="$WORK/$id.img"
truncate -s $((2 * GIB)) "$disk"
echo 'start=2048, type=83, bootable' | sfdisk -q --label dos "$disk"
make_ext al1-violations "$WORK/$id.fs" $((2 * GIB - MIB)) ext4
place "$WORK/$id.fs" "$disk" "$MIB"
rm -f "$WORK/$id.fs"
record "$disk" "$id"
rm -f "$disk"
fi

# Bare filesystems (no partition table), 1 GiB: the clean tree as ext4, and as ext3 (a journal, no
# extents) for the older formats.
for spec in ext4:snap-0c1ea4e4000000004 ext3:snap-0c1ea4e3000000005; do
    type="${spec%%:*}" id="${spec#*:}"
    wanted "$id" || continue
    make_ext al2023-clean "$WORK/$id.img" "$GIB" "$type"
    record "$WORK/$id.img" "$id"
    rm -f "$WORK/$id.img"
done

du -sh "$EBS"
