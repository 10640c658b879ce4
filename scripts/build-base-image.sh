#!/usr/bin/env bash
# Builds tserve's local base images from this machine's own `node`, with no registry pull:
#   localhost/tserve-base-node:<major>        node + the shared libraries it and the native addons (onnxruntime-node,
#                                             sharp) load, /etc/passwd + group (uid 1000 "tserve"), a CA bundle, /tmp.
#                                             No shell, no package manager (a distroless-style runtime base).
#   localhost/tserve-base-node:<major>-build  the same + npm (for deploy/Containerfile's install stage).
# Idempotent: an image that already exists is kept unless --force is given.
#
# Usage: scripts/build-base-image.sh [--force] [--name localhost/tserve-base-node] [--tag 20] [--ca-bundle FILE]
# Needs root (or a working rootless buildah) and buildah; uses the vfs storage driver and chroot isolation, which
# work without a Docker engine, overlayfs or user namespaces.
set -euo pipefail

name=localhost/tserve-base-node
tag=""
force=0
ca_bundle=/etc/ssl/certs/ca-certificates.crt
while [ $# -gt 0 ]; do
  case "$1" in
    --force) force=1 ;;
    --name) name="$2"; shift ;;
    --name=*) name="${1#*=}" ;;
    --tag) tag="$2"; shift ;;
    --tag=*) tag="${1#*=}" ;;
    --ca-bundle) ca_bundle="$2"; shift ;;
    --ca-bundle=*) ca_bundle="${1#*=}" ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "build-base-image: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

command -v buildah >/dev/null || { echo "build-base-image: buildah not found" >&2; exit 1; }
BUILDAH=(buildah --storage-driver "${STORAGE_DRIVER:-vfs}")

node_bin=$(readlink -f "$(command -v node)")
node_version=$("$node_bin" -p process.versions.node)
[ -n "$tag" ] || tag=${node_version%%.*}
npm_dir=$(dirname "$(readlink -f "$(command -v npm)")")/..
npm_dir=$(cd "$npm_dir" && pwd)
runtime_ref="$name:$tag"
build_ref="$name:$tag-build"
repo_root=$(cd "$(dirname "$0")/.." && pwd)

image_exists() { "${BUILDAH[@]}" inspect --type image "$1" >/dev/null 2>&1; }

if [ "$force" = 0 ] && image_exists "$runtime_ref" && image_exists "$build_ref"; then
  echo "build-base-image: $runtime_ref and $build_ref exist (--force rebuilds them)"
  exit 0
fi

# With --force, the images these tags named before become untagged: remove them once replaced (unless still used).
previous=()
for ref in "$runtime_ref" "$build_ref"; do
  id=$("${BUILDAH[@]}" images --quiet --no-trunc "$ref" 2>/dev/null | head -1 || true)
  [ -z "$id" ] || previous+=("$id")
done

ctr=""
cleanup() { if [ -n "$ctr" ]; then "${BUILDAH[@]}" rm "$ctr" >/dev/null 2>&1 || true; fi; }
trap cleanup EXIT

# The shared libraries to copy: node's own, those the native addons of onnxruntime-node and sharp load (found in
# this checkout's node_modules when present), and a fixed glibc set those addons are known to need, so the image does
# not depend on whether node_modules is installed.
declare -A libs=()
add_ldd() { # every "=> /path" and the interpreter line of ldd's output, except libraries inside node_modules
  local line path
  while read -r line; do
    case "$line" in
      *"=> not found"*) echo "build-base-image: $1 needs a library this machine lacks: $line" >&2; exit 1 ;;
      *"=> /"*) path=${line#*=> }; path=${path%% (*} ;;
      /*) path=${line%% (*} ;;
      *) continue ;;
    esac
    case "$path" in */node_modules/*) continue ;; esac
    libs["$path"]=1
  done < <(ldd "$1" 2>/dev/null || true)
}
add_ldd "$node_bin"
shopt -s nullglob
for addon in "$repo_root"/node_modules/onnxruntime-node/bin/napi-v*/linux/*/* \
             "$repo_root"/node_modules/@img/sharp-linux*/lib/*.node \
             "$repo_root"/node_modules/@img/sharp-libvips-linux*/lib/*.so*; do
  [ -f "$addon" ] && add_ldd "$addon"
done
shopt -u nullglob
for soname in libc.so.6 libm.so.6 libdl.so.2 librt.so.1 libpthread.so.0 libresolv.so.2 libstdc++.so.6 libgcc_s.so.1; do
  path=$(ldconfig -p | awk -v s="$soname" '$1 == s && /x86-64|AArch64|64bit/ { print $NF; exit }')
  [ -n "$path" ] || path=$(ldconfig -p | awk -v s="$soname" '$1 == s { print $NF; exit }')
  [ -n "$path" ] && libs["$path"]=1
done

echo "build-base-image: building $runtime_ref from node $node_version ($node_bin)"
ctr=$("${BUILDAH[@]}" from scratch)
root=$("${BUILDAH[@]}" mount "$ctr")

# Mirror the host's merged-/usr layout (/lib -> usr/lib, …) so the paths ldd printed resolve the same way inside.
for top in bin sbin lib lib32 lib64 libx32; do
  if [ -L "/$top" ]; then ln -s "$(readlink "/$top")" "$root/$top"; mkdir -p "$root/$(readlink -f "/$top")"; fi
done

copy_lib() { # copy the real file, then recreate the name ldd used as a symlink to it when the names differ
  local path=$1 real dir
  real=$(readlink -f "$path")
  dir=$(dirname "$real")
  mkdir -p "$root$dir"
  cp -p "$real" "$root$real"
  local link_dir; link_dir=$(readlink -f "$(dirname "$path")")
  if [ "$link_dir/$(basename "$path")" != "$real" ]; then
    mkdir -p "$root$link_dir"
    ln -sf "$real" "$root$link_dir/$(basename "$path")"
  fi
}
for lib in "${!libs[@]}"; do copy_lib "$lib"; done

mkdir -p "$root/usr/local/bin" "$root/etc/ssl/certs" "$root/etc/ld.so.conf.d" "$root/tmp" "$root/root" \
  "$root/home/tserve" "$root/var/tmp"
cp -p "$node_bin" "$root/usr/local/bin/node"
chmod 1777 "$root/tmp" "$root/var/tmp"
chmod 0700 "$root/root"
chown 1000:1000 "$root/home/tserve"

# The loader finds the libraries through ld.so.cache, like on the host.
grep -hv '^\s*\(#\|include\|$\)' /etc/ld.so.conf /etc/ld.so.conf.d/*.conf 2>/dev/null | sort -u > "$root/etc/ld.so.conf" || true
ldconfig -r "$root"

cat > "$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/sbin/nologin
tserve:x:1000:1000:tserve:/home/tserve:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
EOF
cat > "$root/etc/group" <<'EOF'
root:x:0:
tserve:x:1000:
nogroup:x:65534:
EOF
cat > "$root/etc/nsswitch.conf" <<'EOF'
passwd: files
group: files
hosts: files dns
EOF
touch "$root/etc/hosts" "$root/etc/resolv.conf"
if [ -f "$ca_bundle" ]; then
  cp -L "$ca_bundle" "$root/etc/ssl/certs/ca-certificates.crt"
else
  echo "build-base-image: no CA bundle at $ca_bundle: the image has none (Node still has its built-in roots)" >&2
fi
chmod -R a+rX "$root/etc" "$root/usr"

# Prove the image before committing it: node starts and loads its libraries from the image alone.
"${BUILDAH[@]}" run --isolation chroot "$ctr" -- /usr/local/bin/node -e 'require("node:crypto").randomUUID()' >/dev/null

"${BUILDAH[@]}" umount "$ctr" >/dev/null
created=$(date -u +%Y-%m-%dT%H:%M:%SZ)
"${BUILDAH[@]}" config \
  --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --env NODE_VERSION="$node_version" \
  --workingdir / \
  --cmd '["node"]' \
  --label org.opencontainers.image.title=tserve-base-node \
  --label org.opencontainers.image.description="node $node_version and the libraries it needs, copied from the build host" \
  --label org.opencontainers.image.created="$created" \
  "$ctr"
"${BUILDAH[@]}" commit --quiet --rm "$ctr" "$runtime_ref" >/dev/null
ctr=""
echo "build-base-image: built $runtime_ref"

# The build flavour: + npm (and a global npmrc that trusts the image's CA bundle, as the host's npm does).
echo "build-base-image: building $build_ref (+ npm $(node "$npm_dir/bin/npm-cli.js" --version 2>/dev/null))"
ctr=$("${BUILDAH[@]}" from "$runtime_ref")
root=$("${BUILDAH[@]}" mount "$ctr")
mkdir -p "$root/usr/local/lib/node_modules" "$root/usr/local/etc"
cp -a "$npm_dir" "$root/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
if [ -f "$root/etc/ssl/certs/ca-certificates.crt" ]; then
  printf 'cafile=/etc/ssl/certs/ca-certificates.crt\nupdate-notifier=false\n' > "$root/usr/local/etc/npmrc"
fi
"${BUILDAH[@]}" run --isolation chroot "$ctr" -- /usr/local/bin/node /usr/local/lib/node_modules/npm/bin/npm-cli.js --version >/dev/null
"${BUILDAH[@]}" umount "$ctr" >/dev/null
"${BUILDAH[@]}" config --label org.opencontainers.image.title=tserve-base-node-build \
  --label org.opencontainers.image.description="node $node_version + npm, copied from the build host" "$ctr"
"${BUILDAH[@]}" commit --quiet --rm "$ctr" "$build_ref" >/dev/null
ctr=""
echo "build-base-image: built $build_ref"
for id in ${previous[@]+"${previous[@]}"}; do
  "${BUILDAH[@]}" rmi "$id" >/dev/null 2>&1 || true
done
