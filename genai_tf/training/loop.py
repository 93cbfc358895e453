"""The one way to train a model family: epochs, steps or a time budget, with TensorBoard, the
NaN guard, the recipe's schedule, checkpoints and exact resume.

:func:`train` is what ``genai-tf train``, every benchmark, notebook 05 and
``checkpoints.load_or_train`` call. Given an ``output`` folder it checkpoints during training
(every epoch, and every ``checkpoint_seconds`` within long epochs) and, called again with the
same settings after a kill, resumes where the last checkpoint stopped. A resumed run ends with
the weights an unbroken run would have, because everything a step depends on is restored or is
a function of the step alone:

- weights and optimizer state: the ``.keras`` checkpoint;
- the models' ``SeedGenerator`` states (a ``.keras`` file does not store them): ``state.json``;
- the data: batch ``k`` of every kind's ``train_stream`` depends only on ``(seed, k)``;
- the learning-rate decay: a function of the global step (or of the budget's spent time);
- epoch ends (validation, sample grids, which draw random numbers too): a resumed run first
  finishes its partial epoch, so they happen at the same steps as in an unbroken run.

The run folder's layout and files are :mod:`genai_tf.training.run_folder`'s; what a resumed run
restores is :mod:`genai_tf.training.resume`'s.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import keras

from genai_tf import data
from genai_tf.models import registry
from genai_tf.training import callbacks as course_callbacks
from genai_tf.training import resume, run_folder, schedule
from genai_tf.training.run_folder import TrainingRun

BIG_EPOCHS = 10**6  # fit's epoch cap when only a time budget stops training


def settings(family, dataset, *, epochs=None, steps=None, seconds=None, clock="wall", seed=0,
             latent_dim=None) -> dict:
    """The settings that define a run; a resumed run must have the same ones: the family, what
    identifies the data (its ``run_settings()``), the seeds, the latent size (when the family has
    one) and the stopping rule."""
    chosen = _family(family)
    check_data_kind(chosen, dataset)
    latent = int(latent_dim or chosen.latent_dim)
    return {"family": chosen.name, **dataset.run_settings(), "seed": int(seed),
            **({"latent_dim": latent} if latent else {}), "epochs": epochs, "steps": steps, "seconds": seconds,
            "clock": clock}


def _family(family):
    return registry.family(family) if isinstance(family, str) else family


def check_data_kind(family, dataset) -> None:
    """A ValueError unless ``dataset`` is of the kind ``family`` trains on (``family.data``)."""
    have = data.kind_of(dataset)
    if have == family.data:
        return
    needed = data.kind(family.data)
    others = ", ".join(registry.families(have)) if have is not None else ""
    instead = f", or train a family that models {have} ({others}) on it" if others else ""
    raise ValueError(f"{family.name} models {family.data}, but {getattr(dataset, 'name', dataset)!r} is "
                     f"{have or type(dataset).__name__}: load {family.data} with "
                     f"training.family_dataset({family.name!r}, source) or genai_tf.data.kind({family.data!r})"
                     f".load(source), e.g. source={needed.DEFAULT!r}{instead}.")


def model_input(family, dataset):
    """What ``family.build`` takes first: the dataset's ``spec`` (image shape, ``TextSpec``...)."""
    check_data_kind(_family(family), dataset)
    return dataset.spec


def family_dataset(family, source, *, seed=0, batch_size=None, **load_kwargs):
    """The data ``family``'s recipe trains on, loaded from ``source`` and seeded by ``seed``.

    ``genai_tf.data.kind(family.data).load(source, ...)`` with the recipe's ``batch_size`` and
    loader options (``family.data_options``, e.g. ``binarize`` or a window ``context``).
    ``batch_size`` replaces the recipe's (a smoke run's smaller batches); ``load_kwargs`` go to the
    loader as they are (``data_dir``, ``limit``, and the kind's own, e.g. ``image_size`` or
    ``block``, so that several contexts cut the same blocks).
    """
    chosen = _family(family)
    batch_size = chosen.batch_size if batch_size is None else batch_size
    options = {**chosen.data_options, **load_kwargs}
    return data.kind(chosen.data).load(source, seed=seed, batch_size=batch_size, **options)


def initial_model(family, dataset, seed=0, latent_dim=None) -> keras.Model:
    """The compiled, untrained model :func:`train` starts from with ``seed`` on ``dataset``: the same
    initial weights, so what training gained can be measured against it."""
    chosen = _family(family)
    keras.utils.set_random_seed(seed)
    return chosen.build(model_input(chosen, dataset), int(latent_dim or chosen.latent_dim), seed)


def _check_stop(epochs, steps, seconds, clock):
    def whole(name, value):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ValueError(f"{name}={value!r}: it must be a whole number >= 1.")

    whole("epochs", epochs)
    whole("steps", steps)
    if epochs is not None and steps is not None:
        raise ValueError("Give epochs or steps, not both.")
    if seconds is not None and not (isinstance(seconds, (int, float)) and math.isfinite(seconds) and seconds > 0):
        raise ValueError(f"seconds={seconds!r}: a time budget is a number of seconds > 0.")
    if epochs is None and steps is None and seconds is None:
        raise ValueError("Say how long to train: epochs=N, steps=N or seconds=S (a time budget).")
    if clock not in course_callbacks.TimeBudget.CLOCKS:
        raise ValueError(f"clock={clock!r}; use one of {course_callbacks.TimeBudget.CLOCKS}.")


def train(family, dataset, *, epochs=None, steps=None, seconds=None, clock="wall", seed=0,
          latent_dim=None, output=None, fresh=False, checkpoint_seconds=600.0, checkpoint_steps=None,
          log="cli", log_root=None, validation=True, callbacks=(), verbose=0) -> TrainingRun:
    """Train ``family`` (a registry name or :class:`~genai_tf.models.registry.Family`) on ``dataset``.

    Args:
        family: e.g. ``"vae"``; its recipe builds and compiles the model.
        dataset: data of the kind the family trains on (``family.data``), loaded with its
            ``data_options`` (:func:`family_dataset`). A counted family (the n-gram) is counted
            once on the training blocks; the stop arguments are then only checked.
        epochs / steps: train for this many passes over the data, or optimizer steps (quick
            modes use ``steps``: the same work on any machine).
        seconds, clock: a time budget (``"wall"`` or ``"cpu"`` seconds, see
            ``callbacks.TimeBudget``); with ``epochs`` or ``steps`` too, whichever ends first.
        seed: seeds the weights and the model's noise (the data's order comes from the dataset's seed).
        output: a folder for ``model.keras``, ``training.json``, ``logs/`` and resume
            checkpoints. If it holds an unfinished run with the same settings, training resumes;
            a finished one is loaded and returned. ``fresh=True`` deletes what is there first.
        checkpoint_seconds, checkpoint_steps: besides every epoch end, checkpoint after this
            much wall time or this many steps.
        log: TensorBoard run name prefix folder (``runs/<log>/<time>-<family>``), or None for no
            TensorBoard; with ``output`` the logs go to ``output/logs``. ``log_root`` overrides.
        validation: evaluate on ``dataset.validation`` after every epoch.
        callbacks: more Keras callbacks, run after the course's.

    Returns a :class:`TrainingRun`. Raises ValueError for bad settings and FloatingPointError
    when a loss becomes NaN (the last checkpoint stays on disk).
    """
    chosen = _family(family)
    _check_stop(epochs, steps, seconds, clock)
    run_settings = settings(chosen, dataset, epochs=epochs, steps=steps, seconds=seconds, clock=clock,
                            seed=seed, latent_dim=latent_dim)
    steps_per_epoch = dataset.steps_per_epoch
    total_steps = epochs * steps_per_epoch if epochs is not None else steps

    output = None if output is None else Path(output)
    state = None
    if output is not None:
        if fresh:
            run_folder.clear(output)
        output.mkdir(parents=True, exist_ok=True)
        done = _finished_run(output, run_settings, chosen, steps_per_epoch)
        if done is not None:
            return done
        state = resume.load_state(output, run_settings)
        (output / resume.FOLDER).mkdir(exist_ok=True)

    if chosen.counted:
        return _count(chosen, dataset, run_settings, seed, output)
    if state is None:
        model = initial_model(chosen, dataset, seed, latent_dim)  # seeded: an unbroken run to compare with
        start_step, history, log_dir = 0, {}, None
    else:
        model = run_folder.load_model(output / resume.FOLDER / state["checkpoint"])
        resume.restore_random_state(model, state["random_state"])
        start_step, history = int(state["step"]), state["history"]
        log_dir = None if state["log_dir"] is None else Path(state["log_dir"])
        if verbose:
            print(f"resuming {chosen.name} at step {start_step} ({start_step / steps_per_epoch:.2f} epochs) "
                  f"from {output / resume.FOLDER}")

    fit_callbacks = []
    if log is not None:
        if log_dir is None:
            root = log_root if log_root is not None else (output / "logs" if output is not None else None)
            log_dir = course_callbacks.new_run_directory(log, chosen.name, root=root)
        summaries = data.kind(chosen.data).tensorboard_callbacks(chosen, log_dir, dataset)
        fit_callbacks += course_callbacks.standard_callbacks(log_dir, summaries=summaries)
    else:
        fit_callbacks.append(course_callbacks.NaNGuard())

    # The clock is a TimeBudget: the run's budget, or an endless one that only keeps time.
    spent = state["spent"] if state is not None else (0.0, 0.0, 0)
    clock_callback = course_callbacks.TimeBudget(math.inf if seconds is None else seconds, clock=clock,
                                                 spent=spent)
    budget = clock_callback if seconds is not None else None
    decay_list = schedule.schedule_callbacks(
        chosen, budget=budget, total_steps=None if budget is not None else total_steps, initial_step=start_step,
        initial_rates=None if state is None else state["initial_rates"])
    decay = decay_list[0] if decay_list else None
    timer = course_callbacks.EpochTimer()
    stop = course_callbacks.StopAtStep(total_steps, start_step) if total_steps is not None else None
    checkpointer = resume.Checkpointer(None if output is None else output / resume.FOLDER, run_settings, start_step,
                                 history, checkpoint_seconds, checkpoint_steps, clock_callback, decay, log_dir)
    if state is not None and start_step % steps_per_epoch:
        checkpointer.pending_metrics = state["metrics"]
    # Order matters: the NaN guard (in fit_callbacks) raises before a NaN state could be saved;
    # the clock is read by the checkpointer after it has counted the batch.
    fit_callbacks = [*fit_callbacks, clock_callback, checkpointer, *decay_list, *([stop] if stop else []),
                     timer, *callbacks]

    step = start_step
    while (total_steps is None or step < total_steps) and not clock_callback.exhausted:
        epoch, offset = divmod(step, steps_per_epoch)
        remaining = steps_per_epoch - offset  # a resumed run first finishes its partial epoch
        if offset:
            last_epoch = epoch + 1
        elif total_steps is not None:
            last_epoch = -(-total_steps // steps_per_epoch)
        else:
            last_epoch = BIG_EPOCHS
        try:
            model.fit(dataset.train_stream(step), steps_per_epoch=remaining, epochs=last_epoch,
                      initial_epoch=epoch, shuffle=False,  # the stream is shuffled, by step
                      validation_data=dataset.validation if validation else None, callbacks=fit_callbacks,
                      verbose=verbose)
        except FloatingPointError as error:
            if output is None:
                raise
            state_path = output / resume.FOLDER / resume.STATE_FILE
            saved = json.loads(state_path.read_text())["step"] if state_path.exists() else None
            where = (f"The last good checkpoint (step {saved}) is in {output / resume.FOLDER}; rerunning resumes "
                     f"from it, --fresh starts over." if saved is not None else "No checkpoint was written yet.")
            raise FloatingPointError(f"{error} {where}") from error
        step = checkpointer.step
        if model.stop_training and not clock_callback.exhausted and (total_steps is None or step < total_steps):
            break  # another callback stopped training (e.g. EarlyStopping)

    whole = [index for index, count in enumerate(timer.steps) if count == steps_per_epoch]
    summary = run_folder.run_summary(run_settings, steps=step, epochs=step / steps_per_epoch,
                                     wall_seconds=clock_callback.wall_seconds,
                                     cpu_seconds=clock_callback.cpu_seconds, history=history, log_dir=log_dir)
    if output is not None:
        run_folder.finish(output, model, summary)
    return TrainingRun.from_summary(model, chosen.name, summary, steps_per_epoch, output, already_complete=False,
                                    resumed_at=None if state is None else start_step,
                                    epoch_wall_seconds=[timer.wall[i] for i in whole],
                                    epoch_cpu_seconds=[timer.cpu[i] for i in whole])


def _count(family, dataset, run_settings, seed, output) -> TrainingRun:
    """A counted family (the n-gram): one exact pass over the training blocks, then saved."""
    clock = course_callbacks.TimeBudget(math.inf)
    clock.on_train_begin()
    model = family.build(model_input(family, dataset), int(family.latent_dim), seed)
    model.count(dataset.ids("train"))
    clock.on_train_end()
    summary = run_folder.run_summary(run_settings, steps=0, epochs=0.0, wall_seconds=clock.wall_seconds,
                                     cpu_seconds=clock.cpu_seconds, history={}, log_dir=None, counted=True)
    if output is not None:
        run_folder.finish(output, model, summary)
    return TrainingRun.from_summary(model, family.name, summary, dataset.steps_per_epoch, output,
                                    already_complete=False)


def _finished_run(output: Path, wanted: dict, family, steps_per_epoch: int):
    """The finished run in ``output`` as a TrainingRun, None if there is none; refuses other settings."""
    if not (output / run_folder.SUMMARY_FILE).exists() or not (output / run_folder.MODEL_FILE).exists():
        return None
    summary = run_folder.read_summary(output)
    mismatch = resume.settings_mismatch(summary["settings"], wanted)
    if mismatch:
        raise ValueError(f"{output} holds a finished run with other settings ({mismatch}). Add --fresh "
                         f"(fresh=True) to replace it, or choose another --output folder.")
    model = run_folder.load_model(output / run_folder.MODEL_FILE)
    return TrainingRun.from_summary(model, family.name, summary, steps_per_epoch, output)
