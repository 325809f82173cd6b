"""``course.checks.lab02``: each check passes the reference and rejects typical mistakes.

The reference implementations are executed from ``solutions/02_deeper_mlps_and_optimizers.ipynb``
(the ``nbgrader`` solution cells), so they are never copied here. Every wrong answer below is
a small function, asserted to earn exactly the stated points (less than full) and to get a
hint containing a specific phrase, so that a wrong or misleading hint fails the test.

Also here: the two shared helpers Lab 02 added, ``course.callbacks.StepLosses`` and
``course.plots.step_losses``.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import keras
import matplotlib
import nbformat
import numpy as np
import pytest
from reference import solution_namespace

from course import data, repro
from course.checks import LOG
from course.checks import lab02 as checks

matplotlib.use("Agg")

NOTEBOOK = Path(__file__).resolve().parents[1] / "solutions" / "02_deeper_mlps_and_optimizers.ipynb"
SETUP = ("import keras, numpy as np, tensorflow as tf\n"
         "from course import data, plots, repro\n")

# check name -> (grade_id of the solution cell, name the cell defines)
EXERCISES = {
    "count_params": ("lab02-count_params", "count_params"),
    "build_deep_mlp": ("lab02-build_deep_mlp", "build_deep_mlp"),
    "make_optimizer": ("lab02-make_optimizer", "make_optimizer"),
    "compare_optimizers": ("lab02-compare_optimizers", "compare_optimizers"),
    "best_epoch": ("lab02-best_epoch", "best_epoch"),
    "is_overfitting": ("lab02-is_overfitting", "is_overfitting"),
    "train_with_early_stopping": ("lab02-train_with_early_stopping",
                                  "train_with_early_stopping"),
}


@pytest.fixture(scope="module")
def solution() -> dict:
    """The notebook's solution cells, executed in order into one namespace."""
    return solution_namespace(NOTEBOOK, SETUP)


def grade(check_name: str, answer):
    """Run one lab02 check quietly and return its CheckResult."""
    return getattr(checks, check_name)(answer, verbose=False)


# --- the reference ------------------------------------------------------------------------------

def test_notebook_has_exactly_the_seven_solution_cells(solution):
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
    points = f"{check.max_points:g}"
    assert capsys.readouterr().out == f"✔ {check_name}: {points}/{points} points\n"


def test_points_add_up_to_the_labs_eleven():
    assert sum(getattr(checks, name).max_points for name in EXERCISES) == 11


def test_notebook_states_the_points_it_grades():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "**Exercises:** 7 (11 points)" in text
    for name in EXERCISES:
        points = f"{getattr(checks, name).max_points:g}"
        assert f"`✔ {name}: {points}/{points} points`" in text, name
    graded = {c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"]["points"]
              for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")}
    assert graded == {f"{grade_id}-check": getattr(checks, name).max_points
                      for name, (grade_id, _) in EXERCISES.items()}


# --- wrong answers: count_params -----------------------------------------------------------------

def _pairs(sizes):
    return list(zip(sizes[:-1], sizes[1:], strict=True))


def cp_no_biases(layer_sizes):
    return sum(a * b for a, b in _pairs(layer_sizes))


def cp_input_biases(layer_sizes):
    return sum(a * b + a for a, b in _pairs(layer_sizes))


def cp_first_layer_only(layer_sizes):
    return layer_sizes[0] * layer_sizes[1] + layer_sizes[1]


def cp_hard_coded(layer_sizes):
    return 407_050


def cp_float(layer_sizes):
    return float(sum(a * b + b for a, b in _pairs(layer_sizes)))


def cp_neurons(layer_sizes):
    return sum(layer_sizes)


def cp_input_layer_counted(layer_sizes):
    return sum(a * b + b for a, b in _pairs(layer_sizes)) + layer_sizes[0]


def cp_returns_none(layer_sizes):
    sum(a * b + b for a, b in _pairs(layer_sizes))


def cp_not_done(layer_sizes):
    raise NotImplementedError()


def cp_single_size_crashes(layer_sizes):
    total = layer_sizes[0] * layer_sizes[1] + layer_sizes[1]
    return total + sum(a * b + b for a, b in _pairs(layer_sizes[1:]))


# --- wrong answers: build_deep_mlp ---------------------------------------------------------------

def _seq(*layers):
    return keras.Sequential([keras.Input(shape=(784,)), *layers])


def _dense(units, name, activation=None, **kwargs):
    return keras.layers.Dense(units, activation=activation, name=name, **kwargs)


def _good_layers(hidden_units=(128, 64), dropout_rate=0.0, activation="relu"):
    layers = []
    for i, units in enumerate(hidden_units, start=1):
        layers.append(_dense(units, f"hidden_{i}", activation))
        if dropout_rate > 0:
            layers.append(keras.layers.Dropout(dropout_rate))
    return layers


def bd_wrong_order(hidden_units=(128, 64), dropout_rate=0.0):
    return _seq(*_good_layers((64, 128), dropout_rate), _dense(10, "logits"))


def bd_no_relu(hidden_units=(128, 64), dropout_rate=0.0):
    return _seq(*_good_layers(hidden_units, dropout_rate, None), _dense(10, "logits"))


def bd_relu_on_first_only(hidden_units=(128, 64), dropout_rate=0.0):
    return _seq(_dense(128, "hidden_1", "relu"), _dense(64, "hidden_2"), _dense(10, "logits"))


def bd_softmax(hidden_units=(128, 64), dropout_rate=0.0):
    return _seq(*_good_layers(hidden_units, dropout_rate), _dense(10, "logits", "softmax"))


def bd_softmax_layer(hidden_units=(128, 64), dropout_rate=0.0):
    return _seq(*_good_layers(hidden_units, dropout_rate), _dense(10, "logits"),
                keras.layers.Softmax())


def bd_no_bias(hidden_units=(128, 64), dropout_rate=0.0):
    return _seq(_dense(128, "hidden_1", "relu", use_bias=False),
                _dense(64, "hidden_2", "relu", use_bias=False),
                _dense(10, "logits", use_bias=False))


def bd_unnamed(hidden_units=(128, 64), dropout_rate=0.0):
    return _seq(keras.layers.Dense(128, activation="relu"),
                keras.layers.Dense(64, activation="relu"), keras.layers.Dense(10))


def bd_hard_coded(hidden_units=(128, 64), dropout_rate=0.0):
    return _seq(*_good_layers((128, 64), dropout_rate), _dense(10, "logits"))


def bd_dropout_ignored(hidden_units=(128, 64), dropout_rate=0.0):
    return _seq(*_good_layers(hidden_units), _dense(10, "logits"))


def bd_dropout_after_logits(hidden_units=(128, 64), dropout_rate=0.0):
    layers = [*_good_layers(hidden_units), _dense(10, "logits")]
    if dropout_rate > 0:
        layers.append(keras.layers.Dropout(dropout_rate))
    return _seq(*layers)


def bd_dropout_always(hidden_units=(128, 64), dropout_rate=0.0):
    layers = []
    for i, units in enumerate(hidden_units, start=1):
        layers += [_dense(units, f"hidden_{i}", "relu"), keras.layers.Dropout(dropout_rate)]
    return _seq(*layers, _dense(10, "logits"))


def bd_dropout_rate_fixed(hidden_units=(128, 64), dropout_rate=0.0):
    return _seq(*_good_layers(hidden_units, 0.5 if dropout_rate else 0.0),
                _dense(10, "logits"))


def bd_one_hidden(hidden_units=(128, 64), dropout_rate=0.0):
    return _seq(_dense(128, "hidden_1", "relu"), _dense(10, "logits"))


def bd_no_input(hidden_units=(128, 64), dropout_rate=0.0):
    return keras.Sequential([*_good_layers(hidden_units, dropout_rate), _dense(10, "logits")])


def bd_functional(hidden_units=(128, 64), dropout_rate=0.0):
    inputs = keras.Input(shape=(784,))
    h = inputs
    for layer in _good_layers(hidden_units, dropout_rate):
        h = layer(h)
    return keras.Model(inputs, _dense(10, "logits")(h))


def bd_relu_layers(hidden_units=(128, 64), dropout_rate=0.0):
    """Not a wrong answer: ReLU as its own layer computes the same function."""
    layers = []
    for i, units in enumerate(hidden_units, start=1):
        layers += [_dense(units, f"hidden_{i}"), keras.layers.ReLU()]
        if dropout_rate > 0:
            layers.append(keras.layers.Dropout(dropout_rate))
    return _seq(*layers, _dense(10, "logits"))


# --- wrong answers: make_optimizer --------------------------------------------------------------

def mo_adam_is_sgd(name, learning_rate):
    if name == "adam":
        return keras.optimizers.SGD(learning_rate=learning_rate)
    return checks.reference_make_optimizer(name, learning_rate)


def mo_no_momentum(name, learning_rate):
    if name == "momentum":
        return keras.optimizers.SGD(learning_rate=learning_rate)
    return checks.reference_make_optimizer(name, learning_rate)


def mo_sgd_with_momentum(name, learning_rate):
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate=learning_rate, momentum=0.9)
    return checks.reference_make_optimizer(name, learning_rate)


def mo_fixed_learning_rate(name, learning_rate):
    return checks.reference_make_optimizer(name, 0.01)


_CACHE: dict = {}


def mo_shared_instances(name, learning_rate):
    key = (name, learning_rate)
    if key not in _CACHE:
        _CACHE[key] = checks.reference_make_optimizer(name, learning_rate)
    return _CACHE[key]


def mo_unknown_returns_none(name, learning_rate):
    if name in checks.OPTIMIZER_NAMES:
        return checks.reference_make_optimizer(name, learning_rate)
    return None


def mo_unknown_key_error(name, learning_rate):
    table = {"sgd": lambda: keras.optimizers.SGD(learning_rate=learning_rate),
             "momentum": lambda: keras.optimizers.SGD(learning_rate=learning_rate, momentum=0.9),
             "rmsprop": lambda: keras.optimizers.RMSprop(learning_rate=learning_rate),
             "adam": lambda: keras.optimizers.Adam(learning_rate=learning_rate)}
    return table[name]()


def mo_returns_class(name, learning_rate):
    return type(checks.reference_make_optimizer(name, learning_rate))


def mo_keras_get(name, learning_rate):
    optimizer = keras.optimizers.get(name)
    optimizer.learning_rate = learning_rate
    return optimizer


def mo_not_done(name, learning_rate):
    raise NotImplementedError()


# --- wrong answers: compare_optimizers ----------------------------------------------------------

LOSS = keras.losses.SparseCategoricalCrossentropy


def _compile(model, name, learning_rate, from_logits=True):
    model.compile(optimizer=checks.reference_make_optimizer(name, learning_rate),
                  loss=LOSS(from_logits=from_logits), metrics=["accuracy"])
    return model


def _fit(model, train, val, epochs, batch_size, seed, validate=True):
    train_ds = data.make_pipeline(*train, batch_size=batch_size, shuffle=True, seed=seed)
    val_ds = data.make_pipeline(*val, batch_size=256, shuffle=False) if validate else None
    return model.fit(train_ds, epochs=epochs, validation_data=val_ds, verbose=0, shuffle=False)


def co_seed_once(settings, build_fn, train, val, epochs=4, batch_size=64, seed=42):
    repro.set_seed(seed)
    return {label: _fit(_compile(build_fn(), *setting), train, val, epochs, batch_size, seed)
            for label, setting in settings.items()}


def co_reused_pipeline(settings, build_fn, train, val, epochs=4, batch_size=64, seed=42):
    train_ds = data.make_pipeline(*train, batch_size=batch_size, shuffle=True, seed=seed)
    val_ds = data.make_pipeline(*val, batch_size=256, shuffle=False)
    histories = {}
    for label, setting in settings.items():
        repro.set_seed(seed)
        model = _compile(build_fn(), *setting)
        histories[label] = model.fit(train_ds, epochs=epochs, validation_data=val_ds,
                                     verbose=0, shuffle=False)
    return histories


def co_one_model(settings, build_fn, train, val, epochs=4, batch_size=64, seed=42):
    repro.set_seed(seed)
    model = build_fn()
    return {label: _fit(_compile(model, *setting), train, val, epochs, batch_size, seed)
            for label, setting in settings.items()}


def _per_setting(settings, build_fn, train, val, epochs, batch_size, seed, **options):
    histories = {}
    for label, (name, rate) in settings.items():
        repro.set_seed(seed)
        model = _compile(build_fn(), options.get("fixed_name", name), rate,
                         options.get("from_logits", True))
        histories[label] = _fit(model, train, val, options.get("fixed_epochs", epochs),
                                options.get("fixed_batch_size", batch_size), seed,
                                options.get("validate", True))
    return histories


def co_no_validation(settings, build_fn, train, val, epochs=4, batch_size=64, seed=42):
    return _per_setting(settings, build_fn, train, val, epochs, batch_size, seed, validate=False)


def co_not_from_logits(settings, build_fn, train, val, epochs=4, batch_size=64, seed=42):
    return _per_setting(settings, build_fn, train, val, epochs, batch_size, seed,
                        from_logits=False)


def co_always_adam(settings, build_fn, train, val, epochs=4, batch_size=64, seed=42):
    return _per_setting(settings, build_fn, train, val, epochs, batch_size, seed, fixed_name="adam")


def co_fixed_epochs(settings, build_fn, train, val, epochs=4, batch_size=64, seed=42):
    return _per_setting(settings, build_fn, train, val, epochs, batch_size, seed, fixed_epochs=4)


def co_batch_size_ignored(settings, build_fn, train, val, epochs=4, batch_size=64, seed=42):
    return _per_setting(settings, build_fn, train, val, epochs, batch_size, seed,
                        fixed_batch_size=64)


def co_returns_models(settings, build_fn, train, val, epochs=4, batch_size=64, seed=42):
    models = {}
    for label, setting in settings.items():
        repro.set_seed(seed)
        models[label] = _compile(build_fn(), *setting)
        _fit(models[label], train, val, epochs, batch_size, seed)
    return models


def co_returns_list(settings, build_fn, train, val, epochs=4, batch_size=64, seed=42):
    return list(_per_setting(settings, build_fn, train, val, epochs, batch_size, seed).values())


# --- wrong answers: best_epoch ------------------------------------------------------------------

def be_zero_based(history):
    return int(np.argmin(history.history["val_loss"]))


def be_val_accuracy(history):
    return int(np.argmax(history.history["val_accuracy"])) + 1


def be_training_loss(history):
    return int(np.argmin(history.history["loss"])) + 1


def be_argmax(history):
    return int(np.argmax(history.history["val_loss"])) + 1


def be_returns_loss(history):
    return min(history.history["val_loss"])


def be_last_of_ties(history):
    values = history.history["val_loss"]
    return len(values) - int(np.argmin(values[::-1]))


def be_float(history):
    return float(np.argmin(history.history["val_loss"]) + 1)


def be_not_done(history):
    raise NotImplementedError()


# --- wrong answers: is_overfitting --------------------------------------------------------------

def _best(history):
    return int(np.argmin(history.history["val_loss"])) + 1


def io_gap(history, patience=3):
    return history.history["val_loss"][-1] > history.history["loss"][-1]


def io_last_uptick(history, patience=3):
    return history.history["val_loss"][-1] > history.history["val_loss"][-2]


def io_ignores_training_loss(history, patience=3):
    return len(history.history["val_loss"]) - _best(history) >= patience


def io_strictly_more_than_patience(history, patience=3):
    loss = history.history["loss"]
    best = _best(history)
    return len(loss) - best > patience and loss[-1] < loss[best - 1]


def io_patience_hard_coded(history, patience=3):
    loss = history.history["loss"]
    best = _best(history)
    return len(loss) - best >= 3 and loss[-1] < loss[best - 1]


def io_returns_text(history, patience=3):
    return "overfitting" if len(history.history["loss"]) - _best(history) >= patience else "ok"


def io_returns_none(history, patience=3):
    len(history.history["loss"]) - _best(history) >= patience  # noqa: B015 (forgot return)


def io_not_done(history, patience=3):
    raise NotImplementedError()


# --- wrong answers: train_with_early_stopping ---------------------------------------------------

def _stop(**kwargs):
    return keras.callbacks.EarlyStopping(**{"monitor": "val_loss", **kwargs})


def _es_fit(model, train_ds, val_ds, epochs, callbacks, validate=True):
    return model.fit(train_ds, epochs=epochs, validation_data=val_ds if validate else None,
                     callbacks=callbacks, verbose=0, shuffle=False)


def es_no_restore(model, train_ds, val_ds, max_epochs=30, patience=3):
    return _es_fit(model, train_ds, val_ds, max_epochs, [_stop(patience=patience)])


def es_no_callback(model, train_ds, val_ds, max_epochs=30, patience=3):
    return _es_fit(model, train_ds, val_ds, max_epochs, [])


def es_monitors_training_loss(model, train_ds, val_ds, max_epochs=30, patience=3):
    stop = keras.callbacks.EarlyStopping(monitor="loss", patience=patience,
                                         restore_best_weights=True)
    return _es_fit(model, train_ds, val_ds, max_epochs, [stop])


def es_default_patience(model, train_ds, val_ds, max_epochs=30, patience=3):
    return _es_fit(model, train_ds, val_ds, max_epochs, [_stop(restore_best_weights=True)])


def es_patience_3(model, train_ds, val_ds, max_epochs=30, patience=3):
    return _es_fit(model, train_ds, val_ds, max_epochs,
                   [_stop(patience=3, restore_best_weights=True)])


def es_patience_2(model, train_ds, val_ds, max_epochs=30, patience=3):
    return _es_fit(model, train_ds, val_ds, max_epochs,
                   [_stop(patience=2, restore_best_weights=True)])


def es_epochs_hard_coded(model, train_ds, val_ds, max_epochs=30, patience=3):
    return _es_fit(model, train_ds, val_ds, 30,
                   [_stop(patience=patience, restore_best_weights=True)])


def es_no_validation(model, train_ds, val_ds, max_epochs=30, patience=3):
    return _es_fit(model, train_ds, val_ds, max_epochs, [], validate=False)


def es_returns_model(model, train_ds, val_ds, max_epochs=30, patience=3):
    _es_fit(model, train_ds, val_ds, max_epochs,
            [_stop(patience=patience, restore_best_weights=True)])
    return model


def es_not_done(model, train_ds, val_ds, max_epochs=30, patience=3):
    raise NotImplementedError()


# --- the table of wrong answers -----------------------------------------------------------------

WRONG = [
    # count_params (1 point; 0.5 banked once 784→512→10 is right)
    pytest.param("count_params", cp_no_biases, 0, "counts the weights only", id="cp-no-biases"),
    pytest.param("count_params", cp_input_biases, 0, "one bias per *input*",
                 id="cp-bias-per-input"),
    pytest.param("count_params", cp_first_layer_only, 0, "counts only the first layer",
                 id="cp-first-layer-only"),
    pytest.param("count_params", cp_hard_coded, 0.5, "use the layer_sizes argument",
                 id="cp-hard-coded-407050"),
    pytest.param("count_params", cp_float, 0, "return a whole number (int), got float",
                 id="cp-float"),
    pytest.param("count_params", cp_neurons, 0, "expected 784·512 + 512 + 512·10 + 10",
                 id="cp-counts-units"),
    pytest.param("count_params", cp_input_layer_counted, 0, "gave 407,834",
                 id="cp-input-counted"),
    pytest.param("count_params", cp_single_size_crashes, 0.5, "your code raised IndexError",
                 id="cp-single-size-crashes"),
    pytest.param("count_params", cp_returns_none, 0, "count_params returned None",
                 id="cp-returns-None"),
    pytest.param("count_params", cp_not_done, 0, "not done yet", id="cp-not-done"),
    # build_deep_mlp (2 points; 1 banked once the Dense sizes are right)
    pytest.param("build_deep_mlp", bd_wrong_order, 0, "hidden layers are in the wrong order",
                 id="bd-64-then-128"),
    pytest.param("build_deep_mlp", bd_no_relu, 1, "the hidden layers have no activation",
                 id="bd-no-relu"),
    pytest.param("build_deep_mlp", bd_relu_on_first_only, 1,
                 "hidden layer 2 ('hidden_2') has no activation", id="bd-relu-first-only"),
    pytest.param("build_deep_mlp", bd_softmax, 1, "from_logits=True", id="bd-softmax"),
    pytest.param("build_deep_mlp", bd_softmax_layer, 1, "a softmax on the last layer",
                 id="bd-softmax-layer"),
    pytest.param("build_deep_mlp", bd_no_bias, 1, "use_bias=False", id="bd-no-bias"),
    pytest.param("build_deep_mlp", bd_unnamed, 1, "name the Dense layers", id="bd-unnamed"),
    pytest.param("build_deep_mlp", bd_hard_coded, 1, "hidden_units=(256,)",
                 id="bd-hidden-units-ignored"),
    pytest.param("build_deep_mlp", bd_dropout_ignored, 1, "with dropout_rate=0.3 the layers",
                 id="bd-dropout-ignored"),
    pytest.param("build_deep_mlp", bd_dropout_after_logits, 1, "none after the logits",
                 id="bd-dropout-after-logits"),
    pytest.param("build_deep_mlp", bd_dropout_always, 1, "must have no Dropout layer",
                 id="bd-dropout-0-layers"),
    pytest.param("build_deep_mlp", bd_dropout_rate_fixed, 1, "use rate=dropout_rate",
                 id="bd-dropout-rate-0.5"),
    pytest.param("build_deep_mlp", bd_one_hidden, 0, "the model has 2 Dense layers",
                 id="bd-one-hidden-layer"),
    pytest.param("build_deep_mlp", bd_no_input, 0, "keras.Input(shape=(784,))",
                 id="bd-no-input"),
    pytest.param("build_deep_mlp", bd_functional, 0, "keras.Sequential model (got Functional)",
                 id="bd-functional"),
    # make_optimizer (2 points; 1 banked once the four types and learning rates are right)
    pytest.param("make_optimizer", mo_adam_is_sgd, 0, "expected keras.optimizers.Adam",
                 id="mo-adam-is-sgd"),
    pytest.param("make_optimizer", mo_no_momentum, 1, "'momentum' is SGD with momentum=0.9",
                 id="mo-no-momentum"),
    pytest.param("make_optimizer", mo_sgd_with_momentum, 1, "'sgd' is plain SGD",
                 id="mo-sgd-with-momentum"),
    pytest.param("make_optimizer", mo_fixed_learning_rate, 1, "use the learning_rate argument",
                 id="mo-learning-rate-hard-coded"),
    pytest.param("make_optimizer", mo_shared_instances, 1, "create a new one on every call",
                 id="mo-shared-instances"),
    pytest.param("make_optimizer", mo_unknown_returns_none, 1, "must raise ValueError (got no "
                 "error)", id="mo-unknown-returns-None"),
    pytest.param("make_optimizer", mo_unknown_key_error, 1, "must raise ValueError (got "
                 "KeyError)", id="mo-unknown-KeyError"),
    pytest.param("make_optimizer", mo_returns_class, 0, "return an instance",
                 id="mo-returns-class"),
    pytest.param("make_optimizer", mo_keras_get, 0, "your code raised ValueError",
                 id="mo-keras-optimizers-get"),
    pytest.param("make_optimizer", mo_not_done, 0, "not done yet", id="mo-not-done"),
    # compare_optimizers (2 points; 1 banked once the result's structure is right)
    pytest.param("compare_optimizers", co_seed_once, 1, "different initial weights",
                 id="co-seed-once"),
    pytest.param("compare_optimizers", co_reused_pipeline, 1,
                 "a reused tf.data pipeline continues its shuffle order", id="co-reused-pipeline"),
    pytest.param("compare_optimizers", co_one_model, 1, "build_fn was called 1 times",
                 id="co-one-model"),
    pytest.param("compare_optimizers", co_not_from_logits, 1, "from_logits=True",
                 id="co-from-logits-false"),
    pytest.param("compare_optimizers", co_always_adam, 1, "compile with make_optimizer",
                 id="co-always-adam"),
    pytest.param("compare_optimizers", co_batch_size_ignored, 1, "differ from the reference",
                 id="co-batch-size-ignored"),
    pytest.param("compare_optimizers", co_no_validation, 0, "validation_data",
                 id="co-no-validation"),
    pytest.param("compare_optimizers", co_fixed_epochs, 0, "ran 4 epochs", id="co-4-epochs"),
    pytest.param("compare_optimizers", co_returns_models, 0, "is a model",
                 id="co-returns-models"),
    pytest.param("compare_optimizers", co_returns_list, 0, "return a dict", id="co-returns-list"),
    # best_epoch (1 point)
    pytest.param("best_epoch", be_zero_based, 0, "count epochs from 1", id="be-0-based"),
    pytest.param("best_epoch", be_val_accuracy, 0, "best validation *accuracy*",
                 id="be-val-accuracy"),
    pytest.param("best_epoch", be_training_loss, 0, "lowest *training* loss",
                 id="be-training-loss"),
    pytest.param("best_epoch", be_argmax, 0, "take the minimum", id="be-argmax"),
    pytest.param("best_epoch", be_returns_loss, 0, "not the loss value", id="be-returns-loss"),
    pytest.param("best_epoch", be_last_of_ties, 0, "the first epoch with the lowest value",
                 id="be-last-of-ties"),
    pytest.param("best_epoch", be_float, 0, "return the epoch as an int", id="be-float"),
    pytest.param("best_epoch", be_not_done, 0, "not done yet", id="be-not-done"),
    # is_overfitting (1 point)
    pytest.param("is_overfitting", io_gap, 0, "validation loss above training loss is normal",
                 id="io-gap"),
    pytest.param("is_overfitting", io_last_uptick, 0, "a single epoch up after the best",
                 id="io-last-uptick"),
    pytest.param("is_overfitting", io_ignores_training_loss, 0, "training is diverging",
                 id="io-ignores-training-loss"),
    pytest.param("is_overfitting", io_strictly_more_than_patience, 0, "≥ patience",
                 id="io-strictly-more"),
    pytest.param("is_overfitting", io_patience_hard_coded, 0, "use the patience argument",
                 id="io-patience-hard-coded"),
    pytest.param("is_overfitting", io_returns_text, 0, "return True or False, got str",
                 id="io-returns-text"),
    pytest.param("is_overfitting", io_returns_none, 0, "got NoneType", id="io-returns-None"),
    pytest.param("is_overfitting", io_not_done, 0, "not done yet", id="io-not-done"),
    # train_with_early_stopping (2 points; 1 banked once it stops at the right epoch)
    pytest.param("train_with_early_stopping", es_no_restore, 1, "restore_best_weights=True",
                 id="es-no-restore"),
    pytest.param("train_with_early_stopping", es_no_callback, 0, "ran all 40 epochs",
                 id="es-no-callback"),
    pytest.param("train_with_early_stopping", es_monitors_training_loss, 0, "ran all 40 epochs",
                 id="es-monitors-loss"),
    pytest.param("train_with_early_stopping", es_default_patience, 0, "it must stop 2 epochs "
                 "after it", id="es-patience-0"),
    pytest.param("train_with_early_stopping", es_patience_3, 0, "with patience=2",
                 id="es-patience-hard-coded-3"),
    pytest.param("train_with_early_stopping", es_patience_2, 1, "pass patience=patience",
                 id="es-patience-hard-coded-2"),
    pytest.param("train_with_early_stopping", es_epochs_hard_coded, 1, "epochs=max_epochs",
                 id="es-epochs-hard-coded"),
    pytest.param("train_with_early_stopping", es_no_validation, 0, "no val_loss",
                 id="es-no-validation"),
    pytest.param("train_with_early_stopping", es_returns_model, 0, "return the History",
                 id="es-returns-model"),
    pytest.param("train_with_early_stopping", es_not_done, 0, "not done yet", id="es-not-done"),
]


@pytest.mark.parametrize(("check_name", "answer", "points", "hint"), WRONG)
def test_wrong_answer_is_rejected_with_the_right_hint(check_name, answer, points, hint):
    result = grade(check_name, answer)
    assert not result.passed
    assert result.points < result.max_points
    assert hint in result.hint, result.hint
    assert result.points == points, result
    assert LOG.results == [result]


def test_each_check_has_at_least_five_wrong_answers_that_it_catches():
    caught = {name: 0 for name in EXERCISES}
    for param in WRONG:
        caught[param.values[0]] += 1
    assert min(caught.values()) >= 5, caught


# --- scenarios that the table cannot express ----------------------------------------------------

def test_relu_as_its_own_layer_is_accepted():
    result = grade("build_deep_mlp", bd_relu_layers)
    assert result.passed, result.hint


def test_the_early_stopping_task_overfits_early_and_clearly():
    """The check's synthetic task: best epoch early, then validation loss rising for good."""
    model, train, val = checks._overfitting_task()
    val_loss = model.fit(train, epochs=12, validation_data=val, verbose=0,
                         shuffle=False).history["val_loss"]
    best = int(np.argmin(val_loss))
    assert 1 <= best <= 5, val_loss
    assert all(later > val_loss[best] + 0.005 for later in val_loss[best + 1:]), val_loss


def test_reference_functions_agree_with_the_checks_own(solution):
    for sizes in ([784, 512, 10], [784, 128, 64, 10], [5]):
        assert solution["count_params"](sizes) == checks.reference_count_params(sizes)
    for history in (checks.TYPICAL, checks.OVERFIT):
        assert solution["best_epoch"](history) == checks.reference_best_epoch(history)
        assert solution["is_overfitting"](history) == checks.reference_is_overfitting(history)


# --- shared helpers added for Lab 02 ------------------------------------------------------------

STEP_LINE = re.compile(r"^Epoch (\d), Step (\d+), Loss: (\d+\.\d{3})$")


def test_step_losses_records_each_batch_own_loss(capsys):
    """Each recorded loss is the batch's own loss, computed from the weights the step used."""
    from course.callbacks import StepLosses

    rng = np.random.default_rng(0)
    x = rng.normal(size=(37, 8)).astype("float32")
    x[-1] *= 20
    y = rng.integers(0, 3, 37)
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(
        3, kernel_initializer=keras.initializers.GlorotUniform(seed=0))])
    loss_fn = LOSS(from_logits=True)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss=loss_fn)
    expected: list[float] = []

    def record(batch, logs=None):
        xb, yb = x[batch * 4:(batch + 1) * 4], y[batch * 4:(batch + 1) * 4]
        expected.append(float(loss_fn(yb, model(xb, training=False))))

    steps = StepLosses(every=4)
    capsys.readouterr()
    model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0,
              callbacks=[keras.callbacks.LambdaCallback(on_train_batch_begin=record), steps])
    lines = capsys.readouterr().out.splitlines()
    assert len(steps.losses) == 20 and steps.steps_per_epoch == 10  # 9 full batches + 1 of 1
    np.testing.assert_allclose(steps.losses, expected, rtol=1e-4, atol=1e-5)
    assert [STEP_LINE.match(line).groups()[:2] for line in lines] == [
        ("1", "4"), ("1", "8"), ("2", "4"), ("2", "8")]
    assert abs(float(STEP_LINE.match(lines[2])[3]) - expected[13]) <= 0.0005 + 1e-6
    model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0, callbacks=[steps])
    assert len(steps.losses) == 10, "each fit starts a new record"


def test_step_losses_prints_nothing_by_default(capsys):
    from course.callbacks import StepLosses

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)])
    model.compile(optimizer="sgd", loss=LOSS(from_logits=True))
    steps = StepLosses()
    capsys.readouterr()
    model.fit(np.zeros((8, 2), "float32"), np.zeros(8, "int32"), batch_size=2, verbose=0,
              callbacks=[steps])
    assert capsys.readouterr().out == "" and len(steps.losses) == 4


def test_step_losses_plot_draws_steps_mean_and_epoch_marks():
    from matplotlib.figure import Figure

    from course import plots

    losses = np.linspace(2.0, 0.5, 30) + np.tile([0.1, -0.1], 15)
    fig = plots.step_losses(losses, window=5, steps_per_epoch=10, title="t")
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    ax = fig.axes[0]
    raw, smooth, *marks = ax.get_lines()
    assert raw.get_xdata().tolist() == list(range(1, 31))
    np.testing.assert_allclose(smooth.get_ydata(), np.convolve(losses, np.ones(5) / 5, "valid"))
    assert smooth.get_xdata()[0] == 5
    assert [m.get_xdata()[0] for m in marks] == [10.5, 20.5]
    assert ax.get_xlabel() == "step" and ax.get_title() == "t"
    fig.savefig(io.BytesIO(), format="png", dpi=30)
    assert len(plots.step_losses([1.0, 0.5], window=20).axes[0].get_lines()) == 1
