"""Checkpoints during training, and what a resumed run restores (used by :mod:`genai_tf.training.loop`).

A run's folder holds, while it is unfinished, ``resume/checkpoint-<step>.keras`` (weights and
optimizer state) and ``resume/state.json``: the step, the models' ``SeedGenerator`` states (a
``.keras`` file does not store them), the metric sums of a partial epoch, the time spent, the
undecayed learning rates, the epoch history and the TensorBoard folder. Each file is written
under a temporary name and renamed, and ``state.json`` is renamed last, so it always names a
complete checkpoint. Keras' ``BackupAndRestore`` does not fit: it restarts a killed epoch from
its first batch and keeps no random-generator state, so a resumed run would differ.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import keras
import numpy as np

from genai_tf.training import run_folder

FOLDER = run_folder.RESUME_FOLDER
STATE_FILE = "state.json"


def _random_state_variables(model) -> list:
    """The model's variables that are not weights: its SeedGenerator states, in a fixed order."""
    weights = {id(variable) for variable in model.weights}
    return [variable for variable in model.variables if id(variable) not in weights]


def random_state(model) -> list:
    """Every SeedGenerator state of ``model``, as lists of ints (JSON-ready)."""
    return [np.asarray(keras.ops.convert_to_numpy(v)).tolist() for v in _random_state_variables(model)]


def restore_random_state(model, states) -> None:
    """Set ``model``'s SeedGenerator states to ``states`` (from :func:`random_state`)."""
    variables = _random_state_variables(model)
    if len(variables) != len(states):
        raise ValueError(f"The checkpoint holds {len(states)} random-number states but the model has "
                         f"{len(variables)}; it was written by another version of the model.")
    for variable, value in zip(variables, states, strict=True):
        variable.assign(np.asarray(value, dtype=variable.dtype).reshape(variable.shape))


def _metric_state(model) -> list:
    return [[float(keras.ops.convert_to_numpy(v)) for v in metric.variables] for metric in model.metrics]


def _set_metric_state(model, states) -> None:
    for metric, values in zip(model.metrics, states, strict=True):
        for variable, value in zip(metric.variables, values, strict=True):
            variable.assign(value)


class Checkpointer(keras.callbacks.Callback):
    """Counts global steps, keeps the epoch history, and writes resume checkpoints."""

    def __init__(self, folder, run_settings, step, history, every_seconds, every_steps, budget, decay,
                 log_dir):
        super().__init__()
        self.folder, self.settings = folder, run_settings
        self.step, self.history = step, history
        self.every_seconds, self.every_steps = every_seconds, every_steps
        self.budget, self.decay, self.log_dir = budget, decay, log_dir
        self._last_save = time.perf_counter()
        self.pending_metrics = None  # a resumed run's mid-epoch metric sums, restored once

    def on_epoch_begin(self, epoch, logs=None):
        # fit resets the metrics just before this; a resumed partial epoch starts from the sums
        # it had when it was checkpointed, so its logged means cover the whole epoch.
        if self.pending_metrics is not None:
            _set_metric_state(self.model, self.pending_metrics)
            self.pending_metrics = None

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        due_by_steps = self.every_steps and self.step % self.every_steps == 0
        due_by_time = (self.every_seconds is not None
                       and time.perf_counter() - self._last_save >= self.every_seconds)
        if self.folder is not None and (due_by_steps or due_by_time):
            self.save()

    def on_epoch_end(self, epoch, logs=None):
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))
        if self.folder is not None:
            self.save()

    def save(self):
        name = f"checkpoint-{self.step}.keras"
        run_folder.atomic_save_model(self.model, self.folder / name)
        state = {
            "settings": self.settings, "step": self.step, "checkpoint": name,
            "random_state": random_state(self.model), "history": self.history,
            "metrics": _metric_state(self.model),
            "spent": [self.budget.wall_seconds, self.budget.cpu_seconds, self.budget.steps],
            "initial_rates": None if self.decay is None else self.decay.initial,
            "log_dir": None if self.log_dir is None else str(self.log_dir),
        }
        run_folder.atomic_write_text(self.folder / STATE_FILE, json.dumps(state))
        for old in self.folder.glob("checkpoint-*.keras"):
            if old.name != name:
                old.unlink()
        self._last_save = time.perf_counter()


def settings_mismatch(saved: dict, wanted: dict) -> str:
    different = [f"{key}: {saved.get(key)!r} there, {value!r} now" for key, value in wanted.items()
                 if saved.get(key) != value]
    return "; ".join(different)


def load_state(output: Path, wanted: dict):
    """The unfinished run's state in ``output/resume``, or None; refuses different settings."""
    state_path = output / FOLDER / STATE_FILE
    if not state_path.exists():
        return None
    try:
        state = json.loads(state_path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise ValueError(f"{state_path} is unreadable ({error}); start over with --fresh "
                         f"(train(..., fresh=True)).") from error
    mismatch = settings_mismatch(state["settings"], wanted)
    if mismatch:
        raise ValueError(f"{output} holds an unfinished run with other settings ({mismatch}). Rerun with "
                         f"the same settings to resume it, add --fresh (fresh=True) to start over, or "
                         f"choose another --output folder.")
    return state

