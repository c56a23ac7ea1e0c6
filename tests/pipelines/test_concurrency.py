"""One TextClassifier shared by 8 threads gives exactly the answers of sequential use."""
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

paddle = pytest.importorskip("paddle")
pytest.importorskip("sentencepiece")

from roots_zh.modeling import RootsConfig, RootsForSequenceClassification  # noqa: E402
from roots_zh.pipelines.text_classification import TextClassifier  # noqa: E402
from roots_zh.tokenization import AutoTokenizer  # noqa: E402
from tests.conftest import REPO_ROOT  # noqa: E402

ROOTS_DIR = REPO_ROOT / "pretrained" / "roots-base"
THREADS = 8


@pytest.fixture(scope="module")
def clf():
    if not (ROOTS_DIR / "spm.model").is_file():
        pytest.skip("pretrained/roots-base is not present")
    normalize = "t2s" if _has_opencc() else "web"  # OpenCC is shared across threads too
    tok = AutoTokenizer.from_pretrained(ROOTS_DIR, normalize=normalize)
    paddle.seed(0)
    cfg = RootsConfig(vocab_size=tok.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                      intermediate_size=64, max_position_embeddings=64, num_labels=3,
                      id2label={0: "a", 1: "b", 2: "c"})
    return TextClassifier(RootsForSequenceClassification(cfg), tok, max_length=48)


def _has_opencc() -> bool:
    try:
        import opencc  # noqa: F401
    except ImportError:
        return False
    return True


def _texts(n: int):
    rng = np.random.default_rng(0)
    words = ["這家", "酒店", "服务", "很好", "太差", "！！", "房間", "乾淨", "\u200b", "ＡＢＣ", "http://x.cn", "早餐"]
    return ["".join(rng.choice(words, size=rng.integers(1, 20))) for _ in range(n)]


def test_eight_threads_match_sequential(clf):
    texts = _texts(160)
    chunks = [texts[i:i + 10] for i in range(0, len(texts), 10)]  # 16 calls, mixed lengths per call
    sequential = [clf.predict_proba(chunk, batch_size=4) for chunk in chunks]
    labels = [[r["label"] for r in clf.predict(chunk)] for chunk in chunks]

    def work(i):
        return clf.predict_proba(chunks[i], batch_size=4), [r["label"] for r in clf.predict(chunks[i])]

    for _ in range(3):  # several rounds: races are intermittent
        with ThreadPoolExecutor(max_workers=THREADS) as pool:
            results = list(pool.map(work, list(range(len(chunks))) * 2))
        for i, (probs, labs) in enumerate(results):
            k = i % len(chunks)
            np.testing.assert_allclose(probs, sequential[k], rtol=0, atol=1e-6)
            assert labs == labels[k]
    assert clf.model.training  # a fresh Layer is in train mode; predict restores the mode it found


def test_threads_with_training_mode_model_restore_it(clf):
    """A model left in train mode (dropout on) still predicts deterministically from threads."""
    texts = _texts(40)
    expected = clf.predict_proba(texts)
    clf.model.train()
    try:
        with ThreadPoolExecutor(max_workers=THREADS) as pool:
            results = list(pool.map(lambda _: clf.predict_proba(texts), range(THREADS)))
    finally:
        clf.model.eval()
    for probs in results:
        np.testing.assert_allclose(probs, expected, rtol=0, atol=1e-6)
