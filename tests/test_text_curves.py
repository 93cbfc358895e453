"""Tests of genai_tf.text_curves (train and validation curves of a text model) and
genai_tf.viz.text_samples (samples side by side)."""

import json

import numpy as np
import pytest

from genai_tf import text_curves
from genai_tf.viz import text_samples


class _Iterations:
    def __init__(self):
        self.value = 0

    def numpy(self):
        return self.value


class _FakeModel:
    """What LearningCurve reads from a model: the optimizer's step counter and ``score``."""

    def __init__(self):
        self.optimizer = type("Optimizer", (), {})()
        self.optimizer.iterations = _Iterations()
        self.scored = []

    def score(self, blocks):
        self.scored.append(sum(map(len, blocks)))
        return {"nats_per_char": 2.0 - 0.1 * len(self.scored)}


def run_steps(curve, model, losses, epoch_length):
    """Feed ``losses`` (each step's own loss) as Keras logs them: the running mean within each epoch."""
    for step in range(len(losses)):
        batch = step % epoch_length
        start = step - batch
        model.optimizer.iterations.value = step + 1
        curve.on_train_batch_end(batch, {"loss": float(np.mean(losses[start:step + 1]))})


def test_learning_curve_recovers_each_steps_loss_across_epochs(tmp_path):
    model, path = _FakeModel(), tmp_path / "run" / text_curves.FILE
    curve = text_curves.LearningCurve([np.arange(30), np.arange(10)], path, every=4)
    curve.set_model(model)
    losses = [3.0, 2.0, 2.5, 1.5, 1.0, 4.0, 0.5, 2.5, 1.25, 0.75]  # epochs of 3 steps: the running means reset
    run_steps(curve, model, losses, epoch_length=3)
    curve.on_train_end()
    points = json.loads(path.read_text())["points"]
    assert [p["step"] for p in points] == [4, 8, 10]
    np.testing.assert_allclose([p["train_nats"] for p in points],
                               [np.mean(losses[0:4]), np.mean(losses[4:8]), np.mean(losses[6:10])])
    assert [p["validation_nats"] for p in points] == pytest.approx([1.9, 1.8, 1.7])
    assert model.scored == [40, 40, 40]  # the fixed validation sample each time
    read = text_curves.read_curves(path.parent)
    assert read["step"] == [4, 8, 10] and len(read["cpu_seconds"]) == 3
    resumed = text_curves.LearningCurve([np.arange(5)], path, every=4)  # a resumed run keeps the points
    assert len(resumed.points) == 3
    assert text_curves.read_curves(tmp_path) is None
    assert [len(b) for b in text_curves.validation_sample([np.arange(50), np.arange(8)], 10)] == [10, 8]


def test_side_by_side_html_escapes_and_lays_out_a_row_per_setting():
    page = text_samples.side_by_side_html({"T = 0": {"A": "x < y\nz", "B": "b&"}, "T = 1": {"A": "a"}}, "pr<")
    assert page.count("<tr>") == 3 and "x &lt; y\nz" in page and "b&amp;" in page and "pr&lt;" in page
    assert page.index(">A<") < page.index(">B<")  # the models' columns in order
