#!/bin/sh
# Mirror GT-Vision's object storage to a second site (MinIO client `mc`), hourly from cron
# or a Kubernetes CronJob. Versioning and lifecycle stay on the source (deploy/minio/
# setup.sh); the mirror keeps deleted objects (no --remove), so a bad purge or a
# ransomware wipe of the source is recoverable from the mirror for its own retention.
#   GTV_MIRROR_SOURCE   mc alias of the production MinIO (default: gtv)
#   GTV_MIRROR_TARGET   mc alias of the off-site copy  (default: gtv-dr)
# Restore a bucket: the same command with source and target swapped (docs/operations.md).
set -eu
src=${GTV_MIRROR_SOURCE:-gtv}
dst=${GTV_MIRROR_TARGET:-gtv-dr}
# recordings (video), exports (evidence handed to the police/courts), lpr-images (plate
# crops, the alerts' evidence) and snapshots; thumbnails are regenerated, not mirrored.
for bucket in recordings exports lpr-images snapshots; do
  mc mb --ignore-existing --with-versioning "$dst/$bucket"
  mc mirror --overwrite --preserve --quiet "$src/$bucket" "$dst/$bucket"
done
