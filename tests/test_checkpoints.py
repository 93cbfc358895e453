"""checkpoints: load_or_train trains once through genai_tf.training, then loads; clear errors."""

import pytest

from genai_tf import checkpoints, config, training
from genai_tf.data import images as image_data

pytestmark = pytest.mark.filterwarnings("ignore:`shuffle=True` was passed")


def test_load_or_train_trains_once_then_loads(tmp_path):
    digits = image_data.load("digits", batch_size=32, limit=64, seed=0)
    first = checkpoints.load_or_train("ae", "autoencoder", digits, root=tmp_path, steps=2, log=None)
    assert not first.already_complete and first.steps == 2
    assert (tmp_path / "ae" / "model.keras").is_file() and (tmp_path / "ae" / "training.json").is_file()
    # loaded whatever the settings asked now: a pretrained checkpoint is used as it is
    second = checkpoints.load_or_train("ae", "autoencoder", digits, root=tmp_path, steps=50, log=None)
    assert second.already_complete and second.steps == 2
    for a, b in zip(first.model.get_weights(), second.model.get_weights(), strict=True):
        assert (a == b).all()
    with pytest.raises(training.CheckpointError, match="holds a Autoencoder, not a VAE"):
        checkpoints.load_or_train("ae", "vae", digits, root=tmp_path, steps=2, log=None)


def test_missing_and_corrupt_model_files_get_one_clear_error(tmp_path):
    with pytest.raises(training.CheckpointError, match="No model at .*genai-tf train"):
        training.load_model(tmp_path / "nothing")
    truncated = tmp_path / "model.keras"
    truncated.write_bytes(b"PK\x03\x04 not a whole zip file")
    with pytest.raises(training.CheckpointError, match="not a readable Keras model.*delete it and train again"):
        training.load_model(tmp_path)


def test_checkpoint_root_follows_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(config.CHECKPOINT_ENV, str(tmp_path))
    assert config.checkpoint_root() == tmp_path
    assert checkpoints.checkpoint_path("mnist/vae") == tmp_path / "mnist" / "vae" / "model.keras"


def test_fit_or_load_trains_by_default_and_loads_only_when_asked(tmp_path, capsys):
    from genai_tf.models import registry

    digits = image_data.load("digits", batch_size=32, limit=64, seed=0)
    pretrained = checkpoints.load_or_train("digits/autoencoder", "autoencoder", digits, root=tmp_path,
                                           steps=2, log=None).model
    fresh = registry.family("autoencoder").build(digits.image_shape, latent_dim=16, seed=1)
    # default: train the notebook's own model, even though a checkpoint exists
    trained = checkpoints.fit_or_load(fresh, "digits/autoencoder", root=tmp_path, x=digits.train,
                                      epochs=2, verbose=0)
    assert not trained.loaded and trained.model is fresh and len(trained.history["loss"]) == 2
    assert trained.cpu_seconds > 0 and trained.steps == 2 * digits.steps_per_epoch
    # asked to load: the checkpoint's model (its weights, its saved history), not the one passed in
    loaded = checkpoints.fit_or_load(fresh, "digits/autoencoder", load=True, root=tmp_path,
                                     x=digits.train, epochs=2, verbose=0)
    assert loaded.loaded and loaded.loaded_from == tmp_path / "digits" / "autoencoder"
    assert loaded.model is not fresh and "loaded digits/autoencoder" in capsys.readouterr().out
    for a, b in zip(loaded.model.get_weights(), pretrained.get_weights(), strict=True):
        assert (a == b).all()
    assert set(loaded.history) >= {"loss"} and loaded.steps == 2
    # asked to load, nothing there: trains, says how to make one, writes nothing
    other = registry.family("autoencoder").build(digits.image_shape, latent_dim=16, seed=2)
    fallback = checkpoints.fit_or_load(other, "digits/missing", load=True, root=tmp_path, x=digits.train,
                                       epochs=1, verbose=0)
    assert not fallback.loaded and "genai-tf pretrain --families missing" in capsys.readouterr().out
    assert not (tmp_path / "digits" / "missing").exists()
    # a checkpoint of another class is refused, naming both
    vae = registry.family("vae").build(digits.image_shape, latent_dim=4, seed=0)
    with pytest.raises(training.CheckpointError, match="holds a Autoencoder, not a VAE"):
        checkpoints.fit_or_load(vae, "digits/autoencoder", load=True, root=tmp_path, x=digits.train, epochs=1)
