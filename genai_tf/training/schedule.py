"""The learning-rate schedule of a family's recipe: a decay over the last part of training,
measured in steps or in a time budget's seconds (so a budgeted run anneals too).
"""

from __future__ import annotations

import math

import keras

from genai_tf.models.base import model_optimizers


class LearningRateDecay(keras.callbacks.Callback):
    """Anneal every optimizer's learning rate over the last part of training (Eq. below).

    With ``p`` the share of training done, ``t = clip((p − start) / (1 − start), 0, 1)`` and
    ``f = 1 − t`` (``shape="linear"``) or ``f = (1 + cos πt) / 2`` (``"cosine"``), the rate is
    ``lr0 × (final_fraction + (1 − final_fraction) f)``: ``lr0`` until ``p = start``, then down
    to ``final_fraction × lr0`` at the end. ``p`` is the share of ``budget``'s time (a
    :class:`~genai_tf.training.callbacks.TimeBudget` in the same ``fit``, whose number of steps is not known in advance), else
    of ``total_steps`` (counted from ``initial_step``: a resumed run passes the step it resumes at
    and the undecayed ``initial_rates``), else of ``fit``'s ``epochs × steps``.

    The DCGAN recipe decays linearly to 0 over the second half: with a constant rate its samples
    keep moving (cFID on MNIST jumps by about ±1 between epochs); the VAE benchmark uses a
    cosine to 2 % (benchmarks/README.md). The rates stay annealed after ``fit``; to train on,
    call ``compile`` again.
    """

    SHAPES = ("linear", "cosine")

    def __init__(self, shape="linear", start=0.0, final_fraction=0.0, budget=None, total_steps=None,
                 initial_step=0, initial_rates=None):
        super().__init__()
        if shape not in self.SHAPES:
            raise ValueError(f"shape={shape!r}; use one of {self.SHAPES}.")
        if not 0.0 <= start < 1.0:
            raise ValueError(f"start={start}; it is the share of training before the decay, in [0, 1).")
        if not 0.0 <= final_fraction <= 1.0:
            raise ValueError(f"final_fraction={final_fraction}; it is a share of the rate, in [0, 1].")
        self.shape, self.start, self.final_fraction = shape, float(start), float(final_fraction)
        self.budget = budget
        self.total_steps = total_steps
        self.initial = dict(initial_rates or {})
        self._steps = int(initial_step)

    def on_train_begin(self, logs=None):
        optimizers = model_optimizers(self.model)
        for name, optimizer in optimizers.items():
            if isinstance(optimizer._learning_rate, keras.optimizers.schedules.LearningRateSchedule):
                raise ValueError(f"{name} already has a learning-rate schedule; LearningRateDecay needs "
                                 f"a constant rate, e.g. keras.optimizers.Adam(2e-4).")
        # The undecayed rates are read once: a second fit of the same run (or a resumed run,
        # given initial_rates) continues the decay instead of restarting it from a lower rate.
        if not self.initial:
            self.initial = {name: float(keras.ops.convert_to_numpy(optimizer.learning_rate))
                            for name, optimizer in optimizers.items()}
        if self.budget is None and self.total_steps is None:
            self._steps = 0  # over this fit's epochs × steps

    def progress(self) -> float:
        if self.budget is not None:
            return self.budget.progress
        if self.total_steps is not None:
            return self._steps / self.total_steps if self.total_steps else 1.0
        total = (self.params.get("epochs") or 1) * (self.params.get("steps") or 0)
        return self._steps / total if total else 0.0

    def scale(self) -> float:
        t = min(1.0, max(0.0, (self.progress() - self.start) / (1.0 - self.start)))
        f = 1.0 - t if self.shape == "linear" else 0.5 * (1.0 + math.cos(math.pi * t))
        return self.final_fraction + (1.0 - self.final_fraction) * f

    def on_train_batch_begin(self, batch, logs=None):
        scale = self.scale()
        for name, optimizer in model_optimizers(self.model).items():
            optimizer.learning_rate.assign(self.initial[name] * scale)

    def on_train_batch_end(self, batch, logs=None):
        self._steps += 1


def schedule_callbacks(family, budget=None, total_steps=None, initial_step=0, initial_rates=None) -> list:
    """The callbacks ``family``'s recipe trains with: its learning-rate decay, if it has one.

    The decay runs over ``budget``'s time (a :class:`~genai_tf.training.callbacks.TimeBudget`), else over ``total_steps``
    (counted from ``initial_step``, for a resumed run), else over ``fit``'s epochs.
    ``initial_rates`` are the undecayed rates of a resumed run.
    """
    if family.decay_start is None:
        return []
    return [LearningRateDecay(family.decay_shape, family.decay_start, family.decay_final_fraction,
                              budget=budget, total_steps=total_steps, initial_step=initial_step,
                              initial_rates=initial_rates)]

