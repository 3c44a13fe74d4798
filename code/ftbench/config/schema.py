"""What a run, and a table's report, can be told: typed dataclasses.

Choices are `Literal` types; a field's bounds live in its metadata (`at_least`, `positive`,
`within`), so the check and the field sit together and `config.typed` applies both to every
layer of every file and override. Only rules that span several fields are in `config.rules`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

from ftbench.config.identity import config_hash


def _bound(default, factory=None, **metadata):
    if factory is not None:
        return field(default_factory=factory, metadata=metadata)
    return field(default=default, metadata=metadata)


def at_least(low, default, example=None, high=None):
    """An integer or float bound below, inclusive: '<key> must be at least <low>' (and at most
    `high`, where given)."""
    if high is not None:
        return _bound(default, min=low, max=high, example=example)
    return _bound(default, min=low, example=example)


# Seeds go to NumPy and scikit-learn, which take 0 .. 2**32 - 1 and fail mid-run on others.
MAX_SEED = 2**32 - 1


def positive(default, example=None):
    return _bound(default, gt=0, example=example)


def within(low, high, default, closed_high: bool = False, open_low: bool = False):
    """A float in [low, high) (or (low, high), or [low, high])."""
    return _bound(default, interval=(low, high, open_low, closed_high))


Method = Literal["full", "head", "lora"]
Optimizer = Literal["adamw", "adam", "sgd", "rmsprop"]
Schedule = Literal["cosine", "linear", "onecycle", "constant", "step", "cosine_restarts"]
Precision = Literal["auto", "bf16", "fp32"]
Augmentation = Literal["flip", "crop", "resized-crop", "jitter"]
SaveWeights = Literal["trainable", "all", "none"]


@dataclass
class ModelConfig:
    name: str = "resnet50"  # a timm model name (timm.list_models)
    label: str = ""  # how tables name it; scaled-down models must say so
    # none | timm (the hub weights of `name`) | run:<table>/<run-id> (a pipeline checkpoint)
    # | file:<path> (a local state dict, for offline machines)
    pretrained: str = "none"
    # with pretrained: timm, read the hub weights from this local copy (.safetensors or .pth,
    # loaded weights-only) instead of downloading them: for offline machines
    pretrained_file: str = ""
    kwargs: dict = field(default_factory=dict)  # passed to timm.create_model
    cifar_stem: bool = False  # ResNet: 3x3 stride-1 conv1 and no max-pool, for 32 px inputs


@dataclass
class MethodConfig:
    name: Method = "full"  # full: every weight trains; head: classifier only; lora: adapters
    r: int = at_least(1, 8, example=8)
    alpha: float = positive(16.0)  # the update is scaled by alpha / r, as a float
    dropout: float = within(0, 1, 0.0)
    # peft target_modules: names matched as suffixes (`qkv.q` hits `blocks.0.attn.qkv.q`),
    # or a single regex matched against full module names. `qkv.q`/`qkv.k`/`qkv.v` split
    # timm's fused attention projection so that q and v can be adapted alone.
    targets: list[str] = field(default_factory=list)


@dataclass
class DataConfig:
    name: str = "digits"  # see ftbench.data.registry
    label: str = ""  # how tables name it (default: the registry's name), e.g. a stand-in's role
    image_size: int = at_least(8, 32, example=224)  # the model's input side (resized on device)
    channels: Literal[1, 3] = 3  # grayscale images are repeated to 3 channels for RGB backbones
    # carved from train, stratified, where a dataset has no val split
    val_fraction: float = within(0, 1, 0.1, open_low=True)
    val_from: Literal["train", "test"] = "train"  # test: write-up 003 cuts val and test from test
    # fixed for every run: all see the same split (it and the next two seed the splits)
    split_seed: int = at_least(0, 0, example=0, high=MAX_SEED - 2)
    train_limit: int = at_least(0, 0, example=0)  # at most this many training images (0: all)
    # real datasets: check the published split sizes and per-class counts, so that a partial
    # copy is an error rather than a silently smaller dataset; false only for a copy that is
    # partial on purpose (the tests' small fakes)
    check_counts: bool = True
    # flip; crop (random crop with padding); resized-crop (random area 8-100%, ratio 3/4-4/3);
    # jitter (brightness, contrast, saturation +-10%, per image)
    augment: list[Augmentation] = field(default_factory=list)
    mixup: float = at_least(0, 0.0, example=0.8)  # MixUp alpha (timm's Mixup; 0: off)
    cutmix: float = at_least(0, 0.0, example=1.0)  # CutMix alpha; with both, one per batch
    # the share of batches mixed at all (timm's `prob`). With both on, a mixed batch gets one
    # of the two at even odds; an ablation that turns one off sets 0.5, so that exactly the
    # batches it would have mixed go unmixed and the other keeps its share
    mix_prob: float = within(0, 1, 1.0, closed_high=True)

    @property
    def mixing(self) -> bool:
        """MixUp or CutMix is on: batches are mixed pairs with soft targets."""
        return bool(self.mixup or self.cutmix)


@dataclass
class TrainConfig:
    epochs: int = at_least(1, 5, example=5)
    batch_size: int = at_least(1, 64, example=64)
    eval_batch_size: int = at_least(1, 256, example=256)
    optimizer: Optimizer = "adamw"
    lr: float = positive(1e-3, example="1e-3")
    weight_decay: float = at_least(0, 0.0, example=0.0)
    momentum: float = within(0, 1, 0.9)  # sgd and rmsprop only
    # stepped once per optimizer step; step: x0.1 at 50% and 75% of training;
    # cosine_restarts: cosine over each quarter of training, restarting at the full rate
    schedule: Schedule = "cosine"
    warmup_epochs: float = at_least(0, 0.0, example=0)
    grad_clip: float = at_least(0, 0.0, example=1.0)  # 0: off
    grad_clip_mode: Literal["norm", "value"] = "norm"
    accum_steps: int = at_least(1, 1, example=1)
    label_smoothing: float = within(0, 1, 0.0)
    precision: Precision = "auto"  # auto: bf16 autocast on CUDA, fp32 on CPU
    # speed switches (make bench measures each): NHWC tensors for CNNs; torch.compile of the
    # training forward; the optimizer's fused kernel (adamw, adam, sgd)
    channels_last: bool = False
    compile: bool = False
    fused: bool = False
    # classifier-only runs with nothing random before the classifier (no augmentation, MixUp or
    # dropout) train on the frozen backbone's features computed once: the same result, without
    # the backbone's forward pass every epoch (ftbench.train.features); false: recompute
    cache_features: bool = True
    # what a finished run keeps of what it trained (ftbench.models.weights): trainable (LoRA
    # adapters and the head, or every weight of a full fine-tuning), all (the whole model),
    # none; a run folder's size at full size: docs/results.md (disk use per run)
    save_weights: SaveWeights = "trainable"


@dataclass
class ProbeConfig:
    """Write-up 001's looks inside the trained network (ftbench.train.probes); full training
    only."""

    enabled: bool = False
    images: int = at_least(1, 1024, example=1024)  # training images for the loss landscape
    points_1d: int = at_least(3, 25, example=25)  # steps along one direction, from -1 to 1
    points_2d: int = at_least(3, 13, example=13)  # steps per side of the two-direction grid


@dataclass
class RunConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    method: MethodConfig = field(default_factory=MethodConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    seed: int = at_least(0, 0, example=0, high=MAX_SEED)
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    threads: int = at_least(0, 0, example=1)  # torch CPU threads (0: torch's default)
    save_backbone: bool = False  # keep the trained backbone for later fine-tuning runs
    merge_check: bool = False  # LoRA: time merged vs unmerged inference, compare predictions
    eval_train: bool = False  # also report accuracy on the clean training set (train-test gap)
    probe: ProbeConfig = field(default_factory=ProbeConfig)

    def to_dict(self) -> dict:
        return asdict(self)

    def hash(self) -> str:
        """The identity of this configuration: every field, defaults included."""
        return config_hash(self)


@dataclass
class TuneConfig:
    """How `ftbench tune` chose a setting of a table on validation accuracy (`tune:` block)."""

    key: str = ""  # the dotted key tuned, e.g. train.lr
    values: list[float] = field(default_factory=list)  # the candidates
    # "": every configuration gets its own best value; an axis label (e.g. r4): the value best
    # for the configurations with that label is used by all (an ablation varies one thing)
    on_label: str = ""
    # 0: choose the value with the best validation accuracy; above 0: the smallest value whose
    # validation accuracy reaches it (the values tried in ascending order, stopping at the first
    # that does), e.g. the fewest pretraining epochs that reach a level of accuracy
    target: float = field(default=0.0, metadata={"min": 0.0, "max": 1.0})


@dataclass
class GridConfig:
    """A grid table's axes: CSV columns for rows, columns and panels, and their titles."""

    rows: str = ""
    cols: str = ""
    panels: str = ""
    row_title: str = ""
    col_title: str = ""
    panel_title: str = ""
    zero_is: dict = field(default_factory=dict)  # {rows|cols|panels: word for the value 0}


@dataclass
class ReportConfig:
    """How `ftbench render` shows a table (the `report:` block of an experiment)."""

    table: Literal["benchmark", "paired", "ablation", "study", "grid"] = "benchmark"
    caption: str = ""
    # the baseline each configuration is tested against: the first configuration of each block
    # of these axes (default: the first axis when there are several); `baseline` says it in words
    paired_by: list[str] | None = None
    baseline: str = ""
    pareto: bool = False  # join each dataset's Pareto-optimal points in the parameters figure
    figures: list[Literal["confusion"]] = field(default_factory=list)
    main: str = ""  # study tables: the setting every other row changes
    studies: dict = field(default_factory=dict)  # study name -> [settings]
    grid: GridConfig = field(default_factory=GridConfig)
