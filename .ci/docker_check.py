"""Helpers of .ci/docker-check (standard library only, except `compare`, which reads the
measured columns from the ftbench package).

  pip-conf SOURCE OUT PREFIX   write the pip configuration to hand over to the image build
                               to OUT, and print one 'HOST<TAB>BUILD' line per path to mount
  compare CONTAINER HOST       compare a table's CSV made in the image with the host's
"""

from __future__ import annotations

import ast
import configparser
import csv
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


# Provenance columns that legitimately differ between the image and the host.
PROVENANCE = ("device_name", "git_commit", "git_dirty")
# Compared on major.minor only: the image's Python is the base image's.
MAJOR_MINOR = ("python",)


def compare(container_csv: str, host_csv: str) -> None:
    from ftbench.report.aggregate import MEASURED  # times, memory, timestamps

    def read(path: str) -> tuple[list[str], list[dict]]:
        try:
            with open(path, newline="", encoding="utf-8") as f:
                reader = csv.DictReader(f)
                return list(reader.fieldnames or []), list(reader)
        except FileNotFoundError:
            fail(f"{path} is missing")

    name = Path(container_csv).name
    columns, rows = read(container_csv)
    host_columns, host_rows = read(host_csv)
    if columns != host_columns:
        fail(f"{name}: the columns differ: image {columns}, host {host_columns}")
    by_run = {r["run_id"]: r for r in host_rows}
    if sorted(r["run_id"] for r in rows) != sorted(by_run) or len(by_run) != len(host_rows):
        fail(f"{name}: the runs differ: image {[r['run_id'] for r in rows]}, "
             f"host {[r['run_id'] for r in host_rows]}")
    if not rows:
        fail(f"{name}: no rows")
    skipped = [c for c in columns if c in MEASURED or c in PROVENANCE]
    compared = [c for c in columns if c not in skipped]
    diffs = []
    for r in rows:
        h = by_run[r["run_id"]]
        for c in compared:
            a, b = r[c], h[c]
            if c in MAJOR_MINOR:
                a, b = ".".join(a.split(".")[:2]), ".".join(b.split(".")[:2])
            if a != b:
                diffs.append(f"{r['run_id']} {c}: image {r[c]!r}, host {h[c]!r}")
    if diffs:
        fail(f"{name}: {len(diffs)} of {len(compared) * len(rows)} cells differ between the "
             f"image and the host: " + "; ".join(diffs[:4]) + ("; ..." if len(diffs) > 4 else ""))
    print(f"docker-check: {name}: {len(compared)} of {len(columns)} columns x {len(rows)} rows "
          f"compared, all equal ({', '.join(MAJOR_MINOR)} on major.minor; not compared: "
          f"{', '.join(skipped)})")


def main(argv: list[str]) -> None:
    if len(argv) == 4 and argv[0] == "pip-conf":
        pip_conf(*argv[1:])
    elif len(argv) == 3 and argv[0] == "compare":
        compare(*argv[1:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
