"""Lab 01's wrong answers: what learners write for each exercise, and what the hint must say.

The mistakes that only show over several epochs (a fixed order, a small shuffle buffer) and
the optimizer flags that change the algorithm are here too.
"""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf

from course.data import MNIST_MEAN, MNIST_STD
from course.data import preprocess as good_preprocess
from wrong_answers import Lab, WrongAnswer

LAB = Lab(
    notebook="01_sequential_mlp.ipynb",
    checks="course.checks.lab01",
    exercises={"preprocess": "preprocess", "make_dataset": "make_dataset",
               "build_mlp": "build_mlp", "compile_mlp": "compile_mlp",
               "running_loss": "RunningLoss", "predict_digits": "predict_digits"},
    points=12,
    setup="import keras, numpy as np, tensorflow as tf\nfrom course import data\n",
)


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




# --- mistakes that need more than one epoch, a real-sized buffer or the whole configuration ------

def ds_shuffled_once_with_numpy(images, labels, batch_size=64, shuffle=True, seed=0):
    if shuffle:  # one permutation, fixed for every epoch
        order = np.random.default_rng(seed).permutation(len(images))
        images, labels = images[order], labels[order]
    return _pairs(images, labels).batch(batch_size)


def ds_no_reshuffle(images, labels, batch_size=64, shuffle=True, seed=0):
    ds = _pairs(images, labels)
    if shuffle:
        ds = ds.shuffle(len(images), seed=seed, reshuffle_each_iteration=False)
    return ds.batch(batch_size)


def ds_buffer_1000(images, labels, batch_size=64, shuffle=True, seed=0):
    ds = _pairs(images, labels)
    if shuffle:  # enough for a 300-row check, a tenth of the real 8,000
        ds = ds.shuffle(1000, seed=seed)
    return ds.batch(batch_size)


def ds_buffer_1024(images, labels, batch_size=64, shuffle=True, seed=0):
    ds = _pairs(images, labels)
    if shuffle:
        ds = ds.shuffle(buffer_size=1024, seed=seed)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def _sgd_compile(model, **options):
    model.compile(optimizer=keras.optimizers.SGD(**options),
                  loss=LOGITS_LOSS(from_logits=True), metrics=["accuracy"])
    return model


def cm_nesterov(model, learning_rate=0.01, momentum=0.9):
    return _sgd_compile(model, learning_rate=learning_rate, momentum=momentum, nesterov=True)


def cm_weight_decay(model, learning_rate=0.01, momentum=0.9):
    return _sgd_compile(model, learning_rate=learning_rate, momentum=momentum,
                        weight_decay=5e-4)


def cm_clipnorm(model, learning_rate=0.01, momentum=0.9):
    return _sgd_compile(model, learning_rate=learning_rate, momentum=momentum, clipnorm=1.0)


def cm_mse(model, learning_rate=0.01, momentum=0.9):
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=learning_rate, momentum=momentum),
                  loss="mse", metrics=["accuracy"])
    return model


class RL_FourDecimals(_Printer):
    def on_train_batch_end(self, batch, logs=None):
        self.window += self.batch_loss(batch, logs)
        if (batch + 1) % self.every == 0:
            print("[%d, %5d] loss: %.4f" % (self.epoch + 1, batch + 1, self.window / self.every))
            self.window = 0.0


WRONG = [
    WrongAnswer("preprocess", "pre-no-/255", pre_no_scaling,
                ("dividing by 255.0",), 0),
    WrongAnswer("preprocess", "pre-only-/255", pre_no_standardizing,
                ("values are not standardized",), 0),
    WrongAnswer("preprocess", "pre-x/255-mean/std", pre_precedence,
                ("scale first, then subtract the mean",), 0),
    WrongAnswer("preprocess", "pre-float64", pre_float64,
                ("float32 values (got float64)",), 0),
    WrongAnswer("preprocess", "pre-not-flattened", pre_not_flattened,
                ("got shape (20, 28, 28)",), 0),
    WrongAnswer("preprocess", "pre-returns-None", pre_returns_none,
                ("your preprocess returns None", "`return`",), 0),
    WrongAnswer("preprocess", "pre-not-done", pre_not_done,
                ("not done yet",), 0),
    WrongAnswer("preprocess", "pre-standardize-before-/255", pre_wrong_order,
                ("scale first, then subtract the mean",), 0),
    WrongAnswer("make_dataset", "ds-numpy-arrays", ds_numpy,
                ("return a tf.data.Dataset (got tuple)",), 0),
    WrongAnswer("make_dataset", "ds-not-flattened", ds_not_flattened,
                ("must be flattened to 784 values",), 0),
    WrongAnswer("make_dataset", "ds-only-/255", ds_not_preprocessed,
                ("the images are not preprocessed",), 0),
    WrongAnswer("make_dataset", "ds-batch-size-ignored", ds_batch_size_ignored,
                ("the first batch has 32 examples",), 0),
    WrongAnswer("make_dataset", "ds-shuffles-when-false", ds_always_shuffles,
                ("shuffle only when shuffle is true",), 0),
    WrongAnswer("make_dataset", "ds-drop-remainder", ds_drop_remainder,
                ("do not drop the last partial batch",), 1),
    WrongAnswer("make_dataset", "ds-repeat-take-batches", ds_repeat_take_batches,
                ("one pass yields 320 examples instead of 300",), 1),
    WrongAnswer("make_dataset", "ds-one-hot-labels", ds_one_hot_labels,
                ("the labels come out changed",), 1),
    WrongAnswer("make_dataset", "ds-shuffle-ignored", ds_shuffle_ignored,
                ("with shuffle=True the order must change",), 1),
    WrongAnswer("make_dataset", "ds-repeat-then-shuffle", ds_repeat_before_shuffle,
                ("every example must appear exactly once per epoch",), 1),
    WrongAnswer("make_dataset", "ds-images-shuffled-alone", ds_images_shuffled_alone,
                ("images and labels no longer match after shuffling",), 1),
    WrongAnswer("make_dataset", "ds-no-seed", ds_no_seed,
                ("pass seed=seed",), 1),
    WrongAnswer("make_dataset", "ds-shuffle-after-batch", ds_shuffle_after_batch,
                ("whole data set",), 1),
    WrongAnswer("make_dataset", "ds-shuffle-buffer-10", ds_small_buffer,
                ("whole data set",), 1),
    WrongAnswer("make_dataset", "ds-seed-hard-coded", ds_fixed_seed,
                ("seed",), 1),
    WrongAnswer("build_mlp", "mlp-softmax", mlp_softmax,
                ("it must return raw logits",), 1),
    WrongAnswer("build_mlp", "mlp-no-relu", mlp_no_relu,
                ("needs activation='relu'",), 1),
    WrongAnswer("build_mlp", "mlp-hidden-units-ignored", mlp_hard_coded_512,
                ("use the hidden_units argument",), 1),
    WrongAnswer("build_mlp", "mlp-128", mlp_128,
                ("the hidden layer has 128 units",), 1),
    WrongAnswer("build_mlp", "mlp-no-input", mlp_no_input,
                ("start the Sequential with keras.Input",), 0),
    WrongAnswer("build_mlp", "mlp-image-input", mlp_image_input,
                ("the input shape is (None, 28, 28)",), 0),
    WrongAnswer("build_mlp", "mlp-no-bias", mlp_no_bias,
                ("use_bias=False",), 1),
    WrongAnswer("build_mlp", "mlp-1-output", mlp_one_output,
                ("needs 10 units",), 0),
    WrongAnswer("build_mlp", "mlp-extra-hidden", mlp_extra_hidden,
                ("the model has 3 Dense layers",), 1),
    WrongAnswer("build_mlp", "mlp-functional", mlp_functional,
                ("return a keras.Sequential model (got Functional)",), 0),
    WrongAnswer("build_mlp", "mlp-softmax-layer", mlp_softmax_layer,
                ("raw logits",), 1),
    WrongAnswer("compile_mlp", "cm-adam", cm_adam,
                ("the optimizer is Adam; expected keras.optimizers.SGD",), 0),
    WrongAnswer("compile_mlp", "cm-no-momentum", cm_no_momentum,
                ("momentum=0.0",), 0),
    WrongAnswer("compile_mlp", "cm-learning-rate-hard-coded", cm_fixed_learning_rate,
                ("use the learning_rate and momentum "
                 "arguments",), 1),
    WrongAnswer("compile_mlp", "cm-momentum-hard-coded", cm_fixed_momentum,
                ("instead of fixed numbers",), 1),
    WrongAnswer("compile_mlp", "cm-from-logits-false", cm_not_from_logits,
                ("SparseCategoricalCrossentropy("
                 "from_logits=True)",), 1),
    WrongAnswer("compile_mlp", "cm-string-loss", cm_string_loss,
                ("as probabilities", "from_logits=True"), 1),
    WrongAnswer("compile_mlp", "cm-categorical", cm_categorical,
                ("CategoricalCrossentropy wants one-hot",), 1),
    WrongAnswer("compile_mlp", "cm-no-metrics", cm_no_metrics,
                ("metrics=['accuracy']",), 1),
    WrongAnswer("compile_mlp", "cm-returns-None", cm_returns_none,
                ("your compile_mlp returns None",), 0),
    WrongAnswer("compile_mlp", "cm-no-compile", cm_never_compiles,
                ("call model.compile",), 0),
    WrongAnswer("running_loss", "rl-prints-logs-loss", RL_PrintsRunningMean,
                ("mean since the start of the epoch",), 1),
    WrongAnswer("running_loss", "rl-averages-running-means", RL_SumsRunningMeans,
                ("mean since the start of the epoch",), 1),
    WrongAnswer("running_loss", "rl-every-batch", RL_EveryBatch,
                ("printed 14 lines",), 0),
    WrongAnswer("running_loss", "rl-0-based-epoch", RL_ZeroBasedEpoch,
                ("count from 1",), 1),
    WrongAnswer("running_loss", "rl-no-epoch-reset", RL_NoEpochReset,
                ("in on_epoch_begin",), 1),
    WrongAnswer("running_loss", "rl-every-hard-coded-3", RL_FixedEvery,
                ("use the `every` argument",), 1),
    WrongAnswer("running_loss", "rl-every-100", RL_Hundred,
                ("nothing was printed",), 0),
    WrongAnswer("running_loss", "rl-divides-by-100", RL_DividesBy100,
                ("the mean of the last `every` batch losses",), 1),
    WrongAnswer("running_loss", "rl-no-padding", RL_NoPadding,
                ("padded to 5 characters",), 1),
    WrongAnswer("running_loss", "rl-own-format", RL_OwnFormat,
                ("use Article A's format",), 0),
    WrongAnswer("running_loss", "rl-not-a-callback", RL_NotACallback,
                ("subclasses keras.callbacks.Callback",), 0),
    WrongAnswer("running_loss", "rl-instance-not-class", RL_PrintsRunningMean(every=3),
                ("must be a class",), 0),
    WrongAnswer("predict_digits", "pd-probabilities", pd_probabilities,
                ("got shape (50, 10)",), 0),
    WrongAnswer("predict_digits", "pd-raw-uint8", pd_raw_pixels,
                ("preprocess the images exactly as in "
                 "training",), 1),
    WrongAnswer("predict_digits", "pd-only-/255", pd_only_scaled,
                ("preprocess the images exactly as in "
                 "training",), 1),
    WrongAnswer("predict_digits", "pd-wrong-constants", pd_wrong_constants,
                ("the predicted labels differ",), 1),
    WrongAnswer("predict_digits", "pd-float-labels", pd_float_labels,
                ("return integer labels, got float32",), 0),
    WrongAnswer("predict_digits", "pd-returns-None", pd_returns_none,
                ("your predict_digits returns None",), 0),
    WrongAnswer("predict_digits", "pd-argmax-axis0", pd_argmax_axis0,
                ("(axis=1)",), 0),
    WrongAnswer("predict_digits", "pd-not-done", pd_not_done,
                ("not done yet",), 0),

    WrongAnswer("make_dataset", "ds-numpy-shuffle-once", ds_shuffled_once_with_numpy,
                ("same order as the first", "reshuffle"), 1),
    WrongAnswer("make_dataset", "ds-reshuffle-each-iteration-false", ds_no_reshuffle,
                ("same order as the first", "reshuffle_each_iteration=True"), 1),
    WrongAnswer("make_dataset", "ds-shuffle-buffer-1000", ds_buffer_1000,
                ("shuffle buffer is too small", "len(images)"), 1),
    WrongAnswer("make_dataset", "ds-shuffle-buffer-1024", ds_buffer_1024,
                ("shuffle buffer is too small",), 1),
    WrongAnswer("compile_mlp", "cm-nesterov", cm_nesterov, ("nesterov=True",), 0),
    WrongAnswer("compile_mlp", "cm-weight-decay", cm_weight_decay, ("weight_decay=0.0005",), 0),
    WrongAnswer("compile_mlp", "cm-clipnorm", cm_clipnorm, ("clipnorm=1.0",), 0),
    WrongAnswer("compile_mlp", "cm-mse", cm_mse, ("mean squared error",), 1),
    WrongAnswer("running_loss", "rl-4-decimals", RL_FourDecimals, ("3 decimals", "%.3f"), 1),
]
