"""TensorBoard callbacks: a seeded image grid per epoch, a latent-space projector, and the
scalars with every optimizer's learning rate.

One ``SampleGrid`` serves every model: it logs ``model.generate(n, seed)`` (the same latents
every epoch, so the grid shows learning, not sampling noise) and, when given fixed images,
their reconstructions ``model(images)``.
"""

from __future__ import annotations

import inspect
import math
import os
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from genai_tf.models.base import model_optimizers
from genai_tf.viz.tiles import tile_images


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

