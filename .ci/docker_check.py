"""Helpers of .ci/docker-check (standard library only, except `compare`, which reads the
measured columns from the ftbench package).

  pip-conf SOURCE OUT PREFIX   write the pip configuration to hand over to the image build
                               to OUT, and print one 'HOST<TAB>BUILD' line per path to mount
  compare CONTAINER HOST [CONFIGS [KEY=VALUE ...]]
                               compare a table's CSV made in the image with the host's, run
                               by run: identical, equivalent or different (ftbench verify's
                               verdicts); CONFIGS and the overrides the runs were made with
                               are read where a run is not identical
"""

from __future__ import annotations

import ast
import configparser
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlparse

# Left out of the handed-over configuration: the CA bundle is handed over on its own (CA_BUNDLE).
DROPPED = {"cert"}


def fail(message: str) -> None:
    print(f"docker-check: FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def _host_config(source: str) -> dict[str, dict[str, str]]:
    """{section: {key: value}}: the host's effective pip configuration, or a pip.conf file."""
    sections: dict[str, dict[str, str]] = {}
    if source != "auto":
        parser = configparser.RawConfigParser()
        try:
            parser.read_string(Path(source).read_text())
        except (OSError, configparser.Error) as e:
            fail(f"PIP_CONF={source}: cannot read it as a pip.conf ({e})")
        for name in parser.sections():
            sections[name] = dict(parser.items(name))
        return sections
    # `pip config list`: files merged in pip's order, then PIP_* variables (':env:'), which
    # pip applies over every file, as options of the [global] section.
    proc = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True,
                          text=True)
    if proc.returncode != 0:
        return sections
    env: dict[str, str] = {}
    for line in proc.stdout.splitlines():
        name, sep, value = line.partition("=")
        section, dot, key = name.partition(".")
        if not (sep and dot):
            continue
        try:
            value = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            pass
        (env if section == ":env:" else sections.setdefault(section, {}))[key] = str(value)
    sections.setdefault("global", {}).update(env)
    return sections


def pip_conf(source: str, out: str, prefix: str) -> None:
    """Rewrite every local path (or file:// URL) the configuration names to a mount under
    PREFIX: a folder named simple/ (a PEP 503 index) is mounted from its parent, so that the
    index's relative links to its files still resolve."""
    mounts: dict[Path, str] = {}

    def mount(host: Path) -> str:
        root = host.parent if host.name == "simple" and host.is_dir() else host
        if root not in mounts:
            mounts[root] = f"{prefix}/{len(mounts)}-{root.name or 'root'}"
        return mounts[root] + ("/simple" if root != host else "")

    def rewrite(token: str) -> str:
        local = unquote(urlparse(token).path) if token.startswith("file://") else token
        if not local.startswith("/"):
            return token  # a remote URL, a number, a flag
        host = Path(local).resolve()
        if not host.exists():
            print(f"docker-check: pip configuration names {token}, which does not exist here; "
                  "handed over as it is", file=sys.stderr)
            return token
        inside = mount(host)
        return f"file://{inside}" if token.startswith("file://") else inside

    config = configparser.RawConfigParser()
    for section, items in _host_config(source).items():
        config.add_section(section)
        for key, value in items.items():
            if key not in DROPPED:
                config.set(section, key, " ".join(rewrite(t) for t in value.split()))
    with open(out, "w") as f:
        config.write(f)
    for host, inside in mounts.items():
        print(f"{host}\t{inside}")


def compare(container_csv: str, host_csv: str, configs: str = "configs",
            *overrides: str) -> None:
    """The image's table against the host's, run by run, by `ftbench verify`'s three verdicts
    (ftbench.tools.equivalence): identical (every cell but the measured and provenance ones
    equal; Python on major.minor), equivalent (only metrics moved, each inside the host's seed
    band, and the table concludes the same: its experiment read from `configs` with the runs'
    `overrides`), or different: the check fails."""
    from ftbench.errors import UserError
    from ftbench.tools.resultsdiff import compare_file

    name = Path(container_csv).name
    result = compare_file(Path(container_csv), Path(host_csv))
    if not result.compared:
        fail(f"{name}: no rows")
    rows = result.compared // len(result.columns)
    shape = (f"{len(result.columns)} of {len(result.columns) + len(result.skipped)} columns x "
             f"{rows} rows compared")
    if result.passed:
        print(f"docker-check: {name}: {shape}, all equal (python on major.minor; not compared: "
              f"{', '.join(result.skipped)})")
        return
    try:
        lines = _equivalent(Path(container_csv), Path(host_csv), result, configs, overrides)
    except UserError as exc:  # a file the rule reads is missing or unreadable: one line
        fail(f"{name}: {exc}")
    for line in lines:
        print(f"docker-check: {name}: {line}")
    print(f"docker-check: {name}: {shape}: {rows - len(lines)} runs identical, {len(lines)} "
          "equivalent (inside the host's seed band, the same conclusions)")


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _equivalent(image: Path, host: Path, result, configs: str, overrides) -> list[str]:
    """One line per equivalent run; fails (exit 1) on a different one."""
    from ftbench.config import load_all, parse_overrides
    from ftbench.report.aggregate import read_csv
    from ftbench.report.conclusions import agree
    from ftbench.store.summary import read_summary
    from ftbench.tools.equivalence import (
        FREE,
        METRICS,
        Move,
        bands,
        committed_conclusions,
        pooled_ranges,
    )
    from ftbench.tools.resultsdiff import row_differences

    if any(" only in " in d for d in result.differences):
        fail(f"{image.name}: " + "; ".join(d for d in result.differences if " only in " in d))
    mine = {r["run_id"]: r for r in read_csv(image)}
    theirs = read_csv(host)
    lines = []
    for old in theirs:
        run_id, new = old["run_id"], mine[old["run_id"]]
        differ = row_differences(old, new, result.columns)
        fixed = [f"{c} {old[c]!r} -> {new[c]!r}" for c in differ
                 if c not in METRICS and c not in FREE]
        if fixed:
            fail(f"{image.name}: run {run_id} is different: {'; '.join(fixed)}")
        if not differ:
            continue
        sizes = read_summary(host.parent / "runs" / old["table"] / run_id / "summary.json").dataset
        band = bands(theirs, run_id, sizes, pooled_ranges(theirs))
        moves = [Move(c, _number(old[c]), _number(new[c]), band.get(c)) for c in differ
                 if c in METRICS]
        if outside := [m.text() for m in moves if not m.inside]:
            fail(f"{image.name}: run {run_id} is different: {'; '.join(outside)}")
        lines.append(f"{run_id}: equivalent: " + "; ".join(
            [m.text() for m in moves] + [f"{c} {old[c]} -> {new[c]}" for c in differ
                                         if c in FREE]))
    (experiment,) = [e for e in load_all(Path(configs), "tiny", parse_overrides(list(overrides)),
                                         check_models=False) if e.name == image.stem]
    same = agree(*(committed_conclusions(experiment, f.parent) for f in (host, image)),
                 measured=False)
    if not same.agree:
        fail(f"{image.name}: the image's runs conclude otherwise than the host's: "
             + "; ".join(same.lines(("host", "image"))[:3]))
    return lines


def main(argv: list[str]) -> None:
    if len(argv) == 4 and argv[0] == "pip-conf":
        pip_conf(*argv[1:])
    elif len(argv) >= 3 and argv[0] == "compare":
        compare(*argv[1:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
