"""`mixed_precision` on CPU: prediction through a bfloat16 copy that follows the float32 weights."""
import numpy
import torch
from thinc.api import Adam
from thinc.layers.pytorchwrapper import convert_pytorch_default_inputs, convert_pytorch_default_outputs

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
    assert before.dtype == numpy.float32 and not numpy.array_equal(before, float32_output(model, X))
    numpy.testing.assert_allclose(before, float32_output(model, X), atol=0.05)
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
