"""course.loops: the teacher data, the TF1 program, and the explicit Keras loop."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest

from course import loops

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")


def test_teacher_data_is_seeded_float32_and_learnable():
    x, y = loops.teacher_data(n=100, seed=3)
    again_x, again_y = loops.teacher_data(n=100, seed=3)
    assert x.shape == (100, 10) and y.shape == (100, 5)
    assert x.dtype == y.dtype == np.float32
    assert np.array_equal(x, again_x) and np.array_equal(y, again_y)
    assert not np.array_equal(y, loops.teacher_data(n=100, seed=4)[1])
    noiseless = loops.teacher_data(n=100, seed=3, noise=0.0)[1]
    assert 0.005 < np.mean((y - noiseless) ** 2) < 0.02  # the noise floor, 0.1² = 0.01


def test_initial_params_are_standard_normal_like_tf_random_normal():
    params = loops.initial_params(seed=1)
    assert [p.shape for p in params] == [(10, 20), (20,), (20, 5), (5,)]
    assert all(p.dtype == np.float32 for p in params)
    values = np.concatenate([p.ravel() for p in params])
    assert abs(values.mean()) < 0.2 and 0.8 < values.std() < 1.2
    assert all(np.array_equal(a, b) for a, b in
               zip(params, loops.initial_params(seed=1), strict=True))


def test_tf1_program_equals_the_eager_tape_loop_bit_for_bit():
    x, y = loops.teacher_data(n=32, seed=0)
    init = loops.initial_params(seed=1)
    losses, final = loops.tf1_program(x, y, init, steps=25)
    assert losses.shape == (25,) and losses.dtype == np.float32
    assert losses[-1] < losses[0]
    params = [tf.Variable(p) for p in init]
    eager = []
    for _ in range(25):
        with tf.GradientTape() as tape:
            h = tf.nn.relu(tf.matmul(x, params[0]) + params[1])
            loss = tf.reduce_mean(tf.square(tf.matmul(h, params[2]) + params[3] - y))
        for p, g in zip(params, tape.gradient(loss, params), strict=True):
            p.assign_sub(0.01 * g)
        eager.append(loss.numpy())
    assert np.array_equal(losses, np.array(eager))
    assert all(np.array_equal(p.numpy(), f) for p, f in zip(params, final, strict=True))


def test_tf1_program_leaves_eager_mode_on():
    x, y = loops.teacher_data(n=8)
    loops.tf1_program(x, y, loops.initial_params(), steps=2)
    assert tf.executing_eagerly()


def _tiny_task():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 6)).astype("float32")
    y = np.argmax(x[:, :3], axis=1).astype("int32")
    train = tf.data.Dataset.from_tensor_slices((x[:48], y[:48])).batch(16)
    val = tf.data.Dataset.from_tensor_slices((x[48:], y[48:])).batch(8)
    return train, val


def _tiny_model(weights=None):
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(3)])
    if weights is not None:
        model.set_weights(weights)
    return model


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "tf.function"])
def test_fit_loop_ends_with_the_weights_of_model_fit(compiled):
    train, val = _tiny_task()
    keras.utils.set_random_seed(0)
    initial = _tiny_model().get_weights()
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    ours = _tiny_model(initial)
    steps = {}
    if compiled:
        steps = {"train_step": tf.function(loops.train_step),
                 "test_step": tf.function(loops.test_step)}
    history = loops.fit_loop(ours, keras.optimizers.SGD(0.1, momentum=0.9), loss_fn, train,
                             val, epochs=3, verbose=0, **steps)

    theirs = _tiny_model(initial)
    theirs.compile(keras.optimizers.SGD(0.1, momentum=0.9), loss_fn, metrics=["accuracy"],
                   jit_compile=False)
    fit = theirs.fit(train, epochs=3, validation_data=val, verbose=0, shuffle=False).history

    assert set(history) == set(loops.HISTORY_KEYS)
    for key in loops.HISTORY_KEYS:
        assert np.allclose(history[key], fit[key], rtol=1e-6, atol=1e-7), key
    for a, b in zip(ours.get_weights(), theirs.get_weights(), strict=True):
        assert np.allclose(a, b, rtol=0, atol=1e-6)


def test_fit_loop_shows_a_progress_bar_only_when_verbose():
    train, val = _tiny_task()
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    for verbose in (0, 1):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            loops.fit_loop(_tiny_model(), keras.optimizers.SGD(0.1), loss_fn, train, val,
                           epochs=1, verbose=verbose)
        text = out.getvalue()
        assert bool(text.strip()) == bool(verbose)
        if verbose:
            assert "Epoch 1/1" in text and "val_loss" in text


def test_step_curves_plots_one_line_per_run():
    from course import plots

    fig = plots.step_curves({"a": [3.0, 2.0, 1.0], "b": np.array([3.0, 2.0, 1.5])})
    ax = fig.axes[0]
    assert len(ax.lines) == 2 and ax.get_yscale() == "log"
    assert [line.get_label() for line in ax.lines] == ["a", "b"]
    assert plots.step_curves({"a": [1.0, 2.0]}, log=False).axes[0].get_yscale() == "linear"


# --- the fast path: a whole epoch per compiled call ----------------------------------------------

def test_stacked_batches_shuffles_whole_pairs_and_drops_the_partial_batch():
    x = np.arange(50, dtype="float32").reshape(25, 2)
    y = np.arange(25, dtype="int32")
    xs, ys = loops.stacked_batches(x, y, batch_size=4, seed=3)
    assert xs.shape == (6, 4, 2) and ys.shape == (6, 4)
    rows, labels = xs.numpy().reshape(-1, 2), ys.numpy().ravel()
    assert np.array_equal(rows[:, 0] / 2, labels)  # each row keeps its label
    assert len(set(labels)) == 24 and not np.array_equal(labels, np.arange(24))
    again, _ = loops.stacked_batches(x, y, batch_size=4, seed=3)
    other, _ = loops.stacked_batches(x, y, batch_size=4, seed=4)
    assert np.array_equal(again, xs) and not np.array_equal(other, xs)
    ordered, _ = loops.stacked_batches(x, y, batch_size=4)
    assert np.array_equal(ordered.numpy().reshape(-1, 2), x[:24])


@pytest.mark.parametrize("step_losses", [False, True], ids=["mean", "per-step"])
@pytest.mark.parametrize("jit_compile", [False, True], ids=["graph", "xla"])
def test_epoch_trainer_equals_one_compiled_step_per_batch(jit_compile, step_losses):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((96, 6)).astype("float32")
    y = np.argmax(x[:, :3], axis=1).astype("int32")
    keras.utils.set_random_seed(0)
    initial = _tiny_model().get_weights()
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    fast = _tiny_model(initial)
    train_epoch = loops.epoch_trainer(fast, keras.optimizers.SGD(0.1, momentum=0.9), loss_fn,
                                      jit_compile=jit_compile, step_losses=step_losses)
    slow = _tiny_model(initial)
    optimizer, step = keras.optimizers.SGD(0.1, momentum=0.9), tf.function(loops.train_step)
    for epoch in range(3):
        xs, ys = loops.stacked_batches(x, y, batch_size=16, seed=epoch)
        result = train_epoch(xs, ys).numpy()
        losses = [float(step(slow, optimizer, loss_fn, xs[i], ys[i], keras.metrics.Mean(),
                             keras.metrics.SparseCategoricalAccuracy())) for i in range(6)]
        if step_losses:
            assert result.shape == (6,) and np.allclose(result, losses, rtol=1e-5, atol=0)
        else:
            assert result.shape == () and result == pytest.approx(np.mean(losses), rel=1e-5)
    assert train_epoch.experimental_get_tracing_count() == 1  # one graph for every epoch
    for a, b in zip(fast.get_weights(), slow.get_weights(), strict=True):
        assert np.allclose(a, b, rtol=0, atol=1e-6)
    assert not np.allclose(fast.get_weights()[0], initial[0])  # it did train
