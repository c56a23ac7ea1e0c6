"""ROOTS: a Chinese NLP toolkit on PaddlePaddle.

Public names are resolved lazily (PEP 562), so ``import roots_zh`` imports neither paddle nor
paddlenlp and changes nothing in the process (no files written, no environment variables set); the
first use of a model class pays for ``import paddle`` and applies the MKL fast path
(``roots_zh/utils/cpu_blas.py``).
"""
from __future__ import annotations

import warnings

from .utils.lazy import lazy_attributes
from .utils.logs import default_verbosity

# `import paddle` warns "No ccache found" (a note for people compiling C++ extensions) on every first
# run; ROOTS compiles none through it, so that one message is hidden. Nothing else is filtered.
warnings.filterwarnings("ignore", message="No ccache found", category=UserWarning)
default_verbosity()  # the library logger passes WARNING+ (utils/logs.py); command lines ask for INFO

__version__ = "0.2.0"

# public name -> module that defines it
_LAZY = {
    # modeling
    "RootsConfig": "roots_zh.modeling.config",
    "RootsModel": "roots_zh.modeling.model",
    "RootsPreTrainedModel": "roots_zh.modeling.model",
    "RootsForMaskedLM": "roots_zh.modeling.heads",
    "RootsForSequenceClassification": "roots_zh.modeling.heads",
    "RootsForTokenClassification": "roots_zh.modeling.heads",
    "RootsForQuestionAnswering": "roots_zh.modeling.heads",
    "RootsForPrefixLM": "roots_zh.modeling.heads",
    "RootsForSentenceEmbedding": "roots_zh.modeling.heads",
    # tokenization
    "BertChineseTokenizer": "roots_zh.tokenization.bert_chinese",
    "RootsTokenizer": "roots_zh.tokenization.sentencepiece_tokenizer",
    "AutoTokenizer": "roots_zh.tokenization.auto",
    "segment": "roots_zh.tokenization.segment",
    # pipelines
    "TextClassifier": "roots_zh.pipelines.text_classification",
    "TextSimilarity": "roots_zh.pipelines.text_similarity",
    "TokenClassifier": "roots_zh.pipelines.token_classification",
    "QuestionAnswerer": "roots_zh.pipelines.question_answering",
    "Summarizer": "roots_zh.pipelines.summarization",
    "Translator": "roots_zh.pipelines.translation",
    "GenerationConfig": "roots_zh.generation.search",
    "FillMask": "roots_zh.pipelines.fill_mask",
    "WordSegmenter": "roots_zh.pipelines.word_segmentation",
    "Taskflow": "roots_zh.taskflow",
    "LoraConfig": "roots_zh.modeling.adapters",
    "Normalizer": "roots_zh.tokenization.normalize",
    "Predictor": "roots_zh.inference",
    "export_model": "roots_zh.inference",
    # knowledge
    "KnowledgeGraph": "roots_zh.knowledge.graph",
    "TransE": "roots_zh.knowledge.transe",
    "EntityLinker": "roots_zh.knowledge.linker",
    # hub
    "resolve_model_dir": "roots_zh.hub.registry",
}

__all__ = sorted(_LAZY) + ["__version__"]
__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, globals(), ("__version__",))
