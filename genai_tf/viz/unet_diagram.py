"""A schematic of the diffusion model's U-Net (notebook 07), read from the built Keras model.

:func:`unet_structure` reads the layers :func:`genai_tf.models.unet.build_unet` names (the stem,
the class map, the down, middle and up blocks, the skip concatenations, the head) and their
output shapes; :func:`unet_schematic` draws them as a U: resolution falls going down, the skip
connections run across, and every residual block is marked (▲) where the time-and-class
embedding enters it.
"""

from __future__ import annotations

import dataclasses
import re

from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch


@dataclasses.dataclass(frozen=True)
class UNetLevel:
    """One box of the schematic: a layer of the U-Net and the shape it outputs."""

    name: str          # the Keras layer's name ("down_0", "middle_1", …)
    shape: tuple       # (H, W, C) of its output
    level: int         # 0 at the stem's resolution, +1 per halving
    conditioned: bool  # a residual block: it receives the time-and-class embedding


@dataclasses.dataclass(frozen=True)
class UNetStructure:
    """What :func:`unet_schematic` draws, read from a ``build_unet`` model."""

    image_shape: tuple               # (H, W, C) of x_t and of ε̂
    stem: UNetLevel                  # the patch (or 3×3) convolution
    class_map: tuple | None          # (h, w, c) of the learned per-class image beside the stem, if any
    path: tuple                      # the blocks in order: down, middle, up (UNetLevel each)
    skips: tuple                     # (down block name, up block name) pairs joined by a skip concatenation
    embedding_dim: int               # width of the time-and-class embedding every block receives
    patch: int                       # the stem's stride


def _shape(layer) -> tuple:
    return tuple(int(size) for size in layer.output.shape[1:])


def unet_structure(network) -> UNetStructure:
    """The stem, class map, blocks and skips of a :func:`genai_tf.models.unet.build_unet` network."""
    names = [layer.name for layer in network.layers]
    if "stem" not in names or "predicted_noise" not in names:
        raise ValueError(f"{network.name!r} is not a build_unet network (no 'stem' and 'predicted_noise' layers).")
    stem = network.get_layer("stem")
    image_shape = tuple(int(size) for size in network.input_shape[0][1:])
    stem_height = _shape(stem)[0]

    def level(name) -> UNetLevel:
        shape = _shape(network.get_layer(name))
        return UNetLevel(name, shape, (stem_height // shape[0]).bit_length() - 1, not name.startswith("stem"))

    blocks = [name for name in names if re.fullmatch(r"(down|middle|up)_\d+", name)]
    order = {"down": 0, "middle": 1, "up": 2}
    blocks.sort(key=lambda name: (order[name.split("_")[0]],
                                  (-1 if name.startswith("up") else 1) * int(name.split("_")[1])))
    skips = tuple((f"down_{name.split('_')[1]}", f"up_{name.split('_')[1]}")
                  for name in names if re.fullmatch(r"skip_\d+", name))
    class_map = _shape(network.get_layer("class_map_image")) if "class_map_image" in names else None
    embedding = network.get_layer("time_mlp_2") if "time_mlp_2" in names else None
    return UNetStructure(image_shape=image_shape, stem=level("stem"), class_map=class_map,
                         path=tuple(level(name) for name in blocks), skips=skips,
                         embedding_dim=int(embedding.output.shape[-1]) if embedding is not None else 0,
                         patch=image_shape[0] // stem_height)


def _box(axis, x, y, text, color, width=0.78, height=0.62):
    axis.add_patch(FancyBboxPatch((x - width / 2, y - height / 2), width, height, boxstyle="round,pad=0.03",
                                  facecolor=color, edgecolor="0.3"))
    axis.text(x, y, text, ha="center", va="center", fontsize=7.5)


def _arrow(axis, start, end, style="-|>", color="0.25", **kwargs):
    """An arrow between two boxes' centres, drawn from edge to edge so it crosses no label."""
    (x0, y0), (x1, y1) = start, end
    if y0 == y1:    # side by side: right edge to left edge
        start, end = (x0 + 0.39, y0), (x1 - 0.39, y1)
    elif x0 == x1:  # one above the other: bottom edge to top edge
        start, end = (x0, y0 - 0.31), (x1, y1 + 0.31)
    else:           # to the next level: from a bottom or top corner to the other box's near corner
        up = y1 > y0
        start, end = (x0 + 0.25, y0 + (0.31 if up else -0.31)), (x1 - 0.25, y1 + (-0.31 if up else 0.31))
    axis.annotate("", xy=end, xytext=start, arrowprops={"arrowstyle": style, "color": color, "lw": 1.1,
                                                        "shrinkA": 1, "shrinkB": 1, **kwargs})


def unet_schematic(network, title=None) -> Figure:
    """Draw a ``build_unet`` network as a U: boxes ``name / H×W×C``, data flow, skips and conditioning."""
    structure = unet_structure(network)
    figure = Figure(figsize=(1.15 * (len(structure.path) + 4), 4.6))
    axis = figure.subplots()
    size = "×".join(str(value) for value in structure.image_shape)
    positions = {"input": (0.0, 1.0), "stem": (1.0, 0.0)}
    _box(axis, 0.0, 1.0, f"x_t\n{size}", "#e8e8e8")
    stem_label = f"{structure.patch}×{structure.patch} stem" if structure.patch > 1 else "3×3 stem"
    _box(axis, 1.0, 0.0, f"{stem_label}\n{'×'.join(map(str, structure.stem.shape))}", "#d6e4f0")
    _arrow(axis, positions["input"], positions["stem"])
    if structure.class_map is not None:
        positions["class_map"] = (1.0, 1.0)
        _box(axis, 1.0, 1.0, f"class map(y)\n{'×'.join(map(str, structure.class_map))}", "#f6d7b0")
        _arrow(axis, positions["class_map"], positions["stem"], color="#c46a00")
        axis.text(1.06, 0.5, "concat", fontsize=7, color="#c46a00", ha="left")
    previous = positions["stem"]
    for column, block in enumerate(structure.path, start=2):
        positions[block.name] = (float(column), -float(block.level))
        kind = block.name.split("_")[0]
        color = {"down": "#cfe8cf", "middle": "#e6d5ef", "up": "#fbe3e3"}[kind]
        _box(axis, column, -block.level, f"{block.name}\n{'×'.join(map(str, block.shape))}", color)
        _arrow(axis, previous, positions[block.name])
        if positions[block.name][1] != previous[1]:  # a change of resolution on the way
            down = positions[block.name][1] < previous[1]
            axis.text((previous[0] + column) / 2 + 0.08, (previous[1] + positions[block.name][1]) / 2,
                      "stride-2 conv" if down else "upsample ×2\n+ 3×3 conv", fontsize=6.5, color="0.35",
                      ha="left" if down else "right")
        previous = positions[block.name]
    for start, end in structure.skips:
        (x0, y0), (x1, y1) = positions[start], positions[end]
        axis.annotate("", xy=(x1 - 0.2, y1 + 0.31), xytext=(x0 + 0.2, y0 + 0.31),
                      arrowprops={"arrowstyle": "-|>", "color": "#3a6ea5", "lw": 1.1, "linestyle": "--",
                                  "connectionstyle": "arc3,rad=-0.2", "shrinkA": 1, "shrinkB": 1})
        axis.text((x0 + x1) / 2, y0 + 0.4 + 0.1 * (x1 - x0), "skip (concat)", fontsize=7, color="#3a6ea5",
                  ha="center")
    out_x = len(structure.path) + 2.0
    _box(axis, out_x, 1.0, f"ε̂\n{size}", "#e8e8e8")
    _arrow(axis, previous, (out_x, 1.0))
    axis.text(out_x + 0.05, 0.35, "head" + (f": {structure.patch}×{structure.patch}\ntransposed conv"
                                            if structure.patch > 1 else ": 3×3 conv"), fontsize=7)
    bottom = -max(block.level for block in structure.path) - 1.2
    _box(axis, 1.0, bottom, f"embedding({structure.embedding_dim})\nMLP(sin(t)) + emb(y)", "#fff2b3", width=1.6)
    for block in structure.path:  # every residual block gets a scale and a shift from the embedding
        x, y = positions[block.name]
        axis.plot([x, x], [bottom + 0.2, y - 0.36], color="#b59a00", lw=0.8, ls=":")
        axis.plot([x], [y - 0.36], marker="^", color="#b59a00", ms=5)
    axis.plot([1.8, positions[structure.path[-1].name][0]], [bottom + 0.2, bottom + 0.2], color="#b59a00",
              lw=0.8, ls=":")
    axis.set_xlim(-0.7, out_x + 1.0)
    axis.set_ylim(bottom - 0.5, 1.8)
    axis.axis("off")
    axis.set_title(title or "the noise predictor ε_θ(x_t, t, y): a U-Net (▲: t and y enter each residual block)",
                   fontsize=9)
    figure.tight_layout()
    return figure
