"""Knowledge graphs for ROOTS: triple readers, vocabularies, `KnowledgeGraph`, TransE with filtered
link-prediction evaluation, the Aho-Corasick `EntityLinker`, and per-token entity slots
(`EntityAnnotator`) that feed the fusion layer (`roots_zh.modeling.knowledge_fusion`)."""
from ..utils.lazy import lazy_attributes

_NAMES = {
    "KnowledgeGraph": "roots_zh.knowledge.graph",
    "Vocab": "roots_zh.knowledge.graph",
    "ReadReport": "roots_zh.knowledge.graph",
    "read_triples_tsv": "roots_zh.knowledge.graph",
    "TransE": "roots_zh.knowledge.transe",
    "TransEArgs": "roots_zh.knowledge.transe",
    "split_triples": "roots_zh.knowledge.transe",
    "filtered_ranks": "roots_zh.knowledge.transe",
    "ranking_metrics": "roots_zh.metrics.ranking",
    "EntityLinker": "roots_zh.knowledge.linker",
    "Mention": "roots_zh.knowledge.linker",
    "EntityAnnotator": "roots_zh.knowledge.annotate",
    "read_bio_tsv": "roots_zh.knowledge.ner_data",
    "span_f1": "roots_zh.knowledge.ner_data",
}
__all__ = sorted(_NAMES)
__getattr__, __dir__ = lazy_attributes(__name__, _NAMES, globals())
