"""Checks for Lab 07, transfer learning: reuse a network trained on digits 0–4 for digits 5–9.

Each check runs the learner's function on small synthetic inputs (uint8 "digits" that carry
their label and index, a 784→16→12→10 "pretrained" model with batch norm and dropout), so it
takes a second and cannot be passed by copying numbers from the lab's own run.

Not graded: ``base(inputs, training=False)``. The lab writes it (Keras' documented idiom), but
in Keras 3 ``fit`` calls the model with ``training=True``, which overrides it inside nested
models (keras-team/keras#20285): what keeps a frozen base's batch norm in inference mode is
the layer's own ``trainable = False``, and the lab says so.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from course.checks import award, check, expect
from course.checks.common import (
    expect_classification_loss,
    expect_returned,
    optimizer_mismatch,
    synthetic_digits,
)

BASE_NAME, HEAD_NAME = "base", "head"


def _pair(result: Any, name: str) -> tuple[np.ndarray, np.ndarray]:
    """The learner's ``(images, labels)`` as two arrays, or a hint."""
    expect_returned(result, name, "the pair (images, labels)")
    expect(isinstance(result, tuple | list) and len(result) == 2,
           f"return the pair (images, labels), got {type(result).__name__}")
    images, labels = (np.asarray(part) for part in result)
    expect(len(images) == len(labels),
           f"{len(images)} images but {len(labels)} labels: select both with the same index")
    return images, labels


def _index_of(images: np.ndarray) -> np.ndarray:
    """The synthetic examples' indices, read from their untouched uint8 pixels."""
    return images[:, 1, 0].astype(int) + 256 * images[:, 1, 1].astype(int)


# --- Exercise 1: split by classes ---------------------------------------------------------------

@check(points=2)
def split_by_classes(split_fn: Any) -> None:
    """Check ``split_by_classes(images, labels, classes)`` → the classes' examples, relabelled."""
    images, labels = synthetic_digits(300)
    before = (images.copy(), labels.copy())
    for classes in ((5, 6, 7, 8, 9), (0, 1, 2, 3, 4), (7, 2, 9)):
        x, y = _pair(split_fn(images, labels, classes), "split_by_classes")
        keep = np.flatnonzero(np.isin(labels, classes))
        expect(np.array_equal(images, before[0]) and np.array_equal(labels, before[1]),
               "your function changed its input arrays: build new ones (boolean mask)")
        expect(x.shape[1:] == (28, 28) and x.dtype == np.uint8,
               f"return the images unchanged, uint8 (n, 28, 28) (got {x.dtype} {x.shape}); "
               "preprocessing comes later")
        expect(len(x) == len(keep),
               f"with classes={classes} keep the {len(keep)} examples whose label is in "
               f"classes, got {len(x)}: use the classes argument, np.isin(labels, classes)")
        index = _index_of(x)
        expect(set(index.tolist()) == set(keep.tolist()),
               f"with classes={classes} some kept images have a label outside classes: select "
               "images and labels with the same mask, np.isin(labels, classes)")
        expect(np.array_equal(index, keep),
               "keep the examples in their original order (no sorting, no shuffling): "
               "images[mask], labels[mask]")
        if classes == (5, 6, 7, 8, 9):
            award(1)
        expect(np.issubdtype(y.dtype, np.integer) and y.ndim == 1,
               f"the new labels must be integers of shape (n,), got {y.dtype} {y.shape}")
        want = np.array([classes.index(int(c)) for c in labels[keep]])
        if np.array_equal(y, labels[keep]) and not np.array_equal(y, want):
            expect(False, f"relabel: classes[i] becomes i (with classes={classes}: "
                   f"{classes[0]}→0 … {classes[-1]}→{len(classes) - 1}), because the new head's "
                   f"outputs are numbered 0…{len(classes) - 1}")
        expect(np.array_equal(y, want),
               f"with classes={classes} the new labels are wrong: classes[i] becomes i in the "
               f"order classes are given ({', '.join(f'{c}→{i}' for i, c in enumerate(classes))}"
               "), not label − min(classes) or sorted order")


# --- Exercise 2: the frozen base and the new head -----------------------------------------------

def pretrained_model(seed: int = 0) -> Any:
    """A small trained-looking model: 784→16 (ReLU)→12 (batch norm, ReLU)→dropout→10 logits."""
    import keras

    keras.utils.set_random_seed(seed)
    inputs = keras.Input(shape=(784,))
    h = keras.layers.Dense(16, activation="relu", name="hidden_1")(inputs)
    h = keras.layers.Dense(12, name="hidden_2")(h)
    h = keras.layers.BatchNormalization(name="norm")(h)
    h = keras.layers.Activation("relu", name="relu_2")(h)
    h = keras.layers.Dropout(0.5, name="dropout")(h)
    outputs = keras.layers.Dense(10, name="logits")(h)
    model = keras.Model(inputs, outputs, name="pretrained")
    norm = model.get_layer("norm")
    norm.moving_mean.assign(np.linspace(-0.5, 0.5, 12).astype("float32"))
    norm.moving_variance.assign(np.linspace(0.5, 2.0, 12).astype("float32"))
    return model


def _inputs(n: int = 8, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, 784)).astype("float32")


def _features(pretrained: Any, layer_name: str, x: np.ndarray) -> np.ndarray:
    """What the pretrained model computes up to ``layer_name``, in inference mode."""
    import keras

    sub = keras.Model(pretrained.inputs, pretrained.get_layer(layer_name).output)
    return np.asarray(sub(x, training=False))


def _count(weights: list[Any]) -> int:
    return int(sum(int(np.prod(w.shape)) for w in weights))


@check(points=3, judged="kernel")
def build_transfer_model(build_fn: Any) -> None:
    """Check ``build_transfer_model(pretrained, layer_name, num_classes)``: a frozen base."""
    with warnings.catch_warnings():
        # A base cut with `pretrained.inputs` (a list) warns when called on one tensor.
        warnings.filterwarnings("ignore", message="The structure of `inputs`")
        _check_transfer_model(build_fn)


def _check_transfer_model(build_fn: Any) -> None:
    """The body of :func:`build_transfer_model` (hints raised through ``expect``)."""
    import keras

    pretrained = pretrained_model()
    x = _inputs()
    want_features = _features(pretrained, "dropout", x)
    model = build_fn(pretrained, "dropout", 3)
    expect_returned(model, "build_transfer_model", "the new keras.Model")
    expect(isinstance(model, keras.Model),
           f"return a keras.Model (got {type(model).__name__})")
    expect(tuple(model.inputs[0].shape) == (None, 784),
           f"the input shape is {tuple(model.inputs[0].shape)}; use keras.Input(shape=(784,))")
    out_shape = tuple(model.outputs[0].shape)
    expect(out_shape != (None, 10),
           "the model outputs 10 values, like the old logits layer: end with a new head, "
           "keras.layers.Dense(num_classes), on the base's features")
    expect(out_shape == (None, 3),
           f"the model outputs shape {out_shape}: the new head needs num_classes (here 3) units")
    names = [layer.name for layer in model.layers]
    expect(BASE_NAME in names and isinstance(model.get_layer(BASE_NAME), keras.Model),
           "reuse the trained layers as one model named 'base': keras.Model(pretrained.inputs, "
           "pretrained.get_layer(layer_name).output, name='base')")
    base = model.get_layer(BASE_NAME)
    expect(tuple(base.outputs[0].shape) == (None, 12) and HEAD_NAME in names,
           "the base must end at pretrained.get_layer(layer_name).output, and the new Dense "
           "head be named 'head'")
    got_features = np.asarray(base(x, training=False))
    expect(np.allclose(got_features, want_features, atol=1e-5),
           "the base's features differ from the pretrained layers': reuse the trained layers "
           "(pretrained.inputs, pretrained.get_layer(layer_name).output), do not build new ones")
    award(1)
    expect(not base.trainable,
           "the base is still trainable: freeze it with base.trainable = False")
    head = model.get_layer(HEAD_NAME)
    expect(_count(model.trainable_weights) == _count(head.trainable_weights) == 12 * 3 + 3,
           f"{_count(model.trainable_weights)} parameters are trainable; only the new head's "
           f"12·3 + 3 = 39 should be: freeze the base (base.trainable = False), not the head")
    award(1)
    out = np.asarray(model(x, training=False))
    w, b = head.get_weights()
    expect(not np.allclose(out.sum(axis=1), 1.0, atol=1e-4),
           "the model outputs probabilities (a softmax): the new head returns raw logits, "
           "because the loss applies softmax itself (from_logits=True)")
    expect(np.allclose(out, want_features @ w + b, atol=1e-4),
           "the output differs from head(base(x)): put only the new Dense head on the base's "
           "features")
    five = build_fn(pretrained_model(), "dropout", 5)
    expect(tuple(five.outputs[0].shape) == (None, 5),
           "build_transfer_model(pretrained, layer_name, 5) must have 5 outputs: use the "
           "num_classes argument")
    early = build_fn(pretrained_model(), "hidden_1", 3)
    expect(tuple(early.get_layer(BASE_NAME).outputs[0].shape) == (None, 16),
           "build_transfer_model(pretrained, 'hidden_1', 3) must end its base at hidden_1: use "
           "the layer_name argument, pretrained.get_layer(layer_name).output")


# --- Exercise 3: trainable and non-trainable parameters -----------------------------------------

def _count_models() -> list[tuple[str, Any, tuple[int, int]]]:
    """Models whose (trainable, non-trainable) counts the check asks for, with the answers."""
    import keras

    frozen_plain = keras.Sequential([keras.Input((784,)), keras.layers.Dense(16, name="a"),
                                     keras.layers.Dense(4, name="b")], name="plain")
    frozen_plain.get_layer("a").trainable = False
    pretrained = pretrained_model()
    base = keras.Model(pretrained.inputs, pretrained.get_layer("dropout").output, name="base")
    base.trainable = False
    inputs = keras.Input((784,))
    transfer = keras.Model(inputs, keras.layers.Dense(5, name="head")(base(inputs,
                                                                           training=False)))
    normed = pretrained_model(seed=2)  # everything trainable, but batch norm's moving stats
    cases = [("a model whose first Dense layer is frozen", frozen_plain),
             ("a frozen base with batch norm and a new head", transfer),
             ("a trainable model with batch norm", normed)]
    return [(what, model, (_count(model.trainable_weights), _count(model.non_trainable_weights)))
            for what, model in cases]


@check(points=2, judged="kernel")
def trainable_counts(count_fn: Any) -> None:
    """Check ``trainable_counts(model)`` → (trainable, non_trainable) as model.summary() shows."""
    import keras

    for i, (what, model, (t_want, n_want)) in enumerate(_count_models()):
        got = count_fn(model)
        expect_returned(got, "trainable_counts", "the pair (trainable, non_trainable)")
        expect(isinstance(got, tuple | list) and len(got) == 2,
               f"return the pair (trainable, non_trainable), got {type(got).__name__}")
        t, n = got
        expect(all(isinstance(v, int | np.integer) and not isinstance(v, bool) for v in got),
               f"return whole numbers (int), got {type(t).__name__} and {type(n).__name__}")
        t, n = int(t), int(n)
        expect((t, n) != (n_want, t_want) or t_want == n_want,
               f"for {what} you returned ({t:,}, {n:,}): the order is (trainable, non_trainable)")
        expect(t != len(model.trainable_weights) or t == t_want,
               f"for {what} you counted {t} variables: count the numbers in each one, "
               "sum of np.prod(w.shape) over model.trainable_weights")
        expect(t + n == model.count_params(),
               f"for {what} trainable + non-trainable = {t + n:,}, but the model has "
               f"{model.count_params():,} parameters: every weight is exactly one of the two")
        moving = _count([w for layer in model._flatten_layers()
                         if isinstance(layer, keras.layers.BatchNormalization) and layer.trainable
                         for w in layer.non_trainable_weights])
        expect(not (moving and n == n_want - moving),
               f"for {what} you missed {moving} non-trainable numbers: batch norm's moving mean "
               "and variance are non-trainable even in a trainable layer; count "
               "model.non_trainable_weights")
        expect((t, n) == (t_want, n_want),
               f"for {what} expected ({t_want:,}, {n_want:,}) as model.summary() shows, got "
               f"({t:,}, {n:,}): sum np.prod(w.shape) over model.trainable_weights and over "
               "model.non_trainable_weights")
        if i == 0:
            award(1)


# --- Exercise 4: the few-shot subset ------------------------------------------------------------

def _label_changes(labels: np.ndarray) -> int:
    return int(np.count_nonzero(np.diff(labels.astype(int))))


@check(points=2)
def few_shot_subset(subset_fn: Any) -> None:
    """Check ``few_shot_subset(images, labels, k, seed)`` → k random examples of every class."""
    images, labels = synthetic_digits(400)
    classes = np.unique(labels)
    x, y = _pair(subset_fn(images, labels, 5, seed=0), "few_shot_subset")
    counts = np.bincount(y.astype(int), minlength=10)[classes]
    expect(len(y) == 5 * len(classes),
           f"k=5 with {len(classes)} classes must give {5 * len(classes)} examples, got {len(y)}:"
           " take k examples of every class (not k in total)")
    expect(np.all(counts == 5), f"take exactly k=5 examples of every class; counts per class: "
           f"{counts.tolist()}")
    expect(x.shape[1:] == (28, 28) and x.dtype == np.uint8,
           f"return the chosen images unchanged, uint8 (n, 28, 28) (got {x.dtype} {x.shape})")
    index = _index_of(x)
    expect(np.array_equal(labels[index], y),
           "the images and labels no longer match: pick both with the same indices")
    expect(len(set(index.tolist())) == len(index),
           "an example was chosen twice: sample without replacement (replace=False)")
    award(1)
    firsts = np.concatenate([np.flatnonzero(labels == c)[:5] for c in classes])
    expect(set(index.tolist()) != set(firsts.tolist()),
           "you took the first k examples of every class: choose them at random, with "
           "np.random.default_rng(seed)")
    again = _index_of(_pair(subset_fn(images, labels, 5, seed=0), "few_shot_subset")[0])
    expect(np.array_equal(again, index),
           "the same seed gave another subset: draw with np.random.default_rng(seed), not the "
           "global np.random")
    other = _index_of(_pair(subset_fn(images, labels, 5, seed=1), "few_shot_subset")[0])
    expect(set(other.tolist()) != set(index.tolist()),
           "seed=1 gives the same subset as seed=0: use the seed argument")
    expect(_label_changes(y) > 2 * len(classes),
           "the subset is grouped by class: shuffle the chosen examples (rng.permutation), so "
           "that every batch mixes classes")
    x_all, y_all = _pair(subset_fn(images, labels, None, seed=0), "few_shot_subset")
    all_index = _index_of(np.asarray(x_all))
    expect(len(all_index) == len(labels) and set(all_index.tolist()) == set(range(len(labels))),
           f"k=None must return every example once ({len(labels)}), got {len(all_index)}")
    expect(np.array_equal(labels[all_index], y_all),
           "with k=None the images and labels no longer match: pick both with the same indices")


# --- Exercise 5: fine-tuning --------------------------------------------------------------------

def _fine_tune_setup(seed: int = 0) -> tuple[Any, Any]:
    """A frozen-base transfer model, compiled and trained once (as the lab's head is)."""
    import keras
    import tensorflow as tf

    pretrained = pretrained_model(seed)
    base = keras.Model(pretrained.inputs, pretrained.get_layer("dropout").output, name="base")
    base.trainable = False
    inputs = keras.Input((784,))
    outputs = keras.layers.Dense(3, name="head")(base(inputs, training=False))
    model = keras.Model(inputs, outputs, name="transfer")
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    x = _inputs(64, seed=3)
    y = (x[:, 0] > 0).astype("int32") + (x[:, 1] > 0).astype("int32")
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
    model.fit(ds, epochs=1, verbose=0, shuffle=False)
    return model, ds


@check(points=3, judged="kernel")
def fine_tune(fine_tune_fn: Any) -> None:
    """Check ``fine_tune(model, train_ds, learning_rate, epochs)``: unfreeze, recompile, fit."""
    import keras

    model, ds = _fine_tune_setup()
    base = model.get_layer(BASE_NAME)
    base_before = [w.copy() for w in base.get_weights()]
    optimizer_before = model.optimizer
    history = fine_tune_fn(model, ds, learning_rate=1e-4, epochs=2)
    expect_returned(history, "fine_tune", "the History that model.fit returns")
    expect(isinstance(history, keras.callbacks.History),
           f"return the History that model.fit returns (got {type(history).__name__})")
    expect(len(history.history.get("loss", [])) == 2,
           f"fine_tune(..., epochs=2) trained {len(history.history.get('loss', []))} epochs: "
           "pass epochs=epochs to fit")
    expect(base.trainable, "the base is still frozen: unfreeze it, "
           "model.get_layer('base').trainable = True")
    award(1)
    changed = any(not np.allclose(a, b) for a, b in zip(base.get_weights(), base_before,
                                                        strict=True))
    expect(model.optimizer is not optimizer_before or changed,
           "the base is unfrozen but its weights did not change: call model.compile(...) again "
           "after changing trainable, or the compiled training step still updates only the head")
    expect(changed, "the base's weights did not change: unfreeze it, compile, then fit")
    award(1)
    message = optimizer_mismatch(model.optimizer, keras.optimizers.Adam(learning_rate=1e-4),
                                 "Adam(learning_rate)")
    expect(not message, message)
    expect_classification_loss(model.loss)
