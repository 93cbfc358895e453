"""genai_tf.training: one training path, checkpoints, and resume that equals an unbroken run.

A "kill" is a callback that raises after a given global step, so the test is exact and does
not depend on the machine's speed; tests/test_cli.py kills a real process too.
"""

import json

import keras
import numpy as np
import pytest

from genai_tf import data, training
from genai_tf.data import images as image_data
from genai_tf.models import registry
from genai_tf.models.vae import VAE
from genai_tf.training import callbacks as training_callbacks
from genai_tf.training import resume

pytestmark = pytest.mark.filterwarnings("ignore:`shuffle=True` was passed")


class Killed(Exception):
    pass


class KillAt(keras.callbacks.Callback):
    """Raise after ``step`` batches of this call, as a kill would stop the process."""

    def __init__(self, step):
        super().__init__()
        self.step, self.seen = step, 0

    def on_train_batch_end(self, batch, logs=None):
        self.seen += 1
        if self.seen == self.step:
            raise Killed


def digits_for(family, limit=256, batch_size=64):
    return training.family_dataset(family, "digits", batch_size=batch_size, limit=limit, seed=0)


def small_family(kind):
    """A quick family of each kind of data, and the options that load a little of its default source.
    A new kind adds its line here; the resume tests below walk ``data.KINDS``."""
    import dataclasses

    from genai_tf.models import char_mlp

    small = {
        "images": (registry.family("autoencoder").variant(filters=(4, 8)), {"limit": 256, "batch_size": 64}),
        "text": (dataclasses.replace(registry.family("char_mlp"), context=16, build=lambda spec, latent_dim, seed:
                                     char_mlp.build_char_mlp(spec, context=4, hidden=16)),
                 {"limit": 20_000, "batch_size": 4}),
    }
    assert kind in small, f"add a small family of the kind {kind!r} to tests/test_training.py's small_family"
    return small[kind]


@pytest.mark.parametrize("kind", list(data.KINDS))
def test_every_kind_resumes_a_killed_run_exactly_and_loads_a_finished_one(kind, tmp_path):
    family, options = small_family(kind)
    dataset = training.family_dataset(family, data.kind(kind).DEFAULT, seed=0, **options)
    settings = {"steps": 6, "seed": 0, "log": "test", "log_root": tmp_path / "runs", "checkpoint_steps": 2,
                "validation": False}
    unbroken = training.train(family, dataset, output=tmp_path / "unbroken", **settings)
    with pytest.raises(Killed):
        training.train(family, dataset, output=tmp_path / "killed", callbacks=[KillAt(3)], **settings)
    resumed = training.train(family, dataset, output=tmp_path / "killed", **settings)
    assert resumed.resumed_at == 2 and resumed.steps == unbroken.steps == 6
    assert max_difference(resumed.model, unbroken.model) <= 1e-6
    assert any((unbroken.log_dir / "train").rglob("events.out.tfevents*"))  # the loss went to TensorBoard
    again = training.train(family, dataset, output=tmp_path / "unbroken", **settings)  # finished: loaded
    assert again.already_complete and again.steps == 6 and max_difference(again.model, unbroken.model) == 0.0


def max_difference(first, second):
    return max(float(np.max(np.abs(a - b))) for a, b in zip(first.get_weights(), second.get_weights(), strict=True))


@pytest.mark.parametrize(("family", "log"), [("vae", "test"), ("dcgan", None), ("diffusion", None)])
def test_a_killed_run_resumes_to_the_weights_of_an_unbroken_one(family, log, tmp_path):
    """VAE: one optimizer, sampling in train, validation and the logged reconstructions.
    DCGAN: two optimizers, batch norm, and a learning-rate decay over the run.
    Diffusion: random timesteps, noise and label dropout, and the weight average."""
    digits = digits_for(family)  # 4 steps per epoch
    latent_dim = 3 if registry.family(family).latent_dim else None  # diffusion has no separate latent
    settings = {"epochs": 3, "seed": 0, "latent_dim": latent_dim, "log": log, "log_root": tmp_path / "runs",
                "checkpoint_steps": 3}
    unbroken = training.train(family, digits, output=tmp_path / "unbroken", **settings)
    with pytest.raises(Killed):  # killed at step 7: the last checkpoint is step 6, mid-epoch 2
        training.train(family, digits, output=tmp_path / "killed", callbacks=[KillAt(7)], **settings)
    state = json.loads((tmp_path / "killed" / "resume" / resume.STATE_FILE).read_text())
    assert state["step"] == 6 and (tmp_path / "killed" / "resume" / state["checkpoint"]).exists()
    assert not (tmp_path / "killed" / training.MODEL_FILE).exists()

    resumed = training.train(family, digits, output=tmp_path / "killed", **settings)
    assert resumed.resumed_at == 6 and resumed.steps == unbroken.steps == 12
    assert max_difference(resumed.model, unbroken.model) <= 1e-6
    assert resume.random_state(resumed.model) == resume.random_state(unbroken.model)
    assert len(resumed.history["d_loss" if family == "dcgan" else "loss"]) == 3  # one entry per epoch
    for key, values in unbroken.history.items():
        np.testing.assert_allclose(resumed.history[key], values, rtol=1e-5, err_msg=key)
    if family == "dcgan":  # the decay reached 0 at the end in both
        assert float(resumed.model.d_optimizer.learning_rate) == float(unbroken.model.d_optimizer.learning_rate)


def test_resume_without_the_random_state_would_differ(tmp_path, monkeypatch):
    """The resume test can fail: restoring weights and data alone, not the SeedGenerators, drifts."""
    digits = digits_for("vae")
    settings = {"epochs": 2, "seed": 0, "latent_dim": 3, "log": None, "checkpoint_steps": 2}
    unbroken = training.train("vae", digits, output=tmp_path / "unbroken", **settings)
    with pytest.raises(Killed):
        training.train("vae", digits, output=tmp_path / "killed", callbacks=[KillAt(3)], **settings)
    monkeypatch.setattr(resume, "restore_random_state", lambda model, states: None)
    resumed = training.train("vae", digits, output=tmp_path / "killed", **settings)
    assert resumed.resumed_at == 2
    assert max_difference(resumed.model, unbroken.model) > 1e-4


def test_the_stream_resumes_at_any_step_with_the_same_batches():
    digits = image_data.load("digits", batch_size=100, limit=250, seed=3, binarize="dynamic")
    assert digits.steps_per_epoch == 3
    stream = list(digits.train_stream().take(7))
    later = list(digits.train_stream(start_step=4).take(3))
    for (images, labels), (expected_images, expected_labels) in zip(later, stream[4:], strict=True):
        np.testing.assert_array_equal(images, expected_images)
        np.testing.assert_array_equal(labels, expected_labels)
    sizes = [len(labels) for _, labels in stream]
    assert sizes == [100, 100, 50, 100, 100, 50, 100]  # epochs end with their partial batch
    epoch_0 = np.sort(np.concatenate([labels for _, labels in stream[:3]]))
    np.testing.assert_array_equal(epoch_0, np.sort(digits.labels("train")))  # each example once per epoch
    first_order = np.concatenate([labels for _, labels in stream[:3]])
    second_order = np.concatenate([labels for _, labels in stream[3:6]])
    assert not np.array_equal(first_order, second_order)  # reshuffled every epoch
    images = stream[0][0].numpy()
    assert set(np.unique(images)) <= {0.0, 1.0}  # dynamically binarized
    with pytest.raises(ValueError, match="start_step"):
        digits.train_stream(-1)


def test_a_finished_run_is_loaded_and_other_settings_are_refused(tmp_path):
    digits = digits_for("autoencoder", limit=64, batch_size=32)
    first = training.train("autoencoder", digits, steps=2, output=tmp_path, log=None)
    again = training.train("autoencoder", digits, steps=2, output=tmp_path, log=None)
    assert again.already_complete and again.steps == 2
    assert max_difference(again.model, first.model) == 0.0
    with pytest.raises(ValueError) as error:
        training.train("autoencoder", digits, steps=3, output=tmp_path, log=None)
    assert "other settings" in str(error.value) and "steps: 2 there, 3 now" in str(error.value)
    assert "--fresh" in str(error.value)
    fresh = training.train("autoencoder", digits, steps=3, output=tmp_path, log=None, fresh=True)
    assert fresh.steps == 3 and not fresh.already_complete


def test_an_unfinished_run_with_other_settings_is_refused(tmp_path):
    digits = digits_for("autoencoder", limit=64, batch_size=32)
    with pytest.raises(Killed):
        training.train("autoencoder", digits, epochs=2, output=tmp_path, log=None, checkpoint_steps=1,
                       callbacks=[KillAt(1)])
    with pytest.raises(ValueError, match="unfinished run with other settings.*seed: 0 there, 1 now"):
        training.train("autoencoder", digits, epochs=2, seed=1, output=tmp_path, log=None)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"epochs": 0}, "epochs=0"), ({"steps": -1}, "steps=-1"), ({"epochs": 1.5}, "epochs=1.5"),
    ({"epochs": 1, "steps": 1}, "not both"), ({}, "Say how long"), ({"seconds": 0}, "seconds=0"),
    ({"seconds": float("nan")}, "seconds=nan"), ({"epochs": 1, "clock": "gpu"}, "clock='gpu'"),
])
def test_bad_training_lengths_are_refused(kwargs, message):
    digits = digits_for("autoencoder", limit=64, batch_size=32)
    with pytest.raises(ValueError, match=message):
        training.train("autoencoder", digits, log=None, **kwargs)


def test_a_time_budget_stops_training_and_a_resumed_budget_counts_what_was_spent():
    digits = digits_for("autoencoder", limit=64, batch_size=32)
    run = training.train("autoencoder", digits, seconds=1e-3, log=None)
    assert run.steps == 1  # the first batch spends the budget
    budget = training_callbacks.TimeBudget(10.0, spent=(4.0, 8.0, 5))
    assert (budget.wall_seconds, budget.cpu_seconds, budget.steps) == (4.0, 8.0, 5)
    assert budget.progress == pytest.approx(0.4)
    assert training_callbacks.TimeBudget(10.0, clock="cpu", spent=(4.0, 8.0, 5)).progress == pytest.approx(0.8)


def test_a_nan_loss_stops_training_and_keeps_the_last_checkpoint(tmp_path):
    def explode(image_shape, latent_dim, seed):
        model = registry.family("vae").build(image_shape, latent_dim, seed)
        model.compile(optimizer=keras.optimizers.SGD(1e12))  # diverges within a few steps
        return model

    diverging = registry.Family("diverging_vae", explode, VAE, latent_dim=2, description="a VAE at lr 1e12",
                                binarize="dynamic")
    digits = digits_for("vae", limit=128, batch_size=32)
    with pytest.raises(FloatingPointError, match="became.*last good checkpoint"):
        training.train(diverging, digits, epochs=20, output=tmp_path, log=None, checkpoint_steps=1)
    state = json.loads((tmp_path / "resume" / resume.STATE_FILE).read_text())
    model = keras.models.load_model(tmp_path / "resume" / state["checkpoint"])
    assert all(np.all(np.isfinite(weight)) for weight in model.get_weights())  # the saved state is finite


def test_a_kill_while_saving_leaves_the_previous_checkpoint(tmp_path, monkeypatch):
    digits = digits_for("autoencoder", limit=64, batch_size=32)
    original_save = keras.Model.save
    saves = []

    def dies_on_second_save(self, path, *args, **kwargs):
        saves.append(path)
        if len(saves) == 2:
            # half a file under the temporary name, then the process dies
            with open(path, "wb") as handle:
                handle.write(b"PK\x03\x04 truncated")
            raise Killed
        return original_save(self, path, *args, **kwargs)

    monkeypatch.setattr(keras.Model, "save", dies_on_second_save)
    with pytest.raises(Killed):
        training.train("autoencoder", digits, steps=4, output=tmp_path, log=None, checkpoint_steps=1)
    monkeypatch.setattr(keras.Model, "save", original_save)
    state = json.loads((tmp_path / "resume" / resume.STATE_FILE).read_text())
    assert state["step"] == 1 and state["checkpoint"] == "checkpoint-1.keras"
    resumed = training.train("autoencoder", digits, steps=4, output=tmp_path, log=None, checkpoint_steps=1)
    assert resumed.resumed_at == 1 and resumed.steps == 4


def test_a_text_family_trains_with_tensorboard_logs_and_no_image_grid(tmp_path):
    import dataclasses

    from genai_tf.data import text
    from genai_tf.models import char_mlp

    dataset = text.load("pydoc_topics", context=16, batch_size=4, limit=20_000)
    small = dataclasses.replace(registry.family("char_mlp"), context=16,
                                build=lambda spec, latent_dim, seed: char_mlp.build_char_mlp(spec, context=4, hidden=16))
    # an image-sample grid would call model.generate(64, seed=...), which a text model does not take
    run = training.train(small, dataset, steps=3, log="test", log_root=tmp_path / "runs", validation=False)
    assert run.steps == 3 and run.log_dir is not None
    assert any((run.log_dir / "train").rglob("events.out.tfevents*"))  # the loss went to TensorBoard
    assert any((run.log_dir / "text").rglob("events.out.tfevents*"))  # and the text kind's samples


def test_family_dataset_loads_what_the_recipe_trains_on():
    vae, dcgan = registry.family("vae"), registry.family("dcgan")
    binary = training.family_dataset(vae, "digits", seed=3, limit=64)
    assert (binary.batch_size, binary.binarize, binary.seed) == (vae.batch_size, vae.binarize, 3)
    assert vae.binarize is not None and len(binary.images("train")) == 64
    grey = training.family_dataset("dcgan", "digits", batch_size=16, limit=64)
    assert (grey.batch_size, grey.binarize, grey.image_shape) == (16, dcgan.binarize, (28, 28, 1))
    lstm = registry.family("lstm")
    windows = training.family_dataset(lstm, "pydoc_topics", seed=1, limit=40_000, block=2_000)
    assert (windows.context, windows.batch_size, windows.seed, windows.block) == (lstm.context, lstm.batch_size, 1, 2_000)
    shorter = training.family_dataset(lstm.variant(fields={"context": 32}), "pydoc_topics", seed=1, limit=40_000,
                                      block=2_000, batch_size=4)
    assert (shorter.context, shorter.batch_size) == (32, 4) and shorter.bounds == windows.bounds


def test_initial_model_has_the_weights_training_starts_from():
    family = registry.family("autoencoder").variant(filters=(4, 8))
    digits = training.family_dataset(family, "digits", limit=64, batch_size=32)

    class FirstWeights(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.weights = self.model.get_weights()

    first = FirstWeights()
    training.train(family, digits, steps=1, seed=5, log=None, validation=False, callbacks=[first])
    untrained = training.initial_model(family, digits, seed=5)
    assert type(untrained) is family.model_class and untrained.optimizer is not None
    assert all(np.array_equal(a, b) for a, b in zip(untrained.get_weights(), first.weights, strict=True))
    other = training.initial_model(family, digits, seed=6)
    assert max(float(np.max(np.abs(a - b))) for a, b in zip(other.get_weights(), first.weights, strict=True)) > 0
