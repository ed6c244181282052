"""Serve a trained pipeline over HTTP: a JSON API for posts with images, and a demo page.

`app.create_app(nlp, limits)` builds the FastAPI application (`python -m spacy_mner serve` runs it with
uvicorn). A post flows: `limits` admits the request (in-flight cap, body-read deadline; FastAPI caps the body
size), `schemas` validates it, `batcher` groups the posts that arrive together and runs them, in one worker
thread, through `tagging`, which decodes the images with the project's hardened loader, calls `nlp.pipe` and
turns the docs into plain results. Needs the `serve` extra (fastapi, uvicorn, python-multipart).
"""
