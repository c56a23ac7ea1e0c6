"""``RootsTokenizer``: the native ROOTS SentencePiece (unigram, byte fallback, split digits) tokenizer.

Fixed ids: ``[PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3 [MASK]=4``, then reserved user-defined symbols
``[unused0..9] [ZH2EN] [EN2ZH] [SUM] [BOS] [EOS]`` (ids 5-19; matched literally in input text, so
task prompts such as ``"[ZH2EN]你好"`` work), then the 256 byte pieces, then the learned pieces.

Input is normalised by :mod:`roots_zh.tokenization.normalize` (full-width ASCII -> half-width, control /
zero-width chars removed, all spaces -> " "); the SentencePiece model itself uses the ``identity`` rule
and keeps every space (``add_dummy_prefix=False``, ``remove_extra_whitespaces=False``), so
``decode(encode(t)) == normalize(t)`` and offsets trace back to the original string.
"""
from __future__ import annotations

import io
import unicodedata
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Tuple, Union

import numpy as np

from ..utils.files import atomic_write_bytes, atomic_write_text
from ..utils.validation import check_positive_int
from .base import Encoded, Offsets, PreTrainedTokenizerBase
from .normalize import map_offsets, normalize, normalize_with_offsets

SPECIAL_PIECES = {"pad": "[PAD]", "unk": "[UNK]", "bos": "[CLS]", "eos": "[SEP]"}  # ids 0..3
MASK_TOKEN = "[MASK]"
RESERVED_TOKENS = [f"[unused{i}]" for i in range(10)] + ["[ZH2EN]", "[EN2ZH]", "[SUM]", "[BOS]", "[EOS]"]
USER_DEFINED_SYMBOLS = [MASK_TOKEN] + RESERVED_TOKENS  # ids 4..19


def trainer_options(vocab_size: int, character_coverage: float = 0.9995, **overrides: Any) -> Dict[str, Any]:
    """SentencePiece trainer options of the ROOTS tokenizer (special ids, byte fallback, ...)."""
    options: Dict[str, Any] = dict(
        vocab_size=vocab_size,
        model_type="unigram",
        byte_fallback=True,
        split_digits=True,
        # pieces of at most 6 chars: with the default 16 a 24k model spent ~1,300 slots on corpus
        # boilerplate ("县级以上地方人民政府", "如何评价这场比赛") that straddles word/entity boundaries
        max_sentencepiece_length=6,
        character_coverage=character_coverage,
        normalization_rule_name="identity",  # we normalise ourselves (normalize.py), with offsets
        remove_extra_whitespaces=False,
        add_dummy_prefix=False,
        pad_id=0, unk_id=1, bos_id=2, eos_id=3,
        pad_piece=SPECIAL_PIECES["pad"], unk_piece=SPECIAL_PIECES["unk"],
        bos_piece=SPECIAL_PIECES["bos"], eos_piece=SPECIAL_PIECES["eos"],
        user_defined_symbols=USER_DEFINED_SYMBOLS,
        max_sentence_length=16384,
        num_threads=2,
        minloglevel=2,
    )
    options.update(overrides)
    return options


def train_sentencepiece(
    sentences: Iterable[str],
    vocab_size: int,
    character_coverage: float = 0.9995,
    **overrides: Any,
) -> bytes:
    """Train a ROOTS SentencePiece model on (normalised) ``sentences``; return the model bytes."""
    import sentencepiece as spm

    check_positive_int(vocab_size, "vocab_size")
    stream = (s for s in (normalize(t) for t in sentences) if s.strip())
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=stream,
        model_writer=model,
        **trainer_options(vocab_size, character_coverage, **overrides),
    )
    return model.getvalue()


_UNSEEN = object()
_MAX_CACHED_SURFACES = 200_000  # distinct piece surfaces: about the vocabulary's size in practice


def _char_is_own_piece(ch: str) -> bool:
    """CJK characters, full-width forms and punctuation/symbols: one piece each under
    ``tokenize_chinese_chars``."""
    return ord(ch) >= 0x2E80 or unicodedata.category(ch)[0] in "PS"


def _is_split(surface: str) -> bool:
    """Whether ``tokenize_chinese_chars`` splits a piece with this surface into its characters."""
    return len(surface) >= 2 and any(map(_char_is_own_piece, surface))


class RootsTokenizer(PreTrainedTokenizerBase):
    """SentencePiece tokenizer with the common ``__call__``/offsets API.

    Args:
        model_file: path of ``spm.model`` (or pass ``model_proto`` bytes instead).
        model_max_length: default ``max_length`` for truncation / ``padding="max_length"``.
        tokenize_chinese_chars: split every piece that holds a CJK character into one piece per
            character (byte fallback for characters outside the vocabulary), so every character
            boundary is a token boundary (span tasks: NER, QA, segmentation). BERT's option of the
            same name; off by default (the pieces roots-base was pretrained on).
    """

    vocab_files = {"model_file": "spm.model"}

    def __init__(
        self,
        model_file: Optional[Union[str, Path]] = None,
        model_max_length: int = 512,
        model_proto: Optional[bytes] = None,
        tokenize_chinese_chars: bool = False,
    ) -> None:
        super().__init__(
            model_max_length=model_max_length, pad_token="[PAD]", unk_token="[UNK]",
            cls_token="[CLS]", sep_token="[SEP]", mask_token=MASK_TOKEN,
            additional_special_tokens=RESERVED_TOKENS,
        )
        if (model_file is None) == (model_proto is None):
            raise ValueError("pass exactly one of `model_file` or `model_proto`")
        if model_file is not None:
            path = Path(model_file)
            if not path.is_file():
                raise FileNotFoundError(f"SentencePiece model {path} not found")
            model_proto = path.read_bytes()
        self.model_file = str(model_file) if model_file is not None else None
        if not isinstance(tokenize_chinese_chars, bool):
            raise ValueError(f"`tokenize_chinese_chars` must be a bool, got {tokenize_chinese_chars!r}")
        self.tokenize_chinese_chars = tokenize_chinese_chars
        self._load(model_proto)

    def _load(self, model_proto: bytes) -> None:
        import sentencepiece as spm

        self._model_proto = bytes(model_proto)
        self._surface_splits: Dict[str, Optional[List[List[int]]]] = {}  # see _split_cjk_pieces
        self.sp = spm.SentencePieceProcessor()
        try:
            self.sp.LoadFromSerializedProto(self._model_proto)
        except RuntimeError as exc:
            raise ValueError(f"not a valid SentencePiece model ({self.model_file or 'model_proto'}): {exc}")
        # ids 0..4 are fixed ([PAD] [UNK] [CLS] [SEP] [MASK]); the reserved task tokens must exist
        # as pieces, in any order (models trained before the order was settled keep working)
        expected = [SPECIAL_PIECES[k] for k in ("pad", "unk", "bos", "eos")] + USER_DEFINED_SYMBOLS[:1]
        found = [self.sp.id_to_piece(i) for i in range(min(len(expected), self.sp.get_piece_size()))]
        missing = [p for p in USER_DEFINED_SYMBOLS if self.sp.piece_to_id(p) == self.sp.unk_id()]
        if found != expected or missing:
            raise ValueError(
                f"SentencePiece model {self.model_file or ''} lacks the ROOTS special pieces "
                f"(expected ids 0..{len(expected) - 1} = {expected}, got {found}; missing {missing[:6]})"
            )
        self.do_lower_case = False

    # pickling: SentencePieceProcessor is rebuilt from the serialized model
    def __getstate__(self) -> Dict[str, Any]:
        state = self.__dict__.copy()
        del state["sp"]
        return state

    def __setstate__(self, state: Dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._load(state["_model_proto"])

    # ------------------------------------------------------------------ encoding
    def _encode_texts(self, texts: List[str], with_offsets: bool) -> List[Encoded]:
        normed = [normalize_with_offsets(t) for t in texts]
        inputs = [n for n, _ in normed]
        if not with_offsets and not self.tokenize_chinese_chars:
            return [(ids, None) for ids in self.sp.encode(inputs)]
        results = self.sp.encode(inputs, out_type="offset_mapping")
        out: List[Encoded] = []
        for text, normed_text, (_, index_map), res in zip(texts, inputs, normed, results):
            ids, spans = list(res["ids"]), [tuple(o) for o in res["offsets"]]
            if self.tokenize_chinese_chars:
                ids, spans = self._split_cjk_pieces(normed_text, ids, spans)
            if not with_offsets:
                out.append((ids, None))
                continue
            spans = self._spread_byte_spans(ids, spans)
            out.append((ids, map_offsets(spans, index_map, len(text))))
        return out

    def _split_cjk_pieces(self, text: str, ids: List[int], spans: List[Tuple[int, int]]
                          ) -> Tuple[List[int], List[Tuple[int, int]]]:
        """``tokenize_chinese_chars``: a piece that holds a CJK character, full-width form or
        punctuation becomes one piece per character of its surface (a space is ``▁``, a character
        outside the vocabulary its UTF-8 byte pieces); other pieces are kept as they are. The split
        of each surface is computed once (``_surface_splits``)."""
        new_ids: List[int] = []
        new_spans: List[Tuple[int, int]] = []
        splits = self._surface_splits
        for i, (s, e) in zip(ids, spans):
            surface = text[s:e]
            per_char = splits.get(surface, _UNSEEN)
            if per_char is _UNSEEN:
                per_char = [self._char_ids(ch) for ch in surface] if _is_split(surface) else None
                if len(splits) < _MAX_CACHED_SURFACES:
                    splits[surface] = per_char
            if per_char is None:
                new_ids.append(i)
                new_spans.append((s, e))
                continue
            for k, pieces in enumerate(per_char):
                new_ids.extend(pieces)
                new_spans.extend([(s + k, s + k + 1)] * len(pieces))
        return new_ids, new_spans

    def reachable_ids(self) -> np.ndarray:
        """``bool[vocab_size]``: the ids this tokenizer can produce from text. All of them, except under
        ``tokenize_chinese_chars``: a piece whose surface (with or without its leading ``▁``) still has
        two or more characters, one of them a CJK character, full-width form or punctuation, is always
        split, so it never occurs. Special, byte, unknown and control pieces are always reachable."""
        size = self.sp.get_piece_size()
        out = np.ones(size, dtype=bool)
        if not self.tokenize_chinese_chars:
            return out
        special = set(self.all_special_ids)
        for i in range(size):
            if i in special or self.sp.is_byte(i) or self.sp.is_unknown(i) or self.sp.is_control(i):
                continue
            piece = self.sp.id_to_piece(i)
            out[i] = not _is_split(piece[1:] if piece.startswith("\u2581") else piece)
        return out

    def _char_ids(self, ch: str) -> List[int]:
        """The piece ids of one character on its own: its piece, ``▁`` for a space, else its bytes."""
        unk = self.sp.unk_id()
        pid = self.sp.piece_to_id("\u2581" if ch.isspace() else ch)
        if pid != unk:
            return [pid]
        pieces = [self.sp.piece_to_id(f"<0x{b:02X}>") for b in ch.encode("utf-8")]
        return pieces if unk not in pieces else [unk]

    def _spread_byte_spans(self, ids: List[int], offsets: List[Tuple[int, int]]) -> Offsets:
        """Byte-fallback pieces of one char: SentencePiece gives the span to the last byte only;
        give every byte piece of that char the char's span."""
        spans = [tuple(o) for o in offsets]
        nxt: Optional[Tuple[int, int]] = None
        for i in range(len(spans) - 1, -1, -1):
            s, e = spans[i]
            if s == e and nxt is not None and nxt[0] == s and self.sp.is_byte(ids[i]):
                spans[i] = nxt
            elif s != e:
                nxt = (s, e)
        return spans  # type: ignore[return-value]

    def tokenize(self, text: str) -> List[str]:
        """SentencePiece pieces of the normalised text (``▁`` marks a space)."""
        if not isinstance(text, str):
            return super().tokenize(text)  # raises the standard error
        return self.sp.encode(normalize(self._prenormalize(text)), out_type=str)

    # ------------------------------------------------------------------ vocab / decode / save
    @property
    def vocab_size(self) -> int:
        return self.sp.get_piece_size()

    def get_vocab(self) -> Dict[str, int]:
        return {self.sp.id_to_piece(i): i for i in range(self.vocab_size)}

    def _convert_token_to_id(self, token: str) -> int:
        return self.sp.piece_to_id(token)

    def _convert_id_to_token(self, index: int) -> str:
        return self.sp.id_to_piece(index)

    def _decode(self, ids: List[int]) -> str:
        # control pieces ([CLS]/[SEP]/[PAD]) and [UNK] decode to ''/' ⁇ ' in SentencePiece; show them
        parts: List[str] = []
        run: List[int] = []
        for i in ids:
            if self.sp.is_control(i) or self.sp.is_unknown(i):
                if run:
                    parts.append(self.sp.decode(run))
                    run = []
                parts.append(self.sp.id_to_piece(i))
            else:
                run.append(i)
        if run:
            parts.append(self.sp.decode(run))
        return "".join(parts)

    def _config(self) -> Dict[str, Any]:
        return {
            **super()._config(),
            **({"tokenize_chinese_chars": True} if self.tokenize_chinese_chars else {}),
            "do_lower_case": False,
            "normalization": "roots_zh.tokenization.normalize",
            "additional_special_tokens": list(RESERVED_TOKENS),
        }

    def _save_vocab_files(self, directory: Path) -> Dict[str, str]:
        atomic_write_bytes(directory / "spm.model", self._model_proto)
        lines = [f"{self.sp.id_to_piece(i)}\t{self.sp.get_score(i):g}" for i in range(self.vocab_size)]
        atomic_write_text(directory / "spm.vocab", "\n".join(lines) + "\n")
        return {"model_file": "spm.model", "vocab_listing": "spm.vocab"}
