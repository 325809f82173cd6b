"""Lab 02's wrong answers: what learners write for each exercise, and what the hint must say.

Besides the classic mistakes: optimizer flags that change the algorithm (amsgrad, nesterov,
centered, weight_decay, clipnorm), histories on which two plausible rules for "best epoch"
and "overfitting" disagree, and EarlyStopping watching the wrong quantity.
"""

from __future__ import annotations

import keras
import numpy as np

from course import data, repro
from course.checks.lab02 import OPTIMIZER_NAMES, reference_make_optimizer
from wrong_answers import Lab, WrongAnswer

LAB = Lab(
    notebook="02_deeper_mlps_and_optimizers.ipynb",
    checks="course.checks.lab02",
    exercises={name: name for name in (
        "count_params", "build_deep_mlp", "make_optimizer", "compare_optimizers",
        "best_epoch", "is_overfitting", "train_with_early_stopping")},
    points=11,
    setup="import keras, numpy as np, tensorflow as tf\nfrom course import data, plots, repro\n",
)


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
    return reference_make_optimizer(name, learning_rate)


def mo_no_momentum(name, learning_rate):
    if name == "momentum":
        return keras.optimizers.SGD(learning_rate=learning_rate)
    return reference_make_optimizer(name, learning_rate)


def mo_sgd_with_momentum(name, learning_rate):
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate=learning_rate, momentum=0.9)
    return reference_make_optimizer(name, learning_rate)


def mo_fixed_learning_rate(name, learning_rate):
    return reference_make_optimizer(name, 0.01)


_CACHE: dict = {}


def mo_shared_instances(name, learning_rate):
    key = (name, learning_rate)
    if key not in _CACHE:
        _CACHE[key] = reference_make_optimizer(name, learning_rate)
    return _CACHE[key]


def mo_unknown_returns_none(name, learning_rate):
    if name in OPTIMIZER_NAMES:
        return reference_make_optimizer(name, learning_rate)
    return None


def mo_unknown_key_error(name, learning_rate):
    table = {"sgd": lambda: keras.optimizers.SGD(learning_rate=learning_rate),
             "momentum": lambda: keras.optimizers.SGD(learning_rate=learning_rate, momentum=0.9),
             "rmsprop": lambda: keras.optimizers.RMSprop(learning_rate=learning_rate),
             "adam": lambda: keras.optimizers.Adam(learning_rate=learning_rate)}
    return table[name]()


def mo_returns_class(name, learning_rate):
    return type(reference_make_optimizer(name, learning_rate))


def mo_keras_get(name, learning_rate):
    optimizer = keras.optimizers.get(name)
    optimizer.learning_rate = learning_rate
    return optimizer


def mo_not_done(name, learning_rate):
    raise NotImplementedError()


# --- wrong answers: compare_optimizers ----------------------------------------------------------

LOSS = keras.losses.SparseCategoricalCrossentropy


def _compile(model, name, learning_rate, from_logits=True):
    model.compile(optimizer=reference_make_optimizer(name, learning_rate),
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




# --- optimizer flags, rules that only disagree on some histories, the wrong monitor ------------

def _flagged(**flags):
    def make_optimizer(name, learning_rate):
        opt = reference_make_optimizer(name, learning_rate)
        return type(opt).from_config({**opt.get_config(), **flags.get(name, {})})

    return make_optimizer


mo_amsgrad = _flagged(adam={"amsgrad": True})
mo_nesterov = _flagged(momentum={"nesterov": True})
mo_centered = _flagged(rmsprop={"centered": True})
mo_weight_decay = _flagged(adam={"weight_decay": 1e-4})
mo_clipnorm = _flagged(sgd={"clipnorm": 1.0})
mo_rmsprop_rho = _flagged(rmsprop={"rho": 0.99})


def co_amsgrad(settings, build_fn, train, val, epochs=4, batch_size=64, seed=42):
    histories = {}
    for label, (name, rate) in settings.items():
        repro.set_seed(seed)
        model = build_fn()
        opt = reference_make_optimizer(name, rate)
        if name == "adam":
            opt = keras.optimizers.Adam(rate, amsgrad=True)
        model.compile(optimizer=opt, loss=LOSS(from_logits=True), metrics=["accuracy"])
        histories[label] = _fit(model, train, val, epochs, batch_size, seed)
    return histories


def be_first_rise(history):
    """The epoch before the validation loss first goes up."""
    val = history.history["val_loss"]
    for i in range(1, len(val)):
        if val[i] > val[i - 1]:
            return i
    return len(val)


def io_still_falling(history, patience=3):
    """Judges the training loss by its last step, not against the best epoch."""
    loss = history.history["loss"]
    return len(loss) - _best(history) >= patience and loss[-1] < loss[-2]


def io_consecutive_rises(history, patience=3):
    """Overfitting only when val_loss rose in each of the last `patience` epochs."""
    val = history.history["val_loss"]
    rises = all(val[-i] > val[-i - 1] for i in range(1, patience + 1))
    return len(val) > patience and rises and history.history["loss"][-1] < history.history[
        "loss"][_best(history) - 1]


def io_compares_patience_ago(history, patience=3):
    """Compares the last val_loss with the one `patience` epochs earlier."""
    val, loss = history.history["val_loss"], history.history["loss"]
    return len(val) > patience and val[-1] > val[-1 - patience] and loss[-1] < loss[-1 - patience]


def es_monitors_val_accuracy(model, train_ds, val_ds, max_epochs=30, patience=3):
    stop = keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=patience,
                                         restore_best_weights=True)
    return _es_fit(model, train_ds, val_ds, max_epochs, [stop])


def es_mode_max(model, train_ds, val_ds, max_epochs=30, patience=3):
    return _es_fit(model, train_ds, val_ds, max_epochs,
                   [_stop(patience=patience, mode="max", restore_best_weights=True)])


WRONG = [
    WrongAnswer("count_params", "cp-no-biases", cp_no_biases,
                ("counts the weights only",), 0),
    WrongAnswer("count_params", "cp-bias-per-input", cp_input_biases,
                ("one bias per *input*",), 0),
    WrongAnswer("count_params", "cp-first-layer-only", cp_first_layer_only,
                ("counts only the first layer",), 0),
    WrongAnswer("count_params", "cp-hard-coded-407050", cp_hard_coded,
                ("use the layer_sizes argument",), 0.5),
    WrongAnswer("count_params", "cp-float", cp_float,
                ("return a whole number (int), got float",), 0),
    WrongAnswer("count_params", "cp-counts-units", cp_neurons,
                ("expected 784·512 + 512 + 512·10 + 10",), 0),
    WrongAnswer("count_params", "cp-input-counted", cp_input_layer_counted,
                ("gave 407,834",), 0),
    WrongAnswer("count_params", "cp-single-size-crashes", cp_single_size_crashes,
                ("your code raised IndexError",), 0.5),
    WrongAnswer("count_params", "cp-returns-None", cp_returns_none,
                ("your count_params returns None", "`return`",), 0),
    WrongAnswer("count_params", "cp-not-done", cp_not_done,
                ("not done yet",), 0),
    WrongAnswer("build_deep_mlp", "bd-64-then-128", bd_wrong_order,
                ("hidden layers are in the wrong order",), 0),
    WrongAnswer("build_deep_mlp", "bd-no-relu", bd_no_relu,
                ("the hidden layers have no activation",), 1),
    WrongAnswer("build_deep_mlp", "bd-relu-first-only", bd_relu_on_first_only,
                ("hidden layer 2 ('hidden_2') has no activation",), 1),
    WrongAnswer("build_deep_mlp", "bd-softmax", bd_softmax,
                ("from_logits=True",), 1),
    WrongAnswer("build_deep_mlp", "bd-softmax-layer", bd_softmax_layer,
                ("a softmax on the last layer",), 1),
    WrongAnswer("build_deep_mlp", "bd-no-bias", bd_no_bias,
                ("use_bias=False",), 1),
    WrongAnswer("build_deep_mlp", "bd-unnamed", bd_unnamed,
                ("name the Dense layers",), 1),
    WrongAnswer("build_deep_mlp", "bd-hidden-units-ignored", bd_hard_coded,
                ("hidden_units=(256,)",), 1),
    WrongAnswer("build_deep_mlp", "bd-dropout-ignored", bd_dropout_ignored,
                ("with dropout_rate=0.3 the layers",), 1),
    WrongAnswer("build_deep_mlp", "bd-dropout-after-logits", bd_dropout_after_logits,
                ("none after the logits",), 1),
    WrongAnswer("build_deep_mlp", "bd-dropout-0-layers", bd_dropout_always,
                ("must have no Dropout layer",), 1),
    WrongAnswer("build_deep_mlp", "bd-dropout-rate-0.5", bd_dropout_rate_fixed,
                ("use rate=dropout_rate",), 1),
    WrongAnswer("build_deep_mlp", "bd-one-hidden-layer", bd_one_hidden,
                ("the model has 2 Dense layers",), 0),
    WrongAnswer("build_deep_mlp", "bd-no-input", bd_no_input,
                ("keras.Input(shape=(784,))",), 0),
    WrongAnswer("build_deep_mlp", "bd-functional", bd_functional,
                ("keras.Sequential model (got Functional)",), 0),
    WrongAnswer("make_optimizer", "mo-adam-is-sgd", mo_adam_is_sgd,
                ("expected keras.optimizers.Adam",), 0),
    WrongAnswer("make_optimizer", "mo-no-momentum", mo_no_momentum,
                ("'momentum' is SGD with momentum=0.9",), 1),
    WrongAnswer("make_optimizer", "mo-sgd-with-momentum", mo_sgd_with_momentum,
                ("'sgd' is plain SGD",), 1),
    WrongAnswer("make_optimizer", "mo-learning-rate-hard-coded", mo_fixed_learning_rate,
                ("use the learning_rate argument",), 1),
    WrongAnswer("make_optimizer", "mo-shared-instances", mo_shared_instances,
                ("create a new one on every call",), 1),
    WrongAnswer("make_optimizer", "mo-unknown-returns-None", mo_unknown_returns_none,
                ("must raise ValueError (got no "
                 "error)",), 1),
    WrongAnswer("make_optimizer", "mo-unknown-KeyError", mo_unknown_key_error,
                ("must raise ValueError (got "
                 "KeyError)",), 1),
    WrongAnswer("make_optimizer", "mo-returns-class", mo_returns_class,
                ("return an instance",), 0),
    WrongAnswer("make_optimizer", "mo-keras-optimizers-get", mo_keras_get,
                ("your code raised ValueError",), 0),
    WrongAnswer("make_optimizer", "mo-not-done", mo_not_done,
                ("not done yet",), 0),
    WrongAnswer("compare_optimizers", "co-seed-once", co_seed_once,
                ("different initial weights",), 1),
    WrongAnswer("compare_optimizers", "co-reused-pipeline", co_reused_pipeline,
                ("a reused tf.data pipeline continues its shuffle order",), 1),
    WrongAnswer("compare_optimizers", "co-one-model", co_one_model,
                ("build_fn was called 1 times",), 1),
    WrongAnswer("compare_optimizers", "co-from-logits-false", co_not_from_logits,
                ("from_logits=True",), 1),
    WrongAnswer("compare_optimizers", "co-always-adam", co_always_adam,
                ("compile with make_optimizer",), 1),
    WrongAnswer("compare_optimizers", "co-batch-size-ignored", co_batch_size_ignored,
                ("differs from the reference",), 1),
    WrongAnswer("compare_optimizers", "co-no-validation", co_no_validation,
                ("validation_data",), 0),
    WrongAnswer("compare_optimizers", "co-4-epochs", co_fixed_epochs,
                ("ran 4 epochs",), 0),
    WrongAnswer("compare_optimizers", "co-returns-models", co_returns_models,
                ("is a model",), 0),
    WrongAnswer("compare_optimizers", "co-returns-list", co_returns_list,
                ("return a dict",), 0),
    WrongAnswer("best_epoch", "be-0-based", be_zero_based,
                ("count epochs from 1",), 0),
    WrongAnswer("best_epoch", "be-val-accuracy", be_val_accuracy,
                ("best validation *accuracy*",), 0),
    WrongAnswer("best_epoch", "be-training-loss", be_training_loss,
                ("lowest *training* loss",), 0),
    WrongAnswer("best_epoch", "be-argmax", be_argmax,
                ("take the minimum",), 0),
    WrongAnswer("best_epoch", "be-returns-loss", be_returns_loss,
                ("not the loss value",), 0),
    WrongAnswer("best_epoch", "be-last-of-ties", be_last_of_ties,
                ("the first epoch with the lowest value",), 0),
    WrongAnswer("best_epoch", "be-float", be_float,
                ("return the epoch as an int",), 0),
    WrongAnswer("best_epoch", "be-not-done", be_not_done,
                ("not done yet",), 0),
    WrongAnswer("is_overfitting", "io-gap", io_gap,
                ("validation loss above training loss is normal",), 0),
    WrongAnswer("is_overfitting", "io-last-uptick", io_last_uptick,
                ("a single epoch up after the best",), 0),
    WrongAnswer("is_overfitting", "io-ignores-training-loss", io_ignores_training_loss,
                ("training is diverging",), 0),
    WrongAnswer("is_overfitting", "io-strictly-more", io_strictly_more_than_patience,
                ("≥ patience",), 0),
    WrongAnswer("is_overfitting", "io-patience-hard-coded", io_patience_hard_coded,
                ("use the patience argument",), 0),
    WrongAnswer("is_overfitting", "io-returns-text", io_returns_text,
                ("return True or False, got str",), 0),
    WrongAnswer("is_overfitting", "io-returns-None", io_returns_none,
                ("got NoneType",), 0),
    WrongAnswer("is_overfitting", "io-not-done", io_not_done,
                ("not done yet",), 0),
    WrongAnswer("train_with_early_stopping", "es-no-restore", es_no_restore,
                ("restore_best_weights=True",), 1),
    WrongAnswer("train_with_early_stopping", "es-no-callback", es_no_callback,
                ("ran all 40 epochs",), 0),
    WrongAnswer("train_with_early_stopping", "es-monitors-loss", es_monitors_training_loss,
                ("monitor='loss'", "monitor='val_loss'"), 0),
    WrongAnswer("train_with_early_stopping", "es-patience-0", es_default_patience,
                ("it must stop 2 epochs "
                 "after it",), 0),
    WrongAnswer("train_with_early_stopping", "es-patience-hard-coded-3", es_patience_3,
                ("with patience=2",), 0),
    WrongAnswer("train_with_early_stopping", "es-patience-hard-coded-2", es_patience_2,
                ("pass patience=patience",), 1),
    WrongAnswer("train_with_early_stopping", "es-epochs-hard-coded", es_epochs_hard_coded,
                ("epochs=max_epochs",), 1),
    WrongAnswer("train_with_early_stopping", "es-no-validation", es_no_validation,
                ("no val_loss",), 0),
    WrongAnswer("train_with_early_stopping", "es-returns-model", es_returns_model,
                ("return the History",), 0),
    WrongAnswer("train_with_early_stopping", "es-not-done", es_not_done,
                ("not done yet",), 0),

    WrongAnswer("make_optimizer", "mo-adam-amsgrad", mo_amsgrad, ("amsgrad=True",), 1),
    WrongAnswer("make_optimizer", "mo-momentum-nesterov", mo_nesterov, ("nesterov=True",), 1),
    WrongAnswer("make_optimizer", "mo-rmsprop-centered", mo_centered, ("centered=True",), 1),
    WrongAnswer("make_optimizer", "mo-adam-weight-decay", mo_weight_decay,
                ("weight_decay=0.0001",), 1),
    WrongAnswer("make_optimizer", "mo-sgd-clipnorm", mo_clipnorm, ("clipnorm=1.0",), 1),
    WrongAnswer("make_optimizer", "mo-rmsprop-rho", mo_rmsprop_rho, ("rho=0.99",), 1),
    WrongAnswer("compare_optimizers", "co-adam-amsgrad", co_amsgrad, ("amsgrad=True",), 1),
    WrongAnswer("best_epoch", "be-first-rise", be_first_rise, ("np.argmin", "first goes up"), 0),
    WrongAnswer("is_overfitting", "io-training-loss-still-falling", io_still_falling,
                ("compare the last training loss with the one at the best epoch",), 0),
    WrongAnswer("is_overfitting", "io-consecutive-rises", io_consecutive_rises,
                ("not consecutive rises",), 0),
    WrongAnswer("is_overfitting", "io-compares-patience-ago", io_compares_patience_ago,
                ("epochs since the best",), 0),
    WrongAnswer("train_with_early_stopping", "es-monitors-val-accuracy",
                es_monitors_val_accuracy, ("monitor='val_accuracy'", "monitor='val_loss'"), 0),
    WrongAnswer("train_with_early_stopping", "es-mode-max", es_mode_max, ("mode='max'",), 0),
]
