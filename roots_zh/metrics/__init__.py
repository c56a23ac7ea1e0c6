"""Evaluation metrics, one home each: classification accuracy, span P/R/F1 (NER, CWS, entity
mentions), CMRC 2018 EM/F1, character ROUGE and sacreBLEU, and KG ranking (MRR, Hits@k).
Pure Python/numpy; nothing here imports paddle."""
from .classification import accuracy
from .cmrc import cmrc_em, cmrc_em_f1, cmrc_f1, mixed_segmentation
from .generation import BLEU_TOKENIZE, bleu, char_rouge, rouge_l_f, rouge_n_f
from .ranking import ranking_metrics
from .spans import entity_prf, mention_prf, prf

__all__ = ["accuracy", "cmrc_em", "cmrc_em_f1", "cmrc_f1", "mixed_segmentation", "BLEU_TOKENIZE", "bleu",
           "char_rouge", "rouge_l_f", "rouge_n_f", "ranking_metrics", "entity_prf", "mention_prf", "prf"]
