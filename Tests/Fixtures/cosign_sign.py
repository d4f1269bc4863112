#!/usr/bin/env python3
"""Writes cosign-format signatures and OCI 1.1 referrers into a plain-HTTP registry, as cosign
and oras would, with Python's `cryptography` (an implementation independent of airgap's):

  cosign_sign.py keygen --type ecdsa|rsa|ed25519 --out PREFIX   PREFIX.key (PKCS#8, 0600) + PREFIX.pub
  cosign_sign.py sign --registry HOST --repository REPO --digest DIGEST --key KEY
                      [--docker-reference REF] [--claimed-digest DIGEST]
        the simple-signing payload, signed, as a layer of the manifest at tag sha256-<hex>.sig
  cosign_sign.py attest --registry HOST --repository REPO --digest DIGEST --key KEY [--tag-scheme]
        an in-toto attestation (DSSE) as an OCI 1.1 referrer whose subject is DIGEST, listed in
        the sha256-<hex> fallback tag index (the registry has no referrers API); with
        --tag-scheme, as `cosign attest` stores it: a layer of the manifest at sha256-<hex>.att
  cosign_sign.py keyless-ca --out PREFIX
        a Fulcio-like root (PREFIX-root.pem) and intermediate CA, keys beside them
  cosign_sign.py sign-keyless --registry HOST --repository REPO --digest DIGEST --ca PREFIX
                      --identity EMAIL --issuer URL
        a keyless signature: a fresh key, a ten-minute certificate from the intermediate that
        expired an hour ago (SAN = identity, OID 1.3.6.1.4.1.57264.1.8 = issuer, EKU code
        signing), carried in dev.sigstore.cosign/certificate and .../chain as cosign does
  cosign_sign.py attach-sbom --registry HOST --repository REPO --digest DIGEST
        a CycloneDX SBOM as `cosign attach sbom` stores it: the manifest at sha256-<hex>.sbom

Formats: cosign's specs/SIGNATURE_SPEC.md (payload, `dev.cosignproject.cosign/signature`,
the `.sig` tag) and the OCI distribution spec 1.1 (referrers tag schema).
"""
import argparse
import base64
import hashlib
import json
import os
import sys
import datetime
import urllib.request

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
ACCEPT = ", ".join([OCI_INDEX, OCI_MANIFEST, "application/vnd.docker.distribution.manifest.list.v2+json",
                    "application/vnd.docker.distribution.manifest.v2+json"])


def canonical(obj):
    return json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()


def digest_of(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def request(method, url, data=None, headers=None):
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def push_blob(registry, repository, data):
    digest = digest_of(data)
    status, headers, _ = request("POST", f"http://{registry}/v2/{repository}/blobs/uploads/")
    assert status == 202, status
    location = headers["Location"]
    if location.startswith("/"):
        location = f"http://{registry}{location}"
    separator = "&" if "?" in location else "?"
    status, _, body = request("PUT", f"{location}{separator}digest={digest}", data=data,
                              headers={"Content-Type": "application/octet-stream"})
    assert status == 201, (status, body)
    return {"mediaType": None, "digest": digest, "size": len(data)}


def put_manifest(registry, repository, reference, data, media_type):
    status, _, body = request("PUT", f"http://{registry}/v2/{repository}/manifests/{reference}", data=data,
                              headers={"Content-Type": media_type})
    assert status == 201, (status, body)


def get_manifest(registry, repository, reference):
    status, headers, body = request("GET", f"http://{registry}/v2/{repository}/manifests/{reference}",
                                    headers={"Accept": ACCEPT})
    if status == 404:
        return None, None
    assert status == 200, (status, body)
    return body, headers.get("Content-Type", "").split(";")[0]


def load_key(path):
    with open(path, "rb") as f:
        return serialization.load_pem_private_key(f.read(), password=None)


def sign(key, message):
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(message, ec.ECDSA(hashes.SHA256()))
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    return key.sign(message)


def keygen(args):
    if args.type == "ecdsa":
        key = ec.generate_private_key(ec.SECP256R1())
    elif args.type == "rsa":
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    else:
        key = ed25519.Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    fd = os.open(args.out + ".key", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(private)
    with open(args.out + ".pub", "wb") as f:
        f.write(public)


def cosign_sign(args):
    reference = args.docker_reference or f"{args.registry}/{args.repository}"
    payload = canonical({
        "critical": {
            "identity": {"docker-reference": reference},
            "image": {"docker-manifest-digest": args.claimed_digest or args.digest},
            "type": "cosign container image signature",
        },
        "optional": None,
    })
    signature = base64.b64encode(sign(load_key(args.key), payload)).decode()
    layer = push_blob(args.registry, args.repository, payload)
    config = canonical({"architecture": "", "created": "0001-01-01T00:00:00Z", "history": [{"created": "0001-01-01T00:00:00Z"}],
                        "os": "", "rootfs": {"type": "layers", "diff_ids": [layer["digest"]]}, "config": {}})
    config_descriptor = push_blob(args.registry, args.repository, config)
    manifest = canonical({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_descriptor["digest"], "size": len(config)},
        "layers": [{"mediaType": "application/vnd.dev.cosign.simplesigning.v1+json", "digest": layer["digest"], "size": len(payload),
                    "annotations": {"dev.cosignproject.cosign/signature": signature}}],
    })
    tag = args.digest.replace(":", "-") + ".sig"
    put_manifest(args.registry, args.repository, tag, manifest, OCI_MANIFEST)
    print(digest_of(manifest))


def attest(args):
    image, media_type = get_manifest(args.registry, args.repository, args.digest)
    assert image is not None, f"{args.digest} not in {args.repository}"
    statement = canonical({"_type": "https://in-toto.io/Statement/v1",
                           "subject": [{"name": f"{args.registry}/{args.repository}", "digest": {"sha256": args.digest.split(":")[1]}}],
                           "predicateType": "https://slsa.dev/provenance/v1", "predicate": {"builder": {"id": "airgap-tests"}}})
    payload_type = "application/vnd.in-toto+json"
    pae = b"DSSEv1 %d %s %d %s" % (len(payload_type), payload_type.encode(), len(statement), statement)
    envelope = canonical({"payloadType": payload_type, "payload": base64.b64encode(statement).decode(),
                          "signatures": [{"keyid": "", "sig": base64.b64encode(sign(load_key(args.key), pae)).decode()}]})
    empty = b"{}"
    push_blob(args.registry, args.repository, empty)
    layer = push_blob(args.registry, args.repository, envelope)
    if args.tag_scheme:
        manifest = canonical({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest_of(empty), "size": 2},
            "layers": [{"mediaType": "application/vnd.dsse.envelope.v1+json", "digest": layer["digest"], "size": len(envelope),
                        "annotations": {"predicateType": "https://slsa.dev/provenance/v1"}}],
        })
        put_manifest(args.registry, args.repository, args.digest.replace(":", "-") + ".att", manifest, OCI_MANIFEST)
        print(digest_of(manifest))
        return
    manifest = canonical({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": "application/vnd.dsse.envelope.v1+json",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": digest_of(empty), "size": 2},
        "layers": [{"mediaType": "application/vnd.dsse.envelope.v1+json", "digest": layer["digest"], "size": len(envelope),
                    "annotations": {"predicateType": "https://slsa.dev/provenance/v1"}}],
        "subject": {"mediaType": media_type, "digest": args.digest, "size": len(image)},
        "annotations": {"org.opencontainers.image.created": "2026-01-01T00:00:00Z"},
    })
    manifest_digest = digest_of(manifest)
    put_manifest(args.registry, args.repository, manifest_digest, manifest, OCI_MANIFEST)
    # The registry has no referrers API: add the referrer to the fallback tag's index.
    tag = args.digest.replace(":", "-")
    existing, _ = get_manifest(args.registry, args.repository, tag)
    entries = json.loads(existing)["manifests"] if existing else []
    entries.append({"mediaType": OCI_MANIFEST, "digest": manifest_digest, "size": len(manifest),
                    "artifactType": "application/vnd.dsse.envelope.v1+json",
                    "annotations": {"org.opencontainers.image.created": "2026-01-01T00:00:00Z"}})
    index = canonical({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries})
    put_manifest(args.registry, args.repository, tag, index, OCI_INDEX)
    print(manifest_digest)


def certificate(subject, issuer_name, public_key, signing_key, not_before, not_after, ca, extensions=()):
    # Fulcio's leaf certificates have an empty subject: the identity is in the SAN.
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]) if subject else x509.Name([])
    builder = (x509.CertificateBuilder().subject_name(name)
               .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_name)]))
               .public_key(public_key).serial_number(x509.random_serial_number())
               .not_valid_before(not_before).not_valid_after(not_after)
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)
    return builder.sign(signing_key, hashes.SHA256())


def pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def write_key(path, key):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))


def keyless_ca(args):
    now = datetime.datetime.now(datetime.timezone.utc)
    root_key = ec.generate_private_key(ec.SECP256R1())
    root = certificate("test-fulcio-root", "test-fulcio-root", root_key.public_key(), root_key,
                       now - datetime.timedelta(days=30), now + datetime.timedelta(days=365), True)
    inter_key = ec.generate_private_key(ec.SECP256R1())
    inter = certificate("test-fulcio-intermediate", "test-fulcio-root", inter_key.public_key(), root_key,
                        now - datetime.timedelta(days=30), now + datetime.timedelta(days=365), True)
    with open(args.out + "-root.pem", "wb") as f:
        f.write(pem(root))
    with open(args.out + "-inter.pem", "wb") as f:
        f.write(pem(inter))
    write_key(args.out + "-inter.key", inter_key)


def sign_keyless(args):
    with open(args.ca + "-inter.pem", "rb") as f:
        inter = x509.load_pem_x509_certificate(f.read())
    with open(args.ca + "-root.pem", "rb") as f:
        root = f.read()
    inter_key = load_key(args.ca + "-inter.key")
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    start = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=1)
    issuer_value = args.issuer.encode()
    assert len(issuer_value) < 128
    leaf = certificate("", "test-fulcio-intermediate", leaf_key.public_key(), inter_key, start, start + datetime.timedelta(minutes=10), False, [
        (x509.SubjectAlternativeName([x509.RFC822Name(args.identity)]), True),
        (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), False),
        (x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False, data_encipherment=False,
                       key_agreement=False, key_cert_sign=False, crl_sign=False, encipher_only=False, decipher_only=False), True),
        (x509.UnrecognizedExtension(x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.8"), bytes([0x0C, len(issuer_value)]) + issuer_value), False),
    ])
    payload = canonical({
        "critical": {
            "identity": {"docker-reference": f"{args.registry}/{args.repository}"},
            "image": {"docker-manifest-digest": args.digest},
            "type": "cosign container image signature",
        },
        "optional": None,
    })
    signature = base64.b64encode(leaf_key.sign(payload, ec.ECDSA(hashes.SHA256()))).decode()
    layer = push_blob(args.registry, args.repository, payload)
    config = canonical({"architecture": "", "created": "0001-01-01T00:00:00Z", "os": "", "rootfs": {"type": "layers", "diff_ids": [layer["digest"]]}, "config": {}})
    push_blob(args.registry, args.repository, config)
    manifest = canonical({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest_of(config), "size": len(config)},
        "layers": [{"mediaType": "application/vnd.dev.cosign.simplesigning.v1+json", "digest": layer["digest"], "size": len(payload),
                    "annotations": {"dev.cosignproject.cosign/signature": signature,
                                    "dev.sigstore.cosign/certificate": pem(leaf).decode(),
                                    "dev.sigstore.cosign/chain": (pem(inter) + root).decode()}}],
    })
    put_manifest(args.registry, args.repository, args.digest.replace(":", "-") + ".sig", manifest, OCI_MANIFEST)
    print(digest_of(manifest))


def attach_sbom(args):
    sbom = canonical({"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1, "components": []})
    empty = b"{}"
    push_blob(args.registry, args.repository, empty)
    layer = push_blob(args.registry, args.repository, sbom)
    manifest = canonical({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest_of(empty), "size": 2},
        "layers": [{"mediaType": "application/vnd.cyclonedx+json", "digest": layer["digest"], "size": len(sbom)}],
    })
    put_manifest(args.registry, args.repository, args.digest.replace(":", "-") + ".sbom", manifest, OCI_MANIFEST)
    print(digest_of(manifest))


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("keyless-ca")
    p.add_argument("--out", required=True)
    p = sub.add_parser("sign-keyless")
    for option in ("--registry", "--repository", "--digest", "--ca", "--identity", "--issuer"):
        p.add_argument(option, required=True)
    p = sub.add_parser("keygen")
    p.add_argument("--type", choices=["ecdsa", "rsa", "ed25519"], default="ecdsa")
    p.add_argument("--out", required=True)
    for name in ("sign", "attest", "attach-sbom"):
        p = sub.add_parser(name)
        p.add_argument("--registry", required=True)
        p.add_argument("--repository", required=True)
        p.add_argument("--digest", required=True)
        if name != "attach-sbom":
            p.add_argument("--key", required=True)
        if name == "sign":
            p.add_argument("--docker-reference")
            p.add_argument("--claimed-digest")
        if name == "attest":
            p.add_argument("--tag-scheme", action="store_true")
    args = parser.parse_args()
    {"keygen": keygen, "sign": cosign_sign, "attest": attest, "attach-sbom": attach_sbom,
     "keyless-ca": keyless_ca, "sign-keyless": sign_keyless}[args.command](args)


if __name__ == "__main__":
    main()
