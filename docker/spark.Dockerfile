# Spark standalone master/worker image with flmprep installed (the executors import it).
# Build from the repository root:  docker build -f docker/spark.Dockerfile -t flmprep-spark .
# (or `make images`, which also builds where no registry is reachable: docs/cluster.md).
FROM python:3.11-slim-bookworm

# Java 17 for the Spark JVMs; procps (ps, pgrep) and tini for clean signal handling.
RUN apt-get update \
 && apt-get install -y --no-install-recommends openjdk-17-jre-headless procps tini \
 && rm -rf /var/lib/apt/lists/* \
 && ln -s "$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")" /opt/java \
 && useradd --create-home --uid 1000 --shell /bin/bash flmprep \
 && mkdir -p /data && chown flmprep:flmprep /data

WORKDIR /opt/flmprep
COPY setup.cfg pyproject.toml README.md docker/constraints.txt ./
COPY pipeline ./pipeline
COPY schemas ./schemas
COPY jobs ./jobs
# pyspark comes in through install_requires; its wheel holds the jars and bin/spark-class.
# Every dependency at the version the test suite passed with (docker/constraints.txt).
RUN pip install --no-cache-dir -c constraints.txt . \
 && python -c "import flmprep, pyspark; print(flmprep.__version__, pyspark.__version__)" \
 && conf="$(python -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))')/conf" \
 && mkdir -p "$conf" && cp jobs/spark-conf/log4j2.properties jobs/spark-conf/spark-defaults.conf "$conf/"

ENV JAVA_HOME=/opt/java \
    SPARK_HOME=/usr/local/lib/python3.11/site-packages/pyspark \
    PYSPARK_PYTHON=/usr/local/bin/python \
    PYSPARK_DRIVER_PYTHON=/usr/local/bin/python \
    SPARK_NO_DAEMONIZE=1 \
    SPARK_WORKER_DIR=/tmp/spark-work \
    SPARK_LOCAL_DIRS=/tmp/spark-local
ENV PATH=$SPARK_HOME/bin:$PATH

COPY docker/spark-entrypoint.sh /usr/local/bin/spark-entrypoint
USER flmprep
# Healthy once the master (or worker) answers on its port; other roles (spark-submit) count as healthy.
HEALTHCHECK --interval=3s --timeout=3s --start-period=5s --retries=40 CMD ["spark-entrypoint", "health"]
ENTRYPOINT ["/usr/bin/tini", "--", "spark-entrypoint"]
CMD ["master"]
