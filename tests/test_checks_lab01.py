"""``course.checks.lab01``: each check passes the reference and rejects typical mistakes.

The reference implementations are executed from ``solutions/01_sequential_mlp.ipynb`` (the
``nbgrader`` solution cells), so they are never copied here. Every wrong answer below is a
small function or class, asserted to earn exactly the stated points (less than full) and to
get a hint containing a specific phrase, so that a wrong or misleading hint fails the test.
"""

from __future__ import annotations

import math
import signal
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from reference import solution_namespace

from course.checks import LOG
from course.checks import lab01 as checks
from course.data import MNIST_MEAN, MNIST_STD
from course.data import preprocess as good_preprocess

NOTEBOOK = Path(__file__).resolve().parents[1] / "solutions" / "01_sequential_mlp.ipynb"
SETUP = "import keras, numpy as np, tensorflow as tf\nfrom course import data\n"

# check name -> (grade_id of the solution cell, name the cell defines)
EXERCISES = {
    "preprocess": ("lab01-preprocess", "preprocess"),
    "make_dataset": ("lab01-make_dataset", "make_dataset"),
    "build_mlp": ("lab01-build_mlp", "build_mlp"),
    "compile_mlp": ("lab01-compile_mlp", "compile_mlp"),
    "running_loss": ("lab01-running_loss", "RunningLoss"),
    "predict_digits": ("lab01-predict_digits", "predict_digits"),
}


@pytest.fixture(scope="module")
def solution() -> dict:
    """The notebook's solution cells, executed in order into one namespace."""
    return solution_namespace(NOTEBOOK, SETUP)


def grade(check_name: str, answer):
    """Run one lab01 check quietly and return its CheckResult."""
    return getattr(checks, check_name)(answer, verbose=False)


# --- the reference ------------------------------------------------------------------------------

def test_notebook_has_exactly_the_six_solution_cells(solution):
    assert solution["__grade_ids__"] == [grade_id for grade_id, _ in EXERCISES.values()]


def test_every_public_check_is_covered():
    public = {name for name, value in vars(checks).items()
              if callable(value) and hasattr(value, "max_points")}
    assert public == set(EXERCISES)


@pytest.mark.parametrize("check_name", list(EXERCISES))
def test_reference_earns_full_points(solution, check_name, capsys):
    _, defined = EXERCISES[check_name]
    check = getattr(checks, check_name)
    result = check(solution[defined])
    assert result.hint == ""
    assert result.points == result.max_points == check.max_points
    assert result.passed
    # the "Expected output" the notebook's markdown promises
    points = f"{check.max_points:g}"
    assert capsys.readouterr().out == f"✔ {check_name}: {points}/{points} points\n"


def test_points_add_up_to_the_labs_twelve():
    assert sum(getattr(checks, name).max_points for name in EXERCISES) == 12


# --- wrong answers: preprocess ------------------------------------------------------------------

def _flat(images):
    return images.reshape(len(images), 784).astype("float32")


def pre_no_scaling(images):
    return (_flat(images) - MNIST_MEAN) / MNIST_STD


def pre_no_standardizing(images):
    return _flat(images) / 255.0


def pre_wrong_order(images):
    return (_flat(images) - MNIST_MEAN) / MNIST_STD / 255.0


def pre_precedence(images):
    return _flat(images) / 255.0 - MNIST_MEAN / MNIST_STD


def pre_float64(images):
    return (images.reshape(len(images), 784) / 255.0 - MNIST_MEAN) / MNIST_STD


def pre_not_flattened(images):
    return (images.astype("float32") / 255.0 - MNIST_MEAN) / MNIST_STD


def pre_returns_none(images):
    (_flat(images) / 255.0 - MNIST_MEAN) / MNIST_STD


def pre_not_done(images):
    raise NotImplementedError()


# --- wrong answers: make_dataset ----------------------------------------------------------------

def _pairs(images, labels):
    return tf.data.Dataset.from_tensor_slices((good_preprocess(images), labels.astype("int32")))


def ds_numpy(images, labels, batch_size=64, shuffle=True, seed=0):
    return good_preprocess(images), labels


def ds_not_flattened(images, labels, batch_size=64, shuffle=True, seed=0):
    x = (images.astype("float32") / 255.0 - MNIST_MEAN) / MNIST_STD
    return tf.data.Dataset.from_tensor_slices((x, labels)).batch(batch_size)


def ds_not_preprocessed(images, labels, batch_size=64, shuffle=True, seed=0):
    x = _flat(images) / 255.0
    return tf.data.Dataset.from_tensor_slices((x, labels)).batch(batch_size)


def ds_batch_size_ignored(images, labels, batch_size=64, shuffle=True, seed=0):
    ds = _pairs(images, labels)
    if shuffle:
        ds = ds.shuffle(len(images), seed=seed)
    return ds.batch(32)


def ds_always_shuffles(images, labels, batch_size=64, shuffle=True, seed=0):
    return _pairs(images, labels).shuffle(len(images), seed=seed).batch(batch_size)


def ds_shuffle_ignored(images, labels, batch_size=64, shuffle=True, seed=0):
    return _pairs(images, labels).batch(batch_size)


def ds_drop_remainder(images, labels, batch_size=64, shuffle=True, seed=0):
    ds = _pairs(images, labels)
    if shuffle:
        ds = ds.shuffle(len(images), seed=seed)
    return ds.batch(batch_size, drop_remainder=True)


def ds_repeat_take_batches(images, labels, batch_size=64, shuffle=True, seed=0):
    ds = _pairs(images, labels)
    if shuffle:
        ds = ds.shuffle(len(images), seed=seed)
    return ds.repeat().batch(batch_size).take(math.ceil(len(images) / batch_size))


def ds_repeat_before_shuffle(images, labels, batch_size=64, shuffle=True, seed=0):
    ds = _pairs(images, labels)
    if shuffle:  # shuffling a repeated stream mixes epochs: duplicates and gaps
        ds = ds.repeat().shuffle(len(images), seed=seed).take(len(images))
    return ds.batch(batch_size)


def ds_one_hot_labels(images, labels, batch_size=64, shuffle=True, seed=0):
    one_hot = np.eye(10, dtype="float32")[labels]
    ds = tf.data.Dataset.from_tensor_slices((good_preprocess(images), one_hot))
    if shuffle:
        ds = ds.shuffle(len(images), seed=seed)
    return ds.batch(batch_size)


def ds_images_shuffled_alone(images, labels, batch_size=64, shuffle=True, seed=0):
    if shuffle:  # labels stay in the original order
        images = images[np.random.default_rng(seed).permutation(len(images))]
    return _pairs(images, labels).batch(batch_size)


def ds_no_seed(images, labels, batch_size=64, shuffle=True, seed=0):
    ds = _pairs(images, labels)
    if shuffle:
        ds = ds.shuffle(len(images))
    return ds.batch(batch_size)


def ds_small_buffer(images, labels, batch_size=64, shuffle=True, seed=0):
    ds = _pairs(images, labels)
    if shuffle:
        ds = ds.shuffle(10, seed=seed)
    return ds.batch(batch_size)


def ds_shuffle_after_batch(images, labels, batch_size=64, shuffle=True, seed=0):
    ds = _pairs(images, labels).batch(batch_size)
    if shuffle:  # shuffles whole batches: the same 64 examples always travel together
        ds = ds.shuffle(len(images), seed=seed)
    return ds


def ds_fixed_seed(images, labels, batch_size=64, shuffle=True, seed=0):
    ds = _pairs(images, labels)
    if shuffle:
        ds = ds.shuffle(len(images), seed=0)
    return ds.batch(batch_size)


def ds_repeat_forever(images, labels, batch_size=64, shuffle=True, seed=0):
    ds = _pairs(images, labels)
    if shuffle:
        ds = ds.shuffle(len(images), seed=seed)
    return ds.batch(batch_size).repeat()


# --- wrong answers: build_mlp -------------------------------------------------------------------

def _mlp(*layers):
    return keras.Sequential([keras.Input(shape=(784,)), *layers])


def mlp_softmax(hidden_units=512):
    return _mlp(keras.layers.Dense(hidden_units, activation="relu"),
                keras.layers.Dense(10, activation="softmax"))


def mlp_no_relu(hidden_units=512):
    return _mlp(keras.layers.Dense(hidden_units), keras.layers.Dense(10))


def mlp_hard_coded_512(hidden_units=512):
    return _mlp(keras.layers.Dense(512, activation="relu"), keras.layers.Dense(10))


def mlp_128(hidden_units=512):
    return _mlp(keras.layers.Dense(128, activation="relu"), keras.layers.Dense(10))


def mlp_no_input(hidden_units=512):
    return keras.Sequential([keras.layers.Dense(hidden_units, activation="relu"),
                             keras.layers.Dense(10)])


def mlp_image_input(hidden_units=512):
    return keras.Sequential([keras.Input(shape=(28, 28)), keras.layers.Flatten(),
                             keras.layers.Dense(hidden_units, activation="relu"),
                             keras.layers.Dense(10)])


def mlp_no_bias(hidden_units=512):
    return _mlp(keras.layers.Dense(hidden_units, activation="relu", use_bias=False),
                keras.layers.Dense(10, use_bias=False))


def mlp_one_output(hidden_units=512):
    return _mlp(keras.layers.Dense(hidden_units, activation="relu"), keras.layers.Dense(1))


def mlp_extra_hidden(hidden_units=512):
    return _mlp(keras.layers.Dense(hidden_units, activation="relu"),
                keras.layers.Dense(hidden_units, activation="relu"), keras.layers.Dense(10))


def mlp_functional(hidden_units=512):
    inputs = keras.Input(shape=(784,))
    hidden = keras.layers.Dense(hidden_units, activation="relu")(inputs)
    return keras.Model(inputs, keras.layers.Dense(10)(hidden))


def mlp_softmax_layer(hidden_units=512):
    return _mlp(keras.layers.Dense(hidden_units, activation="relu"), keras.layers.Dense(10),
                keras.layers.Softmax())


def mlp_relu_layer(hidden_units=512):
    """Not a wrong answer: the same function as the reference, with ReLU as its own layer."""
    return _mlp(keras.layers.Dense(hidden_units), keras.layers.ReLU(), keras.layers.Dense(10))


# --- wrong answers: compile_mlp -----------------------------------------------------------------

LOGITS_LOSS = keras.losses.SparseCategoricalCrossentropy


def cm_adam(model, learning_rate=0.01, momentum=0.9):
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss=LOGITS_LOSS(from_logits=True), metrics=["accuracy"])
    return model


def cm_no_momentum(model, learning_rate=0.01, momentum=0.9):
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=learning_rate),
                  loss=LOGITS_LOSS(from_logits=True), metrics=["accuracy"])
    return model


def cm_fixed_learning_rate(model, learning_rate=0.01, momentum=0.9):
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.01, momentum=momentum),
                  loss=LOGITS_LOSS(from_logits=True), metrics=["accuracy"])
    return model


def cm_fixed_momentum(model, learning_rate=0.01, momentum=0.9):
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=learning_rate, momentum=0.9),
                  loss=LOGITS_LOSS(from_logits=True), metrics=["accuracy"])
    return model


def cm_not_from_logits(model, learning_rate=0.01, momentum=0.9):
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=learning_rate, momentum=momentum),
                  loss=LOGITS_LOSS(), metrics=["accuracy"])
    return model


def cm_string_loss(model, learning_rate=0.01, momentum=0.9):
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=learning_rate, momentum=momentum),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def cm_categorical(model, learning_rate=0.01, momentum=0.9):
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=learning_rate, momentum=momentum),
                  loss=keras.losses.CategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


def cm_no_metrics(model, learning_rate=0.01, momentum=0.9):
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=learning_rate, momentum=momentum),
                  loss=LOGITS_LOSS(from_logits=True))
    return model


def cm_returns_none(model, learning_rate=0.01, momentum=0.9):
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=learning_rate, momentum=momentum),
                  loss=LOGITS_LOSS(from_logits=True), metrics=["accuracy"])


def cm_never_compiles(model, learning_rate=0.01, momentum=0.9):
    return model


# --- wrong answers: RunningLoss -----------------------------------------------------------------

class _Printer(keras.callbacks.Callback):
    """Shared plumbing: subclasses choose what is printed."""

    def __init__(self, every=100):
        super().__init__()
        self.every = every

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch, self.window, self.previous_mean = epoch, 0.0, 0.0

    def batch_loss(self, batch, logs):
        mean = float(logs["loss"])
        loss = (batch + 1) * mean - batch * self.previous_mean
        self.previous_mean = mean
        return loss


class RL_PrintsRunningMean(_Printer):
    def on_train_batch_end(self, batch, logs=None):
        if (batch + 1) % self.every == 0:
            print("[%d, %5d] loss: %.3f" % (self.epoch + 1, batch + 1, logs["loss"]))


class RL_SumsRunningMeans(_Printer):
    """Treats logs['loss'] as the batch loss and averages it over the window."""

    def on_train_batch_end(self, batch, logs=None):
        self.window += float(logs["loss"])
        if (batch + 1) % self.every == 0:
            print("[%d, %5d] loss: %.3f" % (self.epoch + 1, batch + 1, self.window / self.every))
            self.window = 0.0


class RL_EveryBatch(_Printer):
    def on_train_batch_end(self, batch, logs=None):
        print("[%d, %5d] loss: %.3f" % (self.epoch + 1, batch + 1, self.batch_loss(batch, logs)))


class RL_ZeroBasedEpoch(_Printer):
    def on_train_batch_end(self, batch, logs=None):
        self.window += self.batch_loss(batch, logs)
        if (batch + 1) % self.every == 0:
            print("[%d, %5d] loss: %.3f" % (self.epoch, batch + 1, self.window / self.every))
            self.window = 0.0


class RL_NoEpochReset(_Printer):
    """Resets once per training, so epoch 1's 7th batch leaks into epoch 2's window."""

    def on_train_begin(self, logs=None):
        self.window, self.previous_mean = 0.0, 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        self.window += self.batch_loss(batch, logs)
        if (batch + 1) % self.every == 0:
            print("[%d, %5d] loss: %.3f" % (self.epoch + 1, batch + 1, self.window / self.every))
            self.window = 0.0


class RL_FixedEvery(_Printer):
    def on_train_batch_end(self, batch, logs=None):
        self.window += self.batch_loss(batch, logs)
        if (batch + 1) % 3 == 0:
            print("[%d, %5d] loss: %.3f" % (self.epoch + 1, batch + 1, self.window / 3))
            self.window = 0.0


class RL_Hundred(_Printer):
    """The original's literal 100 instead of `every`: never prints in a short test epoch."""

    def on_train_batch_end(self, batch, logs=None):
        self.window += self.batch_loss(batch, logs)
        if (batch + 1) % 100 == 0:
            print("[%d, %5d] loss: %.3f" % (self.epoch + 1, batch + 1, self.window / 100))
            self.window = 0.0


class RL_DividesBy100(_Printer):
    def on_train_batch_end(self, batch, logs=None):
        self.window += self.batch_loss(batch, logs)
        if (batch + 1) % self.every == 0:
            print("[%d, %5d] loss: %.3f" % (self.epoch + 1, batch + 1, self.window / 100))
            self.window = 0.0


class RL_NoPadding(_Printer):
    def on_train_batch_end(self, batch, logs=None):
        self.window += self.batch_loss(batch, logs)
        if (batch + 1) % self.every == 0:
            print("[%d, %d] loss: %.3f" % (self.epoch + 1, batch + 1, self.window / self.every))
            self.window = 0.0


class RL_OwnFormat(_Printer):
    def on_train_batch_end(self, batch, logs=None):
        self.window += self.batch_loss(batch, logs)
        if (batch + 1) % self.every == 0:
            print(f"epoch {self.epoch + 1} batch {batch + 1}: {self.window / self.every:.3f}")
            self.window = 0.0


class RL_NotACallback:
    """Right methods, but not a keras.callbacks.Callback."""

    def __init__(self, every=100):
        self.every = every

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch, self.window, self.previous_mean = epoch, 0.0, 0.0

    def on_train_batch_end(self, batch, logs=None):
        mean = float(logs["loss"])
        self.window += (batch + 1) * mean - batch * self.previous_mean
        self.previous_mean = mean
        if (batch + 1) % self.every == 0:
            print("[%d, %5d] loss: %.3f" % (self.epoch + 1, batch + 1, self.window / self.every))
            self.window = 0.0


# --- wrong answers: predict_digits --------------------------------------------------------------

def pd_probabilities(model, images):
    return model.predict(good_preprocess(images), verbose=0)


def pd_raw_pixels(model, images):
    return np.argmax(model.predict(images.reshape(len(images), 784), verbose=0), axis=1)


def pd_only_scaled(model, images):
    return np.argmax(model.predict(_flat(images) / 255.0, verbose=0), axis=1)


def pd_wrong_constants(model, images):
    return np.argmax(model.predict((_flat(images) / 255.0 - 0.5) / 0.5, verbose=0), axis=1)


def pd_float_labels(model, images):
    scores = model.predict(good_preprocess(images), verbose=0)
    return np.argmax(scores, axis=1).astype("float32")


def pd_returns_none(model, images):
    np.argmax(model.predict(good_preprocess(images), verbose=0), axis=1)


def pd_argmax_axis0(model, images):
    return np.argmax(model.predict(good_preprocess(images), verbose=0), axis=0)


def pd_not_done(model, images):
    raise NotImplementedError()


# --- the table of wrong answers -----------------------------------------------------------------

WRONG = [
    # preprocess (1 point)
    pytest.param("preprocess", pre_no_scaling, 0, "dividing by 255.0", id="pre-no-/255"),
    pytest.param("preprocess", pre_no_standardizing, 0, "values are not standardized",
                 id="pre-only-/255"),
    pytest.param("preprocess", pre_precedence, 0, "scale first, then subtract the mean",
                 id="pre-x/255-mean/std"),
    pytest.param("preprocess", pre_float64, 0, "float32 values (got float64)",
                 id="pre-float64"),
    pytest.param("preprocess", pre_not_flattened, 0, "got shape (20, 28, 28)",
                 id="pre-not-flattened"),
    pytest.param("preprocess", pre_returns_none, 0, "preprocess returned None",
                 id="pre-returns-None"),
    pytest.param("preprocess", pre_not_done, 0, "not done yet", id="pre-not-done"),
    pytest.param("preprocess", pre_wrong_order, 0, "scale first, then subtract the mean",
                 id="pre-standardize-before-/255"),
    # make_dataset (2 points; 1 banked once the first epoch is right)
    pytest.param("make_dataset", ds_numpy, 0, "return a tf.data.Dataset (got tuple)",
                 id="ds-numpy-arrays"),
    pytest.param("make_dataset", ds_not_flattened, 0, "must be flattened to 784 values",
                 id="ds-not-flattened"),
    pytest.param("make_dataset", ds_not_preprocessed, 0, "the images are not preprocessed",
                 id="ds-only-/255"),
    pytest.param("make_dataset", ds_batch_size_ignored, 0, "the first batch has 32 examples",
                 id="ds-batch-size-ignored"),
    pytest.param("make_dataset", ds_always_shuffles, 0, "shuffle only when shuffle is true",
                 id="ds-shuffles-when-false"),
    pytest.param("make_dataset", ds_drop_remainder, 1, "do not drop the last partial batch",
                 id="ds-drop-remainder"),
    pytest.param("make_dataset", ds_repeat_take_batches, 1,
                 "one pass yields 320 examples instead of 300", id="ds-repeat-take-batches"),
    pytest.param("make_dataset", ds_one_hot_labels, 1, "the labels come out changed",
                 id="ds-one-hot-labels"),
    pytest.param("make_dataset", ds_shuffle_ignored, 1, "with shuffle=True the order must change",
                 id="ds-shuffle-ignored"),
    pytest.param("make_dataset", ds_repeat_before_shuffle, 1,
                 "every example must appear exactly once per epoch", id="ds-repeat-then-shuffle"),
    pytest.param("make_dataset", ds_images_shuffled_alone, 1,
                 "images and labels no longer match after shuffling",
                 id="ds-images-shuffled-alone"),
    pytest.param("make_dataset", ds_no_seed, 1, "pass seed=seed to shuffle", id="ds-no-seed"),
    pytest.param("make_dataset", ds_shuffle_after_batch, 1, "whole data set",
                 id="ds-shuffle-after-batch"),
    pytest.param("make_dataset", ds_small_buffer, 1, "whole data set",
                 id="ds-shuffle-buffer-10"),
    pytest.param("make_dataset", ds_fixed_seed, 1, "seed", id="ds-seed-hard-coded"),
    # build_mlp (2 points; 1 banked once input/output shapes are right)
    pytest.param("build_mlp", mlp_softmax, 1, "it must return raw logits", id="mlp-softmax"),
    pytest.param("build_mlp", mlp_no_relu, 1, "needs activation='relu'", id="mlp-no-relu"),
    pytest.param("build_mlp", mlp_hard_coded_512, 1, "use the hidden_units argument",
                 id="mlp-hidden-units-ignored"),
    pytest.param("build_mlp", mlp_128, 1, "the hidden layer has 128 units", id="mlp-128"),
    pytest.param("build_mlp", mlp_no_input, 0, "start the Sequential with keras.Input",
                 id="mlp-no-input"),
    pytest.param("build_mlp", mlp_image_input, 0, "the input shape is (None, 28, 28)",
                 id="mlp-image-input"),
    pytest.param("build_mlp", mlp_no_bias, 1, "use_bias=False", id="mlp-no-bias"),
    pytest.param("build_mlp", mlp_one_output, 0, "needs 10 units", id="mlp-1-output"),
    pytest.param("build_mlp", mlp_extra_hidden, 1, "the model has 3 Dense layers",
                 id="mlp-extra-hidden"),
    # The exercise asks for a keras.Sequential (the lab's subject); a functional model is
    # rejected with a hint saying exactly that.
    pytest.param("build_mlp", mlp_functional, 0, "return a keras.Sequential model (got Functional)",
                 id="mlp-functional"),
    pytest.param("build_mlp", mlp_softmax_layer, 1, "raw logits", id="mlp-softmax-layer"),
    # compile_mlp (2 points; 1 banked once the optimizer is right)
    pytest.param("compile_mlp", cm_adam, 0, "the original uses SGD; got Adam", id="cm-adam"),
    pytest.param("compile_mlp", cm_no_momentum, 0, "the momentum is 0", id="cm-no-momentum"),
    pytest.param("compile_mlp", cm_fixed_learning_rate, 1, "use the learning_rate and momentum "
                 "arguments", id="cm-learning-rate-hard-coded"),
    pytest.param("compile_mlp", cm_fixed_momentum, 1, "instead of fixed numbers",
                 id="cm-momentum-hard-coded"),
    pytest.param("compile_mlp", cm_not_from_logits, 1, "SparseCategoricalCrossentropy("
                 "from_logits=True)", id="cm-from-logits-false"),
    pytest.param("compile_mlp", cm_string_loss, 1, "does not treat the model's outputs as logits",
                 id="cm-string-loss"),
    pytest.param("compile_mlp", cm_categorical, 1, "CategoricalCrossentropy wants one-hot",
                 id="cm-categorical"),
    pytest.param("compile_mlp", cm_no_metrics, 1, "metrics=['accuracy']", id="cm-no-metrics"),
    pytest.param("compile_mlp", cm_returns_none, 0, "return the compiled model",
                 id="cm-returns-None"),
    pytest.param("compile_mlp", cm_never_compiles, 0, "call model.compile", id="cm-no-compile"),
    # running_loss (3 points; 1 banked once the line count and format are right)
    pytest.param("running_loss", RL_PrintsRunningMean, 1, "mean since the start of the epoch",
                 id="rl-prints-logs-loss"),
    pytest.param("running_loss", RL_SumsRunningMeans, 1, "mean since the start of the epoch",
                 id="rl-averages-running-means"),
    pytest.param("running_loss", RL_EveryBatch, 0, "printed 14 lines", id="rl-every-batch"),
    pytest.param("running_loss", RL_ZeroBasedEpoch, 1, "count from 1", id="rl-0-based-epoch"),
    pytest.param("running_loss", RL_NoEpochReset, 1, "in on_epoch_begin", id="rl-no-epoch-reset"),
    pytest.param("running_loss", RL_FixedEvery, 1, "use the `every` argument",
                 id="rl-every-hard-coded-3"),
    pytest.param("running_loss", RL_Hundred, 0, "nothing was printed", id="rl-every-100"),
    pytest.param("running_loss", RL_DividesBy100, 1, "the mean of the last `every` batch losses",
                 id="rl-divides-by-100"),
    pytest.param("running_loss", RL_NoPadding, 1, "padded to 5 characters", id="rl-no-padding"),
    pytest.param("running_loss", RL_OwnFormat, 0, "use the original format", id="rl-own-format"),
    pytest.param("running_loss", RL_NotACallback, 0, "subclasses keras.callbacks.Callback",
                 id="rl-not-a-callback"),
    pytest.param("running_loss", RL_PrintsRunningMean(every=3), 0,
                 "must be a class", id="rl-instance-not-class"),
    # predict_digits (2 points; 1 banked once the shape and dtype are right)
    pytest.param("predict_digits", pd_probabilities, 0, "got shape (50, 10)",
                 id="pd-probabilities"),
    pytest.param("predict_digits", pd_raw_pixels, 1, "preprocess the images exactly as in "
                 "training", id="pd-raw-uint8"),
    pytest.param("predict_digits", pd_only_scaled, 1, "preprocess the images exactly as in "
                 "training", id="pd-only-/255"),
    pytest.param("predict_digits", pd_wrong_constants, 1, "the predicted labels differ",
                 id="pd-wrong-constants"),
    pytest.param("predict_digits", pd_float_labels, 0, "return integer labels, got float32",
                 id="pd-float-labels"),
    pytest.param("predict_digits", pd_returns_none, 0, "predict_digits returned None",
                 id="pd-returns-None"),
    pytest.param("predict_digits", pd_argmax_axis0, 0, "(axis=1)", id="pd-argmax-axis0"),
    pytest.param("predict_digits", pd_not_done, 0, "not done yet", id="pd-not-done"),
]


@pytest.mark.parametrize(("check_name", "answer", "points", "hint"), WRONG)
def test_wrong_answer_is_rejected_with_the_right_hint(check_name, answer, points, hint):
    result = grade(check_name, answer)
    assert not result.passed
    assert result.points < result.max_points
    assert hint in result.hint, result.hint
    assert result.points == points, result
    assert LOG.results == [result]


@pytest.mark.parametrize("global_seed", [None, 0, 1, 4])
@pytest.mark.parametrize("answer", [ds_shuffle_after_batch, ds_small_buffer])
def test_weak_shuffles_are_rejected_whatever_the_global_seed(answer, global_seed, solution):
    """Global seeds 0 and 4 put the short last batch first when whole batches are shuffled;
    an earlier test that seeds TensorFlow must not turn a wrong answer into a pass."""
    if global_seed is not None:
        keras.utils.set_random_seed(global_seed)
    assert grade("make_dataset", solution["make_dataset"]).passed
    result = grade("make_dataset", answer)
    assert result.points == 1 and "whole data set" in result.hint, result


def test_each_check_has_at_least_five_wrong_answers_that_it_catches():
    caught = {name: 0 for name in EXERCISES}
    for param in WRONG:
        if not param.marks:
            caught[param.values[0]] += 1
    assert min(caught.values()) >= 5, caught


# --- scenarios that the table cannot express ----------------------------------------------------

def test_standardizing_before_scaling_is_rejected():
    """The mistake is caught (0 points) and the hint names the division by 255.0."""
    result = grade("preprocess", pre_wrong_order)
    assert (result.points, result.passed) == (0, False)
    assert "255.0" in result.hint


@pytest.mark.parametrize("answer", [ds_small_buffer, ds_shuffle_after_batch, ds_fixed_seed])
def test_weak_shuffles_meet_the_letter_of_the_epoch_checks(answer):
    """Weak shuffles keep every example once per epoch: the check must catch them otherwise."""
    images, labels = checks._synthetic_digits()
    x, y = checks._epoch(answer(images, labels, batch_size=64, shuffle=True, seed=0))
    index = checks._decode_index(x)
    assert np.array_equal(np.sort(index), np.arange(len(images)))
    assert np.array_equal(y, labels[index])


def test_softmax_output_earns_exactly_half():
    """Structure right, activation wrong: the partial credit the check banks."""
    result = grade("build_mlp", mlp_softmax)
    assert result.line().startswith("✘ build_mlp: 1/2 points — the output layer uses "
                                    "activation='softmax'")


def test_relu_as_its_own_layer_is_accepted():
    result = grade("build_mlp", mlp_relu_layer)
    assert result.passed, result.hint


class CheckHung(BaseException):
    """Raised by the alarm below; a BaseException so that @check cannot turn it into a hint."""


def test_infinite_dataset_is_rejected_instead_of_hanging():
    def alarm(signum, frame):
        raise CheckHung("make_dataset was still iterating after 0.5 s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, 0.5)
    try:
        result = grade("make_dataset", ds_repeat_forever)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert result.points < result.max_points
    assert "repeat" in result.hint, result.hint


def _shape_bug(model, images):
    return model.predict(images, verbose=0)  # (50, 28, 28) into a 784-input model


def test_an_error_inside_keras_is_reported_not_raised(capsys):
    result = checks.predict_digits(_shape_bug)
    assert capsys.readouterr().out == result.line() + "\n"
    assert result.points == 0
    assert result.hint.startswith("your code raised ValueError: ")


def test_an_error_inside_keras_gets_a_one_line_hint_at_the_learners_line():
    hint = grade("predict_digits", _shape_bug).hint
    assert "\n" not in hint and "\x1b" not in hint, repr(hint)
    line = _shape_bug.__code__.co_firstlineno + 1
    assert hint.endswith(f"(line {line} of your code)"), hint
