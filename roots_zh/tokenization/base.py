"""Common tokenizer API: ``__call__`` with pairs, padding, truncation and offsets; encode/decode;
``save_pretrained``/``from_pretrained``.

A concrete tokenizer implements a handful of hooks (``_encode_texts``, ``_convert_token_to_id``,
``_convert_id_to_token``, ``vocab_size``, ``get_vocab``, ``_decode``, ``_save_vocab_files``); the
rest (special tokens, pair layout ``[CLS] A [SEP] B [SEP]``, token types, masks, numpy output)
lives here once.
"""
from __future__ import annotations

import inspect
import json
import numbers
import operator
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from ..utils.files import atomic_write_text
from ..utils.validation import check_choice, check_positive_int, check_text, check_texts
from .normalize import Normalizer, map_offsets

Offsets = List[Tuple[int, int]]
Encoded = Tuple[List[int], Optional[Offsets]]
CONFIG_NAME = "tokenizer_config.json"

_PADDING_CHOICES = (False, True, "longest", "max_length", "do_not_pad")
_TRUNCATION_CHOICES = (False, True, "longest_first", "only_first", "only_second", "do_not_truncate")
_FIELDS = ("input_ids", "token_type_ids", "attention_mask", "offset_mapping")


class BatchEncoding(dict):
    """A dict of model inputs (``input_ids``, ``token_type_ids``, ``attention_mask``,
    optionally ``offset_mapping``); keys are also readable as attributes."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def read_tokenizer_config(directory: Union[str, Path]) -> Dict[str, Any]:
    """``tokenizer_config.json`` of ``directory`` as a dict, or ``{}`` when there is none."""
    path = Path(directory) / CONFIG_NAME
    if not path.is_file():
        return {}
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(config, dict):
        raise ValueError(f"{path} must hold a JSON object, got {type(config).__name__}")
    return config


def as_directory(value: Any, field: str = "pretrained_dir") -> Path:
    """``value`` (str or path) as a Path; clear errors for None and other types."""
    if value is None:
        raise ValueError(f"`{field}` is None; expected a directory path")
    if not isinstance(value, (str, Path)) and not hasattr(value, "__fspath__"):
        raise TypeError(f"`{field}` must be a str or path, got {type(value).__name__}")
    return Path(value)


def _norm_padding(padding: Any) -> Optional[str]:
    if isinstance(padding, bool) or padding is None:
        return "longest" if padding else None
    check_choice(padding, "padding", _PADDING_CHOICES)
    return None if padding == "do_not_pad" else padding


def _norm_truncation(truncation: Any) -> Optional[str]:
    if isinstance(truncation, bool) or truncation is None:
        return "longest_first" if truncation else None
    check_choice(truncation, "truncation", _TRUNCATION_CHOICES)
    return None if truncation == "do_not_truncate" else truncation


def _keep_lengths(len_a: int, len_b: Optional[int], budget: int, strategy: str) -> Tuple[int, int]:
    """How many tokens of A and B survive truncation to ``budget`` content tokens."""
    b = len_b or 0
    excess = len_a + b - budget
    if excess <= 0:
        return len_a, b
    if len_b is None or strategy == "only_first":
        if strategy == "only_second":
            raise ValueError("truncation='only_second' needs a text pair")
        if excess > len_a:
            raise ValueError(
                f"cannot truncate the first sequence by {excess} tokens: it has only {len_a}; "
                "use truncation='longest_first'"
            )
        return len_a - excess, b
    if strategy == "only_second":
        if excess > b:
            raise ValueError(
                f"cannot truncate the second sequence by {excess} tokens: it has only {b}; "
                "use truncation='longest_first'"
            )
        return len_a, b - excess
    # longest_first: trim the longer one token at a time (ties trim the second), in closed form
    a = len_a
    gap = min(excess, abs(a - b))
    if a > b:
        a -= gap
    else:
        b -= gap
    excess -= gap
    b -= (excess + 1) // 2
    a -= excess // 2
    return a, b


class PreTrainedTokenizerBase:
    """Base class of ROOTS tokenizers (BERT WordPiece and SentencePiece)."""

    #: init kwarg -> file name inside a saved directory
    vocab_files: Dict[str, str] = {}
    #: other ``tokenizer_class`` names (e.g. PaddleNLP's) whose directories this class can load
    class_aliases: Tuple[str, ...] = ()
    model_input_names = ("input_ids", "token_type_ids", "attention_mask")
    #: optional pre-normalisation (``normalize=`` of ``from_pretrained``); None = off
    _normalizer: Optional[Normalizer] = None

    def __init__(
        self,
        *,
        model_max_length: int = 512,
        pad_token: str = "[PAD]",
        unk_token: str = "[UNK]",
        cls_token: str = "[CLS]",
        sep_token: str = "[SEP]",
        mask_token: str = "[MASK]",
        additional_special_tokens: Sequence[str] = (),
    ) -> None:
        self.model_max_length = check_positive_int(model_max_length, "model_max_length")
        self.pad_token = pad_token
        self.unk_token = unk_token
        self.cls_token = cls_token
        self.sep_token = sep_token
        self.mask_token = mask_token
        self.additional_special_tokens = list(additional_special_tokens)

    # ------------------------------------------------------------------ normalisation option
    @property
    def normalizer(self) -> Optional[Normalizer]:
        """The ``normalize=`` option applied before tokenization (offsets still index the input)."""
        return self._normalizer

    @normalizer.setter
    def normalizer(self, value: Union[None, str, Dict[str, Any], Normalizer]) -> None:
        norm = Normalizer.from_config(value)
        self._normalizer = norm if norm.active else None

    def _encode_normalized(self, texts: List[str], with_offsets: bool) -> List[Encoded]:
        """``_encode_texts`` behind the ``normalize=`` option, offsets mapped to the original texts."""
        norm = self._normalizer
        if norm is None:
            return self._encode_texts(texts, with_offsets)
        normed = [norm.with_offsets(t) for t in texts]
        encoded = self._encode_texts([n for n, _ in normed], with_offsets)
        if not with_offsets:
            return encoded
        return [
            (ids, map_offsets(offsets, index_map, len(text)) if offsets is not None else None)
            for text, (_, index_map), (ids, offsets) in zip(texts, normed, encoded)
        ]

    def _prenormalize(self, text: str) -> str:
        """``text`` under the ``normalize=`` option (unchanged when it is off)."""
        return text if self._normalizer is None else self._normalizer(text)

    # ------------------------------------------------------------------ hooks for subclasses
    def _encode_texts(self, texts: List[str], with_offsets: bool) -> List[Encoded]:
        """Ids (no special tokens) and, if asked, (start, end) char offsets into each text."""
        raise NotImplementedError

    def _convert_token_to_id(self, token: str) -> int:
        raise NotImplementedError

    def _convert_id_to_token(self, index: int) -> str:
        raise NotImplementedError

    def _decode(self, ids: List[int]) -> str:
        """Text of ``ids`` (special tokens already filtered as requested)."""
        raise NotImplementedError

    def _save_vocab_files(self, directory: Path) -> Dict[str, str]:
        """Write the vocab/model files; return ``{init_kwarg: file_name}``."""
        raise NotImplementedError

    def _config(self) -> Dict[str, Any]:
        """JSON-serialisable init kwargs (besides files) to store in ``tokenizer_config.json``."""
        config = {
            "model_max_length": self.model_max_length,
            "pad_token": self.pad_token,
            "unk_token": self.unk_token,
            "cls_token": self.cls_token,
            "sep_token": self.sep_token,
            "mask_token": self.mask_token,
        }
        if self._normalizer is not None:
            config["normalize"] = self._normalizer.to_config()
        return config

    @property
    def vocab_size(self) -> int:
        raise NotImplementedError

    def get_vocab(self) -> Dict[str, int]:
        raise NotImplementedError

    # ------------------------------------------------------------------ special tokens
    def __len__(self) -> int:
        return self.vocab_size

    @property
    def pad_token_id(self) -> int:
        return self._convert_token_to_id(self.pad_token)

    @property
    def unk_token_id(self) -> int:
        return self._convert_token_to_id(self.unk_token)

    @property
    def cls_token_id(self) -> int:
        return self._convert_token_to_id(self.cls_token)

    @property
    def sep_token_id(self) -> int:
        return self._convert_token_to_id(self.sep_token)

    @property
    def mask_token_id(self) -> int:
        return self._convert_token_to_id(self.mask_token)

    @property
    def all_special_tokens(self) -> List[str]:
        base = [self.unk_token, self.sep_token, self.pad_token, self.cls_token, self.mask_token]
        return base + [t for t in self.additional_special_tokens if t not in base]

    @property
    def all_special_ids(self) -> List[int]:
        return [self._convert_token_to_id(t) for t in self.all_special_tokens]

    # ------------------------------------------------------------------ token <-> id
    def convert_tokens_to_ids(self, tokens: Union[str, Sequence[str]]) -> Union[int, List[int]]:
        """Id of one token or ids of a list of tokens (unknown tokens -> ``unk_token_id``)."""
        if isinstance(tokens, str):
            return self._convert_token_to_id(tokens)
        items, _ = check_texts(tokens, "tokens")
        return [self._convert_token_to_id(t) for t in items]

    def convert_ids_to_tokens(
        self, ids: Union[int, Sequence[int]], skip_special_tokens: bool = False
    ) -> Union[str, List[str]]:
        """Token of one id or tokens of a list of ids."""
        if isinstance(ids, numbers.Integral) and not isinstance(ids, bool):
            return self._convert_id_to_token(self._check_id(ids))
        ids = self._check_ids(ids)
        if skip_special_tokens:
            special = set(self.all_special_ids)
            ids = [i for i in ids if i not in special]
        return [self._convert_id_to_token(i) for i in ids]

    def _check_id(self, index: Any, size: Optional[int] = None) -> int:
        if isinstance(index, bool) or not isinstance(index, numbers.Integral):
            raise TypeError(f"token ids must be int, got {type(index).__name__}")
        index = operator.index(index)
        size = self.vocab_size if size is None else size
        if not 0 <= index < size:
            raise ValueError(f"token id {index} is out of range [0, {size})")
        return index

    def _check_ids(self, ids: Any) -> List[int]:
        if ids is None:
            raise ValueError("`ids` is None; expected a list of int")
        if hasattr(ids, "tolist"):  # numpy array / paddle tensor
            ids = ids.tolist()
        if isinstance(ids, numbers.Integral):
            ids = [ids]
        if not isinstance(ids, (list, tuple)):
            raise TypeError(f"`ids` must be a list of int, got {type(ids).__name__}")
        if ids and isinstance(ids[0], (list, tuple)):
            raise TypeError("`ids` is nested; use batch_decode for a batch")
        size = self.vocab_size
        return [self._check_id(i, size) for i in ids]

    # ------------------------------------------------------------------ simple API
    def tokenize(self, text: str) -> List[str]:
        """Tokens of ``text`` without special tokens."""
        check_text(text, "text")
        ids, _ = self._encode_normalized([text], with_offsets=False)[0]
        return [self._convert_id_to_token(i) for i in ids]

    def encode(
        self,
        text: str,
        text_pair: Optional[str] = None,
        add_special_tokens: bool = True,
        max_length: Optional[int] = None,
        truncation: Union[bool, str] = False,
    ) -> List[int]:
        """Input ids of one text (or pair) as a flat list."""
        check_text(text, "text")
        if text_pair is not None:
            check_text(text_pair, "text_pair")
        enc = self(
            text,
            text_pair,
            max_length=max_length,
            truncation=truncation,
            add_special_tokens=add_special_tokens,
        )
        return enc["input_ids"]

    def decode(self, ids: Sequence[int], skip_special_tokens: bool = True) -> str:
        """Text of ``ids``; special tokens are dropped unless ``skip_special_tokens=False``."""
        ids = self._check_ids(ids)
        if skip_special_tokens:
            special = set(self.all_special_ids)
            ids = [i for i in ids if i not in special]
        return self._decode(ids)

    def batch_decode(self, batch: Sequence[Sequence[int]], skip_special_tokens: bool = True) -> List[str]:
        """``decode`` over a batch of id lists (or a 2-D array)."""
        if batch is None:
            raise ValueError("`batch` is None; expected a list of id lists")
        if hasattr(batch, "tolist"):
            batch = batch.tolist()
        return [self.decode(ids, skip_special_tokens=skip_special_tokens) for ids in batch]

    # ------------------------------------------------------------------ __call__
    def __call__(
        self,
        text: Union[str, Sequence[str], Sequence[Tuple[str, str]]],
        text_pair: Union[str, Sequence[str], None] = None,
        max_length: Optional[int] = None,
        padding: Union[bool, str] = False,
        truncation: Union[bool, str] = False,
        return_offsets_mapping: bool = False,
        return_tensors: Optional[str] = None,
        add_special_tokens: bool = True,
    ) -> BatchEncoding:
        """Encode one text, a list of texts, or pairs (``text_pair`` or a list of 2-tuples).

        * ``padding``: ``False`` | ``True``/``"longest"`` | ``"max_length"`` (right padding).
        * ``truncation``: ``False`` | ``True``/``"longest_first"`` | ``"only_first"`` |
          ``"only_second"``; ``max_length`` counts special tokens. Without truncation an input
          longer than ``max_length`` is returned in full.
        * ``return_offsets_mapping``: (start, end) char offsets into the original strings;
          special and padding tokens get ``(0, 0)``.
        * ``return_tensors="np"``: int64 arrays of shape (batch, length) (``(1, length)`` for a
          single str); all rows must have the same length (use padding).
        """
        firsts, seconds, single = self._split_inputs(text, text_pair)
        pad = _norm_padding(padding)
        trunc = _norm_truncation(truncation)
        max_length = check_positive_int(max_length, "max_length", allow_none=True)
        if return_tensors not in (None, "np"):
            raise ValueError(f"`return_tensors`={return_tensors!r} is not valid; choose None or 'np'")
        if max_length is None and (trunc is not None or pad == "max_length"):
            max_length = self.model_max_length

        with_offsets = bool(return_offsets_mapping)
        encoded = self._encode_normalized(firsts + (seconds or []), with_offsets)
        n = len(firsts)
        rows = [
            self._build_row(
                encoded[i],
                encoded[n + i] if seconds is not None else None,
                add_special_tokens,
                trunc,
                max_length,
            )
            for i in range(n)
        ]
        if pad is not None and rows:
            target = max(len(r["input_ids"]) for r in rows)
            if pad == "max_length":
                target = max_length  # longer rows (no truncation asked) stay longer
            for row in rows:
                self._pad_row(row, target)
        fields = [f for f in _FIELDS if f != "offset_mapping" or with_offsets]
        out = BatchEncoding()
        for field in fields:
            values = [r[field] for r in rows]
            if return_tensors == "np":
                out[field] = self._to_numpy(values, field)
            else:
                out[field] = values[0] if single else values
        return out

    def _split_inputs(
        self, text: Any, text_pair: Any
    ) -> Tuple[List[str], Optional[List[str]], bool]:
        """Validate inputs; return (first texts, second texts or None, was_single)."""
        if (
            text_pair is None
            and isinstance(text, (list, tuple))
            and text
            and all(isinstance(item, (list, tuple)) for item in text)
        ):
            firsts, seconds = [], []
            for i, item in enumerate(text):
                if len(item) != 2:
                    raise ValueError(f"`text[{i}]` must be a (text, text_pair) pair, got {len(item)} items")
                firsts.append(check_text(item[0], f"text[{i}][0]"))
                seconds.append(check_text(item[1], f"text[{i}][1]"))
            return firsts, seconds, False
        firsts, single = check_texts(text, "text")
        if text_pair is None:
            return firsts, None, single
        if single:
            return firsts, [check_text(text_pair, "text_pair")], True
        seconds, pair_single = check_texts(text_pair, "text_pair")
        if pair_single or len(seconds) != len(firsts):
            raise ValueError(
                f"`text_pair` must be a list as long as `text` ({len(firsts)}), "
                f"got {'a str' if pair_single else len(seconds)}"
            )
        return firsts, seconds, False

    def _build_row(
        self,
        first: Encoded,
        second: Optional[Encoded],
        add_special_tokens: bool,
        trunc: Optional[str],
        max_length: Optional[int],
    ) -> Dict[str, list]:
        ids_a, off_a = first
        ids_b, off_b = second if second is not None else (None, None)
        n_special = (2 if second is None else 3) if add_special_tokens else 0
        if trunc is not None:
            budget = max_length - n_special
            if budget < 0:
                raise ValueError(
                    f"`max_length`={max_length} cannot hold the {n_special} special tokens"
                )
            keep_a, keep_b = _keep_lengths(
                len(ids_a), None if ids_b is None else len(ids_b), budget, trunc
            )
            ids_a = ids_a[:keep_a]
            off_a = off_a[:keep_a] if off_a is not None else None
            if ids_b is not None:
                ids_b = ids_b[:keep_b]
                off_b = off_b[:keep_b] if off_b is not None else None
        cls_, sep = ([self.cls_token_id], [self.sep_token_id]) if add_special_tokens else ([], [])
        z = [(0, 0)] if add_special_tokens else []
        ids = cls_ + ids_a + sep
        types = [0] * len(ids)
        offsets = z + off_a + z if off_a is not None else None
        if ids_b is not None:
            ids += ids_b + sep
            types += [1] * (len(ids_b) + len(sep))
            if offsets is not None:
                offsets += off_b + z
        row = {"input_ids": ids, "token_type_ids": types, "attention_mask": [1] * len(ids)}
        if offsets is not None:
            row["offset_mapping"] = offsets
        return row

    def _pad_row(self, row: Dict[str, list], target: int) -> None:
        extra = target - len(row["input_ids"])
        if extra <= 0:
            return
        row["input_ids"] = row["input_ids"] + [self.pad_token_id] * extra
        row["token_type_ids"] = row["token_type_ids"] + [0] * extra
        row["attention_mask"] = row["attention_mask"] + [0] * extra
        if "offset_mapping" in row:
            row["offset_mapping"] = row["offset_mapping"] + [(0, 0)] * extra

    @staticmethod
    def _to_numpy(values: List[list], field: str):
        import numpy as np  # local: keep `import roots_zh` cheap

        lengths = sorted({len(v) for v in values})
        if len(lengths) > 1:
            raise ValueError(
                f"cannot stack `{field}` into an array: sequences have lengths {lengths[0]}..{lengths[-1]}; "
                "pass padding=True or padding='max_length'"
            )
        if field == "offset_mapping":
            return np.asarray(values, dtype=np.int64).reshape(len(values), lengths[0] if lengths else 0, 2)
        return np.asarray(values, dtype=np.int64).reshape(len(values), lengths[0] if lengths else 0)

    # ------------------------------------------------------------------ save / load
    def save_pretrained(self, save_directory: Union[str, Path]) -> List[Path]:
        """Write vocab/model files and ``tokenizer_config.json`` (atomically) into a directory."""
        directory = Path(save_directory)
        if directory.exists() and not directory.is_dir():
            raise ValueError(f"save_pretrained: {directory} exists and is not a directory")
        directory.mkdir(parents=True, exist_ok=True)
        files = self._save_vocab_files(directory)
        config = {"tokenizer_class": type(self).__name__, **self._config(), "files": files}
        atomic_write_text(directory / CONFIG_NAME, json.dumps(config, ensure_ascii=False, indent=2) + "\n")
        return [directory / name for name in files.values()] + [directory / CONFIG_NAME]

    @classmethod
    def from_pretrained(cls, pretrained_dir: Union[str, Path], **kwargs: Any) -> "PreTrainedTokenizerBase":
        """Load a tokenizer saved by ``save_pretrained`` (``kwargs`` override the stored config).

        ``normalize=`` (a preset ``"none" | "basic" | "web" | "t2s"``, a dict of switches or a
        :class:`~roots_zh.tokenization.normalize.Normalizer`) overrides the stored option."""
        directory = as_directory(pretrained_dir)
        if not directory.is_dir():
            raise FileNotFoundError(f"tokenizer directory {directory} does not exist")
        config = read_tokenizer_config(directory)
        stored = config.get("tokenizer_class")
        if stored is not None and stored != cls.__name__ and stored not in cls.class_aliases:
            raise ValueError(
                f"{directory / CONFIG_NAME} is for {stored}, not {cls.__name__}; use AutoTokenizer"
            )
        params = inspect.signature(cls.__init__).parameters
        init = {k: v for k, v in config.items() if k in params and k not in cls.vocab_files}
        file_names = config.get("files") if isinstance(config.get("files"), dict) else {}
        for arg, default_name in cls.vocab_files.items():
            path = directory / file_names.get(arg, default_name)
            if not path.is_file():
                raise FileNotFoundError(f"{path.name} not found in tokenizer directory {directory}")
            init[arg] = str(path)
        normalize = kwargs.pop("normalize", config.get("normalize"))
        normalizer = Normalizer.from_config(normalize)  # validate before the (slow) load
        init.update(kwargs)
        tokenizer = cls(**init)
        tokenizer.normalizer = normalizer
        return tokenizer
