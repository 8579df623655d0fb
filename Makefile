# gen3d: entry points for a fresh machine.
#   make demo          prepare the embedded synthetic collection -> train -> sample -> score -> render -> export
#   make pipeline-s3   the toy pipeline into a local S3 server, then sampling its model by URL (second process)
#   make test          lint (ruff, mypy on the core: [tool.mypy] in pyproject.toml) + the whole test suite
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

.PHONY: setup demo pipeline-s3 test lint format bench clean

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
	rm -rf $(VENV) build *.egg-info runs
