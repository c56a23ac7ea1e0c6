"""`Summarizer`: Chinese abstractive summarisation / title generation (LCSTS, CSL) with the
prefix-LM mode of a ROOTS encoder; scored with character-level ROUGE."""
from __future__ import annotations

from typing import Dict, List

from ..metrics.generation import char_rouge
from .seq2seq_base import Seq2SeqPipeline


class Summarizer(Seq2SeqPipeline):
    """Fine-tune and run a summariser.

    >>> summ = Summarizer.from_pretrained("roots-base", max_source_length=160, max_target_length=32)
    >>> summ.fit(texts, summaries, epochs=2); summ.predict("日前，方舟子发文直指…", num_beams=4)
    {'text': '日前，方舟子发文直指…', 'summary': '…', 'truncated': False}
    """

    source_field = "text"
    output_field = "summary"
    main_metric = "rougeL"

    def _score(self, hypotheses: List[str], references: List[str]) -> Dict[str, float]:
        return char_rouge(hypotheses, references)
