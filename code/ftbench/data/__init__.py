"""Datasets as uint8 tensors in memory: the registry (`registry`), the datasets it holds
(`catalog`), their splits (`splits`), files on disk (`files`) and the device-side pipeline."""

from ftbench.data import catalog  # noqa: F401  (fills the registry: timm's pattern)
