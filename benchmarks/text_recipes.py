"""Transformer recipe search on Shakespeare split by plays: short pilots at equal CPU budgets.

Each pilot trains a variant of the registered ``transformer`` recipe (width, depth, context,
learning rate, batch, schedule) for the same CPU-clock budget on the play split of
``shakespeare.txt`` (``genai_tf.data.plays``: fixed held-out plays), logs train and validation
curves (``genai_tf.text_curves``) and scores the whole validation plays at the end. One JSON per
pilot goes to ``--output``/<name>/; ``--table`` prints the pilots' table from those files::

    nice -n 5 python -m benchmarks.text_recipes --data-dir ../shared/data --output /work/runs/text/pilots \\
        --cpu-minutes 4 --pilots base,ctx128_lr2e-3
    python -m benchmarks.text_recipes --output /work/runs/text/pilots --table

``--pilots transformer --keep --cpu-minutes 40`` trains the registered recipe into
``--output``/transformer with curves every ``--every`` steps: with the settings of
``benchmarks/text.py --transformer-minutes 20 --models-dir OUTPUT`` (which then scores it instead of
retraining), and a folder notebook 08 loads as ``<checkpoints>/shakespeare/transformer``. Killed, the
same command resumes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# name -> (builder settings, Family fields). "base" is the registered recipe before issue 24.
PILOTS = {
    "base": ({"d_model": 192, "num_layers": 4, "learning_rate": 1e-3}, {"context": 256, "batch_size": 32}),
    "lr2e-3": ({"d_model": 192, "num_layers": 4, "learning_rate": 2e-3}, {"context": 256, "batch_size": 32}),
    "ctx128_lr2e-3": ({"d_model": 192, "num_layers": 4, "learning_rate": 2e-3}, {"context": 128, "batch_size": 64}),
    "ctx128_b32_lr2e-3": ({"d_model": 192, "num_layers": 4, "learning_rate": 2e-3}, {"context": 128, "batch_size": 32}),
    "d128_ctx128_lr3e-3": ({"d_model": 128, "num_layers": 4, "learning_rate": 3e-3},
                           {"context": 128, "batch_size": 64}),
    "d256_ctx128_lr2e-3": ({"d_model": 256, "num_layers": 4, "learning_rate": 2e-3},
                           {"context": 128, "batch_size": 32}),
    "d192x6_ctx128_lr2e-3": ({"d_model": 192, "num_layers": 6, "learning_rate": 2e-3},
                             {"context": 128, "batch_size": 32}),
    "ctx128_lr2e-3_tied": ({"d_model": 192, "num_layers": 4, "learning_rate": 2e-3, "tie_embeddings": True},
                           {"context": 128, "batch_size": 64}),
}


def variant(name):
    from genai_tf.models import registry

    settings, fields = PILOTS[name]
    return registry.family("transformer").variant(name=f"transformer-{name}", fields=fields, **settings)


def run_pilot(name, args) -> dict:
    from genai_tf import text_curves, training
    from genai_tf.models import registry

    family = registry.family("transformer") if name == "transformer" else variant(name)
    data = training.family_dataset(family, "shakespeare", seed=args.seed, data_dir=args.data_dir)
    assert data.split_by == "plays", data.split_by
    folder = Path(args.output) / name
    curve = text_curves.LearningCurve(text_curves.validation_sample(data.ids("validation"), args.curve_characters),
                                      folder / text_curves.FILE, every=args.every)
    started = time.process_time()
    run = training.train(family, data, seconds=args.cpu_minutes * 60, clock="cpu", seed=args.seed,
                         output=folder if args.keep else None, log=None, validation=False, callbacks=[curve])
    training_cpu = time.process_time() - started
    validation = run.model.score(data.ids("validation"))
    settings, fields = PILOTS.get(name, ({}, {"context": family.context, "batch_size": family.batch_size}))
    result = {"name": name, "settings": settings, "fields": fields,
              "cpu_minutes_budget": args.cpu_minutes, "steps": run.steps, "epochs": run.epochs,
              "train_cpu_minutes": run.cpu_seconds / 60, "process_cpu_minutes": training_cpu / 60,
              "parameters": run.model.count_params(), "validation_nats": validation["nats_per_char"],
              "validation_characters": validation["characters"], "seed": args.seed,
              "last_train_nats": curve.points[-1]["train_nats"] if curve.points else None}
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pilot.json").write_text(json.dumps(result, indent=1))
    print(json.dumps(result), flush=True)
    return result


def table(output) -> str:
    rows = [json.loads(path.read_text()) for path in sorted(Path(output).glob("*/pilot.json"))]
    rows.sort(key=lambda row: row["validation_nats"])
    lines = ["| recipe | d × layers | context | batch | lr | parameters | CPU-min | steps | train nats/char (last "
             "points) | validation nats/char |", "|---|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        settings, fields = row["settings"], row["fields"]
        lines.append(f"| {row['name']} | {settings['d_model']} × {settings['num_layers']} | {fields['context']} | "
                     f"{fields['batch_size']} | {settings['learning_rate']:g} | {row['parameters']:,} | "
                     f"{row['train_cpu_minutes']:.1f} | {row['steps']} | {row['last_train_nats']:.3f} | "
                     f"{row['validation_nats']:.3f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--output", required=True)
    parser.add_argument("--pilots", default="", help=f"comma-separated names of {tuple(PILOTS)}")
    parser.add_argument("--cpu-minutes", type=float, default=4.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--every", type=int, default=100, help="steps between curve points")
    parser.add_argument("--curve-characters", type=int, default=20_000, help="per validation play, for the curve")
    parser.add_argument("--keep", action="store_true", help="save the model into OUTPUT/NAME (final runs)")
    parser.add_argument("--table", action="store_true")
    args = parser.parse_args(argv)
    for name in filter(None, (name.strip() for name in args.pilots.split(","))):
        run_pilot(name, args)
    if args.table:
        print(table(args.output))
    return 0


if __name__ == "__main__":
    sys.exit(main())
