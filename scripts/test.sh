#!/usr/bin/env bash
# Runs Tocsin's whole test suite on a fresh Debian machine with Python 3.11 and pip:
# installs the system packages the tests use (PostgreSQL, Chromium), the locked Python
# dependencies, then runs the linters, the type checker, the layer contracts and pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v runuser >/dev/null 2>&1 || need+=(util-linux)
# the collectors' tests run the real programs; the REST benchmark uses wrk
command -v prometheus >/dev/null 2>&1 || need+=(prometheus)
[ -x /usr/sbin/mosquitto ] || need+=(mosquitto)
command -v amtool >/dev/null 2>&1 || need+=(prometheus-alertmanager)  # amtool reads Alertmanager's API
command -v influx >/dev/null 2>&1 || need+=(influxdb-client)  # InfluxDB 1.x's shell writes to /write
command -v wrk >/dev/null 2>&1 || need+=(wrk)
command -v pdftotext >/dev/null 2>&1 || need+=(poppler-utils)  # situation reports, read back
[ -x /usr/sbin/nats-server ] || need+=(nats-server)  # the ingest stream of the api and worker roles
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)  # checks deploy/systemd's units
if [ ${#need[@]} -gt 0 ]; then
  echo "installing system packages: ${need[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

python3 -m pip install -q --disable-pip-version-check -r requirements.lock
python3 -m pip install -q --disable-pip-version-check --no-deps -e .

echo "== ruff";          python3 -m ruff check src tests bench
echo "== ruff format";   python3 -m ruff format --check src tests bench
echo "== mypy";          python3 -m mypy src tests
echo "== import-linter"; lint-imports
echo "== pytest";        python3 -m pytest -q -p no:cacheprovider "$@"
