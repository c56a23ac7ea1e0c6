"""Readers for the real dataset formats in ``../shared/data`` and for user CSV/JSONL files.

Every reader returns ``(examples, report)``. Malformed records are skipped, counted and the first
few are kept in the report; a reader never crashes on one bad line.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

from ..utils.read_report import ReadReport  # noqa: F401  (readers' report type, re-exported)

logger = logging.getLogger(__name__)


@dataclass
class Example:
    text: str
    label: Optional[str] = None
    text_pair: Optional[str] = None


def _read_lines(path: Path, parse: Callable[[str, int], Optional[Example]]) -> Tuple[List[Example], ReadReport]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"data file {path} not found")
    report, examples = ReadReport(str(path)), []
    with open(path, "rb") as fh:  # decoded per line: one corrupted byte costs one record, named
        for line_no, raw in enumerate(fh, 1):
            try:
                line = raw.decode("utf-8").replace("\r\n", "\n")
            except UnicodeDecodeError as err:
                report.skip(line_no, f"invalid UTF-8 at byte {err.start}")
                continue
            if not line.strip():
                continue
            try:
                ex = parse(line, line_no)
            except (ValueError, KeyError, TypeError, json.JSONDecodeError) as err:
                report.skip(line_no, f"{type(err).__name__}: {err}"[:200])
                continue
            if ex is not None:
                examples.append(ex)
                report.read += 1
    report.log()
    return examples, report


def _clean(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"field {name!r} is {type(value).__name__}, not text")
    if not value.strip():
        raise ValueError(f"field {name!r} is empty")
    return value


def read_jsonl_classification(path: Path, text_key: str = "sentence", label_key: str = "label_desc",
                              pair_key: Optional[str] = None, drop_labels: Iterable[str] = ("-",),
                              ) -> Tuple[List[Example], ReadReport]:
    """CLUE-style JSON lines (TNEWS: sentence/label_desc; AFQMC: sentence1/sentence2/label;
    OCNLI: sentence1/sentence2/label, dropping label ``-``). Labels are kept as strings."""
    drop = set(drop_labels)

    def parse(line: str, _: int) -> Optional[Example]:
        row = json.loads(line)
        if not isinstance(row, dict):
            raise ValueError("record is not a JSON object")
        label = row.get(label_key)
        label = None if label is None else str(label)
        if label in drop:
            return None
        return Example(_clean(row[text_key], text_key), label,
                       _clean(row[pair_key], pair_key) if pair_key else None)

    return _read_lines(path, parse)


def read_tsv_classification(path: Path, label_col: str = "label", text_col: str = "text_a",
                            pair_col: Optional[str] = None) -> Tuple[List[Example], ReadReport]:
    """Header TSV such as ChnSentiCorp (``label<TAB>text_a``)."""
    header: List[str] = []

    def parse(line: str, line_no: int) -> Optional[Example]:
        cells = line.rstrip("\n").split("\t")
        if not header:
            header.extend(cells)
            for col in (label_col, text_col) + ((pair_col,) if pair_col else ()):
                if col not in header:
                    raise SystemExit(f"{path}: header {header} lacks column {col!r}")
            return None
        if len(cells) != len(header):
            raise ValueError(f"{len(cells)} cells, header has {len(header)}")
        row = dict(zip(header, cells))
        return Example(_clean(row[text_col], text_col), row[label_col].strip(),
                       _clean(row[pair_col], pair_col) if pair_col else None)

    return _read_lines(path, parse)


# name -> (reader, {split: file}) for the classification sets in ../shared/data
CLASSIFICATION_SETS: Dict[str, Tuple[Callable, Dict[str, str], dict]] = {
    "chnsenticorp": (read_tsv_classification, {"train": "train.tsv", "dev": "dev.tsv", "test": "test.tsv"}, {}),
    "tnews": (read_jsonl_classification, {"train": "train.json", "dev": "dev.json"}, {}),
    "afqmc": (read_jsonl_classification, {"train": "train.json", "dev": "dev.json"},
              dict(text_key="sentence1", pair_key="sentence2", label_key="label")),
    "ocnli": (read_jsonl_classification, {"train": "train.10k.json", "dev": "dev.json"},
              dict(text_key="sentence1", pair_key="sentence2", label_key="label")),
}


def evenly_spaced(items: Iterable[Any], limit: Optional[int]) -> list:
    """``limit`` evenly spaced items (a smoke run's eval slice that keeps every label in), all without one."""
    items = list(items)
    return items[::max(1, len(items) // limit)][:limit] if limit else items


def load_classification_set(data_root: Path, name: str, split: str) -> Tuple[List[Example], ReadReport]:
    from .sentiment_extra import is_sentiment_extra_set, load_sentiment_set

    if is_sentiment_extra_set(name):  # online_shopping, sentiment_general, online_shopping_loco:<category>
        return load_sentiment_set(data_root, name, split)
    if name not in CLASSIFICATION_SETS:
        raise ValueError(f"`name`={name!r} is not valid; choose one of {sorted(CLASSIFICATION_SETS)} or "
                         "online_shopping, sentiment_general, online_shopping_loco:<category>")
    reader, files, kwargs = CLASSIFICATION_SETS[name]
    if split not in files:
        raise ValueError(f"`split`={split!r} is not valid for {name}; choose one of {sorted(files)}")
    return reader(Path(data_root) / name / files[split], **kwargs)
