"""The registry of model families: one entry per family, naming the module that declares it.

Each family is declared once, next to its model, as a :class:`Family` in its module's
``FAMILIES`` dict: how it is built, its default recipe (optimisers, schedule, batch size), the
kind of data it takes, and how it samples. The command line, the benchmarks, checkpoints, the
training module and notebook 05 read this registry; nothing else lists the families.

Adding a family is one new module under ``genai_tf/models/`` that defines
``FAMILIES = {"name": Family(...)}``, plus one line in :data:`FAMILY_MODULES`. The test over
the registry (``tests/test_registry.py``) then trains, saves, loads and samples it.

Importing this module does not import TensorFlow or Keras, so ``genai-tf --help`` can list the
families quickly; :func:`family` imports the declaring module when it is first asked for.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
from collections.abc import Callable

# family name -> the module (under genai_tf.models) that declares it in its FAMILIES dict
FAMILY_MODULES: dict[str, str] = {
    "autoencoder": "autoencoder",
    "vae": "vae",
    "gan": "gan",
    "dcgan": "gan",
    "wgan_gp": "wgan",
    "cgan": "cgan",
    "cvae": "cvae",
    "vaegan": "vaegan",
    "diffusion": "diffusion",
    "ngram": "ngram",
    "char_mlp": "char_mlp",
    "lstm": "recurrent",
    "transformer": "transformer",
}

@dataclasses.dataclass(frozen=True)
class Family:
    """How one model family is built, trained by default, fed and sampled.

    ``data`` names the kind of data it trains on, a key of ``genai_tf.data.KINDS`` ("images":
    ``(images, labels)`` batches; "text": ``(inputs, targets)`` windows of character ids).
    ``build(spec, latent_dim, seed)`` returns the model compiled with the recipe's optimisers;
    ``spec`` is the dataset's ``spec``: the image shape, or a text family's
    ``genai_tf.data.text.TextSpec``. ``conditional``: the labels condition the model and
    ``generate`` takes ``labels``. The loader options the recipe fixes (``binarize`` for images,
    ``context`` for text) go to the kind's ``load`` as :attr:`data_options`.
    A ``counted`` family is estimated by counting, not by gradient steps: training calls its
    model's ``count(blocks)`` once on the training text.

    ``decay_start`` (a share of training in [0, 1)) adds a ``decay_shape`` decay
    ("linear" or "cosine") of every learning rate to ``decay_final_fraction`` of it over the rest
    of training (``training.schedule.schedule_callbacks``); ``None`` keeps the rates constant.
    """

    name: str
    build: Callable  # (spec, latent_dim, seed) -> compiled keras.Model
    model_class: type  # what build returns and a checkpoint of this family holds
    latent_dim: int  # default latent size; 0: none apart from the data (diffusion's x_T, text families)
    description: str
    data: str = "images"  # the kind of data: a key of genai_tf.data.KINDS
    conditional: bool = False  # generate() takes labels, which condition the model
    binarize: str | None = None  # images: how the data loader binarizes them for this family
    batch_size: int = 128  # the batch its recipe was tuned with
    reconstructs: bool = True  # whether model(images) is a reconstruction (not true of GANs)
    generates: bool = True  # whether it samples new images: model.generate(n, seed) (not an autoencoder)
    decay_start: float | None = None
    decay_shape: str = "linear"
    decay_final_fraction: float = 0.0
    counted: bool = False  # estimated by model.count(train blocks), not by fit (the n-gram)
    context: int = 0  # text families: the characters one training window holds (the MLP sees fewer)
    # What `genai-tf pretrain` trains it for: its benchmark's budget, as training.train's
    # stopping arguments ({"seconds": s, "clock": "cpu"} or {"epochs": n}); None: not pretrained.
    pretrain_budget: dict | None = None
    title: str | None = None  # how tables and figures name it ("VAE-GAN"); default: the name

    @property
    def display_name(self) -> str:
        return self.title or self.name

    @property
    def data_options(self) -> dict:
        """The options of its kind's ``load`` that the recipe fixes: those of ``binarize`` and
        ``context`` it sets (a family sets only its own kind's)."""
        return {key: value for key, value in (("binarize", self.binarize), ("context", self.context)) if value}

    def __post_init__(self):
        from genai_tf import data

        if self.data not in data.KINDS:
            raise ValueError(f"Family {self.name!r}: data={self.data!r}; use one of {tuple(data.KINDS)} "
                             f"(the kinds of genai_tf.data.KINDS).")
        if self.data == "text" and self.context < 1:
            raise ValueError(f"Family {self.name!r}: a text family declares its context (characters per window).")
        if self.counted and self.data != "text":
            raise ValueError(f"Family {self.name!r}: only text families are counted (data={self.data!r}).")
        if self.decay_start is not None and not 0.0 <= self.decay_start < 1.0:
            raise ValueError(f"Family {self.name!r}: decay_start={self.decay_start} is not in [0, 1).")
        if self.pretrain_budget is not None and not set(self.pretrain_budget) <= {"seconds", "clock", "epochs"}:
            raise ValueError(f"Family {self.name!r}: pretrain_budget={self.pretrain_budget} takes seconds, "
                             "clock and epochs (training.train's stopping arguments).")

    def variant(self, name=None, fields=None, **settings) -> Family:
        """This recipe with ``settings`` passed to its builder (narrower networks for a smoke run,
        another head or learning rate for a recipe search) and ``fields`` of the Family replaced
        (``{"batch_size": 160}``); ``name`` names the variant (default: the same name)."""
        build = functools.partial(self.build, **settings) if settings else self.build
        return dataclasses.replace(self, name=name or self.name, build=build, **(fields or {}))

    def sample(self, model, num_samples, seed=None, labels=None):
        """``num_samples`` images in [0, 1] from ``model``; ``labels`` for conditional families."""
        if self.data != "images":
            raise ValueError(f"{self.name} generates {self.data}, not images: call model.generate(...) "
                             f"(text: model.generate(prompt, length, ...)).")
        if not self.generates:
            raise ValueError(f"{self.name} does not generate images (it only reconstructs); sample from "
                             f"one of {[name for name, f in families().items() if f.generates and f.data == 'images']}.")
        if labels is not None and not self.conditional:
            raise ValueError(f"{self.name} is not conditional; it takes no labels.")
        extra = {"labels": labels} if labels is not None else {}
        return model.generate(num_samples, seed=seed, **extra)


def adam_compiled(builder, learning_rate=1e-3, **builder_kwargs):
    """A ``Family.build`` for a one-optimizer model: ``builder(image_shape, latent_dim=...,
    seed=..., **builder_kwargs)`` compiled with ``Adam(learning_rate)``.

    The build also takes keyword settings, which :meth:`Family.variant` passes: ``learning_rate``
    replaces the recipe's, anything else goes to ``builder`` (widths, ``beta``, ...).
    """
    default_rate = learning_rate

    def build(image_shape, latent_dim, seed, learning_rate=None, **settings):
        import keras

        model = builder(image_shape, latent_dim=latent_dim, seed=seed, **{**builder_kwargs, **settings})
        model.compile(optimizer=keras.optimizers.Adam(default_rate if learning_rate is None else learning_rate))
        return model

    return build


def names() -> tuple[str, ...]:
    """Every registered family name, in registry order (no TensorFlow import)."""
    return tuple(FAMILY_MODULES)


def check_name(name: str) -> str:
    """``name`` if it is a registered family, else a ValueError listing them."""
    if name not in FAMILY_MODULES:
        from genai_tf.data.shared import did_you_mean

        raise ValueError(f"Unknown model family {name!r}; choose one of {sorted(FAMILY_MODULES)}."
                         f"{did_you_mean(name, FAMILY_MODULES)}")
    return name


def family(name: str) -> Family:
    """The :class:`Family` called ``name``, imported from the module that declares it."""
    module = importlib.import_module(f"genai_tf.models.{FAMILY_MODULES[check_name(name)]}")
    declared = getattr(module, "FAMILIES", {})
    if name not in declared:
        raise LookupError(f"genai_tf.models.{FAMILY_MODULES[name]} declares no family {name!r} in its "
                          f"FAMILIES (it declares {sorted(declared)}); fix FAMILY_MODULES or the module.")
    return declared[name]


def families(data: str | None = None) -> dict[str, Family]:
    """Every registered family (of kind ``data`` if given), by name, in registry order."""
    every = {name: family(name) for name in FAMILY_MODULES}
    return every if data is None else {name: chosen for name, chosen in every.items() if chosen.data == data}


def family_of(model) -> Family:
    """The first registered family whose ``model_class`` ``model`` is (a checkpoint's family, for its kind)."""
    for chosen in families().values():
        if isinstance(model, chosen.model_class):
            return chosen
    raise ValueError(f"{type(model).__name__} is not the model of any registered family "
                     f"({', '.join(FAMILY_MODULES)}).")


def register_classes() -> None:
    """Import every family's module, so ``keras.models.load_model`` knows all their classes."""
    for module in dict.fromkeys(FAMILY_MODULES.values()):
        importlib.import_module(f"genai_tf.models.{module}")


# The CPU budget of a benchmark recipe trained on 2 cores: 15 min × 60 s × 2 cores = 30 CPU-min.
BENCHMARK_CPU_BUDGET = {"seconds": 1800.0, "clock": "cpu"}
