"""General-domain sentiment: ``online_shopping_10_cats`` (``../shared/data/sentiment_extra``, 60k reviews
of 10 product categories, de-duplicated against ChnSentiCorp dev/test) with seeded held-out slices, the
"ChnSentiCorp + online_shopping" training mix and leave-one-category-out (LOCO) splits.

Held-out slices (no official split exists): within each (category, label) stratum, a seeded shuffle
(``random.Random(f"{seed}:{category}:{label}")`` over the file order) puts ``round(n * 5%)`` reviews in
``test``, the next ``round(n * 5%)`` in ``dev`` and the rest in ``train``; so every category and label is
represented in both slices in its own proportion, and the slices do not change when other categories do.

Dataset names understood by ``roots_zh.data.readers.load_classification_set``:

- ``online_shopping``: splits ``train`` / ``dev`` / ``test`` (the held-out slices above);
- ``sentiment_general``: ``train`` = ChnSentiCorp train + online_shopping train, ``dev`` = ChnSentiCorp dev
  + online_shopping dev, ``test`` = ChnSentiCorp test (the in-domain reported set), ``test_online_shopping``;
- ``online_shopping_loco:<category>`` (Chinese name or English alias, e.g. ``online_shopping_loco:fruit``):
  ``train`` / ``dev`` = online_shopping train / dev without the category, ``test`` = every review of the
  category (never seen in training). ChnSentiCorp is left out: it shares hotel/book/computer reviews.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

from .readers import Example, ReadReport, _clean, _read_lines

ONLINE_SHOPPING_FILE = "sentiment_extra/online_shopping_10_cats.tsv"
#: English alias -> category name in the file
CATEGORY_ALIASES = {"books": "书籍", "tablets": "平板", "phones": "手机", "fruit": "水果", "shampoo": "洗发水",
                    "water_heaters": "热水器", "dairy": "蒙牛", "clothes": "衣服", "computers": "计算机",
                    "hotels": "酒店"}
CATEGORIES = tuple(CATEGORY_ALIASES.values())
DEV_FRACTION = TEST_FRACTION = 0.05
SEED = 42


@dataclass
class CategoryExample(Example):
    category: str = ""


def read_online_shopping(path: Path) -> Tuple[List[CategoryExample], ReadReport]:
    """``cat<TAB>label<TAB>review`` with a header line; label ``1`` positive, ``0`` negative."""
    header: List[str] = []

    def parse(line: str, _: int):
        cells = line.rstrip("\n").split("\t")
        if not header:
            if cells[:3] != ["cat", "label", "review"]:
                raise SystemExit(f"{path}: header {cells} is not ['cat', 'label', 'review']")
            header.extend(cells)
            return None
        if len(cells) != 3:
            raise ValueError(f"{len(cells)} cells, expected 3")
        category, label, review = cells
        if label.strip() not in ("0", "1"):
            raise ValueError(f"label {label!r} is not 0/1")
        return CategoryExample(_clean(review, "review"), label.strip(), category=_clean(category, "cat").strip())

    return _read_lines(Path(path), parse)  # type: ignore[return-value]


def stratified_splits(examples: Sequence[CategoryExample], dev_fraction: float = DEV_FRACTION,
                      test_fraction: float = TEST_FRACTION, seed: int = SEED) -> Dict[str, List[CategoryExample]]:
    """``{"train", "dev", "test"}`` held out per (category, label) stratum with a seeded shuffle; each
    split keeps file order."""
    for name, value in (("dev_fraction", dev_fraction), ("test_fraction", test_fraction)):
        if not 0 <= value < 1:
            raise ValueError(f"`{name}` must be in [0, 1), got {value!r}")
    if dev_fraction + test_fraction >= 1:
        raise ValueError(f"`dev_fraction` + `test_fraction` must be < 1, got {dev_fraction + test_fraction}")
    strata: Dict[Tuple[str, str], List[int]] = {}
    for i, ex in enumerate(examples):
        strata.setdefault((ex.category, str(ex.label)), []).append(i)
    where: Dict[int, str] = {}
    for (category, label), idx in strata.items():
        idx = list(idx)
        random.Random(f"{seed}:{category}:{label}").shuffle(idx)
        n_test, n_dev = round(len(idx) * test_fraction), round(len(idx) * dev_fraction)
        for j, i in enumerate(idx):
            where[i] = "test" if j < n_test else "dev" if j < n_test + n_dev else "train"
    out: Dict[str, List[CategoryExample]] = {"train": [], "dev": [], "test": []}
    for i, ex in enumerate(examples):
        out[where[i]].append(ex)
    return out


def resolve_category(category: str) -> str:
    """A category name in the file from itself or its English alias; ValueError names the choices."""
    name = CATEGORY_ALIASES.get(str(category).strip().lower(), str(category).strip())
    if name not in CATEGORIES:
        raise ValueError(f"`category`={category!r} is not valid; choose one of {list(CATEGORIES)} "
                         f"or {sorted(CATEGORY_ALIASES)}")
    return name


def leave_one_category_out(splits: Dict[str, List[CategoryExample]], category: str
                           ) -> Dict[str, List[CategoryExample]]:
    """Train/dev without ``category``; test = every review of ``category`` (all three slices)."""
    name = resolve_category(category)
    return {"train": [e for e in splits["train"] if e.category != name],
            "dev": [e for e in splits["dev"] if e.category != name],
            "test": [e for s in ("train", "dev", "test") for e in splits[s] if e.category == name]}


_SPLITS = {"online_shopping": ("train", "dev", "test"),
           "sentiment_general": ("train", "dev", "test", "test_online_shopping"),
           "online_shopping_loco": ("train", "dev", "test")}


def is_sentiment_extra_set(name: str) -> bool:
    return name.split(":", 1)[0] in _SPLITS


def load_sentiment_set(data_root: Path, name: str, split: str) -> Tuple[List[Example], ReadReport]:
    """The sets named in the module docstring; ``(examples, report)`` like the other readers."""
    base, _, category = name.partition(":")
    if base not in _SPLITS:
        raise ValueError(f"`name`={name!r} is not valid; choose one of {sorted(_SPLITS)}")
    if (base == "online_shopping_loco") != bool(category):
        raise ValueError(f"`name`={name!r}: a category goes with online_shopping_loco only "
                         f"(e.g. 'online_shopping_loco:fruit')")
    if split not in _SPLITS[base]:
        raise ValueError(f"`split`={split!r} is not valid for {base}; choose one of {list(_SPLITS[base])}")
    root = Path(data_root)
    path = root / ONLINE_SHOPPING_FILE
    examples, report = read_online_shopping(path)
    splits = stratified_splits(examples)
    if base == "online_shopping_loco":
        got: List[Example] = list(leave_one_category_out(splits, category)[split])
    elif base == "online_shopping":
        got = list(splits[split])
    elif split == "test_online_shopping":
        got = list(splits["test"])
    else:
        from .readers import load_classification_set

        got = list(load_classification_set(root, "chnsenticorp", split)[0])
        if split != "test":
            got += splits[split]
    out = ReadReport(f"{name}/{split}", read=len(got), skipped=report.skipped, first_errors=report.first_errors)
    return got, out
