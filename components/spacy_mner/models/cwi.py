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
- `image_words`: "auto" (labels, else caption), "labels", "caption" or "none".
- `mixed_precision`: float16 training and prediction on GPU, bfloat16 prediction on CPU (see
  `precision.py`). Not in the paper: a speed setting.
- image words are hashed into `image_buckets` embedding rows instead of a fixed vocabulary, so unseen
  labels or caption words need no vocabulary file; a post without image words reads one learned
  "no image" embedding.
"""
from typing import Dict, List, Optional, Tuple

import numpy

from spacy import registry
from spacy.tokens import Doc
from thinc.api import ArgsKwargs, Linear, Model, chain, torch2xp, xp2torch
from thinc.types import Floats2d

from ..extensions import check_image_word_settings
from .featurize import doc_image_word_ids, word_char_ids, word_vectors
from .precision import mixed_precision_wrapper


def _build_torch_net(**settings):
    import torch
    from torch import nn
    from torch.nn.utils.rnn import pad_sequence

    from .layers import CharCNN, LastStateLSTM, PaddedBiLSTM

    class CWINet(nn.Module):
        def __init__(self, *, vectors_width, n_chars, max_chars, char_regularizers, image_buckets,
                     use_chars, use_words, use_image, attention, dropout):
            super().__init__()
            self.chars = CharCNN(n_chars, max_chars, regularize=char_regularizers) if use_chars else None
            self.words = PaddedBiLSTM(vectors_width, 100) if use_words else None
            if use_image:
                self.image_embed = nn.Embedding(image_buckets + 2, 50, padding_idx=0)
                self.image_lstm = LastStateLSTM(50, 50, batch_first=True)
            self.use_image = use_image
            width = (self.chars.width if use_chars else 0) + (200 if use_words else 0) + (50 if use_image else 0)
            if width == 0:
                raise ValueError("CWI needs at least one of use_chars, use_words, use_image")
            self.dropout = nn.Dropout(dropout)
            self.fusion = PaddedBiLSTM(width, 100)
            self.attention = nn.Linear(200, 200) if attention else None
            self.width = 400 if attention else 200

        def forward(self, chars, char_rows, vectors, image_ids, image_lengths, lengths):
            split = lambda x: pad_sequence(torch.split(x, lengths.tolist()), batch_first=True)  # noqa: E731
            mask = torch.arange(int(lengths.max()), device=lengths.device)[None, :] < lengths[:, None]
            parts = []
            if self.chars is not None:
                rows = self.chars(chars)
                parts.append(split(rows[char_rows] if len(char_rows) else rows))
            if self.words is not None:
                parts.append(self.words(split(vectors), lengths))
            if self.use_image:
                image = self.image_lstm(self.image_embed(image_ids), image_lengths)
                parts.append(image[:, None, :].expand(-1, mask.shape[1], -1))
            fused = self.fusion(self.dropout(torch.cat(parts, dim=-1)), lengths)
            if self.attention is not None:
                u = torch.tanh(self.attention(fused))
                scores = torch.einsum("btd,bsd->bts", fused, u).masked_fill(~mask[:, None, :], -1e4)
                fused = torch.cat([fused, torch.softmax(scores, dim=-1) @ fused], dim=-1)
            return self.dropout(fused)[mask].float()  # float32 also from the bfloat16 copy (precision.py)

    return CWINet(**settings)


def _featurizer(max_chars: int, n_chars: int, image_source: str, image_buckets: int, max_image_words: int):
    """List[Doc] -> the CWI net's torch inputs (docs without tokens are left out: they give no rows).

    In prediction the character CNN reads each distinct word of the batch once (`char_rows` maps tokens to
    those rows); in training every token is read (`char_rows` is empty), so targeted dropout draws per
    token as in the paper.
    """

    def forward(model: Model, docs: List[Doc], is_train: bool):
        docs = [doc for doc in docs if len(doc)]
        if not docs:
            return None, lambda d: []
        image_ids, image_lengths = doc_image_word_ids(docs, image_source, image_buckets, max_image_words)
        words = [token.text for doc in docs for token in doc]
        if is_train:
            distinct, char_rows = words, numpy.zeros(0, dtype="int64")
        else:
            row_of: Dict[str, int] = {}
            char_rows = numpy.asarray([row_of.setdefault(word, len(row_of)) for word in words], dtype="int64")
            distinct = list(row_of)
        inputs = (
            word_char_ids(distinct, max_chars, n_chars),
            char_rows,
            word_vectors(words, docs[0].vocab.vectors),
            image_ids,
            image_lengths,
            [len(doc) for doc in docs],
        )
        return inputs, lambda d: []

    return Model("cwi_features", forward)


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
    mixed_precision: bool = False,
    nO: Optional[int] = None,
) -> Model[List[Doc], Floats2d]:
    """The CWI tag scorer: one row of `nO` tag scores per token of the batch, docs concatenated."""
    check_image_word_settings(image_words, max_image_words)
    net = _build_torch_net(
        vectors_width=vectors_width, n_chars=n_chars, max_chars=max_chars, char_regularizers=char_regularizers,
        image_buckets=image_buckets, use_chars=use_chars, use_words=use_words, use_image=use_image,
        attention=attention, dropout=dropout,
    )
    encoder = mixed_precision_wrapper(net, _to_torch, _from_torch, mixed_precision)
    output = Linear(nO=nO, nI=net.width)
    model = chain(
        _featurizer(max_chars, n_chars, image_words if use_image else "none", image_buckets, max_image_words),
        _skip_empty(chain(encoder, output)),
    )
    model.set_ref("output_layer", output)
    model.attrs["vectors_width"] = vectors_width
    return model
