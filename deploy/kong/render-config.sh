#!/bin/sh
# Render Kong's declarative config from the committed template and the environment, then
# exec the given command (the image's entrypoint). POSIX sh + awk: runs in the Kong image.
#   KONG_TEMPLATE            template path            (default /kong/kong.yml)
#   KONG_DECLARATIVE_CONFIG  rendered output           (default /tmp/kong.yml)
#   GTV_JWT_PUBLIC_KEY_FILE  admin service public key  (default /run/secrets/jwt_public_key)
#   GTV_JWT_PUBLIC_KEY       the same key inline (PEM; "\n" escapes allowed), wins if set
#   GTV_CORS_ORIGINS         comma-separated origins   (default the local gateway's)
set -eu

template="${KONG_TEMPLATE:-/kong/kong.yml}"
out="${KONG_DECLARATIVE_CONFIG:-/tmp/kong.yml}"
key_file="${GTV_JWT_PUBLIC_KEY_FILE:-/run/secrets/jwt_public_key}"
origins="${GTV_CORS_ORIGINS:-http://localhost:8080,https://localhost:8443,http://127.0.0.1:8080,https://127.0.0.1:8443}"

if [ -n "${GTV_JWT_PUBLIC_KEY:-}" ]; then
  key_file="$(mktemp)"
  printf '%b\n' "$GTV_JWT_PUBLIC_KEY" >"$key_file"
fi
if ! grep -q "BEGIN PUBLIC KEY" "$key_file" 2>/dev/null; then
  echo "render-config: no RS256 public key in $key_file (set GTV_JWT_PUBLIC_KEY[_FILE])" >&2
  exit 1
fi

mkdir -p "$(dirname "$out")"
awk -v keyfile="$key_file" -v origins="$origins" '
  /__GTV_JWT_PUBLIC_KEY__/ {
    indent = substr($0, 1, index($0, "__GTV") - 1)
    while ((getline line < keyfile) > 0) if (line != "") print indent line
    close(keyfile); next
  }
  /- __GTV_CORS_ORIGINS__/ {
    indent = substr($0, 1, index($0, "-") - 1)
    n = split(origins, list, ",")
    for (i = 1; i <= n; i++) if (list[i] != "") print indent "- \"" list[i] "\""
    next
  }
  { print }
' "$template" >"$out"
echo "render-config: wrote $out"

if [ "$#" -gt 0 ]; then exec "$@"; fi
