"""CWI's torch module: the character CNN, the word BiLSTM and the image-word LSTM, fused by a BiLSTM (with
the optional attention of eqs. 14-16). `cwi.py` wraps it as the thinc architecture; this module imports
torch, so `cwi.py` imports it only when a model is built.
"""
import torch
from torch import nn
from torch.nn.utils.rnn import pad_sequence

from .layers import CharCNN, LastStateLSTM, PaddedBiLSTM


class CWINet(nn.Module):
    """Token rows of the batch's docs (concatenated) from the featurizer's inputs (`cwi_features.py`)."""

    def __init__(self, *, vectors_width: int, n_chars: int, max_chars: int, char_regularizers: bool,
                 image_buckets: int, use_chars: bool, use_words: bool, use_image: bool, attention: bool,
                 dropout: float, image_vectors: bool = False):
        super().__init__()
        self.chars = CharCNN(n_chars, max_chars, regularize=char_regularizers) if use_chars else None
        self.words = PaddedBiLSTM(vectors_width, 100) if use_words else None
        if use_image:
            # with image_vectors a word's static vector is projected; the embedding keeps the "no image" row
            self.image_embed = nn.Embedding(2 if image_vectors else image_buckets + 2, 50, padding_idx=0)
            self.image_proj = nn.Linear(vectors_width, 50) if image_vectors else None
            self.image_lstm = LastStateLSTM(50, 50, batch_first=True)
        self.use_image = use_image
        width = (self.chars.width if use_chars else 0) + (200 if use_words else 0) + (50 if use_image else 0)
        if width == 0:
            raise ValueError("CWI needs at least one of use_chars, use_words, use_image")
        self.dropout = nn.Dropout(dropout)
        self.fusion = PaddedBiLSTM(width, 100)
        self.attention = nn.Linear(200, 200) if attention else None
        self.width = 400 if attention else 200

    def forward(self, chars, char_rows, vectors, image_ids, image_lengths, image_vectors, lengths):
        split = lambda x: pad_sequence(torch.split(x, lengths.tolist()), batch_first=True)  # noqa: E731
        mask = torch.arange(int(lengths.max()), device=lengths.device)[None, :] < lengths[:, None]
        parts = []
        if self.chars is not None:
            rows = self.chars(chars)
            parts.append(split(rows[char_rows] if len(char_rows) else rows))
        if self.words is not None:
            parts.append(self.words(split(vectors), lengths))
        if self.use_image:
            image = self.image_embed(image_ids)
            if self.image_proj is not None:
                image = image + self.image_proj(image_vectors)
            image = self.image_lstm(image, image_lengths)
            parts.append(image[:, None, :].expand(-1, mask.shape[1], -1))
        fused = self.fusion(self.dropout(torch.cat(parts, dim=-1)), lengths)
        if self.attention is not None:
            u = torch.tanh(self.attention(fused))
            scores = torch.einsum("btd,bsd->bts", fused, u).masked_fill(~mask[:, None, :], -1e4)
            fused = torch.cat([fused, torch.softmax(scores, dim=-1) @ fused], dim=-1)
        return self.dropout(fused)[mask].float()  # float32 also from the bfloat16 copy (precision.py)
