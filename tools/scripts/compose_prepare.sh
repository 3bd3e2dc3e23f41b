#!/usr/bin/env bash
# Prepare a host for `docker compose up`: development secrets (never committed).
#   .secrets/jwt_private.pem, .secrets/jwt_public.pem  RS256 keys (tools/scripts/gen_dev_secrets.py)
#   .secrets/haproxy.pem                               TLS certificate (tools/scripts/gen_dev_cert.sh)
#   .env                                               passwords and keys compose interpolates
# Existing files are kept. Production sets these from its own secret store instead.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
py="${PYTHON:-$root/.venv/bin/python}"; [ -x "$py" ] || py=python3

"$py" tools/scripts/gen_dev_secrets.py "$root"
tools/scripts/gen_dev_cert.sh "$root/.secrets/haproxy.pem"
# Docker bind-mounts file secrets with the host's owner and mode; the containers run as
# other users (10001 services, 99 haproxy, 1000 kong), so the files must be readable.
chmod 0755 .secrets
chmod 0644 .secrets/jwt_private.pem .secrets/jwt_public.pem .secrets/haproxy.pem

rand() { "$py" -c "import secrets; print(secrets.token_urlsafe(${1:-24}))"; }
if [ ! -f .env ]; then
  fernet="$("$py" -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())")"
  kms="$("$py" -c "import base64, os; print('gtv-key:' + base64.b64encode(os.urandom(32)).decode())")"
  umask 077
  sed -e "s|^GTV_POSTGRES_PASSWORD=.*|GTV_POSTGRES_PASSWORD=$(rand)|" \
      -e "s|^GTV_DB_ADMIN_OWNER_PASSWORD=.*|GTV_DB_ADMIN_OWNER_PASSWORD=$(rand)|" \
      -e "s|^GTV_DB_ADMIN_PASSWORD=.*|GTV_DB_ADMIN_PASSWORD=$(rand)|" \
      -e "s|^GTV_DB_STREAMING_OWNER_PASSWORD=.*|GTV_DB_STREAMING_OWNER_PASSWORD=$(rand)|" \
      -e "s|^GTV_DB_STREAMING_PASSWORD=.*|GTV_DB_STREAMING_PASSWORD=$(rand)|" \
      -e "s|^GTV_REDIS_PASSWORD=.*|GTV_REDIS_PASSWORD=$(rand)|" \
      -e "s|^GTV_RABBITMQ_PASSWORD=.*|GTV_RABBITMQ_PASSWORD=$(rand)|" \
      -e "s|^GTV_MINIO_ROOT_PASSWORD=.*|GTV_MINIO_ROOT_PASSWORD=$(rand)|" \
      -e "s|^GTV_MINIO_KMS_SECRET_KEY=.*|GTV_MINIO_KMS_SECRET_KEY=$kms|" \
      -e "s|^GTV_DJANGO_SECRET_KEY=.*|GTV_DJANGO_SECRET_KEY=$(rand 50)|" \
      -e "s|^GTV_CAMERA_CREDENTIALS_KEY=.*|GTV_CAMERA_CREDENTIALS_KEY=$fernet|" \
      -e "s|^GTV_MEDIA_TOKEN_SECRET=.*|GTV_MEDIA_TOKEN_SECRET=$(rand 32)|" \
      -e "s|^GTV_MEDIAMTX_HOOK_TOKEN=.*|GTV_MEDIAMTX_HOOK_TOKEN=$(rand)|" \
      -e "s|^GTV_GRAFANA_ADMIN_PASSWORD=.*|GTV_GRAFANA_ADMIN_PASSWORD=$(rand 16)|" \
      -e "s|^GTV_HAPROXY_STATS_PASSWORD=.*|GTV_HAPROXY_STATS_PASSWORD=$(rand 16)|" \
      deploy/env/compose.env.example > .env
  echo "wrote .env with generated passwords"
else
  echo ".env exists; keeping it"
  # An .env from before the services had database roles of their own: add their passwords.
  for name in GTV_DB_ADMIN_OWNER_PASSWORD GTV_DB_ADMIN_PASSWORD \
              GTV_DB_STREAMING_OWNER_PASSWORD GTV_DB_STREAMING_PASSWORD; do
    if ! grep -q "^$name=." .env; then
      sed -i "/^$name=/d" .env
      echo "$name=$(rand)" >> .env
      echo "added $name to .env"
    fi
  done
fi
echo "ready: docker compose up -d --build"
