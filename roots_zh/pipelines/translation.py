"""`Translator`: zh→en or en→zh translation with the prefix-LM mode of a ROOTS encoder; scored
with sacreBLEU (``tokenize="zh"`` for Chinese output, ``"13a"`` for English)."""
from __future__ import annotations

from typing import Any, Dict, List, Optional

from ..utils.validation import check_choice
from ..generation.search import GenerationConfig
from ..metrics.generation import BLEU_TOKENIZE, bleu
from .seq2seq_base import Seq2SeqPipeline

DIRECTIONS = ("zh-en", "en-zh")


class Translator(Seq2SeqPipeline):
    """Fine-tune and run a translator for one ``direction`` (a two-way model, trained with a recipe's
    ``"directions"``, such as the shipped ``roots-translate``, translates whichever language it is given;
    ``direction`` then only picks the BLEU tokenisation of :meth:`evaluate`).

    >>> tr = Translator.from_pretrained("roots-base", direction="zh-en")
    >>> tr.fit(zh_sentences, en_sentences, epochs=3); tr.predict("我知道。")
    {'text': '我知道。', 'translation': 'I know.', 'truncated': False}
    """

    source_field = "text"
    output_field = "translation"
    main_metric = "bleu"

    def __init__(self, model, tokenizer, direction: str = "zh-en", max_source_length: int = 128,
                 max_target_length: int = 128, generation: Optional[GenerationConfig] = None,
                 base_model: Optional[str] = None) -> None:
        self.direction = check_choice(direction, "direction", DIRECTIONS)
        super().__init__(model, tokenizer, max_source_length, max_target_length, generation, base_model)

    def _extra_config(self) -> Dict[str, Any]:
        return {"direction": self.direction}

    def _score(self, hypotheses: List[str], references: List[str]) -> Dict[str, float]:
        return bleu(hypotheses, references, tokenize=BLEU_TOKENIZE[self.direction])
