# Sourced, not run: puts a Node >= 22 first on PATH. Current @pulumi/pulumi requires Node 22+; when the
# system Node is older, install the npm registry's `node` package (Node 24) into .tools/ and use that.
# Contributors on an old system Node can do the same: `source .ci/node-env.sh`.
_node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
_local_node_bin="$(pwd)/.tools/node24/node_modules/.bin"
if [[ -x "$_local_node_bin/node" ]]; then
  export PATH="$_local_node_bin:$PATH"
elif (($(_node_major) < 22)); then
  echo "system node $(node --version 2>/dev/null || echo missing) is older than 22: installing Node 24 into .tools/node24"
  npm install --prefix .tools/node24 --no-save --no-audit --no-fund node@24 >/dev/null
  export PATH="$_local_node_bin:$PATH"
fi
if (($(_node_major) < 22)); then
  echo "Node >= 22 is required, found $(node --version 2>/dev/null || echo none)" >&2
  return 1
fi
unset -f _node_major
unset _local_node_bin
