"""Denoising diffusion (notebook 07; Ho, Jain & Abbeel 2020; Song, Meng & Ermon 2021; Ho & Salimans 2022).

Training, Eq. (DM.9): draw a timestep i and noise ε, noise the image to x_t with Eq. (DM.2),
and regress the U-Net's output on ε (``prediction="epsilon"``) or on the velocity
v = √ᾱ ε - √(1-ᾱ) x_0 (``prediction="v"``, Eq. DM.15), from which x̂_0 and ε̂ follow without
dividing by √ᾱ (Eq. DM.16). The label y is replaced by the null class with probability
``label_dropout``, so one network learns both ε(x, y) and ε(x, ∅), which classifier-free
guidance (Eq. DM.14) combines. Unconditional samples draw y from the training labels' own
distribution p(y), then x from p(x | y) (ancestral sampling of the joint); the null class is
the other, weaker, unconditional sampler. Sampling runs DDIM (Eq. DM.13) over any number
of steps up to the training chain, through the one reverse loop of ``genai_tf.sampling.diffusion``;
η = 1 over the full chain is DDPM's ancestral sampler.

Images are in [0, 1] outside the model and in [-1, 1] inside it.
"""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from genai_tf import losses, sampling
from genai_tf.models import registry
from genai_tf.models.base import LossTermsModel, requested_labels, validated_images
from genai_tf.models.unet import build_unet

PREDICTIONS = ("epsilon", "v")


@keras.saving.register_keras_serializable(package="genai_tf")
class DiffusionModel(LossTermsModel):
    """A class-conditional noise predictor and its samplers.

    Args:
        network: ``[x_t, i, y] → ε̂`` or ``v̂`` (see :func:`genai_tf.models.unet.build_unet`);
            label ``num_classes`` is the null class.
        timesteps: T, the length of the training chain.
        schedule: ``"cosine"`` (Eq. DM.5) or ``"linear"`` (Eq. DM.4).
        label_dropout: the probability of training on the null class instead of the label.
        prediction: what the network predicts: ``"epsilon"`` (ε, Eq. DM.9) or ``"v"`` (the
            velocity of Eq. DM.15, weighted by Eq. DM.17 when ``min_snr_gamma`` is set).
        ema_decay: keep an exponential moving average of the weights with this decay (warmed
            up as min(decay, (1 + n)/(10 + n)) after n steps) and sample from it; None for none.
        guidance: the default guidance weight w when labels are requested.
        sample_steps: the default number of DDIM steps.
        ema_network: the averaged copy (restored from a saved model; built from ``network``
            otherwise).
    """

    network_names = ("network",)
    config_names = ("timesteps", "schedule", "num_classes", "label_dropout", "ema_decay", "guidance",
                    "sample_steps", "min_snr_gamma", "prediction", "seed")

    def __init__(self, network, timesteps=1000, schedule="cosine", num_classes=10, label_dropout=0.2,
                 ema_decay=None, guidance=0.5, sample_steps=25, min_snr_gamma=None, prediction="epsilon", seed=None,
                 ema_network=None, **kwargs):
        super().__init__(**kwargs)
        if prediction not in PREDICTIONS:
            raise ValueError(f"prediction={prediction!r}: a diffusion network predicts one of {PREDICTIONS}.")
        self.prediction = prediction
        self.min_snr_gamma = None if min_snr_gamma is None else float(min_snr_gamma)
        self.network = network
        self.timesteps, self.schedule, self.num_classes = int(timesteps), schedule, int(num_classes)
        self.label_dropout, self.guidance, self.sample_steps = float(label_dropout), float(guidance), int(sample_steps)
        if not 0.0 <= self.label_dropout < 1.0:
            raise ValueError(f"label_dropout={label_dropout} must be in [0, 1).")
        self.ema_decay = None if ema_decay is None else float(ema_decay)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.alpha_bars = sampling.schedules.noise_schedule(schedule, self.timesteps)  # float64 (T,), ᾱ_t
        self._alpha_bars = ops.convert_to_tensor(self.alpha_bars, dtype="float32")
        if self.ema_decay is not None and ema_network is None:
            ema_network = keras.models.clone_model(network)
            ema_network.set_weights(network.get_weights())
        self.ema_network = ema_network
        if ema_network is not None:
            ema_network.trainable = False
        object.__setattr__(self, "_step_functions", {})
        # how often each class was trained on: p(y) for unconditional samples (saved with the weights)
        self.label_counts = self.add_weight(shape=(self.num_classes,), initializer="zeros", trainable=False,
                                            name="label_counts")
        self.build()

    @property
    def image_shape(self):
        return tuple(self.network.input_shape[0][1:])

    @property
    def latent_dim(self):
        """x_T has the image's shape: D = H·W·C values."""
        return int(np.prod(self.image_shape))

    @property
    def null_class(self):
        return self.num_classes

    def class_prior(self):
        """p(y): the share of each class among the labels trained on (uniform before training)."""
        counts = np.asarray(ops.convert_to_numpy(self.label_counts), dtype="float64")
        return counts / counts.sum() if counts.sum() > 0 else np.full(self.num_classes, 1.0 / self.num_classes)

    def get_config(self):
        config = super().get_config()
        config["ema_network"] = (None if self.ema_network is None
                                 else keras.saving.serialize_keras_object(self.ema_network))
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if config.get("ema_network") is not None:
            config["ema_network"] = keras.saving.deserialize_keras_object(config["ema_network"])
        return super().from_config(config)

    # --- training: Eq. (DM.9) ------------------------------------------------------------
    def call(self, inputs, training=False):
        """ε_θ(x_t, i, y) for ``[noisy images in [-1, 1], timestep indices, labels]``."""
        return self.network(inputs, training=training)

    def _batch_inputs(self, data):
        if not isinstance(data, (tuple, list)) or len(data) < 2:
            raise ValueError("DiffusionModel trains on (images, labels) batches; genai_tf.data.images.load yields them.")
        return validated_images(self, data), data[1]

    def compute_losses(self, images, labels, training=False):
        clean = 2.0 * ops.convert_to_tensor(images, dtype="float32") - 1.0
        batch = ops.shape(clean)[0]
        index = keras.random.randint((batch,), 0, self.timesteps, seed=self.seed_generator)
        noise = keras.random.normal(ops.shape(clean), seed=self.seed_generator)
        noisy = losses.q_sample(clean, noise, ops.take(self._alpha_bars, index))
        labels = ops.cast(ops.reshape(labels, (-1,)), "int32")
        if training:
            self.label_counts.assign_add(ops.sum(ops.one_hot(labels, self.num_classes), axis=0))
        if training and self.label_dropout > 0:
            dropped = keras.random.uniform((batch,), seed=self.seed_generator) < self.label_dropout
            labels = ops.where(dropped, ops.full_like(labels, self.null_class), labels)
        predicted = self.network([noisy, index, labels], training=training)
        alpha_bar = ops.take(self._alpha_bars, index)
        # (batch,): Eq. (DM.9)'s squared error, on ε or on v (Eq. DM.15)
        errors = losses.noise_prediction_loss(self.prediction_target(clean, noise, alpha_bar), predicted)
        if self.min_snr_gamma is not None:  # weighted by Eq. (DM.17) for v, Eq. (DM.10) for ε
            weight = losses.min_snr_velocity_weight if self.prediction == "v" else losses.min_snr_weight
            errors = errors * weight(alpha_bar, self.min_snr_gamma)
        return {"loss": ops.mean(errors)}

    def prediction_target(self, clean, noise, alpha_bar):
        """What the network regresses on for clean images in [-1, 1]: ε itself, or v (Eq. DM.15)."""
        if self.prediction == "v":
            return losses.velocity_target(clean, noise, alpha_bar)
        return ops.convert_to_tensor(noise, dtype="float32")

    def errors_by_timestep(self, images, labels, t_values, seed=0, use_ema=False):
        """The network's unweighted squared error on its own target (Eq. DM.9 on ε or on v, Eq. DM.15)
        for ``images`` in [0, 1] at each timestep t in ``t_values`` (1 … T), with fixed noise from
        ``seed``: ``(len(t_values),)``, one number per t, comparable between two networks."""
        network = self.ema_network if use_ema and self.ema_network is not None else self.network
        clean = np.concatenate([2.0 * np.asarray(images, "float32") - 1.0] * len(t_values))
        noise = np.random.default_rng(seed).standard_normal(clean.shape).astype("float32")
        index = np.repeat(np.asarray(t_values) - 1, len(images)).astype("int32")  # every image at every t
        alpha_bar = self.alpha_bars[index]
        predicted = network([losses.q_sample(clean, noise, alpha_bar), ops.convert_to_tensor(index),
                             ops.convert_to_tensor(np.tile(np.asarray(labels, "int32"), len(t_values)))], training=False)
        errors = losses.noise_prediction_loss(self.prediction_target(clean, noise, alpha_bar), predicted)
        return np.asarray(errors).reshape(len(t_values), -1).mean(axis=1)

    def train_step(self, data):
        logs = super().train_step(data)
        if self.ema_network is not None:
            steps = ops.cast(self.optimizer.iterations, "float32")
            decay = ops.minimum(self.ema_decay, (1.0 + steps) / (10.0 + steps))
            for average, weight in zip(self.ema_network.weights, self.network.weights, strict=True):
                average.assign(decay * average + (1.0 - decay) * weight)
        return logs

    # --- sampling: Eqs. (DM.13) and (DM.14) ------------------------------------------------
    def _step_function(self, network, guided):
        """One DDIM update of a batch, compiled once per (network, guided)."""
        key = (id(network), guided)
        if key not in self._step_functions:
            null, velocity = self.null_class, self.prediction == "v"

            def step(noisy, index, alpha_bar, alpha_bar_prev, labels, guidance, eta, noise):
                timesteps = ops.full((ops.shape(noisy)[0],), index)
                if guided:
                    both = network([ops.concatenate([noisy, noisy], 0), ops.concatenate([timesteps, timesteps], 0),
                                    ops.concatenate([labels, ops.full_like(labels, null)], 0)], training=False)
                    conditional, unconditional = ops.split(both, 2, axis=0)
                    epsilon = sampling.diffusion.guided_noise(conditional, unconditional, guidance)
                else:
                    epsilon = network([noisy, timesteps, labels], training=False)
                if velocity:  # guidance is linear in the output, so v̂ combines like ε̂; Eq. (DM.16)
                    epsilon = losses.clean_and_noise_from_velocity(noisy, epsilon, alpha_bar)[1]
                # x̂_0 clipped to the data's range [-1, 1], and ε re-derived from it (Eq. DM.3)
                return sampling.diffusion.denoising_update(noisy, epsilon, alpha_bar, alpha_bar_prev, eta, noise,
                                                           clip=(-1.0, 1.0))

            # plain Python branches only (on `guided`), so AutoGraph has nothing to convert
            self._step_functions[key] = tf.function(tf.autograph.experimental.do_not_convert(step),
                                                    reduce_retracing=True)
        return self._step_functions[key]

    def _checked_request(self, num_samples, labels, steps, eta, guidance, seed, null_class, solver):
        steps = self.sample_steps if steps is None else int(steps)
        if not 1 <= steps <= self.timesteps:
            raise ValueError(f"steps={steps}: this model was trained on a {self.timesteps}-step chain, so a sampler "
                             f"takes between 1 and {self.timesteps} steps.")
        if not 0.0 <= float(eta) <= 1.0:
            raise ValueError(f"eta={eta} must be in [0, 1]: 0 is deterministic DDIM, 1 has DDPM's variance.")
        solver = sampling.diffusion.check_solver(("dpm++2m" if eta == 0 else "ddim") if solver is None else solver, eta)
        if labels is None:
            if guidance:
                raise ValueError("Guidance needs labels: without them the samples are unconditional.")
            if null_class:
                labels = np.full(num_samples, self.null_class)
            else:  # y ~ p(y), then x ~ p(x | y): ancestral sampling of the joint model
                labels = np.random.default_rng(seed).choice(self.num_classes, size=num_samples, p=self.class_prior())
            guidance = 0.0
        elif null_class:
            raise ValueError("null_class=True samples from the null class, so it takes no labels.")
        else:
            labels = requested_labels(labels, num_samples, self.num_classes)
            guidance = self.guidance if guidance is None else float(guidance)
            if guidance < 0 or not math.isfinite(guidance):
                raise ValueError(f"guidance={guidance}: the guidance weight w must be a finite number ≥ 0 "
                                 f"(0 is the plain conditional model).")
        return labels.astype("int32"), steps, float(eta), float(guidance), solver

    def denoise(self, num_samples, seed=None, labels=None, steps=None, eta=0.0, guidance=None, batch_size=500,
                use_ema=True, progress=False, trajectory=False, hook=None, null_class=False, solver=None):
        """Sample with ``steps`` reverse updates; ``(x_0, x̂_0 at each step)`` with ``trajectory=True``.

        Images are returned in [0, 1]; see :meth:`generate` for the arguments. With η = 0 a
        sample depends only on the seed and its position, not on ``batch_size``; with η > 0 the
        fresh noise of each step is drawn batch by batch. ``hook`` is the step hook of
        :func:`genai_tf.sampling.diffusion.reverse_loop`, called batch by batch (``step.rows``)
        on images in the model's [-1, 1].
        """
        num_samples = int(num_samples)
        if seed is None:
            seed = int(ops.convert_to_numpy(keras.random.randint((), 0, 2**31 - 1, seed=self.seed_generator)))
        labels, steps, eta, guidance, solver = self._checked_request(num_samples, labels, steps, eta, guidance, seed,
                                                                     null_class, solver)
        network = self.ema_network if use_ema and self.ema_network is not None else self.network
        step = self._step_function(network, guidance > 0)
        generator = keras.random.SeedGenerator(seed)
        bar = keras.utils.Progbar(num_samples * steps, unit_name="image-step") if progress else None

        def step_hook(reverse_step):
            if bar is not None:
                bar.add(int(reverse_step.x.shape[0]))
            return None if hook is None else hook(reverse_step)

        # every x_T first, so a deterministic (η = 0) sample does not depend on the batch size
        starts = np.asarray(ops.convert_to_numpy(keras.random.normal((num_samples, *self.image_shape), seed=generator)))
        images, paths = [], []
        for start in range(0, num_samples, batch_size):
            batch_labels = ops.convert_to_tensor(labels[start:start + batch_size])
            shape = (len(labels[start:start + batch_size]), *self.image_shape)

            def update(x, index, alpha_bar, alpha_bar_prev, noise, batch_labels=batch_labels):
                return step(x, tf.constant(index, "int32"), tf.constant(alpha_bar, "float32"),
                            tf.constant(alpha_bar_prev, "float32"), batch_labels, tf.constant(guidance, "float32"),
                            tf.constant(eta, "float32"), noise)

            def draw_noise(shape=shape):
                return keras.random.normal(shape, seed=generator) if eta > 0 else ops.zeros(shape)

            x, path = sampling.diffusion.reverse_loop(
                update, ops.convert_to_tensor(starts[start:start + batch_size]), self.alpha_bars, steps, draw_noise,
                hook=step_hook, trajectory=trajectory, rows=slice(start, start + shape[0]), solver=solver)
            images.append(np.clip((ops.convert_to_numpy(x) + 1.0) / 2.0, 0.0, 1.0).astype("float32"))
            paths.append([(clean + 1.0) / 2.0 for clean in path or []])
        result = np.concatenate(images) if images else np.zeros((0, *self.image_shape), "float32")
        if not trajectory:
            return result
        return result, [np.concatenate([path[k] for path in paths]).astype("float32") for k in range(steps)]

    def generate(self, num_samples, seed=None, labels=None, steps=None, eta=0.0, guidance=None, batch_size=500,
                 use_ema=True, progress=False, null_class=False, solver=None):
        """``num_samples`` images in [0, 1], ``(n, H, W, C)`` float32.

        Without ``labels`` the samples are unconditional: each draws its class from p(y)
        (:meth:`class_prior`) and is then sampled unguided from p(x | y); ``null_class=True``
        samples the null class ε(x, ∅) instead. With labels (``(n,)`` ints) they are guided with
        weight ``guidance`` (default: the model's).
        ``steps`` reverse steps (default: the model's ``sample_steps``; at most T), ``eta`` in
        [0, 1]. ``solver``: "dpm++2m" (Eq. DM.18, the default at η = 0) or "ddim" (Eq. DM.13, the
        default at η > 0). The samples come from the weight average when there is one (``use_ema``).
        """
        return self.denoise(num_samples, seed=seed, labels=labels, steps=steps, eta=eta, guidance=guidance,
                            batch_size=batch_size, use_ema=use_ema, progress=progress, null_class=null_class,
                            solver=solver)


def build_diffusion(image_shape, num_classes=10, channels=(48, 96), patch=2, timesteps=1000, schedule="cosine",
                    label_dropout=0.2, ema_decay=None, guidance=0.5, min_snr_gamma=5.0, prediction="v",
                    seed=None):
    """The course's MNIST diffusion model: :func:`build_unet` and its training chain, predicting v (Eq. DM.15)."""
    network = build_unet(image_shape, num_classes=num_classes, channels=channels, patch=patch)
    return DiffusionModel(network, timesteps=timesteps, schedule=schedule, num_classes=num_classes,
                          label_dropout=label_dropout, ema_decay=ema_decay, guidance=guidance,
                          min_snr_gamma=min_snr_gamma, prediction=prediction, seed=seed, name="diffusion")


def _build_family(image_shape, latent_dim, seed, **settings):
    """The registry's build: :func:`build_diffusion` with Adam(2e-3). Keyword settings (``channels``,
    ``timesteps``, ...), which ``registry.Family.variant`` passes, go to ``build_diffusion``."""
    if latent_dim:
        raise ValueError(f"latent_dim={latent_dim}: a diffusion model has no separate latent (x_T has the "
                         f"image's shape), so leave the latent size unset.")
    model = build_diffusion(image_shape, seed=seed, **settings)
    model.compile(optimizer=keras.optimizers.Adam(2e-3))
    # Its slots now, not inside the first traced step: spares fit() a second trace of that step.
    model.optimizer.build(model.trainable_variables)
    return model


# --- the registry entry (genai_tf.models.registry) ------------------------------------------
FAMILIES = {
    # Chosen at equal CPU time on MNIST (benchmarks/README.md, "Diffusion recipe"): blocks at
    # 14×14 behind a 2×2 patch stem beat full resolution, min-SNR weighting helped a little, the
    # weight average did not, and the spatial class map made the label count.
    "diffusion": registry.Family(
        "diffusion", _build_family, DiffusionModel, latent_dim=0, conditional=True,
        title="diffusion model", description="class-conditional DDPM (U-Net on 2x2 patches, cosine schedule, T=1000, v-prediction, min-SNR-5 "
                    "weighting, 20 % label dropout), DDIM sampling; unconditional samples draw the class from "
                    "p(y); classifier-free guidance w=0.5",
        reconstructs=False, decay_start=0.0, decay_shape="cosine", decay_final_fraction=0.02,
        pretrain_budget=registry.BENCHMARK_CPU_BUDGET),  # benchmarks/diffusion.py
}
