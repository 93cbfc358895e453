"""Model families, one file each: ``autoencoder``, ``vae``, ``gan``, ``cvae``, ``vaegan``.

``RECIPES`` maps each family name used by the CLI and the benchmarks to how it is built
and trained by default, so the command line, benchmarks and notebooks agree.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import keras


@dataclasses.dataclass(frozen=True)
class Recipe:
    """How one family is built and trained by default."""

    build: Callable[..., keras.Model]  # (image_shape, latent_dim, seed) -> compiled model
    latent_dim: int  # default latent size
    binarize: str | None  # how the data loader should binarize images for this family
    description: str
    reconstructs: bool = True  # whether model(images) is a reconstruction (not true of GANs)
    decay_start: float | None = None  # share of training after which every learning rate decays linearly to 0

    def schedule_callbacks(self, budget=None) -> list:
        """The callbacks this recipe trains with: its learning-rate decay, if it has one.

        Pass the run's ``callbacks.TimeBudget`` as ``budget`` to decay over its time; else the
        decay runs over ``fit``'s epochs.
        """
        from genai_tf.callbacks import LearningRateDecay

        return [] if self.decay_start is None else [LearningRateDecay("linear", self.decay_start, budget=budget)]

    def budget_callbacks(self, seconds, clock="wall"):
        """A ``callbacks.TimeBudget`` of ``seconds`` and the callbacks that train this recipe in it.

        Returns ``(budget, callbacks)``: ``callbacks`` is the budget, then
        :meth:`schedule_callbacks` over it. Pass them to ``fit`` with a large ``epochs``.
        """
        from genai_tf.callbacks import TimeBudget

        budget = TimeBudget(seconds, clock=clock)
        return budget, [budget, *self.schedule_callbacks(budget)]


def _autoencoder(image_shape, latent_dim, seed):
    from genai_tf.models.autoencoder import build_conv_autoencoder

    model = build_conv_autoencoder(image_shape, latent_dim=latent_dim, seed=seed)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    return model


def _vae(image_shape, latent_dim, seed):
    from genai_tf.models.vae import build_conv_vae

    # Narrow convolutions and a wide dense layer: half the CPU time per epoch of
    # filters=(32, 64), dense_units=256, and a better test NLL in a fixed time budget
    # (benchmarks/README.md).
    model = build_conv_vae(image_shape, latent_dim=latent_dim, filters=(16, 32),
                           dense_units=512, seed=seed)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    return model


def _gan(builder_name, learning_rate=2e-4):
    def build(image_shape, latent_dim, seed):
        from genai_tf.models import gan

        model = getattr(gan, builder_name)(image_shape, latent_dim=latent_dim, seed=seed)
        model.compile(d_optimizer=keras.optimizers.Adam(learning_rate, beta_1=0.5),
                      g_optimizer=keras.optimizers.Adam(learning_rate, beta_1=0.5))
        return model

    return build


def _cvae(image_shape, latent_dim, seed):
    from genai_tf.models.cvae import build_conv_cvae

    model = build_conv_cvae(image_shape, latent_dim=latent_dim, seed=seed)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    return model


def _vaegan(image_shape, latent_dim, seed):
    from genai_tf.models.vaegan import build_vaegan

    model = build_vaegan(image_shape, latent_dim=latent_dim, seed=seed)
    model.compile(e_optimizer=keras.optimizers.Adam(1e-3), g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
                  d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5))
    return model


RECIPES: dict[str, Recipe] = {
    "autoencoder": Recipe(_autoencoder, 16, None, "convolutional autoencoder, squared error"),
    "vae": Recipe(_vae, 32, "dynamic", "convolutional VAE (filters 16, 32; dense 512), Bernoulli decoder, "
                 "dynamically binarized data"),
    "gan": Recipe(_gan("build_mlp_gan"), 100, None, "classic MLP GAN, non-saturating loss",
                  reconstructs=False),
    # build_dcgan's defaults: a full-resolution head in G and three convs in D. Adam 4e-4 for
    # both players, decayed linearly to 0 over the second half of training. On MNIST in 30
    # CPU-min: cFID 3.95 = 5.1× the real floor; the head alone at 2e-4 gave 10.67 (13.8×).
    # Each change measured at equal CPU time: benchmarks/README.md, "DCGAN tuning".
    "dcgan": Recipe(_gan("build_dcgan", learning_rate=4e-4), 64, None,
                    "DCGAN (full-resolution head in G, three convs in D), non-saturating loss, "
                    "Adam 4e-4 decayed linearly to 0 over the second half", reconstructs=False,
                    decay_start=0.5),
    # A 2-D style code, as notebook 04. benchmarks/vgn.py (600 CPU-s): codes of 2, 4 and 16 give
    # 99.1 %, 98.7 % and 95.9 % of samples read as the requested digit (issue 4's target: 97 %),
    # but cFID 46, 21 and 8: a larger code gives better samples and ELBO, worse label control.
    "cvae": Recipe(_cvae, 2, "dynamic", "conditional conv VAE (label into encoder and decoder), 2-D style code",
                   reconstructs=False),
    "vaegan": Recipe(_vaegan, 32, None, "VAE-GAN, reconstruction in discriminator features"),
}


def recipe(family: str) -> Recipe:
    """The recipe for ``family``, or a ValueError listing the known ones."""
    if family not in RECIPES:
        raise ValueError(f"Unknown model family {family!r}; choose one of {sorted(RECIPES)}.")
    return RECIPES[family]
