"""genai_tf.viz.unet_diagram: the U-Net's structure read from the built model, and its schematic."""

import pytest

from genai_tf.models.unet import build_unet
from genai_tf.viz import unet_diagram


def test_the_structure_of_the_course_unet():
    structure = unet_diagram.unet_structure(build_unet((28, 28, 1)))
    assert structure.image_shape == (28, 28, 1) and structure.patch == 2
    assert structure.stem.shape == (14, 14, 48) and structure.class_map == (14, 14, 8)
    assert [(level.name, level.shape, level.level) for level in structure.path] == [
        ("down_0", (14, 14, 48), 0), ("down_1", (7, 7, 96), 1), ("middle_0", (7, 7, 96), 1),
        ("middle_1", (7, 7, 96), 1), ("up_0", (14, 14, 48), 0)]
    assert all(level.conditioned for level in structure.path)
    assert structure.skips == (("down_0", "up_0"),) and structure.embedding_dim == 128


def test_a_deeper_unet_without_patch_or_class_map():
    structure = unet_diagram.unet_structure(build_unet((16, 16, 3), channels=(8, 16, 32), patch=1,
                                                       class_map_channels=0, middle_blocks=1, embedding_dim=32))
    assert structure.patch == 1 and structure.class_map is None and structure.embedding_dim == 32
    assert [level.name for level in structure.path] == ["down_0", "down_1", "down_2", "middle_0", "up_1", "up_0"]
    assert [level.level for level in structure.path] == [0, 1, 2, 2, 1, 0]
    assert set(structure.skips) == {("down_0", "up_0"), ("down_1", "up_1")}
    assert structure.path[2].shape == (4, 4, 32)


def test_the_schematic_names_every_part():
    figure = unet_diagram.unet_schematic(build_unet((28, 28, 1), channels=(16, 32)))
    texts = [text.get_text() for text in figure.axes[0].texts]
    for fragment in ("2×2 stem\n14×14×16", "class map(y)\n14×14×8", "down_1\n7×7×32", "up_0\n14×14×16",
                     "skip (concat)", "embedding(128)", "x_t\n28×28×1", "ε̂\n28×28×1"):
        assert any(fragment in text for text in texts), fragment


def test_other_networks_are_refused():
    import keras

    inputs = keras.Input((4,))
    with pytest.raises(ValueError, match="not a build_unet network"):
        unet_diagram.unet_structure(keras.Model(inputs, keras.layers.Dense(2)(inputs)))
