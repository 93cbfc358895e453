"""load_or_train: trains and saves once, then loads the same model; refuses the wrong family."""

import numpy as np
import pytest

from genai_tf import checkpoints
from genai_tf.models.autoencoder import Autoencoder, build_dense_autoencoder
from genai_tf.models.vae import VAE

SHAPE = (8, 8, 1)


def _build():
    model = build_dense_autoencoder(SHAPE, latent_dim=2, hidden_units=(8,), seed=0)
    model.compile(optimizer="adam")
    return model


def test_load_or_train_trains_once_then_loads(tmp_path):
    images = np.random.default_rng(0).uniform(size=(32, *SHAPE)).astype("float32")
    calls = []

    def train(model):
        calls.append(1)
        model.fit(images, epochs=1, batch_size=16, verbose=0)

    first, loaded = checkpoints.load_or_train("ae", _build, train, root=tmp_path)
    assert not loaded and calls == [1]
    assert (tmp_path / "ae" / "model.keras").exists()
    second, loaded = checkpoints.load_or_train("ae", _build, train, root=tmp_path, expected_class=Autoencoder)
    assert loaded and calls == [1]  # no second training
    np.testing.assert_array_equal(first(images[:4]), second(images[:4]))
    with pytest.raises(TypeError, match="not a VAE"):
        checkpoints.load_or_train("ae", _build, train, root=tmp_path, expected_class=VAE)


def test_checkpoint_root_follows_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(checkpoints.CHECKPOINT_ENV, str(tmp_path))
    assert checkpoints.checkpoint_path("vae") == tmp_path / "vae" / "model.keras"
