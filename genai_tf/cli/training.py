"""``genai-tf train`` and ``genai-tf pretrain``: a family trained into a folder, resumable.

TensorFlow is imported only when a command runs, never when this module is imported.
"""

from __future__ import annotations

from pathlib import Path

from genai_tf.cli.parser import UsageError, check_dataset_name


def train(args) -> int:
    """Train one family on one dataset into ``--output``, resuming an unfinished run there."""
    from genai_tf import training
    from genai_tf.models import registry

    family = registry.family(args.family)
    if family.text:
        return _train_text(args, family)
    if args.text is not None:
        raise UsageError(f"--text applies to text families; {args.family} models images (use --dataset).")
    args.dataset = args.dataset or "mnist"
    args.image_size = 28 if args.image_size is None else args.image_size
    if args.latent_dim is not None and not family.latent_dim:
        raise UsageError(f"--latent-dim does not apply to {args.family}: it has no separate latent "
                         f"(its x_T has the image's shape).")
    check_dataset_name(args.dataset)
    epochs = args.epochs if args.epochs is not None or args.minutes is not None else 10
    seconds = None if args.minutes is None else 60.0 * args.minutes
    dataset = training.family_dataset(family, args.dataset, seed=args.seed, batch_size=args.batch_size,
                                      image_size=args.image_size, limit=args.limit)
    budget = " and ".join(part for part in (
        f"{epochs} epochs" if epochs else "", f"{args.minutes:g} min ({args.clock} clock)" if seconds else "") if part)
    print(f"training {args.family} ({family.description}) on {args.dataset} {dataset.image_shape}, "
          f"batch {dataset.batch_size}, for {budget}; checkpoints in {Path(args.output) / 'resume'}", flush=True)
    run = training.train(family, dataset, epochs=epochs, seconds=seconds, clock=args.clock, seed=args.seed,
                         latent_dim=args.latent_dim, output=args.output, fresh=args.fresh,
                         checkpoint_seconds=60.0 * args.checkpoint_minutes, log="cli", verbose=1)
    if run.already_complete:
        print(f"{args.output} already holds this finished run ({run.steps} steps); "
              f"add --fresh to train it again.")
    elif run.resumed_at is not None:
        print(f"resumed at step {run.resumed_at} of a killed run")
    results = run.model.evaluate(dataset.validation, verbose=0, return_dict=True)
    print("final validation metrics: " + ", ".join(f"{k}={float(v):.4f}" for k, v in results.items()))
    print(f"saved {Path(args.output) / training.MODEL_FILE} after {run.steps} steps ({run.epochs:.2f} epochs); "
          f"TensorBoard logs in {run.log_dir}")
    return 0


def _train_text(args, family) -> int:
    from genai_tf import text_commands, training

    dataset = text_commands.training_text(args, family)
    epochs = args.epochs if args.epochs is not None or args.minutes is not None else 10
    seconds = None if args.minutes is None else 60.0 * args.minutes
    how = "counting" if family.counted else f"{epochs or ''} epochs {args.minutes or ''} min".strip()
    print(f"training {family.name} ({family.description}) on {text_commands.describe(dataset)}: {how}", flush=True)
    run = training.train(family, dataset, epochs=epochs, seconds=seconds, clock=args.clock, seed=args.seed,
                         output=args.output, fresh=args.fresh, checkpoint_seconds=60.0 * args.checkpoint_minutes,
                         log="cli", verbose=1)
    print(text_commands.validation_report(run.model, dataset))
    print(f"saved {Path(args.output) / training.MODEL_FILE} after {run.steps} steps ({run.epochs:.2f} epochs)")
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
