# gen3d: entry points for a fresh machine.
#   make demo          prepare the embedded synthetic collection -> train -> sample -> score -> render -> export
#   make pipeline-s3   the toy pipeline into a local S3 server, then sampling its model by URL (second process)
#   make test          lint (ruff, mypy on the core: [tool.mypy] in pyproject.toml) + the whole test suite
#   make airflow-test  the Airflow DAG run with `airflow dags test` into a local S3 server (.venv-airflow)
# Each creates .venv, install the pinned stack and (as root) the Debian packages Open3D needs.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.gen3d-installed
DEB_STAMP := $(VENV)/.gen3d-debs
DEBS := libusb-1.0-0 libgl1 libegl1 libgomp1 libvulkan1 mesa-vulkan-drivers xvfb xauth
# CPU training speed: keep large activation buffers mapped (see README "Performance").
export MALLOC_MMAP_MAX_ ?= 0
export MALLOC_TRIM_THRESHOLD_ ?= 100000000000
DEMO_OUT ?= runs/demo
# Airflow's pins clash with the training stack: it gets its own venv, which calls .venv's gen3d
AIRFLOW_VENV := .venv-airflow
AIRFLOW_VERSION ?= 3.3.2
AIRFLOW_STAMP := $(AIRFLOW_VENV)/.airflow-$(AIRFLOW_VERSION)-installed

.PHONY: setup demo pipeline-s3 test airflow-test lint format bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(DEB_STAMP): | $(BIN)/python
	@bash scripts/install-system-deps.sh $(DEBS)
	@touch $@

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[viz,dev]'
	@touch $@

setup: $(DEB_STAMP) $(STAMP)

demo: setup
	$(BIN)/gen3d demo --out $(DEMO_OUT)

# the toy pipeline into a local S3 server (moto, 127.0.0.1), then sampling the published model by URL
pipeline-s3: setup
	bash scripts/pipeline_local_s3.sh

test: setup lint
	$(BIN)/python -m pytest -q -n 2 --dist loadgroup

# a missing or half-made Airflow venv (no stamp of this version) is made again from nothing
$(AIRFLOW_STAMP):
	rm -rf $(AIRFLOW_VENV)
	$(PYTHON) -m venv $(AIRFLOW_VENV)
	$(AIRFLOW_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(AIRFLOW_VENV)/bin/python -m pip install --quiet "apache-airflow==$(AIRFLOW_VERSION)"
	@touch $@

# `airflow dags test gen3d_pipeline` (AIRFLOW_HOME, SQLite database and work folder in pytest's temporary
# folder) into a bucket of moto's S3 server on 127.0.0.1; fails unless the run succeeded and every step's
# artefact matches the state file (tests/pipeline/test_pipeline_airflow.py, docs/pipeline.md section 5)
airflow-test: setup $(AIRFLOW_STAMP)
	GEN3D_AIRFLOW_VENV=$(abspath $(AIRFLOW_VENV)) $(BIN)/python -m pytest -q -p no:cacheprovider \
	  tests/pipeline/test_pipeline_airflow.py

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# every benchmark; bench_quality.py scores the demo's output, so it runs only after `make demo`;
# bench_points.py and bench_voxels.py train on real data for 25 minutes per category (README gives their
# commands), so they are not part of this loop
bench: setup
	for b in benchmarks/bench_*.py; do \
	  case "$$b" in benchmarks/bench_quality.py|benchmarks/bench_points.py|benchmarks/bench_voxels.py) continue;; esac; \
	  $(BIN)/python $$b || exit 1; done
	if [ -f $(DEMO_OUT)/samples/all.npz ]; then $(BIN)/python benchmarks/bench_quality.py $(DEMO_OUT); fi

clean:
	rm -rf $(VENV) $(AIRFLOW_VENV) build *.egg-info runs
