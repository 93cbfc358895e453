"""The class-conditional GAN (notebook 06): G(z, y) draws the digit y.

The generator is the course DCGAN's, with a learned vector per class concatenated to z. The
discriminator is told about y in one of two ways:

- ``"projection"`` (Miyato & Koyama 2018), Eq. (CGAN.1): D(x, y) = ψ(φ(x)) + e_yᵀ φ(x), a
  logit for "x is a real image of class y"; trained with the non-saturating losses of
  Eqs. (GAN.2) and (GAN.6) on (image, label) pairs.
- ``"auxiliary"`` (AC-GAN, Odena et al. 2017): D(x) gives a real/fake logit and class logits;
  both players add the classifier's cross-entropy, Eq. (CGAN.2): D on real and on generated
  images, G on its own (so G is pushed to draw images the classifier reads as y).

Batches are ``(images, labels)``; the generator is trained on labels drawn uniformly.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import layers, ops

from genai_tf import losses
from genai_tf.models import registry
from genai_tf.models.base import requested_labels, validated_images
from genai_tf.models.gan import (
    AdversarialModel,
    dcgan_features,
    dcgan_generator,
    default_d_filters,
    family_builder,
    spectrally_normalised,
)

HEADS = ("projection", "auxiliary")


@keras.saving.register_keras_serializable(package="genai_tf")
class ConditionalGAN(AdversarialModel):
    """G: ``[latents, labels]`` → image in [-1, 1]; D: ``[images, labels]`` → logit (projection)
    or images → ``[logit, class logits]`` (auxiliary).

    Compile with ``d_optimizer=...`` and ``g_optimizer=...``. ``generate(n, seed, labels=...)``
    draws the requested classes.
    """

    loss_names = ("d_loss", "g_loss", "d_real", "d_fake", "class_loss")
    config_names = ("head", "num_classes", "class_weight", "seed")

    def __init__(self, generator, discriminator, head="projection", num_classes=10, class_weight=1.0, seed=None,
                 **kwargs):
        if head not in HEADS:
            raise ValueError(f"head={head!r}; use one of {HEADS}.")
        super().__init__(generator, discriminator, seed=seed, **kwargs)
        self.head = head
        self.num_classes = int(num_classes)
        self.class_weight = float(class_weight)
        self.build()

    def _batch_labels(self, data):
        if not isinstance(data, (tuple, list)) or len(data) < 2:
            raise ValueError("ConditionalGAN trains on (images, labels) batches; genai_tf.data.images.load yields them.")
        return ops.cast(ops.reshape(data[1], (-1,)), "int32")

    def call(self, inputs, training=False):
        """G(z, y) in [0, 1] for ``inputs = [latents, labels]``."""
        latents, labels = inputs
        labels = ops.cast(ops.reshape(labels, (-1,)), "int32")
        return (self.generator([latents, labels], training=training) + 1.0) / 2.0

    def sample_labels(self, batch_size):
        return keras.random.randint((batch_size,), 0, self.num_classes, seed=self.seed_generator, dtype="int32")

    def judge(self, images, labels, training=False):
        """D's ``(logits (batch, 1), class logits (batch, K) or None)`` on [-1, 1] images of classes ``labels``."""
        if self.head == "projection":
            return self.discriminator([images, labels], training=training), None
        logits, class_logits = self.discriminator(images, training=training)
        return logits, class_logits

    def discriminator_terms(self, real, labels, fake, fake_labels, training=False):
        real_logits, real_classes = self.judge(real, labels, training)
        fake_logits, fake_classes = self.judge(fake, fake_labels, training)
        d_loss = ops.mean(losses.discriminator_loss(real_logits, fake_logits))
        class_loss = ops.zeros(())
        if self.head == "auxiliary":
            class_loss = ops.mean(losses.auxiliary_class_loss(labels, real_classes)
                                  + losses.auxiliary_class_loss(fake_labels, fake_classes))
            d_loss = d_loss + self.class_weight * class_loss
        return {"d_loss": d_loss, "class_loss": class_loss,
                "d_real": ops.mean(ops.sigmoid(real_logits)), "d_fake": ops.mean(ops.sigmoid(fake_logits))}

    def generator_terms(self, latents, labels, training=False):
        fake = self.generator([latents, labels], training=training)
        logits, classes = self.judge(fake, labels, training)
        g_loss = ops.mean(losses.generator_nonsaturating_loss(logits))
        if self.head == "auxiliary":
            g_loss = g_loss + self.class_weight * ops.mean(losses.auxiliary_class_loss(labels, classes))
        return {"g_loss": g_loss}

    def compute_losses(self, images, labels, training=False):
        real = images * 2.0 - 1.0
        batch_size = ops.shape(real)[0]
        latents, fake_labels = self.sample_latents(batch_size), self.sample_labels(batch_size)
        fake = self.generator([latents, fake_labels], training=training)
        terms = self.discriminator_terms(real, labels, fake, fake_labels, training)
        terms.update(self.generator_terms(latents, fake_labels, training))
        return terms

    def _batch_inputs(self, data):
        return validated_images(self, data), self._batch_labels(data)

    def train_step(self, data):
        images, labels = self._batch_inputs(data)
        real = images * 2.0 - 1.0
        batch_size = ops.shape(real)[0]
        # 1. discriminator, on real (x, y) pairs and on samples of uniformly drawn classes.
        fake_labels = self.sample_labels(batch_size)
        fake = self.generator([self.sample_latents(batch_size), fake_labels], training=True)
        with tf.GradientTape() as tape:
            d_terms = self.discriminator_terms(real, labels, fake, fake_labels, training=True)
        self.update_weights(tape, d_terms["d_loss"], self.discriminator.trainable_weights, self.d_optimizer)
        # 2. generator, through D, on fresh noise and classes.
        latents, fake_labels = self.sample_latents(batch_size), self.sample_labels(batch_size)
        with tf.GradientTape() as tape:
            g_terms = self.generator_terms(latents, fake_labels, training=True)
        self.update_weights(tape, g_terms["g_loss"], self.generator.trainable_weights, self.g_optimizer)
        return self._record({**d_terms, **g_terms})

    def generate(self, num_samples, seed=None, labels=None):
        """Draw z ~ N(0, I) and G(z, y) for the requested ``labels`` (``(n,)`` ints).

        Without ``labels`` the classes cycle 0, 1, …, num_classes-1. Returns float32
        ``(n, H, W, C)`` in [0, 1].
        """
        labels = requested_labels(labels, num_samples, self.num_classes)
        latents = self.sample_latents(len(labels), seed=seed)
        images = self([latents, ops.convert_to_tensor(labels)], training=False)
        return np.asarray(ops.convert_to_numpy(images), dtype="float32")


def build_cgan(image_shape, num_classes=10, latent_dim=64, filters=(128, 64), head_filters=32, d_filters=None,
               head="projection", label_dim=32, class_weight=1.0, spectral_norm=False, seed=None):
    """A class-conditional DCGAN: G gets a learned ``label_dim``-vector per class next to z;
    D is the DCGAN's with a projection or an auxiliary-classifier head.

    ``spectral_norm=True`` spectrally normalises D's convs and its ψ (and class-logit) layer and
    drops D's batch norm (``gan.dcgan_features``); the class embedding e_y stays as it is.
    Notebook 06 measures it against the recipe at a fixed small budget."""
    if head not in HEADS:
        raise ValueError(f"head={head!r}; use one of {HEADS}.")
    generator = dcgan_generator(image_shape, latent_dim, filters, head_filters, num_classes=num_classes,
                                label_dim=label_dim, name="cgan_generator")
    images = keras.Input(tuple(image_shape), name="images")
    features = dcgan_features(images, default_d_filters(filters, d_filters), spectral_norm=spectral_norm)  # φ(x)
    logit = spectrally_normalised(layers.Dense(1, name="logit"), spectral_norm)(features)  # ψ(φ(x)): (batch, 1)
    if head == "projection":
        labels = keras.Input((), dtype="int32", name="labels")
        embedded = layers.Embedding(num_classes, features.shape[-1], name="class_projection")(labels)  # e_y: (batch, F)
        projection = layers.Dot(axes=-1)([embedded, features])  # e_yᵀ φ(x): (batch, 1)
        discriminator = keras.Model([images, labels], layers.Add(name="conditional_logit")([logit, projection]),
                                    name="cgan_projection_discriminator")
    else:
        class_logits = spectrally_normalised(layers.Dense(num_classes, name="class_logits"), spectral_norm)(features)
        discriminator = keras.Model(images, [logit, class_logits], name="cgan_auxiliary_discriminator")
    return ConditionalGAN(generator, discriminator, head=head, num_classes=num_classes, class_weight=class_weight,
                          seed=seed, name=f"cgan_{head}")


# --- the registry entry (genai_tf.models.registry) ------------------------------------------
FAMILIES = {
    "cgan": registry.Family(
        "cgan", family_builder(build_cgan, 4e-4), ConditionalGAN, latent_dim=64, conditional=True,
        title="conditional GAN", description="class-conditional DCGAN: label embedding in G, projection discriminator, "
                    "the DCGAN's recipe (Adam 4e-4 decayed linearly to 0 over the second half)",
        reconstructs=False, decay_start=0.5, pretrain_budget=registry.BENCHMARK_CPU_BUDGET),  # benchmarks/gan.py
}
