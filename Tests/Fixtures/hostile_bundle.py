#!/usr/bin/env python3
"""Writes a hostile bundle for tests: an OCI-layout tarball whose every blob hashes correctly,
but whose graph is built to hurt — an image index nested --deep levels, and an index.json entry
whose name (--ref-name, JSON-escaped in the file) carries terminal escapes, CR/LF and NUL."""
import argparse
import gzip
import hashlib
import io
import json
import tarfile

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("output")
    parser.add_argument("--deep", type=int, default=0)
    parser.add_argument("--ref-name", default="docker.io/library/small:1")
    args = parser.parse_args()
    blobs = {}

    def add(data, media_type):
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        blobs[digest] = data
        return {"mediaType": media_type, "digest": digest, "size": len(data)}

    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        info = tarfile.TarInfo("hello.txt")
        info.size, info.mtime = 5, 0
        tar.addfile(info, io.BytesIO(b"hello"))
    layer_data = gzip.compress(raw.getvalue(), mtime=0)
    layer = add(layer_data, "application/vnd.oci.image.layer.v1.tar+gzip")
    diff_id = "sha256:" + hashlib.sha256(raw.getvalue()).hexdigest()
    config = add(json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": [diff_id]}}).encode(),
                 "application/vnd.oci.image.config.v1+json")
    top = add(json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config, "layers": [layer]}).encode(), OCI_MANIFEST)
    top["platform"] = {"os": "linux", "architecture": "amd64"}
    for _ in range(args.deep):
        top = add(json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [top]}).encode(), OCI_INDEX)
    top.pop("platform", None)
    top["annotations"] = {"org.opencontainers.image.ref.name": args.ref_name}
    index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [top]}).encode()

    with tarfile.open(args.output, "w", format=tarfile.PAX_FORMAT) as tar:
        def put(name, data):
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            tar.addfile(info, io.BytesIO(data))
        put("oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
        put("index.json", index)
        for digest, data in sorted(blobs.items()):
            put("blobs/sha256/" + digest.split(":")[1], data)


if __name__ == "__main__":
    main()
