"""The one reverse loop of genai_tf.sampling.diffusion: its step hook, and that without a hook it
samples exactly as the loop it replaced (the library sampler, the point model and the image model)."""

import keras
import numpy as np
import pytest

from genai_tf import losses, sampling
from genai_tf.models import diffusion, point_diffusion

T = 200
MEANS, STDS, WEIGHTS = np.array([[-1.0, 0.5, 0.0, 1.0], [1.0, -0.5, 0.5, 0.0]]), np.array([0.3, 0.4]), np.array([0.4, 0.6])


def mixture(schedule="cosine"):
    alpha_bars = sampling.schedules.noise_schedule(schedule, T)
    return alpha_bars, sampling.diffusion.gaussian_mixture_noise(MEANS, STDS, WEIGHTS, alpha_bars)


def loop_before_the_hook(predict_noise, shape, alpha_bars, steps, eta=0.0, seed=0, clip=None, trajectory=False):
    """The reverse loop as `samplers.sample` wrote it before the one loop: x_T, then per step ε̂, z, Eq. (DM.13)."""
    generator = keras.random.SeedGenerator(seed)
    x = keras.random.normal(tuple(shape), seed=generator)
    sequence = sampling.diffusion.timestep_sequence(len(alpha_bars), steps)
    predictions = []
    for position, index in enumerate(sequence):
        alpha_bar = float(alpha_bars[index])
        alpha_bar_prev = float(alpha_bars[sequence[position + 1]]) if position + 1 < len(sequence) else 1.0
        epsilon = keras.ops.convert_to_tensor(predict_noise(x, int(index)), dtype="float32")
        if clip is not None or trajectory:
            clean = losses.predicted_clean(x, epsilon, alpha_bar)
            if clip is not None:
                clean = keras.ops.clip(clean, *clip)
                epsilon = (x - np.sqrt(alpha_bar) * clean) / np.sqrt(1.0 - alpha_bar)
            predictions.append(keras.ops.convert_to_numpy(clean))
        noise = keras.random.normal(tuple(shape), seed=generator)
        x = sampling.diffusion.ddim_step(x, epsilon, alpha_bar, alpha_bar_prev, eta, noise)
    result = keras.ops.convert_to_numpy(x)
    return (result, predictions) if trajectory else result


# --- without a hook: the same numbers as before --------------------------------------------------
@pytest.mark.parametrize(("steps", "eta"), [(T, 1.0), (20, 0.0), (13, 0.5)])
def test_without_a_hook_the_loop_samples_as_before(steps, eta):
    alpha_bars, predict = mixture()
    expected = loop_before_the_hook(predict, (64, 4), alpha_bars, steps, eta=eta, seed=4)
    np.testing.assert_array_equal(sampling.diffusion.sample(predict, (64, 4), alpha_bars, steps, eta=eta, seed=4),
                                  expected)
    # a hook that replaces nothing changes nothing
    silent = sampling.diffusion.sample(predict, (64, 4), alpha_bars, steps, eta=eta, seed=4, hook=lambda step: None)
    np.testing.assert_array_equal(silent, expected)


def test_clipping_and_the_trajectory_are_as_before():
    alpha_bars, predict = mixture("linear")
    x, path = sampling.diffusion.sample(predict, (64, 4), alpha_bars, 10, eta=0.3, seed=2, clip=(-0.8, 0.8),
                                        trajectory=True)
    old_x, old_path = loop_before_the_hook(predict, (64, 4), alpha_bars, 10, eta=0.3, seed=2, clip=(-0.8, 0.8),
                                           trajectory=True)
    # ε re-derived from the clipped x̂_0 with √ᾱ_t in float32 now (float64 before): float32 rounding apart
    np.testing.assert_allclose(x, old_x, rtol=1e-5, atol=1e-5)
    assert len(path) == len(old_path) == 10
    for new, old in zip(path, old_path, strict=True):
        np.testing.assert_allclose(new, old, rtol=1e-5, atol=1e-5)
        assert np.abs(new).max() <= 0.8 + 1e-6


# --- the hook --------------------------------------------------------------------------------------
def test_the_hook_is_called_once_per_step_with_the_steps_levels():
    alpha_bars, predict = mixture()
    seen = []
    x, path = sampling.diffusion.sample(predict, (8, 4), alpha_bars, 7, seed=1, trajectory=True,
                                        hook=lambda step: seen.append(step))
    sequence = sampling.diffusion.timestep_sequence(T, 7)
    assert [step.position for step in seen] == list(range(7))
    assert [step.index for step in seen] == list(sequence)
    assert [step.alpha_bar for step in seen] == [float(alpha_bars[i]) for i in sequence]
    # each step lands on the next step's level, and the last on ᾱ = 1 (x_0)
    assert [step.alpha_bar_prev for step in seen] == [float(alpha_bars[i]) for i in sequence[1:]] + [1.0]
    assert all(step.rows == slice(0, 8) for step in seen)
    np.testing.assert_array_equal(np.asarray(seen[-1].x), x)
    for step, clean in zip(seen, path, strict=True):
        np.testing.assert_array_equal(np.asarray(step.clean), clean)


def pinning_hook(known, mask, seed):
    """Inpainting's hook: the known coordinates replaced by q(x_{t'} | known), Eq. (DM.2) at the step's new level."""
    rng = np.random.default_rng(seed)
    pinned = []

    def hook(step):
        level = step.alpha_bar_prev
        noisy_known = np.sqrt(level) * known + np.sqrt(1.0 - level) * rng.standard_normal(known.shape)
        state = np.where(mask, noisy_known, np.asarray(step.x))
        pinned.append((level, noisy_known))
        return state

    return hook, pinned


def test_a_hook_pinning_known_values_holds_them_at_every_level_and_at_the_end():
    alpha_bars, predict = mixture()
    rng = np.random.default_rng(0)
    known = rng.uniform(-1, 1, (16, 4))
    mask = np.array([True, False, True, False])
    hook, pinned = pinning_hook(known, mask, seed=1)
    inputs = []

    def update(x, index, alpha_bar, alpha_bar_prev, noise):
        inputs.append((alpha_bar, np.asarray(x)))
        return sampling.diffusion.denoising_update(x, predict(x, index), alpha_bar, alpha_bar_prev, 0.5, noise)

    generator = keras.random.SeedGenerator(3)
    x, _ = sampling.diffusion.reverse_loop(update, keras.random.normal((16, 4), seed=generator), alpha_bars, 12,
                                           lambda: keras.random.normal((16, 4), seed=generator), hook=hook)
    assert len(pinned) == 12 and len(inputs) == 12
    # the state each update starts from holds the known values noised to exactly that update's ᾱ_t
    for (level, noisy_known), (alpha_bar, state) in zip(pinned[:-1], inputs[1:], strict=True):
        assert level == alpha_bar
        np.testing.assert_allclose(state[:, mask], noisy_known[:, mask], atol=1e-6)
    # ... and the last level is ᾱ = 1: the clean known values, while the rest was sampled
    assert pinned[-1][0] == 1.0
    np.testing.assert_allclose(np.asarray(x)[:, mask], known[:, mask], atol=1e-6)
    free = np.asarray(x)[:, ~mask]
    assert np.all(np.isfinite(free)) and not np.allclose(free, known[:, ~mask], atol=0.05)


def test_the_point_model_runs_the_same_loop_and_hook():
    keras.utils.set_random_seed(0)
    model = point_diffusion.build_point_diffusion(4, hidden=16, depth=1, timesteps=T, seed=0)
    plain = model.generate(16, seed=5, steps=10, eta=0.5)
    np.testing.assert_array_equal(model.generate(16, seed=5, steps=10, eta=0.5, hook=lambda step: None), plain)
    known, mask = np.full((16, 4), 0.25), np.array([False, True, False, True])
    hook, pinned = pinning_hook(known, mask, seed=2)
    pinned_points = model.generate(16, seed=5, steps=10, eta=0.5, hook=hook)
    assert len(pinned) == 10
    np.testing.assert_allclose(pinned_points[:, mask], known[:, mask], atol=1e-6)


def test_the_image_model_runs_the_same_loop_and_hook_batch_by_batch():
    keras.utils.set_random_seed(0)
    model = diffusion.build_diffusion((8, 8, 1), channels=(8, 16), timesteps=50, seed=0)
    plain = model.generate(5, seed=3, steps=4, labels=[1, 2, 3, 4, 5], guidance=2.0, batch_size=2)
    again = model.generate(5, seed=3, steps=4, labels=[1, 2, 3, 4, 5], guidance=2.0, batch_size=2)
    np.testing.assert_array_equal(again, plain)
    # the hook sees each batch's steps, in the model's [-1, 1], with the rows of the request it holds
    known = np.zeros((5, 8, 8, 1))
    known[:, :4] = 1.0  # the top half white, in [-1, 1]
    mask = np.zeros((8, 8, 1), bool)
    mask[:4] = True
    rng, seen = np.random.default_rng(0), []

    def hook(step):
        seen.append((step.position, step.rows))
        level = step.alpha_bar_prev
        noisy_known = np.sqrt(level) * known[step.rows] + np.sqrt(1.0 - level) * rng.standard_normal(step.x.shape)
        return np.where(mask, noisy_known, np.asarray(step.x))

    images = model.denoise(5, seed=3, steps=4, labels=[1, 2, 3, 4, 5], guidance=2.0, batch_size=2, hook=hook)
    assert seen == [(p, rows) for rows in (slice(0, 2), slice(2, 4), slice(4, 5)) for p in range(4)]
    np.testing.assert_allclose(images[:, :4], 1.0, atol=1e-6)  # 1 in [-1, 1] is 1 in [0, 1]
    assert not np.allclose(images[:, 4:], 1.0, atol=0.05)  # the rest is sampled
