"""checkpoints: load_or_train trains once through genai_tf.training, then loads; clear errors."""

import pytest

from genai_tf import checkpoints, data

pytestmark = pytest.mark.filterwarnings("ignore:`shuffle=True` was passed")


def test_load_or_train_trains_once_then_loads(tmp_path):
    digits = data.load_dataset("digits", batch_size=32, limit=64, seed=0)
    first = checkpoints.load_or_train("ae", "autoencoder", digits, root=tmp_path, steps=2, log=None)
    assert not first.already_complete and first.steps == 2
    assert (tmp_path / "ae" / "model.keras").is_file() and (tmp_path / "ae" / "training.json").is_file()
    # loaded whatever the settings asked now: a pretrained checkpoint is used as it is
    second = checkpoints.load_or_train("ae", "autoencoder", digits, root=tmp_path, steps=50, log=None)
    assert second.already_complete and second.steps == 2
    for a, b in zip(first.model.get_weights(), second.model.get_weights(), strict=True):
        assert (a == b).all()
    with pytest.raises(checkpoints.CheckpointError, match="holds a Autoencoder, not a VAE"):
        checkpoints.load_or_train("ae", "vae", digits, root=tmp_path, steps=2, log=None)


def test_missing_and_corrupt_model_files_get_one_clear_error(tmp_path):
    with pytest.raises(checkpoints.CheckpointError, match="No model at .*genai-tf train"):
        checkpoints.load_model(tmp_path / "nothing")
    truncated = tmp_path / "model.keras"
    truncated.write_bytes(b"PK\x03\x04 not a whole zip file")
    with pytest.raises(checkpoints.CheckpointError, match="not a readable Keras model.*delete it and train again"):
        checkpoints.load_model(tmp_path)


def test_checkpoint_root_follows_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(checkpoints.CHECKPOINT_ENV, str(tmp_path))
    assert checkpoints.checkpoint_root() == tmp_path
    assert checkpoints.checkpoint_path("mnist/vae") == tmp_path / "mnist" / "vae" / "model.keras"
