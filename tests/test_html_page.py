"""`render_html`: the page's content, and what headless Chromium draws of it."""
import base64
import io
import re
import shutil
import subprocess

import numpy
import pytest
import spacy
from PIL import Image
from skimage import data

from spacy_mner.html_page import label_colour, render_html
from spacy_mner.pipeline.confidence import set_entity_scores

LABELS = ("PER", "LOC", "ORG", "OTHER")


@pytest.fixture
def docs(tmp_path):
    """Two tagged posts: the cat photo with labels and a caption, and one without an image."""
    nlp = spacy.blank("en")
    cat_path = tmp_path / "chelsea.jpg"
    Image.fromarray(data.chelsea()).save(cat_path)
    cat = nlp.make_doc("Chelsea naps in London while NASA <b>waits</b> & watches the World Cup")
    spans = {"Chelsea": "PER", "London": "LOC", "NASA": "ORG", "World Cup": "OTHER"}
    cat.ents = [cat.char_span(cat.text.index(words), cat.text.index(words) + len(words), label)
                for words, label in spans.items()]
    set_entity_scores(cat, "ents", cat.ents, [0.93, 0.5, 0.071, 0.999])
    cat._.image = str(cat_path)
    cat._.image_labels = [("tabby", 0.41), ("tiger cat", 0.33), ("Egyptian cat", 0.2), ("lynx", 0.03),
                          ("window screen", 0.01), ("sixth", 0.001)]
    cat._.image_caption = "a cat <lying> on a bed"
    plain = nlp.make_doc("lol no way")
    plain._.image_labels = []
    return [cat, plain]


def test_page_content(docs):
    html = render_html(docs, image_labels_top=5, titles=["post <1>", "post 2"])
    assert html.startswith("<!DOCTYPE html>") and html.count('<div class="post">') == 2
    # text is escaped: the post's markup, the caption and the titles show as text
    assert "&lt;b&gt;waits&lt;/b&gt;" in html and "<b>waits" not in html and "&amp; watches" in html
    assert "a cat &lt;lying&gt; on a bed" in html and "post &lt;1&gt;" in html
    for label, score in zip(LABELS, ("0.93", "0.50", "0.07", "1.00")):  # each entity's label and score
        assert f"background: {label_colour(label)}" in html and f">{label} {score}</span>" in html
    # the image is an embedded JPEG thumbnail of at most 256 px; the other post gets the grey box
    match = re.search(r'src="data:image/jpeg;base64,([^"]+)"', html)
    thumbnail = Image.open(io.BytesIO(base64.b64decode(match.group(1))))
    assert thumbnail.size == (256, 170)  # chelsea is 451 x 300
    assert html.count("data:image/") == 1 and 'class="no-image">no image<' in html
    # top labels only, with probabilities
    assert "tabby <b>0.41</b>" in html and "window screen" in html and "sixth" not in html
    assert "image labels: none" in html
    assert "http://" not in html and "https://" not in html  # self-contained


def test_unreadable_image_gets_a_box_and_a_warning(tmp_path):
    doc = spacy.blank("en").make_doc("broken")
    (tmp_path / "broken.jpg").write_bytes(b"not a jpeg")
    doc._.image = str(tmp_path / "broken.jpg")
    with pytest.warns(UserWarning, match="broken.jpg cannot be used"):
        html = render_html([doc])
    assert "image cannot be read" in html and "image labels: not computed" in html


def test_chromium_draws_the_page(docs, tmp_path, require):
    chromium = shutil.which("chromium")
    require(chromium is not None, "chromium is not installed (make setup installs it)")
    page = tmp_path / "page.html"
    page.write_text(render_html(docs), encoding="utf8")
    shot = tmp_path / "shot.png"
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}", "--window-size=1200,900",
                    page.as_uri()], capture_output=True, timeout=60, check=True)
    image = Image.open(shot).convert("RGB")
    assert image.size == (1200, 900)
    pixels = numpy.asarray(image).reshape(-1, 3)
    colours = {tuple(p) for p in pixels}
    assert len(colours) > 2000  # text, entity boxes and a photo, not a blank page
    for label in LABELS:
        colour = label_colour(label)
        rgb = numpy.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)])
        assert (numpy.abs(pixels.astype(int) - rgb).max(axis=1) <= 2).sum() > 500, f"no {label} box drawn"
    # the photo's region (left column, below the heading) is not the page's white
    photo = numpy.asarray(image)[130:290, 30:280]
    assert photo.std() > 20


def test_any_label_gets_a_stable_light_colour():
    labels = ["PER", "LOC", "ORG", "OTHER", "PRODUCT", "EVENT", "a label with spaces", "\u00e9t\u00e9"]
    colours = [label_colour(label) for label in labels]
    assert colours == [label_colour(label) for label in labels]  # the same on every call and page
    assert len(set(colours)) == len(labels)
    for colour in colours:
        assert re.fullmatch(r"#[0-9a-f]{6}", colour)
        assert sum(int(colour[i:i + 2], 16) for i in (1, 3, 5)) > 3 * 150  # light enough for black text


def test_entities_without_scores_show_their_label_only():
    doc = spacy.blank("en").make_doc("Ana in Paris")
    doc.ents = [doc.char_span(0, 3, "PER")]
    assert ">PER</span>" in render_html([doc])


def test_a_corpus_of_six_types_of_its_own_is_drawn_with_six_colours():
    from pathlib import Path

    from spacy.vocab import Vocab

    from spacy_mner.corpus.docbin import read_corpus

    corpus = Path(__file__).resolve().parent.parent / "corpus" / "six_types" / "train.txt"
    docs = read_corpus(corpus, Vocab())
    labels = sorted({ent.label_ for doc in docs for ent in doc.ents})
    assert labels == ["corporation", "creative-work", "group", "location", "person", "product"]
    page = render_html(docs)
    for label in labels:
        assert f">{label}</span>" in page and label_colour(label) in page
