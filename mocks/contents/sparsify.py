#!/usr/bin/env python3
"""Write a disk image as an EBS snapshot recorded in a scenario: `sparsify.py IMAGE SNAPSHOT_ID OUT_DIR`.

OUT_DIR/blocks.json lists the image's 512 KiB blocks that are not all zeros (what ListSnapshotBlocks
would list for a snapshot of it), with each block's SHA-256 as the EBS direct APIs give it (base64, of
the whole block); OUT_DIR/<BlockIndex>.bin holds the block without its trailing zeros (the replay server
pads it back). The image's size must be a whole number of GiB, as an EBS volume's is.
"""
import base64
import hashlib
import json
import os
import sys

BLOCK = 512 * 1024


def main(image, snapshot_id, out):
    size = os.path.getsize(image)
    if size % (1 << 30):
        sys.exit(f"{image}: {size} bytes is not a whole number of GiB")
    os.makedirs(out, exist_ok=True)
    for name in os.listdir(out):
        if name.endswith(".bin") or name == "blocks.json":
            os.remove(os.path.join(out, name))
    blocks = []
    with open(image, "rb") as f:
        fd = f.fileno()
        offset = 0
        while offset < size:
            try:
                data_at = os.lseek(fd, offset, os.SEEK_DATA)
            except OSError:
                break
            index = data_at // BLOCK
            f.seek(index * BLOCK)
            block = f.read(BLOCK).ljust(BLOCK, b"\0")
            offset = (index + 1) * BLOCK
            if not any(block):
                continue
            blocks.append({"BlockIndex": index,
                           "Checksum": base64.b64encode(hashlib.sha256(block).digest()).decode()})
            with open(os.path.join(out, f"{index}.bin"), "wb") as b:
                b.write(block.rstrip(b"\0"))
    with open(os.path.join(out, "blocks.json"), "w") as f:
        json.dump({"SnapshotId": snapshot_id, "VolumeSize": size >> 30, "BlockSize": BLOCK,
                   "Blocks": blocks}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
