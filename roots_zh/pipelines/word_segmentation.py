"""`WordSegmenter`: jieba word segmentation as a pipeline (words with character offsets)."""
from __future__ import annotations

from typing import Sequence, Union

from ..tokenization.segment import UserDict, segment_with_offsets
from ..utils.validation import check_choice, check_texts

MODES = ("precise", "search", "all")


class WordSegmenter:
    """>>> WordSegmenter().predict("结巴中文分词")
    {'text': '结巴中文分词', 'words': ['结巴', '中文', '分词'], 'offsets': [[0, 2], [2, 4], [4, 6]]}"""

    def __init__(self, mode: str = "precise", user_dict: UserDict = None) -> None:
        self.mode = check_choice(mode, "mode", MODES)
        self.user_dict = user_dict

    @classmethod
    def from_pretrained(cls, name_or_dir=None, mode: str = "precise", user_dict: UserDict = None) -> "WordSegmenter":
        """jieba's dictionary is the model; ``name_or_dir`` is accepted for a uniform Taskflow call."""
        return cls(mode, user_dict)

    def predict(self, texts: Union[str, Sequence[str]], mode: str | None = None, batch_size: int | None = None):
        items, single = check_texts(texts, "texts")
        mode = check_choice(mode or self.mode, "mode", MODES)
        out = []
        for text in items:
            spans = segment_with_offsets(text, mode=mode, user_dict=self.user_dict)
            out.append({"text": text, "words": [w for w, _, _ in spans], "offsets": [[s, e] for _, s, e in spans]})
        return out[0] if single else out
