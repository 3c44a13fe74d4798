"""Helpers of .ci/docker-check (standard library only, except `compare`, which reads the
measured columns from the ftbench package).

  pip-conf SOURCE OUT PREFIX   write the pip configuration to hand over to the image build
                               to OUT, and print one 'HOST<TAB>BUILD' line per path to mount
  compare CONTAINER HOST       compare a table's CSV made in the image with the host's
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


def compare(container_csv: str, host_csv: str) -> None:
    """The image's CSV against the host's, by `ftbench compare`'s rules (times, memory and
    provenance skipped; Python on major.minor), every other cell equal."""
    from ftbench.tools.resultsdiff import compare_file

    name = Path(container_csv).name
    result = compare_file(Path(container_csv), Path(host_csv))
    if not result.passed:
        fail(f"{name}: {len(result.differences)} of {result.compared} cells differ between the "
             "image and the host: " + "; ".join(result.differences[:4])
             + ("; ..." if len(result.differences) > 4 else ""))
    if not result.compared:
        fail(f"{name}: no rows")
    rows = result.compared // len(result.columns)
    print(f"docker-check: {name}: {len(result.columns)} of "
          f"{len(result.columns) + len(result.skipped)} columns x {rows} rows compared, all "
          f"equal (python on major.minor; not compared: {', '.join(result.skipped)})")


def main(argv: list[str]) -> None:
    if len(argv) == 4 and argv[0] == "pip-conf":
        pip_conf(*argv[1:])
    elif len(argv) == 3 and argv[0] == "compare":
        compare(*argv[1:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
