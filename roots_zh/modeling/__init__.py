"""ROOTS model core: config, the one mask builder, layers, heads and checkpoint conversion."""
from .config import RootsConfig
from .heads import (RootsForMaskedLM, RootsForPrefixLM, RootsForQuestionAnswering, RootsForSentenceEmbedding,
                    RootsForSequenceClassification, RootsForTokenClassification)
from .masks import IGNORE_INDEX
from .model import RootsModel, RootsPreTrainedModel

__all__ = ["RootsConfig", "RootsModel", "RootsPreTrainedModel", "RootsForMaskedLM", "RootsForPrefixLM",
           "RootsForSequenceClassification", "RootsForTokenClassification", "RootsForQuestionAnswering",
           "RootsForSentenceEmbedding", "IGNORE_INDEX"]
