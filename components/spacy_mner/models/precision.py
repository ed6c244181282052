"""The models' `mixed_precision` setting, one meaning for CWI and MSB.

thinc's PyTorchShim knows float16 autocast and gradient scaling on CUDA only. On a CPU with native
bfloat16 (AVX512-BF16 or AMX) prediction runs much faster with bfloat16 weights, so here `mixed_precision`
means: on GPU (`--gpu-id`), thinc's float16 autocast with gradient scaling, in training and prediction; on
CPU, prediction through a bfloat16 copy of the module (training stays float32). CPU autocast, tried
first, was slower: it casts the weights again at every call.

On CPU the setting changes no trained weight, so a trained pipeline can switch it at load time
(`spacy.load(path, config={"components.ner.model.mixed_precision": True})`); scores move slightly. The
bfloat16 copy is made again at the first prediction after the weights change: a thinc update, or an
in-place change to a torch parameter (loading, parameter averaging), which its version counter shows.
The wrapped module must return float32 (the nets here end with `.float()`).
"""
import copy
import itertools
from typing import Any, Callable, Optional, Tuple

from thinc.api import ArgsKwargs, Model, PyTorchGradScaler, PyTorchShim, get_torch_default_device
from thinc.layers.pytorchwrapper import forward as pytorch_forward


class MixedPrecisionShim(PyTorchShim):
    """A PyTorchShim with the `mixed_precision` of the module docstring. Torch is imported by the caller."""

    def __init__(self, model: Any, mixed_precision: bool = False):
        on_gpu = get_torch_default_device().type == "cuda"
        super().__init__(
            model,
            mixed_precision=mixed_precision and on_gpu,
            grad_scaler=PyTorchGradScaler(enabled=mixed_precision and on_gpu),
        )
        self.cpu_bfloat16 = mixed_precision and not on_gpu
        self._bfloat16: Optional[Tuple[Tuple, Any]] = None  # (weights' key, bfloat16 copy)

    def _weights_key(self) -> Tuple:
        tensors = itertools.chain(self._model.parameters(), self._model.buffers())
        return (id(self._model), *(t._version for t in tensors))

    def predict(self, inputs: ArgsKwargs) -> Any:
        if not (self.cpu_bfloat16 and self.device.type == "cpu"):
            return super().predict(inputs)
        import torch

        key = self._weights_key()
        if self._bfloat16 is None or self._bfloat16[0] != key:
            self._bfloat16 = (key, copy.deepcopy(self._model).to(torch.bfloat16).eval())
        cast = lambda x: x.bfloat16() if torch.is_tensor(x) and x.is_floating_point() else x  # noqa: E731
        with torch.no_grad():
            return self._bfloat16[1](*map(cast, inputs.args), **{k: cast(v) for k, v in inputs.kwargs.items()})

    def finish_update(self, optimizer) -> None:
        self._bfloat16 = None  # thinc's update assigns the weights' data, which no version counter sees
        super().finish_update(optimizer)


def mixed_precision_wrapper(module: Any, convert_inputs: Callable, convert_outputs: Callable, mixed_precision: bool) -> Model:
    """thinc's PyTorchWrapper_v2, with the shim above."""
    return Model(
        "pytorch", pytorch_forward, attrs={"convert_inputs": convert_inputs, "convert_outputs": convert_outputs},
        shims=[MixedPrecisionShim(module, mixed_precision=mixed_precision)], dims={"nI": None, "nO": None},
    )
