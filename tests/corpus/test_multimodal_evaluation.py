"""The image words reach the pipeline under `spacy train` and `spacy evaluate`.

A small CWI learns posts whose entity type only the image caption tells ("Rocket" the dog is PER,
"Rocket" the band is ORG). The same trained model must then score differently on the same test posts with
and without their captions. Two parts carry the captions, and each is shown to do so alone: the corpus
reader `spacy_mner.MultimodalCorpus.v1` (in `spacy train`) and the evaluate callback
`spacy_mner.multimodal_evaluate.v1` (in `spacy evaluate`, whose reader is spaCy's stock one, and in
`spacy train` with the stock reader).
"""
import json
import subprocess
import sys

import pytest
from spacy.tokens import Doc, DocBin
from spacy.training import Corpus, Example
from spacy.language import Language
from spacy.util import fix_random_seed

from spacy_mner.training_hooks.reader import MultimodalCorpus

TEXTS = [["Rocket", "is", "here"], ["I", "love", "Rocket"], ["Rocket", "again", "tonight"], ["so", "much", "Rocket"]]
CAPTIONS = {"PER": "a small brown dog on a sofa", "ORG": "a rock band playing on a stage"}


def posts(vocab, with_captions: bool):
    docs = []
    for words in TEXTS:
        for label, caption in CAPTIONS.items():
            doc = Doc(vocab, words=words, ents=["B-" + label if w == "Rocket" else "O" for w in words])
            doc._.image_caption = caption if with_captions else None
            docs.append(doc)
    return docs


@pytest.fixture(scope="module")
def trained(tmp_path_factory, small_vectors):
    import spacy
    from spacy.vectors import Vectors

    nlp = spacy.blank("en", config={"nlp": {"after_pipeline_creation": {"@callbacks": "spacy_mner.multimodal_evaluate.v1"}}})
    words, table = small_vectors
    nlp.vocab.vectors = Vectors(strings=nlp.vocab.strings, data=table.copy(), keys=words)
    nlp.add_pipe("crf_ner", name="ner", config={"model": {"@architectures": "spacy_mner.CWI.v1", "use_chars": False, "dropout": 0.0}})
    fix_random_seed(0)  # module-scoped: set up before the per-test seed
    train = [Example(Doc(nlp.vocab, words=[t.text for t in d]), d) for d in posts(nlp.vocab, True)]
    for eg in train:
        eg.predicted._.image_caption = eg.reference._.image_caption
    optimizer = nlp.initialize(lambda: train)
    for _ in range(60):
        nlp.update(train, sgd=optimizer)
    root = tmp_path_factory.mktemp("multimodal")
    nlp.to_disk(root / "model")
    for name, with_captions in (("with", True), ("without", False)):
        DocBin(docs=posts(nlp.vocab, with_captions), store_user_data=True).to_disk(root / f"{name}.spacy")
    return nlp, root


def test_the_reader_alone_gives_the_predicted_docs_their_captions(trained):
    nlp, root = trained
    with_images = list(MultimodalCorpus(root / "with.spacy")(nlp))
    assert [eg.predicted._.image_caption for eg in with_images] == [eg.reference._.image_caption for eg in with_images]
    assert all(eg.predicted._.image_caption for eg in with_images)
    # Language.evaluate: spaCy's own, without the callback's copying
    assert Language.evaluate(nlp, with_images)["ents_f"] == 1.0
    assert Language.evaluate(nlp, list(MultimodalCorpus(root / "without.spacy")(nlp)))["ents_f"] < 0.8


def test_the_callback_alone_gives_the_predicted_docs_their_captions(trained):
    nlp, root = trained
    # spaCy's stock reader loses the captions: Language.evaluate without the callback sees none
    stock = list(Corpus(root / "with.spacy")(nlp))
    assert not any(eg.predicted._.image_caption for eg in stock)
    without = Language.evaluate(nlp, stock)["ents_f"]
    assert without < 0.8
    # the pipeline's evaluate (the callback's) copies them over
    assert nlp.evaluate(list(Corpus(root / "with.spacy")(nlp)))["ents_f"] == 1.0
    assert nlp.evaluate(list(Corpus(root / "without.spacy")(nlp)))["ents_f"] == without


def run(*args):
    result = subprocess.run([sys.executable, "-m", "spacy", *map(str, args)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_spacy_evaluate_sees_image_words(trained):
    _, root = trained
    scores = {}
    for name in ("with", "without"):
        run("evaluate", root / "model", root / f"{name}.spacy", "--output", root / f"{name}.json")
        scores[name] = json.loads((root / f"{name}.json").read_text())["ents_f"]
    assert scores["with"] == 1.0
    assert scores["without"] < 0.8


TRAIN_CONFIG = """
[paths]
train = null
dev = null

[nlp]
lang = "en"
pipeline = ["ner"]
{callback}
[components]

[components.ner]
source = "{model}"

[corpora]

[corpora.train]
@readers = "{reader}"
path = ${{paths.train}}

[corpora.dev]
@readers = "{reader}"
path = ${{paths.dev}}

[training]
frozen_components = ["ner"]
max_steps = 1

[initialize]
vectors = "{model}"
"""
CALLBACK = """
[nlp.after_pipeline_creation]
@callbacks = "spacy_mner.multimodal_evaluate.v1"
"""


@pytest.mark.parametrize(
    "reader,callback,sees_captions",
    [
        ("spacy_mner.MultimodalCorpus.v1", False, True),  # the reader alone
        ("spacy.Corpus.v1", True, True),  # the callback alone
        ("spacy.Corpus.v1", False, False),  # neither: the captions are lost
    ],
)
def test_spacy_train_dev_scores_see_image_words(trained, tmp_path, reader, callback, sees_captions):
    """`spacy train` with the trained component sourced and frozen: its dev score is the model's score."""
    _, root = trained
    config = tmp_path / "frozen.cfg"
    config.write_text(TRAIN_CONFIG.format(model=root / "model", reader=reader, callback=CALLBACK if callback else ""))
    run("init", "fill-config", config, tmp_path / "full.cfg")
    out = tmp_path / "out"
    run("train", tmp_path / "full.cfg", "--output", out, "--paths.train", root / "with.spacy", "--paths.dev", root / "with.spacy")
    score = json.loads((out / "model-last" / "meta.json").read_text())["performance"]["ents_f"]
    if sees_captions:
        assert score == 1.0
    else:
        assert score < 0.8
