#!/bin/sh
# One-shot MinIO bucket setup (the minio/mc image): buckets of SPEC §4 with versioning,
# a 90-day lifecycle and server-side encryption. Idempotent.
set -eu
: "${MINIO_URL:=http://minio:9000}"
: "${GTV_RETENTION_DAYS:=90}"
: "${MINIO_ROOT_USER:?}" "${MINIO_ROOT_PASSWORD:?}"

i=0
until mc alias set gtv "$MINIO_URL" "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD" >/dev/null 2>&1; do
  i=$((i + 1)); [ "$i" -ge 30 ] && { echo "minio not reachable at $MINIO_URL" >&2; exit 1; }
  sleep 2
done

for bucket in recordings snapshots lpr-images lpr-clips exports thumbnails; do
  mc mb --ignore-existing "gtv/$bucket"
  mc version enable "gtv/$bucket"
  mc encrypt set sse-s3 "gtv/$bucket"
  # Current objects expire after the retention; old versions a day after being replaced.
  if ! mc ilm rule ls "gtv/$bucket" 2>/dev/null | grep -q "${GTV_RETENTION_DAYS}"; then
    mc ilm rule add --expire-days "$GTV_RETENTION_DAYS" --noncurrent-expire-days 1 "gtv/$bucket"
  fi
  mc anonymous set none "gtv/$bucket"
done
echo "minio buckets ready"
