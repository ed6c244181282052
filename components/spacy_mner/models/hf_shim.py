"""MSB's encoder in a thinc shim whose bytes also carry the Hugging Face config and tokenizer files, so a
saved pipeline loads without the internet and without the folder the architecture's `name` pointed to.

This module imports torch: `msb.py` imports it when a model is built.
"""
import tempfile
from pathlib import Path
from typing import Any, Dict, Optional

import srsly
import torch
from thinc.api import get_torch_default_device

from .msb_encoder import read_pretrained
from .msb_net import MSBNet
from .precision import MixedPrecisionShim


class HFEncoderShim(MixedPrecisionShim):
    """A PyTorchShim over an `MSBNet` whose bytes also carry the Hugging Face config and tokenizer files
    (mixed precision: `precision.py`).

    Until `load_pretrained` or `from_bytes` fills it, it wraps an empty module and has no tokenizer.
    `from_bytes` rebuilds the encoder from the stored config (no pretrained weights, no hub, no `name`)
    and then loads the stored weights.
    """

    def __init__(self, mixed_precision: bool = False, case_features: bool = False):
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
        config, encoder, tokenizer = read_pretrained(name, n_layers)
        with tempfile.TemporaryDirectory() as tmp:
            config.save_pretrained(tmp)
            tokenizer.save_pretrained(tmp)
            files = {p.name: p.read_bytes() for p in Path(tmp).iterdir() if p.is_file()}
        self._install(encoder, tokenizer, files)

    def _install(self, encoder: Any, tokenizer: Any, files: Dict[str, bytes]) -> None:
        self._model = MSBNet(encoder, self.case_features).to(get_torch_default_device())
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
