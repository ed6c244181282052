"""The `image_labels` component and the registered classifiers behind it."""
import warnings
from typing import List

import numpy
import pytest
import spacy
import torch
from PIL import Image
from skimage import data
from spacy.util import registry
from torchvision.models import inception_v3 as torchvision_inception_v3

from spacy_mner.image_labels import classifiers
from spacy_mner.image_labels.component import ImageLabeler
from spacy_mner.image_labels.images import ImageWarning

CATS = {"tabby", "tiger cat", "Egyptian cat", "Persian cat", "Siamese cat"}
WEIGHTS_FILE = "inception_v3_google-0cc3c7bd.pth"  # the file torchvision downloads to its hub cache


class FakeClassifier:
    """An ImageClassifier that remembers its calls: probabilities favour class i for an image i px wide."""

    labels = [f"class{i}" for i in range(10)]

    def __init__(self) -> None:
        self.batches: List[int] = []
        self.devices: List[str] = []

    def predict(self, images):
        self.batches.append(len(images))
        probs = numpy.full((len(images), 10), 0.5 / 9, dtype="float32")
        for row, image in enumerate(images):
            probs[row, image.width % 10] = 0.5
        return probs

    def to(self, device):
        self.devices.append(device)
        return self


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("photos")
    Image.fromarray(data.chelsea()).save(folder / "cat.jpg")
    Image.fromarray(data.coffee()).save(folder / "coffee.png")
    return {"cat": str(folder / "cat.jpg"), "coffee": str(folder / "coffee.png"), "missing": str(folder / "no.jpg")}


@pytest.fixture(scope="module")
def nlp():
    """A pipeline with the default component (EfficientNet-Lite0), built once for the module."""
    nlp = spacy.blank("en")
    nlp.add_pipe("image_labels")
    return nlp


@pytest.fixture(scope="module")
def inception_weights(tmp_path_factory):
    """A torch hub dir holding InceptionV3 weights (random ones) under torchvision's file name."""
    hub = tmp_path_factory.mktemp("hub")
    (hub / "checkpoints").mkdir()
    torch.manual_seed(0)  # module-scoped: set up before the per-test seed
    model = torchvision_inception_v3(weights=None, aux_logits=True, init_weights=False)
    torch.save(model.state_dict(), hub / "checkpoints" / WEIGHTS_FILE)
    return hub / "checkpoints" / WEIGHTS_FILE


def make_docs(nlp, images):
    docs = []
    for i, image in enumerate(images):
        doc = nlp.make_doc(f"post {i}")
        doc._.image = image
        docs.append(doc)
    return docs


def fake_labeler(nlp, **config):
    return ImageLabeler(nlp.vocab, FakeClassifier(), **config)


def test_registered_classifiers():
    assert registry.misc.get("spacy_mner.efficientnet_lite0.v1") is classifiers.efficientnet_lite0
    assert registry.misc.get("spacy_mner.inception_v3.v1") is classifiers.inception_v3


def test_add_pipe_builds_no_network():
    component = spacy.blank("en").add_pipe("image_labels", config={"top_k": 3, "batch_size": 8})
    assert isinstance(component.classifier, classifiers.EfficientNetLite0)
    assert component.classifier._model is None
    assert (component.top_k, component.batch_size) == (3, 8)


@pytest.mark.parametrize("setting", ["top_k", "batch_size"])
def test_sizes_must_be_positive(setting):
    with pytest.raises(ValueError, match="must be >= 1"):
        spacy.blank("en").add_pipe("image_labels", config={setting: 0})


def test_efficientnet_names_photos(nlp, photos):
    cat, coffee, none = nlp.pipe(make_docs(nlp, [photos["cat"], photos["coffee"], None]))
    for doc in (cat, coffee):
        labels = doc._.image_labels
        assert len(labels) == 5
        assert all(type(name) is str and type(prob) is float for name, prob in labels)
        probs = [prob for _, prob in labels]
        assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1 + 1e-6
    assert CATS & {name for name, _ in cat._.image_labels}
    assert coffee._.image_labels[0][0] == "espresso"
    assert none._.image_labels == []


def test_classifier_probabilities(nlp, photos):
    classifier = nlp.get_pipe("image_labels").classifier
    assert len(classifier.labels) == 1000 and classifier.labels[967] == "espresso"
    probs = classifier.predict([Image.open(photos["cat"]).convert("RGB")])
    assert probs.shape == (1, 1000)
    assert probs.sum() == pytest.approx(1, abs=1e-5)
    assert classifier.predict([]).shape == (0, 1000)


def test_pipe_matches_call(nlp, photos):
    images = [photos["cat"], None, photos["coffee"], photos["missing"], photos["cat"]]
    with pytest.warns(ImageWarning, match="doc 3: image .*no.jpg cannot be used"):
        piped = list(nlp.pipe(make_docs(nlp, images), batch_size=2))
    labeler = nlp.get_pipe("image_labels")
    with pytest.warns(ImageWarning, match="'post 3'"):  # outside a stream, a post is named by its text
        called = [labeler(doc) for doc in make_docs(nlp, images)]
    for one, other in zip(piped, called):
        assert [name for name, _ in one._.image_labels] == [name for name, _ in other._.image_labels]
        assert [p for _, p in one._.image_labels] == pytest.approx([p for _, p in other._.image_labels], abs=1e-5)
    assert piped[1]._.image_labels == [] and piped[3]._.image_labels == []


def test_pipe_batches_images_and_keeps_order(nlp):
    labeler = fake_labeler(nlp, batch_size=3)
    images = [Image.new("RGB", (width, 20)) for width in range(30, 37)]
    docs = list(labeler.pipe(make_docs(nlp, images)))
    assert labeler.classifier.batches == [3, 3, 1]
    assert [doc._.image_labels[0] for doc in docs] == [(f"class{w % 10}", 0.5) for w in range(30, 37)]
    assert labeler.classifier.devices == ["cpu"]  # placed once, on spaCy's (CPU) device


def test_caller_batch_size_only_lowers_the_image_batch(nlp):
    labeler = fake_labeler(nlp, batch_size=4)
    list(labeler.pipe(make_docs(nlp, [Image.new("RGB", (9, 9))] * 6), batch_size=1000))
    list(labeler.pipe(make_docs(nlp, [Image.new("RGB", (9, 9))] * 3), batch_size=2))
    assert labeler.classifier.batches == [4, 2, 2, 1]


def test_top_k(nlp):
    labeler = fake_labeler(nlp, top_k=3)
    labels = labeler(make_docs(nlp, [Image.new("RGB", (12, 5))])[0])._.image_labels
    assert [name for name, _ in labels] == ["class2", "class0", "class1"]  # ties keep class order


def test_labelled_docs_are_not_classified_again(nlp, photos):
    labeler = fake_labeler(nlp)
    docs = make_docs(nlp, [Image.new("RGB", (9, 9)), photos["cat"], photos["missing"]])
    for doc in docs:
        doc._.image_labels = [("kept", 1.0)]
    docs[2]._.image_labels = []  # looked at before: no labels, and no new warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        docs = list(labeler.pipe(docs))
    assert labeler.classifier.batches == []
    assert [doc._.image_labels for doc in docs] == [[("kept", 1.0)], [("kept", 1.0)], []]


def test_unreadable_image_is_named_by_image_id(nlp, photos):
    doc = make_docs(nlp, [photos["missing"]])[0]
    doc._.image_id = "1234"
    with pytest.warns(ImageWarning, match="post image id 1234: .*no such file"):
        fake_labeler(nlp)(doc)
    assert doc._.image_labels == []


def test_error_handler_decides_about_failing_batches(nlp):
    labeler = fake_labeler(nlp, batch_size=1)
    failed = []
    labeler.set_error_handler(lambda name, component, docs, error: failed.append((name, len(docs), type(error))))
    docs = make_docs(nlp, [Image.new("RGB", (9, 9)), 17])  # 17: not an image, a programming error
    assert len(list(labeler.pipe(docs))) == 1
    assert failed == [("image_labels", 1, TypeError)]


def test_save_and_load(nlp, photos, tmp_path):
    nlp.to_disk(tmp_path / "pipeline")
    assert not (tmp_path / "pipeline" / "image_labels").exists()  # nothing heavy, nothing at all
    loaded = spacy.load(tmp_path / "pipeline")
    assert loaded.pipe_names == ["image_labels"]
    assert loaded.config["components"]["image_labels"] == nlp.config["components"]["image_labels"]
    again = loaded(make_docs(loaded, [photos["cat"]])[0])._.image_labels
    first = nlp(make_docs(nlp, [photos["cat"]])[0])._.image_labels
    assert [name for name, _ in again] == [name for name, _ in first]
    from_bytes = spacy.blank("en")
    from_bytes.add_pipe("image_labels")
    assert from_bytes.from_bytes(nlp.to_bytes()).pipe_names == ["image_labels"]


def test_inception_without_weights_says_which_file(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    expected = tmp_path / "checkpoints" / WEIGHTS_FILE
    with pytest.raises(FileNotFoundError, match="cannot be downloaded") as error:
        spacy.blank("en").add_pipe("image_labels", config={"classifier": {"@misc": "spacy_mner.inception_v3.v1"}})
    assert str(expected) in str(error.value)
    assert list(tmp_path.iterdir()) == []  # nothing was fetched


def test_inception_with_weights_file(inception_weights, photos, monkeypatch):
    classifier = classifiers.inception_v3(weights=str(inception_weights))
    images = [Image.open(photos[name]).convert("RGB") for name in ("cat", "coffee")]
    probs = classifier.predict(images)
    assert probs.shape == (2, 1000) and len(classifier.labels) == 1000
    assert probs.sum(axis=1) == pytest.approx([1, 1], abs=1e-5)
    # without `weights`, the file is found in torch's hub cache
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(inception_weights.parent.parent))
    component = spacy.blank("en").add_pipe(
        "image_labels", config={"classifier": {"@misc": "spacy_mner.inception_v3.v1"}, "top_k": 2}
    )
    assert component.classifier.weights == inception_weights
    doc = component(make_docs(spacy.blank("en"), [photos["cat"]])[0])
    assert len(doc._.image_labels) == 2


def test_inception_with_wrong_weights_file(tmp_path, photos):
    wrong = tmp_path / "wrong.pth"
    torch.save({"fc.weight": torch.zeros(3, 3)}, wrong)
    classifier = classifiers.inception_v3(weights=str(wrong))
    with pytest.raises(ValueError, match="wrong.pth does not hold the weights of this network"):
        classifier.predict([Image.open(photos["cat"]).convert("RGB")])
