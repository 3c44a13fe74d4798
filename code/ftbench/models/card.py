"""A saved run's model card: `weights/README.md` in Hugging Face's format (a YAML metadata block,
then prose), written from the run's summary, so that a run folder found alone says what it is,
how it was made and how to load and evaluate it with timm and peft, without ftbench (the micro
models of the miniature need the one import that registers them with timm; its generated
stand-in data exist only as ftbench's code).
"""

from __future__ import annotations

from pathlib import Path

import timm

from ftbench.models.methods import wants_split_qkv
from ftbench.store.layout import BACKBONE, run_path

# What a LoRA run on a ViT did before peft could adapt q and v: the snippet repeats it inline.
SPLIT_QKV = '''\
from torch import nn

class SplitQKV(nn.Module):  # timm's fused qkv as q, k, v Linears, as the run trained it
    def __init__(self, fused):
        super().__init__()
        dim, bias = fused.out_features // 3, fused.bias is not None
        for i, name in enumerate("qkv"):
            lin = nn.Linear(fused.in_features, dim, bias=bias)
            lin.weight.data.copy_(fused.weight.data[i * dim:(i + 1) * dim])
            if bias:
                lin.bias.data.copy_(fused.bias.data[i * dim:(i + 1) * dim])
            setattr(self, name, lin)

    def forward(self, x):
        return torch.cat([self.q(x), self.k(x), self.v(x)], dim=-1)

for name, mod in list(model.named_modules()):
    if name.endswith(".qkv") and type(mod) is nn.Linear:
        parent, _, child = name.rpartition(".")
        setattr(model.get_submodule(parent), child, SplitQKV(mod))
'''

CIFAR_STEM = '''\
# the run's CIFAR stem: a 3x3 first convolution with stride 1, and no max-pool
model.conv1 = torch.nn.Conv2d(model.conv1.in_channels, model.conv1.out_channels, 3, 1, 1,
                              bias=False)
model.maxpool = torch.nn.Identity()
'''


def base_reference(model_cfg, results: Path) -> str:
    """The model a run starts from, as a card or an adapter config names it: timm's hub id
    with its tag, the pipeline run's backbone file, a named file, or (no pretraining) the timm
    architecture itself."""
    p = model_cfg.pretrained
    if p == "timm":
        return model_cfg.pretrained_file or f"timm/{model_cfg.name}"
    if p.startswith("run:"):
        return str(run_path(results, p[4:]) / BACKBONE)
    if p.startswith("file:"):
        return p[5:]
    return model_cfg.name


def _load_lines(config: dict, base: str, classes: int, folder: str, whole: bool) -> list[str]:
    """The snippet's first part: the model, with its trained weights, from timm and peft.
    `whole`: the run kept every weight (model.safetensors) rather than what it trained."""
    model, method = config["model"], config["method"]
    name = model["name"]
    args = f'"{name.split(".")[0]}", num_classes={classes}, in_chans={config["data"]["channels"]}'
    args += "".join(f", {k}={v!r}" for k, v in sorted(model["kwargs"].items()))
    lines = ["import timm", "import torch", "from safetensors.torch import load_file"]
    if "micro" in name:
        lines.append("import ftbench.models.micro  # registers the micro models with timm")
    if method["name"] == "lora" and not whole:
        lines.append("from peft import PeftModel")
    pretrained = model["pretrained"] == "timm" and not model["pretrained_file"]
    lines += ["", f"model = timm.create_model({args}{', pretrained=True' if pretrained else ''})"]
    if model["cifar_stem"]:
        lines += CIFAR_STEM.splitlines()
    if model["pretrained"].startswith(("run:", "file:")) or model["pretrained_file"]:
        lines.append(f'model.load_state_dict(load_file("{base}"), strict=False)  # backbone')
    if method["name"] == "lora" and wants_split_qkv(method["targets"]):
        lines += SPLIT_QKV.splitlines()
    if whole and method["name"] == "lora":  # peft's wrapped model, every weight
        lines += ["from peft import LoraConfig, get_peft_model",
                  f"model = get_peft_model(model, LoraConfig(r={method['r']}, "
                  f"lora_alpha={method['alpha']}, target_modules={method['targets']!r}))"]
    if whole or method["name"] == "full":
        lines.append(f'model.load_state_dict(load_file("{folder}/model.safetensors"))')
    elif method["name"] == "head":
        lines.append(f'model.get_classifier().load_state_dict(load_file("{folder}/head.safetensors"))')
    else:
        lines.append(f'model = PeftModel.from_pretrained(model, "{folder}/adapter")  # with head')
    return [*lines, "model.eval()"]


def _evaluate_lines(summary: dict) -> list[str]:
    """The snippet's second part: the run's test split, preprocessed as the run did (timm's
    transform, sized and resized as the run's pipeline: a square of the run's side, bilinear,
    no crop), scored."""
    data, name = summary["config"]["data"], summary["dataset"]["name"]
    side = data["image_size"]
    source = ("the miniature's stand-in, drawn by ftbench's generator" if
              name.startswith(("synth", "digits")) else f"{summary['dataset']['display']} "
              "from DATA_DIR, split as the run split it")
    return ["", "# preprocessing: the model's own config, at the run's input size, resized as "
            "the run resized", "config = timm.data.resolve_data_config(",
            f"    {{'input_size': (3, {side}, {side}), 'crop_pct': 1.0, "
            "'interpolation': 'bilinear'}, model=model)",
            "transform = timm.data.create_transform(**config)",
            f"# the run's test split: {source}",
            "from torchvision.transforms.functional import to_pil_image",
            "from ftbench.config.schema import DataConfig",
            "from ftbench.data.splits import load_splits",
            f"test = load_splits(DataConfig(**{dict(sorted(data.items()))!r})).test",
            f"images = [to_pil_image(x.expand({data['channels']}, -1, -1)) for x in test.x]",
            "labels = test.y", "with torch.no_grad():",
            "    batches = [images[i:i + 64] for i in range(0, len(images), 64)]",
            "    logits = torch.cat([model(torch.stack([transform(im) for im in batch]))",
            "                        for batch in batches])",
            "print('accuracy', (logits.argmax(1) == labels).float().mean().item())"]


def snippet(summary: dict, base: str, folder: str) -> str:
    whole = "model.safetensors" in (summary.get("weights") or {}).get("files", {})
    lines = _load_lines(summary["config"], base, summary["dataset"]["classes"], folder, whole)
    return "\n".join([*lines, *_evaluate_lines(summary)])


def licence(model_cfg: dict) -> str:
    """The weights' licence: the pretrained weights' own (timm's record of them), or MIT for
    weights this pipeline trained from nothing (the micro models' backbones included)."""
    if model_cfg["pretrained"] != "timm":
        return "mit"
    cfg = None if model_cfg["pretrained_file"] else timm.models.get_pretrained_cfg(
        model_cfg["name"])
    return (cfg.license if cfg else None) or "other"


def _metadata(summary: dict, base: str) -> list[str]:
    test, lora = summary["test"], summary["config"]["method"]["name"] == "lora"
    name = f"{summary['table']}/{summary['run_id']}"
    return ["---", f"library_name: {'peft' if lora else 'timm'}", f"base_model: {base}",
            f"license: {licence(summary['config']['model'])}",
            "pipeline_tag: image-classification",
            f"tags: [image-classification, timm, ftbench{', peft, lora' if lora else ''}]",
            f"datasets: [{summary['dataset']['name']}]", "model-index:", f"- name: {name}",
            "  results:", "  - task: {type: image-classification}",
            f"    dataset: {{name: \"{summary['dataset']['display']}\", "
            f"type: {summary['dataset']['name']}, split: test}}", "    metrics:",
            f"    - {{type: accuracy, value: {test['accuracy']:.6f}}}",
            f"    - {{type: f1, name: macro-F1, value: {test['macro_f1']:.6f}}}",
            f"    - {{type: roc_auc, name: macro-AUC, value: {test['macro_auc']:.6f}}}", "---"]


def _made_by(summary: dict, key: str, folder: str, profile: str) -> str:
    commit = summary["env"]["git_commit"]
    if "/oneoff/" in folder:  # its folder says so: the plan's run with overrides of its own
        return (f"- Made by: `ftbench run {key} --profile {profile} key=value...`, a one-off with "
                f"overrides, at commit {commit}; every resolved setting is in its summary.json.")
    return (f"- Made by: `make all PROFILE={profile}` (this run alone: `ftbench run {key} "
            f"--profile {profile}`) at commit {commit}; every resolved setting is in the run's "
            "summary.json.")


def card_text(summary: dict, base: str, folder: str, profile: str) -> str:
    """The model card of a run whose summary is `summary`, its weights in `folder`."""
    c, test, key = summary["config"], summary["test"], f"{summary['table']}/{summary['run_id']}"
    method = c["method"]
    settings = (f"LoRA r={method['r']}, alpha={method['alpha']:g} (scale alpha/r = "
                f"{method['alpha'] / method['r']:g}), dropout {method['dropout']:g} on "
                f"{', '.join(method['targets'])}; the new classifier trained in full"
                if method["name"] == "lora" else {"head": "the classifier alone",
                                                   "full": "every weight"}[method["name"]])
    t = c["train"]
    return "\n".join([
        *_metadata(summary, base), "", f"# {key}: {summary['model']['label']}, {method['name']}",
        "", f"Run `{key}` of ftbench (random seed {c['seed']}): `{c['model']['name']}` from "
        f"`{base}`, trained on {summary['dataset']['display']} "
        f"({summary['dataset']['train']} training, {summary['dataset']['val']} validation, "
        f"{summary['dataset']['test']} test images, {c['data']['image_size']} px).", "",
        f"- Method: {settings}; {summary['params']['trainable']:,} of "
        f"{summary['params']['total']:,} parameters trained.",
        f"- Training: {t['epochs']} epoch{'s' if t['epochs'] > 1 else ''}, "
        f"batch {t['batch_size']} x {t['accum_steps']}, "
        f"{t['optimizer']}, lr {t['lr']:g}, {t['schedule']} schedule; the epoch with the best "
        f"validation accuracy ({summary['best_epoch']}) kept.",
        f"- Test: accuracy {test['accuracy']:.4f}, macro-F1 {test['macro_f1']:.4f}, "
        f"macro-AUC {test['macro_auc']:.4f}, loss {test['loss']:.4f}.",
        _made_by(summary, key, folder, profile),
        f"- Licence: {licence(c['model'])} for these weights (the pretrained weights' own, or MIT "
        "where this pipeline trained them from nothing); the code is MIT; the data keep their "
        "own licences.", "", "## Load and evaluate", "", "```python",
        snippet(summary, base, folder), "```", ""])
