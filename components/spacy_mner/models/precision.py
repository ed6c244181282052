"""The models' `mixed_precision` setting, one meaning for CWI and MSB.

thinc's PyTorchShim knows float16 autocast and gradient scaling on CUDA only. On a CPU with native
bfloat16 (AVX512-BF16 or AMX) prediction runs much faster with bfloat16 weights, so here `mixed_precision`
means: on GPU (`--gpu-id`), thinc's float16 autocast with gradient scaling, in training and prediction; on
CPU, prediction through a bfloat16 copy of the module (training stays float32). CPU autocast, tried
first, was slower: it casts the weights again at every call.

On CPU the setting changes no trained weight, so a trained pipeline can switch it at load time
(`spacy.load(path, config={"components.ner.model.mixed_precision": True})`); scores move slightly. Set
during CPU training, it makes the dev evaluations (which pick model-best) run in bfloat16 too. The GPU or
CPU meaning is chosen when the model is built, from spaCy's current device. `"auto"` is bfloat16 prediction
on a CPU with bfloat16 arithmetic (AMX or AVX512-BF16: on CWI's LSTMs about twice float32's speed, the
same test F1) and float32 everywhere else, GPU included. The bfloat16 copy is made
again at the first prediction after the weights change: a thinc update, a new module, or a torch
parameter changed in place or given new data (its version counter and data pointer show it).
The wrapped module must return float32 (the nets here end with `.float()`).
"""
import copy
import itertools
from typing import Any, Callable, Optional, Tuple, Union

from thinc.api import ArgsKwargs, Model, PyTorchGradScaler, PyTorchShim, get_torch_default_device
from thinc.layers.pytorchwrapper import forward as pytorch_forward


def native_bfloat16() -> bool:
    """Whether this CPU has bfloat16 arithmetic (AMX or AVX512-BF16); elsewhere torch emulates it, slower
    than float32."""
    import torch

    checks = (getattr(torch.cpu, "_is_amx_tile_supported", None), getattr(torch.cpu, "_is_avx512_bf16_supported", None))
    return any(check() for check in checks if check is not None)


def precision_modes(mixed_precision: Union[bool, str]) -> Tuple[bool, bool]:
    """(float16 autocast on GPU, bfloat16 prediction on CPU): what `mixed_precision` means on spaCy's
    current device."""
    if mixed_precision not in (True, False, "auto"):
        raise ValueError(f"mixed_precision must be true, false or \"auto\", not {mixed_precision!r}")
    on_gpu = get_torch_default_device().type == "cuda"
    if mixed_precision == "auto":
        return False, not on_gpu and native_bfloat16()
    return bool(mixed_precision) and on_gpu, bool(mixed_precision) and not on_gpu


class BFloat16Prediction:
    """The CPU half of the module docstring, for a PyTorchShim subclass: with `cpu_bfloat16` set, prediction
    on CPU runs through a bfloat16 copy of the module."""

    cpu_bfloat16: bool = False
    _bfloat16: Optional[Tuple[Any, Tuple, Any]] = None  # (source module, weights' key, bfloat16 copy)

    def _weights_key(self) -> Tuple:
        tensors = itertools.chain(self._model.parameters(), self._model.buffers())
        # inference tensors (a model loaded under torch.inference_mode) keep no version counter
        return tuple((t.data_ptr(), None if t.is_inference() else t._version) for t in tensors)

    def predict(self, inputs: ArgsKwargs) -> Any:
        if not (self.cpu_bfloat16 and self.device.type == "cpu"):
            return super().predict(inputs)
        import torch

        key = self._weights_key()
        if self._bfloat16 is None or self._bfloat16[0] is not self._model or self._bfloat16[1] != key:
            self._bfloat16 = (self._model, key, copy.deepcopy(self._model).to(torch.bfloat16).eval().requires_grad_(False))
        cast = lambda x: x.bfloat16() if torch.is_tensor(x) and x.is_floating_point() else x  # noqa: E731
        with torch.no_grad():
            return self._bfloat16[2](*map(cast, inputs.args), **{k: cast(v) for k, v in inputs.kwargs.items()})

    def finish_update(self, optimizer) -> None:
        self._bfloat16 = None  # thinc's update assigns the weights' data, which no version counter sees
        super().finish_update(optimizer)


class MixedPrecisionShim(BFloat16Prediction, PyTorchShim):
    """A PyTorchShim with the `mixed_precision` of the module docstring."""

    def __init__(self, model: Any, mixed_precision: Union[bool, str] = False):
        on_gpu, self.cpu_bfloat16 = precision_modes(mixed_precision)
        super().__init__(model, mixed_precision=on_gpu, grad_scaler=PyTorchGradScaler(enabled=on_gpu))


def mixed_precision_wrapper(module: Any, convert_inputs: Callable, convert_outputs: Callable,
                            mixed_precision: Union[bool, str]) -> Model:
    """thinc's PyTorchWrapper_v2, with the shim above."""
    return Model(
        "pytorch", pytorch_forward, attrs={"convert_inputs": convert_inputs, "convert_outputs": convert_outputs},
        shims=[MixedPrecisionShim(module, mixed_precision=mixed_precision)], dims={"nI": None, "nO": None},
    )
