# ftbench: the pipeline as file targets.
#   configs/*.yaml -> results/<profile>/runs/<table>/<run>/summary.json   (one target per run)
#   -> results/<profile>/<table>.csv -> paper/generated/<profile>/<table>/{table.tex,fig-*.pdf,macros.tex}
#   -> paper/build/<profile>/paper.pdf
# Finished runs are never redone: a run re-runs only when its resolved config changes.
# `make help` lists the targets.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DELETE_ON_ERROR:
.DEFAULT_GOAL := all
MAKEFLAGS += --no-builtin-rules

PROFILE ?= tiny
CONFIGS ?= configs
RESULTS ?= results
GENERATED_ROOT ?= paper/generated
BUILD_ROOT ?= paper/build
LAUNCH ?=
OVERRIDES ?=
PYTHON ?= python3
# Runs at once: every core for the CPU-only tiny profile, one otherwise (one GPU).
# `make JOBS=1` (or -j1) serialises. Tiny runs use one torch thread each whatever JOBS is: float sums
# then happen in the same order, so the numbers do not depend on JOBS or on the machine's cores.
NPROC := $(shell nproc 2>/dev/null || echo 1)
JOBS ?= $(if $(filter tiny,$(PROFILE)),$(NPROC),1)
MAKEFLAGS += -j$(JOBS)
export OMP_NUM_THREADS ?= $(if $(filter tiny,$(PROFILE)),1,$(shell echo $$(( $(NPROC) / $(JOBS) > 0 ? $(NPROC) / $(JOBS) : 1 ))))

VENV := .venv/.installed
PY := .venv/bin/python
FTBENCH := $(PY) -m ftbench
OPTS = --profile $(PROFILE) --configs $(CONFIGS) --results $(RESULTS) --generated $(GENERATED_ROOT)
RUN_ROOT := $(RESULTS)/$(PROFILE)
GENERATED := $(GENERATED_ROOT)/$(PROFILE)
PLAN_MK := $(RUN_ROOT)/plan.mk
PDF := $(BUILD_ROOT)/$(PROFILE)/paper.pdf
PAPER_SRC := paper/main.tex paper/references.bib
# Re-render (never retrain) when the rendering code or templates change.
RENDER_SRC := $(wildcard code/ftbench/report/*.py code/ftbench/templates/*.j2)
LATEXMK = cd paper && latexmk -pdf -silent -interaction=nonstopmode -halt-on-error \
	-file-line-error -jobname=paper -outdir=$(abspath $(BUILD_ROOT)/$(PROFILE)) \
	-usepretex='\def\ftbgen{$(abspath $(GENERATED))}' main.tex

.PHONY: all paper test lint help clean clean-results venv plan data weights dryrun
ifdef DATA_DIR
export DATA_DIR
endif

all: $(PDF) ## train every run of PROFILE (default tiny) that is not done yet, then build the PDF
	@echo "PDF: $(PDF)"

help: ## list the targets and the variables that steer them
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | sort | \
		awk 'BEGIN {FS = ":.*## "}; {printf "  make %-15s %s\n", $$1, $$2}'
	@echo "  make <table>       one table's runs, CSV, LaTeX and figures (tables: ls $(CONFIGS))"
	@echo "variables: PROFILE=tiny|quick|paper (default tiny), LAUNCH='srun ...' prefixes each run,"
	@echo "           DATA_DIR=where real datasets live; JOBS=N runs N runs at once (tiny: all cores);"
	@echo "           OVERRIDES='train.epochs=1 ...' applies key=value overrides to every run"

# The environment: created on first use, re-installed when pyproject.toml changes.
$(VENV): pyproject.toml
	$(PYTHON) -m venv .venv
	.venv/bin/pip install --quiet --upgrade pip
	.venv/bin/pip install --quiet -e '.[dev]'
	touch $@

venv: $(VENV) ## create .venv and install the pinned dependencies

# One Make rule per run, generated from the configs (targets need the plan; help/test do not).
NEEDS_PLAN := $(if $(MAKECMDGOALS),$(filter-out help venv test lint clean clean-results paper data weights dryrun bench docker-build docker-run,$(MAKECMDGOALS)),all)
ifneq ($(NEEDS_PLAN),)
-include $(PLAN_MK)
endif

# Planned on every call: it also tells finished, current runs from stale ones by content (the
# config hash in each summary), since file times after a clone or a copy mean nothing.
.PHONY: FORCE
$(PLAN_MK): FORCE | $(VENV)
	$(FTBENCH) plan --make $@ $(OPTS) $(OVERRIDES)

plan: | $(VENV) ## list the runs of PROFILE with their settings
	$(FTBENCH) plan $(OPTS)

# The params table: full-size parameter counts of the paper's configurations (no training).
PARAMS_CSV := $(RUN_ROOT)/params.csv
$(PARAMS_CSV): $(wildcard $(CONFIGS)/*.yaml) code/ftbench/report/params.py code/ftbench/models/methods.py | $(VENV)
	$(FTBENCH) params $(OPTS)

$(GENERATED)/params/table.tex: $(PARAMS_CSV) $(RENDER_SRC)
	$(FTBENCH) render --params $(OPTS)

.PHONY: params
params: $(GENERATED)/params/table.tex ## the params table (full-size counts, no training)

$(GENERATED)/profile.tex: $(CSVS) $(RENDER_SRC)
	$(FTBENCH) render --summary $(OPTS)

$(PDF): $(RENDERED) $(GENERATED)/params/table.tex $(GENERATED)/profile.tex $(PAPER_SRC)
	$(LATEXMK)

paper: | $(VENV) ## render and build the PDF from existing results (trains nothing)
	$(FTBENCH) aggregate --all $(OPTS)
	$(FTBENCH) render --all $(OPTS)
	test -f $(PARAMS_CSV) || $(FTBENCH) params $(OPTS)
	$(FTBENCH) render --params $(OPTS)
	$(FTBENCH) render --summary $(OPTS)
	$(LATEXMK)
	@echo "PDF: $(PDF)"

# Before a long GPU job: fetch what it reads, and check every run builds and trains.
data: | $(VENV) ## download the datasets PROFILE reads into DATA_DIR (resumable, checksummed)
	$(FTBENCH) data $(OPTS)

weights: | $(VENV) ## prefetch the pretrained weights PROFILE's models use into timm's cache
	$(FTBENCH) weights $(OPTS)

dryrun: | $(VENV) ## every paper run at full size: two CPU steps, shapes and counts checked
	$(FTBENCH) dryrun --profile paper --configs $(CONFIGS) --results $(RESULTS) \
		--generated $(GENERATED_ROOT)

# Speed as measured ratios, each pair side by side in one process (code/ftbench/bench/).
.PHONY: bench
bench: | $(VENV) ## time ours vs the seeds' loops, cached features, merged LoRA, speed switches
	$(PY) -m ftbench.bench --threads $(NPROC)  # every core, whatever a profile sets

# The CUDA image: the same pipeline, with the data root and results/ mounted from the host.
IMAGE ?= ftbench
HOST_DATA_DIR ?= $(or $(DATA_DIR),$(HOME)/.cache/ftbench/data)
.PHONY: docker-build docker-run
docker-build: ## build the CUDA image (Dockerfile) as IMAGE (default ftbench)
	docker build --build-arg GIT_COMMIT=$$(git rev-parse HEAD 2>/dev/null || echo unknown) \
		-t $(IMAGE) .

docker-run: ## run make all PROFILE=paper in the image on all GPUs, data and results mounted
	mkdir -p "$(HOST_DATA_DIR)" results
	docker run --rm --gpus all -v "$(HOST_DATA_DIR):/data" -v "$(CURDIR)/results:/ftbench/results" \
		$(IMAGE)

test: | $(VENV) ## lint, then the whole test suite (includes an end-to-end run to a PDF)
	$(PY) -m ruff check code tests
	$(PY) -m pytest

lint: | $(VENV) ## ruff on the code and the tests
	$(PY) -m ruff check code tests

clean: ## delete rendered LaTeX and PDFs (keeps results: training is the expensive part)
	rm -rf $(GENERATED_ROOT) $(BUILD_ROOT)

clean-results: ## delete the runs and CSVs of PROFILE (tiny's are committed: git restores them)
	rm -rf $(RUN_ROOT)
