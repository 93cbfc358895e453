"""``genai-tf sample``, ``score`` and ``evaluate``: what a trained model makes, and how good it is.

TensorFlow is imported only when a command runs, never when this module is imported.
"""

from __future__ import annotations

import math
from pathlib import Path

from genai_tf.cli.parser import UsageError, check_dataset_name


def _families(wanted) -> str:
    """The registered families for which ``wanted(family)`` holds, as "a, b or c"."""
    from genai_tf.models import registry

    names = [name for name, family in registry.families().items() if wanted(family)]
    return ", ".join(names[:-1]) + f" or {names[-1]}" if len(names) > 1 else "".join(names)


# `genai-tf sample`'s options for each kind of data (a new kind adds its line and its sampler below).
SAMPLE_OPTIONS = {"images": ("num", "labels", "steps", "eta", "solver", "guidance", "null_class"),
                  "text": ("prompt", "length", "temperature", "top_k", "top_p")}


def sample(args) -> int:
    """Load ``DIR/model.keras`` and sample it as its family's kind says: images to a ``.npy``, text printed."""
    from genai_tf import data, training
    from genai_tf.models import registry

    model = training.load_model(args.model_dir)
    family = registry.family_of(model)
    for other, options in SAMPLE_OPTIONS.items():
        given = [name for name in options if other != family.data and getattr(args, name) is not None]
        if given:
            flags = ", ".join(f"--{name.replace('_', '-')}" for name in given)
            mine = ", ".join(f"--{name.replace('_', '-')}" for name in SAMPLE_OPTIONS[family.data])
            raise UsageError(f"{flags} does not apply to a {family.data} model (they are for {other}); use {mine}.")
    samples = SAMPLERS[family.data](model, args)
    if args.output is not None:
        print(data.kind(family.data).save_samples(samples, args.output))
    return 0


def _sample_images(model, args):
    if args.output is None:
        raise UsageError("--output FILE.npy is required for images.")
    args.num = 64 if args.num is None else args.num
    if not hasattr(model, "generate"):
        raise UsageError(f"{type(model).__name__} is not a generative model (it has no generate()); sample from "
                         f"a {_families(lambda family: family.generates and family.data == 'images')} checkpoint "
                         f"instead.")
    extra = {}
    if args.labels is not None:
        if not hasattr(model, "num_classes"):
            raise UsageError(f"--labels needs a conditional model "
                             f"({_families(lambda family: family.conditional)}); {type(model).__name__} is not one.")
        try:
            labels = [int(value) for value in args.labels.split(",")]
        except ValueError:
            raise UsageError(f"--labels {args.labels!r}: give whole numbers separated by commas, e.g. 3 or 0,1,2") from None
        if any(not 0 <= label < model.num_classes for label in labels):
            raise UsageError(f"--labels {args.labels}: classes run from 0 to {model.num_classes - 1}.")
        if len(labels) not in (1, args.num):
            raise UsageError(f"--labels has {len(labels)} classes; give one for all samples or one per "
                             f"sample (--num {args.num}).")
        extra["labels"] = labels * args.num if len(labels) == 1 else labels
    extra.update(_sampler_options(model, args))
    return model.generate(args.num, seed=args.seed, **extra)


def _sample_text(model, args) -> str:
    """``--length`` characters after ``--prompt``, printed (and written to ``--output`` if given)."""
    temperature = 1.0 if args.temperature is None else args.temperature
    if not math.isfinite(temperature) or temperature < 0:
        raise UsageError(f"--temperature {temperature}: use a number >= 0 (0 greedy, 1 the model's own).")
    if args.top_p is not None and not 0.0 < args.top_p <= 1.0:
        raise UsageError(f"--top-p {args.top_p}: use a probability in (0, 1].")
    prompt = "\n" if args.prompt is None else args.prompt
    unknown = model.vocabulary.unknown(prompt)
    if unknown:
        raise UsageError(f"--prompt has characters this model never saw: {', '.join(map(repr, unknown))}; "
                         f"remove or replace them.")
    generated = model.generate(prompt, 200 if args.length is None else args.length, temperature=temperature,
                               top_k=args.top_k, top_p=args.top_p, seed=args.seed)
    print(prompt + generated)
    return prompt + generated


SAMPLERS = {"images": _sample_images, "text": _sample_text}


def _sampler_options(model, args) -> dict:
    """``generate``'s diffusion arguments from ``--steps``, ``--eta``, ``--solver``, ``--guidance`` and
    ``--null-class``, checked."""
    given = {name: getattr(args, name) for name in ("steps", "eta", "solver", "guidance", "null_class")
             if getattr(args, name) is not None}
    if not hasattr(model, "timesteps"):
        if given:
            flags = "/--".join(name.replace("_", "-") for name in given)
            raise UsageError(f"--{flags} only apply to diffusion models; {type(model).__name__} samples in one pass.")
        return {}
    if args.steps is not None and args.steps > model.timesteps:
        raise UsageError(f"--steps {args.steps}: this model was trained on a {model.timesteps}-step chain; "
                         f"use 1 to {model.timesteps} (e.g. 25).")
    if args.eta is not None and not 0.0 <= args.eta <= 1.0:
        raise UsageError(f"--eta {args.eta}: use a value in [0, 1] (0 deterministic DDIM, 1 DDPM's variance).")
    if args.solver == "dpm++2m" and args.eta:
        raise UsageError(f"--solver dpm++2m solves the deterministic chain; with --eta {args.eta} use --solver ddim.")
    if args.guidance is not None:
        if args.guidance < 0 or not math.isfinite(args.guidance):
            raise UsageError(f"--guidance {args.guidance}: the guidance weight must be 0 or more (e.g. 1).")
        if args.labels is None:
            raise UsageError("--guidance needs --labels: without labels the samples are unconditional.")
    if args.null_class and args.labels is not None:
        raise UsageError("--null-class samples the null class, so it takes no --labels; give one or the other.")
    return {**given, "progress": args.num * (args.steps or model.sample_steps) >= 25_000}


def score(args) -> int:
    """Print bits/char and nats/char of a text model on ``--text``."""
    from genai_tf import training

    print(score_report(training.load_model(args.model_dir), args))
    return 0


def score_report(model, args) -> str:
    """Bits and nats per character of ``model`` on ``--text`` (a UTF-8 file or a corpus name)."""
    import json

    from genai_tf.data import corpora

    if not hasattr(model, "score"):
        raise UsageError(f"{type(model).__name__} is not a text model; score a checkpoint of a text family "
                         f"({_families(lambda family: hasattr(family.model_class, 'score'))}); images are scored "
                         f"with `genai-tf evaluate`.")
    name, content = corpora.load_text(args.text)
    scores = model.score(content)
    if args.json:
        return json.dumps({key: scores[key] for key in ("bits_per_char", "nats_per_char", "characters")})
    return (f"{name}: {scores['bits_per_char']:.4f} bits/char, {scores['nats_per_char']:.4f} nats/char "
            f"(perplexity {math.exp(scores['nats_per_char']):.2f}) over {scores['characters']:,} characters")


def evaluate(args) -> int:
    """Score generated images (a ``.npy``) against the dataset's test split: cFID, KID, IS, P/R."""
    import numpy as np

    check_dataset_name(args.dataset)
    from genai_tf import feature_classifier, sample_quality, tables
    from genai_tf.data import images

    path = Path(args.samples)
    if not path.is_file():
        raise FileNotFoundError(f"No samples at {path}. Write some with `genai-tf sample DIR --output {path}`.")
    try:
        loaded = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as error:
        raise ValueError(f"{path} is not a readable .npy array ({error}).") from error
    samples = feature_classifier.check_images(loaded)  # (N, H, W, C) in [0, 1]
    height, width = samples.shape[1:3]
    if height != width:
        raise ValueError(f"The samples are {height}x{width}; only square images are supported.")
    # seed 0: the split the classifier was trained with, so its test images stay unseen.
    real = images.load(args.dataset, image_size=height, seed=0)
    if tuple(samples.shape[1:]) != real.image_shape:
        raise ValueError(f"The samples have shape {samples.shape}, but {args.dataset} images at "
                         f"that size are {real.image_shape}: generate (N, "
                         f"{', '.join(map(str, real.image_shape))}) images, or pick the right --dataset.")
    classifier = feature_classifier.load_classifier(args.dataset, real.image_shape, cache_dir=args.cache_dir)
    results = sample_quality.evaluate_samples(samples, real.images("test"), classifier,
                                              num_real=args.num_real, seed=args.seed)
    print(tables.format_report(results))
    return 0
