"""The JPEG datasets' indexes: {split: [(path, label)]} and class names, read from each
dataset's own listing files and checked for consistency before anything is decoded. A listing
that leaves out a class, or names one the others do not, is an error rather than a silently
smaller dataset."""

from __future__ import annotations

import json
from pathlib import Path

from ftbench.data.checks import inconsistent, missing


def check_files(name: str, base: Path, paths: list[Path]) -> None:
    absent = [p for p in paths if not p.is_file()]
    if absent:
        raise missing(name, base, f"is incomplete ({len(absent)} of {len(paths)} images "
                                  f"missing, e.g. {absent[0].relative_to(base)})")


def _read(name: str, path: Path) -> str:
    try:
        return path.read_text()
    except UnicodeDecodeError:
        raise missing(name, path, "index is unreadable") from None


def _food101_listing(base: Path, split: str) -> dict[str, list[str]]:
    meta = base / "meta" / f"{split}.json"
    if not meta.is_file():
        raise missing("food101", base)
    try:
        listing = json.loads(_read("food101", meta))
    except json.JSONDecodeError:
        listing = None
    if not (isinstance(listing, dict) and all(
            isinstance(v, list) and all(isinstance(r, str) for r in v) for v in listing.values())):
        raise missing("food101", meta, "index is unreadable")
    return listing


def _same_classes(meta: Path, named: dict[str, set[str]]) -> None:
    """Every meta file names the same classes."""
    (first, classes), *others = named.items()
    for file, names in others:
        for lacks, has, extra in ((file, first, classes - names), (first, file, names - classes)):
            if extra:
                raise inconsistent("food101", meta, f"{lacks} lacks class {min(extra)!r} that "
                                                    f"{has} names")


def food101_index(root: Path) -> dict:
    """From meta/{train,test}.json (and meta/classes.txt, where present); checks every file."""
    base = Path(root) / "food-101"
    listings = {split: _food101_listing(base, split) for split in ("train", "test")}
    named = {f"{split}.json": set(listing) for split, listing in listings.items()}
    if (base / "meta" / "classes.txt").is_file():
        named["classes.txt"] = set(_read("food101", base / "meta" / "classes.txt").split())
    _same_classes(base / "meta", named)
    classes = sorted(listings["train"])
    index = {}
    for split, listing in listings.items():
        empty = [c for c in classes if not listing[c]]
        if empty:
            raise inconsistent("food101", base / "meta" / f"{split}.json",
                               f"it lists no images of class {empty[0]!r}")
        index[split] = [(base / "images" / f"{rel}.jpg", label)
                        for label, c in enumerate(classes) for rel in listing[c]]
        check_files("food101", base, [p for p, _ in index[split]])
    return {"index": index, "classes": classes, "where": base}


def _tiny_train(base: Path, wnids: list[str]) -> list[tuple[Path, int]]:
    train = []
    for label, w in enumerate(wnids):
        folder = base / "train" / w / "images"
        images = sorted(folder.glob("*.JPEG")) if folder.is_dir() else []
        if not images:
            state = "empty" if folder.is_dir() else "missing"
            raise missing("tiny-imagenet", base / "train",
                          f"is incomplete (class folder {w}/images is {state})")
        train += [(p, label) for p in images]
    return train


def _tiny_val(base: Path, annotations: Path, label: dict[str, int]) -> list[tuple[Path, int]]:
    test = []
    for n, line in enumerate(_read("tiny-imagenet", annotations).splitlines(), 1):
        fields = line.split("\t")
        if len(fields) < 2:
            raise missing("tiny-imagenet", annotations, f"annotation line {line!r} is malformed")
        if fields[1] not in label:
            raise inconsistent("tiny-imagenet", annotations,
                               f"line {n} names wnid {fields[1]!r}, which wnids.txt lacks")
        test.append((base / "val" / "images" / fields[0], label[fields[1]]))
    return test


def tiny_imagenet_index(root: Path) -> dict:
    """Train images by class folder; the labelled val images (our test split) by
    val_annotations.txt. Checks every file."""
    base = Path(root) / "tiny-imagenet-200"
    wnids_file, annotations = base / "wnids.txt", base / "val" / "val_annotations.txt"
    if not (wnids_file.is_file() and annotations.is_file()):
        raise missing("tiny-imagenet", base)
    wnids = _read("tiny-imagenet", wnids_file).split()
    label = {w: i for i, w in enumerate(wnids)}
    if not wnids or len(label) < len(wnids):
        twice = sorted(w for w in label if wnids.count(w) > 1)
        raise inconsistent("tiny-imagenet", wnids_file, f"wnid {twice[0]!r} is listed twice"
                           if twice else "it names no classes")
    train = _tiny_train(base, wnids)
    test = _tiny_val(base, annotations, label)
    check_files("tiny-imagenet", base, [p for p, _ in test])
    names = {}
    words = base / "words.txt"
    if words.is_file():  # wnid -> human-readable name, where the file has it
        for line in _read("tiny-imagenet", words).splitlines():
            wnid, _, text = line.partition("\t")
            names[wnid] = text.split(",")[0]
    return {"index": {"train": train, "test": test},
            "classes": [names.get(w, w) for w in wnids], "where": base}
