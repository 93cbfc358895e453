"""Training callbacks: TensorBoard run folders, a seeded image grid per epoch, a latent-space
projector, a NaN guard, a time budget and a learning-rate decay over it.

One ``SampleGrid`` serves every model: it logs ``model.generate(n, seed)`` (the same latents
every epoch, so the grid shows learning, not sampling noise) and, when given fixed images,
their reconstructions ``model(images)``.
"""

from __future__ import annotations

import datetime
import inspect
import math
import os
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from genai_tf import config


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


def tile_images(images, columns=None) -> np.ndarray:
    """Tile ``(n, H, W, C)`` images into one ``(rows*H, columns*W, C)`` image, row by row."""
    images = np.asarray(images)
    count, height, width, channels = images.shape
    columns = columns or int(math.ceil(math.sqrt(count)))
    rows = int(math.ceil(count / columns))
    canvas = np.zeros((rows * height, columns * width, channels), dtype=images.dtype)
    for index, image in enumerate(images):
        row, column = divmod(index, columns)
        canvas[row * height:(row + 1) * height, column * width:(column + 1) * width] = image
    return canvas


class SampleGrid(keras.callbacks.Callback):
    """Log a seeded grid of samples (and reconstructions of fixed images) every ``every`` epochs.

    Args:
        log_dir: the run folder (TensorBoard reads ``log_dir/images``).
        num_samples: samples in the grid; drawn with ``model.generate(num_samples, seed)``
            when the model has ``generate``.
        images: optional fixed real images ``(n, H, W, C)``; their reconstructions
            ``model(images)`` are logged next to them.
        seed: the latents' seed, the same every epoch.
        generate_kwargs: extra arguments for ``generate`` (e.g. ``labels`` for conditional models).
    """

    def __init__(self, log_dir, num_samples=64, images=None, seed=0, every=1, generate_kwargs=None):
        super().__init__()
        self.log_dir = str(log_dir)
        self.num_samples = num_samples
        self.images = None if images is None else np.asarray(images, dtype="float32")
        self.seed = seed
        self.every = every
        self.generate_kwargs = dict(generate_kwargs or {})
        self._writer = None

    def _grid(self, images):
        return tile_images(np.clip(np.asarray(images, dtype="float32"), 0.0, 1.0))[None]

    def on_epoch_end(self, epoch, logs=None):
        if epoch % self.every:
            return
        if self._writer is None:
            self._writer = tf.summary.create_file_writer(os.path.join(self.log_dir, "images"))
        with self._writer.as_default(step=epoch):
            if hasattr(self.model, "generate") and self.num_samples:
                samples = self.model.generate(self.num_samples, seed=self.seed, **self.generate_kwargs)
                tf.summary.image("samples", self._grid(samples))
            if self.images is not None:
                reconstructions = keras.ops.convert_to_numpy(self.model(self.images, training=False))
                pairs = np.concatenate([self.images, reconstructions], axis=2)  # side by side
                tf.summary.image("reconstructions (left: input, right: output)", self._grid(pairs))
        self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None


class LatentProjector(keras.callbacks.Callback):
    """Write fixed images' posterior means μ(x) for TensorBoard's embedding projector.

    TensorBoard's PROJECTOR tab then shows one point per image, its latent code projected to
    2-D or 3-D by PCA, t-SNE or UMAP, coloured and searchable by its label ("Color by: label"
    in the left panel) and, with ``sprite=True``, drawn as a thumbnail of the image itself. Open
    it with ``%tensorboard --logdir runs`` (or ``tensorboard --logdir runs`` in a shell), pick
    PROJECTOR in the tab menu, and the run ``<notebook>/<run>/projector`` in its Run menu.

    The codes are ``model.encode(images)``: the first output (the mean of q(z|x)) when it
    returns ``(z_mean, z_log_var)``, the code itself for a plain autoencoder, and for a
    conditional model ``encode(images, labels)``. They are written at the end of training and,
    with ``every_epochs=k``, after every k-th epoch, each time replacing the last ones;
    :meth:`write` writes them for a model already trained, without ``fit``.

    Files, in ``log_dir/projector`` (the folder TensorBoard reads as a run):
        ``latents-<n>.index``/``.data-*`` and ``checkpoint``: a checkpoint of one variable, the
        ``(points, latent_dim)`` codes; ``metadata.tsv``: each point's label, one per line in
        the images' order; ``sprite.png``: the images tiled row by row, 8192 pixels a side at
        most; ``projector_config.pbtxt``: which tensor, metadata and sprite go together; and an
        event file with a one-line description, so that ``--logdir runs`` lists the folder.

    Args:
        images: ``(n, H, W, C)`` floats, as the model takes them (in [0, 1] for the sprite).
        labels: ``(n,)`` one label per image (a digit, or a class name), in the same order.
        log_dir: the run folder.
        every_epochs: also write after every ``every_epochs``-th epoch; ``None``: at the end only.
        sprite: write the thumbnails.
        max_points: use the first ``max_points`` images.
        batch_size: images encoded at a time.
    """

    TENSOR_KEY = "latents"  # the checkpointed variable's name in the tensor name below
    TENSOR_NAME = f"{TENSOR_KEY}/.ATTRIBUTES/VARIABLE_VALUE"
    MAX_SPRITE_PIXELS = 8192  # the projector's limit on the sprite's side

    def __init__(self, images, labels, log_dir, every_epochs=None, sprite=True, max_points=10_000,
                 batch_size=256):
        super().__init__()
        images, labels = np.asarray(images), np.asarray(labels)
        if images.ndim != 4 or len(images) == 0:
            raise ValueError(f"images has shape {images.shape}; pass a non-empty batch (n, H, W, C).")
        if not np.issubdtype(images.dtype, np.floating):
            raise ValueError(f"images are {images.dtype}; pass floats as the model takes them, "
                             f"e.g. images / 255.0 for [0, 1].")
        if labels.ndim != 1 or len(labels) != len(images):
            raise ValueError(f"labels has shape {labels.shape}; pass one label per image, "
                             f"shape ({len(images)},), in the images' order.")
        if int(max_points) < 1:
            raise ValueError(f"max_points={max_points}; keep at least one point.")
        if every_epochs is not None and int(every_epochs) < 1:
            raise ValueError(f"every_epochs={every_epochs}; use a positive number of epochs, "
                             f"or None to write at the end of training only.")
        self.images = images[:int(max_points)].astype("float32")  # (points, H, W, C)
        self.labels = labels[:int(max_points)]  # (points,)
        self.every_epochs = None if every_epochs is None else int(every_epochs)
        self.sprite = bool(sprite)
        self.batch_size = int(batch_size)
        if self.sprite:
            side = int(math.ceil(math.sqrt(len(self.images)))) * max(self.images.shape[1:3])
            if side > self.MAX_SPRITE_PIXELS:
                raise ValueError(f"a sprite of {len(self.images)} images is {side} pixels wide; the "
                                 f"projector takes {self.MAX_SPRITE_PIXELS} at most. Lower "
                                 f"max_points or pass sprite=False.")
        self.log_dir = Path(log_dir)
        self.projector_dir = self.log_dir / "projector"
        self._variable = self._manager = None
        self._epoch = self._written_epoch = None  # this fit's last epoch, and the last one written

    def latents(self, model=None) -> np.ndarray:
        """The images' codes under ``model`` (default: the model being trained), ``(points, latent_dim)``."""
        model = model if model is not None else self.model
        encode = getattr(model, "encode", None)
        if not callable(encode):
            raise ValueError(f"{type(model).__name__} has no encode method; LatentProjector needs a "
                             f"model that maps images to latents, e.g. a VAE or an autoencoder.")
        conditional = "labels" in inspect.signature(encode).parameters
        codes = []
        for start in range(0, len(self.images), self.batch_size):
            batch = self.images[start:start + self.batch_size]
            if conditional:
                outputs = encode(batch, self.labels[start:start + self.batch_size], training=False)
            else:
                outputs = encode(batch, training=False)
            if isinstance(outputs, (tuple, list)):
                outputs = outputs[0]  # z_mean of (z_mean, z_log_var): the posterior mean
            codes.append(np.asarray(keras.ops.convert_to_numpy(outputs), dtype="float32"))
        codes = np.concatenate(codes)
        if codes.ndim != 2:
            raise ValueError(f"{type(model).__name__}.encode gave codes of shape {codes.shape[1:]} per "
                             f"image; the projector needs flat vectors (latent_dim,).")
        return codes

    def write(self, model=None) -> Path:
        """Write the codes (and, the first time, labels, sprite and config); return the folder."""
        codes = self.latents(model)
        self.projector_dir.mkdir(parents=True, exist_ok=True)
        if self._variable is None or tuple(self._variable.shape) != codes.shape:
            self._variable = tf.Variable(codes, trainable=False, name=self.TENSOR_KEY)
            checkpoint = tf.train.Checkpoint(**{self.TENSOR_KEY: self._variable})
            self._manager = tf.train.CheckpointManager(checkpoint, str(self.projector_dir),
                                                       max_to_keep=1, checkpoint_name=self.TENSOR_KEY)
            self._write_metadata(model if model is not None else self.model)
        else:
            self._variable.assign(codes)
        self._manager.save()
        return self.projector_dir

    def _write_metadata(self, model):
        from tensorboard.plugins import projector  # imported here: only this callback needs it

        with open(self.projector_dir / "metadata.tsv", "w", encoding="utf-8") as file:
            file.writelines(f"{label}\n" for label in self.labels.tolist())  # one column: no header
        config = projector.ProjectorConfig()
        embedding = config.embeddings.add()
        embedding.tensor_name = self.TENSOR_NAME
        embedding.metadata_path = "metadata.tsv"  # paths relative to the config file
        if self.sprite:
            pixels = np.round(255 * np.clip(self.images, 0.0, 1.0)).astype("uint8")
            tf.io.write_file(str(self.projector_dir / "sprite.png"), tf.io.encode_png(tile_images(pixels)))
            embedding.sprite.image_path = "sprite.png"
            embedding.sprite.single_image_dim.extend([self.images.shape[2], self.images.shape[1]])  # W, H
        projector.visualize_embeddings(str(self.projector_dir), config)
        writer = tf.summary.create_file_writer(str(self.projector_dir))
        with writer.as_default():
            tf.summary.text("projector", f"{len(self.images)} latent codes of {model.name}, "
                            f"labelled: open the PROJECTOR tab.", step=0)
        writer.close()

    def on_train_begin(self, logs=None):
        self._epoch = self._written_epoch = None

    def on_epoch_end(self, epoch, logs=None):
        self._epoch = epoch
        if self.every_epochs is not None and (epoch + 1) % self.every_epochs == 0:
            self.write()
            self._written_epoch = epoch

    def on_train_end(self, logs=None):
        if self._written_epoch is None or self._written_epoch != self._epoch:
            self.write()  # unless the last epoch's codes are written already


class TensorBoard(keras.callbacks.TensorBoard):
    """Keras' TensorBoard callback, logging each named optimizer's learning rate.

    Models with several optimizers (GANs, VAE-GAN) list them in ``optimizer_names``; Keras
    would log the learning rate of ``model.optimizer``, an unused default. This logs
    ``learning_rate_<name>`` for each named optimizer instead (e.g. ``learning_rate_d_optimizer``).
    """

    def _collect_learning_rate(self, logs):
        if not getattr(self.model, "optimizer_names", ()):
            return super()._collect_learning_rate(logs)
        logs = dict(logs or {})
        for name, optimizer in model_optimizers(self.model).items():
            logs[f"learning_rate_{name}"] = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
        return logs


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
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    log_dir = run_directory(notebook, f"{stamp}-{model_name}", root=root)
    return standard_callbacks(log_dir, sample_images, num_samples, seed, generate_kwargs), log_dir


def standard_callbacks(log_dir, sample_images=None, num_samples=64, seed=0, generate_kwargs=None) -> list:
    """:func:`training_callbacks` writing to an existing run folder (a resumed run's)."""
    return [
        TensorBoard(log_dir=str(log_dir)),
        SampleGrid(log_dir, num_samples=num_samples, images=sample_images, seed=seed,
                   generate_kwargs=generate_kwargs),
        NaNGuard(),
    ]


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


def model_optimizers(model) -> dict:
    """The optimizers ``fit`` uses, by name: the named ones of a GAN or VAE-GAN, else ``optimizer``."""
    names = getattr(model, "optimizer_names", ()) or ("optimizer",)
    return {name: getattr(model, name) for name in names if getattr(model, name, None) is not None}


class LearningRateDecay(keras.callbacks.Callback):
    """Anneal every optimizer's learning rate over the last part of training (Eq. below).

    With ``p`` the share of training done, ``t = clip((p − start) / (1 − start), 0, 1)`` and
    ``f = 1 − t`` (``shape="linear"``) or ``f = (1 + cos πt) / 2`` (``"cosine"``), the rate is
    ``lr0 × (final_fraction + (1 − final_fraction) f)``: ``lr0`` until ``p = start``, then down
    to ``final_fraction × lr0`` at the end. ``p`` is the share of ``budget``'s time (a
    :class:`TimeBudget` in the same ``fit``, whose number of steps is not known in advance), else
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
