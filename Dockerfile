# ftbench in a CUDA container: `make docker-build`, then `make docker-run`, which runs
# `make all PROFILE=paper` with the data root and results/ mounted from the host.
# The base image is pinned by tag and digest. torch's wheels bring their own CUDA libraries;
# the host brings the driver (docker run --gpus all).
FROM nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04@sha256:ac55d124da4882b497f732d8dfd9a702d5447a5f29d08d56da6f64f0a1eb34bc

# Ubuntu's package versions come with the pinned base image's release; pinning each apt package
# as well would break the build at the archive's next security update.
# hadolint ignore=DL3008
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      python3 python3-venv make git latexmk texlive-latex-recommended texlive-latex-extra \
      texlive-fonts-recommended texlive-science lmodern poppler-utils \
 && rm -rf /var/lib/apt/lists/*

# A non-root user (numeric, so the host can resolve it on the volumes) owns the project; the
# data root and the results are volumes.
RUN useradd --create-home --uid 10001 --user-group --shell /bin/bash ftbench \
 && mkdir -p /data /ftbench \
 && chown 10001:10001 /data /ftbench
USER 10001:10001
WORKDIR /ftbench

# Dependencies first (a cached layer), from pyproject.toml: the one list of pinned versions.
COPY --chown=10001:10001 pyproject.toml README.md ./
COPY --chown=10001:10001 code ./code
RUN python3 -m venv .venv \
 && .venv/bin/pip install --no-cache-dir -e '.[dev]' \
 && touch .venv/.installed
COPY --chown=10001:10001 . .

# The image has no .git: the commit it was built from is recorded here instead (provenance).
ARG GIT_COMMIT=unknown
ENV FTBENCH_GIT_COMMIT=${GIT_COMMIT} DATA_DIR=/data
VOLUME ["/data", "/ftbench/results"]
CMD ["make", "all", "PROFILE=paper"]
