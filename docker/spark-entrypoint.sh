#!/usr/bin/env bash
# Role of the container: `master`, `worker SPARK_MASTER_URL`, or any command (e.g. spark-submit ...).
set -euo pipefail
role="${1:-master}"
case "$role" in
  master)
    exec spark-class org.apache.spark.deploy.master.Master \
      --host "${SPARK_MASTER_HOST:-$(hostname)}" --port "${SPARK_MASTER_PORT:-7077}" \
      --webui-port "${SPARK_MASTER_WEBUI_PORT:-8080}"
    ;;
  worker)
    exec spark-class org.apache.spark.deploy.worker.Worker \
      --cores "${SPARK_WORKER_CORES:-2}" --memory "${SPARK_WORKER_MEMORY:-2g}" \
      --webui-port "${SPARK_WORKER_WEBUI_PORT:-8081}" \
      "${2:-spark://master:7077}"
    ;;
  *)
    exec "$@"
    ;;
esac
