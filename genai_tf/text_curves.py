"""Train and validation curves of a text model, logged during training and read back (notebook 08).

:class:`LearningCurve` is a Keras callback for ``genai_tf.training.train(..., callbacks=[...])``:
every ``every`` optimizer steps it records the mean training loss of those steps (nats/char: the
loss is the mean cross-entropy per target character) and the model's nats/char on a fixed set of
validation characters, with the CPU-seconds spent so far, and rewrites ``curves.json`` in the run's
folder. :func:`read_curves` reads it back for a figure. The validation scoring runs inside the
training process, so a CPU-clock budget pays for it too (a few per cent of the run).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import keras
import numpy as np

FILE = "curves.json"


def validation_sample(blocks, characters_per_block: int) -> list:
    """The first ``characters_per_block`` ids of each block: a fixed, cheap validation set."""
    return [np.asarray(ids[:characters_per_block]) for ids in blocks]


class LearningCurve(keras.callbacks.Callback):
    """Every ``every`` steps: mean training loss since the last point, validation nats/char on
    ``blocks`` (``model.score``), the step and the process's CPU-seconds; written to ``path``."""

    def __init__(self, blocks, path, every: int = 200):
        super().__init__()
        if every < 1:
            raise ValueError(f"every={every}: log a point every whole number >= 1 of steps.")
        self.blocks, self.path, self.every = list(blocks), Path(path), int(every)
        self.points, self._losses, self._step, self._last_mean = [], [], 0, 0.0
        self._cpu0 = time.process_time()
        if self.path.is_file():  # a resumed run: keep the points logged before, go on from there
            self.points = json.loads(self.path.read_text())["points"]
            self._cpu0 -= self.points[-1]["cpu_seconds"] if self.points else 0.0

    def on_train_batch_end(self, batch, logs=None):
        self._step = int(self.model.optimizer.iterations.numpy())  # the run's step, resumed ones included
        if logs and "loss" in logs:  # Keras logs the epoch's running mean m_k after its k-th step
            k, mean = batch + 1, float(logs["loss"])
            self._losses.append(k * mean - (k - 1) * self._last_mean if k > 1 else mean)  # step k's own loss
            self._last_mean = mean
        if self._step % self.every == 0:
            self.record()

    def on_train_end(self, logs=None):
        if self._losses and (not self.points or self.points[-1]["step"] != self._step):
            self.record()

    def record(self):
        """Add a point now and rewrite the file."""
        train = float(np.mean(self._losses[-self.every:]))  # the steps since the last point
        validation = float(self.model.score(self.blocks)["nats_per_char"])
        self.points.append({"step": self._step, "train_nats": train, "validation_nats": validation,
                            "cpu_seconds": time.process_time() - self._cpu0})
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps({"every": self.every, "points": self.points}, indent=1))


def read_curves(folder) -> dict | None:
    """``{"step": [...], "train_nats": [...], "validation_nats": [...], "cpu_seconds": [...]}`` from
    ``folder/curves.json``, or None when the run logged none."""
    path = Path(folder) / FILE
    if not path.is_file():
        return None
    points = json.loads(path.read_text())["points"]
    return {key: [point[key] for point in points] for key in ("step", "train_nats", "validation_nats", "cpu_seconds")}
