#!/usr/bin/env bash
# Installs the Debian 12 packages Redflag builds, tests and runs with. Idempotent: only
# missing packages are installed, so a second run does nothing and needs no network.
# Usage: deploy/install-deps.sh [build|test]   (test adds the peers the tests start)
set -euo pipefail

build_packages=(
  build-essential cmake ninja-build pkg-config
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  tao-pegtl-dev librocksdb-dev prometheus-cpp-dev libcurl4-openssl-dev libyaml-cpp-dev libssl-dev
  libcli11-dev libspdlog-dev libhowardhinnant-date-dev
  libnats-dev libre2-dev
  curl
)
test_packages=(
  libgtest-dev libgmock-dev googletest
  clang-14 libclang-rt-14-dev
  python3-aiosmtpd prometheus prometheus-alertmanager
  nats-server
  dpkg-dev shellcheck systemd
  chromium chromium-driver python3-selenium  # the web console's browser tests
)

wanted=("${build_packages[@]}")
if [[ "${1:-build}" == "test" ]]; then
  wanted+=("${test_packages[@]}")
fi

missing=()
for p in "${wanted[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# The web console's chart library comes from `npm ci` in ui/ at build time
# (ui/package-lock.json). Any npm on PATH will do: a machine whose Node.js comes from
# NodeSource already has one, and Debian's npm package conflicts with that nodejs.
if ! command -v npm >/dev/null; then
  missing+=(npm)
fi

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "deploy/install-deps.sh: all ${#wanted[@]} packages present"
  exit 0
fi

echo "deploy/install-deps.sh: installing ${missing[*]}"
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
# The Debian packages of prometheus and alertmanager enable system services; the tests
# start their own instances on free loopback ports, so the system ones are not needed.
if [[ " ${missing[*]} " == *" prometheus "* ]] && command -v systemctl >/dev/null && [[ -d /run/systemd/system ]]; then
  "${sudo_cmd[@]}" systemctl disable --now prometheus prometheus-node-exporter prometheus-alertmanager 2>/dev/null || true
fi
