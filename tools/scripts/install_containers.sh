#!/usr/bin/env bash
# Containers on one Debian host (docs/operations.md, "The stack on one host"): rootful
# podman with runc, the engine settings this kind of VM needs, and the local Debian base
# image every GT-Vision image is built FROM when no registry is reachable. Idempotent:
# each step is skipped when already done, so a second run takes about a second.
#   tools/scripts/install_containers.sh          # packages, containers.conf, base image
# podman-compose itself is a pinned dev dependency of the project (pyproject.toml).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
BASE_IMAGE="${GTV_LOCAL_BASE_IMAGE:-localhost/gtv-debian:bookworm}"
MIRROR="${GTV_DEBIAN_MIRROR:-$(sed -n 's/^URIs: *\(http[^ ]*debian\)$/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)}"
MIRROR="${MIRROR:-http://deb.debian.org/debian}"

packages=(podman runc debootstrap uidmap netavark aardvark-dns iptables)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# crun refuses hybrid cgroups (v1 controllers with a v2 hierarchy, as on this kind of VM)
# and podman's default ulimits exceed what the VM allows containers: runc, and limits the
# kernel grants. Networks by netavark (with aardvark-dns: service names resolve).
conf=/etc/containers/containers.conf
if ! grep -q '^# GT-Vision' "$conf" 2>/dev/null; then
  echo "writing $conf"
  $SUDO mkdir -p /etc/containers
  $SUDO tee -a "$conf" >/dev/null <<'CONF'
# GT-Vision (tools/scripts/install_containers.sh)
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]

[engine]
runtime = "runc"

[network]
network_backend = "netavark"
CONF
fi

# The local base: Debian bookworm (minbase) with Python 3.11, the same Debian and Python
# as the public python:3.11-slim-bookworm that production builds use. Built once.
if ! $SUDO podman image exists "$BASE_IMAGE"; then
  echo "building the local base image $BASE_IMAGE from $MIRROR"
  rootfs="$(mktemp -d /var/tmp/gtv-rootfs.XXXXXX)"
  trap '$SUDO rm -rf "$rootfs"' EXIT
  $SUDO debootstrap --variant=minbase \
    --include=python3,python3-venv,python-is-python3,ca-certificates \
    bookworm "$rootfs" "$MIRROR" >/dev/null
  $SUDO rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/archives/*.deb
  $SUDO tar -C "$rootfs" -c . | $SUDO podman import \
    --change 'CMD ["/bin/bash"]' --change 'ENV LANG=C.UTF-8' - "$BASE_IMAGE" >/dev/null
fi
echo "containers ready: $(podman --version), runtime runc, base image $BASE_IMAGE"
