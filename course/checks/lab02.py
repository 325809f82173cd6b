"""Checks for Lab 02: deeper MLPs (784→128→64→10), optimizers and overfitting."""

from __future__ import annotations

from typing import Any

import numpy as np

from course.checks import award, check, common, expect

OPTIMIZER_NAMES = ("sgd", "momentum", "rmsprop", "adam")
"""The names ``make_optimizer`` accepts."""


# --- count_params ---------------------------------------------------------------------------

def reference_count_params(layer_sizes: list[int]) -> int:
    """Weights plus biases of the Dense layers joining consecutive sizes."""
    return sum(n_in * n_out + n_out
               for n_in, n_out in zip(layer_sizes[:-1], layer_sizes[1:], strict=True))


@check(points=1)
def count_params(count_params_fn: Any) -> None:
    """Check ``count_params(layer_sizes)`` → the parameters of a Dense stack, by hand."""
    got = count_params_fn([784, 512, 10])
    common.expect_returned(got, "count_params", "the total")
    expect(isinstance(got, (int, np.integer)) and not isinstance(got, bool),
           f"return a whole number (int), got {type(got).__name__}: parameters are counted, "
           "not measured")
    weights_only = 784 * 512 + 512 * 10
    expect(got != weights_only, f"{got:,} counts the weights only: each layer also has one "
           "bias per output unit, n_in·n_out + n_out")
    expect(got != weights_only + 784 + 512,
           f"{got:,} gives each layer one bias per *input*: a Dense layer has one bias per "
           "output unit (n_in·n_out + n_out)")
    expect(got != 784 * 512 + 512, f"{got:,} counts only the first layer: add up every pair "
           "of consecutive sizes (784→512 and 512→10)")
    expect(got == 407_050, f"count_params([784, 512, 10]) gave {got:,}; expected "
           "784·512 + 512 + 512·10 + 10 = 407,050")
    award(0.5)
    deep = count_params_fn([784, 128, 64, 10])
    expect(deep == 109_386, f"count_params([784, 128, 64, 10]) gave {deep}; expected 109,386: "
           "use the layer_sizes argument and add up every consecutive pair")
    for sizes in ([3, 2], [10, 5, 5, 2], (20, 4)):
        want = reference_count_params(list(sizes))
        result = count_params_fn(sizes)
        expect(result == want, f"count_params({list(sizes)}) gave {result}; expected {want} "
               "(any number of layers; a tuple of sizes works too)")
    expect(count_params_fn([784]) == 0,
           "count_params([784]) must be 0: a single size is an input with no layer")


# --- build_deep_mlp -------------------------------------------------------------------------

@check(points=2, judged="kernel")
def build_deep_mlp(build_fn: Any) -> None:
    """Check ``build_deep_mlp(hidden_units=(128, 64), dropout_rate=0.0)`` → Sequential MLP."""
    model = build_fn()
    common.expect_sequential(model, "build_deep_mlp", 784, 10, "one logit per digit")
    dense = common.layers_of(model)
    units = [layer.units for layer in dense]
    expect(len(dense) == 3, f"the model has {len(dense)} Dense layers {units}; 784→128→64→10 "
           "has three: two hidden layers and the output layer")
    expect(units != [64, 128, 10], "the hidden layers are in the wrong order: Article B goes "
           "784→128→64→10, the wide layer first, then the narrow one")
    expect(units == [128, 64, 10], f"the Dense layers have {units} units; expected "
           "[128, 64, 10]")
    award(1)
    expect(all(layer.use_bias for layer in dense),
           "a layer has use_bias=False: every nn.Linear layer of Article B has biases")
    x = np.random.default_rng(0).normal(size=(4, 784)).astype("float32")
    (w1, b1), (w2, b2), (w3, b3) = (layer.get_weights() for layer in dense)

    def forward(relu_1: bool, relu_2: bool) -> np.ndarray:
        h = x @ w1 + b1
        h = np.maximum(h, 0) if relu_1 else h
        h = h @ w2 + b2
        h = np.maximum(h, 0) if relu_2 else h
        return h @ w3 + b3

    out = np.asarray(model(x, training=False))
    expect(not np.allclose(out.sum(axis=1), 1.0, atol=1e-4),
           "the model outputs probabilities (a softmax on the last layer): return raw logits, "
           "because the loss SparseCategoricalCrossentropy(from_logits=True) applies softmax "
           "itself — with a softmax here it would be applied twice")
    expect(not np.allclose(out, forward(False, False), atol=1e-4),
           "the hidden layers have no activation: add activation='relu' to both — without it "
           "the three layers collapse into one linear map")
    for k, variant in ((1, forward(False, True)), (2, forward(True, False))):
        expect(not np.allclose(out, variant, atol=1e-4),
               f"hidden layer {k} ('{dense[k - 1].name}') has no activation: add "
               "activation='relu' to every hidden layer")
    expect(np.allclose(out, forward(True, True), atol=1e-4),
           "the output differs from relu(relu(x·W₁ + b₁)·W₂ + b₂)·W₃ + b₃: use only the "
           "Dense layers, a ReLU after each hidden one, and no activation on the logits")
    expect([layer.name for layer in dense] == ["hidden_1", "hidden_2", "logits"],
           f"name the Dense layers 'hidden_1', 'hidden_2' and 'logits' (got "
           f"{[layer.name for layer in dense]}), so that summaries do not change on re-runs")
    expect(not common.layers_of(model, "Dropout"),
           "with dropout_rate=0.0 (the default) the model must have no Dropout layer")
    _expect_arguments_used(build_fn)


def _expect_arguments_used(build_fn: Any) -> None:
    """``build_deep_mlp`` builds one hidden layer per unit count, and dropout when asked."""
    import keras

    wide = build_fn(hidden_units=(256,))
    wide_units = [layer.units for layer in common.layers_of(wide)]
    expect(wide_units == [256, 10],
           f"build_deep_mlp(hidden_units=(256,)) has Dense layers {wide_units}; expected "
           "[256, 10]: make one hidden layer per entry of hidden_units")
    regular = build_fn(dropout_rate=0.3)
    kinds = [type(layer).__name__ for layer in regular.layers
             if isinstance(layer, (keras.layers.Dense, keras.layers.Dropout))]
    expect(kinds == ["Dense", "Dropout", "Dense", "Dropout", "Dense"],
           f"with dropout_rate=0.3 the layers are {kinds}; expected a Dropout layer right "
           "after each hidden layer and none after the logits: Dense, Dropout, Dense, "
           "Dropout, Dense")
    rates = [float(layer.rate) for layer in common.layers_of(regular, "Dropout")]
    expect(np.allclose(rates, 0.3), f"the Dropout rates are {rates}: use rate=dropout_rate")


# --- make_optimizer -------------------------------------------------------------------------

def reference_make_optimizer(name: str, learning_rate: float) -> Any:
    """The expected optimizer for each name (momentum 0.9, Keras defaults otherwise)."""
    import keras

    if name == "sgd":
        return keras.optimizers.SGD(learning_rate=learning_rate)
    if name == "momentum":
        return keras.optimizers.SGD(learning_rate=learning_rate, momentum=0.9)
    if name == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate=learning_rate)
    if name == "adam":
        return keras.optimizers.Adam(learning_rate=learning_rate)
    raise ValueError(f"unknown optimizer {name!r}; choose one of {OPTIMIZER_NAMES}")


@check(points=2, judged="kernel")
def make_optimizer(make_fn: Any) -> None:
    """Check ``make_optimizer(name, learning_rate)`` for sgd, momentum, rmsprop and adam."""
    calls = {"sgd": "SGD(learning_rate)", "momentum": "SGD(learning_rate, momentum=0.9)",
             "rmsprop": "RMSprop(learning_rate)", "adam": "Adam(learning_rate)"}
    made = {}
    for name in calls:
        opt = made[name] = make_fn(name, 0.01)
        common.expect_returned(opt, f"make_optimizer({name!r}, 0.01)", "the optimizer")
        want = type(reference_make_optimizer(name, 0.01))
        expect(not isinstance(opt, type), f"make_optimizer({name!r}, 0.01) returned the class "
               f"{getattr(opt, '__name__', '')}: return an instance, e.g. "
               f"{want.__name__}(learning_rate=learning_rate)")
        expect(type(opt) is want, f"make_optimizer({name!r}, 0.01) returned "
               f"{type(opt).__name__}; expected keras.optimizers.{want.__name__}")
    award(1)
    for name, call in calls.items():
        hint = common.optimizer_mismatch(made[name], reference_make_optimizer(name, 0.01), call)
        which = {"momentum": "'momentum' is SGD with momentum=0.9",
                 "sgd": "'sgd' is plain SGD, Article B's optimizer"}.get(name)
        expect(not hint, f"make_optimizer({name!r}, 0.01): {hint} ({which})" if which
               else f"make_optimizer({name!r}, 0.01): {hint}")
    for name, rate in (("adam", 0.005), ("sgd", 0.2), ("rmsprop", 0.0003)):
        opt = make_fn(name, rate)
        expect(np.isclose(float(opt.learning_rate), rate),
               f"make_optimizer({name!r}, {rate}) has learning rate "
               f"{float(opt.learning_rate):g}: use the learning_rate argument, not a fixed "
               "number")
    expect(make_fn("adam", 0.001) is not make_fn("adam", 0.001),
           "two calls returned the same optimizer object: create a new one on every call — an "
           "optimizer keeps state (momentum, moment estimates) for the model it trains")
    try:
        make_fn("adagrad", 0.01)
        raised = "no error"
    except ValueError:
        raised = ""
    except Exception as exc:  # e.g. a KeyError from a dict lookup
        raised = type(exc).__name__
    expect(not raised, f"make_optimizer('adagrad', 0.01) must raise ValueError (got "
           f"{raised}): a typo in a name should stop the run with a clear message, not train "
           "something else")


# --- compare_optimizers ---------------------------------------------------------------------

def _learnable_digits(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """uint8 'images' whose label shows as a bright band of rows: learnable in a few steps."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n).astype("uint8")
    images = rng.integers(0, 90, (n, 28, 28)).astype("uint8")
    for i, label in enumerate(labels):
        images[i, 2 * label + 3: 2 * label + 6, :] += 150
    return images, labels


def _tiny_mlp() -> Any:
    import keras

    return keras.Sequential([keras.Input((784,)),
                             keras.layers.Dense(8, activation="relu", name="hidden"),
                             keras.layers.Dense(10, name="logits")], name="tiny")


def _reference_history(setting: tuple[str, float], train: Any, val: Any, epochs: int,
                       batch_size: int, seed: int) -> dict[str, list[float]]:
    import keras

    from course import data, repro

    repro.set_seed(seed)
    model = _tiny_mlp()
    model.compile(optimizer=reference_make_optimizer(*setting),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    train_ds = data.make_pipeline(*train, batch_size=batch_size, shuffle=True, seed=seed)
    val_ds = data.make_pipeline(*val, batch_size=256, shuffle=False)
    return model.fit(train_ds, epochs=epochs, validation_data=val_ds, verbose=0,
                     shuffle=False).history


def _expect_history(label: str, history: Any, epochs: int) -> None:
    """``history`` is the History of ``epochs`` epochs of ``fit`` with validation data."""
    import keras

    expect(not isinstance(history, keras.Model), f"result[{label!r}] is a model: store "
           "the History that model.fit returns")
    logs = getattr(history, "history", None)
    expect(isinstance(logs, dict) and "loss" in logs,
           f"result[{label!r}] is not a History: store what model.fit(...) returns")
    expect("val_loss" in logs, "the histories have no val_loss: pass the validation "
           "pipeline to fit with validation_data=...")
    expect(len(logs["loss"]) == epochs, f"result[{label!r}] ran {len(logs['loss'])} epochs; "
           f"train every model for `epochs` epochs (the check asked for {epochs})")


@check(points=2, judged="kernel")
def compare_optimizers(compare_fn: Any) -> None:
    """Check ``compare_optimizers(settings, build_fn, train, val, epochs, batch_size, seed)``."""
    train, val = _learnable_digits(256, seed=1), _learnable_digits(128, seed=2)
    settings = {"plain": ("sgd", 0.05), "again": ("sgd", 0.05), "adam": ("adam", 0.01)}
    built: list[tuple[Any, list[np.ndarray]]] = []

    def build_fn() -> Any:
        model = _tiny_mlp()
        built.append((model, [w.copy() for w in model.get_weights()]))
        return model

    result = compare_fn(settings, build_fn, train, val, epochs=2, batch_size=32, seed=3)
    expect(isinstance(result, dict), f"return a dict {{label: History}}, got "
           f"{type(result).__name__}")
    expect(set(result) == set(settings), f"the dict has keys {sorted(result)}; expected one "
           f"entry per setting, {sorted(settings)}")
    for label, history in result.items():
        _expect_history(label, history, epochs=2)
    award(1)
    expect(len(built) == len(settings), f"build_fn was called {len(built)} times for "
           f"{len(settings)} settings: build a fresh model for every optimizer, or the later "
           "ones continue from weights the earlier ones trained")
    by_setting = dict(zip(settings, (model for model, _ in built), strict=False))
    for label, (name, rate) in settings.items():
        expect(by_setting[label].compiled, f"the model for {label!r} was never compiled: "
               "compile each new model before fitting it")
        want_opt = reference_make_optimizer(name, rate)
        hint = common.optimizer_mismatch(by_setting[label].optimizer, want_opt,
                                         f"{type(want_opt).__name__}({rate:g})")
        expect(not hint, f"the model for {label!r}: {hint} — compile with "
               "make_optimizer(name, learning_rate) from its setting")
        common.expect_classification_loss(by_setting[label].loss)
    initial = [weights for _, weights in built]
    expect(all(np.array_equal(a, b) for a, b in zip(initial[0], initial[1], strict=True)),
           "two optimizers started from different initial weights: call repro.set_seed(seed) "
           "right before build_fn() for every optimizer, so each starts from the same weights")
    same = np.allclose(result["plain"].history["loss"], result["again"].history["loss"],
                       rtol=1e-6, atol=1e-7)
    expect(same, "identical settings gave different losses although the initial weights were "
           "the same: the batches came in another order — build the training pipeline inside "
           "the loop (data.make_pipeline(..., seed=seed)); a reused tf.data pipeline continues "
           "its shuffle order from the previous run")
    want = _reference_history(settings["adam"], train, val, 2, 32, 3)
    got = result["adam"].history
    for key in ("loss", "val_loss"):
        mine, ref = np.asarray(got[key], "float64"), np.asarray(want[key], "float64")
        expect(np.allclose(mine, ref, rtol=1e-4, atol=1e-5),
               f"the Adam run's {key} {mine.round(6).tolist()} differs from the reference "
               f"{ref.round(6).tolist()}: train on data.make_pipeline(x, y, "
               "batch_size=batch_size, shuffle=True, seed=seed), validate on the val arrays, "
               "for `epochs` epochs")


# --- best_epoch and is_overfitting ----------------------------------------------------------

def _history(loss: list[float], val_loss: list[float], val_accuracy: list[float] | None = None
             ) -> Any:
    import keras

    history = keras.callbacks.History()
    history.history = {"loss": list(loss), "val_loss": list(val_loss)}
    if val_accuracy is not None:
        history.history["val_accuracy"] = list(val_accuracy)
    history.epoch = list(range(len(loss)))
    return history


def reference_best_epoch(history: Any) -> int:
    """The epoch (from 1) with the lowest validation loss; the first one on ties."""
    return int(np.argmin(history.history["val_loss"])) + 1


def reference_is_overfitting(history: Any, patience: int = 3) -> bool:
    """Validation loss not improved for ``patience`` epochs while training loss still fell."""
    best = reference_best_epoch(history)
    loss = history.history["loss"]
    return len(loss) - best >= patience and loss[-1] < loss[best - 1]


TYPICAL = _history(  # training loss falls; validation is best at epoch 3, then rises
    loss=[1.2, 0.6, 0.4, 0.3, 0.2, 0.15],
    val_loss=[0.7, 0.5, 0.45, 0.48, 0.55, 0.62],
    val_accuracy=[0.80, 0.85, 0.87, 0.88, 0.86, 0.86],
)

OVERFIT = _history(  # the same, one epoch longer: 4 epochs past the best
    loss=[1.2, 0.6, 0.4, 0.3, 0.2, 0.15, 0.1],
    val_loss=[0.7, 0.5, 0.45, 0.48, 0.55, 0.62, 0.7],
)


@check(points=1, judged="kernel")
def best_epoch(best_epoch_fn: Any) -> None:
    """Check ``best_epoch(history)`` → the epoch (from 1) with the lowest validation loss."""
    got = best_epoch_fn(TYPICAL)
    expect(got is not None, "best_epoch returned None: return the epoch number")
    expect(isinstance(got, (int, np.integer)) and not isinstance(got, bool),
           f"return the epoch as an int, got {type(got).__name__} {got!r}: the epoch number, "
           "not the loss value")
    expect(got != 2, "best_epoch returned 2 but the lowest validation loss is at index 2, "
           "epoch 3: count epochs from 1 (Keras prints 'Epoch 1/…'), return index + 1")
    expect(got != 4, "best_epoch returned 4, the best validation *accuracy*: the best epoch is "
           "the one with the lowest validation loss, history.history['val_loss']")
    expect(got != 6, "best_epoch returned 6, the last epoch (lowest *training* loss): use "
           "the validation loss, history.history['val_loss']")
    expect(got != 1, "best_epoch returned 1, the highest validation loss: take the minimum "
           "(np.argmin), not the maximum")
    expect(got == 3, f"best_epoch returned {got}; the lowest val_loss (0.45) is at epoch 3")
    cases = [
        ([1.0, 0.5, 0.4], [0.3, 0.5, 0.6], 1),
        ([1.0, 0.5, 0.4, 0.3], [0.9, 0.6, 0.5, 0.4], 4),
        ([1.0, 0.5, 0.4, 0.3, 0.2], [0.9, 0.4, 0.5, 0.4, 0.6], 2),
        ([1.0, 0.5, 0.4, 0.3], [0.5, 0.4, 0.4, 0.6], 2),
    ]
    dip = best_epoch_fn(_history([1.0, 0.8, 0.6, 0.5, 0.4, 0.35], [0.9, 0.6, 0.7, 0.5, 0.55, 0.6]))
    expect(dip == 4, f"for val_loss [0.9, 0.6, 0.7, 0.5, 0.55, 0.6] best_epoch returned {dip}; "
           "the lowest value is at epoch 4: take the minimum over all epochs (np.argmin), not "
           "the epoch before the validation loss first goes up")
    for loss, val_loss, want in cases:
        result = best_epoch_fn(_history(loss, val_loss))
        expect(result == want, f"for val_loss {val_loss} best_epoch returned {result}; "
               f"expected {want} (the first epoch with the lowest value)")


@check(points=1, judged="kernel")
def is_overfitting(is_overfitting_fn: Any) -> None:
    """Check ``is_overfitting(history, patience=3)`` on typical training curves."""
    got = is_overfitting_fn(OVERFIT)
    expect(isinstance(got, (bool, np.bool_)), f"return True or False, got "
           f"{type(got).__name__}")
    expect(bool(got), "validation loss rose for 4 epochs after its best (epoch 3) while "
           "training loss kept falling: that is overfitting, return True")
    cases = [  # (train loss, validation loss, overfitting at patience 3?, hint if not)
        ([1.0, 0.6, 0.45, 0.35, 0.3],
         [1.1, 0.75, 0.6, 0.52, 0.48], False,
         "both losses still fall, so the model is not overfitting — validation loss above "
         "training loss is normal; overfitting is when validation loss stops improving "
         "while training loss keeps falling"),
        ([1.0, 0.7, 0.5, 0.4, 0.3, 0.25],
         [1.0, 0.8, 0.65, 0.55, 0.5, 0.52], False,
         "a single epoch up after the best is noise, not overfitting: require the best "
         "epoch to be at least `patience` epochs before the last"),
        ([0.9, 0.6, 0.5, 0.8, 1.4, 2.3],
         [0.8, 0.6, 0.55, 0.9, 1.5, 2.4], False,
         "both losses rise after epoch 3: training is diverging (learning rate too high), "
         "not overfitting — also require the last training loss to be lower than at the "
         "best epoch"),
        ([1.0, 0.7, 0.5, 0.4, 0.3, 0.25, 0.2],
         [1.0, 0.8, 0.6, 0.5, 0.55, 0.6, 0.65], True,
         "3 epochs without improvement (5, 6, 7 after the best epoch 4) reach patience=3: "
         "overfitting when last epoch − best epoch ≥ patience"),
        ([1.0, 0.7, 0.5, 0.4, 0.3, 0.35],
         [0.9, 0.6, 0.65, 0.7, 0.72, 0.8], True,
         "training loss went up in the last epoch (0.30 → 0.35) but is still far below its "
         "value at the best epoch (0.7 at epoch 2): that is overfitting — compare the last "
         "training loss with the one at the best epoch, not with the previous epoch"),
        ([1.0, 0.5, 0.8, 1.2, 1.1],
         [0.9, 0.6, 0.9, 1.3, 1.2], False,
         "training loss fell in the last epoch (1.2 → 1.1) but is above its value at the "
         "best epoch (0.5 at epoch 2): training went wrong, the model is not overfitting — "
         "compare the last training loss with the one at the best epoch"),
        ([1.0, 0.7, 0.5, 0.4, 0.3, 0.25],
         [1.0, 0.6, 0.7, 0.65, 0.75, 0.8], True,
         "the validation loss has not beaten its best (epoch 2) for 4 epochs, though it dipped "
         "once on the way: count the epochs since the best one, not consecutive rises"),
        ([1.0, 0.7, 0.5, 0.4, 0.3, 0.25],
         [1.0, 0.6, 0.9, 0.8, 0.7, 0.65], True,
         "the validation loss falls again at the end but is still above its best (epoch 2) "
         "4 epochs later: overfitting counts the epochs since the best validation loss, "
         "whatever the last epochs did"),
    ]
    for loss, val_loss, want, hint in cases:
        expect(bool(is_overfitting_fn(_history(loss, val_loss))) == want, hint)
    late = _history([1.0, 0.7, 0.5, 0.4, 0.3, 0.25], [1.0, 0.8, 0.6, 0.5, 0.55, 0.6])
    expect(bool(is_overfitting_fn(late, patience=2)) and not is_overfitting_fn(late, 3),
           "use the patience argument: 2 epochs after the best is overfitting with "
           "patience=2 but not with patience=3")


# --- train_with_early_stopping ---------------------------------------------------------------

def _overfitting_task(seed: int = 0) -> tuple[Any, Any, Any]:
    """A small model that overfits 96 noisy examples within a few epochs, and its data."""
    import keras
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    w = rng.normal(size=(20, 4))
    x = rng.normal(size=(496, 20)).astype("float32")
    y = np.argmax(x @ w + rng.normal(scale=1.5, size=(496, 4)), axis=1).astype("int32")
    train = tf.data.Dataset.from_tensor_slices((x[:96], y[:96])).batch(32)
    val = tf.data.Dataset.from_tensor_slices((x[96:], y[96:])).batch(400)
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((20,)),
                              keras.layers.Dense(64, activation="relu", name="hidden"),
                              keras.layers.Dense(4, name="logits")], name="overfits")
    model.compile(optimizer=keras.optimizers.Adam(0.03),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model, train, val


def _spy_on_fit(model: Any) -> list[Any]:
    """Record the EarlyStopping callbacks the learner passes to ``model.fit``."""
    import keras

    stoppers: list[Any] = []
    fit = model.fit

    def recording_fit(*args: Any, **kwargs: Any) -> Any:
        callbacks = kwargs.get("callbacks") or []
        stoppers.extend(c for c in callbacks if isinstance(c, keras.callbacks.EarlyStopping))
        return fit(*args, **kwargs)

    object.__setattr__(model, "fit", recording_fit)
    return stoppers


@check(points=2, judged="kernel")
def train_with_early_stopping(train_fn: Any) -> None:
    """Check ``train_with_early_stopping(model, train_ds, val_ds, max_epochs, patience)``."""
    model, train, val = _overfitting_task()
    stoppers = _spy_on_fit(model)
    history = train_fn(model, train, val, max_epochs=40, patience=2)
    common.expect_returned(history, "train_with_early_stopping", "the History from model.fit")
    for stopper in stoppers:
        expect(stopper.monitor == "val_loss",
               f"EarlyStopping watches monitor={stopper.monitor!r}: stop on the validation "
               "loss, monitor='val_loss' (the best epoch is the one with the lowest val_loss)")
        expect(stopper.mode != "max",
               "EarlyStopping waits for the loss to go *up* (mode='max'): a loss improves when "
               "it falls, leave mode='auto' (or 'min')")
    logs = getattr(history, "history", None)
    expect(isinstance(logs, dict) and "loss" in logs,
           f"return the History from model.fit (got {type(history).__name__})")
    expect("val_loss" in logs, "the history has no val_loss: pass validation_data=val_ds to fit")
    val_loss = logs["val_loss"]
    best = int(np.argmin(val_loss)) + 1
    expect(len(val_loss) < 40, f"training ran all 40 epochs although the validation loss was "
           f"lowest at epoch {best}: pass callbacks=[keras.callbacks.EarlyStopping("
           "monitor='val_loss', patience=patience, restore_best_weights=True)] to fit")
    expect(len(val_loss) == best + 2,
           f"training stopped at epoch {len(val_loss)}, {len(val_loss) - best} epochs after the "
           f"lowest validation loss (epoch {best}); with patience=2 it must stop 2 epochs after "
           "it: EarlyStopping(monitor='val_loss', patience=patience)")
    award(1)
    restored = float(model.evaluate(val, verbose=0, return_dict=True)["loss"])
    expect(not np.isclose(restored, val_loss[-1], rtol=1e-5) or np.isclose(
        val_loss[-1], val_loss[best - 1], rtol=1e-5),
           "the model keeps the weights of the last epoch, not the best one: pass "
           "restore_best_weights=True to EarlyStopping (its default is False)")
    expect(np.isclose(restored, val_loss[best - 1], rtol=1e-4, atol=1e-6),
           f"after training the model's validation loss is {restored:.4f}, not the best "
           f"{val_loss[best - 1]:.4f}: EarlyStopping(restore_best_weights=True)")
    model, train, val = _overfitting_task()
    again = train_fn(model, train, val, max_epochs=40, patience=4).history["val_loss"]
    best = int(np.argmin(again)) + 1
    expect(len(again) == min(best + 4, 40),
           f"with patience=4 training stopped {len(again) - best} epochs after the best: pass "
           "patience=patience to EarlyStopping instead of a fixed number")
    model, train, val = _overfitting_task()
    short = train_fn(model, train, val, max_epochs=2, patience=2).history["loss"]
    expect(len(short) == 2, f"with max_epochs=2 training ran {len(short)} epochs: pass "
           "epochs=max_epochs to fit")
