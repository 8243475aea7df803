#!/usr/bin/env bash
# Install the system packages Frontline needs when they are missing (Debian/Ubuntu, apt-get; sudo unless root):
# PostgreSQL server + PostGIS for the embedded database, python3-venv, and GDAL's command-line tools (ogrinfo,
# an OGC API client the tests use). With --test also Chromium, the browser the map tests drive. Fast when
# everything is present, so `make run` stays quick the second time.
set -euo pipefail
for_tests=false
if [ "${1:-}" = "--test" ]; then for_tests=true; fi

have_postgres() { compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; }
have_postgis() { compgen -G "/usr/share/postgresql/*/extension/postgis.control" >/dev/null; }
have_venv() { python3 -c "import ensurepip, venv" 2>/dev/null; }
have_ogrinfo() { command -v ogrinfo >/dev/null; }
have_chromium() { ! $for_tests || command -v chromium >/dev/null; }

if have_postgres && have_postgis && have_venv && have_ogrinfo && have_chromium; then
    exit 0
fi
if ! command -v apt-get >/dev/null; then
    echo "Frontline needs PostgreSQL with PostGIS, python3-venv and gdal-bin; install them with your package" \
         "manager, or set DATABASE_URL to an existing PostGIS database." >&2
    exit 1
fi
SUDO=()
if [ "$(id -u)" -ne 0 ]; then SUDO=(sudo); fi
apt_install() { "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"; }

echo "installing system packages (PostgreSQL, PostGIS, python3-venv, gdal-bin)..." >&2
"${SUDO[@]}" apt-get update -qq
# Debian's postgresql package would otherwise create and start a 'main' cluster we do not use.
"${SUDO[@]}" mkdir -p /etc/postgresql-common
if [ ! -f /etc/postgresql-common/createcluster.conf ]; then
    echo "create_main_cluster = false" | "${SUDO[@]}" tee /etc/postgresql-common/createcluster.conf >/dev/null
fi
packages=()
have_postgres || packages+=(postgresql)
have_venv || packages+=(python3-venv)
have_ogrinfo || packages+=(gdal-bin)
have_chromium || packages+=(chromium)
if [ ${#packages[@]} -gt 0 ]; then apt_install "${packages[@]}"; fi
if ! have_postgis; then
    major=$(basename "$(dirname "$(dirname "$(compgen -G "/usr/lib/postgresql/*/bin/initdb" | sort -V | tail -n 1)")")")
    apt_install "postgresql-${major}-postgis-3"
fi
have_postgres && have_postgis || { echo "PostgreSQL/PostGIS still missing after install" >&2; exit 1; }
