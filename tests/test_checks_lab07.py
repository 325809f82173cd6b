"""``course.checks.lab07``: what the shared wrong-answer table cannot express.

The reference answers and every wrong answer (``tests/wrong_answers/lab07.py``) are run by
``tests/test_check_contract.py``; here: right answers written another way, the Keras 3
behaviour the lab teaches (so that a Keras upgrade that changes it fails here, not silently in
the lab's prose), and the check's own fixtures.
"""

from __future__ import annotations

import keras
import numpy as np

from course.checks import lab07 as checks


def grade(check_name: str, answer):
    """Run one lab07 check quietly and return its CheckResult."""
    return getattr(checks, check_name)(answer, verbose=False)


def transfer_without_training_flag(pretrained, layer_name, num_classes):
    """A right answer without ``training=False`` and with a single-tensor base input."""
    base = keras.Model(pretrained.inputs[0], pretrained.get_layer(layer_name).output,
                       name="base")
    base.trainable = False
    inputs = keras.Input((784,))
    return keras.Model(inputs, keras.layers.Dense(num_classes, name="head")(base(inputs)))


def test_training_false_is_not_graded_since_keras_3_fit_overrides_it():
    assert grade("build_transfer_model", transfer_without_training_flag).passed


def test_keras_3_fit_overrides_a_nested_training_false():
    """The lab's claim (keras-team/keras#20285): training=True reaches a nested base."""
    keras.utils.set_random_seed(0)
    inner_in = keras.Input((4,))
    base = keras.Model(inner_in, keras.layers.Dropout(0.5)(keras.layers.Dense(8)(inner_in)))
    base.trainable = False
    outer_in = keras.Input((4,))
    model = keras.Model(outer_in, base(outer_in, training=False))
    x = np.ones((2, 4), "float32")
    assert np.allclose(model(x), model(x))  # no training argument: the recorded False holds
    assert not np.allclose(model(x, training=True), model(x, training=True))


def test_a_frozen_batch_norm_uses_its_moving_statistics_even_in_training_mode():
    """What does keep batch norm in inference mode in Keras 3: its own trainable=False."""
    pretrained = checks.pretrained_model()
    norm = pretrained.get_layer("norm")
    x = np.random.default_rng(0).normal(size=(16, 12)).astype("float32") * 3 + 1
    norm.trainable = False
    np.testing.assert_allclose(norm(x, training=True), norm(x, training=False), atol=1e-6)
    norm.trainable = True
    assert not np.allclose(norm(x, training=True), norm(x, training=False), atol=1e-3)


def test_compiling_before_unfreezing_is_accepted_because_keras_3_traces_at_fit():
    def compile_then_unfreeze(model, train_ds, learning_rate=1e-4, epochs=3):
        model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        model.get_layer("base").trainable = True
        return model.fit(train_ds, epochs=epochs, verbose=0, shuffle=False)

    assert grade("fine_tune", compile_then_unfreeze).passed


def test_the_count_fixtures_hold_batch_norm_statistics_and_a_frozen_layer():
    cases = checks._count_models()
    assert [answer for _, _, answer in cases] == [(68, 12_560), (65, 12_812), (12_918, 24)]


def test_the_check_pretrained_model_has_non_trivial_moving_statistics():
    norm = checks.pretrained_model().get_layer("norm")
    assert np.ptp(np.asarray(norm.moving_mean)) > 0.5
    assert np.ptp(np.asarray(norm.moving_variance)) > 1.0


# --- the lab's data helper: course.data.shift_digits ----------------------------------------------

def test_shift_digits_moves_each_image_by_a_seeded_shift_within_the_bound():
    from course.data import shift_digits

    images = np.zeros((200, 28, 28), np.uint8)
    images[:, 14, 14] = 255  # one lit pixel per image, in the middle
    moved = shift_digits(images, max_shift=3, seed=5)
    assert moved.shape == images.shape and moved.dtype == np.uint8
    where = np.array([np.argwhere(m)[0] for m in moved])  # the pixel is never lost
    offsets = where - 14
    assert np.abs(offsets).max() == 3  # every shift within ±3, the extremes reached
    assert len({tuple(o) for o in offsets}) > 30  # many of the 49 shifts are used
    np.testing.assert_array_equal(shift_digits(images, 3, seed=5), moved)  # seeded
    assert not np.array_equal(shift_digits(images, 3, seed=6), moved)
    np.testing.assert_array_equal(shift_digits(images, 0, seed=5), images)
