"""Lab 07's wrong answers: what learners write for each exercise, and what the hint must say.

Transfer learning's classic mistakes: labels not renumbered for the new head, the old logits
layer kept, new layers built instead of the trained ones reused, the head frozen instead of
the base, variables counted
instead of numbers, batch norm's moving statistics forgotten, the first k examples instead of
a seeded random k, and fine-tuning without compiling again.
"""

from __future__ import annotations

import keras
import numpy as np

from wrong_answers import Lab, WrongAnswer

LAB = Lab(
    notebook="07_transfer_learning.ipynb",
    checks="course.checks.lab07",
    exercises={name: name for name in (
        "split_by_classes", "build_transfer_model", "trainable_counts", "few_shot_subset",
        "fine_tune")},
    points=12,
    setup=("import keras, numpy as np, tensorflow as tf\n"
           "from course import data, plots, repro, tfds_data\n"),
)

LOSS = keras.losses.SparseCategoricalCrossentropy


# --- wrong answers: split_by_classes ------------------------------------------------------------

def sc_not_relabelled(images, labels, classes):
    mask = np.isin(labels, classes)
    return images[mask], labels[mask]


def sc_minus_min(images, labels, classes):
    mask = np.isin(labels, classes)
    return images[mask], labels[mask] - min(classes)


def sc_sorted_order(images, labels, classes):
    mask = np.isin(labels, classes)
    return images[mask], np.searchsorted(np.sort(classes), labels[mask])


def sc_hard_coded_5_to_9(images, labels, classes):
    mask = labels >= 5
    return images[mask], labels[mask] - 5


def sc_sorted_by_label(images, labels, classes):
    mask = np.flatnonzero(np.isin(labels, classes))
    order = mask[np.argsort(labels[mask], kind="stable")]
    lut = {c: i for i, c in enumerate(classes)}
    return images[order], np.array([lut[int(v)] for v in labels[order]])


def sc_preprocessed(images, labels, classes):
    from course import data

    mask = np.isin(labels, classes)
    lut = {c: i for i, c in enumerate(classes)}
    return data.preprocess(images[mask]), np.array([lut[int(v)] for v in labels[mask]])


def sc_float_labels(images, labels, classes):
    mask = np.isin(labels, classes)
    lut = {c: i for i, c in enumerate(classes)}
    return images[mask], np.array([lut[int(v)] for v in labels[mask]], dtype="float32")


def sc_in_place(images, labels, classes):
    mask = np.isin(labels, classes)
    for i, c in enumerate(classes):
        labels[labels == c] = i  # overwrites the caller's labels
    return images[mask], labels[mask]


def sc_images_not_masked(images, labels, classes):
    mask = np.isin(labels, classes)
    lut = {c: i for i, c in enumerate(classes)}
    return images[: mask.sum()], np.array([lut[int(v)] for v in labels[mask]])


def sc_returns_none(images, labels, classes):
    np.isin(labels, classes)


def sc_not_done(images, labels, classes):
    raise NotImplementedError()


# --- wrong answers: build_transfer_model ------------------------------------------------------

def _base(pretrained, layer_name):
    return keras.Model(pretrained.inputs, pretrained.get_layer(layer_name).output, name="base")


def bt_old_logits(pretrained, layer_name, num_classes):
    base = keras.Model(pretrained.inputs, pretrained.outputs[0], name="base")
    base.trainable = False
    inputs = keras.Input((784,))
    return keras.Model(inputs, base(inputs, training=False))


def bt_not_frozen(pretrained, layer_name, num_classes):
    base = _base(pretrained, layer_name)
    inputs = keras.Input((784,))
    outputs = keras.layers.Dense(num_classes, name="head")(base(inputs, training=False))
    return keras.Model(inputs, outputs)


def bt_head_frozen(pretrained, layer_name, num_classes):
    base = _base(pretrained, layer_name)
    inputs = keras.Input((784,))
    head = keras.layers.Dense(num_classes, name="head")
    outputs = head(base(inputs, training=False))
    base.trainable = head.trainable = False
    return keras.Model(inputs, outputs)


def bt_whole_pretrained(pretrained, layer_name, num_classes):
    base = keras.Model(pretrained.inputs, pretrained.outputs[0], name="base")
    base.trainable = False
    inputs = keras.Input((784,))
    outputs = keras.layers.Dense(num_classes, name="head")(base(inputs, training=False))
    return keras.Model(inputs, outputs)


def bt_softmax_head(pretrained, layer_name, num_classes):
    base = _base(pretrained, layer_name)
    base.trainable = False
    inputs = keras.Input((784,))
    outputs = keras.layers.Dense(num_classes, activation="softmax",
                                 name="head")(base(inputs, training=False))
    return keras.Model(inputs, outputs)


def bt_new_layers(pretrained, layer_name, num_classes):
    fresh = keras.models.clone_model(pretrained)  # same architecture, new random weights
    base = keras.Model(fresh.inputs, fresh.get_layer(layer_name).output, name="base")
    base.trainable = False
    inputs = keras.Input((784,))
    outputs = keras.layers.Dense(num_classes, name="head")(base(inputs, training=False))
    return keras.Model(inputs, outputs)


def bt_fixed_classes(pretrained, layer_name, num_classes):
    base = _base(pretrained, layer_name)
    base.trainable = False
    inputs = keras.Input((784,))
    outputs = keras.layers.Dense(3, name="head")(base(inputs, training=False))
    return keras.Model(inputs, outputs)


def bt_fixed_layer(pretrained, layer_name, num_classes):
    base = _base(pretrained, "dropout")
    base.trainable = False
    inputs = keras.Input((784,))
    outputs = keras.layers.Dense(num_classes, name="head")(base(inputs, training=False))
    return keras.Model(inputs, outputs)


def bt_no_base_model(pretrained, layer_name, num_classes):
    for layer in pretrained.layers:
        layer.trainable = False
    features = pretrained.get_layer(layer_name).output
    outputs = keras.layers.Dense(num_classes, name="head")(features)
    return keras.Model(pretrained.inputs, outputs)


def bt_extra_hidden(pretrained, layer_name, num_classes):
    base = _base(pretrained, layer_name)
    base.trainable = False
    inputs = keras.Input((784,))
    h = keras.layers.Dense(8, activation="relu")(base(inputs, training=False))
    return keras.Model(inputs, keras.layers.Dense(num_classes, name="head")(h))


def bt_returns_base(pretrained, layer_name, num_classes):
    base = _base(pretrained, layer_name)
    base.trainable = False
    inputs = keras.Input((784,))
    keras.layers.Dense(num_classes, name="head")(base(inputs, training=False))


def bt_not_done(pretrained, layer_name, num_classes):
    raise NotImplementedError()


# --- wrong answers: trainable_counts ------------------------------------------------------------

def _numbers(weights):
    return int(sum(int(np.prod(w.shape)) for w in weights))


def tc_total_both(model):
    return model.count_params(), 0


def tc_variables(model):
    return len(model.trainable_weights), len(model.non_trainable_weights)


def tc_swapped(model):
    return _numbers(model.non_trainable_weights), _numbers(model.trainable_weights)


def tc_layer_flags(model):
    trainable = sum(layer.count_params() for layer in model.layers if layer.trainable)
    return trainable, model.count_params() - trainable


def tc_weights_for_non_trainable(model):
    return _numbers(model.trainable_weights), _numbers(model.weights)


def tc_floats(model):
    return (float(_numbers(model.trainable_weights)),
            float(_numbers(model.non_trainable_weights)))


def tc_kernels_only(model):
    def kernels(weights):
        return _numbers([w for w in weights if len(w.shape) == 2])

    return kernels(model.trainable_weights), kernels(model.non_trainable_weights)


def tc_dict(model):
    return {"trainable": _numbers(model.trainable_weights),
            "non_trainable": _numbers(model.non_trainable_weights)}


def tc_returns_none(model):
    _numbers(model.trainable_weights)


def tc_not_done(model):
    raise NotImplementedError()


# --- wrong answers: few_shot_subset -------------------------------------------------------------

def _mixed(images, labels, idx, rng):
    idx = rng.permutation(idx)
    return images[idx], labels[idx]


def fs_first_k(images, labels, k, seed=0):
    if k is None:
        return images, labels
    idx = np.concatenate([np.flatnonzero(labels == c)[:k] for c in np.unique(labels)])
    return _mixed(images, labels, idx, np.random.default_rng(seed))


def fs_k_in_total(images, labels, k, seed=0):
    rng = np.random.default_rng(seed)
    if k is None:
        return _mixed(images, labels, np.arange(len(labels)), rng)
    idx = rng.choice(len(labels), k, replace=False)
    return images[idx], labels[idx]


def fs_not_stratified(images, labels, k, seed=0):
    rng = np.random.default_rng(seed)
    n = len(labels) if k is None else k * len(np.unique(labels))
    idx = rng.choice(len(labels), n, replace=False)
    return images[idx], labels[idx]


def fs_with_replacement(images, labels, k, seed=0):
    rng = np.random.default_rng(seed)
    if k is None:
        return _mixed(images, labels, np.arange(len(labels)), rng)
    idx = np.concatenate([rng.choice(np.flatnonzero(labels == c), k, replace=True)
                          for c in np.unique(labels)])
    return _mixed(images, labels, idx, rng)


def fs_grouped(images, labels, k, seed=0):
    rng = np.random.default_rng(seed)
    if k is None:
        return images, labels
    idx = np.concatenate([rng.choice(np.flatnonzero(labels == c), k, replace=False)
                          for c in np.unique(labels)])
    return images[idx], labels[idx]


def fs_global_random(images, labels, k, seed=0):
    if k is None:
        idx = np.random.permutation(len(labels))
        return images[idx], labels[idx]
    idx = np.concatenate([np.random.choice(np.flatnonzero(labels == c), k, replace=False)
                          for c in np.unique(labels)])
    idx = np.random.permutation(idx)
    return images[idx], labels[idx]


def fs_seed_ignored(images, labels, k, seed=0):
    rng = np.random.default_rng(0)
    if k is None:
        return _mixed(images, labels, np.arange(len(labels)), rng)
    idx = np.concatenate([rng.choice(np.flatnonzero(labels == c), k, replace=False)
                          for c in np.unique(labels)])
    return _mixed(images, labels, idx, rng)


def fs_shuffled_apart(images, labels, k, seed=0):
    rng = np.random.default_rng(seed)
    if k is None:
        return images[rng.permutation(len(labels))], labels[rng.permutation(len(labels))]
    idx = np.concatenate([rng.choice(np.flatnonzero(labels == c), k, replace=False)
                          for c in np.unique(labels)])
    return images[rng.permutation(idx)], labels[rng.permutation(idx)]


def fs_none_unsupported(images, labels, k, seed=0):
    rng = np.random.default_rng(seed)
    idx = np.concatenate([rng.choice(np.flatnonzero(labels == c), k, replace=False)
                          for c in np.unique(labels)])
    return _mixed(images, labels, idx, rng)


def fs_none_unshuffled_labels(images, labels, k, seed=0):
    rng = np.random.default_rng(seed)
    if k is None:
        return images[rng.permutation(len(labels))], labels
    idx = np.concatenate([rng.choice(np.flatnonzero(labels == c), k, replace=False)
                          for c in np.unique(labels)])
    return _mixed(images, labels, idx, rng)


def fs_indices(images, labels, k, seed=0):
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.choice(np.flatnonzero(labels == c), k, replace=False)
                           for c in np.unique(labels)])


def fs_not_done(images, labels, k, seed=0):
    raise NotImplementedError()


# --- wrong answers: fine_tune -------------------------------------------------------------------

def _compile(model, optimizer, loss=None):
    model.compile(optimizer=optimizer, loss=loss or LOSS(from_logits=True), metrics=["accuracy"])


def ft_no_unfreeze(model, train_ds, learning_rate=1e-5, epochs=3):
    _compile(model, keras.optimizers.Adam(learning_rate))
    return model.fit(train_ds, epochs=epochs, verbose=0, shuffle=False)


def ft_no_recompile(model, train_ds, learning_rate=1e-5, epochs=3):
    model.get_layer("base").trainable = True
    model.optimizer.learning_rate = learning_rate
    return model.fit(train_ds, epochs=epochs, verbose=0, shuffle=False)


def ft_default_learning_rate(model, train_ds, learning_rate=1e-5, epochs=3):
    model.get_layer("base").trainable = True
    _compile(model, keras.optimizers.Adam())
    return model.fit(train_ds, epochs=epochs, verbose=0, shuffle=False)


def ft_ten_times(model, train_ds, learning_rate=1e-5, epochs=3):
    model.get_layer("base").trainable = True
    _compile(model, keras.optimizers.Adam(10 * learning_rate))
    return model.fit(train_ds, epochs=epochs, verbose=0, shuffle=False)


def ft_sgd(model, train_ds, learning_rate=1e-5, epochs=3):
    model.get_layer("base").trainable = True
    _compile(model, keras.optimizers.SGD(learning_rate))
    return model.fit(train_ds, epochs=epochs, verbose=0, shuffle=False)


def ft_probabilities(model, train_ds, learning_rate=1e-5, epochs=3):
    model.get_layer("base").trainable = True
    _compile(model, keras.optimizers.Adam(learning_rate), LOSS())
    return model.fit(train_ds, epochs=epochs, verbose=0, shuffle=False)


def ft_head_unfrozen(model, train_ds, learning_rate=1e-5, epochs=3):
    model.layers[-1].trainable = True
    _compile(model, keras.optimizers.Adam(learning_rate))
    return model.fit(train_ds, epochs=epochs, verbose=0, shuffle=False)


def ft_one_epoch(model, train_ds, learning_rate=1e-5, epochs=3):
    model.get_layer("base").trainable = True
    _compile(model, keras.optimizers.Adam(learning_rate))
    return model.fit(train_ds, epochs=1, verbose=0, shuffle=False)


def ft_returns_model(model, train_ds, learning_rate=1e-5, epochs=3):
    model.get_layer("base").trainable = True
    _compile(model, keras.optimizers.Adam(learning_rate))
    model.fit(train_ds, epochs=epochs, verbose=0, shuffle=False)
    return model


def ft_returns_none(model, train_ds, learning_rate=1e-5, epochs=3):
    model.get_layer("base").trainable = True
    _compile(model, keras.optimizers.Adam(learning_rate))
    model.fit(train_ds, epochs=epochs, verbose=0, shuffle=False)


def ft_not_done(model, train_ds, learning_rate=1e-5, epochs=3):
    raise NotImplementedError()


def W(exercise: str, id: str, answer, *words: str, points: float = 0) -> WrongAnswer:
    """A table row: the exercise, a short id, the answer, the hint's words, the points."""
    return WrongAnswer(exercise, id, answer, tuple(words), points)


WRONG = [
    # split_by_classes (2 points; 1 banked once the 5–9 selection is right)
    W("split_by_classes", "labels-not-renumbered", sc_not_relabelled, "relabel", "5→0",
      points=1),
    W("split_by_classes", "label-minus-min", sc_minus_min, "order classes are given", "7→0",
      points=1),
    W("split_by_classes", "sorted-order", sc_sorted_order, "not label − min(classes) or sorted",
      points=1),
    W("split_by_classes", "hard-coded-5-9", sc_hard_coded_5_to_9, "use the classes argument",
      points=1),
    W("split_by_classes", "sorted-by-label", sc_sorted_by_label, "original order"),
    W("split_by_classes", "preprocessed", sc_preprocessed, "unchanged", "uint8"),
    W("split_by_classes", "float-labels", sc_float_labels, "integers", points=1),
    W("split_by_classes", "changes-its-input", sc_in_place, "changed its input arrays"),
    W("split_by_classes", "images-not-masked", sc_images_not_masked, "same mask"),
    W("split_by_classes", "returns-None", sc_returns_none, "forget `return`"),
    W("split_by_classes", "not-done", sc_not_done, "not done yet"),
    # build_transfer_model (3 points; 1 banked for the reused base, 1 more once it is frozen)
    W("build_transfer_model", "old-logits", bt_old_logits, "new head", "old logits"),
    W("build_transfer_model", "base-not-frozen", bt_not_frozen, "base.trainable = False",
      points=1),
    W("build_transfer_model", "head-frozen", bt_head_frozen, "not the head", points=1),
    W("build_transfer_model", "whole-pretrained-model", bt_whole_pretrained,
      "must end at pretrained.get_layer(layer_name).output"),
    W("build_transfer_model", "softmax-head", bt_softmax_head, "raw logits", points=2),
    W("build_transfer_model", "new-random-layers", bt_new_layers, "reuse the trained layers"),
    W("build_transfer_model", "classes-hard-coded", bt_fixed_classes, "num_classes argument",
      points=2),
    W("build_transfer_model", "layer-hard-coded", bt_fixed_layer, "layer_name argument",
      points=2),
    W("build_transfer_model", "no-base-model", bt_no_base_model, "name='base'"),
    W("build_transfer_model", "extra-hidden-layer", bt_extra_hidden, "only the new head's",
      points=1),
    W("build_transfer_model", "returns-None", bt_returns_base, "forget `return`"),
    W("build_transfer_model", "not-done", bt_not_done, "not done yet"),
    # trainable_counts (2 points; 1 banked for the model without batch norm)
    W("trainable_counts", "total-and-zero", tc_total_both, "as model.summary() shows"),
    W("trainable_counts", "counts-variables", tc_variables, "variables", "np.prod(w.shape)"),
    W("trainable_counts", "swapped", tc_swapped, "the order is (trainable, non_trainable)"),
    W("trainable_counts", "layer-flags", tc_layer_flags, "moving mean and variance",
      points=1),
    W("trainable_counts", "all-weights-as-non-trainable", tc_weights_for_non_trainable,
      "every weight is exactly one of the two"),
    W("trainable_counts", "floats", tc_floats, "whole numbers (int)"),
    W("trainable_counts", "kernels-only", tc_kernels_only, "every weight is exactly one"),
    W("trainable_counts", "dict", tc_dict, "return the pair (trainable, non_trainable)"),
    W("trainable_counts", "returns-None", tc_returns_none, "forget `return`"),
    W("trainable_counts", "not-done", tc_not_done, "not done yet"),
    # few_shot_subset (2 points; 1 banked once k per class, consistent, without repeats)
    W("few_shot_subset", "first-k", fs_first_k, "first k examples", "at random", points=1),
    W("few_shot_subset", "k-in-total", fs_k_in_total, "not k in total"),
    W("few_shot_subset", "not-stratified", fs_not_stratified, "exactly k=5 examples of every"),
    W("few_shot_subset", "with-replacement", fs_with_replacement, "replace=False"),
    W("few_shot_subset", "grouped-by-class", fs_grouped, "grouped by class", points=1),
    W("few_shot_subset", "global-random", fs_global_random, "np.random.default_rng(seed)",
      points=1),
    W("few_shot_subset", "seed-ignored", fs_seed_ignored, "use the seed argument", points=1),
    W("few_shot_subset", "shuffled-apart", fs_shuffled_apart, "no longer match"),
    W("few_shot_subset", "k-None-crashes", fs_none_unsupported, "your code raised", points=1),
    W("few_shot_subset", "k-None-labels-unshuffled", fs_none_unshuffled_labels,
      "k=None", "no longer match", points=1),
    W("few_shot_subset", "returns-indices", fs_indices, "return the pair (images, labels)"),
    W("few_shot_subset", "not-done", fs_not_done, "not done yet"),
    # fine_tune (3 points; 1 banked once the History and the unfrozen base are right, 1 more
    # once the base's weights move)
    W("fine_tune", "base-not-unfrozen", ft_no_unfreeze, "model.get_layer('base').trainable"),
    W("fine_tune", "not-compiled-again", ft_no_recompile, "call model.compile(...) again",
      points=1),
    W("fine_tune", "default-learning-rate", ft_default_learning_rate, "learning_rate=",
      points=2),
    W("fine_tune", "ten-times-learning-rate", ft_ten_times, "learning_rate=", points=2),
    W("fine_tune", "sgd", ft_sgd, "the optimizer is SGD", points=2),
    W("fine_tune", "from-logits-forgotten", ft_probabilities, "from_logits=True", points=2),
    W("fine_tune", "head-unfrozen-instead", ft_head_unfrozen, "still frozen"),
    W("fine_tune", "epochs-ignored", ft_one_epoch, "epochs=epochs"),
    W("fine_tune", "returns-model", ft_returns_model, "return the History", "(got Functional)"),
    W("fine_tune", "returns-None", ft_returns_none, "forget `return`"),
    W("fine_tune", "not-done", ft_not_done, "not done yet"),
]
