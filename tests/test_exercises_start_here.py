"""Tests of genai_tf.exercises.start_here, the self-checks of notebook 00 (start here): each passes a
correct answer and catches a typical mistake, with a message that helps."""

import math
import os

import pytest

from genai_tf import config
from genai_tf.data import images as image_data
from genai_tf.exercises import start_here as checks
from tests.test_exercises_engine import assert_fails, assert_passes, not_implemented


def test_num_pixels_check():
    assert_passes(checks.num_pixels(lambda shape: math.prod(shape)))
    assert_fails(checks.num_pixels(lambda shape: shape[0] * shape[1]), "Hint:", "channels")
    assert_fails(checks.num_pixels(not_implemented), "not implemented")


def test_digits_split_sizes_check():
    def sizes(seed, fraction):
        loaded = image_data.load("digits", seed=seed, validation_fraction=fraction)
        return [len(loaded.images(split)) for split in image_data.SPLITS]

    assert_passes(checks.digits_split_sizes(sizes))

    def validation_of_everything(seed, fraction):  # forgets the test split comes off first
        validation = round(fraction * 1797)
        return [1797 - 270 - validation, validation, 270]

    assert_fails(checks.digits_split_sizes(validation_of_everything), "Hint:", "images.load")
    assert_fails(checks.digits_split_sizes(not_implemented), "not implemented")


@pytest.mark.parametrize("starting_profile", [None, "smoke", "full"])
def test_profile_switch_check(starting_profile, monkeypatch):
    """Whatever profile is active when the check runs (CI runs under smoke), mistakes show."""
    if starting_profile is None:
        monkeypatch.delenv(config.PROFILE_ENV, raising=False)
    else:
        monkeypatch.setenv(config.PROFILE_ENV, starting_profile)
    before = os.environ.get(config.PROFILE_ENV)

    def correct(profile, task):
        saved = os.environ.get(config.PROFILE_ENV)
        os.environ[config.PROFILE_ENV] = profile
        try:
            return task()
        finally:
            restore(saved)

    def restore(saved):
        if saved is None:
            os.environ.pop(config.PROFILE_ENV, None)
        else:
            os.environ[config.PROFILE_ENV] = saved

    def no_finally(profile, task):
        saved = os.environ.get(config.PROFILE_ENV)
        os.environ[config.PROFILE_ENV] = profile
        value = task()
        restore(saved)
        return value

    def restores_none(profile, task):
        saved = os.environ.get(config.PROFILE_ENV)
        os.environ[config.PROFILE_ENV] = profile
        try:
            return task()
        finally:
            os.environ[config.PROFILE_ENV] = saved  # TypeError when it was unset

    def never_restores(profile, task):
        os.environ[config.PROFILE_ENV] = profile
        return task()

    def ignores_profile(profile, task):
        return task()

    assert_passes(checks.profile_switch(correct))
    assert_fails(checks.profile_switch(no_finally), "finally")
    assert_fails(checks.profile_switch(never_restores), "Hint:", "put it back")
    assert_fails(checks.profile_switch(ignores_profile), "Hint:", "os.environ")
    assert_fails(checks.profile_switch(not_implemented), "not implemented")
    if starting_profile is None:
        assert_fails(checks.profile_switch(restores_none), "raised TypeError", "Hint:", "pop")
    else:
        assert_passes(checks.profile_switch(restores_none))
    # whatever the learner did, the check leaves the environment as it found it
    assert os.environ.get(config.PROFILE_ENV) == before
