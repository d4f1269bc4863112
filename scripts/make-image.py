#!/usr/bin/env python3
"""Builds a test image as an OCI image layout, without docker: gzip layers of pseudo-random
bytes, a config per platform, a manifest per platform and, for several platforms, an index
(optionally with a BuildKit-style attestation manifest). The first layer is the same for every
platform, as a shared base layer is in real multi-platform images.

Used by the tests, the demo and the benchmark; push the result with
`skopeo copy --all oci:DIR:REF docker://HOST/REPO:TAG`.
"""
import argparse
import gzip
import hashlib
import io
import json
import os
import random
import tarfile


def write_blob(layout, data):
    digest = hashlib.sha256(data).hexdigest()
    path = os.path.join(layout, "blobs", "sha256", digest)
    with open(path, "wb") as f:
        f.write(data)
    return {"digest": "sha256:" + digest, "size": len(data)}


def layer(name, size, rng, level, extra_files=()):
    payload = rng.randbytes(size)
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        info = tarfile.TarInfo(name)
        info.size = size
        info.mtime = 0
        tar.addfile(info, io.BytesIO(payload))
        for path in extra_files:
            extra = tarfile.TarInfo(path)
            content = rng.randbytes(1024)
            extra.size = len(content)
            extra.mtime = 0
            tar.addfile(extra, io.BytesIO(content))
    tar_bytes = raw.getvalue()
    compressed = gzip.compress(tar_bytes, compresslevel=level, mtime=0)
    return compressed, "sha256:" + hashlib.sha256(tar_bytes).hexdigest()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True, help="layout directory to create or extend")
    parser.add_argument("--ref", required=True, help="ref name in the layout's index.json")
    parser.add_argument("--platform", action="append", default=[], help="os/arch[/variant], repeatable")
    parser.add_argument("--layers", type=int, default=3)
    parser.add_argument("--layer-size", type=int, default=64 * 1024)
    parser.add_argument("--seed", default="airgap")
    parser.add_argument("--gzip-level", type=int, default=1, help="0 stores without compressing (fast, big)")
    parser.add_argument("--top-seed", help="seed of each platform's last layer only: images built with the same --seed and another --top-seed share every other layer, as two patch releases of one image do")
    parser.add_argument("--attestation", action="store_true", help="add an unknown/unknown attestation manifest")
    parser.add_argument("--env", action="append", default=[], help="KEY=VALUE for the config's Env")
    parser.add_argument("--file", action="append", default=[], help="a path (e.g. opt/flink/lib/flink-json-1.17.1.jar) to add to the base layer")
    args = parser.parse_args()

    layout = args.out
    os.makedirs(os.path.join(layout, "blobs", "sha256"), exist_ok=True)
    with open(os.path.join(layout, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')
    platforms = args.platform or ["linux/amd64"]

    base_rng = random.Random(f"{args.seed}/base")
    base = layer("base.bin", args.layer_size, base_rng, args.gzip_level, args.file)
    manifests = []
    for platform in platforms:
        parts = platform.split("/")
        rng = random.Random(f"{args.seed}/{platform}")
        layers = [base] + [layer(f"layer{i}.bin", args.layer_size, rng, args.gzip_level) for i in range(1, args.layers)]
        if args.top_seed and args.layers > 1:
            top_rng = random.Random(f"{args.top_seed}/{platform}/top")
            layers[-1] = layer(f"layer{args.layers - 1}.bin", args.layer_size, top_rng, args.gzip_level)
        layer_descriptors = []
        for compressed, _ in layers:
            d = write_blob(layout, compressed)
            d["mediaType"] = "application/vnd.oci.image.layer.v1.tar+gzip"
            layer_descriptors.append(d)
        config = {
            "architecture": parts[1], "os": parts[0],
            "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"] + args.env},
            "rootfs": {"type": "layers", "diff_ids": [diff for _, diff in layers]},
        }
        if len(parts) > 2:
            config["variant"] = parts[2]
        config_descriptor = write_blob(layout, json.dumps(config, sort_keys=True).encode())
        config_descriptor["mediaType"] = "application/vnd.oci.image.config.v1+json"
        manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "config": config_descriptor, "layers": layer_descriptors}
        descriptor = write_blob(layout, json.dumps(manifest, sort_keys=True).encode())
        descriptor["mediaType"] = "application/vnd.oci.image.manifest.v1+json"
        descriptor["platform"] = {"os": parts[0], "architecture": parts[1]}
        if len(parts) > 2:
            descriptor["platform"]["variant"] = parts[2]
        manifests.append(descriptor)

    if args.attestation and manifests:
        statement = write_blob(layout, json.dumps({"_type": "https://in-toto.io/Statement/v0.1"}).encode())
        statement["mediaType"] = "application/vnd.in-toto+json"
        empty = write_blob(layout, b"{}")
        empty["mediaType"] = "application/vnd.oci.image.config.v1+json"
        attestation = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "config": empty, "layers": [statement]}
        descriptor = write_blob(layout, json.dumps(attestation, sort_keys=True).encode())
        descriptor["mediaType"] = "application/vnd.oci.image.manifest.v1+json"
        descriptor["platform"] = {"os": "unknown", "architecture": "unknown"}
        descriptor["annotations"] = {"vnd.docker.reference.type": "attestation-manifest",
                                     "vnd.docker.reference.digest": manifests[0]["digest"]}
        manifests.append(descriptor)

    if len(manifests) == 1:
        top = dict(manifests[0])
        top.pop("platform", None)
    else:
        index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": manifests}
        top = write_blob(layout, json.dumps(index, sort_keys=True).encode())
        top["mediaType"] = "application/vnd.oci.image.index.v1+json"
    top["annotations"] = {"org.opencontainers.image.ref.name": args.ref}

    index_path = os.path.join(layout, "index.json")
    existing = {"schemaVersion": 2, "manifests": []}
    if os.path.exists(index_path):
        with open(index_path) as f:
            existing = json.load(f)
    existing["manifests"] = [m for m in existing["manifests"]
                             if m.get("annotations", {}).get("org.opencontainers.image.ref.name") != args.ref] + [top]
    with open(index_path, "w") as f:
        json.dump(existing, f, sort_keys=True)
    print(top["digest"])


if __name__ == "__main__":
    main()
