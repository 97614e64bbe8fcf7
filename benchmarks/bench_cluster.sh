#!/usr/bin/env bash
# The containerised 2-worker cluster (docker/compose.yaml) against local[2] on the same data:
# one build config, run three ways inside the same Spark image, each with the data and the output
# on the shared volume: `flmprep build --workers 2`, spark-submit --master local[2], and
# spark-submit to the master with its two workers. Prints wall times, samples/s and the ratios.
#   bash benchmarks/bench_cluster.sh [IMAGES]      (default 400 synthetic CelebA images, ×20 crops)
set -euo pipefail
CLUSTER_NAME=bench
source "$(dirname "$0")/../scripts/containers/cluster.sh"
N="${1:-400}"
BUILD=(--dataset celeba --root /data/celeba --crops 20 --seed 7)

submit "flmprep synth celeba /data/celeba --n $N --seed 1 >/dev/null"
run_timed() {  # run_timed CMD: the wall seconds of CMD in a submit container
    local began end
    began="$(date +%s.%N)"
    submit "$1 >/dev/null 2>&1"
    end="$(date +%s.%N)"
    python3 -c "print(f'{$end - $began:.1f}')"
}
local_build="$(run_timed "flmprep build ${BUILD[*]} --out /data/local --workers 2 --no-progress")"
local2="$(run_timed "${JOB/spark:\/\/master:7077/local[2]} ${BUILD[*]} --out /data/local2")"
cluster="$(run_timed "$JOB ${BUILD[*]} --out /data/cluster")"
samples="$(submit "python -c 'import json; d = json.load(open(\"/data/cluster/manifest.json\")); print(sum(s[\"samples\"] for s in d[\"splits\"].values()))'")"
cat <<TABLE
machine: $(nproc) CPUs, $(uname -m) $(uname -s), $ENGINE; $N images, $samples samples; each row one container run (JVM start-up included)

| run | wall s | samples/s | against spark-submit local[2] |
|---|---|---|---|
| flmprep build --workers 2 | $local_build | $(python3 -c "print(round($samples / $local_build))") | $(python3 -c "print(f'{$local2 / $local_build:.2f}')") |
| spark-submit --master local[2] | $local2 | $(python3 -c "print(round($samples / $local2))") | 1.00 |
| spark-submit to the 2-worker cluster | $cluster | $(python3 -c "print(round($samples / $cluster))") | $(python3 -c "print(f'{$local2 / $cluster:.2f}')") |
TABLE
