#!/usr/bin/env bash
# Install the Debian packages GT-Vision needs on one machine, only those missing.
set -euo pipefail
packages=(ffmpeg haproxy prometheus  # prometheus: promtool for the alert-rule tests
  # alerts that reach a person (amtool, the Alertmanager e2e test) and backups (pgBackRest;
  # the restore drill also uses PostgreSQL's own initdb/pg_ctl)
  prometheus-alertmanager pgbackrest postgresql
  # tools/camera_sim: gst-rtsp-server driven from the system python3, and its fonts
  python3-gi gir1.2-gstreamer-1.0 gir1.2-gst-rtsp-server-1.0 gstreamer1.0-rtsp
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
  fonts-dejavu-core
  # plate OCR: tools/lpr_train renders its training plates with DejaVu, Noto and the faces
  # of the next two lines, and checks readers on Lato, Cantarell and B612 faces;
  # tools/lpr_eval renders the independent evaluation set with Liberation, URW and FreeFont
  fonts-opendin fonts-roboto-unhinted fonts-open-sans fonts-bebas-neue fonts-league-spartan
  fonts-inter fonts-manrope fonts-crosextra-carlito fonts-hack fonts-jetbrains-mono
  fonts-firacode fonts-anonymous-pro fonts-inconsolata fonts-lato fonts-cantarell fonts-b612
  fonts-noto-core fonts-liberation2 fonts-urw-base35 fonts-freefont-ttf
  # opencv-python (needed by rapidocr) loads libGL and GLib
  libgl1 libglib2.0-0
  # the dashboard's browser tests drive Debian's Chromium (never a downloaded browser)
  chromium
  # make bench: HTTP load for the API benchmark
  wrk)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
