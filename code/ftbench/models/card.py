"""A saved run's model card: `weights/README.md` in Hugging Face's format (a YAML metadata block,
then prose), written from the run's summary, so that a run folder found alone says what it is,
how it was made and how to load and evaluate it with timm and peft, without ftbench (the micro
models of the miniature need the one import that registers them with timm; its generated
stand-in data exist only as ftbench's code).
"""

from __future__ import annotations

from pathlib import Path

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
    """The snippet's second part: the run's test split, preprocessed as timm says, scored."""
    data = summary["config"]["data"]
    lines = ["", "# preprocessing from the model's own pretrained config",
             "config = timm.data.resolve_data_config({}, model=model)",
             "transform = timm.data.create_transform(**config)"]
    if summary["dataset"]["name"].startswith(("synth", "digits")):
        lines += ["# the miniature's stand-in test split, drawn by ftbench's generator",
                  "from torchvision.transforms.functional import to_pil_image",
                  "from ftbench.config.schema import DataConfig",
                  "from ftbench.data.splits import load_splits",
                  f"test = load_splits(DataConfig(**{data!r})).test",
                  f"images = [to_pil_image(x.expand({data['channels']}, -1, -1)) for x in test.x]",
                  "labels = test.y"]
    else:
        lines += [f"# the run's test split of {summary['dataset']['display']}: ftbench's "
                  f"data.splits.load_splits(DataConfig(**{data!r})) draws it",
                  "images, labels = ..."]
    return [*lines, "with torch.no_grad():",
            "    batches = [images[i:i + 64] for i in range(0, len(images), 64)]",
            "    logits = torch.cat([model(torch.stack([transform(im) for im in batch]))",
            "                        for batch in batches])",
            "print('accuracy', (logits.argmax(1) == labels).float().mean().item())"]


def snippet(summary: dict, base: str, folder: str) -> str:
    whole = "model.safetensors" in (summary.get("weights") or {}).get("files", {})
    lines = _load_lines(summary["config"], base, summary["dataset"]["classes"], folder, whole)
    return "\n".join([*lines, *_evaluate_lines(summary)])


def _metadata(summary: dict, base: str) -> list[str]:
    test, lora = summary["test"], summary["config"]["method"]["name"] == "lora"
    name = f"{summary['table']}/{summary['run_id']}"
    return ["---", f"library_name: {'peft' if lora else 'timm'}", f"base_model: {base}",
            "license: mit", "pipeline_tag: image-classification",
            f"tags: [image-classification, timm, ftbench{', peft, lora' if lora else ''}]",
            f"datasets: [{summary['dataset']['name']}]", "model-index:", f"- name: {name}",
            "  results:", "  - task: {type: image-classification}",
            f"    dataset: {{name: \"{summary['dataset']['display']}\", "
            f"type: {summary['dataset']['name']}, split: test}}", "    metrics:",
            f"    - {{type: accuracy, value: {test['accuracy']:.6f}}}",
            f"    - {{type: f1, name: macro-F1, value: {test['macro_f1']:.6f}}}",
            f"    - {{type: roc_auc, name: macro-AUC, value: {test['macro_auc']:.6f}}}", "---"]


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
        f"- Made by: `make all PROFILE={profile}` (this run alone: `ftbench run {key} --profile "
        f"{profile}`) at commit {summary['env']['git_commit']}; every resolved setting is in "
        "the run's summary.json.",
        "- Licence: MIT (the code and these weights); the data and any pretrained weights keep "
        "their own licences.", "", "## Load and evaluate", "", "```python",
        snippet(summary, base, folder), "```", ""])
