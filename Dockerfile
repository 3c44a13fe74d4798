# ftbench in a container: `make docker-build` (later issue) or
#   docker build -t ftbench . && docker run --gpus all -v "$PWD/results:/ftbench/results" ftbench
# The CUDA runtime comes with the pinned torch wheels; the host's driver comes in with --gpus.
FROM python:3.11-slim-bookworm

# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends make git latexmk texlive-latex-recommended \
      texlive-latex-extra texlive-fonts-recommended texlive-science lmodern poppler-utils \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /ftbench
# Dependencies first (cached layer), from pyproject.toml: the one list of pinned versions.
COPY pyproject.toml README.md ./
COPY code ./code
RUN python -m venv .venv \
 && .venv/bin/pip install --no-cache-dir -e '.[dev]' \
 && touch .venv/.installed
COPY . .

CMD ["make", "all", "PROFILE=paper"]
