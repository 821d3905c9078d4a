#!/usr/bin/env bash
# Installs what the closed-loop e2e test (deno task e2e) needs from Debian's packages: chromium
# (driven by npm:playwright-core, which never downloads a browser), iproute2 (ip netns, tc) and
# tcpdump (records the call for the replay check).
# Idempotent: does nothing when both are there. Needs root to install.
set -euo pipefail

need=()
[ -x /usr/lib/chromium/chromium ] || need+=(chromium)
{ command -v ip && command -v tc; } >/dev/null 2>&1 || need+=(iproute2)
command -v tcpdump >/dev/null 2>&1 || need+=(tcpdump)
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "The e2e test needs ${need[*]}; installing them needs root (apt-get install -y ${need[*]})" >&2
  exit 1
fi
echo "Installing ${need[*]} from Debian's packages"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${need[@]}" >/dev/null
[ -x /usr/lib/chromium/chromium ] && command -v tc >/dev/null && command -v tcpdump >/dev/null
