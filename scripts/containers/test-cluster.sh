#!/usr/bin/env bash
# make test-cluster: docker/compose.yaml's master and two workers, the Spark job submitted from the
# `submit` service with the data on the shared volume, checked byte for byte against
# `flmprep build` on the same data; then a second job during which one worker container is
# stopped, checked the same way. Every container, network and volume it made is removed at the
# end, also on failure. Prints the wall time of each job (docs/cluster.md).
set -euo pipefail
CLUSTER_NAME=test
source "$(dirname "$0")/cluster.sh"
BUILD=(--dataset celeba --root /data/celeba --crops 20 --samples-per-shard 40 --seed 7 --heatmaps --heatmap-size 128)

TREE='cd /data/$0 && find . -type f ! -name .flmprep-build.lock -print0 | sort -z | xargs -0 sha256sum'
same_as_local() {  # every file of /data/$1 equals the one of /data/local (and there are some)
    local files
    files="$(submit "diff <(bash -c '$TREE' local) <(bash -c '$TREE' $1) >&2 && bash -c '$TREE' $1 | wc -l")"
    [ "$files" -gt 10 ] || { say "expected the files of a build in /data/$1, found $files"; exit 1; }
    say "$1 = local, byte for byte ($files files)"
}

say "data: 40 synthetic CelebA images on the shared volume"
submit "flmprep synth celeba /data/celeba --n 40 --seed 1 >/dev/null"
say "reference: flmprep build in one container"
timed submit "flmprep build ${BUILD[*]} --out /data/local --workers 2 --no-progress"
say "the job on the cluster"
timed submit "$JOB ${BUILD[*]} --out /data/cluster >/dev/null"
same_as_local cluster

say "the job again, worker2 stopped once the first shards are written"
submit "$JOB ${BUILD[*]} --out /data/killed >/tmp/job.log 2>&1 || { tail -n 30 /tmp/job.log; exit 1; }" &
job=$!
worker2="$(engine_run 30 ps -q --filter "label=com.docker.compose.project=$PROJECT" \
            --filter "label=com.docker.compose.service=worker2")"
for _ in $(seq 600); do
    n="$(engine_run 30 exec "$worker2" bash -c 'ls /data/killed/*/shard-*.json 2>/dev/null | wc -l' || echo 0)"
    [ "$n" -ge 2 ] && break
    kill -0 "$job" 2>/dev/null || break
    sleep 0.2
done
engine_run 60 stop -t 0 "$worker2" >/dev/null
say "  stopped worker2 after $n shards"
wait "$job"
same_as_local killed
