#!/usr/bin/env python3
"""Adds artifacts to a Maven 2 repository layout on disk, with the .sha1 and .sha512 files
Maven Central publishes, for the tests and the demo (serve it with `python3 -m http.server`).

  make-maven-repo.py --root DIR --artifact group:artifact:version [--artifact ...]
      [--from-jar FILE]      use a real JAR's bytes instead of a generated one
      [--size BYTES]         size of the generated class payload
      [--checksums sha1,sha512 | none]
      [--wrong-checksum]     publish checksums of other bytes (a tampered mirror)
      [--not-a-jar]          publish an HTML page under the .jar name (a broken proxy)
"""
import argparse
import hashlib
import io
import os
import random
import zipfile


def jar_bytes(coordinate, size):
    buffer = io.BytesIO()
    # Fixed timestamps: the same coordinates always give the same JAR.
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as jar:
        manifest = zipfile.ZipInfo("META-INF/MANIFEST.MF", date_time=(2023, 5, 25, 0, 0, 0))
        jar.writestr(manifest, f"Manifest-Version: 1.0\nImplementation-Title: {coordinate}\n")
        payload = zipfile.ZipInfo("org/example/Payload.class", date_time=(2023, 5, 25, 0, 0, 0))
        jar.writestr(payload, random.Random(coordinate).randbytes(size))
    return buffer.getvalue()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", required=True)
    parser.add_argument("--artifact", action="append", required=True)
    parser.add_argument("--from-jar")
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--checksums", default="sha1,sha512")
    parser.add_argument("--wrong-checksum", action="store_true")
    parser.add_argument("--not-a-jar", action="store_true")
    args = parser.parse_args()

    for coordinate in args.artifact:
        group, artifact, version = coordinate.split(":")[:3]
        directory = os.path.join(args.root, *group.split("."), artifact, version)
        os.makedirs(directory, exist_ok=True)
        if args.not_a_jar:
            data = b"<html><body>Proxy error</body></html>\n"
        elif args.from_jar:
            data = open(args.from_jar, "rb").read()
        else:
            data = jar_bytes(coordinate, args.size)
        path = os.path.join(directory, f"{artifact}-{version}.jar")
        with open(path, "wb") as f:
            f.write(data)
        checked = b"other bytes" if args.wrong_checksum else data
        for algorithm in [a for a in args.checksums.split(",") if a and a != "none"]:
            with open(f"{path}.{algorithm}", "w") as f:
                f.write(hashlib.new(algorithm, checked).hexdigest())
        print(path)


if __name__ == "__main__":
    main()
