"""The text side of the ``genai-tf`` command (notebook 08's models): training data, sampling, scoring.

:mod:`genai_tf.cli` parses the command line; these functions do what ``train``, ``sample`` and
``score`` mean for a text family (one the registry declares with ``data="text"``)::

    genai-tf train transformer --text plays.txt --minutes 20 --output checkpoints/text/transformer
    genai-tf train ngram --dataset pydoc_topics --output checkpoints/text/ngram
    genai-tf sample checkpoints/text/transformer --prompt "ROMEO:" --length 300 --temperature 0.8
    genai-tf score checkpoints/text/transformer --text held_out.txt --json
"""

from __future__ import annotations

import json
import math
from pathlib import Path

DEFAULT_TEXT = "pydoc_topics"  # the bundled corpus, as digits is for images
SAMPLING_OPTIONS = ("prompt", "length", "temperature", "top_k", "top_p")


class TextUsageError(Exception):
    """A text option given where it does not apply, or out of range (the CLI exits with 2)."""


def is_text_model(model) -> bool:
    return hasattr(model, "vocabulary") and hasattr(model, "score")


def training_text(args, family):
    """The ``TextData`` a text family trains on: ``--text FILE``, else ``--dataset`` (a corpus name)."""
    from genai_tf import text, training

    if args.text is not None and args.dataset is not None:
        raise TextUsageError("Give --text FILE or --dataset NAME, not both.")
    if args.latent_dim is not None or args.image_size is not None:
        raise TextUsageError(f"--latent-dim and --image-size apply to image families; {family.name} models text.")
    source = args.text if args.text is not None else (args.dataset or DEFAULT_TEXT)
    if args.text is None and source not in text.TEXT_CORPORA:
        raise TextUsageError(f"--dataset {source!r} is not a text corpus; use one of {', '.join(text.TEXT_CORPORA)}, "
                             f"or --text FILE for a UTF-8 file of your own.")
    return training.family_dataset(family, source, seed=args.seed, batch_size=args.batch_size, limit=args.limit)


def describe(dataset) -> str:
    return (f"{dataset.name} ({dataset.num_characters('train'):,} training characters, {dataset.vocabulary.size} "
            f"distinct; windows of {dataset.context})")


def validation_report(model, dataset) -> str:
    scores = model.score(dataset.ids("validation"))
    return (f"validation: {scores['bits_per_char']:.4f} bits/char, {scores['nats_per_char']:.4f} nats/char "
            f"over {scores['characters']:,} characters")


def check_image_options(args) -> None:
    """Refuse the text sampling options for an image model."""
    given = [name for name in SAMPLING_OPTIONS if getattr(args, name) is not None]
    if given:
        raise TextUsageError(f"--{', --'.join(name.replace('_', '-') for name in given)} only apply to text models.")


def sample_text(model, args) -> str:
    """``--length`` characters after ``--prompt``, printed (and written to ``--output`` if given)."""
    for name in ("labels", "steps", "eta", "guidance"):
        if getattr(args, name) is not None:
            raise TextUsageError(f"--{name} does not apply to a text model; use --prompt, --length, "
                                 f"--temperature, --top-k, --top-p.")
    if args.num is not None:
        raise TextUsageError("--num counts images; for text give --length (characters).")
    temperature = 1.0 if args.temperature is None else args.temperature
    if not math.isfinite(temperature) or temperature < 0:
        raise TextUsageError(f"--temperature {temperature}: use a number >= 0 (0 greedy, 1 the model's own).")
    if args.top_p is not None and not 0.0 < args.top_p <= 1.0:
        raise TextUsageError(f"--top-p {args.top_p}: use a probability in (0, 1].")
    prompt = "\n" if args.prompt is None else args.prompt
    unknown = model.vocabulary.unknown(prompt)
    if unknown:
        raise TextUsageError(f"--prompt has characters this model never saw: {', '.join(map(repr, unknown))}; "
                             f"remove or replace them.")
    generated = model.generate(prompt, 200 if args.length is None else args.length, temperature=temperature,
                               top_k=args.top_k, top_p=args.top_p, seed=args.seed)
    result = prompt + generated
    if args.output is not None:
        Path(args.output).write_text(result, encoding="utf-8")
    return result


def score(model, args) -> str:
    """Bits and nats per character of ``model`` on ``--text`` (a UTF-8 file or a corpus name)."""
    from genai_tf import text
    from genai_tf.models import registry

    if not is_text_model(model):
        families = [name for name, family in registry.families().items() if family.text]
        raise TextUsageError(f"{type(model).__name__} is not a text model; score a checkpoint of a text family "
                             f"({', '.join(families)}); images are scored with `genai-tf evaluate`.")
    name, content = text.load_text(args.text)
    scores = model.score(content)
    if args.json:
        return json.dumps({key: scores[key] for key in ("bits_per_char", "nats_per_char", "characters")})
    return (f"{name}: {scores['bits_per_char']:.4f} bits/char, {scores['nats_per_char']:.4f} nats/char "
            f"(perplexity {math.exp(scores['nats_per_char']):.2f}) over {scores['characters']:,} characters")
