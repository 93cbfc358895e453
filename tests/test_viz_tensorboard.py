"""Tests of genai_tf.viz.tensorboard: the tiling, the seeded sample grid and the latent projector.

(Its ``TensorBoard``'s scalars and learning rates are tested through the standard callbacks, in
test_callbacks.py.)
"""

import glob

import keras
import numpy as np
import pytest
import tensorflow as tf

from genai_tf.models.autoencoder import build_dense_autoencoder
from genai_tf.viz import tensorboard
from genai_tf.viz.tiles import tile_images
from tests.tensorboard_events import IMAGE_SHAPE, RECONSTRUCTIONS_TAG, read_events, tiny_vae

pytestmark = pytest.mark.filterwarnings("ignore:`shuffle=True` was passed")


def decode_image(value):
    """The image of a ``tf.summary.image`` value: uint8 (H, W, C)."""
    width, height, png = value.tensor.string_val[:3]
    image = tf.io.decode_png(png).numpy()
    assert image.shape[:2] == (int(height), int(width))
    return image


@pytest.fixture
def images():
    rng = np.random.default_rng(0)
    return rng.uniform(size=(3, *IMAGE_SHAPE)).astype("float32")


# --- tile_images -------------------------------------------------------------------------


def test_tile_images_layout_row_by_row():
    tiles = np.stack([np.full((2, 3, 1), index + 1, np.uint8) for index in range(5)])
    grid = tile_images(tiles)  # 5 images → 3 columns, 2 rows
    assert grid.shape == (4, 9, 1) and grid.dtype == np.uint8
    for index in range(5):
        row, column = divmod(index, 3)
        np.testing.assert_array_equal(grid[2 * row:2 * row + 2, 3 * column:3 * column + 3], index + 1)
    np.testing.assert_array_equal(grid[2:4, 6:9], 0)  # the empty slot stays black
    narrow = tile_images(tiles, columns=2)
    assert narrow.shape == (6, 6, 1)
    assert narrow[4, 0, 0] == 5 and narrow[4, 3, 0] == 0
    square = tile_images(np.zeros((4, 5, 5, 3), "float32"))
    assert square.shape == (10, 10, 3)


# --- SampleGrid --------------------------------------------------------------------------


def test_sample_grid_logs_seeded_samples_and_reconstructions(tmp_path, images):
    model = tiny_vae()
    grid = tensorboard.SampleGrid(tmp_path, num_samples=4, images=images, seed=5, every=2)
    grid.set_model(model)
    for epoch in range(3):
        grid.on_epoch_end(epoch)
    grid.on_train_end()

    events = read_events(tmp_path / "images")
    assert set(events) == {"samples", RECONSTRUCTIONS_TAG}
    assert set(events["samples"]) == {0, 2} and set(events[RECONSTRUCTIONS_TAG]) == {0, 2}

    samples = decode_image(events["samples"][2])
    assert samples.shape == (56, 56, 1)  # 4 samples, 2 × 2
    expected = tile_images(model.generate(4, seed=5))
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
    grid = tensorboard.SampleGrid(tmp_path, num_samples=4, images=images)
    grid.set_model(model)
    grid.on_epoch_end(0)
    grid.on_train_end()
    events = read_events(tmp_path / "images")
    assert set(events) == {RECONSTRUCTIONS_TAG}


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
    latent_projector = tensorboard.LatentProjector(images, labels, tmp_path)
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
    latent_projector = tensorboard.LatentProjector(images, labels, tmp_path, every_epochs=1, sprite=False)
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
    folder = tensorboard.LatentProjector(images, labels, tmp_path / "ae", max_points=3).write(autoencoder)
    config, tensors, metadata = read_projector(folder)
    codes = tensors[config.embeddings[0].tensor_name]
    np.testing.assert_allclose(codes, np.asarray(autoencoder.encoder(images[:3])), rtol=0, atol=1e-5)
    assert metadata == ["2", "0", "1"]  # the first max_points images

    cvae = build_conv_cvae(IMAGE_SHAPE, num_classes=3, latent_dim=2, filters=(8, 16), dense_units=32, seed=0)
    folder = tensorboard.LatentProjector(images, labels, tmp_path / "cvae", batch_size=2).write(cvae)
    config, tensors, _ = read_projector(folder)
    one_hot = np.eye(3, dtype="float32")[labels]
    z_mean, _ = cvae.encoder([tf.constant(images), tf.constant(one_hot)])  # μ(x, y): labels go in
    np.testing.assert_allclose(tensors[config.embeddings[0].tensor_name], np.asarray(z_mean), rtol=0, atol=1e-5)


def test_latent_projector_rejects_wrong_inputs(tmp_path, images):
    labels = np.arange(3)
    with pytest.raises(ValueError, match="one label per image"):
        tensorboard.LatentProjector(images, labels[:2], tmp_path)
    with pytest.raises(ValueError, match="one label per image"):
        tensorboard.LatentProjector(images, labels[:, None], tmp_path)
    with pytest.raises(ValueError, match=r"\(n, H, W, C\)"):
        tensorboard.LatentProjector(images[0], labels, tmp_path)
    with pytest.raises(ValueError, match="floats"):
        tensorboard.LatentProjector((images * 255).astype("uint8"), labels, tmp_path)
    with pytest.raises(ValueError, match="max_points"):
        tensorboard.LatentProjector(images, labels, tmp_path, max_points=0)
    with pytest.raises(ValueError, match="every_epochs"):
        tensorboard.LatentProjector(images, labels, tmp_path, every_epochs=0)
    with pytest.raises(ValueError, match="8192"):  # 2 tiles of 1 × 5000 pixels, 2 a row
        tensorboard.LatentProjector(np.zeros((2, 1, 5000, 1), "float32"), labels[:2], tmp_path)
    tensorboard.LatentProjector(np.zeros((2, 1, 5000, 1), "float32"), labels[:2], tmp_path, sprite=False)

    no_encoder = keras.Sequential([keras.Input(IMAGE_SHAPE), keras.layers.Flatten(), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="no encode method"):
        tensorboard.LatentProjector(images, labels, tmp_path).write(no_encoder)
    assert not (tmp_path / "projector").exists()
