#!/usr/bin/env bash
# Builds the Flink 1.17.1 image the runtime tests run, from Debian's and PyPI's packages only (no
# registry on the internet is reachable from CI): a bullseye minbase root filesystem with
# openjdk-11-jre-headless (the official image's Java 11), and Flink 1.17.1 from PyPI's
# apache-flink-libraries (lib/, opt/, plugins/) and apache-flink (bin/, conf/) source archives,
# laid out as the official image lays it out: /opt/flink owned by flink (9999:9999),
# /docker-entrypoint.sh (scripts/flink-image/, written after the official one's behaviour).
#
# The result is an OCI image layout with two gzip layers (OS + Java, Flink), ref "1.17.1", in
# .build-flink/image. Every stage is cached under .build-flink/ (ignored by git) and the finished
# layout also under /var/cache/airgap-tests/flink-image-<hash of this script and the entrypoint>,
# so a second run on the same machine copies it instead of rebuilding; with neither cache the
# script builds from scratch (a new CI machine). Layer bytes depend only on the file tree (names
# sorted, mtimes clamped, numeric owners, gzip without name/time), so repacking gives the same
# digests.
#
# Usage: scripts/build-flink-image.sh   -> prints the layout's path on stdout.
# Needs root (debootstrap, chroot, file owners), debootstrap, python3 with pip, gzip, GNU tar.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
work="$root/.build-flink"
layout="$work/image"
flink_version=1.17.1
suite=bullseye
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
entrypoint="$root/scripts/flink-image/docker-entrypoint.sh"
key=$(cat "$0" "$entrypoint" | sha256sum | cut -c1-16)
shared_cache=/var/cache/airgap-tests/flink-image-$key

log() { echo "build-flink-image: $*" >&2; }

if [ "$(id -u)" != 0 ]; then
  log "needs root (debootstrap, chroot and file owners 9999 in the image): run it as root"
  exit 1
fi
mkdir -p "$work"

if [ -f "$layout/.key" ] && [ "$(cat "$layout/.key")" = "$key" ]; then
  echo "$layout"
  exit 0
fi
if [ -f "$shared_cache/.key" ] && [ "$(cat "$shared_cache/.key")" = "$key" ]; then
  log "copying the image built earlier on this machine from $shared_cache"
  rm -rf "$layout.tmp" && cp -a "$shared_cache" "$layout.tmp"
  rm -rf "$layout" && mv "$layout.tmp" "$layout"
  echo "$layout"
  exit 0
fi

started=$(date +%s)

# 1. Flink from PyPI (source archives: they carry the JARs and scripts as the binary release does).
downloads="$work/downloads"
# Any pip will do; the venv scripts/install-deps.sh makes has one where Debian's python3 has none.
pip_python=python3
python3 -m pip --version >/dev/null 2>&1 || pip_python="$root/.build-py/venv/bin/python"
mkdir -p "$downloads"
for package in apache-flink-libraries apache-flink; do
  if [ ! -f "$downloads/$package-$flink_version.tar.gz" ]; then
    log "downloading $package $flink_version from PyPI"
    "$pip_python" -m pip download -q --disable-pip-version-check --no-deps --no-binary :all: \
      -d "$downloads" "$package==$flink_version" >&2
  fi
done

# 2. Debian bullseye minbase with Java 11 and what the entrypoint calls (envsubst, gosu, jemalloc).
base="$work/rootfs-base"
if [ ! -f "$base/.done" ]; then
  log "debootstrap $suite (a few minutes)"
  rm -rf "$base.tmp"
  debootstrap --variant=minbase "$suite" "$base.tmp" "$mirror" >"$work/debootstrap.log" 2>&1 ||
    { tail -20 "$work/debootstrap.log" >&2; log "debootstrap failed (log: $work/debootstrap.log)"; exit 1; }
  # ca-certificates-java runs java in its postinst: that needs /proc.
  mount -t proc proc "$base.tmp/proc"
  trap 'umount "$base.tmp/proc" 2>/dev/null || true' EXIT
  chroot "$base.tmp" /bin/sh -c 'export DEBIAN_FRONTEND=noninteractive;
    apt-get install -y -qq --no-install-recommends openjdk-11-jre-headless gettext-base gosu libjemalloc2 &&
    groupadd --system --gid 9999 flink &&
    useradd --system --home-dir /opt/flink --uid 9999 --gid flink flink &&
    apt-get clean' >>"$work/debootstrap.log" 2>&1 ||
    { tail -20 "$work/debootstrap.log" >&2; log "installing Java into the root filesystem failed"; exit 1; }
  umount "$base.tmp/proc"
  trap - EXIT
  # Nothing a running Flink reads: documentation, apt's indexes and caches, logs of the build.
  (cd "$base.tmp" && rm -rf usr/share/doc/* usr/share/man/* usr/share/info/* usr/share/locale/* \
    usr/share/lintian var/lib/apt/lists/* var/cache/apt/* var/cache/debconf/*-old var/lib/dpkg/*-old \
    var/log/* etc/machine-id etc/hostname etc/resolv.conf dev/* tmp/* run/*)
  touch "$base.tmp/.done"
  rm -rf "$base" && mv "$base.tmp" "$base"
fi

# 3. /opt/flink as in the official image: bin conf lib opt plugins log, owned by flink.
flink="$work/rootfs-flink"
rm -rf "$flink" && mkdir -p "$flink/opt/flink/log" "$flink/unpack"
tar -xzf "$downloads/apache-flink-libraries-$flink_version.tar.gz" -C "$flink/unpack"
tar -xzf "$downloads/apache-flink-$flink_version.tar.gz" -C "$flink/unpack"
libs="$flink/unpack/apache-flink-libraries-$flink_version/deps"
scripts="$flink/unpack/apache-flink-$flink_version/deps"
cp -r "$scripts/bin" "$scripts/conf" "$flink/opt/flink/"
# PyFlink's launchers have no Python in this image.
rm -f "$flink"/opt/flink/bin/pyflink-* "$flink"/opt/flink/bin/*.bat
cp -r "$libs/lib" "$libs/plugins" "$libs/licenses" "$flink/opt/flink/"
cp "$libs/bin/bash-java-utils.jar" "$flink/opt/flink/bin/"
# opt/ as the official image has it, as far as PyPI carries it: the SQL client (the bootstrap
# Job's client) and flink-python, which sql-client.sh loads to parse its options. PyPI's archives
# carry no flink-sql-gateway (the SQL client's embedded mode needs it) and no flink-s3-fs-*
# plugin, so this image has neither: a chart that enables S3 fails as the official entrypoint does.
mkdir -p "$flink/opt/flink/opt"
cp "$libs/opt/flink-sql-client-$flink_version.jar" "$libs/opt/flink-python-$flink_version.jar" "$flink/opt/flink/opt/"
rm -rf "$flink/unpack"
# The official image's Dockerfile binds REST and RPC to every interface and drops taskmanager.host.
conf="$flink/opt/flink/conf/flink-conf.yaml"
sed -i -e 's/^rest.address: localhost/rest.address: 0.0.0.0/' \
  -e 's/^rest.bind-address: localhost/rest.bind-address: 0.0.0.0/' \
  -e 's/^jobmanager.bind-host: localhost/jobmanager.bind-host: 0.0.0.0/' \
  -e 's/^taskmanager.bind-host: localhost/taskmanager.bind-host: 0.0.0.0/' \
  -e '/^taskmanager.host: localhost/d' "$conf"
install -m 0755 "$entrypoint" "$flink/docker-entrypoint.sh"
chown -R 9999:9999 "$flink/opt/flink"
chmod -R u+rwX,go+rX,go-w "$flink/opt/flink"

# 4. The OCI layout: one gzip layer per tree, config and manifest written reproducibly.
layer() { # DIR OUT: a tar of DIR's content whose bytes depend only on the tree
  tar --sort=name --mtime=@0 --numeric-owner --format=posix \
    --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
    --exclude=./.done -C "$1" -cf "$2.tar" .
  sha256sum "$2.tar" | cut -d' ' -f1 >"$2.diffid"
  gzip -n -6 <"$2.tar" >"$2" && rm "$2.tar"
}
log "packing the layers"
rm -rf "$layout.tmp" && mkdir -p "$layout.tmp/blobs/sha256"
layer "$base" "$work/layer-base.tar.gz"
layer "$flink" "$work/layer-flink.tar.gz"
java_home=$(cd "$base" && ls -d usr/lib/jvm/java-11-openjdk-*)
python3 - "$layout.tmp" "$work" "/$java_home" "$(dpkg --print-architecture)" <<'PY'
import hashlib, json, os, shutil, sys
out, work, java_home, arch = sys.argv[1:]

def blob(data=None, path=None):
    if path is not None:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        digest = h.hexdigest()
        shutil.copyfile(path, os.path.join(out, "blobs", "sha256", digest))
        size = os.path.getsize(path)
    else:
        digest = hashlib.sha256(data).hexdigest()
        with open(os.path.join(out, "blobs", "sha256", digest), "wb") as f:
            f.write(data)
        size = len(data)
    return {"digest": "sha256:" + digest, "size": size}

layers, diff_ids = [], []
for name in ("layer-base.tar.gz", "layer-flink.tar.gz"):
    path = os.path.join(work, name)
    layers.append(dict(mediaType="application/vnd.oci.image.layer.v1.tar+gzip", **blob(path=path)))
    diff_ids.append("sha256:" + open(path + ".diffid").read().strip())
created = "2023-05-25T00:00:00Z"
config = {
    "created": created, "architecture": arch, "os": "linux",
    "config": {
        "Env": ["PATH=/opt/flink/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "JAVA_HOME=" + java_home, "FLINK_HOME=/opt/flink"],
        "Entrypoint": ["/docker-entrypoint.sh"], "Cmd": ["help"], "WorkingDir": "/opt/flink",
        "ExposedPorts": {"6123/tcp": {}, "8081/tcp": {}},
        "Labels": {"org.opencontainers.image.version": "1.17.1",
                   "org.opencontainers.image.description": "airgap test image: Flink 1.17.1 from PyPI on Debian bullseye"},
    },
    "rootfs": {"type": "layers", "diff_ids": diff_ids},
    "history": [{"created": created, "created_by": "debootstrap bullseye + openjdk-11-jre-headless"},
                {"created": created, "created_by": "Flink 1.17.1 from PyPI apache-flink(-libraries)"}],
}
encode = lambda o: json.dumps(o, sort_keys=True, separators=(",", ":")).encode()
manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": dict(mediaType="application/vnd.oci.image.config.v1+json", **blob(encode(config))),
            "layers": layers}
entry = dict(mediaType="application/vnd.oci.image.manifest.v1+json", **blob(encode(manifest)),
             annotations={"org.opencontainers.image.ref.name": "1.17.1"})
with open(os.path.join(out, "index.json"), "wb") as f:
    f.write(encode({"schemaVersion": 2, "manifests": [entry]}))
with open(os.path.join(out, "oci-layout"), "wb") as f:
    f.write(encode({"imageLayoutVersion": "1.0.0"}))
PY
rm -f "$work"/layer-*.tar.gz "$work"/layer-*.diffid
echo "$key" >"$layout.tmp/.key"
rm -rf "$layout" && mv "$layout.tmp" "$layout"
if mkdir -p "$(dirname "$shared_cache")" 2>/dev/null; then
  rm -rf "$shared_cache.tmp" && cp -a "$layout" "$shared_cache.tmp" && rm -rf "$shared_cache" &&
    mv "$shared_cache.tmp" "$shared_cache" || log "could not keep a copy in $shared_cache (not needed)"
fi
log "built in $(($(date +%s) - started)) s: $(du -sh "$layout" | cut -f1)"
echo "$layout"
