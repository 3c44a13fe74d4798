# ftbench: the pipeline as file targets.
#   configs/*.yaml -> results/<profile>/runs/<table>/<run>/summary.json   (one target per run)
#   -> results/<profile>/<table>.csv -> paper/generated/<profile>/<table>/{table.tex,fig-*.pdf,macros.tex}
#   -> paper/build/<profile>/paper.pdf
# Finished runs are never redone: a run re-runs only when its resolved config changes.
# `make help` lists the targets.

SHELL := bash
# This file's folder (the repository), whichever folder make runs in or makefile includes it
HERE := $(dir $(abspath $(lastword $(MAKEFILE_LIST))))
.SHELLFLAGS := -eu -o pipefail -c
.DELETE_ON_ERROR:
.DEFAULT_GOAL := all
# Read before this file adds its own flags: their long names hold an n, which the test below
# would take for `make -n` (single-letter flags come first, as one word, only when given).
DRY_RUN := $(findstring n,$(firstword -$(MAKEFLAGS)))
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
# (nproc obeys OMP_NUM_THREADS, which this Makefile exports: ask it without)
NPROC := $(shell env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc 2>/dev/null || echo 1)
JOBS ?= $(if $(filter tiny,$(PROFILE)),$(NPROC),1)
# Train the seeds of a configuration in one process (tiny: its short runs pay their imports
# once); the GPU profiles run one process per run, each its own job under LAUNCH.
GROUP_RUNS ?= $(if $(filter tiny,$(PROFILE)),1,0)
# A number of processes, not a typo that make would read as "no limit" or ignore with a warning
ifeq ($(shell [ "$(JOBS)" -ge 1 ] 2>/dev/null && echo ok),)
$(error JOBS=$(JOBS) is not a number of processes at least 1; use e.g. JOBS=2)
endif
MAKEFLAGS += -j$(JOBS)
# Threads per run (code/ftbench/train/threads.py), FTBENCH_THREADS: one on the tiny profile,
# whatever the environment or the launcher (its numbers must not depend on the machine); on the
# others the cores make may use divided by JOBS, unless LAUNCH gives each run CPUs of its own
# (srun --cpus-per-task): then the run takes its step's. OMP_NUM_THREADS follows, for libraries
# that read only it.
ifneq ($(filter tiny,$(PROFILE)),)
export FTBENCH_THREADS := 1
else ifeq ($(LAUNCH),)
export FTBENCH_THREADS ?= $(shell echo $$(( $(NPROC) / $(JOBS) > 0 ? $(NPROC) / $(JOBS) : 1 )))
endif
ifneq ($(FTBENCH_THREADS),)
export OMP_NUM_THREADS := $(FTBENCH_THREADS)
endif
# The environment's commands (torchrun) on the PATH of every recipe, and so of a job step
# that LAUNCH starts (srun passes the PATH on): `LAUNCH="srun ... torchrun ..."` as documented.
# Appended, so that the system's python3 still creates the environment.
export PATH := $(PATH):$(abspath .venv/bin)

VENV := .venv/.installed
PY := .venv/bin/python
FTBENCH := $(PY) -m ftbench
OPTS = --profile $(PROFILE) --configs $(CONFIGS) --results $(RESULTS) --generated $(GENERATED_ROOT)
RUN_ROOT := $(RESULTS)/$(PROFILE)
GENERATED := $(GENERATED_ROOT)/$(PROFILE)
PLAN_MK := $(RUN_ROOT)/plan.mk
PDF := $(BUILD_ROOT)/$(PROFILE)/paper.pdf
PAPER_SRC := paper/main.tex paper/references.bib paper/claims.yaml
# Re-render (never retrain) when the rendering code or templates change.
RENDER_SRC := $(wildcard code/ftbench/report/*.py code/ftbench/report/tables/*.py \
	code/ftbench/report/templates/*.j2)
# The commit the PDF is built from (the results' commits are in their CSVs); in the Docker image,
# which has no .git, the one it was built from.
BUILD_COMMIT = $(or $(FTBENCH_GIT_COMMIT),$(shell git rev-parse --short=12 HEAD 2>/dev/null),unknown)$(if $(shell git status --porcelain --untracked-files=no 2>/dev/null),+uncommitted changes)
# latexmk's chatter ("No file paper.bbl" on a first pass is normal) goes to a log, shown on failure
LATEX_LOG = $(BUILD_ROOT)/$(PROFILE)/latexmk.log
LATEXMK = mkdir -p $(BUILD_ROOT)/$(PROFILE) && (cd paper && latexmk -pdf -silent \
	-interaction=nonstopmode -halt-on-error -file-line-error -jobname=paper \
	-outdir=$(abspath $(BUILD_ROOT)/$(PROFILE)) \
	-usepretex='\def\ftbgen{$(abspath $(GENERATED))}\def\ftbbuilt{$(BUILD_COMMIT)}' main.tex) \
	> $(LATEX_LOG) 2>&1 || { tail -n 30 $(LATEX_LOG); echo "LaTeX failed: $(LATEX_LOG)"; exit 1; }

.PHONY: all paper test test-fast lint help clean clean-results venv plan status data weights dryrun
ifdef DATA_DIR
export DATA_DIR
endif

# `make clean-results all`: this make deletes, a new one makes the rest (see clean-results)
CLEAN_FIRST := $(filter clean-results,$(MAKECMDGOALS))
all: $(if $(CLEAN_FIRST),clean-results,$(PDF)) ## train every run of PROFILE (default tiny) that is not done yet, then build the PDF
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

# One Make rule per run, generated from the configs. Only goals that are runs, tables or their
# files need it: `all`, a table (a file in CONFIGS), or a path under the results or the paper.
# With clean-results among the goals, a new make plans (see clean-results).
TABLE_NAMES := $(basename $(notdir $(wildcard $(CONFIGS)/*.yaml)))
NEEDS_PLAN := $(if $(CLEAN_FIRST),,$(if $(MAKECMDGOALS),$(filter all $(TABLE_NAMES) \
	$(RESULTS)/% $(GENERATED_ROOT)/% $(BUILD_ROOT)/%,$(MAKECMDGOALS)),all))
# One writer per results tree (ftbench/plan/treelock.py): a make that may write results, LaTeX or the
# PDF holds the tree's lock until it ends, and a second one stops here, naming the first. Its
# recipes' `ftbench run`s write as its part. (Not under -n, which writes nothing.)
WRITES := $(if $(MAKECMDGOALS),$(filter all clean-results paper params tune $(TABLE_NAMES) \
	$(RESULTS)/% $(GENERATED_ROOT)/% $(BUILD_ROOT)/%,$(MAKECMDGOALS)),all)
TREE_LOCKER := $(wildcard $(HERE)code/ftbench/plan/treelock.py)
ifneq ($(WRITES),)
ifeq ($(DRY_RUN)$(if $(TREE_LOCKER),,none),)
MAKE_PID := $(shell echo $$PPID)
TREE_LOCK := $(shell python3 $(TREE_LOCKER) $(RUN_ROOT) $(MAKE_PID) 2>&1)
ifneq ($(firstword $(TREE_LOCK)),ok)
$(error $(TREE_LOCK))
endif
export FTBENCH_TREE_HOLDER := $(word 2,$(TREE_LOCK))
endif
endif
# `make -n` with no .venv yet shows the plan's steps without installing anything to plan them.
ifneq ($(NEEDS_PLAN),)
ifeq ($(DRY_RUN)$(wildcard $(VENV)),n)
$(info make -n: no .venv yet, so the runs are not planned; `make venv` installs it)
else
-include $(PLAN_MK)
endif
endif

# A run's summary is written last and atomically: a failed or cancelled recipe (a grouped step
# whose first seeds finished) must not delete the finished ones, as .DELETE_ON_ERROR would.
.PRECIOUS: $(ALL_RUNS)

# Planned on every call: it also tells finished, current runs from stale ones by content (the
# config hash in each summary), since file times after a clone or a copy mean nothing. Make
# remakes an included makefile even under -n, so there it plans with .venv as it is. When the
# plan was new, Make restarts to read it (MAKE_RESTARTS): that plan is seconds old, so the
# restarted make does not plan again.
.PHONY: FORCE
$(PLAN_MK): $(if $(MAKE_RESTARTS),,FORCE) | $(if $(DRY_RUN),,$(VENV))
	$(FTBENCH) plan --make $@ $(if $(filter 1,$(GROUP_RUNS)),--group) $(OPTS) $(OVERRIDES)

plan: | $(VENV) ## list the runs of PROFILE with their settings
	$(FTBENCH) plan $(OPTS)

status: | $(VENV) ## every planned run of PROFILE: done, stale (and why), running, diverged, missing
	$(FTBENCH) status $(OPTS)

# The params table: full-size parameter counts of the paper's configurations (no training).
PARAMS_CSV := $(RUN_ROOT)/params.csv
# What it depends on: the paper profile's configs, and the code that builds and counts models.
$(PARAMS_CSV): $(wildcard $(CONFIGS)/*.yaml $(CONFIGS)/profiles/*.yaml) \
		$(wildcard code/ftbench/report/params.py code/ftbench/models/*.py code/ftbench/config/*.py) \
		| $(VENV)
	$(FTBENCH) params $(OPTS)

$(GENERATED)/params/table.tex: $(PARAMS_CSV) $(RENDER_SRC)
	$(FTBENCH) render --params $(OPTS)

.PHONY: params
params: $(GENERATED)/params/table.tex ## the params table (full-size counts, no training)

# Every comparison of every table, for a reviewer to check: the claims read it, and render
# refuses one that differs from what the runs give now.
COMPARISONS := $(RUN_ROOT)/comparisons.csv
$(COMPARISONS): $(CSVS) $(ALL_RUNS) $(RENDER_SRC)
	$(FTBENCH) aggregate --comparisons $(OPTS) $(OVERRIDES)

# Claims versus findings read every table's CSV and runs, the comparisons, the params table, the
# write-ups they quote, and what `make tune` chose; the deviations from the paper profile read
# every config. The comparisons are order-only: they are made from the CSVs, runs and rendering
# code, which are prerequisites here already, and planning touches a current comparisons.csv.
TUNING_CSV := $(wildcard $(RESULTS)/tuning/$(PROFILE).csv)
$(GENERATED)/profile.tex: $(CSVS) $(ALL_RUNS) $(PARAMS_CSV) $(TUNING_CSV) \
		paper/claims.yaml $(wildcard paper/writeups/*.md) $(RENDER_SRC) \
		$(wildcard $(CONFIGS)/*.yaml $(CONFIGS)/profiles/*.yaml) | $(COMPARISONS)
	$(FTBENCH) render --summary $(OPTS) $(OVERRIDES)

# Every build records the exact Python environment it was built with, beside the PDF.
$(PDF): $(RENDERED) $(GENERATED)/params/table.tex $(GENERATED)/profile.tex $(PAPER_SRC)
	mkdir -p $(@D) && $(PY) -m pip freeze --all > $(@D)/pip-freeze.txt
	$(LATEXMK)
	touch $@  # latexmk leaves the PDF alone when nothing changed: it is current all the same

paper: | $(VENV) ## render and build the PDF from existing results (trains nothing)
	$(FTBENCH) aggregate --all $(OPTS) $(OVERRIDES)
	$(FTBENCH) aggregate --comparisons $(OPTS) $(OVERRIDES)
	$(FTBENCH) render --all $(OPTS) $(OVERRIDES)
	test -f $(PARAMS_CSV) || $(FTBENCH) params $(OPTS)
	$(FTBENCH) render --params $(OPTS)
	$(FTBENCH) render --summary $(OPTS) $(OVERRIDES)
	$(LATEXMK)
	@echo "PDF: $(PDF)"

# The tuned settings of PROFILE (e.g. learning rates), chosen on validation accuracy of the first
# random seed, into results/tuning/PROFILE.csv; the configs hold the chosen values (a test
# checks). Not part of `all`: run it after changing a stand-in or a schedule.
.PHONY: tune
tune: | $(VENV) ## choose each table's tuned setting on validation (results/tuning/PROFILE.csv)
	$(if $(filter tiny,$(PROFILE)),$(MAKE) pretrain PROFILE=$(PROFILE))
	$(FTBENCH) tune $(OPTS)

# Do the committed runs reproduce? One run of every table (the shortest) retrained in a scratch
# folder with this code: identical, equivalent (inside its seeds' spread, the table's conclusions
# the same: another CPU) or different; VERIFY='--all', VERIFY='--runs TABLE/RUN ...',
# VERIFY=--identical (only identity where the runs were made: CI), VERIFY='--report DIR'.
VERIFY ?=
.PHONY: verify
verify: | $(VENV) ## retrain a sample of the finished runs: identical, equivalent or different (exit 1)
	$(FTBENCH) verify $(OPTS) $(VERIFY)

# Does another results folder (a reviewer's rebuild, a container's, a GPU run) hold the same
# numbers as this profile's? Table by table, cell by cell; times, memory and provenance skipped.
# CONCLUSIONS=1: does it conclude the same (every comparison's sign and significance, every
# claim's verdict), whatever its digits?
OTHER ?=
CONCLUSIONS ?=
.PHONY: compare
compare: | $(VENV) ## compare results/PROFILE with OTHER=folder, cell by cell, or CONCLUSIONS=1 (exit 1: differs)
	$(if $(OTHER),,$(error compare needs OTHER=<results folder>, e.g. OTHER=../clone/results/tiny))
	$(FTBENCH) compare $(OPTS) $(RUN_ROOT) $(OTHER) $(if $(CONCLUSIONS),--conclusions)

# Before a long GPU job: fetch what it reads, and check every run builds and trains.
data: | $(VENV) ## download the datasets PROFILE reads into DATA_DIR (resumable, checksummed)
	$(FTBENCH) data $(OPTS)

weights: | $(VENV) ## prefetch the pretrained weights PROFILE's models use into timm's cache
	$(FTBENCH) weights $(OPTS)

dryrun: | $(VENV) ## every paper run at full size: two CPU steps, shapes and counts checked
	$(FTBENCH) dryrun --profile paper --configs $(CONFIGS) --results $(RESULTS) \
		--generated $(GENERATED_ROOT)

# The figures the documentation quotes from the committed results (README.md, ARCHITECTURE.md,
# docs/*.md), written again from the CSVs; tests/docs/test_docs.py fails while a page differs.
.PHONY: docs
docs: | $(VENV) ## rewrite the figures the docs quote from the committed CSVs (results/tiny, bench)
	$(PY) -m ftbench.tools.docfigures --results $(RESULTS)

# Speed as measured ratios, each pair side by side in one process (code/ftbench/tools/bench/).
.PHONY: bench
bench: | $(VENV) ## time ours vs the write-ups' loops, cached features, merged LoRA, speed switches
	$(PY) -m ftbench.tools.bench --threads $(NPROC)  # every core, whatever a profile sets

# The CUDA image: the same pipeline, with the data root, results/ and the PDF folder mounted from
# the host. DEV=1 adds the development tools; DOCKER_USER=uid:gid runs it as that user.
IMAGE ?= ftbench
DEV ?= 0
DOCKER_USER ?=
HOST_DATA_DIR ?= $(or $(DATA_DIR),$(HOME)/.cache/ftbench/data)
.PHONY: docker-build docker-run docker-check cluster-check
docker-build: ## build the CUDA image (Dockerfile) as IMAGE (default ftbench); DEV=1 adds dev tools
	docker build --build-arg GIT_COMMIT=$$(git rev-parse HEAD 2>/dev/null || echo unknown) \
		--build-arg DEV=$(DEV) -t $(IMAGE) .

docker-run: ## run make all PROFILE=paper in the image on all GPUs; data, results/, PDF mounted
	mkdir -p "$(HOST_DATA_DIR)" results "$(BUILD_ROOT)"
	docker run --rm --gpus all $(if $(DOCKER_USER),--user $(DOCKER_USER) -e HOME=/tmp) \
		-v "$(HOST_DATA_DIR):/data" -v "$(CURDIR)/results:/ftbench/results" \
		-v "$(abspath $(BUILD_ROOT)):/ftbench/paper/build" $(IMAGE)

# The image built and run without Docker or a GPU (.ci/docker-check): buildah builds the
# Dockerfile on a local Debian 12 base, a micro tiny pipeline runs in it as its user, and one
# table is compared with the same runs on the host. CA_BUNDLE and PIP_CONF hand a CA bundle and
# a pip configuration to the build (auto: this machine's; empty: none).
CHECK_TABLE ?= resnet34-lora
CA_BUNDLE ?= auto
PIP_CONF ?= auto
docker-check: | $(VENV) ## build and run the image with buildah; compare a tiny table with the host
	IMAGE=$(IMAGE)-check CHECK_TABLE=$(CHECK_TABLE) CA_BUNDLE='$(CA_BUNDLE)' \
		PIP_CONF='$(PIP_CONF)' .ci/docker-check

# A one-node SLURM cluster started for the check (.ci/cluster-check): a table retrained as job
# steps, a cancelled grouped step resumed, the sbatch form, torchrun under srun, threads per step.
cluster-check: | $(VENV) ## run the cluster guide's SLURM forms on a one-node cluster started here
	CHECK_TABLE=$(CHECK_TABLE) .ci/cluster-check

test: | $(VENV) ## lint, then the whole test suite (includes an end-to-end run to a PDF)
	$(PY) -m ruff check code tests
	$(PY) -m pytest -n auto --dist loadfile

test-fast: | $(VENV) ## lint, then the unit tests and in-process CLI errors (a few minutes)
	$(PY) -m ruff check code tests
	$(PY) -m pytest -n auto --dist loadfile -m "not slow"

lint: | $(VENV) ## ruff on the code and the tests
	$(PY) -m ruff check code tests

clean: ## delete rendered LaTeX and PDFs (keeps results: training is the expensive part)
	rm -rf $(GENERATED_ROOT) $(BUILD_ROOT)

# `make clean-results all`: the goals after it are made by a new make, since this one read the
# results' file times before they were deleted; and this one makes nothing else at the same time.
AFTER_CLEAN = $(filter-out clean clean-results,$(MAKECMDGOALS))
ifneq ($(and $(CLEAN_FIRST),$(AFTER_CLEAN)),)
$(filter $(TABLE_NAMES) $(RESULTS)/% $(GENERATED_ROOT)/% $(BUILD_ROOT)/%,$(AFTER_CLEAN)): \
	clean-results ; @:
endif
clean-results: ## delete the runs and CSVs of PROFILE (tiny's are committed: git restores them)
	rm -rf $(RUN_ROOT)
	+$(if $(AFTER_CLEAN),$(MAKE) $(AFTER_CLEAN))
