"""`create_app(nlp, limits)`: the FastAPI application that serves a loaded pipeline.

Endpoints: `POST /v1/ner` (one post, JSON, image base64), `POST /v1/ner/batch` (a list of those),
`POST /v1/ner/upload` (multipart: text + image file), `GET /healthz` (the process is alive), `GET /readyz`
(the pipeline is warmed up), `GET /v1/info`, `GET /` (the demo page), `GET /openapi.json`. Every error is
JSON `{"detail": ...}` saying what was wrong. The warm-up (one post with an image, so the image classifier's
weights are loaded too) runs in the model thread once the server listens; model requests get 503 until then.
"""
import asyncio
import base64
import binascii
import io
import json
import logging
import time
from contextlib import asynccontextmanager
from importlib import resources
from typing import List, Optional, Union

import spacy
from fastapi import FastAPI, File, Form, HTTPException, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from PIL import Image
from spacy.language import Language
from starlette.middleware import Middleware

from ..html_page import label_colour
from .batcher import MicroBatcher
from .admission import AdmissionMiddleware, Admissions
from .limits import Limits
from .schemas import BatchResponse, Error, Info, NERResponse, post_model
from .tagging import Post, PostError, tag

logger = logging.getLogger("uvicorn.error")
ERRORS = {status: {"model": Error} for status in (400, 408, 413, 415, 422, 503, 504)}


def create_app(nlp: Language, limits: Limits = Limits()) -> FastAPI:
    """The application serving `nlp` within `limits` (one model thread; see the package doc)."""
    batcher: MicroBatcher[Post, Union[dict, PostError]] = MicroBatcher(
        lambda posts: tag(nlp, posts, limits.max_image_pixels), max_batch_size=limits.batch_size, max_wait=limits.max_wait)
    admissions = Admissions()
    ready = asyncio.Event()
    PostIn, BatchIn = post_model(limits)

    warm_up_failure: List[str] = []

    async def warm_up() -> None:
        image = io.BytesIO()
        Image.new("RGB", (64, 64), (128, 128, 128)).save(image, format="PNG")
        started = time.perf_counter()
        try:
            await batcher.run_once([Post("Warm-up post from Paris", image.getvalue())])
        except Exception as error:  # noqa: BLE001: /readyz reports it, and the log has the traceback
            warm_up_failure.append(f"the warm-up post failed: {type(error).__name__}: {error}")
            logger.exception("the warm-up post failed: the server stays unready")
            return
        logger.info("pipeline warmed up in %.1f s: ready", time.perf_counter() - started)
        ready.set()

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        batcher.start()
        warming = asyncio.create_task(warm_up())
        yield
        await warming
        await batcher.stop()
        logger.info("model requests: %d admitted, %d answered, %d refused at the in-flight cap",
                    admissions.admitted, admissions.answered, admissions.refused)

    app = FastAPI(
        title="spacy-mner", version=nlp.meta.get("version", "0.0.0"), lifespan=lifespan,
        description="Named entities in social media posts, read with the post's image. Entity offsets count "
                    "Unicode code points (Python str indices).",
        form_limits={"max_fields": limits.max_form_fields, "max_files": 1, "max_part_size": 4 * limits.max_text_chars},
        docs_url=None, redoc_url=None,  # their pages load scripts from a CDN; /openapi.json is the description
        middleware=[Middleware(AdmissionMiddleware, max_in_flight=limits.max_in_flight,
                               read_timeout=limits.read_timeout, max_body_bytes=limits.max_body_bytes,
                               admissions=admissions)],
    )

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, error: RequestValidationError) -> JSONResponse:
        # the inputs are left out: echoing a 10,000-character text back helps no one
        problems = [{key: problem[key] for key in ("loc", "msg", "type") if key in problem} for problem in error.errors()]
        return JSONResponse({"detail": problems}, status_code=422)

    async def run(posts: List[Post]) -> List[Union[dict, PostError]]:
        if not ready.is_set():
            raise HTTPException(503, "the pipeline is warming up", headers={"Retry-After": "1"})
        try:
            return await asyncio.wait_for(batcher.submit(posts), limits.request_timeout)
        except asyncio.TimeoutError:
            raise HTTPException(504, f"the post was not tagged within the limit of {limits.request_timeout:g} s") \
                from None

    # The results are built from the pipeline's own values in the model thread, so they are returned as JSON
    # directly: the response models describe them in the OpenAPI document but do not re-validate them (that
    # cost as much CPU per request as a small model's tagging).
    def one(outcome: Union[dict, PostError], started: float) -> JSONResponse:
        if isinstance(outcome, PostError):
            raise HTTPException(outcome.status, outcome.detail)
        return JSONResponse({**outcome, "time_ms": (time.perf_counter() - started) * 1000})

    @app.post("/v1/ner", response_model=NERResponse, responses=ERRORS, summary="Tag one post")
    async def ner(post: PostIn) -> JSONResponse:  # type: ignore[valid-type]
        started = time.perf_counter()
        item = to_post(post.text, post.image, post.caption)
        if isinstance(item, PostError):
            raise HTTPException(item.status, item.detail)
        return one((await run([item]))[0], started)

    @app.post("/v1/ner/batch", response_model=BatchResponse, responses=ERRORS,
              summary=f"Tag a list of posts (at most {limits.max_batch_posts}); a post that cannot be tagged gets "
                      "an error in its place")
    async def ner_batch(posts: BatchIn) -> JSONResponse:  # type: ignore[valid-type]
        started = time.perf_counter()
        items = [to_post(post.text, post.image, post.caption) for post in posts]
        good = [item for item in items if isinstance(item, Post)]
        tagged = iter(await run(good)) if good else iter(())
        results = []
        for item in items:
            outcome = next(tagged) if isinstance(item, Post) else item
            results.append({"status": outcome.status, "error": outcome.detail} if isinstance(outcome, PostError)
                           else outcome)
        return JSONResponse({"results": results, "time_ms": (time.perf_counter() - started) * 1000})

    @app.post("/v1/ner/upload", response_model=NERResponse, responses=ERRORS,
              summary="Tag one post sent as a multipart form (text, image file, caption)")
    async def ner_upload(text: str = Form(min_length=1, max_length=limits.max_text_chars),
                         image: Optional[UploadFile] = File(None),
                         caption: Optional[str] = Form(None, max_length=limits.max_text_chars)) -> JSONResponse:
        started = time.perf_counter()
        data = await image.read() if image is not None else b""
        item = Post(text, data or None, caption)  # a form's empty file field means: no image
        return one((await run([item]))[0], started)

    @app.get("/healthz", summary="The server process is alive")
    async def healthz() -> dict:
        return {"status": "alive"}

    @app.get("/readyz", summary="The pipeline is loaded and warmed up", responses={503: {"model": Error}})
    async def readyz() -> JSONResponse:
        if not ready.is_set():
            detail = warm_up_failure[0] if warm_up_failure else "the pipeline is warming up"
            return JSONResponse({"detail": detail}, status_code=503, headers={"Retry-After": "1"})
        return JSONResponse({"status": "ready"})

    @app.get("/v1/info", response_model=Info, summary="The pipeline served and the server's limits")
    async def info() -> dict:
        return {
            "name": f"{nlp.meta.get('lang', nlp.lang)}_{nlp.meta.get('name', 'pipeline')}",
            "version": nlp.meta.get("version", "0.0.0"),
            "spacy_version": spacy.__version__,
            "labels": entity_labels(nlp),
            "components": list(nlp.pipe_names),
            "image_classifier": image_classifier(nlp),
            "limits": limits.as_dict(),
            "admissions": vars(admissions),
            "batches": batcher.batches,
        }

    page = resources.files(__package__).joinpath("page.html").read_text(encoding="utf8")
    page = page.replace("/*COLORS*/{}", json.dumps({label: label_colour(label) for label in entity_labels(nlp)}))

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def demo_page() -> str:
        return page

    return app


def to_post(text: str, image: Optional[str], caption: Optional[str]) -> Union[Post, PostError]:
    """A `Post` with the image's bytes decoded from base64 (or a data: URL), or the error saying why not."""
    if image is None:
        return Post(text, None, caption)
    if image.startswith("data:") and "," in image:
        image = image.split(",", 1)[1]
    try:
        data = base64.b64decode(image, validate=True)
    except (binascii.Error, ValueError) as error:
        return PostError(422, f'"image" is not valid base64 ({error}); send the image file\'s bytes, base64-encoded')
    return Post(text, data, caption)


def entity_labels(nlp: Language) -> List[str]:
    """The labels of the components that set `doc.ents`."""
    labels = set()
    for name, component in nlp.pipeline:
        if "doc.ents" in nlp.get_pipe_meta(name).assigns:
            labels.update(getattr(component, "labels", ()))
    return sorted(labels)


def image_classifier(nlp: Language) -> Optional[str]:
    """The registered name of the `image_labels` component's classifier (None: no such component)."""
    for name in nlp.pipe_names:
        if nlp.get_pipe_meta(name).factory == "image_labels":
            classifier = nlp.config["components"][name].get("classifier", {})
            return classifier.get("@misc") if isinstance(classifier, dict) else str(classifier)
    return None
