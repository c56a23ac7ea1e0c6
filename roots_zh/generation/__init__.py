"""Text generation for ``RootsForPrefixLM``: search (one greedy loop, one beam search) and the
decoders it drives (dygraph model, exported prefill + step programs). Paddle is imported on use."""
from ..utils.lazy import lazy_attributes

_NAMES = {name: "roots_zh.generation.search" for name in
          ("GenerationConfig", "generate", "greedy_search", "greedy_tokens", "beam_search")}
_NAMES.update({name: "roots_zh.generation.decoders" for name in
               ("PrefixLMDecoder", "StaticPrefixLMDecoder", "StaticGreedyDecoder", "left_pad")})
__all__ = sorted(_NAMES)
__getattr__, __dir__ = lazy_attributes(__name__, _NAMES, globals())
