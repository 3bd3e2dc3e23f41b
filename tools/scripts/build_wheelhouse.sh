#!/usr/bin/env bash
# Wheels of the project's pinned runtime dependencies (pyproject.toml [project]
# dependencies) in var/wheelhouse, built once on the host from the same index pip uses
# here, then mounted read-only into image builds (tools/scripts/build_images.sh): the
# images install offline, in seconds, and the same files every time. Rebuilt only when
# the pinned list changes.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
py="${PYTHON:-$root/.venv/bin/python}"
out="${1:-$root/var/wheelhouse}"
mkdir -p "$out"
# Plus moto's S3 server (a dev dependency): the object store of compose.test.yml.
"$py" - "$root/pyproject.toml" > "$out/requirements.new" <<'PY'
import sys, tomllib
project = tomllib.load(open(sys.argv[1], "rb"))["project"]
extra = [d for d in project["optional-dependencies"]["dev"] if d.startswith("moto[")]
print("\n".join(project["dependencies"] + extra))
PY
if cmp -s "$out/requirements.new" "$out/requirements.txt" && [ -f "$out/.complete" ]; then
  rm "$out/requirements.new"; exit 0
fi
mv "$out/requirements.new" "$out/requirements.txt"
rm -f "$out/.complete"
echo "building the wheelhouse $out"
"$py" -m pip wheel -q --wheel-dir "$out" -r "$out/requirements.txt" 2> >(grep -v "is ignored" >&2)
# Markers are evaluated for the interpreter that installs: the images' Python (Debian's
# 3.11.2) needs what the host's may not (async-timeout below 3.11.3). pip in the base
# image adds those, from the wheelhouse first, else PyPI over HTTPS with the host's CAs.
base="${GTV_LOCAL_BASE_IMAGE:-localhost/gtv-debian:bookworm}"
podman run --rm -v "$out:/wheels" \
  -v /etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro \
  "$base" sh -c 'python -m venv /tmp/venv && /tmp/venv/bin/pip download -q \
    --disable-pip-version-check --find-links /wheels -d /wheels -r /wheels/requirements.txt'
touch "$out/.complete"
