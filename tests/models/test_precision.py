"""`mixed_precision` on CPU: prediction through a bfloat16 copy that follows the float32 weights."""
import numpy
import pytest
import torch
from thinc.api import Adam
from thinc.layers.pytorchwrapper import convert_pytorch_default_inputs, convert_pytorch_default_outputs

from spacy_mner.models import precision
from spacy_mner.models.precision import mixed_precision_wrapper


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(8, 3)

    def forward(self, x):
        return self.linear(x).float()


def float32_output(model, X):
    with torch.no_grad():
        return model.shims[0]._model(torch.as_tensor(X)).numpy()


def test_bfloat16_prediction_follows_updates_and_loading():
    torch.manual_seed(0)
    model = mixed_precision_wrapper(Net(), convert_pytorch_default_inputs, convert_pytorch_default_outputs, True)
    X = numpy.random.default_rng(0).normal(size=(16, 8)).astype("float32")
    before = model.predict(X)
    shim = model.shims[0]
    copy = shim._bfloat16[2]
    assert all(p.dtype == torch.bfloat16 for p in copy.parameters())
    assert before.dtype == numpy.float32 and numpy.abs(before - float32_output(model, X)).max() > 1e-3
    numpy.testing.assert_allclose(before, float32_output(model, X), atol=0.05)
    model.predict(X)
    assert shim._bfloat16[2] is copy  # made once while the weights stay
    Y, backprop = model.begin_update(X)
    numpy.testing.assert_array_equal(Y, float32_output(model, X))  # training is float32
    backprop(numpy.ones_like(Y))
    model.finish_update(Adam(0.5))
    after = model.predict(X)
    assert numpy.abs(after - before).max() > 0.5  # the copy was made again from the new weights
    numpy.testing.assert_allclose(after, float32_output(model, X), atol=0.05)
    loaded = mixed_precision_wrapper(Net(), convert_pytorch_default_inputs, convert_pytorch_default_outputs, True)
    loaded.predict(X)  # a copy of its initial weights, replaced by loading
    loaded.from_bytes(model.to_bytes())
    numpy.testing.assert_array_equal(loaded.predict(X), after)
    with torch.no_grad():  # new data assigned outside thinc
        model.shims[0]._model.linear.weight.data = torch.zeros(3, 8)
    numpy.testing.assert_allclose(model.predict(X), float32_output(model, X), atol=0.05)


@pytest.mark.parametrize("native", [True, False])
def test_auto_predicts_in_bfloat16_only_on_a_cpu_with_bfloat16_arithmetic(monkeypatch, native):
    monkeypatch.setattr(precision, "native_bfloat16", lambda: native)
    model = mixed_precision_wrapper(Net(), convert_pytorch_default_inputs, convert_pytorch_default_outputs, "auto")
    X = numpy.random.default_rng(0).normal(size=(16, 8)).astype("float32")
    Y = model.predict(X)
    assert (model.shims[0]._bfloat16 is not None) == native
    if not native:
        numpy.testing.assert_array_equal(Y, float32_output(model, X))


def test_mixed_precision_takes_only_its_three_values():
    with pytest.raises(ValueError, match="true, false or \"auto\", not 'yes'"):
        mixed_precision_wrapper(Net(), convert_pytorch_default_inputs, convert_pytorch_default_outputs, "yes")
