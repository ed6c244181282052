"""The served API: every endpoint, its OpenAPI description, and each limit answered with a JSON error."""
import base64
import socket
import struct
import time
import zlib

import httpx
import pytest

from servers import CATS, LIMITS, post_json


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def check_entities(result: dict) -> None:
    for ent in result["entities"]:
        assert result["text"][ent["start"]:ent["end"]] == ent["text"]
        assert ent["label"] in {"PER", "LOC", "ORG", "OTHER"}
        assert isinstance(ent["score"], float) and 0.0 <= ent["score"] <= 1.0  # crf_ner gives confidences


def test_health_ready_info_and_openapi(server):
    assert httpx.get(f"{server.url}/healthz").json() == {"status": "alive"}
    assert httpx.get(f"{server.url}/readyz").json() == {"status": "ready"}
    info = httpx.get(f"{server.url}/v1/info").json()
    assert info["components"] == ["image_labels", "ner"]
    assert info["labels"] == ["LOC", "ORG", "OTHER", "PER"]
    assert info["image_classifier"] == "spacy_mner.efficientnet_lite0.v1"
    assert info["name"] == "en_pipeline" and info["version"]
    assert info["limits"]["max_batch_posts"] == LIMITS["--max-batch-posts"]
    spec = httpx.get(f"{server.url}/openapi.json").json()
    assert {"/v1/ner", "/v1/ner/batch", "/v1/ner/upload", "/healthz", "/readyz", "/v1/info"} <= set(spec["paths"])
    post = spec["components"]["schemas"]["Post"]["properties"]
    assert post["text"]["maxLength"] == LIMITS["--max-text-chars"]
    assert "code points" in spec["components"]["schemas"]["Entity"]["properties"]["start"]["description"]
    assert "413" in spec["paths"]["/v1/ner"]["post"]["responses"]


def test_one_post_with_and_without_an_image(server, cat_jpeg):
    text = "Obama visits Paris today \U0001F600 with @NASA"
    plain = post_json(f"{server.url}/v1/ner", {"text": text}).json()
    assert plain["text"] == text and plain["image_labels"] == [] and plain["time_ms"] > 0
    assert {(e["text"], e["label"]) for e in plain["entities"]} >= {("Obama", "PER"), ("Paris", "LOC")}
    check_entities(plain)
    # an emoji before an entity: offsets are code points, one per emoji
    late = post_json(f"{server.url}/v1/ner", {"text": "\U0001F600 Obama visits Paris"}).json()
    obama = next(e for e in late["entities"] if e["text"] == "Obama")
    assert (obama["start"], obama["end"]) == (2, 7)

    with_image = post_json(f"{server.url}/v1/ner", {"text": text, "image": b64(cat_jpeg), "caption": "a cat"}).json()
    labels = with_image["image_labels"]
    assert len(labels) == 5 and CATS & {label["label"] for label in labels}
    assert labels == sorted(labels, key=lambda label: -label["score"])
    # a data: URL works as well as bare base64
    data_url = post_json(f"{server.url}/v1/ner", {"text": text, "image": "data:image/jpeg;base64," + b64(cat_jpeg)})
    assert data_url.json()["image_labels"] == labels


def test_upload_form(server, cat_jpeg):
    response = httpx.post(f"{server.url}/v1/ner/upload", data={"text": "Ana visits Florida"},
                          files={"image": ("cat.jpg", cat_jpeg, "image/jpeg")}, timeout=30)
    assert response.status_code == 200, response.text
    body = response.json()
    assert CATS & {label["label"] for label in body["image_labels"]}
    check_entities(body)
    # no file: a post without an image
    no_file = httpx.post(f"{server.url}/v1/ner/upload", data={"text": "Ana visits Florida"}, timeout=30)
    assert no_file.status_code == 200 and no_file.json()["image_labels"] == []


def test_batch_answers_each_post_in_order(server, cat_jpeg):
    posts = [{"text": "Obama visits Paris"}, {"text": "Ana at the World Cup", "image": b64(cat_jpeg)},
             {"text": "broken", "image": b64(b"not an image at all")}, {"text": "bad", "image": "%%%"},
             {"text": "@NASA launches from Florida !"}]
    body = post_json(f"{server.url}/v1/ner/batch", posts).json()
    results = body["results"]
    assert [r.get("text") for r in results] == ["Obama visits Paris", "Ana at the World Cup", None, None,
                                                 "@NASA launches from Florida !"]
    assert results[2]["status"] == 415 and "cannot identify image" in results[2]["error"]
    assert results[3]["status"] == 422 and "base64" in results[3]["error"]
    assert CATS & {label["label"] for label in results[1]["image_labels"]}
    for result in (results[0], results[1], results[4]):
        check_entities(result)
    # the same posts one by one give the same entities
    single = post_json(f"{server.url}/v1/ner", posts[0]).json()
    assert single["entities"] == results[0]["entities"]


def png_bomb(side: int) -> bytes:
    """A valid PNG of side x side black pixels: a few KB that decode to side^2 pixels."""
    row = b"\x00" + bytes(side // 8)  # filter byte + 1-bit pixels
    raw = zlib.compress(row * side, 9)

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


@pytest.mark.parametrize("kind", ["not an image", "truncated", "over the server's pixel cap", "too many pixels", "bomb"])
def test_bad_images_get_a_clear_error(server, cat_jpeg, kind):
    image = {"not an image": b"GIF? no, plain text", "truncated": cat_jpeg[: len(cat_jpeg) // 3],
             "over the server's pixel cap": png_bomb(4_000),  # 16 M pixels: fine for predict, not for a request
             "too many pixels": png_bomb(8_000), "bomb": png_bomb(20_000)}[kind]
    assert len(image) < 100_000
    response = post_json(f"{server.url}/v1/ner", {"text": "Obama visits Paris", "image": b64(image)})
    expected = {"not an image": (415, "cannot identify image"), "truncated": (422, "truncated"),
                "over the server's pixel cap": (422, "4000x4000 pixels, the limit is 12000000"),
                "too many pixels": (422, "too large to decode: 8000x8000 pixels"),
                "bomb": (422, "decompression bomb")}[kind]
    assert response.status_code == expected[0], response.text
    assert expected[1] in response.json()["detail"]
    upload = httpx.post(f"{server.url}/v1/ner/upload", data={"text": "Obama"}, files={"image": ("x.png", image)})
    assert upload.status_code == expected[0] and expected[1] in upload.json()["detail"]


def test_limits_on_text_batch_body_and_form(server):
    cap = LIMITS["--max-text-chars"]
    assert post_json(f"{server.url}/v1/ner", {"text": "a" * cap}).status_code == 200
    too_long = post_json(f"{server.url}/v1/ner", {"text": "a" * (cap + 1)})
    assert too_long.status_code == 422
    assert too_long.json()["detail"][0]["loc"] == ["body", "text"] and str(cap) in too_long.json()["detail"][0]["msg"]
    assert "input" not in too_long.json()["detail"][0]  # the text is not echoed back
    assert post_json(f"{server.url}/v1/ner", {"text": ""}).status_code == 422
    assert post_json(f"{server.url}/v1/ner", {"text": "x", "url": "http://example.com/a.jpg"}).status_code == 422

    batch = LIMITS["--max-batch-posts"]
    assert post_json(f"{server.url}/v1/ner/batch", [{"text": "Paris"}] * batch).status_code == 200
    too_many = post_json(f"{server.url}/v1/ner/batch", [{"text": "Paris"}] * (batch + 1))
    assert too_many.status_code == 422 and str(batch) in too_many.json()["detail"][0]["msg"]
    assert post_json(f"{server.url}/v1/ner/batch", []).status_code == 422

    big = LIMITS["--max-body-bytes"]
    oversized = post_json(f"{server.url}/v1/ner", {"text": "Paris", "image": "A" * big})
    assert oversized.status_code == 413 and str(big) in oversized.json()["detail"]
    upload = httpx.post(f"{server.url}/v1/ner/upload", data={"text": "Paris"}, files={"image": ("x.jpg", bytes(big))})
    assert upload.status_code == 413 and str(big) in upload.json()["detail"]

    fields = {f"field{i}": "x" for i in range(5000)}
    form = httpx.post(f"{server.url}/v1/ner/upload", data={"text": "Paris", **fields},
                      files={"image": ("x.jpg", b"")})
    assert form.status_code == 400 and "Too many fields" in form.json()["detail"]
    # the server still answers
    assert post_json(f"{server.url}/v1/ner", {"text": "Obama"}).status_code == 200


@pytest.mark.parametrize("body", ['{"text": "Paris"', "[1, 2", "null", '{"text": 5}', "\xff\xfe"])
def test_malformed_json(server, body):
    response = httpx.post(f"{server.url}/v1/ner", content=body.encode("latin-1"),
                          headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] in {"json_invalid", "model_attributes_type", "string_type"}


def test_never_fetches_a_url(server):
    """An image given as a URL is just bad base64: no connection is attempted (a listener here would see one)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.settimeout(0.5)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/cat.jpg"
        response = post_json(f"{server.url}/v1/ner", {"text": "Paris", "image": url})
        assert response.status_code == 422 and "base64" in response.json()["detail"]
        with pytest.raises(socket.timeout):
            listener.accept()


def test_request_time_limit(launched):
    """504 when tagging takes longer than --request-timeout; the server answers the next request."""
    slow = launched["slow"].ready()
    words = " ".join(["Obama visits Paris with Ana"] * 300)
    response = post_json(f"{slow.url}/v1/ner", {"text": words}, timeout=60)
    assert response.status_code == 504 and "0.05 s" in response.json()["detail"]
    for _ in range(120):  # bounded: until the model thread has finished the long post
        if post_json(f"{slow.url}/v1/ner", {"text": "Obama"}).status_code == 200:
            break
        time.sleep(0.5)
    else:
        pytest.fail("the server did not recover after a 504")
