"""The API's request and response bodies, as pydantic models: FastAPI validates with them and describes them
in the server's OpenAPI document. The request models are built per app, since their caps are options."""
from typing import Annotated, Any, Dict, List, Optional, Tuple, Type, Union

from pydantic import BaseModel, ConfigDict, Field

from .limits import Limits

OFFSETS = "character offset in `text`, counted in Unicode code points (Python str indices; not UTF-16 or bytes)"


class Entity(BaseModel):
    start: int = Field(description=f"first {OFFSETS}")
    end: int = Field(description=f"{OFFSETS} just after the entity")
    label: str
    text: str = Field(description="text[start:end]")
    score: Optional[float] = Field(description="the pipeline's confidence in the entity (0-1); null where the "
                                               "pipeline gives none")


class ImageLabel(BaseModel):
    label: str = Field(description="an ImageNet class name")
    score: float = Field(description="the classifier's probability")


class Tagged(BaseModel):
    text: str
    entities: List[Entity]
    image_labels: List[ImageLabel] = Field(description="the image's top classes, most probable first; empty "
                                                       "without an image")


class NERResponse(Tagged):
    time_ms: float = Field(description="time the server spent on the request, milliseconds")


class PostFailure(BaseModel):
    status: int = Field(description="the HTTP status this post alone would have got (415, 422)")
    error: str


class BatchResponse(BaseModel):
    results: List[Union[Tagged, PostFailure]] = Field(description="one per post, in order")
    time_ms: float


class Info(BaseModel):
    name: str
    version: str
    spacy_version: str
    labels: List[str] = Field(description="the entity labels the pipeline predicts")
    components: List[str]
    image_classifier: Optional[str] = Field(description="the registered classifier of the image_labels component")
    limits: Dict[str, Any]
    admissions: Dict[str, int]
    batches: int = Field(description="micro-batches (nlp.pipe calls) run so far")


class Error(BaseModel):
    detail: Any = Field(description="what was wrong: a message, or a list of validation errors")


def post_model(limits: Limits) -> Tuple[Type[BaseModel], Any]:
    """The `POST /v1/ner` body model and the `POST /v1/ner/batch` body type, with `limits`' caps."""

    class Post(BaseModel):
        model_config = ConfigDict(extra="forbid")
        text: str = Field(min_length=1, max_length=limits.max_text_chars, description="the post")
        image: Optional[str] = Field(None, description="the image file (JPEG, PNG, ...) base64-encoded, optionally "
                                     "as a data: URL; null: no image. Never a URL to fetch: the server fetches nothing")
        caption: Optional[str] = Field(None, max_length=limits.max_text_chars, description="a caption of the image")

    batch = Annotated[List[Post], Field(min_length=1, max_length=limits.max_batch_posts, description="the posts")]
    return Post, batch
