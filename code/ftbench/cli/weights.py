"""`ftbench weights`: prefetch the pretrained weights a profile's models load."""

from __future__ import annotations

from ftbench.cli.registry import command


@command("weights", "prefetch the pretrained weights of the profile's models into timm's cache")
def weights(ctx) -> int:
    from ftbench.models.factory import prefetch_weights

    names = sorted({r.config.model.name for e in ctx.experiments for r in e.runs
                    if r.config.model.pretrained == "timm"})
    for name in names:
        print(f"ftbench weights: {name} -> {prefetch_weights(name)}")
    print(f"ftbench weights: {len(names)} models cached")
    return 0
