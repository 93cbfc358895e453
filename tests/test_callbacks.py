"""Tests of genai_tf.training.callbacks: run folders, the standard callbacks' TensorBoard scalars
and images, the NaN guard, the time budget, step history and learning-rate decay."""

import re
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from genai_tf import config
from genai_tf.training import callbacks as training_callbacks
from genai_tf.viz import tensorboard
from tests.tensorboard_events import IMAGE_SHAPE, RECONSTRUCTIONS_TAG, read_events, tiny_vae

pytestmark = pytest.mark.filterwarnings("ignore:`shuffle=True` was passed")


def scalar(value):
    return float(tf.make_ndarray(value.tensor))


# --- run folders -------------------------------------------------------------------------


def test_runs_root_follows_the_environment_and_the_notebooks_folder(tmp_path, monkeypatch):
    monkeypatch.setenv(config.RUNS_ENV, str(tmp_path / "elsewhere"))
    assert config.runs_root() == tmp_path / "elsewhere"

    monkeypatch.delenv(config.RUNS_ENV)
    project = tmp_path / "project"
    (project / "notebooks").mkdir(parents=True)
    (project / "pyproject.toml").write_text("")
    monkeypatch.chdir(project / "notebooks")
    assert config.runs_root() == project / "runs"
    monkeypatch.chdir(project)
    assert config.runs_root() == project / "runs"
    other = tmp_path / "other" / "notebooks"  # no pyproject.toml above it
    other.mkdir(parents=True)
    monkeypatch.chdir(other)
    assert config.runs_root() == other / "runs"


def test_run_directory_is_created_under_the_notebook(tmp_path):
    path = training_callbacks.run_directory("01_autoencoder", "first", root=tmp_path)
    assert path == tmp_path / "01_autoencoder" / "first" and path.is_dir()
    stamped = training_callbacks.run_directory("01_autoencoder", root=tmp_path)
    assert stamped.parent == tmp_path / "01_autoencoder" and stamped.is_dir() and stamped != path


# --- training_callbacks: one real fit ------------------------------------------------------


def test_training_callbacks_write_scalars_and_images_for_every_term(tmp_path, monkeypatch):
    monkeypatch.setenv(config.RUNS_ENV, str(tmp_path / "runs"))
    rng = np.random.default_rng(1)
    train = rng.uniform(size=(64, *IMAGE_SHAPE)).astype("float32")
    validation = rng.uniform(size=(32, *IMAGE_SHAPE)).astype("float32")
    model = tiny_vae()
    fit_callbacks, log_dir = training_callbacks.training_callbacks(
        "99_test", "vae", sample_images=validation[:4], num_samples=4)

    log_dir = Path(log_dir)
    assert log_dir.parent == tmp_path / "runs" / "99_test"
    assert log_dir.name.endswith("-vae") and log_dir.is_dir()
    kinds = {type(callback) for callback in fit_callbacks}
    assert kinds == {tensorboard.TensorBoard, tensorboard.SampleGrid, training_callbacks.NaNGuard}

    history = model.fit(train, validation_data=(validation,), batch_size=32, epochs=2, verbose=0,
                        callbacks=fit_callbacks).history
    for split, prefix in (("train", ""), ("validation", "val_")):
        events = read_events(log_dir / split)
        for name in model.loss_names:
            tag = f"epoch_{name}"
            assert set(events[tag]) == {0, 1}, (split, tag)
            assert scalar(events[tag][1]) == pytest.approx(history[prefix + name][1], rel=1e-5)
    images = read_events(log_dir / "images")
    assert set(images["samples"]) == {0, 1} and set(images[RECONSTRUCTIONS_TAG]) == {0, 1}
    assert scalar(read_events(log_dir / "train")["epoch_learning_rate"][1]) == pytest.approx(1e-3)


def test_tensorboard_logs_each_named_optimizer_of_a_gan(tmp_path, monkeypatch):
    """A GAN's two optimizers are logged by name; Keras' unused default optimizer is not."""
    from genai_tf.models.gan import build_mlp_gan

    monkeypatch.setenv(config.RUNS_ENV, str(tmp_path / "runs"))
    model = build_mlp_gan(IMAGE_SHAPE, latent_dim=4, units=(8, 8, 8), seed=0)
    model.compile(d_optimizer=keras.optimizers.Adam(1e-4), g_optimizer=keras.optimizers.Adam(3e-4))
    fit_callbacks, log_dir = training_callbacks.training_callbacks("99_test", "gan", num_samples=4)
    train = np.random.default_rng(2).uniform(size=(16, *IMAGE_SHAPE)).astype("float32")
    model.fit(train, batch_size=8, epochs=1, verbose=0, callbacks=fit_callbacks)
    events = read_events(Path(log_dir) / "train")
    assert scalar(events["epoch_learning_rate_d_optimizer"][0]) == pytest.approx(1e-4)
    assert scalar(events["epoch_learning_rate_g_optimizer"][0]) == pytest.approx(3e-4)
    assert "epoch_learning_rate" not in events


# --- NaNGuard ----------------------------------------------------------------------------


def test_nan_guard_stops_training_on_nan_images():
    model = tiny_vae()
    bad = np.full((16, *IMAGE_SHAPE), np.nan, "float32")
    with pytest.raises(FloatingPointError) as error:
        model.fit(bad, batch_size=8, epochs=2, verbose=0, callbacks=[training_callbacks.NaNGuard()])
    message = str(error.value)
    named = re.match(r"'(\w+)' became nan at epoch 1, batch 1\.", message)
    assert named and named.group(1) in model.loss_names, message  # every logged term is watched
    assert "learning rate" in message
    assert model.stop_training
    with pytest.raises(FloatingPointError, match="'loss' became nan"):
        model.fit(bad, batch_size=8, epochs=1, verbose=0, callbacks=[training_callbacks.NaNGuard(keys=("loss",))])


def test_nan_guard_names_the_key_that_went_bad():
    model = tiny_vae()
    guard = training_callbacks.NaNGuard()
    guard.set_model(model)
    guard.on_epoch_begin(2)
    guard.on_train_batch_end(0, {"loss": 1.0, "kl_loss": 0.5})  # finite: nothing happens
    with pytest.raises(FloatingPointError) as error:
        guard.on_train_batch_end(6, {"loss": 1.0, "kl_loss": float("inf")})
    assert "'kl_loss' became inf at epoch 3, batch 7" in str(error.value)
    assert "learning rate" in str(error.value)

    only_loss = training_callbacks.NaNGuard(keys=("loss",))
    only_loss.set_model(model)
    only_loss.on_train_batch_end(0, {"loss": 1.0, "kl_loss": float("nan")})  # not watched
    with pytest.raises(FloatingPointError, match="'loss'"):
        only_loss.on_train_batch_end(1, {"loss": float("nan")})


def test_time_budget_stops_fit_and_reports_what_it_used():
    import keras
    import numpy as np
    import pytest

    from genai_tf.training.callbacks import TimeBudget

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    budget = TimeBudget(seconds=0.0)  # spent after the first batch
    x = np.zeros((64, 2), "float32")
    model.fit(x, x[:, :1], batch_size=8, epochs=50, callbacks=[budget], verbose=0)
    assert budget.steps == 1 and budget.epochs == 1
    assert budget.wall_seconds > 0.0
    with pytest.raises(ValueError, match="clock"):
        TimeBudget(1.0, clock="gpu")


def test_step_history_records_every_step_and_evaluates_the_model_on_schedule():
    import time

    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, use_bias=False)])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    kernels = []  # the weight after each step, seen by an independent callback
    record = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: kernels.append(float(model.layers[0].kernel.numpy()[0, 0])))

    def evaluate(trained):
        started = time.process_time()
        while time.process_time() - started < 0.3:  # an expensive metric: 0.3 CPU-s
            pass
        return {"weight": trained.layers[0].kernel.numpy()[0, 0]}

    history = training_callbacks.StepHistory(every=3, evaluate=evaluate)
    x = np.ones((32, 1), "float32")
    model.fit(x, 2 * x, batch_size=8, epochs=2, shuffle=False, callbacks=[record, history], verbose=0)
    assert [entry["step"] for entry in history.steps] == list(range(1, 9))
    assert all(np.isfinite(entry["loss"]) and entry["loss"] >= 0 for entry in history.steps)
    assert [entry["step"] for entry in history.evaluations] == [3, 6]
    for entry in history.evaluations:
        assert entry["weight"] == pytest.approx(kernels[entry["step"] - 1])
        assert entry["cpu_seconds"] == history.steps[entry["step"] - 1]["cpu_seconds"]
    cpu = [entry["cpu_seconds"] for entry in history.steps]
    assert all(later >= earlier for earlier, later in zip(cpu, cpu[1:]))
    assert cpu[3] - cpu[2] < 0.2  # the 0.3 CPU-s evaluation after step 3 is not training time
    model.fit(x, 2 * x, batch_size=8, epochs=1, shuffle=False, callbacks=[history], verbose=0)
    assert history.steps[-1]["step"] == 12 and [e["step"] for e in history.evaluations] == [3, 6, 9, 12]
    with pytest.raises(ValueError, match="both every"):
        training_callbacks.StepHistory(every=3)
    with pytest.raises(ValueError, match="positive"):
        training_callbacks.StepHistory(every=0, evaluate=evaluate)


def test_step_history_block_means_are_the_means_of_each_steps_own_value():
    """With a frozen model (learning rate 0) each step's loss is known from its batch alone; the
    block means recovered from fit's running means must match them, across an epoch boundary."""
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, use_bias=False)])
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss="mse")
    x = np.arange(1, 33, dtype="float32")[:, None]  # 4 batches of 8 per epoch, each with its own loss
    history = training_callbacks.StepHistory()
    model.fit(x, np.zeros_like(x), batch_size=8, epochs=2, shuffle=False, callbacks=[history], verbose=0)
    weight = float(model.layers[0].kernel.numpy()[0, 0])
    per_step = [float(np.mean((weight * x[i * 8:(i + 1) * 8]) ** 2)) for i in range(4)] * 2  # (8,) steps
    blocks = history.block_means(3)  # steps 1-3, 4-6 (spans the two epochs); 7-8 dropped
    assert set(blocks) == {"loss"}
    np.testing.assert_allclose(blocks["loss"], [np.mean(per_step[:3]), np.mean(per_step[3:6])], rtol=1e-4)
    np.testing.assert_allclose(history.block_means(4)["loss"], [np.mean(per_step[:4])] * 2, rtol=1e-4)
    with pytest.raises(ValueError, match="positive"):
        history.block_means(0)


def test_linear_decay_follows_its_formula_over_fit_steps():
    import keras
    import numpy as np
    import pytest

    from genai_tf.training.schedule import LearningRateDecay

    class Record(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.rates = []

        def on_train_batch_begin(self, batch, logs=None):  # runs after LearningRateDecay's
            self.rates.append(float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)))

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    record = Record()
    x = np.zeros((40, 2), "float32")
    model.fit(x, x[:, :1], batch_size=10, epochs=2, callbacks=[LearningRateDecay(start=0.5), record], verbose=0)
    # 8 steps: progress p = step/8; rate 0.1 · min(1, (1 − p)/0.5)
    expected = [0.1 * min(1.0, (1 - step / 8) / 0.5) for step in range(8)]
    np.testing.assert_allclose(record.rates, expected, rtol=1e-6)
    assert record.rates[-1] == pytest.approx(0.025)

    with pytest.raises(ValueError, match="start"):
        LearningRateDecay(start=1.0)
    with pytest.raises(ValueError, match="shape"):
        LearningRateDecay(shape="step")
    scheduled = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    scheduled.compile(optimizer=keras.optimizers.SGD(keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)),
                      loss="mse")
    with pytest.raises(ValueError, match="schedule"):
        scheduled.fit(x, x[:, :1], batch_size=10, epochs=1, callbacks=[LearningRateDecay()], verbose=0)


def test_linear_decay_over_a_time_budget_anneals_both_gan_optimizers():
    import keras
    import numpy as np

    from genai_tf.models import gan
    from genai_tf.training.callbacks import TimeBudget
    from genai_tf.training.schedule import LearningRateDecay

    model = gan.build_mlp_gan((8, 8, 1), latent_dim=4, units=(8, 8), seed=0)
    model.compile(d_optimizer=keras.optimizers.Adam(1e-3), g_optimizer=keras.optimizers.Adam(2e-3))
    budget = TimeBudget(seconds=0.0)  # spent after the first batch: progress ≥ 1
    decay = LearningRateDecay(start=0.0, budget=budget)
    images = np.random.default_rng(0).uniform(size=(64, 8, 8, 1)).astype("float32")
    model.fit(images, batch_size=8, epochs=1, callbacks=[budget, decay], verbose=0)
    np.testing.assert_allclose([decay.initial["d_optimizer"], decay.initial["g_optimizer"]], [1e-3, 2e-3])
    # the first step ran at the full rates (nothing spent yet); now the budget is spent: rate 0
    assert budget.progress >= 1.0 and decay.scale() == 0.0
    decay.on_train_batch_begin(1)
    assert float(model.d_optimizer.learning_rate) == 0.0 and float(model.g_optimizer.learning_rate) == 0.0


def test_cosine_decay_matches_its_closed_form_at_known_points():
    import math

    import pytest

    from genai_tf.training.schedule import LearningRateDecay

    decay = LearningRateDecay("cosine", start=0.2, final_fraction=0.02)
    for progress, expected in [(0.0, 1.0), (0.2, 1.0), (0.6, 0.02 + 0.98 * 0.5), (1.0, 0.02), (1.3, 0.02),
                               (0.4, 0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * 0.25)))]:
        decay.progress = lambda progress=progress: progress
        assert decay.scale() == pytest.approx(expected)
