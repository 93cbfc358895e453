"""Wasserstein GANs (notebook 06): a critic f instead of a discriminator, kept Lipschitz by
weight clipping (WGAN, Arjovsky et al. 2017) or by the gradient penalty (WGAN-GP, Gulrajani
et al. 2017).

One ``train_step`` takes one data batch of ``critic_steps × b`` images and makes
``critic_steps`` critic updates, each on its own ``b`` real images (Eq. WGAN.4, plus Eq. WGAN.7
on interpolates, Eq. WGAN.6), then one generator update on ``b`` fresh samples (Eq. WGAN.5).
So an epoch still passes over the training set once, and every critic step sees new data, as
in the paper's algorithm.

Logged per step: ``critic_loss`` (what the critic minimises, penalty included),
``wasserstein`` (E f(x) - E f(G(z)) on the last critic batch: the critic's estimate of W₁),
``gradient_penalty``, ``gradient_norm`` (mean ‖∇f(x̂)‖ on the interpolates; 1 for an optimal
critic, Eq. WGAN.7) and ``g_loss``.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers, ops

from genai_tf import losses
from genai_tf.models import registry
from genai_tf.models.base import validated_images
from genai_tf.models.gan import (
    AdversarialModel,
    dcgan_features,
    dcgan_generator,
    default_d_filters,
    spectrally_normalised,
)
from genai_tf.models.opponents import fit_opponent

CONSTRAINTS = ("gradient_penalty", "clipping")
INTERPOLATIONS = ("uniform", "normal")  # α of Eq. WGAN.6: the paper's U[0, 1], or N(0, 1) (notebook 06's experiment)
PAPER_CRITIC_STEPS = 5  # the WGAN and WGAN-GP papers' n_critic (the class default; notebook 06's clipping run)
CRITIC_STEPS = 1  # the recipe's: at equal CPU time it beat 2 and 5 (benchmarks/README.md, "WGAN-GP recipe")
CRITIC_BATCH = 64


def critic_gradients(critic, points):
    """``(f(points), ∇_x f(x) at points)``, the gradient per example, from one forward pass."""
    with tf.GradientTape() as tape:
        tape.watch(points)
        scores = critic(points, training=True)
        total = ops.sum(scores)  # inside the tape: Σ_i f(x_i), whose gradient row i is ∇f(x_i)
    return scores, tape.gradient(total, points)


def critic_objective(critic, real, fake, alpha, penalty_weight=10.0, use_penalty=True):
    """The critic's terms on one batch: Eq. (WGAN.4), plus Eq. (WGAN.7) on the interpolates of
    Eq. (WGAN.6) with weights ``alpha`` when ``use_penalty``.

    Real, fake and interpolated points go through the critic in one batch: without batch
    normalisation each score depends on its own point only, so this is three forward passes in
    one, and the gradient of the summed interpolate scores is each interpolate's own. Returns
    ``critic_loss`` (minimised), ``wasserstein`` (E f(x) − E f(x̃), the estimate of W₁),
    ``gradient_penalty`` and ``gradient_norm`` (mean ‖∇f(x̂)‖), each a scalar.
    """
    batch_size = ops.shape(real)[0]
    points = ops.concatenate([real, fake, losses.interpolates(real, fake, alpha)], axis=0)
    scores, gradients = critic_gradients(critic, points)
    real_scores, fake_scores, _ = ops.split(scores, 3, axis=0)
    penalty = ops.mean(losses.gradient_penalty(gradients[2 * batch_size:], penalty_weight))
    wasserstein_loss = ops.mean(losses.wasserstein_critic_loss(real_scores, fake_scores))
    norms = ops.sqrt(ops.sum(ops.square(ops.reshape(gradients[2 * batch_size:], (batch_size, -1))), axis=-1))
    return {
        "critic_loss": wasserstein_loss + penalty if use_penalty else wasserstein_loss,
        "wasserstein": -wasserstein_loss,
        "gradient_penalty": penalty,
        "gradient_norm": ops.mean(norms),
    }


def fit_critic(critic, real, fake, steps, optimizer, batch_size=512, penalty_weight=10.0, seed=0):
    """Train ``critic`` alone to tell two samples apart, with the penalised objective.

    Each step draws ``batch_size`` points of each sample (arrays, drawn with replacement, or
    samplers: ``opponents.sample_batch``) and one α ~ U[0, 1] per pair, and takes one ``optimizer``
    step on :func:`critic_objective`'s ``critic_loss``; the loop is ``opponents.fit_opponent``, which
    also fits notebook 03's discriminator. This is the critic's half of WGAN-GP with the
    generator frozen: after training, E f(real) − E f(fake) estimates W₁(real, fake) (notebook
    06's Check 1). Returns each step's batch estimate of W₁, a list of floats.
    """
    def objective(real_batch, fake_batch, alpha):
        terms = critic_objective(critic, real_batch, fake_batch, alpha, penalty_weight)
        return terms["critic_loss"], terms["wasserstein"]

    def uniform_alpha(rng, size):  # Eq. WGAN.6's α, one per pair
        return (rng.uniform(size=size).astype("float32"),)

    return fit_opponent(critic, objective, real, fake, steps, optimizer, batch_size, seed, extra_inputs=uniform_alpha)


@keras.saving.register_keras_serializable(package="genai_tf")
class WassersteinGAN(AdversarialModel):
    """A generator G: z → image and a critic f: image → score (no sigmoid), Eqs. (WGAN.3–7).

    Args:
        generator: latents ``(batch, latent_dim)`` → images in [-1, 1].
        critic: images in [-1, 1] → scores ``(batch, 1)``. It must not use batch
            normalisation (the penalty is per example): construction fails if it does.
        constraint: ``"gradient_penalty"`` (WGAN-GP, default) or ``"clipping"`` (WGAN: every
            critic weight is clipped to [-clip_value, clip_value] after each update).
        critic_steps: critic updates per generator update (n_critic; the papers' 5).
        penalty_weight: λ of Eq. (WGAN.7); the paper's 10.
        clip_value: c of the clipping constraint; the paper's 0.01.
        interpolation: how α of Eq. (WGAN.6) is drawn: ``"uniform"`` (U[0, 1], the paper's) or
            ``"normal"`` (N(0, 1), notebook 06's comparison).
        seed: seed of the model's noise generator.

    Compile with ``critic_optimizer=...`` and ``g_optimizer=...``.
    """

    loss_names = ("critic_loss", "wasserstein", "gradient_penalty", "gradient_norm", "g_loss")
    network_names = ("generator", "critic")
    config_names = ("constraint", "critic_steps", "penalty_weight", "clip_value", "interpolation", "seed")
    optimizer_names = ("critic_optimizer", "g_optimizer")

    def __init__(self, generator, critic, constraint="gradient_penalty", critic_steps=PAPER_CRITIC_STEPS, penalty_weight=10.0,
                 clip_value=0.01, interpolation="uniform", seed=None, **kwargs):
        if constraint not in CONSTRAINTS:
            raise ValueError(f"constraint={constraint!r}; use one of {CONSTRAINTS}.")
        if interpolation not in INTERPOLATIONS:
            raise ValueError(f"interpolation={interpolation!r}; use one of {INTERPOLATIONS}.")
        if int(critic_steps) < 1:
            raise ValueError(f"critic_steps={critic_steps}; the critic needs at least one update per generator update.")
        normalised = [layer.name for layer in critic.layers if isinstance(layer, layers.BatchNormalization)]
        if normalised:
            raise ValueError(f"The critic has batch normalisation ({', '.join(normalised)}): it makes each score "
                             "depend on the whole batch, so the per-example gradient penalty no longer constrains "
                             "f. Build the critic without it (layer normalisation or none).")
        super().__init__(generator, critic, seed=seed, **kwargs)
        self.constraint = constraint
        self.critic_steps = int(critic_steps)
        self.penalty_weight = float(penalty_weight)
        self.clip_value = float(clip_value)
        self.interpolation = interpolation
        self.build()


    # --- the critic's objective ----------------------------------------------------------
    def interpolation_weights(self, batch_size):
        """One α ~ U[0, 1] per example (Eq. WGAN.6): x̂ then lies on the segment from x̃ to x.

        The paper's heuristic: it penalises the gradient on segments between independent
        real/fake pairs, not the optimal plan's, so it does not target an exact optimum either.
        With ``interpolation="normal"`` α ~ N(0, 1) instead, and x̂ leaves the segment about two
        times in three (notebook 06 measures what that does to training).
        """
        if self.interpolation == "normal":
            return keras.random.normal((batch_size,), seed=self.seed_generator)
        return keras.random.uniform((batch_size,), seed=self.seed_generator)

    def critic_terms(self, real, fake):
        """The critic's loss (Eq. WGAN.4, + Eq. WGAN.7 with the penalty) on [-1, 1] images."""
        return critic_objective(self.critic, real, fake, self.interpolation_weights(ops.shape(real)[0]),
                                self.penalty_weight, use_penalty=self.constraint == "gradient_penalty")

    def generator_terms(self, latents, training=False):
        fake_scores = self.critic(self.generator(latents, training=training), training=training)
        return {"g_loss": ops.mean(losses.wasserstein_generator_loss(fake_scores))}

    def critic_batches(self, real):
        """``critic_steps`` batches of ⌈n / critic_steps⌉ images each from one data batch.

        Batch i holds images i·b, i·b + 1, … (wrapping around at the end), so every batch is
        full even when the data batch (the last of an epoch) is short.
        """
        size = ops.shape(real)[0]
        chunk = (size + self.critic_steps - 1) // self.critic_steps
        return [ops.take(real, (i * chunk + ops.arange(chunk)) % size, axis=0) for i in range(self.critic_steps)]

    def compute_losses(self, images, training=False):
        """Every logged term for a batch of [0, 1] images (``test_step``: no update)."""
        real = images * 2.0 - 1.0
        latents = self.sample_latents(ops.shape(real)[0])
        terms = self.critic_terms(real, self.generator(latents, training=training))
        terms.update(self.generator_terms(latents, training=training))
        return terms

    def train_step(self, data):
        images = validated_images(self, data) * 2.0 - 1.0  # (critic_steps·b, H, W, C) in [-1, 1]
        critic_weights = self.critic.trainable_weights
        for real in self.critic_batches(images):  # n_critic updates, each on new real images
            fake = self.generator(self.sample_latents(ops.shape(real)[0]), training=True)
            with tf.GradientTape() as tape:
                terms = self.critic_terms(real, fake)
            self.update_weights(tape, terms["critic_loss"], critic_weights, self.critic_optimizer)
            if self.constraint == "clipping":  # WGAN's constraint on the weights, not gradient clipping
                for weight in critic_weights:
                    weight.assign(ops.clip(weight, -self.clip_value, self.clip_value))
        latents = self.sample_latents(ops.shape(real)[0])
        with tf.GradientTape() as tape:
            g_terms = self.generator_terms(latents, training=True)
        self.update_weights(tape, g_terms["g_loss"], self.generator.trainable_weights, self.g_optimizer)
        return self._record({**terms, **g_terms})


def build_wgan(image_shape, latent_dim=64, filters=(128, 64), head_filters=32, d_filters=None,
               constraint="gradient_penalty", critic_steps=5, penalty_weight=10.0, clip_value=0.01,
               interpolation="uniform", spectral_norm=False, seed=None):
    """A Wasserstein GAN with the course DCGAN's generator and its discriminator as the critic,
    minus batch normalisation and the sigmoid's meaning: the output is a score.
    ``spectral_norm=True`` spectrally normalises the critic's convs and score layer."""
    generator = dcgan_generator(image_shape, latent_dim, filters, head_filters, name="wgan_generator")
    inputs = keras.Input(tuple(image_shape), name="images")
    features = dcgan_features(inputs, default_d_filters(filters, d_filters), batch_norm=False, spectral_norm=spectral_norm)
    score = spectrally_normalised(layers.Dense(1, name="score"), spectral_norm)(features)
    critic = keras.Model(inputs, score, name="wgan_critic")
    name = "wgan_gp" if constraint == "gradient_penalty" else "wgan_clip"
    return WassersteinGAN(generator, critic, constraint=constraint, critic_steps=critic_steps,
                          penalty_weight=penalty_weight, clip_value=clip_value, interpolation=interpolation,
                          seed=seed, name=name)


# --- the registry entries (genai_tf.models.registry) ----------------------------------------


OPTIMIZERS = {
    "adam": lambda rate: keras.optimizers.Adam(rate, beta_1=0.0, beta_2=0.9),  # WGAN-GP's
    "rmsprop": lambda rate: keras.optimizers.RMSprop(rate),                     # WGAN's (clipping)
}


def _build_wgan_gp(image_shape, latent_dim, seed, critic_steps=CRITIC_STEPS, critic_lr=4e-4, g_lr=1e-4,
                   optimizer="adam", **settings):
    """The recipe: λ = 10 and the paper's Adam(β1 = 0, β2 = 0.9), but one critic step per generator
    step with a 4× faster critic (critic 4e-4, G 1e-4: a two-time-scale rule) instead of n_critic = 5
    at 1e-4 for both. At the DCGAN's 30 CPU-min it reached cFID 7.68 where the paper's settings
    reached 18.75 (benchmarks/README.md, "WGAN-GP recipe").

    ``critic_steps``, the two learning rates and ``optimizer`` (a key of :data:`OPTIMIZERS`) are the
    knobs the benchmark's recipe search and notebook 06's clipping run turn (benchmarks/README.md,
    "WGAN-GP recipe"); the family's batch must be ``critic_steps × b``. Other ``settings``
    (widths, ``constraint``) go through to :func:`build_wgan`.
    """
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer={optimizer!r}; use one of {sorted(OPTIMIZERS)}.")
    model = build_wgan(image_shape, latent_dim=latent_dim, critic_steps=critic_steps, seed=seed, **settings)
    model.compile(critic_optimizer=OPTIMIZERS[optimizer](critic_lr), g_optimizer=OPTIMIZERS[optimizer](g_lr))
    return model


FAMILIES = {
    # One data batch is n_critic critic batches of 64 (the paper's batch size).
    "wgan_gp": registry.Family(
        "wgan_gp", _build_wgan_gp, WassersteinGAN, latent_dim=64, batch_size=CRITIC_STEPS * CRITIC_BATCH,
        title="WGAN-GP", description="WGAN-GP: the DCGAN's generator, a critic without batch norm, gradient penalty λ=10 on "
                    "uniform interpolates, one critic step of 64 per generator step, Adam(β 0, 0.9) at 4e-4 for "
                    "the critic and 1e-4 for G, both decayed linearly to 0 over the second half",
        reconstructs=False, decay_start=0.5, pretrain_budget=registry.BENCHMARK_CPU_BUDGET),  # benchmarks/gan.py
}
