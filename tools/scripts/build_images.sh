#!/usr/bin/env bash
# `make images`: every GT-Vision image, built with podman FROM the local Debian bookworm
# base (tools/scripts/install_containers.sh) and installed offline from the host wheelhouse
# (tools/scripts/build_wheelhouse.sh), then their sizes in var/bench/images.md.
#   gt-vision/admin, gt-vision/streaming, gt-vision/dashboard   docker-compose.yml
#   gt-vision/test-infra, gt-vision/camera-sim                  compose.test.yml
# Layers are cached: a second run with nothing changed takes seconds. Production builds
# the same Dockerfiles with their default (public) base images: `docker compose build`.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
py="${PYTHON:-$root/.venv/bin/python}"
base="${GTV_LOCAL_BASE_IMAGE:-localhost/gtv-debian:bookworm}"
node_image="localhost/gtv-node:20"
tag="${GTV_VERSION:-latest}"
tools/scripts/install_containers.sh >/dev/null
tools/scripts/build_wheelhouse.sh
started=$(date +%s)

ca=/etc/ssl/certs/ca-certificates.crt
build() {  # build NAME DOCKERFILE [podman build options...]
  local name="$1" dockerfile="$2"; shift 2
  local t0; t0=$(date +%s)
  podman build -q --layers --format docker -f "$dockerfile" -t "gt-vision/$name:$tag" \
    --build-arg BASE_IMAGE="$base" "$@" . >/dev/null
  echo "built gt-vision/$name:$tag in $(( $(date +%s) - t0 )) s"
}
offline=(-v "$root/var/wheelhouse:/wheels:ro" --build-arg PIP_NO_INDEX=1
         --build-arg PIP_FIND_LINKS=/wheels)

# Node for the dashboard's build stage: the host's Node (the version `make dashboard`
# uses) on the local base, standing in for the public node:20 image.
if ! podman image exists "$node_image"; then
  node_bin="$(command -v node)"; npm_dir="$(dirname "$(readlink -f "$(command -v npm)")")/.."
  podman build -q --format docker -t "$node_image" -v "$node_bin:/host/node:ro" \
    -v "$(readlink -f "$npm_dir"):/host/npm:ro" -f - . >/dev/null <<DOCKERFILE
FROM $base
RUN apt-get update && apt-get install -y --no-install-recommends libstdc++6 \
 && rm -rf /var/lib/apt/lists/* \
 && cp /host/node /usr/local/bin/node && mkdir -p /usr/local/lib/node_modules \
 && cp -r /host/npm /usr/local/lib/node_modules/npm \
 && ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm
DOCKERFILE
fi

# Five builds at once (most of their time is waiting on the mirror and on pip's unpacking,
# not on the CPUs); the simulator has its own base layers, so it neither waits for the
# streaming image nor is rebuilt when the streaming code changes.
moto="$("$py" -c "import tomllib; print(next(d for d in tomllib.load(open('pyproject.toml','rb'))['project']['optional-dependencies']['dev'] if d.startswith('moto[')))")"
logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT
build admin admin_service/Dockerfile "${offline[@]}" > "$logs/admin" 2>&1 &
build streaming streaming_service/Dockerfile "${offline[@]}" > "$logs/streaming" 2>&1 &
# npm ci from the host's npm cache; what it lacks comes over HTTPS with the host's CAs.
build dashboard dashboard/Dockerfile --build-arg NODE_IMAGE="$node_image" \
  -v "$HOME/.npm:/root/.npm" -v "$ca:/etc/ssl/certs/ca-certificates.crt:ro" \
  --build-arg NPM_CONFIG_CAFILE=/etc/ssl/certs/ca-certificates.crt > "$logs/dashboard" 2>&1 &
build test-infra deploy/compose-test/Dockerfile "${offline[@]}" \
  --build-arg MOTO_REQUIREMENT="$moto" > "$logs/test-infra" 2>&1 &
build camera-sim tools/camera_sim/Dockerfile "${offline[@]}" > "$logs/camera-sim" 2>&1 &
failed=0
for job in $(jobs -p); do wait "$job" || failed=1; done
for name in admin streaming dashboard test-infra camera-sim; do
  grep -E "^built|rror" "$logs/$name" || true
done
if [ "$failed" != 0 ]; then
  for name in admin streaming dashboard test-infra camera-sim; do tail -30 "$logs/$name" >&2; done
  exit 1
fi
total=$(( $(date +%s) - started ))

mkdir -p var/bench
{
  echo "## Container images ($(date -u +%Y-%m-%d), podman $(podman --version | awk '{print $3}'))"
  echo
  echo "Built from the local Debian bookworm base in ${total} s (this run; cached layers are reused)."
  echo
  echo "| image | size |"
  echo "|---|---|"
  for name in admin streaming dashboard test-infra camera-sim; do
    echo "| gt-vision/$name | $(podman image inspect --format '{{.Size}}' "gt-vision/$name:$tag" \
      | awk '{printf "%.0f MB", $1/1e6}') |"
  done
} > var/bench/images.md
cat var/bench/images.md
