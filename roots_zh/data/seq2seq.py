"""Readers for the seq2seq sets in ``../shared/data``: CSL (abstract → title), LCSTS (text → summary),
news headlines mined from the corpus (body → title), Tatoeba cmn-eng, WMT newstest and the other zh↔en
pairs (``zh_en/extra``, the corpus TED/NC pairs).

Every reader returns ``(pairs, report)`` with :class:`Pair` ``(source, target)``; malformed records are
skipped and counted in a :class:`~roots_zh.data.readers.ReadReport`, never a crash.
"""
from __future__ import annotations

import csv
import gzip
import hashlib
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from .readers import ReadReport

DIRECTIONS = ("zh-en", "en-zh")
TATOEBA_SPLIT = {"test": (0, 5), "dev": (5, 10), "train": (10, 100)}  # sha1 bucket ranges (of 100)


@dataclass(frozen=True)
class Pair:
    source: str
    target: str


def _field(value: Optional[str], name: str) -> str:
    if value is None or not value.strip():
        raise ValueError(f"field {name!r} is empty")
    return value.strip()


def _read_tsv_rows(path: Path, n_cols: int, report: ReadReport, quoting: bool = True) -> Iterable[Tuple[int, List[str]]]:
    """Yield ``(line_no, cells)`` of a tab-separated file with ``n_cols`` columns (CSV quoting allowed)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"data file {path} not found")
    csv.field_size_limit(min(sys.maxsize, 2 ** 31 - 1))
    with open(path, encoding="utf-8", errors="replace", newline="") as fh:
        reader = csv.reader(fh, delimiter="\t", quotechar='"',
                            quoting=csv.QUOTE_MINIMAL if quoting else csv.QUOTE_NONE)
        while True:
            line_no = reader.line_num + 1
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as err:
                report.skip(line_no, f"csv: {err}")
                continue
            if not cells or not any(c.strip() for c in cells):
                continue
            if len(cells) != n_cols:
                report.skip(line_no, f"{len(cells)} cells, expected {n_cols}")
                continue
            yield line_no, cells


def _collect(path: Path, n_cols: int, make, quoting: bool = True) -> Tuple[List[Pair], ReadReport]:
    report, pairs = ReadReport(str(path)), []
    for line_no, cells in _read_tsv_rows(path, n_cols, report, quoting):
        try:
            pairs.append(make(cells))
            report.read += 1
        except ValueError as err:
            report.skip(line_no, str(err))
    report.log()
    return pairs, report


def read_csl(path: Path, title_first: Optional[bool] = None) -> Tuple[List[Pair], ReadReport]:
    """CSL title generation: ``Pair(abstract, title)``.

    ``dev.tsv``/``test.tsv`` are ``to title<TAB>abstract<TAB>title``; CLGE's ``clge_val.tsv`` is
    ``title<TAB>abstract`` (``title_first=None`` picks by the file name)."""
    path = Path(path)
    if title_first is None:
        title_first = path.name.startswith("clge")
    if title_first:
        return _collect(path, 2, lambda c: Pair(_field(c[1], "abstract"), _field(c[0], "title")))
    return _collect(path, 3, lambda c: Pair(_field(c[1], "abstract"), _field(c[2], "title")))


def read_lcsts(path: Path) -> Tuple[List[Pair], ReadReport]:
    """LCSTS (CLGE PART_II re-split): ``summary<TAB>text`` with CSV quoting -> ``Pair(text, summary)``."""
    return _collect(path, 2, lambda c: Pair(_field(c[1], "text"), _field(c[0], "summary")))


def read_tatoeba(path: Path, direction: str = "zh-en") -> Tuple[List[Pair], ReadReport]:
    """Tatoeba ``en<TAB>zh<TAB>attribution`` -> pairs in ``direction`` (``"zh-en"`` or ``"en-zh"``)."""
    _check_direction(direction)

    def make(c: List[str]) -> Pair:
        en, zh = _field(c[0], "en"), _field(c[1], "zh")
        return Pair(zh, en) if direction == "zh-en" else Pair(en, zh)

    return _collect(path, 3, make, quoting=False)


def read_en_zh(path: Path, direction: str = "zh-en") -> Tuple[List[Pair], ReadReport]:
    """``English<TAB>Chinese`` lines (``zh_en/extra``, ``corpus/en_zh_parallel.txt.gz``; gzip by suffix)
    -> pairs in ``direction``."""
    _check_direction(direction)
    report, pairs = ReadReport(str(path)), []
    for line_no, line in _text_lines(path):
        cells = line.split("\t")
        try:
            if len(cells) != 2:
                raise ValueError(f"{len(cells)} cells, expected 2")
            en, zh = _field(cells[0], "en"), _field(cells[1], "zh")
        except ValueError as err:
            report.skip(line_no, str(err))
            continue
        pairs.append(Pair(zh, en) if direction == "zh-en" else Pair(en, zh))
        report.read += 1
    report.log()
    return pairs, report


def _text_lines(path: Path) -> Iterable[Tuple[int, str]]:
    """``(line_no, line)`` of the non-blank lines of a UTF-8 text file (gzip by the ``.gz`` suffix),
    line ends stripped."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"data file {path} not found")
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", errors="replace") as fh:
        for line_no, line in enumerate(fh, 1):
            if line.strip():
                yield line_no, line.rstrip("\r\n")


def read_title_first(path: Path, min_title: int = 6, max_title: int = 40, min_body: int = 50
                     ) -> Tuple[List[Pair], ReadReport]:
    """Headline pairs from a corpus file whose lines are ``title。body`` (``corpus/cctv_news.txt.gz``):
    ``Pair(body, title)``; a "【…】" column tag is dropped from the title, and lines whose title or body
    length is outside the bounds (continuations, captions) are skipped and counted."""
    report, pairs = ReadReport(str(path)), []
    for line_no, line in _text_lines(path):
        title, found, body = line.strip().partition("。")
        title, body = re.sub(r"^【[^】]*】", "", title).strip(), body.strip()
        if not found or not min_title <= len(title) <= max_title or len(body) < min_body:
            report.skip(line_no, "no title of %d-%d characters before a body" % (min_title, max_title))
            continue
        pairs.append(Pair(body, title))
        report.read += 1
    report.log()
    return pairs, report


HEADLINE_SPLIT = {"test": (0, 3), "dev": (3, 5), "train": (5, 100)}  # sha1 buckets of the title


def headline_split(pairs: Sequence[Pair], split: str) -> List[Pair]:
    """Deterministic split of headline pairs by the sha1 of the title (repeated titles stay together)."""
    lo, hi = HEADLINE_SPLIT[split]
    return [p for p in pairs if lo <= int(hashlib.sha1(p.target.encode("utf-8")).hexdigest(), 16) % 100 < hi]


def read_parallel_lines(source_path: Path, target_path: Path) -> Tuple[List[Pair], ReadReport]:
    """Line-aligned plain text (WMT newstest); a line empty on either side is skipped and counted."""
    source_path, target_path = Path(source_path), Path(target_path)
    for p in (source_path, target_path):
        if not p.is_file():
            raise FileNotFoundError(f"data file {p} not found")
    src = source_path.read_text(encoding="utf-8", errors="replace").splitlines()
    tgt = target_path.read_text(encoding="utf-8", errors="replace").splitlines()
    if len(src) != len(tgt):
        raise ValueError(f"{source_path} has {len(src)} lines but {target_path} has {len(tgt)}; "
                         "the files are not line-aligned")
    report, pairs = ReadReport(f"{source_path} + {target_path.name}"), []
    for line_no, (s, t) in enumerate(zip(src, tgt), 1):
        try:
            pairs.append(Pair(_field(s, "source"), _field(t, "target")))
            report.read += 1
        except ValueError as err:
            report.skip(line_no, str(err))
    report.log()
    return pairs, report


def _check_direction(direction: str) -> None:
    if direction not in DIRECTIONS:
        raise ValueError(f"`direction`={direction!r} is not valid; choose one of {list(DIRECTIONS)}")


# ---------------------------------------------------------------------------------------- splits
def group_split(pairs: Sequence[Pair], split: str, ranges: Dict[str, Tuple[int, int]] = TATOEBA_SPLIT) -> List[Pair]:
    """Deterministic held-out split by sentence: pairs that share a source *or* a target sentence
    (union-find over both sides) form one group, and the group goes to one split, chosen by the
    sha1 of its smallest sentence (bucket 0-99 against ``ranges``). So a repeated source never
    straddles train/test in either direction, and the split depends neither on file order nor on
    the direction (zh-en and en-zh get the same pairs)."""
    if split not in ranges:
        raise ValueError(f"`split`={split!r} is not valid; choose one of {sorted(ranges)}")
    parent: Dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for p in pairs:
        a, b = find("s:" + p.source), find("t:" + p.target)
        if a != b:
            parent[max(a, b)] = min(a, b)
    lo, hi = ranges[split]
    smallest: Dict[str, str] = {}  # group root -> smallest sentence of the group (either side)
    for p in pairs:
        root = find("s:" + p.source)
        smallest[root] = min(smallest.get(root, p.source), p.source, p.target)
    keep = {root: lo <= int(hashlib.sha1(text.encode("utf-8")).hexdigest(), 16) % 100 < hi
            for root, text in smallest.items()}
    return [p for p in pairs if keep[find("s:" + p.source)]]


def drop_overlap(pairs: Sequence[Pair], reference: Iterable[Pair]) -> Tuple[List[Pair], int]:
    """Remove pairs whose source or target also occurs in ``reference`` (e.g. LCSTS test vs train)."""
    ref = list(reference)
    sources, targets = {p.source for p in ref}, {p.target for p in ref}
    kept = [p for p in pairs if p.source not in sources and p.target not in targets]
    return kept, len(pairs) - len(kept)


# ---------------------------------------------------------------------------------------- registry
EXTRA = "zh_en/extra"
ZH_EN_TRAIN_FILES = (  # English<TAB>Chinese files that only train (SOURCE.md of zh_en/extra and corpus/)
    f"{EXTRA}/3am_captions/train.tsv", f"{EXTRA}/microtopia_weibo/train.tsv", f"{EXTRA}/tico19_covid/all.tsv",
    f"{EXTRA}/news_commentary_10k/train.tsv", f"{EXTRA}/ai_challenger_2017/valid.tsv",
    f"{EXTRA}/ai_challenger_2017/train_sample.tsv", f"{EXTRA}/wmt_newstest_more/newstest2019-enzh.tsv",
    f"{EXTRA}/wmt_newstest_more/newstest2020-enzh.tsv", f"{EXTRA}/wmt_newstest_more/newstest2020-zhen.tsv",
    "corpus/en_zh_parallel.txt.gz")
ZH_EN_TEST_FILES = {"flores": f"{EXTRA}/flores200/devtest.tsv", "captions": f"{EXTRA}/3am_captions/test.tsv",
                    "weibo": f"{EXTRA}/microtopia_weibo/test.tsv"}
SEQ2SEQ_SETS = {
    "lcsts": {"train": "train.tsv", "val": "val.tsv", "test": "test.tsv"},
    "csl": {"train": "clge_val.tsv", "dev": "dev.tsv", "test": "test.tsv"},
    "tatoeba": {"train": "cmn.txt", "dev": "cmn.txt", "test": "cmn.txt"},
    "wmt": {"newsdev2017": "newsdev2017-enzh", "newstest2017": "newstest2017-enzh",
            "newstest2018": "newstest2018-enzh", "newstest2019": "newstest2019-zhen"},
    "headlines": {"train": "cctv_news.txt.gz", "dev": "cctv_news.txt.gz", "test": "cctv_news.txt.gz"},
    # every training pair we have (Tatoeba train + zh_en/extra + corpus TED/NC); dev = Tatoeba dev
    "zh_en": {"train": ZH_EN_TRAIN_FILES, "dev": "cmn.txt", **ZH_EN_TEST_FILES},
}


def _zh_en_train(root: Path, direction: str) -> Tuple[List[Pair], ReadReport]:
    """All training pairs, minus any pair sharing a sentence with a dev/test set we report on."""
    pairs, report = load_seq2seq_set(root, "tatoeba", "train", direction)
    for rel in ZH_EN_TRAIN_FILES:
        extra, _ = read_en_zh(root / rel, direction)
        pairs += extra
    held_out = [p for split in ("dev", "test") for p in load_seq2seq_set(root, "tatoeba", split, direction)[0]]
    held_out += [p for name in ZH_EN_TEST_FILES for p in read_en_zh(root / ZH_EN_TEST_FILES[name], direction)[0]]
    held_out += [p for split in ("newsdev2017", "newstest2017", "newstest2018", "newstest2019")
                 for p in load_seq2seq_set(root, "wmt", split, direction)[0]]
    kept, dropped = drop_overlap(list(dict.fromkeys(pairs)), held_out)
    report = ReadReport("zh_en train", read=len(kept), skipped=len(pairs) - len(kept))
    report.first_errors.append(f"{dropped} pairs sharing a sentence with a dev/test set dropped; "
                               f"{len(pairs) - len(set(pairs))} duplicates")
    return kept, report


def load_seq2seq_set(data_root: Path, name: str, split: str, direction: str = "zh-en",
                     dedup_against_train: bool = True) -> Tuple[List[Pair], ReadReport]:
    """One split of a shared seq2seq set.

    * ``lcsts``: train/val/test; val and test drop pairs whose text or summary is in train
      (SOURCE.md: PART_II duplicates overlap the splits), counted in ``report.skipped``.
    * ``csl``: train = CLGE's ``clge_val.tsv`` (the official train split is missing), dev, test.
    * ``tatoeba``: train/dev/test from :func:`group_split` (90/5/5), ``direction`` zh-en or en-zh.
    * ``wmt``: newsdev2017, newstest2017/2018/2019, ``direction`` zh-en or en-zh.
    * ``headlines``: (body, title) pairs mined from ``corpus/cctv_news.txt.gz`` (title first, then "。"),
      train/dev/test 95/2/3 by the title's sha1.
    * ``zh_en``: train = every pair we have (Tatoeba train, ``zh_en/extra``, the corpus TED/NC pairs)
      minus pairs that share a sentence with any dev/test set; dev = Tatoeba dev; test sets ``flores``
      (FLORES-200 devtest), ``captions`` (3AM test), ``weibo`` (Microtopia test).
    """
    if name not in SEQ2SEQ_SETS:
        raise ValueError(f"`name`={name!r} is not valid; choose one of {sorted(SEQ2SEQ_SETS)}")
    files = SEQ2SEQ_SETS[name]
    if split not in files:
        raise ValueError(f"`split`={split!r} is not valid for {name}; choose one of {sorted(files)}")
    _check_direction(direction)
    root = Path(data_root)
    if name == "lcsts":
        pairs, report = read_lcsts(root / "lcsts" / files[split])
        if split != "train" and dedup_against_train:
            pairs, dropped = drop_overlap(pairs, read_lcsts(root / "lcsts" / files["train"])[0])
            report.read -= dropped
            report.skipped += dropped
            if dropped and len(report.first_errors) < 5:
                report.first_errors.append(f"{dropped} pairs overlapping train dropped")
        return pairs, report
    if name == "csl":
        return read_csl(root / "csl" / files[split])
    if name == "headlines":
        pairs, report = read_title_first(root / "corpus" / files[split])
        return headline_split(pairs, split), report
    if name == "zh_en":
        if split == "train":
            return _zh_en_train(root, direction)
        if split == "dev":
            return load_seq2seq_set(root, "tatoeba", "dev", direction)
        return read_en_zh(root / files[split], direction)
    if name == "tatoeba":
        pairs, report = read_tatoeba(root / "zh_en" / "tatoeba_cmn" / files[split], direction)
        return group_split(pairs, split), report
    stem = root / "zh_en" / "wmt_newstest" / files[split]
    src, tgt = ("zh", "en") if direction == "zh-en" else ("en", "zh")
    return read_parallel_lines(Path(f"{stem}.{src}"), Path(f"{stem}.{tgt}"))
