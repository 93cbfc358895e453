"""Callbacks that control and measure training: the NaN guard, the time budget, the step and
epoch clocks, and the standard set every course run logs with (the learning-rate decay is
:mod:`genai_tf.training.schedule`'s).

The TensorBoard pictures they add (the seeded sample grid, the learning rates) come from
:mod:`genai_tf.viz.tensorboard`; :func:`training_callbacks` assembles them with the NaN guard
into the run folder ``runs/<notebook>/<time>-<model>``.
"""

from __future__ import annotations

import datetime
import os
import time
from pathlib import Path

import keras
import numpy as np

from genai_tf import config
from genai_tf.viz.tensorboard import SampleGrid, TensorBoard


class NaNGuard(keras.callbacks.Callback):
    """Stop training with a clear error the moment a logged value becomes NaN or infinite.

    ``keys=None`` watches every logged value (``loss`` for one-loss models, ``d_loss`` and
    ``g_loss`` for GANs, ...).
    """

    def __init__(self, keys=None):
        super().__init__()
        self.keys = keys
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        logs = logs or {}
        for key in self.keys or list(logs):
            value = logs.get(key)
            if value is not None and not np.isfinite(float(value)):
                self.model.stop_training = True
                raise FloatingPointError(
                    f"'{key}' became {float(value)} at epoch {self._epoch + 1}, batch {batch + 1}. "
                    f"Training stopped; weights from before this batch are not kept. Usual fixes: "
                    f"a lower learning rate, inputs scaled to [0, 1], or a loss written on logits."
                )


def training_callbacks(notebook, model_name, sample_images=None, num_samples=64, seed=0,
                       root=None, generate_kwargs=None):
    """The course's standard callbacks for ``fit()``, and the run folder they write to.

    Returns ``(callbacks, log_dir)``: TensorBoard scalars (every loss term, train and
    validation), a seeded ``SampleGrid`` and a ``NaNGuard``, all under
    ``runs/<notebook>/<timestamp>-<model_name>``.
    """
    log_dir = new_run_directory(notebook, model_name, root=root)
    return standard_callbacks(log_dir, sample_images, num_samples, seed, generate_kwargs), log_dir


def new_run_directory(notebook, model_name, root=None) -> Path:
    """A new run folder ``runs/<notebook>/<timestamp>-<model_name>`` (created)."""
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    return run_directory(notebook, f"{stamp}-{model_name}", root=root)


def standard_callbacks(log_dir, sample_images=None, num_samples=64, seed=0, generate_kwargs=None,
                       summaries=None) -> list:
    """:func:`training_callbacks` writing to an existing run folder (a resumed run's).

    ``summaries``: the callbacks that show samples in TensorBoard, instead of the image
    ``SampleGrid`` (training passes its data kind's ``tensorboard_callbacks``).
    """
    if summaries is None:
        summaries = [SampleGrid(log_dir, num_samples=num_samples, images=sample_images, seed=seed,
                                generate_kwargs=generate_kwargs)]
    return [TensorBoard(log_dir=str(log_dir)), *summaries, NaNGuard()]


class EpochTimer(keras.callbacks.Callback):
    """Wall-clock and CPU seconds, and steps, of every epoch ``fit`` runs (benchmarks' s/epoch)."""

    def __init__(self):
        super().__init__()
        self.wall, self.cpu, self.steps = [], [], []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = (time.perf_counter(), time.process_time())
        self._steps = 0

    def on_train_batch_end(self, batch, logs=None):
        self._steps += 1

    def on_epoch_end(self, epoch, logs=None):
        self.wall.append(time.perf_counter() - self._start[0])
        self.cpu.append(time.process_time() - self._start[1])
        self.steps.append(self._steps)


class StepHistory(keras.callbacks.Callback):
    """Every training step's logs, and an evaluation of the model every ``every`` steps.

    ``steps`` is a list of dicts, one per step: the logs ``fit`` reports (Keras's running means
    over the current epoch, reset at each epoch's start) plus ``step`` and ``cpu_seconds``, this
    process's CPU time spent training so far. With ``evaluate`` (a function of the model that
    returns a dict of numbers, e.g. a cFID), ``evaluations`` gets that dict plus ``step`` and
    ``cpu_seconds`` after every ``every``-th step. The evaluations' own CPU time is not counted
    as training time, so a quality-against-training-time curve is not skewed by how often it was
    measured. :meth:`block_means` turns the running means into means over blocks of steps.
    """

    def __init__(self, every=None, evaluate=None):
        super().__init__()
        if (every is None) != (evaluate is None):
            raise ValueError("StepHistory takes both every= (steps) and evaluate= (a function of the model), or neither.")
        if every is not None and int(every) < 1:
            raise ValueError(f"every={every}; evaluate after a positive number of steps.")
        self.every, self.evaluate = (None if every is None else int(every)), evaluate
        self.steps, self.evaluations = [], []
        self._start, self._excluded = None, 0.0
        self._in_epoch = []  # each step's position in its epoch, 1, 2, …: fit's running means restart at 1

    def _cpu_seconds(self):
        return time.process_time() - self._start - self._excluded

    def on_train_begin(self, logs=None):
        if self._start is None:  # several fits continue the same clock
            self._start = time.process_time()

    def on_train_batch_end(self, batch, logs=None):
        step = len(self.steps) + 1
        self.steps.append({**{key: float(value) for key, value in (logs or {}).items()},
                           "step": step, "cpu_seconds": self._cpu_seconds()})
        self._in_epoch.append(int(batch) + 1)
        if self.every is not None and step % self.every == 0:
            started = time.process_time()
            result = {key: float(value) for key, value in self.evaluate(self.model).items()}
            self.evaluations.append({**result, "step": step, "cpu_seconds": self.steps[-1]["cpu_seconds"]})
            self._excluded += time.process_time() - started

    def block_means(self, size) -> dict:
        """Each logged metric's mean over consecutive blocks of ``size`` steps, ``{key: [one per block]}``:
        what ``fit(steps_per_epoch=size)`` would log per epoch. A last partial block is dropped.

        ``fit`` reports a metric as its running mean over the epoch so far: m_k after the epoch's
        k-th step. So the k-th step's own value is k·m_k − (k − 1)·m_{k−1}, and blocks may span
        epochs. (For the model's metrics, which are running means; not for a learning rate.)
        """
        if int(size) < 1:
            raise ValueError(f"size={size}; a block holds a positive number of steps.")
        size, values, previous = int(size), {}, {}
        for entry, position in zip(self.steps, self._in_epoch):
            for key, mean in entry.items():
                if key not in ("step", "cpu_seconds"):
                    before = previous.get(key, 0.0) if position > 1 else 0.0
                    values.setdefault(key, []).append(position * mean - (position - 1) * before)
                    previous[key] = mean
        blocks = len(self.steps) // size
        return {key: [float(np.mean(per_step[i * size:(i + 1) * size])) for i in range(blocks)]
                for key, per_step in values.items()}


class TimeBudget(keras.callbacks.Callback):
    """Stop ``fit()`` once ``seconds`` of training time are spent, checked after every batch.

    Use it to give two models the same time budget (notebook 04: VAE vs VAE-GAN), with a
    large ``epochs`` cap in ``fit()``. ``clock="wall"`` counts elapsed time; ``clock="cpu"``
    counts this process's CPU time (all its threads, so up to cores × wall time), which does
    not depend on what else runs on a shared machine. After training, ``wall_seconds``,
    ``cpu_seconds``, ``steps`` and ``epochs`` say what the run took.

    The budget is spent across every ``fit`` it is passed to, and time between them does not
    count. A resumed run starts from what the interrupted one spent: ``spent`` is
    ``(wall_seconds, cpu_seconds, steps)`` from before.
    """

    CLOCKS = ("wall", "cpu")

    def __init__(self, seconds, clock="wall", spent=(0.0, 0.0, 0)):
        super().__init__()
        if clock not in self.CLOCKS:
            raise ValueError(f"clock={clock!r}; use one of {self.CLOCKS}.")
        if not float(seconds) >= 0:  # NaN fails too; math.inf keeps time without a limit
            raise ValueError(f"seconds={seconds!r}; a time budget is a number of seconds >= 0.")
        self.seconds = float(seconds)
        self.clock = clock
        self.wall_seconds, self.cpu_seconds, self.steps = float(spent[0]), float(spent[1]), int(spent[2])
        self.epochs = 0
        self._start = None

    def _now(self):
        return time.perf_counter(), time.process_time()

    def _update(self):
        wall, cpu = (now - start for now, start in zip(self._now(), self._start))
        self.wall_seconds, self.cpu_seconds = self._base[0] + wall, self._base[1] + cpu

    def on_train_begin(self, logs=None):
        self._start, self._base = self._now(), (self.wall_seconds, self.cpu_seconds)

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs += 1

    def on_train_batch_end(self, batch, logs=None):
        self.steps += 1
        self._update()
        if self.spent >= self.seconds:
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        self._update()

    @property
    def spent(self) -> float:
        """Seconds spent so far on the budget's clock."""
        return self.cpu_seconds if self.clock == "cpu" else self.wall_seconds

    @property
    def exhausted(self) -> bool:
        return self.spent >= self.seconds

    @property
    def progress(self) -> float:
        """The share of the budget spent so far, 0 at the start and 1 (or a bit more) at the end."""
        return self.spent / self.seconds if self.seconds > 0 else 1.0


def run_directory(notebook: str, run_name: str | None = None, root: str | os.PathLike | None = None) -> Path:
    """A new folder ``<root>/<notebook>/<run_name or timestamp>`` for one training run."""
    stamp = run_name or datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    parent = (Path(root) if root is not None else config.runs_root()) / notebook
    path, suffix = parent / stamp, 1
    while path.exists():  # never mix two runs' event files
        suffix += 1
        path = parent / f"{stamp}-{suffix}"
    path.mkdir(parents=True)
    return path


class StopAtStep(keras.callbacks.Callback):
    """Stop ``fit`` once the run's global step reaches ``total_steps``."""

    def __init__(self, total_steps, step):
        super().__init__()
        self.total_steps, self.step = total_steps, step

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        if self.step >= self.total_steps:
            self.model.stop_training = True
