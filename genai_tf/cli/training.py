"""``genai-tf train`` and ``genai-tf pretrain``: a family trained into a folder, resumable.

TensorFlow is imported only when a command runs, never when this module is imported.
"""

from __future__ import annotations

from pathlib import Path

from genai_tf.cli.parser import (
    FILE_OPTIONS,
    KIND_OPTIONS,
    UsageError,
    check_dataset_name,
    check_source,
)


def _source(args, family, kind) -> str:
    """What to train on: the kind's file option (``--text FILE``), else ``--dataset``, else its default."""
    option = FILE_OPTIONS.get(family.data)
    for other, other_option in FILE_OPTIONS.items():
        if other != family.data and getattr(args, other_option) is not None:
            raise UsageError(f"--{other_option} applies to {other} families; {family.name} models {family.data} "
                             f"(use --dataset).")
    file = getattr(args, option) if option else None
    if file is not None and args.dataset is not None:
        raise UsageError(f"Give --{option} FILE or --dataset NAME, not both.")
    if file is not None:
        return file
    source = args.dataset or kind.TRAIN_DEFAULT
    check_source(source, family.data)
    return source


def _load_options(args, family) -> dict:
    """The loader options given on the command line: only those of the family's kind."""
    for other, options in KIND_OPTIONS.items():
        given = [name for name in options if getattr(args, name) is not None]
        if other != family.data and given:
            raise UsageError(f"--{given[0].replace('_', '-')} applies to families that model {other}; "
                             f"{family.name} models {family.data}.")
    return {name: getattr(args, name) for name in KIND_OPTIONS[family.data] if getattr(args, name) is not None}


def train(args) -> int:
    """Train one family on data of its kind into ``--output``, resuming an unfinished run there."""
    from genai_tf import data, training
    from genai_tf.models import registry

    family = registry.family(args.family)
    kind = data.kind(family.data)
    source = _source(args, family, kind)
    options = _load_options(args, family)
    if args.latent_dim is not None and not family.latent_dim:
        with_latent = ", ".join(name for name, other in registry.families().items() if other.latent_dim)
        raise UsageError(f"--latent-dim does not apply to {args.family}: it has no separate latent "
                         f"(families with one: {with_latent}).")
    epochs = args.epochs if args.epochs is not None or args.minutes is not None else 10
    seconds = None if args.minutes is None else 60.0 * args.minutes
    dataset = training.family_dataset(family, source, seed=args.seed, batch_size=args.batch_size, limit=args.limit,
                                      **options)
    budget = " and ".join(part for part in (
        f"{epochs} epochs" if epochs else "", f"{args.minutes:g} min ({args.clock} clock)" if seconds else "") if part)
    how = "counting" if family.counted else f"for {budget}"
    print(f"training {args.family} ({family.description}) on {dataset.describe()}: {how}; "
          f"checkpoints in {Path(args.output) / 'resume'}", flush=True)
    run = training.train(family, dataset, epochs=epochs, seconds=seconds, clock=args.clock, seed=args.seed,
                         latent_dim=args.latent_dim, output=args.output, fresh=args.fresh,
                         checkpoint_seconds=60.0 * args.checkpoint_minutes, log="cli", verbose=1)
    if run.already_complete:
        print(f"{args.output} already holds this finished run ({run.steps} steps); "
              f"add --fresh to train it again.")
    elif run.resumed_at is not None:
        print(f"resumed at step {run.resumed_at} of a killed run")
    print(dataset.validation_report(run.model))
    logs = f"; TensorBoard logs in {run.log_dir}" if run.log_dir is not None else ""
    done = "unchanged:" if run.already_complete else "saved"  # a rerun of a finished run writes nothing
    print(f"{done} {Path(args.output) / training.MODEL_FILE} after {run.steps} steps ({run.epochs:.2f} epochs){logs}")
    return 0


def pretrain(args) -> int:
    """Train each family with its registered recipe and pretrain budget; write manifest.json beside it."""
    from genai_tf import pretrain as pretraining
    from genai_tf.models import registry

    names = list(pretraining.pretrainable()) if args.families is None else [
        name.strip() for name in args.families.split(",") if name.strip()]
    unknown = [name for name in names if name not in registry.names()]
    if unknown or not names:
        raise UsageError(f"--families {args.families!r}: unknown {unknown}; choose from "
                         f"{', '.join(pretraining.pretrainable())}.")
    check_dataset_name(args.dataset)
    for name in names:
        pretraining.pretrain_family(name, args.dataset, output=args.output, data_dir=args.data_dir, seed=args.seed,
                                    steps=args.steps, num_samples=args.num_samples)
    return 0
