"""CWI (Character-Word-Image), the paper's first model, as the thinc architecture `spacy_mner.CWI.v1`.

Per token: the character CNN of Table 5, the static word vectors read by a BiLSTM (Table 6), and the image
words (Table 7: the image's top-5 ImageNet labels, or the caption's words where there is no image) embedded
and read by a forward LSTM whose last state is given to every token; the three are concatenated and read
by the fusion BiLSTM (Table 8). The architecture returns one row of tag scores per token (the docs of a
batch concatenated); the `crf_ner` component puts the CRF on top.

Interpretations and additions, each a config setting:
- `attention`: the "CWI + attention" variant; eqs. 14-16 applied to the fusion BiLSTM's states, after
  layer 31 and before the CRF as section 4.2 says: u_t = tanh(W h_t + b), a_ts = softmax_s(h_t . u_s),
  b_t = sum_s a_ts h_s; each token reads [h_t; b_t].
- `dropout`: dropout on the fusion BiLSTM's input and output. Not in the paper's tables (0 = the paper).
- `image_words`: "auto" (labels, else caption), "labels", "caption", "both" or "none";
  `content_image_words` keeps only their content words (no stop words or punctuation).
- `mixed_precision`: true: float16 training and prediction on GPU, bfloat16 prediction on CPU; "auto"
  (configs/cwi.cfg): bfloat16 prediction on a CPU with bfloat16 arithmetic only (see `precision.py`).
  Not in the paper: a speed setting.
- image words are hashed into `image_buckets` embedding rows instead of a fixed vocabulary, so unseen
  labels or caption words need no vocabulary file; a post without image words reads one learned
  "no image" embedding. `image_vectors`: each image word reads its static word vector (the tokens' table,
  projected to the embedding's 50 columns) instead, so a caption word seen rarely or never in training is
  not a random row; `image_buckets` is then unused.

The torch module is `cwi_net.py` (imported when a model is built, so that importing this module does not
import torch), its inputs are built in `cwi_features.py`; this module wires them into one thinc model.
"""
from typing import List, Optional, Tuple, Union

from spacy import registry
from spacy.tokens import Doc
from thinc.api import ArgsKwargs, Linear, Model, chain, torch2xp, xp2torch
from thinc.types import Floats2d

from ..extensions import check_image_word_settings
from .cwi_features import cwi_featurizer
from .precision import mixed_precision_wrapper


def _to_torch(model: Model, inputs, is_train: bool):
    import torch

    device = None if model.ops.device_type == "cpu" else torch.device("cuda", model.ops.device_id)
    args = tuple(torch.as_tensor(a, device=device) for a in inputs)
    return ArgsKwargs(args=args, kwargs={}), lambda d: []


def _from_torch(model: Model, outputs: Tuple, is_train: bool):
    (_, torch_out) = outputs
    out = torch2xp(torch_out)

    def backprop(d_out):
        return ArgsKwargs(args=(torch_out,), kwargs={"grad_tensors": (xp2torch(d_out),)})

    return out, backprop


def _skip_empty(inner: Model) -> Model:
    """Run `inner` unless the batch has no tokens; then give an empty (0, nO) array."""

    def forward(model: Model, inputs, is_train: bool):
        if inputs is None:
            return model.ops.alloc2f(0, inner.get_dim("nO")), lambda d: None
        return inner(inputs, is_train)

    def init(model: Model, X=None, Y=None) -> None:
        inner.initialize()

    return Model("skip_empty", forward, init=init, layers=[inner])


@registry.architectures("spacy_mner.CWI.v1")
def build_cwi(
    vectors_width: int = 350,
    use_chars: bool = True,
    use_words: bool = True,
    use_image: bool = True,
    image_words: str = "auto",
    char_regularizers: bool = True,
    attention: bool = False,
    dropout: float = 0.5,
    max_chars: int = 40,
    n_chars: int = 1000,
    image_buckets: int = 20000,
    max_image_words: int = 32,
    content_image_words: bool = False,
    image_vectors: bool = False,
    mixed_precision: Union[bool, str] = False,
    nO: Optional[int] = None,
) -> Model[List[Doc], Floats2d]:
    """The CWI tag scorer: one row of `nO` tag scores per token of the batch, docs concatenated."""
    check_image_word_settings(image_words, max_image_words)
    from .cwi_net import CWINet  # imports torch

    net = CWINet(
        vectors_width=vectors_width, n_chars=n_chars, max_chars=max_chars, char_regularizers=char_regularizers,
        image_buckets=image_buckets, use_chars=use_chars, use_words=use_words, use_image=use_image,
        attention=attention, dropout=dropout, image_vectors=image_vectors,
    )
    encoder = mixed_precision_wrapper(net, _to_torch, _from_torch, mixed_precision)
    output = Linear(nO=nO, nI=net.width)
    model = chain(
        cwi_featurizer(
            vectors_width, max_chars, n_chars, image_words if use_image else "none", image_buckets, max_image_words,
            content_image_words, image_vectors,
        ),
        _skip_empty(chain(encoder, output)),
    )
    model.set_ref("output_layer", output)
    return model
