#!/usr/bin/env bash
# Role of the container: `master`, `worker SPARK_MASTER_URL`, `health` (the image's HEALTHCHECK:
# the running master or worker answers on its port), or any command (e.g. spark-submit ...).
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
  health)
    if pgrep -f deploy.master.Master >/dev/null; then port="${SPARK_MASTER_PORT:-7077}"
    elif pgrep -f deploy.worker.Worker >/dev/null; then port="${SPARK_WORKER_WEBUI_PORT:-8081}"
    else exit 0
    fi
    exec python -c 'import socket, sys
for host in ("127.0.0.1", socket.gethostname()):
    try:
        socket.create_connection((host, int(sys.argv[1])), 2).close()
        sys.exit(0)
    except OSError:
        pass
sys.exit(1)' "$port"
    ;;
  *)
    exec "$@"
    ;;
esac
