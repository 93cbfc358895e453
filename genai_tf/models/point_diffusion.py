"""Diffusion on points (notebook 07): an MLP noise predictor ε_θ(x_t, t) for low-dimensional data.

On data whose optimal noise predictor is known in closed form (a Gaussian mixture,
:func:`genai_tf.sampling.diffusion.gaussian_mixture_noise`), a trained network can be compared with the
optimum, which images never allow. Training is Eq. (DM.9), exactly as for images
(:class:`genai_tf.models.diffusion.DiffusionModel`) but without labels: draw a timestep and
noise, noise the points with Eq. (DM.2), regress ε_θ on the noise. Sampling runs the one reverse
loop, :func:`genai_tf.sampling.diffusion.reverse_loop`, with the network as its predictor. :class:`MixtureMoments`
compares a sampler's points with the mixture's.
"""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
import tensorflow as tf
from keras import layers, ops

from genai_tf import losses, sampling
from genai_tf.layers import SinusoidalEmbedding
from genai_tf.models.base import LossTermsModel


@keras.saving.register_keras_serializable(package="genai_tf")
class PointDiffusion(LossTermsModel):
    """A noise predictor for points ``(batch, d)`` and the training chain it was trained on.

    Args:
        network: ``[x_t (batch, d), timestep indices (batch,)] → ε̂ (batch, d)``, e.g.
            :func:`build_point_network`.
        timesteps: T, the length of the training chain.
        schedule: ``"cosine"`` (Eq. DM.5) or ``"linear"`` (Eq. DM.4).
        seed: seeds the timesteps and the noise drawn in training.
    """

    network_names = ("network",)
    config_names = ("timesteps", "schedule", "seed")

    def __init__(self, network, timesteps=1000, schedule="cosine", seed=None, **kwargs):
        super().__init__(**kwargs)
        self.network = network
        self.timesteps, self.schedule, self.seed = int(timesteps), schedule, seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.alpha_bars = sampling.schedules.noise_schedule(schedule, self.timesteps)  # float64 (T,), ᾱ_t
        self._alpha_bars = ops.convert_to_tensor(self.alpha_bars, dtype="float32")
        object.__setattr__(self, "_compiled_network", None)
        object.__setattr__(self, "_step_functions", {})
        self.build()

    @property
    def dim(self) -> int:
        """d, the number of coordinates of a point."""
        return int(self.network.input_shape[0][-1])

    def call(self, inputs, training=False):
        """ε_θ(x_t, i) for ``[noisy points, timestep indices]``."""
        return self.network(inputs, training=training)

    def _batch_inputs(self, data):
        points = data[0] if isinstance(data, (tuple, list)) else data
        shape = tuple(points.shape)
        if len(shape) != 2 or (shape[-1] is not None and shape[-1] != self.dim):
            self.train_function = self.test_function = None  # let fit() retrace on the next call
            raise ValueError(f"PointDiffusion was built for points of shape (batch, {self.dim}) but received "
                             f"a batch of shape {shape}. Pass a dataset of (batch, {self.dim}) float arrays.")
        return (points,)

    # --- training: Eq. (DM.9) ------------------------------------------------------------
    def compute_losses(self, points, training=False):
        points = ops.convert_to_tensor(points, dtype="float32")
        batch = ops.shape(points)[0]
        index = keras.random.randint((batch,), 0, self.timesteps, seed=self.seed_generator)
        noise = keras.random.normal(ops.shape(points), seed=self.seed_generator)
        noisy = losses.q_sample(points, noise, ops.take(self._alpha_bars, index))
        predicted = self.network([noisy, index], training=training)
        return {"loss": ops.mean(losses.noise_prediction_loss(noise, predicted))}

    # --- evaluation and sampling -----------------------------------------------------------
    def _network_function(self):
        if self._compiled_network is None:
            network = self.network
            object.__setattr__(self, "_compiled_network", tf.function(
                lambda points, index: network([points, index], training=False), reduce_retracing=True))
        return self._compiled_network

    def predict_noise(self, points, index):
        """ε_θ(x_t, t) for points ``(batch, d)`` at one code index ``index`` (what ``sampling.diffusion.sample`` calls)."""
        points = ops.convert_to_tensor(points, dtype="float32")
        indices = ops.full((ops.shape(points)[0],), int(index), dtype="int32")
        return self._network_function()(points, indices)

    def noise_errors(self, clean, noise, index):
        """The per-example ε-MSE of Eq. (DM.9) at given x_0, ε and code indices ``(batch,)``: no randomness.

        Evaluating the network and an exact predictor on the same ``(x_0, ε, i)`` compares them
        without Monte Carlo noise in the difference.
        """
        clean = ops.convert_to_tensor(clean, dtype="float32")
        index = ops.cast(ops.reshape(ops.convert_to_tensor(index), (-1,)), "int32")
        noisy = losses.q_sample(clean, noise, ops.take(self._alpha_bars, index))
        predicted = self._network_function()(noisy, index)
        return ops.convert_to_numpy(losses.noise_prediction_loss(noise, predicted))

    def _step_function(self, clipped):
        """One compiled DDIM update (Eq. DM.13) with the network's ε̂, for ``generate``."""
        key = ("step", clipped)
        if key not in self._step_functions:
            network = self.network

            def step(noisy, index, alpha_bar, alpha_bar_prev, eta, noise, low, high):
                epsilon = network([noisy, ops.full((ops.shape(noisy)[0],), index, dtype="int32")], training=False)
                # clipped: x̂_0 clipped to the data's range, and ε re-derived from it (Eq. DM.3)
                return sampling.diffusion.denoising_update(noisy, epsilon, alpha_bar, alpha_bar_prev, eta, noise,
                                                           clip=(low, high) if clipped else None)

            self._step_functions[key] = tf.function(step, reduce_retracing=True)
        return self._step_functions[key]

    def generate(self, num_samples, seed=None, steps=None, eta=0.0, clip=None, hook=None):
        """``num_samples`` points ``(n, d)`` from ``steps`` DDIM updates (Eq. DM.13; default the full chain).

        ``eta = 1`` with the full chain is DDPM's ancestral sampler (Eq. DM.12). ``clip``
        (``(low, high)``, the data's range) clips x̂_0 before each update, as the image model
        does: near t = T, x̂_0 = (x_t - √(1-ᾱ_t) ε̂)/√ᾱ_t divides the network's error by a tiny
        √ᾱ_t. The same draws, in the same order, as ``sampling.diffusion.sample(model.predict_noise, ...)``
        (x_T, then one z per step), so both give the same points for a seed; this runs each
        update as one compiled step. ``hook`` is the step hook of
        :func:`genai_tf.sampling.diffusion.reverse_loop`.
        """
        steps = self.timesteps if steps is None else int(steps)
        sampling.diffusion.timestep_sequence(self.timesteps, steps)  # checks steps
        if not 0.0 <= float(eta) <= 1.0:
            raise ValueError(f"eta={eta} must be in [0, 1]: 0 is deterministic DDIM, 1 has DDPM's variance.")
        if seed is None:
            seed = int(ops.convert_to_numpy(keras.random.randint((), 0, 2**31 - 1, seed=self.seed_generator)))
        generator = keras.random.SeedGenerator(seed)
        shape = (int(num_samples), self.dim)
        step = self._step_function(clip is not None)
        low, high = (-np.inf, np.inf) if clip is None else clip
        low, high, eta = tf.constant(float(low), "float32"), tf.constant(float(high), "float32"), float(eta)

        def update(x, index, alpha_bar, alpha_bar_prev, noise):
            return step(x, tf.constant(index, "int32"), tf.constant(alpha_bar, "float32"),
                        tf.constant(alpha_bar_prev, "float32"), tf.constant(eta, "float32"), noise, low, high)

        x = keras.random.normal(shape, seed=generator)
        x, _ = sampling.diffusion.reverse_loop(update, x, self.alpha_bars, steps,
                                               lambda: keras.random.normal(shape, seed=generator), hook=hook)
        return ops.convert_to_numpy(x)


def build_point_network(dim, hidden=128, depth=3, embedding_dim=32, name="point_network"):
    """An MLP ε-predictor: ``[x_t (batch, dim), i (batch,)] → ε̂ (batch, dim)``.

    The timestep index goes through :class:`genai_tf.layers.SinusoidalEmbedding` and a dense
    layer; each of the ``depth`` hidden layers adds its own projection of that embedding, so
    every layer knows t. The output layer starts at zero, so an untrained network predicts
    ε̂ = 0 and its loss starts at E‖ε‖²/d = 1.
    """
    if int(dim) < 1 or int(hidden) < 1 or int(depth) < 1:
        raise ValueError(f"build_point_network: dim={dim}, hidden={hidden} and depth={depth} must all be ≥ 1.")
    points = keras.Input((int(dim),), name="noisy_points")
    timesteps = keras.Input((), dtype="int32", name="timesteps")
    time_features = SinusoidalEmbedding(embedding_dim, name="time_features")(timesteps)
    time_embedding = layers.Dense(hidden, activation="silu", name="time_mlp")(time_features)
    hidden_units = layers.Dense(hidden, activation="silu", name="input")(points)
    for level in range(int(depth)):
        shifted = layers.Add(name=f"add_time_{level}")(
            [hidden_units, layers.Dense(hidden, name=f"time_shift_{level}")(time_embedding)])
        hidden_units = layers.Dense(hidden, activation="silu", name=f"hidden_{level}")(shifted)
    noise = layers.Dense(int(dim), kernel_initializer="zeros", name="predicted_noise")(hidden_units)
    return keras.Model([points, timesteps], noise, name=name)


def build_point_diffusion(dim, hidden=128, depth=3, timesteps=1000, schedule="cosine", seed=None):
    """A :class:`PointDiffusion` around :func:`build_point_network` (not compiled).

    ``seed`` seeds the training noise; the initial weights come from Keras' global seed
    (``keras.utils.set_random_seed``), as for every course model.
    """
    network = build_point_network(dim, hidden=hidden, depth=depth)
    return PointDiffusion(network, timesteps=timesteps, schedule=schedule, seed=seed, name="point_diffusion")


@dataclasses.dataclass(frozen=True, eq=False)  # arrays: compare fields, not objects
class OptimumProbe:
    """Fixed draws ``(x_0, ε, i)`` and the exact predictor's ε-MSE on each: how far a network is from the optimum.

    Evaluating a network and the exact predictor on the same draws compares them without Monte
    Carlo noise in the difference (notebook 07, section 9). Make one with :meth:`draw`.
    """

    clean: np.ndarray         # (n, d) points x_0
    noise: np.ndarray         # (n, d) ε
    index: np.ndarray         # (n,) code indices
    exact_errors: np.ndarray  # (n,) the exact predictor's per-example ε-MSE of Eq. (DM.9)

    @classmethod
    def draw(cls, clean, exact_noise, alpha_bars, seed=0) -> OptimumProbe:
        """Noise ``clean`` ``(n, d)`` at uniform random timesteps; ``exact_noise(x, i)`` is the optimum."""
        clean = np.asarray(clean, "float32")
        rng = np.random.default_rng(seed)
        noise = rng.standard_normal(clean.shape).astype("float32")
        index = rng.integers(0, len(alpha_bars), len(clean))
        alpha_bar = np.asarray(alpha_bars, "float64")[index][:, None]
        noisy = np.sqrt(alpha_bar) * clean + np.sqrt(1 - alpha_bar) * noise
        errors = np.empty(len(index))
        for i in np.unique(index):
            rows = index == i
            errors[rows] = np.mean((noise[rows] - exact_noise(noisy[rows], i)) ** 2, axis=1)
        return cls(clean, noise, index, errors)

    @property
    def exact_mse(self) -> float:
        """The exact predictor's ε-MSE per dimension: the lowest any predictor can reach."""
        return float(self.exact_errors.mean())

    def excess(self, model) -> np.ndarray:
        """``model``'s per-example ε-MSE minus the exact predictor's, on these draws: ``(n,)``."""
        return model.noise_errors(self.clean, self.noise, self.index) - self.exact_errors


def fit_in_stages(model, dataset, stages, evaluate):
    """Train ``model`` to each cumulative step count of ``stages``; ``[evaluate(model)]`` before and after each.

    Raises ``FloatingPointError`` when a stage ends with a non-finite loss.
    """
    results, done = [evaluate(model)], 0
    for stage in stages:
        history = model.fit(dataset, steps_per_epoch=int(stage) - done, epochs=1, verbose=0)
        done = int(stage)
        if not np.isfinite(history.history["loss"][-1]):
            raise FloatingPointError(f"The loss is {history.history['loss'][-1]} after {done} steps.")
        results.append(evaluate(model))
    return results


def sample_mixture(means, stds, weights, num_points, seed=0):
    """``num_points`` points from Σ_k π_k N(μ_k, s_k² I) and their components: ``((n, d), (n,))``.

    ``means`` is ``(K, d)``, ``stds`` ``(K,)``, ``weights`` ``(K,)`` (normalised here): the data
    that :func:`genai_tf.sampling.diffusion.gaussian_mixture_noise` gives the exact noise predictor for.
    """
    means, stds = np.asarray(means, "float64"), np.asarray(stds, "float64")
    weights = np.asarray(weights, "float64") / np.sum(weights)
    rng = np.random.default_rng(seed)
    components = rng.choice(len(weights), size=int(num_points), p=weights)
    points = means[components] + stds[components, None] * rng.standard_normal((int(num_points), means.shape[1]))
    return points.astype("float32"), components


def mixture_component(points, means, stds, weights):
    """The mixture's Bayes classifier: each point's most probable component, ``(n,)`` ints.

    The component k of Σ_k π_k N(μ_k, s_k² I) that maximises the log joint
    log π_k - ‖x - μ_k‖²/(2 s_k²) - d log s_k (up to a constant). ``points`` is ``(n, d)``;
    ``means``, ``stds`` and ``weights`` (normalised here) as for :func:`sample_mixture`.
    """
    points = np.atleast_2d(np.asarray(points, "float64"))
    means, stds = np.asarray(means, "float64"), np.asarray(stds, "float64")
    log_weights = np.log(np.asarray(weights, "float64") / np.sum(weights))
    squared = np.sum((points[:, None, :] - means[None]) ** 2, axis=-1)  # (n, K)
    return np.argmax(log_weights - 0.5 * squared / stds**2 - means.shape[1] * np.log(stds), axis=-1)


@dataclasses.dataclass(frozen=True, eq=False)  # arrays: compare fields, not objects
class MixtureMoments:
    """What points from a Gaussian mixture are compared on (notebook 07, section 9): make one with
    :meth:`of`, for the data (from plentiful samples) and for each sampler's points."""

    mean: np.ndarray        # (d,)
    covariance: np.ndarray  # (d, d), with n - 1 in the denominator (np.cov)
    shares: np.ndarray      # (K,): the fraction of points mixture_component gives each component
    product_sd: np.ndarray  # (d, d): sd of one point's (x - mean)_i (x - mean)_j (÷ √n: a covariance's s.e.)
    count: int              # n, the number of points

    @classmethod
    def of(cls, points, means, stds, weights) -> MixtureMoments:
        """The moments of ``points`` ``(n, d)`` and their mode shares under the mixture ``(means, stds, weights)``."""
        points = np.asarray(points, "float64")
        mean = points.mean(axis=0)
        centred = points - mean
        components = mixture_component(points, means, stds, weights)
        return cls(mean=mean, covariance=np.cov(points.T),
                   shares=np.bincount(components, minlength=len(weights)) / len(points),
                   product_sd=np.einsum("ni,nj->nij", centred, centred).std(axis=0), count=len(points))

    def errors(self, reference: MixtureMoments) -> dict:
        """How far these are from ``reference`` (the data's): the largest mean error, the covariance's
        relative Frobenius error ‖Σ - Σ_ref‖/‖Σ_ref‖ and the largest mode-share error."""
        return {"mean error": float(np.abs(self.mean - reference.mean).max()),
                "rel. covariance error": float(np.linalg.norm(self.covariance - reference.covariance)
                                               / np.linalg.norm(reference.covariance)),
                "max share error": float(np.abs(self.shares - reference.shares).max())}

    def outside_sampling_error(self, reference: MixtureMoments, covariance_allowance=0.0, share_allowance=0.0):
        """The statistics (``"mean"``, ``"covariance"``, ``"shares"``) that differ from ``reference``'s
        by more than these n points' sampling error; an empty list when all agree.

        With ``reference`` standing in for the truth: every mean coordinate within 4.5 standard errors
        √(Σ_ii/n); every covariance entry within 4 standard errors ``product_sd``/√n plus
        ``covariance_allowance`` · √(Σ_ii Σ_jj) (a sampler's discretisation error, as a fraction of the
        scale); every mode share p within 4 binomial standard errors √(p(1-p)/n) plus ``share_allowance``.
        """
        n, variances = self.count, np.diag(reference.covariance)
        covariance_tolerance = 4 * reference.product_sd / np.sqrt(n) + covariance_allowance * np.sqrt(
            np.outer(variances, variances))
        share_tolerance = 4 * np.sqrt(reference.shares * (1 - reference.shares) / n) + share_allowance
        agree = {"mean": np.abs(self.mean - reference.mean) < 4.5 * np.sqrt(variances / n),
                 "covariance": np.abs(self.covariance - reference.covariance) < covariance_tolerance,
                 "shares": np.abs(self.shares - reference.shares) < share_tolerance}
        return [name for name, within in agree.items() if not np.all(within)]
