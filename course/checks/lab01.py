"""Checks for Lab 01, the Sequential MLP on MNIST (784→512→10, SGD with momentum)."""

from __future__ import annotations

import contextlib
import io
from typing import Any

import numpy as np

from course.checks import award, check, expect

ORIGINAL_FORMAT = "[%d, %5d] loss: %.3f"


def _synthetic_digits(n: int = 300, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """Fake uint8 'images' whose first pixel encodes the label and second row the index."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n).astype("uint8")
    images = rng.integers(0, 256, (n, 28, 28)).astype("uint8")
    images[:, 0, 0] = labels * 25
    images[:, 0, 1] = 255  # so a correctly scaled batch has max exactly 1.0
    images[:, 1, 0] = np.arange(n) % 256
    images[:, 1, 1] = np.arange(n) // 256
    return images, labels


def reference_preprocess(images: np.ndarray) -> np.ndarray:
    """The expected preprocessing (course.data.preprocess)."""
    from course.data import preprocess as course_preprocess

    return course_preprocess(images)


def _decode_index(x: np.ndarray) -> np.ndarray:
    """Recover each synthetic example's index from its preprocessed pixels 28 and 29."""
    from course.data import MNIST_MEAN, MNIST_STD

    pixels = np.rint((x[:, 28:30] * MNIST_STD + MNIST_MEAN) * 255).astype(int)
    return pixels[:, 0] + 256 * pixels[:, 1]


def _epoch(ds: Any, max_batches: int = 1000) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate one pass over ``ds`` (at most ``max_batches``) into NumPy arrays."""
    xs, ys = zip(*[(np.asarray(x), np.asarray(y)) for x, y in ds.take(max_batches)],
                 strict=True)
    return np.concatenate(xs), np.concatenate(ys)


@check(points=1)
def preprocess(preprocess_fn: Any) -> None:
    """Check ``preprocess(images)`` → float32 (n, 784), scaled to [0, 1] then standardized."""
    images, _ = _synthetic_digits(20)
    x = preprocess_fn(images)
    expect(x is not None, "preprocess returned None: fill in the line marked # YOUR CODE HERE")
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


@check(points=2)
def make_dataset(make_dataset_fn: Any) -> None:
    """Check ``make_dataset(images, labels, batch_size, shuffle, seed)`` → a tf.data pipeline."""
    import tensorflow as tf

    images, labels = _synthetic_digits()
    ds = make_dataset_fn(images, labels, batch_size=64, shuffle=False, seed=0)
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
    x, y = _epoch(ds)
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
    shuffled = _epoch(make_dataset_fn(images, labels, batch_size=64, shuffle=True, seed=0))
    index = _decode_index(shuffled[0])
    expect(not np.array_equal(index, np.arange(len(images))),
           "with shuffle=True the order must change: add .shuffle(len(images), seed=seed)")
    expect(np.array_equal(np.sort(index), np.arange(len(images))),
           "after shuffling every example must appear exactly once per epoch: shuffle the "
           "whole data set (buffer size = number of examples) before batching")
    expect(np.array_equal(shuffled[1].astype(int), labels[index].astype(int)),
           "images and labels no longer match after shuffling: shuffle the (image, label) "
           "pairs together, not two arrays separately")
    spans = [np.ptp(_decode_index(np.asarray(x))) for x, _ in
             make_dataset_fn(images, labels, batch_size=64, shuffle=True, seed=0)]
    expect(np.median(spans) > len(images) // 2,
           "the batches only hold neighbouring examples: shuffle the examples over the "
           "whole data set (buffer size = number of examples) before .batch()")
    again = _epoch(make_dataset_fn(images, labels, batch_size=64, shuffle=True, seed=0))
    expect(np.array_equal(again[1], shuffled[1]),
           "two pipelines built with the same seed give different orders: pass seed=seed "
           "to shuffle so the run is reproducible")
    other = _epoch(make_dataset_fn(images, labels, batch_size=64, shuffle=True, seed=1))
    expect(not np.array_equal(_decode_index(other[0]), index),
           "seed=1 gives the same order as seed=0: use the seed argument, shuffle(..., seed=seed)")


def _dense_layers(model: Any) -> list[Any]:
    import keras

    return [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]


@check(points=2)
def build_mlp(build_mlp_fn: Any) -> None:
    """Check ``build_mlp(hidden_units)`` → keras.Sequential 784→hidden(ReLU)→10 logits."""
    import keras

    model = build_mlp_fn(512)
    expect(isinstance(model, keras.Sequential),
           f"return a keras.Sequential model (got {type(model).__name__})")
    expect(len(model.inputs or []) == 1 if model.built else False,
           "the model has no input shape yet: start the Sequential with keras.Input(shape=(784,))")
    expect(tuple(model.inputs[0].shape) == (None, 784),
           f"the input shape is {tuple(model.inputs[0].shape)}; use keras.Input(shape=(784,))")
    expect(tuple(model.outputs[0].shape) == (None, 10),
           f"the model outputs shape {tuple(model.outputs[0].shape)}: the last layer needs 10 "
           "units, one score per digit")
    award(1)
    dense = _dense_layers(model)
    expect(len(dense) == 2, f"the model has {len(dense)} Dense layers; the original has two "
           "(784→512 and 512→10)")
    expect(dense[0].units == 512, f"the hidden layer has {dense[0].units} units; the original "
           "example uses 512")
    expect(all(layer.use_bias for layer in dense),
           "a layer has use_bias=False: the original nn.Linear layers have biases (b₁, b₂)")
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


def _reference_ce(logits: np.ndarray, labels: np.ndarray) -> float:
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_softmax = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-log_softmax[np.arange(len(labels)), labels].mean())


@check(points=2)
def compile_mlp(compile_mlp_fn: Any) -> None:
    """Check ``compile_mlp(model, learning_rate, momentum)`` → the compiled model."""
    import keras

    def fresh() -> keras.Model:
        return keras.Sequential([keras.Input((784,)), keras.layers.Dense(10)])

    model = compile_mlp_fn(fresh(), learning_rate=0.01, momentum=0.9)
    expect(isinstance(model, keras.Model), "return the compiled model")
    expect(model.compiled, "call model.compile(...) before returning the model")
    opt = model.optimizer
    expect(isinstance(opt, keras.optimizers.SGD),
           f"the original uses SGD; got {type(opt).__name__}")
    expect(np.isclose(float(opt.learning_rate), 0.01), f"the learning rate is "
           f"{float(opt.learning_rate):g}; pass learning_rate=learning_rate (0.01) to SGD")
    expect(np.isclose(float(opt.momentum), 0.9),
           f"the momentum is {float(opt.momentum):g}; pass momentum=momentum (0.9) to SGD")
    award(1)
    loss = model.loss if isinstance(model.loss, keras.losses.Loss) else keras.losses.get(
        model.loss)
    expect(callable(loss), "pass a loss to compile: "
           "keras.losses.SparseCategoricalCrossentropy(from_logits=True)")
    logits = np.array([[2.0, 1.0, 0.1], [0.5, 2.5, -1.0], [0.3, 0.2, 3.0]], "float32")
    labels = np.array([0, 1, 2])
    try:
        value = float(np.asarray(loss(labels, logits)).mean())
    except Exception:
        value = float("nan")
    expect(np.isfinite(value), "the loss fails on integer labels 0–9: use "
           "SparseCategoricalCrossentropy (CategoricalCrossentropy wants one-hot labels)")
    expect(np.isclose(value, _reference_ce(logits, labels), atol=1e-5),
           "the loss does not treat the model's outputs as logits: use "
           "SparseCategoricalCrossentropy(from_logits=True)")
    metrics = (model.get_compile_config() or {}).get("metrics") or []
    expect(any("acc" in str(m).lower() for m in np.ravel(np.array(metrics, dtype=object))),
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


@check(points=3)
def running_loss(callback_cls: Any) -> None:
    """Check ``RunningLoss(every)``: prints the original '[epoch, batch] loss' every N batches."""
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
    expect(all(g.startswith("[") and "loss:" in g for g in got),
           f"use the original format '{ORIGINAL_FORMAT}', e.g. {want[0]!r}; got {got[0]!r}")
    award(1)
    expect(got[0].split("]")[0] == want[0].split("]")[0],
           f"the first line starts {got[0].split(']')[0]}]; expected {want[0].split(']')[0]}] "
           "(epochs and batches count from 1, batch padded to 5 characters)")
    means = [_running_means(ls) for ls in epochs]
    naive = {ORIGINAL_FORMAT % (1, 6, means[0][5]), ORIGINAL_FORMAT % (1, 6, means[0][3:6].mean())}
    expect(got[1] not in naive,
           "logs['loss'] is Keras' mean since the start of the epoch, not this batch's loss: "
           "recover the batch loss as (batch + 1) · mean − batch · previous mean, then average "
           "the last `every` of them as the original does")
    expect(got[:2] == want[:2],
           f"the first epoch prints {got[:2]}; expected {want[:2]} (the mean of the last "
           "`every` batch losses)")
    expect(got == want, f"the second epoch prints {got[2:]}; expected {want[2:]}: reset the "
           "running sum and the previous mean in on_epoch_begin")
    expect(_simulate(callback_cls(every=2), epochs) == _expected_lines(epochs, 2),
           "RunningLoss(every=2) must print every 2 batches: use the `every` argument")


@check(points=2)
def predict_digits(predict_fn: Any) -> None:
    """Check ``predict_digits(model, images)`` → int labels (n,) from uint8 images."""
    import keras

    images, _ = _synthetic_digits(50, seed=3)
    rng = np.random.default_rng(0)
    model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(10)])
    model.layers[0].set_weights([rng.normal(size=(784, 10)).astype("float32"),
                                 rng.normal(size=10).astype("float32") * 5])
    want = np.argmax(model.predict(reference_preprocess(images), verbose=0), axis=1)
    got = predict_fn(model, images)
    expect(got is not None, "predict_digits returned None: fill in the lines marked "
           "# YOUR CODE HERE")
    got = np.asarray(got)
    expect(got.shape == (50,),
           f"return one label per image, shape (50,); got shape {got.shape}: take the argmax "
           "over the 10 scores (axis=1)")
    expect(np.issubdtype(got.dtype, np.integer), f"return integer labels, got {got.dtype}")
    award(1)
    flat = images.reshape(50, 784).astype("float32")
    for wrong in (flat, flat / 255.0):
        alternative = np.argmax(model.predict(wrong, verbose=0), axis=1)
        expect(not (np.array_equal(got, alternative) and not np.array_equal(got, want)),
               "preprocess the images exactly as in training: x = preprocess(images)")
    expect(np.array_equal(got, want), "the predicted labels differ from "
           "argmax(model.predict(preprocess(images)), axis=1)")
