"""MSB's encoder in a thinc shim, built on spacy-transformers' `HFShim`: a saved pipeline carries the
encoder's Hugging Face config, its tokenizer files and its weights, and loads without the internet and
without the folder the architecture's `name` pointed to.

HFShim saves and rebuilds an `HFObjects` (tokenizer, transformer). MSB's torch module is more than the
transformer (the case embeddings and the token pooling of `MSBNet`), so this subclass gives HFShim a
`model_cls` that rebuilds the MSBNet around the transformer, reads the pretrained encoder at initialize
(`msb_encoder.py`), and predicts on CPU through `precision.py`'s bfloat16 copy. Pipelines saved by
spacy-mner's earlier shim of its own (config and tokenizer files in one "hf_files" table) still load.

This module imports torch and spacy-transformers: `msb.py` imports it when a model is built.
"""
import json
from pathlib import Path
from typing import Any, Dict, Optional, Union

import srsly
from spacy_transformers.data_classes import HFObjects
from spacy_transformers.layers.hf_shim import HFShim
from thinc.api import get_torch_default_device

from .msb_encoder import read_pretrained
from .msb_net import MSBNet
from .precision import BFloat16Prediction, precision_modes


class MSBNetFromConfig:
    """HFShim's `model_cls`: an MSBNet around the encoder a stored Hugging Face config describes (no
    pretrained weights: the stored ones are loaded next)."""

    def __init__(self, case_features: bool):
        self.case_features = case_features

    def from_config(self, config: Any) -> MSBNet:
        from transformers import AutoModel

        return MSBNet(AutoModel.from_config(config), self.case_features)


class HFEncoderShim(BFloat16Prediction, HFShim):
    """HFShim over an `MSBNet`, with the `mixed_precision` of `precision.py`. Until `load_pretrained` or
    `from_bytes` fills it, it has no module and no tokenizer."""

    def __init__(self, mixed_precision: Union[bool, str] = False, case_features: bool = False):
        on_gpu, cpu_bfloat16 = precision_modes(mixed_precision)
        super().__init__(
            HFObjects(None, None, None),
            mixed_precision=on_gpu,
            grad_scaler_config={"enabled": on_gpu},
            model_cls=MSBNetFromConfig(case_features),
        )
        self.cpu_bfloat16 = cpu_bfloat16
        self.case_features = case_features

    @property
    def tokenizer(self) -> Any:
        return self._hfmodel.tokenizer

    @property
    def hidden_size(self) -> int:
        return self._model.config.hidden_size

    @property
    def max_positions(self) -> int:
        return self._model.config.max_position_embeddings

    def load_pretrained(self, name: str, n_layers: Optional[int]) -> None:
        """Read the pretrained encoder and tokenizer from `name`, keeping the first `n_layers` layers."""
        encoder, tokenizer = read_pretrained(name, n_layers)
        vocab = None
        if hasattr(tokenizer, "vocab_file"):  # sentencepiece-based tokenizers: HFShim saves the file's bytes
            if not (tokenizer.vocab_file and Path(tokenizer.vocab_file).is_file()):
                raise ValueError(
                    f"{name}: {type(tokenizer).__name__} names no vocabulary file on disk, which the pipeline "
                    "must store (spacy-transformers' HFShim saves it); use a model folder that has one"
                )
            vocab = Path(tokenizer.vocab_file).read_bytes()
        self._model = MSBNet(encoder, self.case_features).to(get_torch_default_device())
        self._hfmodel = HFObjects(tokenizer, self._model, vocab)

    def from_bytes(self, bytes_data: bytes) -> "HFEncoderShim":
        msg = srsly.msgpack_loads(bytes_data)
        if "hf_files" in msg:
            bytes_data = srsly.msgpack_dumps(_from_hf_files(msg))
        super().from_bytes(bytes_data)
        self._grad_scaler.to_(get_torch_default_device())
        return self


def _from_hf_files(msg: Dict[str, Any]) -> Dict[str, Any]:
    """An earlier shim's bytes ({"config", "state", "hf_files": config.json and the tokenizer's files}) as
    HFShim's message."""
    files = dict(msg["hf_files"])
    config = json.loads(files.pop("config.json")) if files else {}
    return {
        "config": config,
        "state": msg["state"],
        "tokenizer": {**files, "kwargs": {"use_fast": True}},
        "_init_tokenizer_config": {},
        "_init_transformer_config": {},
    }
