#!/usr/bin/env python3
"""Damages a bundle the ways a transfer or an attacker would, for verify's tests.

  tamper.py flip BUNDLE MEMBER [OFFSET]    flip one bit of MEMBER's data (default: its middle)
  tamper.py truncate BUNDLE BYTES          cut the file to BYTES bytes
  tamper.py append BUNDLE NAME [--symlink TARGET]  add an entry (e.g. ../evil) before the end marker
  tamper.py offset BUNDLE MEMBER           print where MEMBER's data starts
  tamper.py remove BUNDLE MEMBER           drop MEMBER from the tar
  tamper.py replace BUNDLE MEMBER FILE     MEMBER's content becomes FILE's (the tar is rewritten)
  tamper.py append-after-end BUNDLE NAME   a member after the end-of-archive marker (tar -i lists it)
  tamper.py cut-end BUNDLE                 cut the tar right after its last member's data
"""
import io
import sys
import tarfile


def member_offset(bundle, name):
    with tarfile.open(bundle) as tar:
        for member in tar.getmembers():
            if member.name == name:
                return member.offset_data, member.size
    sys.exit(f"{name} not in {bundle}")


def main():
    command, bundle = sys.argv[1], sys.argv[2]
    if command == "flip":
        offset, size = member_offset(bundle, sys.argv[3])
        position = offset + (int(sys.argv[4]) if len(sys.argv) > 4 else size // 2)
        with open(bundle, "r+b") as f:
            f.seek(position)
            byte = f.read(1)[0]
            f.seek(position)
            f.write(bytes([byte ^ 0x01]))
    elif command == "truncate":
        with open(bundle, "r+b") as f:
            f.truncate(int(sys.argv[3]))
    elif command == "append":
        name = sys.argv[3]
        with tarfile.open(bundle) as tar:
            members = [(m, tar.extractfile(m).read() if m.isfile() else None) for m in tar.getmembers()]
        info = tarfile.TarInfo(name)
        payload = b"owned\n"
        if "--symlink" in sys.argv:
            info.type = tarfile.SYMTYPE
            info.linkname = sys.argv[sys.argv.index("--symlink") + 1]
            payload = None
        else:
            info.size = len(payload)
        with tarfile.open(bundle, "w", format=tarfile.USTAR_FORMAT) as tar:
            tar.addfile(info, io.BytesIO(payload) if payload is not None else None)
            for member, data in members:
                tar.addfile(member, io.BytesIO(data) if data is not None else None)
    elif command == "remove":
        name = sys.argv[3]
        with tarfile.open(bundle) as tar:
            members = [(m, tar.extractfile(m).read() if m.isfile() else None) for m in tar.getmembers() if m.name != name]
        with tarfile.open(bundle, "w", format=tarfile.USTAR_FORMAT) as tar:
            for member, data in members:
                tar.addfile(member, io.BytesIO(data) if data is not None else None)
    elif command == "replace":
        name, source = sys.argv[3], sys.argv[4]
        with open(source, "rb") as f:
            content = f.read()
        with tarfile.open(bundle) as tar:
            members = [(m, tar.extractfile(m).read() if m.isfile() else None) for m in tar.getmembers()]
        with tarfile.open(bundle, "w", format=tarfile.USTAR_FORMAT) as tar:
            for member, data in members:
                if member.name == name:
                    member.size = len(content)
                    data = content
                tar.addfile(member, io.BytesIO(data) if data is not None else None)
    elif command == "append-after-end":
        name = sys.argv[3]
        extra = io.BytesIO()
        with tarfile.open(fileobj=extra, mode="w", format=tarfile.USTAR_FORMAT) as tar:
            payload = b'{"schemaVersion":2,"manifests":[]}' if name.endswith(".json") else b"#!/bin/sh\necho owned\n"
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
        with open(bundle, "ab") as f:
            f.write(extra.getvalue())
    elif command == "cut-end":
        with tarfile.open(bundle) as tar:
            last = tar.getmembers()[-1]
            end = last.offset_data + (last.size + 511) // 512 * 512
        with open(bundle, "r+b") as f:
            f.truncate(end)
    elif command == "offset":
        print(member_offset(bundle, sys.argv[3])[0])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
