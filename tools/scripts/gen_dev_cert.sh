#!/usr/bin/env bash
# Generate a self-signed development TLS certificate for HAProxy (never committed).
# Usage: tools/scripts/gen_dev_cert.sh [OUTPUT_PEM]   (default: .secrets/haproxy.pem)
# The PEM holds the certificate followed by its private key, the form HAProxy's `crt` wants.
# Idempotent: an existing certificate valid for at least another day is kept.
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
out="${1:-$root/.secrets/haproxy.pem}"
hosts="${GTV_TLS_HOSTS:-localhost,127.0.0.1,haproxy}"

if [ -s "$out" ] && openssl x509 -in "$out" -noout -checkend 86400 >/dev/null 2>&1; then
  echo "$out exists and is valid; keeping it"
  exit 0
fi

mkdir -p "$(dirname "$out")"
chmod 700 "$(dirname "$out")" 2>/dev/null || true
san=""
IFS=',' read -ra names <<<"$hosts"
for h in "${names[@]}"; do
  if [[ "$h" =~ ^[0-9.]+$ || "$h" == *:* ]]; then san+="IP:$h,"; else san+="DNS:$h,"; fi
done
san="${san%,}"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days "${GTV_TLS_DAYS:-365}" \
  -subj "/O=GT-Vision development/CN=${names[0]}" \
  -addext "subjectAltName=$san" \
  -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign" \
  -addext "extendedKeyUsage=serverAuth" \
  -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null
umask 077
cat "$tmp/cert.pem" "$tmp/key.pem" >"$out"
chmod 600 "$out"
echo "wrote development TLS certificate to $out (SAN: $san)"
