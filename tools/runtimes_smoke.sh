#!/usr/bin/env bash
# Smoke test of the package on Node.js (>= 20) or Bun: bundles the two entry points (mod.ts and
# interceptor/werift.ts, werift left external) with `deno bundle` into a temporary directory, and
# runs tests/runtimes/smoke.mjs there once with each end of the supported werift range, the werift
# package taken from the node_modules that `deno install` fills from the lockfile.
#
# Usage: bash tools/runtimes_smoke.sh node|bun
# Bun comes from the npm registry's `bun` package when `bun` is not on PATH at BUN_VERSION.
set -euo pipefail
cd "$(dirname "$0")/.."

BUN_VERSION=1.4.5
runtime=${1:-}
case "$runtime" in
  node)
    if ! command -v node >/dev/null 2>&1; then
      echo "node is not on PATH"
      exit 1
    fi
    major=$(node -p 'process.versions.node.split(".")[0]')
    if [ "$major" -lt 20 ]; then
      echo "Node.js $(node --version) is older than 20, the oldest supported"
      exit 1
    fi
    run=(node)
    ;;
  bun)
    if command -v bun >/dev/null 2>&1 && [ "$(bun --version)" = "$BUN_VERSION" ]; then
      run=(bun)
    else
      bun_path=$(npx --yes "bun@${BUN_VERSION}" -e 'console.log(process.execPath)' 2>/dev/null | tail -n 1)
      if [ -z "$bun_path" ] || [ ! -x "$bun_path" ]; then
        echo "Could not install Bun ${BUN_VERSION} from the npm registry"
        exit 1
      fi
      run=("$bun_path")
    fi
    ;;
  *)
    echo "Usage: bash tools/runtimes_smoke.sh node|bun"
    exit 2
    ;;
esac

deno install --frozen --quiet

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
deno bundle --quiet --platform=browser --format=esm --external werift --code-splitting \
  --outdir "$out/dist" mod.ts interceptor/werift.ts

for alias in werift-newest werift-oldest; do
  version=$(deno eval --quiet "
    const { imports } = JSON.parse(Deno.readTextFileSync('deno.json'));
    console.log(imports['$alias'].replace(/^npm:werift@/, ''));")
  package="$PWD/node_modules/.deno/werift@${version}/node_modules/werift"
  if [ ! -f "$package/package.json" ]; then
    echo "werift ${version} is not in node_modules (run deno install)"
    exit 1
  fi
  # An application's layout: the bundle, and werift in the node_modules beside it.
  app="$out/$alias"
  mkdir -p "$app/node_modules"
  cp -r "$out/dist" "$app/dist"
  ln -s "$package" "$app/node_modules/werift"
  echo "== ${runtime}, werift ${version} (${alias})"
  timeout 120 "${run[@]}" tests/runtimes/smoke.mjs "$app/dist" --werift
done
