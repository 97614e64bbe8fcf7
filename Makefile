# The two set-up commands: `make demo` and `make test`. Each creates .venv when missing.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: demo test lint typecheck pytest bench clean

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# CPU build of torch first (it lies on disk), so the [train] extra pulls no CUDA wheels.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[train,dev]'
	# Spark's own log at WARN for every spark-submit of this environment (SPARK_CONF_DIR overrides it)
	conf="$$($(BIN)/python -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))')/conf"; \
	    mkdir -p "$$conf" && cp jobs/spark-conf/log4j2.properties "$$conf/"
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/ruff check pipeline jobs tests benchmarks
	$(BIN)/mypy
	$(BIN)/python -m pytest -q

demo: $(STAMP)
	bash scripts/demo.sh

bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) build *.egg-info pipeline/*.egg-info demo-out
