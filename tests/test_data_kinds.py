"""Every kind of data in ``genai_tf.data.KINDS`` offers the same surface: a new kind is its module
plus one line in the table, and these tests (with the registry, resume and CLI tests) cover it."""

import inspect
import json
import subprocess
import sys

import pytest

from genai_tf import data
from genai_tf.data import shared

# a little of each kind's bundled source, quick to load: a new kind adds its line
SMALL = {"images": {"limit": 64, "batch_size": 16}, "text": {"limit": 20_000, "batch_size": 4}}


def small(kind, seed=0):
    assert kind in SMALL, f"add the options that load a little of the kind {kind!r} to SMALL in {__file__}"
    module = data.kind(kind)
    return module.load(module.DEFAULT, seed=seed, **SMALL[kind])


@pytest.mark.parametrize("kind", list(data.KINDS))
def test_every_kind_module_offers_the_same_surface(kind):
    module = data.kind(kind)
    missing = [name for name in data.SURFACE if not hasattr(module, name)]
    assert not missing, (f"{data.KINDS[kind]} lacks {missing}: every kind module offers {data.SURFACE} "
                         f"(see genai_tf/data/__init__.py)")
    assert module.DEFAULT in module.SOURCES and module.TRAIN_DEFAULT in module.SOURCES
    parameters = inspect.signature(module.load).parameters
    for name in ("seed", "limit", "data_dir", "batch_size"):
        assert parameters[name].kind is inspect.Parameter.KEYWORD_ONLY, f"{kind}: load's {name} is keyword-only"
    assert parameters["seed"].default == 0 and parameters["limit"].default is None
    ok, how = module.available_offline(module.DEFAULT)
    assert ok is True and isinstance(how, str), f"{kind}: its bundled {module.DEFAULT!r} loads offline"

    dataset = small(kind)
    missing = [name for name in data.DATASET_SURFACE if not hasattr(dataset, name)]
    assert not missing, f"{type(dataset).__name__} ({kind}) lacks {missing}: every dataset offers {data.DATASET_SURFACE}"
    assert data.kind_of(dataset) == kind
    assert dataset.batch_size == SMALL[kind]["batch_size"] and dataset.steps_per_epoch >= 1
    assert dataset.spec is not None and isinstance(dataset.describe(), str) and dataset.preview() is not None
    json.dumps(dataset.run_settings())  # stored in training.json
    for split in shared.SPLITS:
        assert dataset.split(split) is not None
    next(iter(dataset.validation))
    next(iter(dataset.test))


@pytest.mark.parametrize("kind", list(data.KINDS))
def test_every_kind_is_seeded_and_streams_by_step(kind):
    import numpy as np

    first, again, other = small(kind), small(kind), small(kind, seed=1)
    assert first.run_settings() == again.run_settings() != other.run_settings()
    stream = list(first.train_stream(0).take(4))
    later = list(again.train_stream(2).take(2))
    for batch, expected in zip(later, stream[2:], strict=True):
        for part, expected_part in zip(batch, expected, strict=True):
            np.testing.assert_array_equal(part, expected_part)
    with pytest.raises(ValueError, match="start_step"):
        first.train_stream(-1)


def test_an_unknown_kind_lists_the_kinds_and_suggests_one():
    with pytest.raises(ValueError) as error:
        data.kind("imgaes")
    assert "Did you mean 'images'?" in str(error.value) and all(kind in str(error.value) for kind in data.KINDS)


def test_the_table_of_kinds_imports_no_tensorflow():
    code = "import sys; from genai_tf import data; print(sorted(data.KINDS)); print('tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == [str(sorted(data.KINDS)), "False"]


@pytest.mark.parametrize("kind", list(data.KINDS))
def test_every_kind_saves_samples(kind, tmp_path):
    import numpy as np

    module = data.kind(kind)
    samples = {"images": np.zeros((2, 8, 8, 1), "float32"), "text": "ROMEO: hello"}
    assert kind in samples, f"add a sample of the kind {kind!r} to test_every_kind_saves_samples"
    path = tmp_path / "samples"
    assert isinstance(module.save_samples(samples[kind], path), str)
    assert any(tmp_path.iterdir())
