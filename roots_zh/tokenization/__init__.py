"""Tokenizers for ROOTS: BERT-Chinese WordPiece (PaddleNLP-identical ids), the native SentencePiece
``RootsTokenizer``, ``AutoTokenizer`` and jieba word segmentation.

Names resolve lazily, so importing this package loads neither jieba, tokenizers nor sentencepiece.
(``segment`` and ``normalize`` are submodules here; ``roots_zh.segment`` is the function.)
Imports flow downward only: this package uses ``roots_zh.utils`` and nothing above it.
"""
from __future__ import annotations

from ..utils.lazy import lazy_attributes

_LAZY = {
    "BatchEncoding": "roots_zh.tokenization.base",
    "PreTrainedTokenizerBase": "roots_zh.tokenization.base",
    "BertChineseTokenizer": "roots_zh.tokenization.bert_chinese",
    "RootsTokenizer": "roots_zh.tokenization.sentencepiece_tokenizer",
    "AutoTokenizer": "roots_zh.tokenization.auto",
    "Segmenter": "roots_zh.tokenization.segment",
    "segment_with_offsets": "roots_zh.tokenization.segment",
    "normalize_with_offsets": "roots_zh.tokenization.normalize",
}

__all__ = sorted(_LAZY)
__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, globals())
