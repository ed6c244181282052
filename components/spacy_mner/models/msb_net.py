"""MSB's torch module: the encoder (with the case embeddings, if any), then each token's pooled vector.

`msb.py` wraps it as the thinc architecture; this module imports torch, so it is imported only when an
encoder is read or rebuilt.
"""
from typing import Any

import torch

from .wordpieces import CASE_CLASSES


class MSBNet(torch.nn.Module):
    """(n_tokens, hidden) token vectors from a `WindowBatch`'s arrays (see `wordpieces.py`)."""

    def __init__(self, encoder: torch.nn.Module, case_features: bool):
        super().__init__()
        if getattr(encoder, "pooler", None) is not None:
            encoder.pooler = None  # the sentence pooler is unused: keep it out of the weights and the file
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

    @property
    def config(self) -> Any:
        """The encoder's Hugging Face config (what spacy-transformers' HFShim saves)."""
        return self.encoder.config

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        """torch's, with a clear error where the saved weights and the setting disagree on case_features
        (HFShim would otherwise drop the saved embeddings with a warning about transformers versions)."""
        saved = "case_embeddings.weight" in state_dict
        if saved != (self.case_embeddings is not None):
            raise ValueError(
                f"the saved MSB model was trained with case_features = {str(saved).lower()}, but the "
                f"architecture's setting is {str(not saved).lower()}: load it with case_features = {str(saved).lower()}"
            )
        return super().load_state_dict(state_dict, strict=strict, assign=assign)

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
