"""`python -m spacy_mner label-images`: labels a DocBin's posts once, with clear errors."""
import pytest
import spacy
import torch
from PIL import Image
from skimage import data
from spacy.tokens import DocBin

from spacy_mner.__main__ import main

CATS = {"tabby", "tiger cat", "Egyptian cat", "Persian cat", "Siamese cat"}


def write_posts(path, images):
    """A DocBin of posts "post 0", "post 1", ... with the given image paths (None: no image)."""
    docs = []
    for i, image in enumerate(images):
        doc = spacy.blank("en").make_doc(f"post {i}")
        doc._.image_id = f"id{i}"
        doc._.image = image
        docs.append(doc)
    DocBin(store_user_data=True, docs=docs).to_disk(path)


def read_posts(path):
    return list(DocBin(store_user_data=True).from_disk(path).get_docs(spacy.blank("en").vocab))


@pytest.fixture(scope="module")
def labelled(tmp_path_factory):
    """label-images run once on: the cat, no image, a missing file, the coffee (which has stale labels)."""
    folder = tmp_path_factory.mktemp("cli")
    Image.fromarray(data.chelsea()).save(folder / "cat.jpg")
    Image.fromarray(data.coffee()).save(folder / "coffee.jpg")
    images = [str(folder / "cat.jpg"), None, str(folder / "missing.jpg"), str(folder / "coffee.jpg")]
    write_posts(folder / "in.spacy", images)
    stale = read_posts(folder / "in.spacy")
    stale[3]._.image_labels = [("stale", 1.0)]
    DocBin(store_user_data=True, docs=stale).to_disk(folder / "in.spacy")
    output = folder / "out" / "labelled.spacy"
    with pytest.warns(UserWarning, match="post image id id2: .*missing.jpg cannot be used"):
        code = main(["label-images", str(folder / "in.spacy"), str(output), "--top-k", "3", "--batch-size", "2"])
    return code, output


def test_labels_posts_with_images(labelled):
    code, output = labelled
    assert code == 0
    cat, none, missing, coffee = read_posts(output)
    assert [doc.text for doc in (cat, none, missing, coffee)] == ["post 0", "post 1", "post 2", "post 3"]
    assert len(cat._.image_labels) == 3 and CATS & {name for name, _ in cat._.image_labels}
    assert coffee._.image_labels[0][0] == "espresso"  # stale labels replaced
    assert none._.image_labels == () and missing._.image_labels == ()  # DocBin gives lists back as tuples
    assert cat._.image_id == "id0" and cat._.image.endswith("cat.jpg")  # other image data kept


def test_reports_counts(tmp_path, capsys):
    image = tmp_path / "red.png"
    Image.new("RGB", (64, 64), (255, 0, 0)).save(image)
    write_posts(tmp_path / "in.spacy", [str(image), None, None])
    assert main(["label-images", str(tmp_path / "in.spacy"), str(tmp_path / "out.spacy")]) == 0
    assert f"1 posts labelled, 2 without an image, 0 with an unreadable image: {tmp_path / 'out.spacy'}" in (
        capsys.readouterr().out
    )


def test_missing_input(tmp_path, capsys):
    assert main(["label-images", str(tmp_path / "nope.spacy"), str(tmp_path / "out.spacy")]) == 1
    assert capsys.readouterr().err.strip() == f"error: {tmp_path / 'nope.spacy'}: no such file"


def test_input_that_is_not_a_docbin(tmp_path, capsys):
    (tmp_path / "text.spacy").write_text("hello")
    assert main(["label-images", str(tmp_path / "text.spacy"), str(tmp_path / "out.spacy")]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {tmp_path / 'text.spacy'} is not a spaCy DocBin") and err.count("\n") == 1
    assert not (tmp_path / "out.spacy").exists()


def test_unknown_classifier_lists_the_choices(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit:
        main(["label-images", "in.spacy", "out.spacy", "--classifier", "resnet"])
    assert exit.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'resnet'" in err and "efficientnet_lite0" in err and "inception_v3" in err


def test_inception_without_weights(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    write_posts(tmp_path / "in.spacy", [None])
    assert main(["label-images", str(tmp_path / "in.spacy"), str(tmp_path / "out.spacy"),
                 "--classifier", "inception_v3"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: InceptionV3 needs its ImageNet weights file") and "cannot be downloaded" in err


def test_gpu_that_is_not_there(tmp_path, capsys):
    write_posts(tmp_path / "in.spacy", [None])
    if spacy.prefer_gpu():
        pytest.skip("this machine has a GPU")
    assert main(["label-images", str(tmp_path / "in.spacy"), str(tmp_path / "out.spacy"), "--gpu-id", "0"]) == 1
    assert capsys.readouterr().err.startswith("error: --gpu-id 0: Cannot use GPU")
