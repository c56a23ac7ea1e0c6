"""``AutoTokenizer``: load whichever ROOTS tokenizer a directory holds."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Type, Union

from .base import CONFIG_NAME, PreTrainedTokenizerBase, as_directory, read_tokenizer_config


def _classes() -> Dict[str, Type[PreTrainedTokenizerBase]]:
    from .bert_chinese import BertChineseTokenizer
    from .sentencepiece_tokenizer import RootsTokenizer

    return {
        "RootsTokenizer": RootsTokenizer,
        "BertChineseTokenizer": BertChineseTokenizer,
        # PaddleNLP / HF directories holding a BERT-style vocab.txt
        **{alias: BertChineseTokenizer for alias in BertChineseTokenizer.class_aliases},
    }


class AutoTokenizer:
    """Factory: ``AutoTokenizer.from_pretrained(dir)`` -> RootsTokenizer or BertChineseTokenizer."""

    def __init__(self) -> None:
        raise TypeError("use AutoTokenizer.from_pretrained(directory)")

    @classmethod
    def from_pretrained(cls, pretrained_dir: Union[str, Path], **kwargs: Any) -> PreTrainedTokenizerBase:
        """Pick the class from ``tokenizer_config.json`` ("tokenizer_class"), else from the files
        present (``spm.model`` -> RootsTokenizer, ``vocab.txt`` -> BertChineseTokenizer)."""
        directory = as_directory(pretrained_dir)
        if not directory.is_dir():
            raise FileNotFoundError(f"tokenizer directory {directory} does not exist")
        config = read_tokenizer_config(directory)
        classes = _classes()
        name = config.get("tokenizer_class")
        if name is not None:
            if name not in classes:
                raise ValueError(
                    f"unknown tokenizer_class {name!r} in {directory / CONFIG_NAME}; known: {sorted(classes)}"
                )
            return classes[name].from_pretrained(directory, **kwargs)
        if (directory / "spm.model").is_file():
            return classes["RootsTokenizer"].from_pretrained(directory, **kwargs)
        if (directory / "vocab.txt").is_file():
            return classes["BertChineseTokenizer"].from_pretrained(directory, **kwargs)
        raise FileNotFoundError(
            f"no tokenizer found in {directory}: expected {CONFIG_NAME}, spm.model or vocab.txt"
        )
