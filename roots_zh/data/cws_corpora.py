"""Word-segmentation training corpora as span examples: every word is a ``("w", start, end)`` span of
the unspaced sentence, so the NER machinery (BMES tags, windows, offsets) trains a segmenter.

Formats: words separated by whitespace (SIGHAN, People's Daily, SXU, CNC, Weibo; U+3000 too) and
``word/POS`` or ``word_POS`` tokens (``[...]nt`` compound brackets are dropped, their inner words kept).
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Set, Tuple

from .cws import words_to_spans
from .ner_qa import NerExample
from .readers import ReadReport

# the most common Chinese surnames; the PKU standard writes a person name as surname + given name
COMMON_SURNAMES = set("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
                      "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛"
                      "郝龚邵万钱严覃武戴莫孔向汤")
COMPOUND_SURNAMES = {"欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "令狐", "慕容", "尉迟", "司徒"}
_POS_SUFFIX = {"/": re.compile(r"^\[?(.+?)/[A-Za-z]+\]?(?:/?[A-Za-z]+)?$"),
               "_": re.compile(r"^(.+)_[A-Z]+$")}


def words_to_example(words: Sequence[str]) -> NerExample:
    """The unspaced sentence and one ``("w", start, end)`` span per word."""
    return NerExample("".join(words), words_to_spans(words))


def split_person_name(word: str) -> List[str]:
    """``江泽民`` → ``江 泽民`` (PKU standard) when the word starts with a common surname."""
    surname = word[:2] if word[:2] in COMPOUND_SURNAMES else word[:1]
    if 2 <= len(word) <= 4 and len(word) > len(surname) and (surname in COMPOUND_SURNAMES or surname in COMMON_SURNAMES):
        return [surname, word[len(surname):]]
    return [word]


def split_words(line: str, pos_sep: Optional[str] = None, split_names: bool = False) -> List[str]:
    """Words of one corpus line: whitespace-separated; with ``pos_sep`` ("/" or "_") the POS tag
    after the last separator (and compound brackets) are removed; ``split_names`` writes person
    names (POS ``nr``) as surname + given name."""
    tokens = line.split()
    if pos_sep is None:
        return tokens
    pattern = _POS_SUFFIX[pos_sep]
    words = []
    for token in tokens:
        match = pattern.match(token)
        if match is None:
            raise ValueError(f"token {token!r} is not word{pos_sep}POS")
        word = match.group(1)
        is_name = split_names and token[len(word):].lstrip("]").startswith(pos_sep + "nr")
        words.extend(split_person_name(word) if is_name else [word])
    return words


def read_segmented(paths: Iterable[Path], pos_sep: Optional[str] = None,
                   rewrite: Optional[Callable[[List[str]], List[str]]] = None, split_names: bool = False
                   ) -> Tuple[List[NerExample], ReadReport]:
    """One example per non-empty line of each file; ``rewrite`` maps a sentence's words (e.g.
    :func:`dictionary_splitter`). A malformed line is skipped and counted."""
    paths = [Path(p) for p in paths]
    report, examples = ReadReport(",".join(p.name for p in paths)), []
    for path in paths:
        if not path.is_file():
            raise FileNotFoundError(f"data file {path} not found")
        with open(path, encoding="utf-8", errors="replace") as fh:
            for line_no, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    words = split_words(line, pos_sep, split_names)
                except ValueError as err:
                    report.skip(line_no, f"{path.name}: {err}"[:200])
                    continue
                examples.append(words_to_example(rewrite(words) if rewrite else words))
                report.read += 1
    report.log()
    return examples, report


def read_word_list(path: Path) -> Set[str]:
    """A dictionary file: one word per line (extra columns ignored)."""
    with open(path, encoding="utf-8", errors="replace") as fh:
        return {line.split()[0] for line in fh if line.strip()}


def dictionary_splitter(vocab: Set[str], min_len: int = 3, min_part: int = 1
                        ) -> Callable[[List[str]], List[str]]:
    """Split a word of ``min_len``+ chars that is not in ``vocab`` into the fewest ``vocab`` words of
    ``min_part``+ chars that cover it exactly (改革开放 → 改革 开放, 我们的 → 我们 的); words with
    digits or Latin letters, and words no split covers, are kept."""
    def split(word: str) -> List[str]:
        if len(word) < min_len or word in vocab or any(ch.isascii() or ch.isdigit() for ch in word):
            return [word]
        best: List[Optional[List[int]]] = [None] * (len(word) + 1)  # fewest cut points reaching i
        best[0] = []
        for end in range(min_part, len(word) + 1):
            for start in range(0, end - min_part + 1):
                if best[start] is not None and word[start:end] in vocab:
                    cand = best[start] + [end]
                    if best[end] is None or len(cand) < len(best[end]):
                        best[end] = cand
        cuts = best[len(word)]
        if not cuts or len(cuts) < 2:
            return [word]
        return [word[a:b] for a, b in zip([0] + cuts[:-1], cuts)]

    return lambda words: [part for word in words for part in split(word)]


def _cws_dir(data_root: Path) -> Path:
    return Path(data_root) / "cws"


FILE_PREFIX = "file:"
_RENMIN = ("train/pd1998_renmin/valid.txt", "train/pd1998_renmin/test.txt")
_PD_POS = ("train/pd1998_pos/199801-test.txt",)
_PKU_DICT = "dict/pku_training_words.utf8"

# split name -> (files under cws/, pos separator, rewrite: None | "pku_dict" | "pku_usage")
# "pd1998_pku": People's Daily with its merged compounds split back into PKU-dictionary words;
# "pd1998_pku2": the same, and also the merges that the PKU-tagged slice writes apart (一次 → 一 次)
# "pd1998_pos": the PKU-tagged slice with person names split (surname + given name): PKU standard;
# "_a" / "_b": even / odd lines (pd1998_pos: usage statistics + training / dev; cnc_a: half of CNC)
CWS_SPLITS = {
    "pd1998": (_RENMIN, None, None),
    "pd1998_pku": (_RENMIN, None, "pku_dict"),
    "pd1998_pku2": (_RENMIN, None, "pku_usage"),
    "pd1998_pos": (_PD_POS, "/", None),
    "pd1998_pos_a": (_PD_POS, "/", None),
    "pd1998_pos_b": (_PD_POS, "/", None),
    "sxu": (("train/sxu/train.txt",), None, None),
    "cnc": (("train/cnc/dev.txt", "train/cnc/test.txt"), None, None),
    "cnc_a": (("train/cnc/dev.txt", "train/cnc/test.txt"), None, None),
    "weibo": (("train/nlpcc2016_weibo/nlpcc2016-word-seg-train.dat",), None, None),
    "weibo_dev": (("train/nlpcc2016_weibo/nlpcc2016-wordseg-dev.dat",), None, None),
    "zhuxian": (("train/zhuxian_pos/train.zhuxian.wordpos",), "_", None),
}


def usage_splitter(reference: Sequence[NerExample], max_parts: int = 3, min_count: int = 2
                   ) -> Callable[[List[str]], List[str]]:
    """Split a word the way ``reference`` (a corpus of the target standard) mostly writes it: when
    the concatenation of 2..``max_parts`` consecutive reference words occurs split more often
    (and at least ``min_count`` times) than whole (不能 → 不 能 in the PKU standard)."""
    from collections import Counter

    whole: Counter = Counter()
    split: Dict[str, Counter] = {}
    for ex in reference:
        words = [ex.text[s:e] for _, s, e in ex.entities]
        whole.update(words)
        for k in range(2, max_parts + 1):
            for i in range(len(words) - k + 1):
                parts = tuple(words[i:i + k])
                split.setdefault("".join(parts), Counter())[parts] += 1
    table = {}
    for word, ways in split.items():
        parts, count = ways.most_common(1)[0]
        if count >= min_count and count > whole[word]:
            table[word] = list(parts)
    return lambda words: [part for word in words for part in table.get(word, [word])]


def _rewriter(data_root: Path, kind: Optional[str]) -> Optional[Callable[[List[str]], List[str]]]:
    if kind is None:
        return None
    by_dict = dictionary_splitter(read_word_list(_cws_dir(data_root) / _PKU_DICT))
    if kind == "pku_dict":
        return by_dict
    by_usage = usage_splitter(load_cws_split(data_root, "pd1998_pos_a")[0])
    return lambda words: by_dict(by_usage(words))


def load_cws_split(data_root: Path, split: str) -> Tuple[List[NerExample], ReadReport]:
    """A training/dev corpus of ``../shared/data/cws`` by split name (:data:`CWS_SPLITS`; "a+b"
    concatenates splits; ``file:PATH`` is a whitespace-segmented file anywhere, e.g. a teacher's
    output). The SIGHAN test sets are not here: they are never trained on."""
    examples: List[NerExample] = []
    report = ReadReport(split)
    for part in split.split("+"):
        if part.startswith(FILE_PREFIX):  # a corpus made elsewhere, e.g. by tools/cws_pseudo_labels.py
            paths, pos_sep, rewrite = [Path(part[len(FILE_PREFIX):])], None, None
        elif part in CWS_SPLITS:
            files, pos_sep, rewrite = CWS_SPLITS[part]
            paths = [_cws_dir(data_root) / f for f in files]
        else:
            raise ValueError(f"`split`={part!r} is not valid for cws; choose one of {sorted(CWS_SPLITS)} "
                             f"or {FILE_PREFIX}PATH")
        got, _ = read_segmented(paths, pos_sep, _rewriter(data_root, rewrite), split_names=pos_sep == "/")
        if part.endswith(("_a", "_b")):
            got = got[part.endswith("_b")::2]
        examples += got
        report.read += len(got)
    return examples, report
