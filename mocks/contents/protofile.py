#!/usr/bin/env python3
"""Write an mkfs.xfs prototype file (`mkfs.xfs -p`) describing a directory tree: `protofile.py DIR`.

Regular files (copied from DIR by mkfs.xfs), directories, symbolic links and FIFOs, with their modes and
owners; hard links are not kept (each path is its own file). The format is whitespace-separated, so a name
or link target holding whitespace cannot be written and is refused; other bytes (escape characters, bytes
that are not UTF-8) go through as they are.
"""
import os
import stat
import sys


def mode_token(st):
    kind = {stat.S_IFREG: "-", stat.S_IFDIR: "d", stat.S_IFLNK: "l", stat.S_IFIFO: "p"}.get(
        stat.S_IFMT(st.st_mode))
    if kind is None:
        raise SystemExit(f"unsupported file type: mode {oct(st.st_mode)}")
    suid = "u" if st.st_mode & stat.S_ISUID else "-"
    sgid = "g" if st.st_mode & stat.S_ISGID else "-"
    return f"{kind}{suid}{sgid}{stat.S_IMODE(st.st_mode) & 0o777:03o} {st.st_uid} {st.st_gid}"


def check(token, what):
    if not token or any(c in token for c in b" \t\n\r\v\f"):
        raise SystemExit(f"{what} {token!r} holds whitespace: not expressible in a protofile")
    return token


def walk(out, path, depth):
    for name in sorted(os.listdir(path)):
        full = os.path.join(path, name)
        st = os.lstat(full)
        token = check(name, "name")
        out.write(b"  " * depth + token + b" " + mode_token(st).encode())
        if stat.S_ISREG(st.st_mode):
            out.write(b" " + check(os.path.abspath(full), "path"))
        elif stat.S_ISLNK(st.st_mode):
            out.write(b" " + check(os.readlink(full), "link target"))
        out.write(b"\n")
        if stat.S_ISDIR(st.st_mode):
            walk(out, full, depth + 1)
            out.write(b"  " * (depth + 1) + b"$\n")


def main(root):
    root = os.fsencode(root)
    out = sys.stdout.buffer
    out.write(b"/dev/null\n0 0\n" + mode_token(os.lstat(root)).encode() + b"\n")
    walk(out, root, 1)
    out.write(b"$\n")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
