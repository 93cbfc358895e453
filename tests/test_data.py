"""Tests of genai_tf.data.images: splits, shapes, binarization, the .npz and tfds paths, offline errors."""

import time
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

import genai_tf.config as config
from genai_tf.data import image_sources, shared
from genai_tf.data import images as image_data

REAL_MNIST = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist.npz"


def row_hashes(images):
    return {image.tobytes() for image in images}


def first_batch_images(dataset):
    return next(iter(dataset))[0].numpy()


@pytest.fixture
def no_data_dir(tmp_path, monkeypatch):
    """GENAI_TF_DATA_DIR points at an empty folder, so no .npz is found."""
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv(config.DATA_DIR_ENV, str(empty))
    return empty


def write_npz(path, n_train, n_test, image_shape, label_shape=()):
    rng = np.random.default_rng(1)
    np.savez(
        path,
        x_train=rng.integers(0, 256, (n_train, *image_shape), dtype=np.uint8),
        y_train=rng.integers(0, 10, (n_train, *label_shape), dtype=np.uint8),
        x_test=rng.integers(0, 256, (n_test, *image_shape), dtype=np.uint8),
        y_test=rng.integers(0, 10, (n_test, *label_shape), dtype=np.uint8),
    )


# --- digits -------------------------------------------------------------------------------


def test_digits_shapes_dtypes_and_range():
    loaded = image_data.load("digits", batch_size=64)
    assert loaded.image_shape == (28, 28, 1)
    assert loaded.num_classes == 10
    images, labels = next(iter(loaded.train))
    assert images.shape == (64, 28, 28, 1) and images.dtype == tf.float32
    assert labels.shape == (64,) and labels.dtype == tf.int32
    for split in image_data.SPLITS:
        x, y = loaded.images(split), loaded.labels(split)
        assert x.dtype == np.float32 and y.dtype == np.int32
        assert x.shape[1:] == (28, 28, 1) and len(x) == len(y)
        assert 0.0 <= x.min() and x.max() <= 1.0
    assert loaded.validation.element_spec == loaded.train.element_spec
    assert loaded.test.element_spec == loaded.train.element_spec


def test_digits_splits_partition_the_1797_images():
    loaded = image_data.load("digits", image_size=None)
    sizes = {split: len(loaded.images(split)) for split in image_data.SPLITS}
    assert sizes == {"train": 1374, "validation": 153, "test": 270}
    hashes = [row_hashes(loaded.images(split)) for split in image_data.SPLITS]
    assert sum(len(h) for h in hashes) == 1797
    assert len(set().union(*hashes)) == 1797  # disjoint


def test_digits_native_size_and_values():
    loaded = image_data.load("digits", image_size=None)
    assert loaded.image_shape == (8, 8, 1)
    levels = np.unique(loaded.images("train") * 16)
    np.testing.assert_allclose(levels, np.round(levels))  # 0..16 divided by 16


def test_digits_seeded_splits():
    first = image_data.load("digits", image_size=None, seed=3)
    again = image_data.load("digits", image_size=None, seed=3)
    other = image_data.load("digits", image_size=None, seed=4)
    for split in image_data.SPLITS:
        np.testing.assert_array_equal(first.images(split), again.images(split))
        np.testing.assert_array_equal(first.labels(split), again.labels(split))
    assert row_hashes(first.images("test")) != row_hashes(other.images("test"))


def test_train_reshuffles_each_epoch_but_validation_keeps_its_order():
    loaded = image_data.load("digits", image_size=None, batch_size=32)
    assert not np.array_equal(first_batch_images(loaded.train), first_batch_images(loaded.train))
    np.testing.assert_array_equal(first_batch_images(loaded.validation),
                                  loaded.images("validation")[:32])
    count = sum(int(y.shape[0]) for _, y in loaded.train)
    assert count == 1374  # the partial last batch is kept


def test_limit():
    loaded = image_data.load("digits", limit=100, batch_size=64)
    assert len(loaded.images("train")) == 100
    assert len(loaded.images("validation")) == 100
    assert len(loaded.images("test")) == 100
    assert [int(y.shape[0]) for _, y in loaded.train] == [64, 36]
    small = image_data.load("digits", limit=10)
    full = image_data.load("digits", image_size=28)
    assert row_hashes(small.images("train")) <= row_hashes(full.images("train"))


# --- binarization -------------------------------------------------------------------------


def test_binarize_images_is_seeded_bernoulli():
    grey = np.full((200, 8, 8, 1), 0.3, np.float32)
    drawn = image_data.binarize_images(grey, seed=0)
    assert drawn.dtype == np.float32 and drawn.shape == grey.shape
    assert set(np.unique(drawn)) <= {0.0, 1.0}
    assert abs(drawn.mean() - 0.3) < 0.02
    np.testing.assert_array_equal(drawn, image_data.binarize_images(grey, seed=0))
    assert not np.array_equal(drawn, image_data.binarize_images(grey, seed=1))


def test_static_binarization():
    loaded = image_data.load("digits", binarize="static", batch_size=256)
    for dataset in (loaded.train, loaded.validation, loaded.test):
        assert set(np.unique(first_batch_images(dataset))) <= {0.0, 1.0}
    assert len(np.unique(loaded.images("train"))) > 2  # arrays keep the grey levels
    np.testing.assert_array_equal(first_batch_images(loaded.test),
                                  first_batch_images(loaded.test))


def test_dynamic_binarization_changes_each_epoch_and_is_reproducible():
    loaded = image_data.load("digits", binarize="dynamic", shuffle_buffer=1)
    epoch_1 = first_batch_images(loaded.train)
    epoch_2 = first_batch_images(loaded.train)
    assert set(np.unique(epoch_1)) <= {0.0, 1.0}
    assert not np.array_equal(epoch_1, epoch_2)  # same images (buffer 1), new pixels
    fresh = image_data.load("digits", binarize="dynamic", shuffle_buffer=1)
    np.testing.assert_array_equal(epoch_1, first_batch_images(fresh.train))
    np.testing.assert_array_equal(first_batch_images(loaded.validation),
                                  first_batch_images(loaded.validation))


# --- local .npz -----------------------------------------------------------------------------


def test_npz_mnist_layout(tmp_path, monkeypatch):
    monkeypatch.setattr(shared, "network_available", lambda *a, **k: pytest.fail("network"))
    write_npz(tmp_path / "mnist.npz", 200, 50, (28, 28))
    loaded = image_data.load("mnist", data_dir=str(tmp_path), batch_size=32)
    assert loaded.image_shape == (28, 28, 1)
    assert [len(loaded.images(s)) for s in image_data.SPLITS] == [180, 20, 50]
    images, labels = next(iter(loaded.train))
    assert images.shape == (32, 28, 28, 1) and labels.dtype == tf.int32
    raw = np.load(tmp_path / "mnist.npz")
    np.testing.assert_allclose(loaded.images("test")[..., 0], raw["x_test"] / 255.0, atol=1e-6)


def test_npz_cifar_layout_from_env(tmp_path, monkeypatch):
    monkeypatch.setattr(shared, "network_available", lambda *a, **k: pytest.fail("network"))
    monkeypatch.setenv(config.DATA_DIR_ENV, str(tmp_path))
    write_npz(tmp_path / "cifar10.npz", 60, 20, (32, 32, 3), label_shape=(1,))
    loaded = image_data.load("cifar10", image_size=16)
    assert loaded.image_shape == (16, 16, 3)
    assert loaded.labels("train").shape == (54,)
    assert image_data.available_offline("cifar10") == (True, f"local file {tmp_path / 'cifar10.npz'}")


def test_malformed_npz(tmp_path):
    np.savez(tmp_path / "mnist.npz", x_train=np.zeros((4, 28, 28), np.uint8))
    with pytest.raises(shared.DatasetUnavailableError, match="y_train") as error:
        image_data.load("mnist", data_dir=str(tmp_path))
    assert "mnist.npz" in str(error.value)


def write_arrays(path, **replaced):
    """A valid mnist-layout .npz (40 train and 12 test uint8 images, labels 0-9), some arrays replaced."""
    rng = np.random.default_rng(2)
    arrays = {"x_train": rng.integers(0, 256, (40, 28, 28), dtype=np.uint8),
              "y_train": np.arange(40) % 10,
              "x_test": rng.integers(0, 256, (12, 28, 28), dtype=np.uint8),
              "y_test": np.arange(12) % 10}
    arrays.update(replaced)
    np.savez(path, **arrays)
    return arrays


def pixels_0_255(n=40, shape=(28, 28)):
    """Integer pixel values covering exactly [0, 255], int64."""
    values = np.random.default_rng(3).integers(0, 256, (n, *shape))
    values.reshape(-1)[:2] = (0, 255)
    return values


def grey_levels(n=40, shape=(28, 28)):
    """float32 pixels in [0, 1]."""
    return (pixels_0_255(n, shape) / 255.0).astype(np.float32)


# Each wrong .npz: the arrays that differ from a valid file, and what the error must say (the
# file is always named too). Nothing may be clipped into saturated images instead.
BAD_NPZ = {
    "float64 pixels 0-255": ({"x_train": pixels_0_255().astype(np.float64)},
                             ["x_train", "float64 values in [0, 255]", "save uint8 pixels", "floats in [0, 1]", "x / 255"]),
    "int64 pixels 0-255": ({"x_train": pixels_0_255()}, ["x_train", "int64 values in [0, 255]", "save uint8 pixels"]),
    "tanh range [-1, 1]": ({"x_train": grey_levels() * 2 - 1}, ["x_train", "float32 values in [-1, 1]", "floats in [0, 1]"]),
    "NaN pixels": ({"x_train": np.where(grey_levels() > 0.99, np.nan, grey_levels())}, ["x_train", "NaN"]),
    "string pixels": ({"x_train": np.full((40, 28, 28), "a")}, ["x_train", "dtype <U1", "not numbers"]),
    "flattened (N, 784)": ({"x_train": grey_levels().reshape(40, 784)}, ["x_train", "(40, 784)", "(N, H, W)"]),
    "five dimensions": ({"x_train": grey_levels()[..., None, None]}, ["x_train", "(40, 28, 28, 1, 1)", "(N, H, W, C)"]),
    "channels first": ({"x_train": grey_levels()[:, None]}, ["x_train", "(40, 1, 28, 28)", "channels-first",
                                                              "transpose(0, 2, 3, 1)"]),
    "no images": ({"x_train": np.zeros((0, 28, 28), np.uint8), "y_train": np.zeros(0, int)},
                  ["x_train holds no images"]),
    "one label short": ({"y_train": np.arange(39) % 10}, ["40 images in x_train", "39 labels in y_train"]),
    "one-hot labels": ({"y_train": np.eye(10)[np.arange(40) % 10]},
                       ["40 images in x_train", "400 labels in y_train", "one-hot", "y_train.argmax(axis=1)"]),
    "labels 1 to 10": ({"y_train": np.arange(40) % 10 + 1}, ["y_train", "in [1, 10]", "labels 0 to 9"]),
    "fractional labels": ({"y_train": (np.arange(40) % 10) / 2}, ["y_train", "float64 values in [0, 4.5]", "integer class labels"]),
    "test pixels 0-255": ({"x_test": pixels_0_255(12).astype(np.float32)}, ["x_test", "float32 values in [0, 255]", "save uint8"]),
    "test labels one too many": ({"y_test": np.arange(13) % 10}, ["12 images in x_test", "13 labels in y_test"]),
    "test images another size": ({"x_test": grey_levels(12, (32, 32))},
                                 ["x_train images are (28, 28, 1)", "x_test images are (32, 32, 1)", "same image shape"]),
}


@pytest.mark.parametrize("case", list(BAD_NPZ))
def test_bad_npz_is_rejected_naming_the_file_what_was_found_and_the_fix(tmp_path, case):
    replaced, needed = BAD_NPZ[case]
    write_arrays(tmp_path / "mnist.npz", **replaced)
    with pytest.raises(shared.DatasetUnavailableError) as error:
        image_data.load("mnist", data_dir=str(tmp_path), image_size=None)
    message = str(error.value)
    for text in (str(tmp_path / "mnist.npz"), *needed):
        assert text in message, f"{case}: {text!r} missing from: {message}"


def test_npz_floats_in_0_1_and_binary_integers_are_kept_exactly(tmp_path):
    x_train = grey_levels().astype(np.float64)
    x_test = (pixels_0_255(12) > 127).astype(np.int64)[..., None]  # (12, 28, 28, 1) of 0 / 1
    write_arrays(tmp_path / "mnist.npz", x_train=x_train, x_test=x_test)
    loaded = image_data.load("mnist", data_dir=str(tmp_path), image_size=None, validation_fraction=0.25)
    train_and_validation = np.concatenate([loaded.images("train"), loaded.images("validation")])
    assert row_hashes(train_and_validation) == row_hashes(x_train.astype(np.float32)[..., None])
    np.testing.assert_array_equal(loaded.images("test"), x_test.astype(np.float32))


def test_out_of_range_pixels_from_any_source_are_refused_not_clipped():
    with pytest.raises(shared.DatasetUnavailableError, match=r"float64 values in \[0, 2\]"):
        image_sources.to_float(np.linspace(0.0, 2.0, 2 * 8 * 8).reshape(2, 8, 8), None, "digits")


# --- tensorflow-datasets and offline behaviour -------------------------------------------


def test_tfds_path_with_mock_data(no_data_dir, monkeypatch):
    import tensorflow_datasets as tfds

    monkeypatch.setattr(shared, "network_available", lambda *a, **k: True)
    with tfds.testing.mock_data(num_examples=40):
        loaded = image_data.load("mnist", image_size=None, batch_size=16)
    assert loaded.image_shape == (28, 28, 1)
    assert [len(loaded.images(s)) for s in image_data.SPLITS] == [36, 4, 40]
    images, labels = next(iter(loaded.train))
    assert images.shape == (16, 28, 28, 1) and labels.dtype == tf.int32


def test_offline_raises_quickly_with_both_fixes(no_data_dir, monkeypatch):
    monkeypatch.setattr(shared, "network_available", lambda *a, **k: False)
    monkeypatch.setattr(shared, "prepared", lambda builder: False)  # ignore any tfds cache
    start = time.monotonic()
    with pytest.raises(shared.DatasetUnavailableError) as error:
        image_data.load("mnist")
    # tfds alone would retry for about 200 s; 60 s leaves room for a slow import on a busy machine
    assert time.monotonic() - start < 60
    message = str(error.value)
    for needed in ("'mnist'", "digits", "GENAI_TF_DATA_DIR", str(no_data_dir / "mnist.npz")):
        assert needed in message
    assert image_data.available_offline("mnist")[0] is False
    assert image_data.available_offline("digits") == (True, "bundled with scikit-learn")


def test_real_network_probe_returns_quickly():
    start = time.monotonic()
    assert isinstance(shared.network_available(timeout=3.0), bool)
    assert time.monotonic() - start <= 15  # the probe thread is joined after its 3 s timeout


# --- argument checking --------------------------------------------------------------------


def test_unknown_name():
    with pytest.raises(ValueError, match="digits") as error:
        image_data.load("mnsit")
    assert "'mnist'" in str(error.value)  # close-match suggestion


@pytest.mark.parametrize(
    "argument, value",
    [
        ("image_size", 0), ("image_size", 2.5), ("image_size", True),
        ("batch_size", 0), ("limit", 0), ("binarize", "threshold"),
        ("validation_fraction", 0.0), ("validation_fraction", 1.0), ("shuffle_buffer", 0),
    ],
)
def test_bad_arguments(argument, value):
    with pytest.raises(ValueError, match=argument):
        image_data.load("digits", **{argument: value})


def test_unknown_split():
    loaded = image_data.load("digits", limit=10)
    with pytest.raises(ValueError, match="split"):
        loaded.images("valid")


# --- real MNIST (only where ../shared/data/mnist.npz exists) --------------------------------


def test_real_mnist():
    if not REAL_MNIST.exists():
        pytest.skip(f"{REAL_MNIST} is absent")
    loaded = image_data.load("mnist", data_dir=str(REAL_MNIST.parent), limit=1000)
    assert loaded.image_shape == (28, 28, 1)
    assert [len(loaded.images(s)) for s in image_data.SPLITS] == [1000, 1000, 1000]
    assert abs(float(loaded.images("train").mean()) - 0.1307) < 0.01
    assert set(np.unique(loaded.labels("test"))) == set(range(10))
