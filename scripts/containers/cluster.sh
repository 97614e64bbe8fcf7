# Sourced by test-cluster.sh and benchmarks/bench_cluster.sh: starts docker/compose.yaml's
# master and two workers (building the Spark image if needed) under a project of its own, with
# ports on free 127.0.0.1 ports; `submit CMD` runs CMD in a `submit` container; everything it
# started (containers, network, volume) is removed on exit, also on failure.
source "$(dirname "${BASH_SOURCE[0]}")/engine.sh"
cd "$REPO"

PROJECT="flmprep-${CLUSTER_NAME:-cluster}-$$"
if [ "$ENGINE" = docker ]; then COMPOSE=(docker compose); else COMPOSE=("$REPO/.venv/bin/podman-compose"); fi
COMPOSE+=(-p "$PROJECT" -f docker/compose.yaml)

say() { echo "${CLUSTER_NAME:-}-cluster: $*" >&2; }
compose() { local seconds="$1"; shift; timeout --kill-after=10 "$seconds" "${COMPOSE[@]}" "$@"; }
submit() { compose 600 --profile submit run --rm -T submit bash -c "$1"; }

cleanup() {
    local status=$?
    compose 120 --profile submit down -v >/dev/null 2>&1 || true
    local left
    left="$(engine_run 30 ps -aq --filter "label=com.docker.compose.project=$PROJECT" 2>/dev/null || true)"
    [ -n "$left" ] && engine_run 60 rm -f $left >/dev/null 2>&1 || true
    engine_run 30 volume rm -f "${PROJECT}_data" >/dev/null 2>&1 || true
    [ "$status" = 0 ] && say "passed" || say "FAILED (status $status)"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
export FLMPREP_MASTER_PORT="$(free_port)" FLMPREP_UI_PORT="$(free_port)"

engine_run 30 image exists flmprep-spark 2>/dev/null || IMAGES=spark bash scripts/containers/images.sh

say "starting the master and two workers ($ENGINE)"
compose 180 up -d master worker1 worker2 >/dev/null
alive_workers() {
    python3 - "$FLMPREP_UI_PORT" <<'PY' 2>/dev/null || echo 0
import json, sys, urllib.request
doc = json.load(urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/json/", timeout=2))
print(sum(1 for w in doc.get("workers", []) if w.get("state") == "ALIVE"))
PY
}
for _ in $(seq 120); do [ "$(alive_workers)" = 2 ] && break; sleep 1; done
[ "$(alive_workers)" = 2 ] || { say "expected 2 alive workers, found $(alive_workers)"; compose 60 logs >&2; exit 1; }

JOB="spark-submit --master spark://master:7077 --conf spark.driver.host=\$(hostname -i) \
     --conf spark.ui.enabled=false /opt/flmprep/jobs/build_shards.py"
timed() { local began=$SECONDS; "$@"; say "  ($((SECONDS - began)) s)"; }
