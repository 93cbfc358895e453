"""Tests of genai_tf.callbacks: run folders, TensorBoard scalars and images, the NaN guard."""

import glob
import os
import re
from collections import defaultdict
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from genai_tf import callbacks, config
from genai_tf.models.autoencoder import build_dense_autoencoder
from genai_tf.models.vae import build_conv_vae
from genai_tf.training import callbacks as training_callbacks

pytestmark = pytest.mark.filterwarnings("ignore:`shuffle=True` was passed")

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


def decode_image(value):
    """The image of a ``tf.summary.image`` value: uint8 (H, W, C)."""
    width, height, png = value.tensor.string_val[:3]
    image = tf.io.decode_png(png).numpy()
    assert image.shape[:2] == (int(height), int(width))
    return image


def scalar(value):
    return float(tf.make_ndarray(value.tensor))


@pytest.fixture
def images():
    rng = np.random.default_rng(0)
    return rng.uniform(size=(3, *IMAGE_SHAPE)).astype("float32")


# --- tile_images -------------------------------------------------------------------------


def test_tile_images_layout_row_by_row():
    tiles = np.stack([np.full((2, 3, 1), index + 1, np.uint8) for index in range(5)])
    grid = callbacks.tile_images(tiles)  # 5 images → 3 columns, 2 rows
    assert grid.shape == (4, 9, 1) and grid.dtype == np.uint8
    for index in range(5):
        row, column = divmod(index, 3)
        np.testing.assert_array_equal(grid[2 * row:2 * row + 2, 3 * column:3 * column + 3], index + 1)
    np.testing.assert_array_equal(grid[2:4, 6:9], 0)  # the empty slot stays black
    narrow = callbacks.tile_images(tiles, columns=2)
    assert narrow.shape == (6, 6, 1)
    assert narrow[4, 0, 0] == 5 and narrow[4, 3, 0] == 0
    square = callbacks.tile_images(np.zeros((4, 5, 5, 3), "float32"))
    assert square.shape == (10, 10, 3)


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


# --- SampleGrid --------------------------------------------------------------------------


def test_sample_grid_logs_seeded_samples_and_reconstructions(tmp_path, images):
    model = tiny_vae()
    grid = callbacks.SampleGrid(tmp_path, num_samples=4, images=images, seed=5, every=2)
    grid.set_model(model)
    for epoch in range(3):
        grid.on_epoch_end(epoch)
    grid.on_train_end()

    events = read_events(tmp_path / "images")
    assert set(events) == {"samples", RECONSTRUCTIONS_TAG}
    assert set(events["samples"]) == {0, 2} and set(events[RECONSTRUCTIONS_TAG]) == {0, 2}

    samples = decode_image(events["samples"][2])
    assert samples.shape == (56, 56, 1)  # 4 samples, 2 × 2
    expected = callbacks.tile_images(model.generate(4, seed=5))
    np.testing.assert_allclose(samples / 255.0, expected, atol=1.0 / 255 + 1e-6)
    # the same latents every epoch: the grid only changes when the model does
    np.testing.assert_array_equal(decode_image(events["samples"][0]), samples)

    pairs = decode_image(events[RECONSTRUCTIONS_TAG][0])
    assert pairs.shape == (56, 112, 1)  # 3 (input | output) pairs of 28 × 56, 2 columns
    np.testing.assert_allclose(pairs[:28, :28, 0] / 255.0, images[0, ..., 0], atol=1.0 / 255 + 1e-6)
    reconstruction = np.asarray(model(images[:1]))[0, ..., 0]
    np.testing.assert_allclose(pairs[:28, 28:56, 0] / 255.0, reconstruction, atol=1.0 / 255 + 1e-6)


def test_sample_grid_on_a_model_without_generate_logs_reconstructions_only(tmp_path, images):
    model = build_dense_autoencoder(IMAGE_SHAPE, latent_dim=2, hidden_units=(8,), seed=0)
    grid = callbacks.SampleGrid(tmp_path, num_samples=4, images=images)
    grid.set_model(model)
    grid.on_epoch_end(0)
    grid.on_train_end()
    events = read_events(tmp_path / "images")
    assert set(events) == {RECONSTRUCTIONS_TAG}


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
    assert kinds == {callbacks.TensorBoard, callbacks.SampleGrid, training_callbacks.NaNGuard}

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


# --- LatentProjector ---------------------------------------------------------------------


def posterior_means(model, images):
    """μ(x) straight from the encoder network, not through the callback or model.encode."""
    z_mean, _ = model.encoder(images, training=False)
    return np.asarray(z_mean)


def read_projector(folder):
    """(config, {tensor name: array} of the latest checkpoint, metadata lines) of a projector folder."""
    from google.protobuf import text_format
    from tensorboard.plugins import projector

    config = text_format.Parse((folder / "projector_config.pbtxt").read_text(), projector.ProjectorConfig())
    checkpoint = tf.train.latest_checkpoint(str(folder))
    assert checkpoint, f"no checkpoint in {folder}"
    reader = tf.train.load_checkpoint(checkpoint)
    tensors = {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()}
    metadata = (folder / "metadata.tsv").read_text().splitlines()
    return config, tensors, metadata


def test_latent_projector_writes_posterior_means_labels_and_sprite(tmp_path):
    rng = np.random.default_rng(3)
    images = rng.uniform(size=(7, *IMAGE_SHAPE)).astype("float32")
    labels = np.array([3, 1, 4, 1, 5, 9, 2])
    model = tiny_vae()
    latent_projector = callbacks.LatentProjector(images, labels, tmp_path)
    model.fit(images, batch_size=4, epochs=1, verbose=0, callbacks=[latent_projector])

    folder = tmp_path / "projector"
    assert latent_projector.projector_dir == folder
    config, tensors, metadata = read_projector(folder)
    assert len(config.embeddings) == 1
    embedding = config.embeddings[0]
    codes = tensors[embedding.tensor_name]  # the tensor the config names is in the checkpoint
    assert codes.shape == (7, 2)
    # the trained encoder's posterior means, in the images' order (a sampled z is off by σ ≈ 1)
    np.testing.assert_allclose(codes, posterior_means(model, images), rtol=0, atol=1e-5)
    # one label per line, in order, no header for a single column
    assert embedding.metadata_path == "metadata.tsv"
    assert metadata == ["3", "1", "4", "1", "5", "9", "2"]

    assert list(embedding.sprite.single_image_dim) == [28, 28]
    sprite = tf.io.decode_png(tf.io.read_file(str(folder / embedding.sprite.image_path))).numpy()
    assert sprite.shape == (84, 84, 1)  # 7 thumbnails, 3 a row
    for index in (0, 1, 6):  # row by row: the point's thumbnail is its image
        row, column = divmod(index, 3)
        tile = sprite[28 * row:28 * (row + 1), 28 * column:28 * (column + 1)]
        np.testing.assert_allclose(tile / 255.0, images[index], atol=0.5 / 255 + 1e-6)
    np.testing.assert_array_equal(sprite[56:, 28:], 0)  # the empty slots stay black
    assert glob.glob(str(folder / "events.out.tfevents.*"))  # so `--logdir runs` lists the folder


def test_latent_projector_every_epochs_replaces_the_codes(tmp_path):
    images = np.random.default_rng(4).uniform(size=(6, *IMAGE_SHAPE)).astype("float32")
    labels = np.arange(6)
    model = tiny_vae()
    latent_projector = callbacks.LatentProjector(images, labels, tmp_path, every_epochs=1, sprite=False)
    seen = []  # after each epoch, what the checkpoint holds and what the encoder gives now

    def record(epoch, logs):
        _, tensors, _ = read_projector(tmp_path / "projector")
        seen.append((tensors["latents/.ATTRIBUTES/VARIABLE_VALUE"], posterior_means(model, images)))

    model.fit(images, batch_size=3, epochs=2, verbose=0,
              callbacks=[latent_projector, keras.callbacks.LambdaCallback(on_epoch_end=record)])
    assert len(seen) == 2
    for written, expected in seen:
        np.testing.assert_allclose(written, expected, rtol=0, atol=1e-5)
    assert not np.allclose(seen[0][1], seen[1][1], rtol=0, atol=1e-7)  # training moved the codes
    state = tf.train.get_checkpoint_state(str(tmp_path / "projector"))
    assert len(state.all_model_checkpoint_paths) == 1  # only the latest codes are kept
    assert not (tmp_path / "projector" / "sprite.png").exists()
    config, _, _ = read_projector(tmp_path / "projector")
    assert not config.embeddings[0].sprite.image_path


def test_latent_projector_write_for_an_autoencoder_and_a_conditional_vae(tmp_path):
    from genai_tf.models.cvae import build_conv_cvae

    images = np.random.default_rng(5).uniform(size=(5, *IMAGE_SHAPE)).astype("float32")
    labels = np.array([2, 0, 1, 1, 0])
    autoencoder = build_dense_autoencoder(IMAGE_SHAPE, latent_dim=3, hidden_units=(8,), seed=0)
    folder = callbacks.LatentProjector(images, labels, tmp_path / "ae", max_points=3).write(autoencoder)
    config, tensors, metadata = read_projector(folder)
    codes = tensors[config.embeddings[0].tensor_name]
    np.testing.assert_allclose(codes, np.asarray(autoencoder.encoder(images[:3])), rtol=0, atol=1e-5)
    assert metadata == ["2", "0", "1"]  # the first max_points images

    cvae = build_conv_cvae(IMAGE_SHAPE, num_classes=3, latent_dim=2, filters=(8, 16), dense_units=32, seed=0)
    folder = callbacks.LatentProjector(images, labels, tmp_path / "cvae", batch_size=2).write(cvae)
    config, tensors, _ = read_projector(folder)
    one_hot = np.eye(3, dtype="float32")[labels]
    z_mean, _ = cvae.encoder([tf.constant(images), tf.constant(one_hot)])  # μ(x, y): labels go in
    np.testing.assert_allclose(tensors[config.embeddings[0].tensor_name], np.asarray(z_mean), rtol=0, atol=1e-5)


def test_latent_projector_rejects_wrong_inputs(tmp_path, images):
    labels = np.arange(3)
    with pytest.raises(ValueError, match="one label per image"):
        callbacks.LatentProjector(images, labels[:2], tmp_path)
    with pytest.raises(ValueError, match="one label per image"):
        callbacks.LatentProjector(images, labels[:, None], tmp_path)
    with pytest.raises(ValueError, match=r"\(n, H, W, C\)"):
        callbacks.LatentProjector(images[0], labels, tmp_path)
    with pytest.raises(ValueError, match="floats"):
        callbacks.LatentProjector((images * 255).astype("uint8"), labels, tmp_path)
    with pytest.raises(ValueError, match="max_points"):
        callbacks.LatentProjector(images, labels, tmp_path, max_points=0)
    with pytest.raises(ValueError, match="every_epochs"):
        callbacks.LatentProjector(images, labels, tmp_path, every_epochs=0)
    with pytest.raises(ValueError, match="8192"):  # 2 tiles of 1 × 5000 pixels, 2 a row
        callbacks.LatentProjector(np.zeros((2, 1, 5000, 1), "float32"), labels[:2], tmp_path)
    callbacks.LatentProjector(np.zeros((2, 1, 5000, 1), "float32"), labels[:2], tmp_path, sprite=False)

    no_encoder = keras.Sequential([keras.Input(IMAGE_SHAPE), keras.layers.Flatten(), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="no encode method"):
        callbacks.LatentProjector(images, labels, tmp_path).write(no_encoder)
    assert not (tmp_path / "projector").exists()
