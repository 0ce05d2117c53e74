#!/bin/sh
# Builds the Dockerfile's two base images on a host that cannot pull from an image registry
# (README, "Docker"): Debian bookworm from Debian's own mirror (debootstrap), and the same with this
# host's Node 20 and npm. Needs root, debootstrap and a running Docker engine
# (Debian: apt-get install debootstrap docker.io). Then:
#   docker build --build-arg NODE_IMAGE=prior-auth-base/node:20 \
#     --build-arg RUNTIME_IMAGE=prior-auth-base/debian:bookworm -t prior-auth-api .
set -eu

MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
NODE=$(command -v node)
NPM_DIR=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
case "$("$NODE" --version)" in
  v20.*) ;;
  *) echo "docker-base-images: this host's node is $("$NODE" --version); the image runs Node 20" >&2; exit 1 ;;
esac

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
ROOT="$WORK/rootfs"

debootstrap --variant=minbase bookworm "$ROOT" "$MIRROR"
# What debian:bookworm-slim leaves out too: package lists and caches, documentation, translations.
rm -rf "$ROOT"/var/lib/apt/lists/* "$ROOT"/var/cache/apt/* "$ROOT"/var/log/* \
  "$ROOT"/usr/share/doc/* "$ROOT"/usr/share/man/* "$ROOT"/usr/share/info/* "$ROOT"/usr/share/locale/*
# The official node images' user (uid and gid 1000), which the Dockerfile runs the server as.
chroot "$ROOT" groupadd --gid 1000 node
chroot "$ROOT" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
tar -C "$ROOT" -c . | docker import - prior-auth-base/debian:bookworm

# The build stage's image: the same, with node and npm (the runtime stage copies only node).
install -D -m 0755 "$NODE" "$ROOT/usr/local/bin/node"
mkdir -p "$ROOT/usr/local/lib/node_modules"
cp -a "$NPM_DIR" "$ROOT/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$ROOT/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$ROOT/usr/local/bin/npx"
# This host's trust store, for npm in the build stages: it reaches the registry as the host does,
# also through a TLS-inspecting proxy. The runtime image (above) does not get it.
install -D -m 0644 /etc/ssl/certs/ca-certificates.crt "$ROOT/etc/ssl/certs/host-ca-certificates.crt"
tar -C "$ROOT" -c . | docker import \
  --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin' \
  --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/host-ca-certificates.crt' \
  - prior-auth-base/node:20

docker image ls 'prior-auth-base/*'
