#!/usr/bin/env bash
# The container image test (npm run test:image): builds tserve's image from the packed workspace packages with
# deploy/Containerfile, starts it as KServe would (the image's entrypoint + KServe's flags, its user, env and workdir,
# iris mounted read-only at /mnt/models, a read-only root filesystem with a writable /tmp volume), then checks the
# image's HEALTHCHECK, that the root filesystem really is read-only, a V1 :predict, a gRPC ModelInfer and a graceful
# stop on SIGTERM; then the same for a TypeScript model that imports "@tserve/server" (compiled by tsx, cached on
# /tmp). Prints PASS or FAIL; exits non-zero on failure. Skips (exit 0) when buildah is absent or not root.
#
# buildah (vfs storage, chroot isolation) builds the image. The run uses util-linux `unshare` as a minimal runtime
# over the image's root filesystem, because `buildah run` can give neither a read-only root (it writes mount points
# such as /run/.containerenv into it) nor SIGTERM (it SIGKILLs the command when stopped). The container shares the
# host's network, so the test reaches it on 127.0.0.1.
#
# Usage: scripts/test-image.sh [--keep]   (--keep: keep the image and its build context)
# Environment: BASE_IMAGE, BUILD_IMAGE (default: the local images scripts/build-base-image.sh makes from this
#   machine's node: localhost/tserve-base-node:<node major>[-build]),
#   IMAGE (default localhost/tserve:test), TEST_HTTP_PORT / TEST_GRPC_PORT (default: free ports),
#   TEST_MODEL_ARGS (default "--model_name=iris --model_dir=/mnt/models"), STORAGE_DRIVER (default vfs).
set -euo pipefail

# ---- inner mode: runs inside `unshare --mount --pid --fork`, sets up the container's mounts, then execs ----------
if [ "${1:-}" = "__run-in-image" ]; then
  shift
  rootfs=$1 mnt=$2 tmpvol=$3 models=$4 workdir=$5 uid=$6 gid=$7 envfile=$8
  shift 8
  mount --bind "$rootfs" "$mnt"
  mount -o remount,bind,ro "$mnt"
  mount -t proc -o nosuid,nodev,noexec proc "$mnt/proc"
  mount --rbind /sys "$mnt/sys" && mount -o remount,bind,ro "$mnt/sys"
  mount -t tmpfs -o nosuid,mode=0755,size=65536k tmpfs "$mnt/dev"
  for dev in null zero full random urandom tty; do
    touch "$mnt/dev/$dev" && mount --bind "/dev/$dev" "$mnt/dev/$dev"
  done
  mkdir -p "$mnt/dev/shm" "$mnt/dev/pts"
  mount -t tmpfs -o nosuid,nodev,noexec,mode=1777,size=65536k shm "$mnt/dev/shm"
  ln -s /proc/self/fd "$mnt/dev/fd"
  ln -s /proc/self/fd/0 "$mnt/dev/stdin"; ln -s /proc/self/fd/1 "$mnt/dev/stdout"; ln -s /proc/self/fd/2 "$mnt/dev/stderr"
  mount --bind "$models" "$mnt/mnt/models" && mount -o remount,bind,ro "$mnt/mnt/models"
  mount --bind "$tmpvol" "$mnt/tmp"
  for f in hosts resolv.conf; do
    [ -f "/etc/$f" ] && mount --bind "/etc/$f" "$mnt/etc/$f" && mount -o remount,bind,ro "$mnt/etc/$f"
  done
  mapfile -d '' env_vars < "$envfile"
  exec env -i "${env_vars[@]}" unshare --root="$mnt" --wd="$workdir" --setgid "$gid" --setuid "$uid" -- "$@"
fi

# ---- the test ------------------------------------------------------------------------------------------------------
keep=0
[ "${1:-}" = "--keep" ] && keep=1
if ! command -v buildah >/dev/null 2>&1; then
  echo "buildah not found: skipping the image test"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "the image test needs root (buildah with vfs storage, mount namespaces): skipping the image test"
  exit 0
fi
for tool in unshare nsenter pgrep node npm; do
  command -v "$tool" >/dev/null || { echo "FAIL: $tool not found"; exit 1; }
done

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
export STORAGE_DRIVER=${STORAGE_DRIVER:-vfs}
BUILDAH=(buildah --storage-driver "$STORAGE_DRIVER")
node_major=$(node -p 'process.versions.node.split(".")[0]')
BASE_IMAGE=${BASE_IMAGE:-localhost/tserve-base-node:$node_major}
BUILD_IMAGE=${BUILD_IMAGE:-localhost/tserve-base-node:$node_major-build}
IMAGE=${IMAGE:-localhost/tserve:test}
read -r -a model_args <<< "${TEST_MODEL_ARGS:---model_name=iris --model_dir=/mnt/models}"

work=$(mktemp -d /tmp/tserve-image-test.XXXXXX)
ctr="" runner_pid="" server_pid="" log="" failed=0 reported=0
step() { printf '\n== %s\n' "$*"; }
fail() { echo "FAIL: $*"; failed=1; }
cleanup() {
  local status=$?
  if [ "$status" != 0 ] && [ "$reported" = 0 ]; then echo "FAIL: the image test stopped at an error (exit $status)"; fi
  if [ -n "$runner_pid" ] && kill -0 "$runner_pid" 2>/dev/null; then kill -KILL "$runner_pid" 2>/dev/null || true; fi
  if [ -n "$ctr" ]; then "${BUILDAH[@]}" rm "$ctr" >/dev/null 2>&1 || true; fi
  if [ "$keep" = 0 ]; then
    "${BUILDAH[@]}" rmi "$IMAGE" >/dev/null 2>&1 || true
    rm -rf "$work"
  else
    echo "kept $IMAGE and $work"
  fi
}
trap cleanup EXIT

step "base images"
if [ "$BASE_IMAGE" = "localhost/tserve-base-node:$node_major" ] || [ "$BUILD_IMAGE" = "localhost/tserve-base-node:$node_major-build" ]; then
  scripts/build-base-image.sh --tag "$node_major"  # from this machine's node; skipped when both exist
fi

step "build and pack @tserve/server and the workspace packages it depends on"
mkdir -p "$work/context"
# @tserve/server and the workspace packages it depends on (they are not on the registry while unpublished).
mapfile -t workspaces < <(node -e '
  const fs = require("node:fs"), path = require("node:path");
  const pkgs = new Map();
  for (const d of fs.readdirSync("packages")) {
    const f = path.join("packages", d, "package.json");
    if (fs.existsSync(f)) { const p = JSON.parse(fs.readFileSync(f, "utf8")); pkgs.set(p.name, p); }
  }
  const want = new Set(), visit = (name) => {
    if (want.has(name) || !pkgs.has(name)) return;
    want.add(name);
    for (const dep of Object.keys(pkgs.get(name).dependencies ?? {})) visit(dep);
  };
  visit("@tserve/server");
  console.log([...want].join("\n"));')
[ "${#workspaces[@]}" -gt 0 ] || { reported=1; fail "no @tserve/server workspace under packages/"; exit 1; }
pack_args=()
for w in "${workspaces[@]}"; do pack_args+=(-w "$w"); done
echo "${workspaces[*]}"
npm run build --silent "${pack_args[@]}"
# @tserve/server through its own pack script (onnxruntime-node bundled, its download step removed); the others as they are.
other_args=()
for w in "${workspaces[@]}"; do [ "$w" = "@tserve/server" ] || other_args+=(-w "$w"); done
[ "${#other_args[@]}" -eq 0 ] || npm pack "${other_args[@]}" --pack-destination "$work/context" --silent
node packages/server/scripts/pack.mjs --pack-destination "$work/context" >/dev/null
ls -l "$work/context"

step "build $IMAGE (deploy/Containerfile, BASE_IMAGE=$BASE_IMAGE, BUILD_IMAGE=$BUILD_IMAGE)"
previous=$("${BUILDAH[@]}" images --quiet --no-trunc "$IMAGE" 2>/dev/null | head -1 || true)
"${BUILDAH[@]}" bud --isolation chroot --format docker --quiet \
  --build-arg BASE_IMAGE="$BASE_IMAGE" --build-arg BUILD_IMAGE="$BUILD_IMAGE" \
  -f deploy/Containerfile -t "$IMAGE" "$work/context" >/dev/null
size=$("${BUILDAH[@]}" images --format '{{.Size}}' "$IMAGE" | head -1)
# The image this tag named before (a --keep run) is left untagged by the new one: remove it, unless something uses it.
if [ -n "$previous" ] && [ "$previous" != "$("${BUILDAH[@]}" images --quiet --no-trunc "$IMAGE" | head -1)" ]; then
  "${BUILDAH[@]}" rmi "$previous" >/dev/null 2>&1 || true
fi
echo "built $IMAGE: $size"

# The image's own configuration: what a container runtime (the kubelet's) applies.
"${BUILDAH[@]}" inspect --type image "$IMAGE" > "$work/image.json"
config() { node -e '
  const d = JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8"));
  const c = d.OCIv1.config ?? {}, hc = d.Docker?.config?.Healthcheck?.Test ?? [];
  const v = { entrypoint: c.Entrypoint ?? [], env: c.Env ?? [], user: [c.User || "0"], workdir: [c.WorkingDir || "/"],
    healthcheck: hc[0] === "CMD" ? hc.slice(1) : [] }[process.argv[2]];
  process.stdout.write(v.map((s) => s + "\0").join(""));' "$work/image.json" "$1"; }
mapfile -d '' entrypoint < <(config entrypoint)
mapfile -d '' healthcheck < <(config healthcheck)
config env > "$work/env"
workdir=$(config workdir | tr -d '\0')
user=$(config user | tr -d '\0')

ctr=$("${BUILDAH[@]}" from --pull-never "$IMAGE")
rootfs=$("${BUILDAH[@]}" mount "$ctr")
# Resolve USER (name or number) against the image's own /etc/passwd, as a runtime does.
uid=${user%%:*} gid=""
[[ "$user" == *:* ]] && gid=${user#*:}
if ! [[ "$uid" =~ ^[0-9]+$ ]]; then uid=$(awk -F: -v u="$uid" '$1 == u { print $3 }' "$rootfs/etc/passwd"); fi
[ -n "$gid" ] || gid=$(awk -F: -v u="$uid" '$3 == u { print $4 }' "$rootfs/etc/passwd")
[ -n "$uid" ] && [ -n "$gid" ] || { reported=1; fail "cannot resolve the image's USER '$user'"; exit 1; }
[ "$uid" != 0 ] || fail "the image runs as root (USER '$user')"
mkdir -p "$rootfs/mnt/models"  # the mount point, as the runtime creates it

ports=$(node -e '
  const net = require("node:net");
  const free = () => new Promise((r) => { const s = net.createServer().listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => r(p)); }); });
  Promise.all([free(), free()]).then((p) => console.log(p.join(" ")));')
http_port=${TEST_HTTP_PORT:-${ports% *}}
grpc_port=${TEST_GRPC_PORT:-${ports#* }}

# start NAME MODELS_DIR ARGS…: runs the image's entrypoint with ARGS (+ the ports), MODELS_DIR read-only at
# /mnt/models, a fresh writable /tmp volume at $work/NAME/tmp, and waits until /v2/health/ready answers 200.
start() {
  local name=$1 models_dir=$2; shift 2
  local args=("$@" "--http_port=$http_port" "--grpc_port=$grpc_port")
  mkdir -p "$work/$name/mnt" "$work/$name/tmp"
  chmod 1777 "$work/$name/tmp"  # an emptyDir volume
  log="$work/$name/server.log"
  step "run: ${entrypoint[*]} ${args[*]} (uid $uid:$gid, workdir $workdir, read-only root, /mnt/models read-only, /tmp writable)"
  unshare --mount --propagation private --pid --fork --kill-child -- \
    "$repo/scripts/test-image.sh" __run-in-image "$rootfs" "$work/$name/mnt" "$work/$name/tmp" "$models_dir" "$workdir" \
    "$uid" "$gid" "$work/env" "${entrypoint[@]}" "${args[@]}" > "$log" 2>&1 &
  runner_pid=$!
  local ready=0
  for _ in $(seq 1 180); do  # up to 90 s
    if ! kill -0 "$runner_pid" 2>/dev/null; then break; fi
    if node -e 'fetch(process.argv[1], { signal: AbortSignal.timeout(1000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))' \
      "http://127.0.0.1:$http_port/v2/health/ready" 2>/dev/null; then ready=1; break; fi
    sleep 0.5
  done
  server_pid=$(pgrep -P "$runner_pid" | head -1 || true)
  if [ "$ready" = 0 ]; then
    fail "the server did not become ready"
    echo "--- server log"; cat "$log"
    reported=1
    exit 1
  fi
  echo "ready (server pid $server_pid on the host)"
}

# stop NAME: SIGTERM (the image's STOPSIGNAL) to the server, which must drain and exit 0 within 20 s.
stop() {
  local name=$1 stopped=0 status=0
  kill -TERM "$server_pid"
  for _ in $(seq 1 80); do
    if ! kill -0 "$runner_pid" 2>/dev/null; then stopped=1; break; fi
    sleep 0.25
  done
  if [ "$stopped" = 1 ]; then wait "$runner_pid" || status=$?; runner_pid=""; fi
  if [ "$stopped" = 1 ] && [ "$status" = 0 ] && grep -q "SIGTERM" "$log"; then echo "SIGTERM: drained and exited 0"
  else fail "no graceful stop on SIGTERM (stopped=$stopped, exit $status)"; tail -n 20 "$log"; fi
  echo "written to the /tmp volume: $(cd "$work/$name/tmp" && find . -mindepth 1 | wc -l) entries: $(cd "$work/$name/tmp" && find . -mindepth 1 -maxdepth 1 | tr '\n' ' ')"
  [ ! -e "$work/$name/tmp/.cache/Microsoft" ] || fail "ONNX Runtime's telemetry store was written (is ORT_DISABLE_TELEMETRY set?)"
}

in_container() { # runs a command in the server's namespaces, root and workdir, as the image's user, with its env
  mapfile -d '' env_vars < "$work/env"
  env -i "${env_vars[@]}" TSERVE_HTTP_PORT="$http_port" \
    nsenter --target "$server_pid" --mount --pid --root --wd --setuid "$uid" --setgid "$gid" -- "$@"
}

# post_json URL BODY CHECK: POSTs BODY, prints the answer, evaluates CHECK (a JS expression over `status`, `body`).
post_json() {
  node -e '
    const [url, body, check] = process.argv.slice(1);
    fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body }).then(async (r) => {
      const text = await r.text();
      console.log(r.status, text);
      let parsed; try { parsed = JSON.parse(text); } catch {}
      process.exit(new Function("status", "body", `return (${check});`)(r.status, parsed) ? 0 : 1);
    }, (e) => { console.log(e.cause?.code ?? e.message); process.exit(1); });' "$@"
}

# ---- 1. iris (ONNX), started as KServe starts a predictor ---------------------------------------------------------
start iris "$repo/examples/iris/models/iris" "${model_args[@]}"

step "HEALTHCHECK inside the container: ${healthcheck[*]:0:2} …"
if [ "${#healthcheck[@]}" -eq 0 ]; then fail "the image has no HEALTHCHECK"
elif in_container "${healthcheck[@]}"; then echo "healthy"
else fail "the image's HEALTHCHECK failed"; fi

step "read-only root filesystem"
probe=$(in_container node -e '
  const fs = require("node:fs"), out = [];
  for (const p of ["/opt/tserve/probe", "/etc/probe", "/probe", "/mnt/models/probe", "/tmp/probe"]) {
    try { fs.writeFileSync(p, "x"); fs.rmSync(p); out.push(p + ":writable"); } catch (e) { out.push(p + ":" + e.code); }
  }
  console.log(out.join(" "));' || true)
echo "$probe"
[[ "$probe" == *"/opt/tserve/probe:EROFS"* && "$probe" == *" /probe:EROFS"* && "$probe" == *"/mnt/models/probe:EROFS"* \
   && "$probe" == *"/tmp/probe:writable"* ]] || fail "expected a read-only root and /mnt/models (EROFS), a writable /tmp: $probe"

step "V1 :predict (http://127.0.0.1:$http_port/v1/models/iris:predict)"
if post_json "http://127.0.0.1:$http_port/v1/models/iris:predict" \
  '{"instances": [[6.8, 2.8, 4.8, 1.4], [6.0, 3.4, 4.5, 1.6]]}' \
  'status === 200 && body.predictions.length === 2 && body.predictions.every((row) => row.length === 3 &&
     Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-4 && row.indexOf(Math.max(...row)) === 1)'; then echo "ok"
else fail "V1 :predict"; fi

step "gRPC ModelInfer (127.0.0.1:$grpc_port)"
if node scripts/grpc-probe.mjs "127.0.0.1:$grpc_port" iris; then echo "ok"
else fail "gRPC ModelInfer"; fi

step "stop"
stop iris

# ---- 2. a TypeScript model (compiled by tsx at load time, its cache on /tmp) that imports "@tserve/server" ---------
mkdir -p "$work/ts-model"
cat > "$work/ts-model/model.ts" <<'TS'
import { InvalidInput, Model } from "@tserve/server";

export default class Doubler extends Model {
  override load(): void {
    this.ready = true;
  }
  override predict(body: { instances?: number[] }): { predictions: number[] } {
    if (!Array.isArray(body.instances)) throw new InvalidInput('Expected "instances" to be a list');
    return { predictions: body.instances.map((x: number) => x * 2) };
  }
}
TS
start ts-model "$work/ts-model" --model_name=doubler --model_dir=/mnt/models

step "V1 :predict on the TypeScript model"
if post_json "http://127.0.0.1:$http_port/v1/models/doubler:predict" '{"instances": [1, 2.5]}' \
  'status === 200 && JSON.stringify(body.predictions) === "[2,5]"'; then echo "ok"
else fail "V1 :predict on a TypeScript model"; fi
if post_json "http://127.0.0.1:$http_port/v1/models/doubler:predict" '{"nothing": 1}' \
  'status === 400 && /instances/.test(body.error)'; then echo "ok: InvalidInput from the model's module is a 400"
else fail "InvalidInput thrown by the TypeScript model is not a 400 (is @tserve/server the server's own instance?)"; fi

step "stop"
stop ts-model

echo
reported=1
if [ "$failed" = 0 ]; then
  echo "PASS: $IMAGE ($size) as uid $uid on a read-only root: iris over V1 :predict and gRPC ModelInfer, a TypeScript model, the HEALTHCHECK, graceful SIGTERM"
else
  echo "FAIL: the image test failed (see above)"
  exit 1
fi
