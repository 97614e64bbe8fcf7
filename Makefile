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
	# LitData and MDS readers for the export tests, without their declared dependencies: both pull
	# torchvision (mosaicml-streaming a CUDA torch too), whose PyPI wheel cannot load against the
	# CPU torch and then breaks every package that probes it. What they import is in [dev].
	$(BIN)/pip install --quiet --no-deps litdata==0.2.76 mosaicml-streaming==0.13.0
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
