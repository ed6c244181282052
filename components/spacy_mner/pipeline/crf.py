"""The linear-chain CRF output layer: thinc parameters, pytorch-crf's algorithms.

The transition scores are thinc parameters (so spaCy's optimizer, parameter averaging and serialisation
handle them like any weight); each call copies them into a `torchcrf.CRF` to compute the negative
log-likelihood and its gradients, or the Viterbi path. That torch module is made once per device and kept
in the layer's `TorchCRFCache` shim, which saves nothing. Tags follow the layout of `spacy_mner.tags.bio_tags`
(O, B-L1, I-L1, B-L2, ...); `spacy_mner.tags.transition_mask` gives transitions into I-X from anything but
B-X / I-X, and I-X at the start, a score of -10000, so no decoded sequence is ever invalid.

`learn_rate_scale` lets the CRF's few scores learn faster than the model under it, as BERT-CRF taggers
usually do: at a fine-tuning rate (5e-5) the transitions would barely leave their initial values. Adam's
steps do not depend on the size of the gradient, so the layer stores each score divided by the scale and
uses it multiplied back: the scores then move `learn_rate_scale` times as fast. That is exact for plain
Adam; gradient clipping and weight decay act on the stored values, so with them (MSB's config has both) it
is approximate. The scale is saved with the weights, which are stored divided by it.
"""
from typing import Any, Dict, List, Optional, Tuple

import numpy
from thinc.api import Model, torch2xp, xp2torch
from thinc.shims import Shim
from thinc.types import Floats2d

from ..tags import transition_mask


def crf_layer(learn_rate_scale: float = 1.0) -> Model[Floats2d, Floats2d]:
    """Identity on tag scores; holds the CRF's start, end and transition scores (sized at initialize),
    stored divided by `learn_rate_scale` (see the module docstring)."""
    if learn_rate_scale <= 0:
        raise ValueError(f"the CRF's learn_rate_scale must be > 0, not {learn_rate_scale}")

    def init(model: Model, X=None, Y=None) -> None:
        n = model.get_dim("nO")
        rng = numpy.random.default_rng(0)
        for name, shape in (("start", (n,)), ("end", (n,)), ("transitions", (n, n))):
            model.set_param(name, model.ops.asarray(rng.uniform(-0.1, 0.1, shape).astype("float32") / learn_rate_scale))

    def forward(model: Model, scores: Floats2d, is_train: bool):
        return scores, lambda d_scores: d_scores

    return Model(
        "crf", forward, init=init, dims={"nO": None}, params={"start": None, "end": None, "transitions": None},
        attrs={"learn_rate_scale": learn_rate_scale}, shims=[TorchCRFCache()],
    )


class TorchCRFCache(Shim):
    """The layer's `torchcrf.CRF` modules, one per device and tag count, made at first use. They hold no
    state of their own (every call copies the layer's parameters in), so there is nothing to update, move
    or save."""

    def __init__(self) -> None:
        super().__init__(None)
        self.crfs: Dict[Tuple[str, int], Any] = {}

    def finish_update(self, optimizer) -> None:
        pass

    def to_device(self, device_type: str, device_id: int) -> None:
        pass  # a module per device, made when a call needs it

    def to_bytes(self) -> bytes:
        return b""

    def from_bytes(self, bytes_data: bytes) -> "TorchCRFCache":
        return self


def _torch_crf(model: Model, device):
    """A `torchcrf.CRF` loaded with the layer's current (masked) scores; made once per layer and device."""
    import torch
    from torchcrf import CRF

    n = model.get_dim("nO")
    crfs = model.shims[0].crfs
    if (str(device), n) not in crfs:
        crfs[str(device), n] = CRF(n, batch_first=True).to(device)
    crf = crfs[str(device), n]
    start_mask, trans_mask = (torch.as_tensor(m, device=device) for m in transition_mask(n))
    scale = model.attrs["learn_rate_scale"]
    with torch.no_grad():
        crf.start_transitions.copy_(scale * xp2torch(model.get_param("start")).to(device) + start_mask)
        crf.end_transitions.copy_(scale * xp2torch(model.get_param("end")).to(device))
        crf.transitions.copy_(scale * xp2torch(model.get_param("transitions")).to(device) + trans_mask)
    crf.zero_grad()
    return crf


def _pad(scores, lengths: List[int]):
    import torch
    from torch.nn.utils.rnn import pad_sequence

    padded = pad_sequence(torch.split(scores, lengths), batch_first=True)
    mask = torch.arange(padded.shape[1], device=scores.device)[None, :] < torch.as_tensor(lengths, device=scores.device)[:, None]
    return padded, mask


def crf_loss(model: Model, scores: Floats2d, lengths: List[int], gold: List[List[int]],
             n_docs: Optional[int] = None) -> Tuple[float, Floats2d]:
    """Negative log-likelihood summed over the docs and divided by `n_docs` (default: their number, the
    mean), and its gradient for the scores.

    The gradients of the CRF's own scores are added to the layer (`inc_grad`), ready for `finish_update`.
    `lengths` and `gold` cover the docs that have tokens.
    """
    import torch
    from torch.nn.utils.rnn import pad_sequence

    scores_t = xp2torch(scores, requires_grad=True)
    crf = _torch_crf(model, scores_t.device)
    padded, mask = _pad(scores_t, lengths)
    tags = pad_sequence([torch.as_tensor(g, dtype=torch.long) for g in gold], batch_first=True).to(scores_t.device)
    loss = -crf(padded, tags, mask=mask, reduction="sum") / (n_docs or len(lengths))
    loss.backward()
    scale = model.attrs["learn_rate_scale"]
    for name, param in (("start", crf.start_transitions), ("end", crf.end_transitions), ("transitions", crf.transitions)):
        model.inc_grad(name, torch2xp(scale * param.grad))
    return loss.item(), torch2xp(scores_t.grad)


def crf_decode(model: Model, scores: Floats2d, lengths: List[int]) -> List[List[int]]:
    """The highest-scoring valid tag sequence of each doc (docs with tokens only)."""
    import torch

    with torch.no_grad():
        scores_t = xp2torch(scores)
        crf = _torch_crf(model, scores_t.device)
        padded, mask = _pad(scores_t, lengths)
        return viterbi_paths(crf, padded, mask)


def viterbi_paths(crf, emissions, mask) -> List[List[int]]:
    """`crf.decode(emissions, mask=mask)` (batch first, masks of leading ones), with the backtracking done
    for the whole batch at each position: pytorch-crf's own follows each sequence with a Python step and a
    `.item()` per token, about a tenth of CWI's prediction time."""
    import torch

    n_docs, n_steps, _ = emissions.shape
    lengths = mask.sum(dim=1)
    score = crf.start_transitions + emissions[:, 0]
    history = []
    for t in range(1, n_steps):
        best, previous = (score[:, :, None] + crf.transitions + emissions[:, t, None, :]).max(dim=1)
        score = torch.where(mask[:, t, None], best, score)
        history.append(previous)
    tags = torch.empty((n_docs, n_steps), dtype=torch.long, device=emissions.device)
    tag = (score + crf.end_transitions).argmax(dim=1)  # each doc's last tag, carried until its last position
    tags[:, -1] = tag
    for t in range(n_steps - 1, 0, -1):
        tag = torch.where(t < lengths, history[t - 1].gather(1, tag[:, None])[:, 0], tag)
        tags[:, t - 1] = tag
    return [row[:length] for row, length in zip(tags.tolist(), lengths.tolist())]


def forward_backward(emissions, mask, first, last, trans):
    """(alpha, beta), each (docs, steps, tags) in log space, of a batch of right-padded docs: alpha[d, t, y]
    sums every tag path over tokens 0..t that ends in y (its scores up to and with y's at t), beta[d, t, y]
    every continuation after t from y (its scores and the end score; past a doc's last token: the end score).

    The forward algorithm and its mirror in probability space, each step a matrix product renormalised to
    sum 1 (its log kept aside): the log-space recursion's result, about twice as fast on CPU, which matters
    because every entity's confidence needs it. Give it float64 tensors."""
    import torch

    n_docs, n_steps, n_tags = emissions.shape
    top = trans.max()
    steps = torch.exp(trans - top)  # a -10000 transition becomes an exact 0
    peak = emissions.max(dim=2, keepdim=True).values
    # float64, and no weight below e^-700 of its token's best: every step's sum stays > 0 (O follows any tag)
    weights = torch.exp((emissions - peak).clamp(min=-700.0))

    # forward: alpha_t = (alpha_t-1 @ exp(transitions)) * exp(emissions_t); kept past a doc's last token
    vector = torch.exp(first - first.max()) * weights[:, 0]
    total = vector.sum(dim=1, keepdim=True)
    vector, scale = vector / total, first.max() + peak[:, 0] + torch.log(total)
    alphas, alpha_scales = [vector], [scale]
    for t in range(1, n_steps):
        new = (vector @ steps) * weights[:, t]
        total, inside = new.sum(dim=1, keepdim=True), mask[:, t, None]
        vector = torch.where(inside, new / total, vector)
        scale = torch.where(inside, scale + top + peak[:, t] + torch.log(total), scale)
        alphas.append(vector)
        alpha_scales.append(scale)
    # backward: beta_t = exp(transitions) @ (exp(emissions_t+1) * beta_t+1); the end score from a doc's last token on
    end_vector, end_scale = torch.exp(last - last.max()).expand(n_docs, n_tags), last.max().expand(n_docs, 1)
    vector, scale = end_vector, end_scale
    betas, beta_scales = [vector], [scale]
    for t in range(n_steps - 2, -1, -1):
        new = (vector * weights[:, t + 1]) @ steps.T
        total, inside = new.sum(dim=1, keepdim=True), mask[:, t + 1, None]
        vector = torch.where(inside, new / total, end_vector)
        scale = torch.where(inside, scale + top + peak[:, t + 1] + torch.log(total), end_scale)
        betas.append(vector)
        beta_scales.append(scale)
    alpha = torch.log(torch.stack(alphas, dim=1)) + torch.stack(alpha_scales, dim=1)
    beta = torch.log(torch.stack(betas[::-1], dim=1)) + torch.stack(beta_scales[::-1], dim=1)
    return alpha, beta


def crf_span_probabilities(model: Model, scores: Floats2d, lengths: List[int],
                           spans: List[List[Tuple[int, int, int]]], temperature: float = 1.0) -> List[List[float]]:
    """For each doc (docs with tokens only) and each of its `(start, end, B-tag id)` spans, the CRF's
    probability that the span is exactly that entity: tags B-X I-X ... on it and no I-X right after it.
    With a `temperature`, every score of the CRF (tag scores and transitions) is divided by it first,
    which leaves the Viterbi path as it is and makes the probabilities softer (> 1) or sharper (< 1).

    That is the summed weight of the paths through the span over Z, from one forward-backward pass over
    the batch (see `forward_backward`): the paths' prefix up to the span's first token, the span's own
    tags, and every continuation after it but I-X.
    """
    import torch

    flat = [(d, start, end, b_tag) for d, doc_spans in enumerate(spans) for start, end, b_tag in doc_spans]
    if not flat:
        return [[] for _ in spans]
    with torch.no_grad():
        scores_t = xp2torch(scores)
        crf = _torch_crf(model, scores_t.device)
        # float64 (see `forward_backward`); the probabilities go out as Python floats
        scores_t, first, last, trans = (
            x.double() / temperature for x in (scores_t, crf.start_transitions, crf.end_transitions, crf.transitions)
        )
        padded, mask = _pad(scores_t, lengths)
        alpha, beta = forward_backward(padded, mask, first, last, trans)
        n = torch.as_tensor(lengths, device=padded.device)
        log_z = torch.logsumexp(alpha[torch.arange(len(lengths), device=padded.device), n - 1] + last, dim=1)
        d, start, end, b_tag = torch.as_tensor(flat, device=padded.device).T
        i_tag, size = b_tag + 1, end - start
        # the span's own tags after its B-X: I-X's emissions on start+1 .. end-1 and the transitions into them
        summed = torch.cumsum(padded, dim=1)
        inside = summed[d, end - 1, i_tag] - summed[d, start, i_tag]
        inside += torch.where(size > 1, trans[b_tag, i_tag] + (size - 2).clamp(min=0) * trans[i_tag, i_tag], 0.0)
        final = torch.where(size > 1, i_tag, b_tag)
        # after the span: the doc's end, or any tag but I-X at `end`
        at = end.clamp(max=padded.shape[1] - 1)
        after = trans[final] + padded[d, at] + beta[d, at]
        after[torch.arange(len(flat), device=padded.device), i_tag] = float("-inf")
        tail = torch.where(end == n[d], last[final], torch.logsumexp(after, dim=1))
        log_p = alpha[d, start, b_tag] + inside + tail - log_z[d]
        probs = torch.exp(log_p).clamp(max=1.0).tolist()
    out: List[List[float]] = [[] for _ in spans]
    for (d, _, _, _), prob in zip(flat, probs):
        out[d].append(float(prob))
    return out
