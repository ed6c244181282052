"""Shared test set-up: no hub downloads, a fixed seed for every test, derandomized Hypothesis, small
pipelines built in code, the bundled sample corpus, and `require` (skip locally, fail in CI)."""
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# the tests' models are tiny: one thread each is as fast, and far faster when the cores are shared
os.environ.setdefault("OMP_NUM_THREADS", "1")
# threads that sleep at barriers instead of spinning: no stalls when the cores are shared
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import pytest  # noqa: E402
from hypothesis import settings  # noqa: E402

# the same examples on every run, and no example database written into the repository (.hypothesis/)
settings.register_profile("spacy-mner", derandomize=True, database=None)
settings.load_profile("spacy-mner")

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "corpus" / "sample"
DATA = ROOT.parent / "shared" / "data"  # beside the clone, in CI too
TWITTER = DATA / "twitter2015"
CONLL = DATA / "conll2003"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def require_part(available: bool, what: str) -> None:
    """Skip the test when `what` is missing, except in CI (env CI set), where a missing part fails the
    run: CI has the browser (`make setup` installs it) and ../shared/data, so a skip there would hide a
    check that silently stopped running."""
    if available:
        return
    if in_ci():
        pytest.fail(f"{what} (required when CI is set)", pytrace=False)
    pytest.skip(what)


@pytest.fixture(scope="session")
def require():
    """`require(available, what)`: see `require_part`."""
    return require_part


@pytest.fixture(autouse=True)
def seeded():
    """Every test starts from the same seed (Python, numpy, torch): thinc's and torch's initialisers draw
    from the global generators, so without this a test's result would depend on the tests before it."""
    from spacy.util import fix_random_seed

    fix_random_seed(0)


@pytest.fixture(scope="session")
def assert_reads():
    """`assert_reads(before, after, reads)`: scores before and after one input changed either moved (the
    model reads that input) or are exactly equal (it does not)."""
    import numpy

    def check(before, after, reads: bool) -> None:
        if reads:
            assert numpy.abs(before - after).max() > 1e-5
        else:
            numpy.testing.assert_array_equal(before, after)

    return check


@pytest.fixture(scope="session")
def assert_same_predictions():
    """`assert_same_predictions(rows, expected)`: `predict`'s output rows (dicts) are the expected ones; when
    the posts were batched otherwise (chunks, a resumed run), the last float bits of an image label's
    probability or an entity's score may differ, so those are compared to 1e-6."""
    import json

    def check(rows, expected) -> None:
        assert len(rows) == len(expected)
        for row, want in zip(rows, expected):
            row, want = json.loads(json.dumps(row)), json.loads(json.dumps(want))  # copies, JSON-typed
            labels, expected_labels = row.pop("image_labels", []), want.pop("image_labels", [])
            assert [label for label, _ in labels] == [label for label, _ in expected_labels]
            assert [prob for _, prob in labels] == pytest.approx([prob for _, prob in expected_labels], abs=1e-6)
            scores = [ent.pop("score") for ent in row.get("entities", [])]
            assert scores == pytest.approx([ent.pop("score") for ent in want.get("entities", [])], abs=1e-6)
            assert row == want

    return check


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    return SAMPLE


@pytest.fixture(scope="session")
def twitter_dir() -> Path:
    require_part((TWITTER / "train.txt").is_file(), f"Twitter-2015 not found at {TWITTER} (the benchmark data, ../shared/data)")
    return TWITTER


@pytest.fixture(scope="session")
def conll_dir() -> Path:
    require_part((CONLL / "train.txt").is_file(), f"CoNLL-2003 not found at {CONLL} (../shared/data)")
    return CONLL


@pytest.fixture(scope="session")
def small_vectors():
    """The real GloVe 50d + en_core_web_md 300d table, cut to the 5000 most frequent words (built once)."""
    from spacy_mner.training_hooks.vectors import build_vectors

    words, table, _ = build_vectors(["glove-6b-50d", "en_core_web_md"], max_rows=5000)
    return words, table


@pytest.fixture(scope="session")
def make_tiny_bert():
    """`make_tiny_bert(folder, words)`: a 2-layer, 32-wide BERT (seeded) and its uncased WordPiece tokenizer
    over `words`, saved in `folder` like a Hugging Face model folder; returns `folder`."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    def make(folder: Path, words) -> Path:
        words = list(dict.fromkeys(words))
        vocab = folder / "vocab.txt"
        vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + words) + "\n", encoding="utf8")
        BertTokenizerFast(vocab_file=str(vocab), do_lower_case=True).save_pretrained(folder)
        config = BertConfig(
            vocab_size=5 + len(words), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
            intermediate_size=64, max_position_embeddings=128, hidden_dropout_prob=0.0,
            attention_probs_dropout_prob=0.0,
        )
        torch.manual_seed(0)
        BertModel(config).save_pretrained(folder)
        return folder

    return make


@pytest.fixture
def make_nlp(small_vectors):
    """A blank English pipeline with the small vectors and a `crf_ner` named "ner" over a small CWI."""
    import spacy
    from spacy.vectors import Vectors

    def make(use_crf: bool = True, crf_learn_rate_scale: float = 1.0, cross_view_weight: float = 0.0,
             cross_view_pull: str = "both", **model):
        callback = {"@callbacks": "spacy_mner.multimodal_evaluate.v1"}
        nlp = spacy.blank("en", config={"nlp": {"after_pipeline_creation": callback}})
        words, table = small_vectors
        nlp.vocab.vectors = Vectors(strings=nlp.vocab.strings, data=table.copy(), keys=words)
        settings = {"@architectures": "spacy_mner.CWI.v1", "dropout": 0.0, **model}
        component = {"model": settings, "use_crf": use_crf, "crf_learn_rate_scale": crf_learn_rate_scale,
                     "cross_view_weight": cross_view_weight, "cross_view_pull": cross_view_pull}
        nlp.add_pipe("crf_ner", name="ner", config=component)
        return nlp

    return make


@pytest.fixture
def every_kind_of_line(tmp_path):
    """JSONL lines of every kind a user's file holds, in this order: a post (id 1); not JSON; no "text"; a post
    whose image file is missing (id 4); a blank line; a post with a real cat picture (id "cat", saved as
    tmp_path / "cat.jpg"); blank text; a JSON list; a post with an emoji and no id."""
    import json

    from PIL import Image
    from skimage import data

    cat = tmp_path / "cat.jpg"
    Image.fromarray(data.chelsea()).save(cat)
    return [
        json.dumps({"text": "Obama visits Paris today", "id": 1}),
        "{not json",
        json.dumps({"id": "no-text", "image": None}),
        json.dumps({"text": "Ana at the World Cup", "image": str(tmp_path / "missing.jpg"), "id": 4}),
        "",
        json.dumps({"text": "Chelsea watching @NASA launches from Florida !", "image": str(cat), "id": "cat"}),
        json.dumps({"text": "   ", "id": 7}),
        json.dumps(["a", "list"]),
        json.dumps({"text": "Paris in the rain \u2614 again", "image": None}),
    ]


@pytest.fixture(scope="module")
def one_torch_thread():
    """Tiny tensors run fastest on one thread, which also avoids OpenMP spin-waits when the cores are busy."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def save_trained_cwi(small_vectors, tmp_path_factory):
    """Train a blank pipeline of the real EfficientNet-Lite0 `image_labels` + `crf_ner` over a small CWI a few
    seeded steps on (words, BIO tags) posts, so that it finds entities; returns where it was saved."""
    import spacy
    from spacy.tokens import Doc
    from spacy.training import Example
    from spacy.util import fix_random_seed
    from spacy.vectors import Vectors

    def save(posts, steps: int) -> Path:
        fix_random_seed(0)
        nlp = spacy.blank("en")
        words, table = small_vectors
        nlp.vocab.vectors = Vectors(strings=nlp.vocab.strings, data=table.copy(), keys=words)
        nlp.add_pipe("image_labels")
        nlp.add_pipe("crf_ner", name="ner", config={"model": {"@architectures": "spacy_mner.CWI.v1", "dropout": 0.0}})
        egs = [Example(Doc(nlp.vocab, words=w), Doc(nlp.vocab, words=w, ents=t)) for w, t in posts]
        optimizer = nlp.initialize(lambda: egs)
        for _ in range(steps):
            nlp.update(egs, sgd=optimizer)
        path = tmp_path_factory.mktemp("trained") / "pipeline"
        nlp.to_disk(path)
        return path

    return save


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
