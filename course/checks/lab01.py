"""Checks for Lab 01, the Sequential MLP on MNIST (784→512→10, SGD with momentum)."""

from __future__ import annotations

import contextlib
import io
import re
from typing import Any

import numpy as np

from course.checks import award, check, common, expect

ORIGINAL_FORMAT = "[%d, %5d] loss: %.3f"
LINE = re.compile(r"^\[(\d+), *(\d+)\] loss: (-?\d+)(?:\.(\d+))?$")
SHUFFLE_ROWS = 2_500  # enough to expose the usual fixed buffers (1000, 1024, 2048)
SHUFFLE_BATCH = 500


def reference_preprocess(images: np.ndarray) -> np.ndarray:
    """The expected preprocessing (course.data.preprocess)."""
    from course.data import preprocess as course_preprocess

    return course_preprocess(images)


@check(points=1)
def preprocess(preprocess_fn: Any) -> None:
    """Check ``preprocess(images)`` → float32 (n, 784), scaled to [0, 1] then standardized."""
    images, _ = common.synthetic_digits(20)
    x = preprocess_fn(images)
    common.expect_returned(x, "preprocess", "the preprocessed array")
    x = np.asarray(x)
    expect(x.shape == (20, 784), f"return one row of 784 values per image: got shape {x.shape}; "
           "use images.reshape(len(images), 784)")
    expect(x.dtype == np.float32, f"return float32 values (got {x.dtype}): .astype('float32')")
    from course.data import MNIST_MEAN, MNIST_STD

    flat = images.reshape(20, 784).astype("float32")
    expect(not np.allclose(x, (flat - MNIST_MEAN) / MNIST_STD / 255.0, atol=1e-5),
           "scale first, then subtract the mean: (images / 255.0 - MNIST_MEAN) / MNIST_STD; "
           "you standardized the raw 0–255 pixels before dividing by 255")
    expect(x.max() <= 10.0, f"values go up to {x.max():g}: first scale the uint8 pixels to "
           "[0, 1] by dividing by 255.0")
    expect(x.min() < -0.4, "values are not standardized: subtract MNIST_MEAN (0.1307) and "
           "divide by MNIST_STD (0.3081) after scaling to [0, 1]")
    expect(np.allclose(x, reference_preprocess(images), atol=1e-5),
           "the values differ from (images / 255.0 - MNIST_MEAN) / MNIST_STD: scale first, "
           "then subtract the mean, then divide by the standard deviation")


@check(points=2, judged="kernel")
def make_dataset(make_dataset_fn: Any) -> None:
    """Check ``make_dataset(images, labels, batch_size, shuffle, seed)`` → a tf.data pipeline."""
    import tensorflow as tf

    images, labels = common.synthetic_digits()
    ds = make_dataset_fn(images, labels, batch_size=64, shuffle=False, seed=0)
    common.expect_returned(ds, "make_dataset", "the tf.data.Dataset")
    expect(isinstance(ds, tf.data.Dataset),
           f"return a tf.data.Dataset (got {type(ds).__name__}); start from "
           "tf.data.Dataset.from_tensor_slices((preprocess(images), labels))")
    expect(int(ds.cardinality()) != int(tf.data.INFINITE_CARDINALITY),
           "the data set never ends: do not .repeat() it, fit already loops over the epochs")
    x_spec, _ = ds.element_spec
    expect(tuple(x_spec.shape)[1:] == (784,),
           f"each image must be flattened to 784 values: got batches of shape {x_spec.shape}; "
           "apply preprocess(images) first")
    expect(x_spec.dtype == tf.float32, f"images must be float32, got {x_spec.dtype.name}")
    xb, _ = next(iter(ds))
    expect(xb.shape[0] == 64, f"the first batch has {xb.shape[0]} examples; batch_size is 64")
    x, y = common.one_pass(ds)
    n = min(len(x), len(images))
    expect(np.allclose(x[:n], reference_preprocess(images)[:n], atol=1e-5),
           "the images are not preprocessed, or come out of order with shuffle=False: apply "
           "preprocess(images) and shuffle only when shuffle is true")
    award(1)
    expect(len(x) == len(images),
           f"one pass yields {len(x)} examples instead of {len(images)}: do not drop the last "
           "partial batch or repeat the data")
    expect(np.array_equal(y.astype("int64"), labels.astype("int64")),
           "the labels come out changed: pass them through unchanged as integers")
    _expect_shuffled(make_dataset_fn)


def _expect_shuffled(make_dataset_fn: Any) -> None:
    """Two epochs of 8,000 examples: a full shuffle, new every epoch, reproducible by seed."""
    n = SHUFFLE_ROWS
    images, labels = common.synthetic_digits(n, seed=8)

    def build(seed: int) -> Any:
        return make_dataset_fn(images, labels, batch_size=SHUFFLE_BATCH, shuffle=True, seed=seed)

    ds = build(0)
    x, y = common.one_pass(ds)
    index = common.decode_index(x)
    expect(not np.array_equal(index, np.arange(len(index))),
           "with shuffle=True the order must change: add .shuffle(len(images), seed=seed)")
    expect(len(index) == n and np.array_equal(np.sort(index), np.arange(n)),
           "after shuffling every example must appear exactly once per epoch: shuffle the "
           "whole data set (buffer size = number of examples) before batching, and do not "
           ".repeat() it")
    expect(np.array_equal(y.astype(int), labels[index].astype(int)),
           "images and labels no longer match after shuffling: shuffle the (image, label) "
           "pairs together, not two arrays separately")
    spans = [np.ptp(part) for part in np.array_split(index, max(1, n // SHUFFLE_BATCH))]
    expect(np.median(spans) > n // 2,
           "the batches only hold neighbouring examples: shuffle the examples over the "
           "whole data set (buffer size = number of examples) before .batch()")
    reach = common.displacement(index)
    expect(reach > 9 * n // 10,
           f"the shuffle buffer is too small: with {n:,} examples none moved more than "
           f"{reach + 1:,} places ahead, so a batch only mixes neighbours; use the whole data "
           "set as buffer, .shuffle(len(images), seed=seed), not a fixed number")
    second = common.decode_index(common.one_pass(ds)[0])
    expect(not np.array_equal(second, index),
           "the second epoch comes in the same order as the first: reshuffle every epoch — "
           "shuffle inside the pipeline with .shuffle(len(images), seed=seed) (keep "
           "reshuffle_each_iteration=True), not once with NumPy before from_tensor_slices")
    small, small_labels = common.synthetic_digits()

    def order(seed: int) -> np.ndarray:
        ds = make_dataset_fn(small, small_labels, batch_size=SHUFFLE_BATCH, shuffle=True,
                             seed=seed)
        return common.decode_index(common.one_pass(ds)[0])

    first = order(0)
    expect(np.array_equal(order(0), first),
           "two pipelines built with the same seed give different orders: pass seed=seed "
           "to shuffle so the run is reproducible")
    expect(not np.array_equal(order(1), first),
           "seed=1 gives the same order as seed=0: use the seed argument, shuffle(..., seed=seed)")


@check(points=2, judged="kernel")
def build_mlp(build_mlp_fn: Any) -> None:
    """Check ``build_mlp(hidden_units)`` → keras.Sequential 784→hidden(ReLU)→10 logits."""

    model = build_mlp_fn(512)
    common.expect_sequential(model, "build_mlp", 784, 10)
    award(1)
    dense = common.layers_of(model)
    expect(len(dense) == 2, f"the model has {len(dense)} Dense layers; Article A's network has two "
           "(784→512 and 512→10)")
    expect(dense[0].units == 512, f"the hidden layer has {dense[0].units} units; Article A's "
           "example uses 512")
    expect(all(layer.use_bias for layer in dense),
           "a layer has use_bias=False: Article A's nn.Linear layers have biases (b₁, b₂)")
    expect(dense[1].get_config()["activation"] == "linear",
           f"the output layer uses activation='{dense[1].get_config()['activation']}': it must "
           "return raw logits, because the loss applies softmax itself (from_logits=True), "
           "like PyTorch's CrossEntropyLoss")
    x = np.random.default_rng(0).normal(size=(4, 784)).astype("float32")
    (w1, b1), (w2, b2) = dense[0].get_weights(), dense[1].get_weights()
    logits = np.maximum(x @ w1 + b1, 0) @ w2 + b2
    out = np.asarray(model(x))
    expect(not np.allclose(out, (x @ w1 + b1) @ w2 + b2, atol=1e-4),
           "the hidden layer needs activation='relu': without it the two layers collapse into "
           "one linear map")
    expect(not np.allclose(out.sum(axis=1), 1.0, atol=1e-4),
           "the model outputs probabilities (a softmax): it must return raw logits, because "
           "the loss applies softmax itself (from_logits=True), like PyTorch's CrossEntropyLoss")
    expect(np.allclose(out, logits, atol=1e-4), "the model's output differs from "
           "relu(x·W₁ + b₁)·W₂ + b₂: use only the two Dense layers and a ReLU between them")
    expect(model.count_params() == 407_050,
           f"the model has {model.count_params():,} parameters; 784·512+512 + 512·10+10 = 407,050")
    small = build_mlp_fn(128)
    expect(small.count_params() == 101_770,
           "build_mlp(128) must have a 128-unit hidden layer (101,770 parameters): use the "
           "hidden_units argument instead of a fixed 512")


@check(points=2, judged="kernel")
def compile_mlp(compile_mlp_fn: Any) -> None:
    """Check ``compile_mlp(model, learning_rate, momentum)`` → the compiled model."""
    import keras

    def fresh() -> keras.Model:
        return keras.Sequential([keras.Input((784,)), keras.layers.Dense(10)])

    model = compile_mlp_fn(fresh(), learning_rate=0.01, momentum=0.9)
    common.expect_returned(model, "compile_mlp", "the compiled model")
    expect(isinstance(model, keras.Model),
           f"return the compiled model (got {type(model).__name__})")
    expect(model.compiled, "call model.compile(...) before returning the model")
    hint = common.optimizer_mismatch(
        model.optimizer, keras.optimizers.SGD(learning_rate=0.01, momentum=0.9),
        "SGD(learning_rate=learning_rate, momentum=momentum)")
    expect(not hint, f"{hint} (Article A uses SGD with momentum)")
    award(1)
    common.expect_classification_loss(model.loss)
    expect(common.has_accuracy(model),
           "add metrics=['accuracy'] so that training reports accuracy")
    other = compile_mlp_fn(fresh(), learning_rate=0.1, momentum=0.0)
    expect(np.isclose(float(other.optimizer.learning_rate), 0.1)
           and np.isclose(float(other.optimizer.momentum), 0.0),
           "use the learning_rate and momentum arguments instead of fixed numbers")


def _running_means(batch_losses: np.ndarray) -> np.ndarray:
    """What Keras puts in logs['loss']: the mean since the start of the epoch."""
    return np.cumsum(batch_losses) / np.arange(1, len(batch_losses) + 1)


def _expected_lines(epochs: list[np.ndarray], every: int) -> list[str]:
    lines = []
    for epoch, losses in enumerate(epochs):
        for end in range(every, len(losses) + 1, every):
            lines.append(ORIGINAL_FORMAT % (epoch + 1, end, losses[end - every:end].mean()))
    return lines


def _simulate(callback: Any, epochs: list[np.ndarray]) -> list[str]:
    """Drive ``callback`` as keras.Model.fit would and return the printed lines."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        callback.on_train_begin({})
        for epoch, losses in enumerate(epochs):
            callback.on_epoch_begin(epoch, {})
            for batch, mean in enumerate(_running_means(losses)):
                callback.on_train_batch_begin(batch, {})
                callback.on_train_batch_end(batch, {"loss": float(mean), "accuracy": 0.5})
            callback.on_epoch_end(epoch, {"loss": float(_running_means(losses)[-1])})
        callback.on_train_end({})
    return [line.rstrip() for line in out.getvalue().splitlines() if line.strip()]


def _loss_sequences() -> list[np.ndarray]:
    """Two epochs of 7 batch losses whose window means sit far from rounding boundaries."""
    first = np.array([2.31, 2.05, 1.61, 1.02, 0.87, 0.64, 0.58])
    second = np.array([0.52, 0.47, 0.44, 0.31, 0.36, 0.29, 0.27])
    return [first, second]


@check(points=3, judged="kernel")
def running_loss(callback_cls: Any) -> None:
    """Check ``RunningLoss(every)``: prints Article A's '[epoch, batch] loss' every N batches."""
    import keras

    expect(isinstance(callback_cls, type) and issubclass(callback_cls, keras.callbacks.Callback),
           "RunningLoss must be a class that subclasses keras.callbacks.Callback")
    epochs = _loss_sequences()
    got = _simulate(callback_cls(every=3), epochs)
    want = _expected_lines(epochs, 3)
    expect(got, "nothing was printed: in on_train_batch_end, print when (batch + 1) % every == 0")
    expect(len(got) == len(want),
           f"printed {len(got)} lines for 2 epochs of 7 batches with every=3; expected "
           f"{len(want)} (after batches 3 and 6 of each epoch)")
    parsed = [LINE.match(line) for line in got]
    expect(all(parsed),
           f"use Article A's format '{ORIGINAL_FORMAT}', e.g. {want[0]!r}; got {got[0]!r}")
    award(1)
    decimals = {len(m.group(4) or "") for m in parsed}
    expect(decimals == {3}, f"print the loss with 3 decimals like Article A, %.3f: got "
           f"{got[0]!r}, expected {want[0]!r}")
    expect(got[0].split("]")[0] == want[0].split("]")[0],
           f"the first line starts {got[0].split(']')[0]}]; expected {want[0].split(']')[0]}] "
           "(epochs and batches count from 1, batch padded to 5 characters)")
    means = [_running_means(ls) for ls in epochs]
    naive = {ORIGINAL_FORMAT % (1, 6, means[0][5]), ORIGINAL_FORMAT % (1, 6, means[0][3:6].mean())}
    expect(got[1] not in naive,
           "logs['loss'] is Keras' mean since the start of the epoch, not this batch's loss: "
           "recover the batch loss as (batch + 1) · mean − batch · previous mean, then average "
           "the last `every` of them as Article A does (after the first window the two "
           "differ)")
    difference = common.first_difference(got, want, "printed line")
    expect(got[:2] == want[:2], f"{difference} (the mean of the last `every` batch losses)")
    expect(got == want,
           f"{difference}: reset the running sum and the previous mean in on_epoch_begin")
    expect(_simulate(callback_cls(every=2), epochs) == _expected_lines(epochs, 2),
           "RunningLoss(every=2) must print every 2 batches: use the `every` argument")


@check(points=2, judged="kernel")
def predict_digits(predict_fn: Any) -> None:
    """Check ``predict_digits(model, images)`` → int labels (n,) from uint8 images."""
    import keras

    images, _ = common.synthetic_digits(50, seed=3)
    rng = np.random.default_rng(0)
    model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(10)])
    kernel = rng.normal(size=(784, 10)).astype("float32")
    bias = rng.normal(size=10).astype("float32") * 5
    model.layers[0].set_weights([kernel, bias])

    def labels_for(x: np.ndarray) -> np.ndarray:
        return np.argmax(x.astype("float64") @ kernel + bias, axis=1)

    want = labels_for(reference_preprocess(images))
    got = predict_fn(model, images)
    common.expect_returned(got, "predict_digits", "the labels")
    got = np.asarray(got)
    expect(got.shape == (50,),
           f"return one label per image, shape (50,); got shape {got.shape}: take the argmax "
           "over the 10 scores (axis=1)")
    expect(np.issubdtype(got.dtype, np.integer), f"return integer labels, got {got.dtype}")
    award(1)
    flat = images.reshape(50, 784).astype("float32")
    for wrong in (flat, flat / 255.0):
        alternative = labels_for(wrong)
        expect(not (np.array_equal(got, alternative) and not np.array_equal(got, want)),
               "preprocess the images exactly as in training: x = preprocess(images)")
    expect(np.array_equal(got, want), "the predicted labels differ from "
           "argmax(model.predict(preprocess(images)), axis=1) for "
           f"{int(np.sum(got != want))} of 50 images")
