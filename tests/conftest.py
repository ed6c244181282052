"""Shared test set-up: no hub downloads, small pipelines built in code, the bundled sample corpus."""
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# the tests' models are tiny: one thread each is as fast, and far faster when the cores are shared
os.environ.setdefault("OMP_NUM_THREADS", "1")
# threads that sleep at barriers instead of spinning: no stalls when the cores are shared
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "corpus" / "sample"
TWITTER = ROOT.parent / "shared" / "data" / "twitter2015"


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    return SAMPLE


@pytest.fixture(scope="session")
def twitter_dir() -> Path:
    if not (TWITTER / "train.txt").is_file():
        pytest.skip(f"Twitter-2015 not found at {TWITTER} (the benchmark data lives in ../shared/data)")
    return TWITTER


@pytest.fixture(scope="session")
def small_vectors():
    """The real GloVe 50d + en_core_web_md 300d table, cut to the 5000 most frequent words (built once)."""
    from spacy_mner.training.vectors import build_vectors

    return build_vectors(["glove-6b-50d", "en_core_web_md"], max_rows=5000)


@pytest.fixture
def make_nlp(small_vectors):
    """A blank English pipeline with the small vectors and a `crf_ner` named "ner" over a small CWI."""
    import spacy
    from spacy.vectors import Vectors

    def make(use_crf: bool = True, **model):
        callback = {"@callbacks": "spacy_mner.multimodal_evaluate.v1"}
        nlp = spacy.blank("en", config={"nlp": {"after_pipeline_creation": callback}})
        words, table = small_vectors
        nlp.vocab.vectors = Vectors(strings=nlp.vocab.strings, data=table.copy(), keys=words)
        settings = {"@architectures": "spacy_mner.CWI.v1", "dropout": 0.0, **model}
        nlp.add_pipe("crf_ner", name="ner", config={"model": settings, "use_crf": use_crf})
        return nlp

    return make


@pytest.fixture
def check_bfloat16_prediction(tmp_path):
    """Check a trained pipeline's `mixed_precision` on CPU: loaded with it, prediction runs in bfloat16 (the
    scores move a little, the entities stay right) and training stays float32 (the same scores as before)."""
    import numpy
    import spacy
    from spacy.util import fix_random_seed

    def check(nlp, examples) -> None:
        nlp.to_disk(tmp_path / "pipeline")
        fast = spacy.load(tmp_path / "pipeline", config={"components.ner.model.mixed_precision": True})
        docs = [eg.predicted for eg in examples]
        scores = nlp.get_pipe("ner").model.predict(docs)
        fast_scores = fast.get_pipe("ner").model.predict(docs)
        assert fast_scores.dtype == numpy.float32
        assert not numpy.array_equal(fast_scores, scores)  # bfloat16 matmuls really ran
        numpy.testing.assert_allclose(fast_scores, scores, atol=0.25)
        assert fast.evaluate(examples)["ents_f"] == 1.0
        trained = []
        for pipeline in (fast, nlp):
            fix_random_seed(0)  # the same dropout draws
            trained.append(pipeline.get_pipe("ner").model.begin_update(docs)[0])
        numpy.testing.assert_allclose(*trained, rtol=1e-5, atol=1e-5)

    return check
