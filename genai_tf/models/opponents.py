"""Training a GAN's opponent alone, the generator frozen: a discriminator (notebook 03's check of
the optimal discriminator, Eq. GAN.3) or a critic (notebook 06, through ``wgan.fit_critic``).

These train a bare Keras network on points drawn from arrays or samplers, outside ``fit`` and any
model's ``train_step``; a family's own training updates its weights through
``LossTermsModel.update_weights``.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf
from keras import ops

from genai_tf import losses


def sample_batch(source, batch_size, rng):
    """``batch_size`` points of ``source`` as float32 ``(batch_size, d)`` (1-D points become ``(n, 1)``).

    ``source`` is an array of samples, drawn from with replacement, or a sampler: a function
    ``(n, rng) -> n points`` that draws fresh ones from the numpy Generator ``rng``.
    """
    if callable(source):
        points = np.asarray(source(batch_size, rng), "float32")
    else:
        points = source[rng.integers(0, len(source), batch_size)]
    return points[:, None] if points.ndim == 1 else points


def fit_opponent(opponent, objective, real, fake, steps, optimizer, batch_size=512, seed=0, extra_inputs=None):
    """Train a GAN's opponent (a discriminator or a critic) alone, the generator frozen.

    Each step draws ``batch_size`` points of ``real`` and of ``fake`` (arrays or samplers, see
    :func:`sample_batch`) and, with ``extra_inputs(rng, batch_size)``, a tuple of further
    inputs (WGAN-GP's α). Then it takes one ``optimizer`` step on the first value that
    ``objective(real_batch, fake_batch, *extra)`` returns, a scalar loss, and records the second,
    a scalar to report. A learning-rate schedule goes in the optimizer
    (``keras.optimizers.schedules``). Every draw comes from ``np.random.default_rng(seed)``.
    Returns the reported value of every step, a list of floats.
    """
    rng = np.random.default_rng(seed)
    real, fake = (source if callable(source) else np.asarray(source, "float32") for source in (real, fake))

    @tf.function
    def step(real_batch, fake_batch, *extra):
        with tf.GradientTape() as tape:
            loss, reported = objective(real_batch, fake_batch, *extra)
        weights = opponent.trainable_weights
        optimizer.apply(tape.gradient(loss, weights), weights)
        return reported

    reported = []
    for _ in range(int(steps)):
        real_batch = sample_batch(real, batch_size, rng)
        fake_batch = sample_batch(fake, batch_size, rng)
        extra = extra_inputs(rng, batch_size) if extra_inputs is not None else ()
        reported.append(float(step(real_batch, fake_batch, *extra)))
    return reported


def fit_discriminator(discriminator, real, fake, steps, optimizer, batch_size=512, seed=0):
    """Train ``discriminator`` (points → logits) alone to tell ``real`` from ``fake``, on Eq. (GAN.2).

    ``real`` and ``fake`` are arrays of samples or samplers (:func:`sample_batch`); with
    samplers every step sees fresh points. This is D's half of a GAN with the generator frozen:
    by Eq. (GAN.3) σ(D(x)) approaches D*(x) = p_data(x) / (p_data(x) + p_g(x)) where the two
    densities have mass (notebook 03's Check 2). Returns each step's batch-mean ``d_loss``.
    """
    def objective(real_batch, fake_batch):
        d_loss = ops.mean(losses.discriminator_loss(discriminator(real_batch, training=True),
                                                    discriminator(fake_batch, training=True)))
        return d_loss, d_loss

    return fit_opponent(discriminator, objective, real, fake, steps, optimizer, batch_size, seed)

