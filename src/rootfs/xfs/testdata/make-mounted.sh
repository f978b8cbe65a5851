#!/bin/bash
# Build a small XFS test image: /tmp/xt/$1.img with mkfs options $2..
set -euo pipefail
name=$1; shift
img=/tmp/xt/$name.img
m=/tmp/xt/m
rm -f $img; truncate -s 1G $img
mkfs.xfs -q "$@" $img
mount -o loop $img $m
trap 'umount '$m' 2>/dev/null || true' EXIT
cd $m
mkdir -p etc/NetworkManager/conf.d etc/systemd/system/multi-user.target.wants lib/modules/6.1.0-1.amzn2023.x86_64 lib/modules/5.10.0-2.amzn2.x86_64 boot tmp var/log var/lib/x emr usr/lib usr/bin
printf 'root:x:0:0:root:/root:/bin/bash\nhadoop:x:1000:1000::/home/hadoop:/bin/bash\n' > etc/passwd
printf 'root:x:0:\nhadoop:x:1000:\n' > etc/group
printf 'NAME="Amazon Linux"\nVERSION="2023"\nID="amzn"\nVERSION_ID="2023"\n' > usr/lib/os-release
ln -s ../usr/lib/os-release etc/os-release
printf 'nameserver 10.0.0.2\noptions rotate\n' > etc/resolv.conf
printf '[main]\ndns=none\n' > etc/NetworkManager/conf.d/90-dns.conf
touch usr/bin/amazon-ssm-agent
printf '[Unit]\n' > usr/lib/systemd-ssm.service
ln -s /usr/lib/systemd-ssm.service etc/systemd/system/multi-user.target.wants/amazon-ssm-agent.service
touch boot/vmlinuz-6.1.0-1.amzn2023.x86_64
head -c 3000 /dev/zero | tr '\0' 'v' > var/log/messages
printf 'tmpdata' > tmp/t
head -c 12345 /dev/zero > emr/blob
# a huge sparse file
truncate -s 1T var/lib/x/huge
# a fragmented file: islands of data (btree data fork)
python3 - <<'PY'
import os
fd = os.open('var/lib/x/frag', os.O_WRONLY | os.O_CREAT, 0o644)
for i in range(60):
    os.pwrite(fd, (b'Z' if i == 59 else b'\0') * 4096, i * 8192)
os.close(fd)
PY
# a FIFO, a device, a socket-less set of odd entries
mkfifo var/lib/x/fifo
mknod var/lib/x/null c 1 3
# symlinks: inline relative, absolute, escaping, loop, remote (long), dangling
ln -s ../../../../../../etc/passwd var/lib/x/escape
ln -s /etc/group var/lib/x/abs
ln -s loop2 var/lib/x/loop1
ln -s loop1 var/lib/x/loop2
ln -s nowhere var/lib/x/dangling
long=/etc/$(printf './%.0s' $(seq 1 250))passwd
ln -s "$long" var/lib/x/remote
ln -s "$(printf 'x%.0s' $(seq 1 1000))" var/lib/x/remote1000
ln -s passwd etc/passwd-link
# a name with escape bytes
touch "$(printf 'var/lib/x/esc\033[31mname\xff')"
# a leaf-format directory and a node-format directory (hard links: no new inodes)
mkdir usr/leafdir usr/nodedir
for i in $(seq 1 200); do ln etc/group usr/leafdir/entry-number-$i; done
for i in $(seq 1 1500); do ln etc/group usr/nodedir/entry-number-$i; done
mkdir -p a/b/c && printf 'deep\n' > a/b/c/file
find . -printf '%i %y %s %p\n' | sort -k4 > /tmp/xt/$name.manifest
cd /
sync
umount $m
trap - EXIT
# zero the log (not read by the reader; keeps the committed image small)
eval $(xfs_db -r -c 'sb 0' -c 'p logstart logblocks blocksize agblocks agblklog' $img | sed 's/ = /=/')
agno=$((logstart >> agblklog)); agbno=$((logstart & ((1 << agblklog) - 1)))
dd if=/dev/zero of=$img bs=$blocksize seek=$((agno * agblocks + agbno)) count=$logblocks conv=notrunc status=none
xfs_db -r -c 'sb 0' -c 'p versionnum features2 features_incompat blocksize dirblklog inodesize agcount' $img
