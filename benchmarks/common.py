"""What the benchmarks share: the machine they ran on, and training a family for a budget.

Training goes through :func:`genai_tf.training.train` with the family's own recipe, so a
benchmark row is what ``genai-tf train FAMILY --minutes M --clock CLOCK`` reproduces. Quick
modes (``--quick``) train a fixed number of steps instead of a time budget, so their checks
do not depend on the machine's speed.
"""

from __future__ import annotations

import datetime
import os
import platform
import statistics


def cores() -> int:
    """CPU cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def median(values) -> float:
    return statistics.median(values) if values else float("nan")


def verdict(ok, target, quick) -> str:
    if quick:
        return f"{target}: not judged (quick run)"
    return f"{target}: **{'met' if ok else 'missed'}**"


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def memory_gib() -> str:
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    return f"{int(line.split()[1]) / 2**20:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def load_average() -> str:
    try:
        return " / ".join(f"{value:.1f}" for value in os.getloadavg())
    except OSError:
        return "unknown"


def machine_description() -> list[tuple[str, str]]:
    import keras
    import numpy as np
    import tensorflow as tf

    import genai_tf

    devices = [device.device_type for device in tf.config.list_physical_devices()]
    return [
        ("date", datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")),
        ("CPU", cpu_model()),
        ("CPU cores (os.cpu_count)", str(os.cpu_count())),
        ("CPU cores usable by this process", str(cores())),
        ("RAM", memory_gib()),
        ("devices", ", ".join(devices)),
        ("python", platform.python_version()),
        ("tensorflow", tf.__version__),
        ("keras", keras.__version__),
        ("numpy", np.__version__),
        ("genai_tf", genai_tf.__version__),
        ("load average (1/5/15 min) at start", load_average()),
    ]


def contention_note(machine) -> str:
    """A warning when the machine was busy: wall-clock numbers are then pessimistic."""
    try:
        end_load = os.getloadavg()[0]
    except OSError:
        return ""
    start = dict(machine).get("load average (1/5/15 min) at start", "unknown")
    start_load = end_load if start == "unknown" else float(start.split("/")[0])
    count = os.cpu_count() or 1
    if max(start_load, end_load) <= 1.25 * count:
        return ""
    return (f"**Shared machine**: the 1-minute load average was {start_load:.1f} at the start and "
            f"{end_load:.1f} at the end, on {count} cores, so other processes competed for the CPU. "
            "Wall-clock times are pessimistic; CPU-seconds per epoch, and budgets on the CPU clock, "
            "do not depend on the load.")


def budget_seconds(minutes, clock) -> float:
    """A budget of ``minutes``: wall seconds, or on the CPU clock minutes × 60 × usable cores."""
    return minutes * 60 * (cores() if clock == "cpu" else 1)


def train_family(family, dataset, *, minutes=None, clock="wall", epochs=None, steps=None, seed=0,
                 latent_dim=None, models_dir=None, verbose=False):
    """Train ``family`` on ``dataset`` with :func:`genai_tf.training.train`; returns ``(run, stats)``.

    ``minutes`` is a budget on ``clock`` (see :func:`budget_seconds`); ``epochs`` or ``steps``
    a fixed length. With ``models_dir`` the run checkpoints into ``models_dir/<family>``: a
    killed benchmark resumes there when run again, and a finished model is loaded, not retrained
    (its timing columns are then those ``training.json`` recorded). ``stats`` holds the timing
    columns every benchmark table reports.
    """
    from pathlib import Path

    from genai_tf import training

    seconds = None if minutes is None else budget_seconds(minutes, clock)
    output = None if models_dir is None else Path(models_dir) / family.name
    run = training.train(family, dataset, epochs=epochs, steps=steps, seconds=seconds, clock=clock, seed=seed,
                         latent_dim=latent_dim, output=output, log=None, validation=False,
                         verbose=2 if verbose else 0)
    stats = {
        "batch": dataset.batch_size,
        "latent_dim": int(getattr(run.model, "latent_dim", 0)),  # text models have none
        "parameters": run.model.count_params(),
        "s_per_epoch": median(run.epoch_wall_seconds),  # complete epochs only
        "cpu_s_per_epoch": median(run.epoch_cpu_seconds),
        "complete_epochs": len(run.epoch_wall_seconds),
        "epochs": run.epochs,  # a partial last epoch counts as a fraction
        "steps": run.steps,
        "train_minutes": run.wall_seconds / 60,
        "train_cpu_minutes": run.cpu_seconds / 60,
    }
    return run, stats


# --- table cells shared by the benchmarks (the tables themselves: genai_tf.tables.markdown_table)
def timing_cells(row) -> dict:
    """The training-time columns of a benchmark row (from :func:`train_family`'s stats)."""
    return {
        "s/epoch, wall / CPU (median)": f"{row['s_per_epoch']:.1f} / {row['cpu_s_per_epoch']:.1f}",
        "epochs": f"{row['epochs']:.1f}",
        "training min, wall / CPU": f"{row['train_minutes']:.1f} / {row['train_cpu_minutes']:.1f}",
    }


def sample_cells(row) -> dict:
    """The sample-quality columns of a row (from ``sample_quality.evaluate_samples``)."""
    return {
        "cFID": f"{row['cfid']:.2f}",
        "real-vs-real floor": f"{row['cfid_floor']:.2f} (n={row['floor_size']})",
        "KID": f"{row['kid_mean']:.3f} ± {row['kid_std']:.3f}",
        "precision (real)": f"{row['precision']:.3f} ({row['precision_real']:.3f})",
        "recall (real)": f"{row['recall']:.3f} ({row['recall_real']:.3f})",
    }


def table(rows) -> str:
    """A markdown table of row dicts, with the first row's keys as columns."""
    from genai_tf import tables

    return tables.markdown_table(rows, list(rows[0])) if rows else ""
