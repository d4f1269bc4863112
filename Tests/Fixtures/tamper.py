#!/usr/bin/env python3
"""Damages a bundle the ways a transfer or an attacker would, for verify's tests.

  tamper.py flip BUNDLE MEMBER [OFFSET]    flip one bit of MEMBER's data (default: its middle)
  tamper.py truncate BUNDLE BYTES          cut the file to BYTES bytes
  tamper.py append BUNDLE NAME [--symlink TARGET]  add an entry (e.g. ../evil) before the end marker
  tamper.py offset BUNDLE MEMBER           print where MEMBER's data starts
  tamper.py remove BUNDLE MEMBER           drop MEMBER from the tar
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
    elif command == "offset":
        print(member_offset(bundle, sys.argv[3])[0])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
