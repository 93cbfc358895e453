"""What the TensorBoard tests share: a tiny VAE and a reader of a run folder's event files."""

import glob
import os
from collections import defaultdict

import keras
import tensorflow as tf

from genai_tf.models.vae import build_conv_vae

IMAGE_SHAPE = (28, 28, 1)
RECONSTRUCTIONS_TAG = "reconstructions (left: input, right: output)"


def tiny_vae(seed=0):
    model = build_conv_vae(IMAGE_SHAPE, latent_dim=2, filters=(8, 16), dense_units=32, seed=seed)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    return model


def read_events(folder):
    """{tag: {step: summary value}} from every event file in ``folder``."""
    files = sorted(glob.glob(os.path.join(str(folder), "events.out.tfevents.*")))
    assert files, f"no event file in {folder}"
    found = defaultdict(dict)
    for path in files:
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                found[value.tag][event.step] = value
    return found
