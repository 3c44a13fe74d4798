"""`ftbench data`: download and unpack the datasets a profile reads."""

from __future__ import annotations

from ftbench.cli.registry import command


@command("data", "download (resumably, checksummed) and unpack the datasets the profile's runs "
                 "read, into DATA_DIR")
def data(ctx) -> int:
    from ftbench.data.files import fetch
    from ftbench.data.registry import DATASETS, data_root

    names = sorted({r.config.data.name for e in ctx.experiments for r in e.runs
                    if not DATASETS[r.config.data.name].embedded})
    for name in names:
        print(f"ftbench data: {name} -> {data_root()}")
        fetch(name, data_root())
    print(f"ftbench data: {len(names)} datasets ready under {data_root()}"
          + ("" if names else f" (the {ctx.args.profile} profile reads embedded data only)"))
    return 0
