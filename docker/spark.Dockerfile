# Spark standalone master/worker image with flmprep installed (the executors import it).
# Build from the repository root:  docker build -f docker/spark.Dockerfile -t flmprep-spark .
# Untested here (no docker on the build machine); see docker/README.md.
FROM python:3.11-slim-bookworm

# Java 17 for the Spark JVMs; procps (ps) and tini for clean signal handling.
RUN apt-get update \
 && apt-get install -y --no-install-recommends openjdk-17-jre-headless procps tini \
 && rm -rf /var/lib/apt/lists/* \
 && ln -s "$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")" /opt/java

WORKDIR /opt/flmprep
COPY setup.cfg pyproject.toml README.md ./
COPY pipeline ./pipeline
COPY schemas ./schemas
COPY jobs ./jobs
# pyspark comes in through install_requires; its wheel holds the jars and bin/spark-class.
RUN pip install --no-cache-dir . \
 && python -c "import flmprep, pyspark; print(flmprep.__version__, pyspark.__version__)"

ENV JAVA_HOME=/opt/java \
    SPARK_HOME=/usr/local/lib/python3.11/site-packages/pyspark \
    PYSPARK_PYTHON=/usr/local/bin/python \
    PYSPARK_DRIVER_PYTHON=/usr/local/bin/python \
    SPARK_NO_DAEMONIZE=1
ENV PATH=$SPARK_HOME/bin:$PATH

COPY docker/spark-entrypoint.sh /usr/local/bin/spark-entrypoint
RUN chmod +x /usr/local/bin/spark-entrypoint
ENTRYPOINT ["/usr/bin/tini", "--", "spark-entrypoint"]
CMD ["master"]
