"""Configuration: what a run is (`schema`), how files and overrides become runs
(`experiments`), and the checks on the way (`typed` for single fields, `rules` across fields).
"""

from ftbench.config.experiments import (
    Experiment,
    Layer,
    RunSpec,
    deep_merge,
    experiment_paths,
    find_run,
    list_profiles,
    load_all,
    load_experiment,
    load_profile,
    parse_overrides,
    with_overrides,
)
from ftbench.config.rules import training_images, validate
from ftbench.config.schema import (
    DataConfig,
    GridConfig,
    MethodConfig,
    ModelConfig,
    ProbeConfig,
    ReportConfig,
    RunConfig,
    TrainConfig,
    TuneConfig,
)
from ftbench.config.typed import from_dict, leaves, suggest

__all__ = [
    "DataConfig", "Experiment", "GridConfig", "Layer", "MethodConfig", "ModelConfig",
    "ProbeConfig", "ReportConfig", "RunConfig", "RunSpec", "TrainConfig", "TuneConfig",
    "deep_merge",
    "experiment_paths", "find_run", "from_dict", "leaves", "list_profiles", "load_all",
    "load_experiment", "load_profile", "parse_overrides", "suggest", "training_images",
    "validate", "with_overrides",
]
