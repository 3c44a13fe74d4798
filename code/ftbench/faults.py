"""A test hook: die by SIGKILL at a named point, the way a pre-empted job dies.

`FTBENCH_KILL_AT=<point>[@<n>]` kills the process the n-th time (default: first) it reaches
`point(<point>)`. The kill-and-resume tests use it to stop a run at exact places (mid-epoch,
between writing a file and renaming it into place) that an outside timer could not hit reliably.
Unset, it costs one dictionary lookup.
"""

from __future__ import annotations

import os
import signal

_hits: dict[str, int] = {}


def point(name: str) -> None:
    spec = os.environ.get("FTBENCH_KILL_AT")
    if not spec:
        return
    want, _, nth = spec.partition("@")
    if want != name:
        return
    _hits[name] = _hits.get(name, 0) + 1
    if _hits[name] == int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)
