"""Word vectors distilled from the real MiniLM-L6 (Model2Vec): every word gets one through its wordpieces,
CWI reads them for words outside the table's rows, and they are saved with the pipeline.

The first run distils MiniLM into the cache (about a minute on one core); later runs read the cache."""
import sys
from pathlib import Path

import numpy
import pytest
import spacy
from spacy import registry
from spacy.tokens import Doc
from spacy.training import Example
from spacy.util import load_config

from spacy_mner.models.cwi_features import vector_key, word_vectors
from spacy_mner.models import subword_vectors
from spacy_mner.models.subword_vectors import subword_slices
from spacy_mner.training_hooks.distill import distilled_vectors
from spacy_mner.training_hooks.vectors import build_vectors, make_static_vectors_callback

CWI_CFG = Path(__file__).resolve().parents[2] / "configs" / "cwi.cfg"
HASHTAG = "#Zorblaxian2026"  # invented: in no vocabulary


@pytest.fixture(scope="module")
def minilm():
    return distilled_vectors("m2v-minilm")


def cosine(a: numpy.ndarray, b: numpy.ndarray) -> float:
    return float(a @ b / numpy.linalg.norm(a) / numpy.linalg.norm(b))


def test_an_invented_hashtag_gets_a_vector_from_its_wordpieces(minilm):
    assert "zorblaxian2026" not in minilm.whole_words() and minilm.width == 256
    hashtag, misspelt, right, other = minilm(["zorblaxian2026", "obamaa", "obama", "paris"])
    assert numpy.linalg.norm(hashtag) == pytest.approx(16.0, rel=1e-4)  # sqrt(256): unit mean square
    # a misspelling shares wordpieces with its word, so it lands nearer it than another name does
    assert cosine(misspelt, right) > 0.5 > cosine(misspelt, other)
    # a word it cannot cut (no known piece) reads zeros, not noise
    assert not minilm([""]).any()


def test_remembered_words_read_the_same_vectors_and_memory_stays_bounded(minilm, monkeypatch):
    monkeypatch.setattr(subword_vectors, "CACHE_WORDS", 4)
    minilm._cache.clear()
    batches = [["obama", "#rio2016", "obama"], ["paris", "obama", "lol"], ["a", "b", "c", "d", "e", "paris"]]
    for words in batches:
        numpy.testing.assert_array_equal(minilm(words), minilm._vectors(words))
    assert list(minilm._cache) == ["obama", "#rio2016", "paris", "lol"]  # 6 distinct words at once: not kept
    numpy.testing.assert_array_equal(minilm(["dog", "obama"]), minilm._vectors(["dog", "obama"]))
    assert list(minilm._cache) == ["dog", "obama"]  # full: emptied first


@pytest.mark.parametrize("word, near, far", [("chicago", "boston", ["banana", "sofa", "yellow"]),
                                             ("dog", "puppy", ["tax", "guitar", "river"])])
def test_distilled_vectors_keep_the_encoders_meaning(minilm, word, near, far):
    """Single-piece words: the nearest of the candidates is the related one (fails on scrambled rows)."""
    w, *candidates = minilm([word, near, *far])
    sims = [cosine(w, c) for c in candidates]
    assert sims[0] > max(sims[1:]) + 0.1


def test_distilled_table_and_oov_words_in_cwi(minilm):
    built = build_vectors(["glove-6b-50d", "m2v-minilm"], max_rows=500)
    assert built.table.shape == (500, 306) and [o for o, _ in built.subword_slices] == [50]
    assert numpy.allclose(built.table[built.words.index("city"), 50:], minilm(["city"])[0], atol=1e-5)
    nlp = spacy.blank("en")
    nlp = make_static_vectors_callback(sources="glove-6b-50d, m2v-minilm", max_rows=500)(nlp)
    assert nlp.vocab.vectors.find(key=vector_key(HASHTAG)) < 0  # outside the table's rows
    slices = subword_slices(nlp.vocab)
    with_pieces = word_vectors([HASHTAG], nlp.vocab.vectors, slices)[0]
    without = word_vectors([HASHTAG], nlp.vocab.vectors)[0]
    # GloVe's columns: the fixed random vector either way; MiniLM's: the hashtag's wordpieces
    numpy.testing.assert_array_equal(with_pieces[:50], without[:50])
    numpy.testing.assert_allclose(with_pieces[50:], minilm(["zorblaxian2026"])[0], atol=1e-5)
    assert numpy.abs(with_pieces[50:] - without[50:]).max() > 0.1
    # subword_fallback = false: nothing recorded, unknown words read the random vector only
    nlp = make_static_vectors_callback(sources="glove-6b-50d, m2v-minilm", max_rows=500, subword_fallback=False)(spacy.blank("en"))
    assert subword_slices(nlp.vocab) == []


def test_the_pipeline_saves_and_loads_the_wordpiece_vectors(minilm, tmp_path, monkeypatch):
    nlp = make_static_vectors_callback(sources=["m2v-minilm"], max_rows=1000)(spacy.blank("en"))
    nlp.add_pipe("crf_ner", name="ner", config={"model": {"@architectures": "spacy_mner.CWI.v1", "vectors_width": 256,
                                                          "use_image": False, "dropout": 0.0}})
    ref = Doc(nlp.vocab, words=["Obama", "in", "Paris"], ents=["B-PER", "O", "B-LOC"])
    nlp.initialize(lambda: [Example(Doc(nlp.vocab, words=[t.text for t in ref]), ref)])
    words = ["Loving", HASHTAG, "in", "Chicagooo"]
    scorer = nlp.get_pipe("ner").model.get_ref("tag_scores")
    before = scorer.predict([Doc(nlp.vocab, words=words)])
    nlp.to_disk(tmp_path / "pipeline")
    # with the cache and the encoders gone, the loaded pipeline still has the wordpiece vectors
    monkeypatch.setenv("SPACY_MNER_CACHE", str(tmp_path / "no-cache"))
    monkeypatch.setenv("SPACY_MNER_MPNET", str(tmp_path / "no-mpnet"))
    loaded = spacy.load(tmp_path / "pipeline")
    (offset, source), = subword_slices(loaded.vocab)
    assert offset == 0 and source.width == 256
    numpy.testing.assert_allclose(source(["zorblaxian2026"]), minilm(["zorblaxian2026"]), atol=1e-6)
    after = loaded.get_pipe("ner").model.get_ref("tag_scores").predict([Doc(loaded.vocab, words=words)])
    numpy.testing.assert_allclose(before, after, atol=1e-5)
    assert not (tmp_path / "no-cache").exists()


def test_cwi_default_vectors_are_glove_md_and_mpnet_distilled():
    """configs/cwi.cfg's default table: GloVe 50d + en_core_web_md 300d + mpnet-distilled 256d, as wide as the
    model expects, the distilled columns last (filled from wordpieces for words outside the rows)."""
    config = load_config(CWI_CFG, overrides={"initialize.before_init.max_rows": 300}, interpolate=True)
    assert config["initialize"]["before_init"]["sources"] == ["glove-6b-50d", "en_core_web_md", "m2v-mpnet"]
    before_init = registry.resolve({"cb": config["initialize"]["before_init"]})["cb"]
    nlp = before_init(spacy.blank("en"))
    assert nlp.vocab.vectors.shape == (300, 606) == (300, config["components"]["ner"]["model"]["vectors_width"])
    (offset, mpnet), = subword_slices(nlp.vocab)
    assert offset == 350 and mpnet.width == 256
    assert numpy.abs(mpnet([HASHTAG])).sum() > 0  # a word in no vocabulary still gets distilled columns


def test_missing_encoders_are_clear_errors(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match="nowhere is not a transformer folder"):
        distilled_vectors(f"m2v:{tmp_path / 'nowhere'}", cache_dir=str(tmp_path))
    monkeypatch.setenv("SPACY_MNER_MPNET", str(tmp_path / "mpnet"))
    with pytest.raises(FileNotFoundError, match="install_mpnet.py"):
        distilled_vectors("m2v-mpnet", cache_dir=str(tmp_path))


def test_distilling_without_model2vec_names_the_extra(tmp_path, monkeypatch):
    (tmp_path / "encoder").mkdir()
    (tmp_path / "encoder" / "config.json").write_text("{}")
    monkeypatch.setitem(sys.modules, "model2vec.distill", None)  # as on an install without [distill]
    with pytest.raises(ImportError, match=r'pip install "spacy-mner\[distill\]"'):
        distilled_vectors(f"m2v:{tmp_path / 'encoder'}", cache_dir=str(tmp_path / "cache"))


def tiny_encoder(folder: Path) -> Path:
    """A 1-layer BERT with a 40-piece WordPiece vocabulary, saved as a transformer folder."""
    import torch
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers
    from transformers import BertConfig, BertModel, BertTokenizerFast

    pieces = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "zor", "bla", "##bla", "##x", "##ian", "par", "##is",
              "obama", "##a", "chicago", "##oo", "the", "in", "#", "@", *[chr(c) for c in range(ord("a"), ord("u"))]]
    tokenizer = Tokenizer(models.WordPiece({p: i for i, p in enumerate(pieces)}, unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    BertTokenizerFast(tokenizer_object=tokenizer, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
                      sep_token="[SEP]", mask_token="[MASK]").save_pretrained(folder)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(pieces), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=32)
    BertModel(config).save_pretrained(folder)
    return folder


def test_distilling_a_local_transformer_folder_once(tmp_path):
    from model2vec.distill import distill

    name = f"m2v:{tiny_encoder(tmp_path / 'tiny')}"
    vectors = distilled_vectors(name, dims=8, cache_dir=str(tmp_path / "cache"))
    assert vectors.width == 8 and vectors.pieces.shape[0] > 30
    # the cached rows are Model2Vec's own, weights folded in (PCA's Fortran-ordered output saved in C order)
    model = distill(str(tmp_path / "tiny"), pca_dims=8, quantize_to="float32", device="cpu")
    numpy.testing.assert_allclose(vectors.pieces, model.embedding * model.weights[:, None], rtol=1e-4, atol=1e-5)
    (cached,) = (tmp_path / "cache" / "m2v").iterdir()  # one folder, no partial left behind
    assert cached.name.startswith("tiny-") and cached.name.endswith("-d8")
    first = vectors(["zorblax", "pariss"])
    assert numpy.linalg.norm(first, axis=1) == pytest.approx([8 ** 0.5] * 2, rel=1e-4)
    # a word's vector points where Model2Vec's own encoding of it does (the mean of its pieces' rows; words
    # with an unknown piece differ on purpose: we skip [UNK], this Model2Vec model averages its row in)
    words = ["zorblax", "obamaa", "chicagooo", "in", "#zorbla"]
    expected = model.encode(words)
    expected = expected / numpy.linalg.norm(expected, axis=1, keepdims=True) * 8 ** 0.5
    numpy.testing.assert_allclose(vectors(words), expected, rtol=1e-4, atol=1e-5)
    # a second call reads the cache: the same vectors, and the encoder is no longer needed
    for path in (tmp_path / "tiny").iterdir():
        path.unlink()
    numpy.testing.assert_array_equal(distilled_vectors(name, dims=8, cache_dir=str(tmp_path / "cache"))(["zorblax", "pariss"]), first)
