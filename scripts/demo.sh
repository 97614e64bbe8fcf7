#!/usr/bin/env bash
# `make demo`: synthesize a CelebA-format dataset, build shards with spark-submit, inspect one shard.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${DEMO_OUT:-demo-out}"  # where the demo writes (the docs generator points it at a scratch folder)
if [ -x .venv/bin/python ]; then export PATH="$PWD/.venv/bin:$PATH"; fi  # `make demo` does this too
PYTHON="$(command -v python)"
export PYSPARK_PYTHON="${PYSPARK_PYTHON:-$PYTHON}" PYSPARK_DRIVER_PYTHON="${PYSPARK_DRIVER_PYTHON:-$PYTHON}"
export SPARK_LOCAL_IP="${SPARK_LOCAL_IP:-127.0.0.1}"
# Spark's own log at WARN from the first line (jobs/spark-conf/log4j2.properties)
export SPARK_CONF_DIR="${SPARK_CONF_DIR:-$PWD/jobs/spark-conf}"

if ! command -v java >/dev/null && [ -z "${JAVA_HOME:-}" ]; then
    echo "make demo: Spark needs Java 17 and none was found: install it (Debian/Ubuntu:" \
         "apt-get install openjdk-17-jre-headless) or set JAVA_HOME; flmprep build needs no Java" >&2
    exit 2
fi

step() { printf '\n$ %s\n' "$*"; "$@"; }

rm -rf "$OUT/data"
step flmprep synth celeba "$OUT/data" --n 200 --seed 0
step spark-submit jobs/build_shards.py --dataset celeba --crops 20 \
    --root "$OUT/data" --out "$OUT/shards" --overwrite
step flmprep inspect "$OUT/shards/train/shard-0000.tar"
