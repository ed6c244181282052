"""Torch layers of the paper's character feature extractor (Table 5): SineReLU, targeted dropout and the
skip-connected character CNN. Imported only when a model is built, so `import spacy_mner` stays light.
"""
import math

import torch
from torch import nn


class SineReLU(nn.Module):
    """x for x > 0, eps * (sin x - cos x) otherwise (the paper's eq. 12): no dead units."""

    def __init__(self, epsilon: float = 0.0025):
        super().__init__()
        self.epsilon = epsilon

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # sin x - cos x = sqrt(2) sin(x - pi/4): one sine instead of a sine and a cosine
        return torch.where(x > 0, x, (self.epsilon * math.sqrt(2)) * torch.sin(x - math.pi / 4))


class TargetedDropout(nn.Module):
    """Targeted dropout (Gomez et al. 2018) on activations.

    In training, among the `target_rate` fraction of each sample's units with the smallest magnitude, each
    is dropped with probability `drop_rate`; no rescaling, and the identity at prediction, as in the Keras
    layer the paper used. A sample is the first dimension; its units are all the other dimensions.
    """

    def __init__(self, drop_rate: float = 0.25, target_rate: float = 0.4):
        super().__init__()
        self.drop_rate = drop_rate
        self.target_rate = target_rate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.drop_rate == 0 or self.target_rate == 0 or x.shape[0] == 0:
            return x
        flat = x.reshape(x.shape[0], -1)
        k = max(1, int(self.target_rate * flat.shape[1]))
        threshold = flat.abs().kthvalue(k, dim=1, keepdim=True).values
        targeted = flat.abs() <= threshold
        dropped = targeted & (torch.rand_like(flat) < self.drop_rate)
        return (flat * (~dropped)).reshape(x.shape)


class SameConv1d(nn.Conv1d):
    """A Conv1d whose output keeps the input length; even kernels pad one more on the right (as Keras).

    The convolution pads `kernel // 2` on both sides itself (no padded copy of the input); with an even
    kernel that gives one output too many, the first, which is dropped."""

    def __init__(self, n_in: int, n_out: int, kernel: int):
        super().__init__(n_in, n_out, kernel, padding=kernel // 2)
        self.skip = 1 - kernel % 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = super().forward(x)
        return out[..., self.skip:] if self.skip else out


class CharCNN(nn.Module):
    """The character feature extractor of Table 5, one token at a time.

    Interpretations (the table leaves these open):
    - each token is `max_chars` (40) characters, cut or padded, embedded in 40 dims (uniform +-0.25);
    - convolutions use 'same' padding and no activation of their own (Keras' Conv1D default);
    - the skip concatenations (10: 8+9, 12: 6+11, 14: 4+13) join along the character axis, since the channel
      counts of each pair match: the output is 16 channels x 40 positions;
    - `regularize` turns layers 15-17 (targeted dropout, SineReLU, 16-group normalisation) on or off
      (the paper's Table 10 ablation); the token vector is the flattened 16 x 40 map (640 dims).
    """

    def __init__(self, n_chars: int, max_chars: int = 40, width: int = 40, regularize: bool = True):
        super().__init__()
        if max_chars % 8:
            raise ValueError(f"max_chars must be a multiple of 8 (three poolings of 2), not {max_chars}")
        self.embed = nn.Embedding(n_chars, width, padding_idx=0)
        nn.init.uniform_(self.embed.weight, -0.25, 0.25)
        self.conv3, self.conv5, self.conv7 = SameConv1d(width, 16, 2), SameConv1d(16, 32, 3), SameConv1d(32, 64, 4)
        self.conv9, self.conv11, self.conv13 = SameConv1d(64, 64, 4), SameConv1d(64, 32, 3), SameConv1d(32, 16, 2)
        self.pool = nn.MaxPool1d(2)
        self.regularize = nn.Sequential(TargetedDropout(), SineReLU(), nn.GroupNorm(16, 16)) if regularize else nn.Identity()
        self.width = 16 * max_chars

    def forward(self, chars: torch.Tensor) -> torch.Tensor:
        x = self.embed(chars).transpose(1, 2)  # (tokens, width, max_chars)
        x4 = self.pool(self.conv3(x))
        x6 = self.pool(self.conv5(x4))
        x8 = self.pool(self.conv7(x6))
        x10 = torch.cat([x8, self.conv9(x8)], dim=2)
        x12 = torch.cat([x6, self.conv11(x10)], dim=2)
        x14 = torch.cat([x4, self.conv13(x12)], dim=2)
        return self.regularize(x14).flatten(1)


def reverse_within_lengths(lengths: torch.Tensor, max_len: int) -> torch.Tensor:
    """Indices into the (batch * max_len) flattened rows of right-padded sequences that reverse each
    sequence within its own length, padding left in place (the same indices undo it)."""
    t = torch.arange(max_len, device=lengths.device)[None, :]
    within = torch.where(t < lengths[:, None], lengths[:, None] - 1 - t, t)
    return (within + max_len * torch.arange(len(lengths), device=lengths.device)[:, None]).reshape(-1)


class PaddedBiLSTM(nn.Module):
    """A bidirectional LSTM over right-padded sequences: two LSTMs, the backward one reading each sequence
    reversed within its own length. Exact like packing, and several times faster on CPU, where packed
    sequences leave oneDNN's fast LSTM kernel."""

    def __init__(self, n_in: int, n_hidden: int):
        super().__init__()
        self.forward_lstm = nn.LSTM(n_in, n_hidden, batch_first=True)
        self.backward_lstm = nn.LSTM(n_in, n_hidden, batch_first=True)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        index = reverse_within_lengths(lengths, x.shape[1])
        # row selection (index_select) is several times faster than a gather with an expanded index
        reverse = lambda y: y.reshape(-1, y.shape[-1]).index_select(0, index).reshape(y.shape)  # noqa: E731
        ahead, _ = self.forward_lstm(x)
        back, _ = self.backward_lstm(reverse(x))
        return torch.cat([ahead, reverse(back)], dim=-1)


class LastStateLSTM(nn.LSTM):
    """A forward LSTM over right-padded sequences that returns each sequence's state at its last item."""

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        out, _ = super().forward(x)
        return out[torch.arange(x.shape[0], device=x.device), lengths - 1]
