"""BERT (Chinese) WordPiece tokenizer whose ids equal ``paddlenlp.transformers.BertTokenizer``.

Two engines give the same ids:

* ``"fast"``: a HF ``tokenizers`` pipeline (Rust) built from *Python's* ``unicodedata`` tables, so
  every char class (control, whitespace, punctuation, PaddleNLP's extra "symbol" split, CJK,
  combining marks) is exactly PaddleNLP's; offsets come from the Rust alignment tracking.
* ``"python"``: a pure-Python re-implementation of PaddleNLP's BasicTokenizer + WordPiece with
  offset tracking; also used by the fast engine for the rare texts containing a literal special
  token (``"[MASK]"``), where PaddleNLP's whitespace-token rule cannot be expressed in Rust.

PaddleNLP differs from HF BERT: it also splits on Unicode symbols (categories S*: emoji, ``€``,
``°``, ``×`` ...) and a few letters (``² º 〇 µ Ø ŋ Ʊ``), and recognises ``[MASK]`` etc. only as a
whole whitespace token.
"""
from __future__ import annotations

import functools
import itertools
import re
import unicodedata
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from ..utils.files import atomic_write_text
from ..utils.validation import check_choice, check_positive_int
from .base import Encoded, Offsets, PreTrainedTokenizerBase

# PaddleNLP's `_is_symbol` extras (besides categories S*)
_SYMBOL_EXTRAS = (0x00AD, 0x00B2, 0x00BA, 0x3007, 0x00B5, 0x00D8, 0x014B, 0x01B1)
_CJK_RANGES = (
    (0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F), (0x2B820, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F),
)
_ASCII_PUNCT = ((33, 47), (58, 64), (91, 96), (123, 126))
_SURROGATE_RE = re.compile("[\ud800-\udfff]")


# ---------------------------------------------------------------------------- char classes
def _is_cjk(cp: int) -> bool:
    return any(a <= cp <= b for a, b in _CJK_RANGES)


def _is_control(ch: str) -> bool:
    return ch not in "\t\n\r" and unicodedata.category(ch)[0] == "C"


def _is_punct_or_symbol(ch: str) -> bool:
    cp = ord(ch)
    if any(a <= cp <= b for a, b in _ASCII_PUNCT) or cp in _SYMBOL_EXTRAS:
        return True
    return unicodedata.category(ch)[0] in "PS"


def _strip_accents(word: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", word) if unicodedata.category(c) != "Mn")


@functools.lru_cache(maxsize=1)
def _category_runs() -> List[Tuple[int, int, str]]:
    """(first, last, category) runs over all code points, from this Python's unicodedata."""
    cats = map(unicodedata.category, map(chr, range(0x110000)))
    runs, start = [], 0
    for cat, group in itertools.groupby(cats):
        n = sum(1 for _ in group)
        runs.append((start, start + n - 1, cat))
        start += n
    return runs


def _char_class(ranges: List[Tuple[int, int]]) -> str:
    """Regex char class (Oniguruma syntax) of merged code point ranges."""
    merged: List[List[int]] = []
    for a, b in sorted(ranges):
        if merged and a <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    esc = "\\x{%X}".__mod__
    return "[" + "".join(esc(a) if a == b else f"{esc(a)}-{esc(b)}" for a, b in merged) + "]"


def _minus(ranges: List[Tuple[int, int]], holes: List[int]) -> List[Tuple[int, int]]:
    out = []
    for a, b in ranges:
        for h in sorted(holes):
            if a <= h <= b:
                if a < h:
                    out.append((a, h - 1))
                a = h + 1
        if a <= b:
            out.append((a, b))
    return out


@functools.lru_cache(maxsize=4)
def _fast_classes(tokenize_chinese_chars: bool) -> Dict[str, str]:
    """Regex classes that reproduce PaddleNLP's Python char predicates in the Rust engine."""
    runs = _category_runs()
    by = lambda pred: [(a, b) for a, b, c in runs if pred(c)]  # noqa: E731
    surrogates = (0xD800, 0xDFFF)
    remove = [r for r in by(lambda c: c[0] == "C") if r != surrogates]  # surrogates never reach Rust
    remove = _minus(remove, [9, 10, 13]) + [(0, 0), (0xFFFD, 0xFFFD)]
    space = by(lambda c: c in ("Zs", "Zl", "Zp")) + [(9, 10), (13, 13)]
    isolate = by(lambda c: c[0] in "PS") + list(_ASCII_PUNCT) + [(cp, cp) for cp in _SYMBOL_EXTRAS]
    if tokenize_chinese_chars:
        isolate += list(_CJK_RANGES)
    return {
        "remove": _char_class(remove),
        "space": _char_class(space),
        "mark": _char_class(by(lambda c: c == "Mn")),
        "isolate": _char_class(isolate),
    }


def load_vocab(vocab_file: str) -> Dict[str, int]:
    """token -> id, read exactly like PaddleNLP (``line.rstrip("\\n")``, later duplicates win)."""
    vocab: Dict[str, int] = {}
    with open(vocab_file, "r", encoding="utf-8") as fh:
        for index, line in enumerate(fh):
            vocab[line.rstrip("\n")] = index
    return vocab


# ---------------------------------------------------------------------------- tokenizer
class BertChineseTokenizer(PreTrainedTokenizerBase):
    """BERT basic tokenization + WordPiece (``##`` continuation), ids identical to PaddleNLP.

    Args:
        vocab_file: ``vocab.txt``, one token per line (line number = id).
        do_lower_case: lower-case (and strip accents unless ``strip_accents=False``).
        tokenize_chinese_chars: put every CJK ideograph in its own token.
        strip_accents: ``None`` follows ``do_lower_case``.
        max_input_chars_per_word: longer words become ``[UNK]``.
        engine: ``"auto"`` (Rust ``tokenizers`` if installed), ``"fast"`` or ``"python"``.
    """

    vocab_files = {"vocab_file": "vocab.txt"}
    class_aliases = ("BertTokenizer", "ErnieTokenizer")

    def __init__(
        self,
        vocab_file: str,
        do_lower_case: bool = True,
        tokenize_chinese_chars: bool = True,
        strip_accents: Optional[bool] = None,
        max_input_chars_per_word: int = 100,
        engine: str = "auto",
        model_max_length: int = 512,
        unk_token: str = "[UNK]",
        sep_token: str = "[SEP]",
        pad_token: str = "[PAD]",
        cls_token: str = "[CLS]",
        mask_token: str = "[MASK]",
    ) -> None:
        super().__init__(
            model_max_length=model_max_length, pad_token=pad_token, unk_token=unk_token,
            cls_token=cls_token, sep_token=sep_token, mask_token=mask_token,
        )
        self.vocab_file = str(vocab_file)
        self.vocab = load_vocab(self.vocab_file)
        missing = [t for t in self.all_special_tokens if t not in self.vocab]
        if missing:
            raise ValueError(f"special tokens {missing} are missing from {self.vocab_file}")
        self.ids_to_tokens = {i: t for t, i in self.vocab.items()}
        self._vocab_size = max(self.ids_to_tokens) + 1
        self.do_lower_case = bool(do_lower_case)
        self.tokenize_chinese_chars = bool(tokenize_chinese_chars)
        self.strip_accents = strip_accents
        self.max_input_chars_per_word = check_positive_int(max_input_chars_per_word, "max_input_chars_per_word")
        self.engine_requested = check_choice(engine, "engine", ("auto", "fast", "python"))
        self._max_token_len = max(len(t) for t in self.vocab)
        self._unk_id = self.vocab[self.unk_token]
        specials = sorted(self.all_special_tokens, key=len, reverse=True)
        self._special_re = re.compile("|".join(map(re.escape, specials)))
        self._fast = self._build_fast() if engine != "python" else None
        if engine == "fast" and self._fast is None:
            raise ImportError("engine='fast' needs the `tokenizers` package")

    # ------------------------------------------------------------------ engines
    @property
    def engine(self) -> str:
        """The engine in use: ``"fast"`` or ``"python"``."""
        return "fast" if self._fast is not None else "python"

    @property
    def _do_strip(self) -> bool:
        return self.strip_accents if self.strip_accents is not None else self.do_lower_case

    def _build_fast(self):
        try:
            from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers
        except ImportError:
            return None
        classes = _fast_classes(self.tokenize_chinese_chars)
        steps = [
            normalizers.Replace(Regex(classes["remove"]), ""),
            normalizers.Replace(Regex(classes["space"]), " "),
        ]
        if self.do_lower_case:
            steps.append(normalizers.Lowercase())
        if self._do_strip:
            steps += [normalizers.NFD(), normalizers.Replace(Regex(classes["mark"]), "")]
        tok = Tokenizer(
            models.WordPiece(
                vocab=dict(self.vocab), unk_token=self.unk_token,
                max_input_chars_per_word=self.max_input_chars_per_word,
            )
        )
        tok.normalizer = normalizers.Sequence(steps)
        tok.pre_tokenizer = pre_tokenizers.Sequence(
            [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Split(Regex(classes["isolate"]), "isolated")]
        )
        return tok

    def __getstate__(self) -> Dict[str, Any]:
        state = self.__dict__.copy()
        state["_fast"] = None
        return state

    def __setstate__(self, state: Dict[str, Any]) -> None:
        self.__dict__.update(state)
        if self.engine_requested != "python":
            self._fast = self._build_fast()

    def _encode_texts(self, texts: List[str], with_offsets: bool) -> List[Encoded]:
        if self._fast is None:
            return [self._encode_python(t, with_offsets) for t in texts]
        out: List[Optional[Encoded]] = [None] * len(texts)
        fast_idx, fast_texts = [], []
        for i, text in enumerate(texts):
            if self._special_re.search(text):
                out[i] = self._encode_python(text, with_offsets)
            else:
                fast_idx.append(i)
                # lone surrogates cannot cross into Rust; NUL is removed just like them (1 char -> same offsets)
                fast_texts.append(_SURROGATE_RE.sub("\x00", text))
        if len(fast_texts) == 1:
            encs = [self._fast.encode(fast_texts[0], add_special_tokens=False)]
        elif with_offsets:
            encs = self._fast.encode_batch(fast_texts, add_special_tokens=False)
        else:
            encs = self._fast.encode_batch_fast(fast_texts, add_special_tokens=False)
        for i, enc in zip(fast_idx, encs):
            out[i] = (enc.ids, enc.offsets if with_offsets else None)
        return out  # type: ignore[return-value]

    # ------------------------------------------------------------------ python engine
    def _basic_words(self, text: str) -> List[Tuple[str, List[Tuple[int, int]]]]:
        """PaddleNLP's BasicTokenizer output, each word with the original span of each char."""
        # 1. PaddleNLP lower-cases the text char by char, except literal special tokens
        chars: List[Tuple[str, int, int]] = []
        pos = 0
        matches = list(self._special_re.finditer(text)) if self.do_lower_case else []
        for m in matches + [None]:
            stop = m.start() if m is not None else len(text)
            for i in range(pos, stop):
                ch = text[i]
                if self.do_lower_case:
                    chars.extend((c, i, i + 1) for c in ch.lower())
                else:
                    chars.append((ch, i, i + 1))
            if m is not None:
                chars.extend((text[i], i, i + 1) for i in range(m.start(), m.end()))
                pos = m.end()
        # 2. clean text, isolate CJK, split on whitespace
        tokens: List[List[Tuple[str, int, int]]] = []
        cur: List[Tuple[str, int, int]] = []
        for item in chars:
            ch = item[0]
            if ch == "\x00" or ch == "\ufffd" or _is_control(ch):
                continue
            if ch.isspace():
                if cur:
                    tokens.append(cur)
                    cur = []
            elif self.tokenize_chinese_chars and _is_cjk(ord(ch)):
                if cur:
                    tokens.append(cur)
                    cur = []
                tokens.append([item])
            else:
                cur.append(item)
        if cur:
            tokens.append(cur)
        # 3. per whitespace token: lower + strip accents, then split punctuation / symbols
        never_split = set(self.all_special_tokens)
        words: List[Tuple[str, List[Tuple[int, int]]]] = []
        for tok in tokens:
            word = "".join(c for c, _, _ in tok)
            if word in never_split:
                words.append((word, [(s, e) for _, s, e in tok]))
                continue
            if self.do_lower_case:
                tok = self._rewrite(tok, word.lower(), str.lower)
                word = "".join(c for c, _, _ in tok)
            if self._do_strip and not word.isascii():
                tok = self._rewrite(tok, _strip_accents(word), _strip_accents)
            cur = []
            for item in tok:
                if _is_punct_or_symbol(item[0]):
                    if cur:
                        words.append(("".join(c for c, _, _ in cur), [(s, e) for _, s, e in cur]))
                        cur = []
                    words.append((item[0], [(item[1], item[2])]))
                else:
                    cur.append(item)
            if cur:
                words.append(("".join(c for c, _, _ in cur), [(s, e) for _, s, e in cur]))
        return words

    @staticmethod
    def _rewrite(tok, exact: str, per_char) -> List[Tuple[str, int, int]]:
        """Apply a string transform char by char (keeping spans) if that equals the exact result."""
        new = [(c, s, e) for ch, s, e in tok for c in per_char(ch)]
        if "".join(c for c, _, _ in new) == exact:
            return new
        start, end = tok[0][1], tok[-1][2]  # context-dependent result: spans of the whole token
        return [(c, start, end) for c in exact]

    def _wordpiece(self, word: str) -> List[Tuple[int, int, int]]:
        """Greedy longest-match WordPiece: (id, first char, end char) within ``word``."""
        n = len(word)
        if n > self.max_input_chars_per_word:
            return [(self._unk_id, 0, n)]
        vocab, out, start = self.vocab, [], 0
        while start < n:
            end = min(n, start + self._max_token_len)
            while start < end:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in vocab:
                    out.append((vocab[piece], start, end))
                    break
                end -= 1
            else:
                return [(self._unk_id, 0, n)]
            start = end
        return out

    def _encode_python(self, text: str, with_offsets: bool) -> Encoded:
        ids: List[int] = []
        offsets: Offsets = []
        for word, spans in self._basic_words(text):
            for index, a, b in self._wordpiece(word):
                ids.append(index)
                offsets.append((spans[a][0], spans[b - 1][1]))
        return ids, (offsets if with_offsets else None)

    # ------------------------------------------------------------------ vocab / decode / save
    @property
    def vocab_size(self) -> int:
        return self._vocab_size

    def get_vocab(self) -> Dict[str, int]:
        return dict(self.vocab)

    def _convert_token_to_id(self, token: str) -> int:
        return self.vocab.get(token, self._unk_id)

    def _convert_id_to_token(self, index: int) -> str:
        return self.ids_to_tokens.get(index, self.unk_token)

    def _decode(self, ids: List[int]) -> str:
        text = " ".join(self.ids_to_tokens.get(i, self.unk_token) for i in ids).replace(" ##", "").strip()
        # tokens are space-joined: drop spaces next to CJK chars / CJK punctuation and before ,.!?;:
        return _PUNCT_SPACE_RE.sub("", _CJK_SPACE_RE.sub("", text))

    def _config(self) -> Dict[str, Any]:
        return {
            **super()._config(),
            "do_lower_case": self.do_lower_case,
            "tokenize_chinese_chars": self.tokenize_chinese_chars,
            "strip_accents": self.strip_accents,
            "max_input_chars_per_word": self.max_input_chars_per_word,
        }

    def _save_vocab_files(self, directory: Path) -> Dict[str, str]:
        size = self.vocab_size
        lines = [self.ids_to_tokens.get(i, f"[unused_{i}]") for i in range(size)]
        atomic_write_text(directory / "vocab.txt", "\n".join(lines) + "\n")
        return {"vocab_file": "vocab.txt"}


_CJK_CLASS = "\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef\U00020000-\U0002fa1f"
_CJK_SPACE_RE = re.compile(f"(?<=[{_CJK_CLASS}]) | (?=[{_CJK_CLASS}])")
_PUNCT_SPACE_RE = re.compile(r" (?=[,.!?;:%)\]}])")
