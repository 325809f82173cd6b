"""Lab 03's wrong answers: what learners write for each exercise, and what the hint must say.

Most are source text, run after the solution's earlier cells as in the notebook, so they can
call the learner's own ``forward`` and ``mse`` like the learner does.
"""

from __future__ import annotations

from wrong_answers import Lab, WrongAnswer

LAB = Lab(
    notebook="03_placeholders_to_gradienttape.ipynb",
    checks="course.checks.lab03",
    exercises={name: name for name in ("forward", "mse", "train_step", "manual_gradients",
                                       "ce_logit_grad", "input_gradient",
                                       "build_keras_model")},
    points=14,
)

NOT_DONE = "def {name}(*args, **kwargs):\n    raise NotImplementedError()\n"


def _forward(body: str) -> str:
    return f"def forward(x, params):\n    W1, b1, W2, b2 = params\n{body}"


def _mse(body: str) -> str:
    return f"def mse(y_pred, y_true):\n{body}"


def _step(tape: str, update: str, returns: str = "    return loss\n") -> str:
    """A train_step: the tape block, the update lines, the return line."""
    return ("def train_step(params, x, y, learning_rate=0.01):\n"
            "    with tf.GradientTape() as tape:\n" + tape + update + returns)


TAPE = "        loss = mse(forward(x, params), y)\n"
GRADS = "    grads = tape.gradient(loss, params)\n"
UPDATE = GRADS + "    for p, g in zip(params, grads):\n        p.assign_sub(learning_rate * g)\n"


def _grads(scale: str = "1.0", mask: str = "(z1 > 0)", bias: str = "d.sum(axis=0)",
           dw2: str = "h.T @ delta2", order: str = "dW1, db1, dW2, db2") -> str:
    """manual_gradients with one part changed."""
    return f"""
def manual_gradients(x, y, W1, b1, W2, b2):
    z1 = x @ W1 + b1
    h = np.maximum(0, z1)
    y_pred = h @ W2 + b2
    delta2 = {scale} * 2 * (y_pred - y) / y.size
    delta1 = delta2 @ W2.T * {mask}
    reduce = lambda d: {bias}
    dW1, db1, dW2, db2 = x.T @ delta1, reduce(delta1), {dw2}, reduce(delta2)
    return {order}
"""


def _ce(body: str) -> str:
    """ce_logit_grad with p = softmax(z) over the classes and the one-hot labels given."""
    return ("def ce_logit_grad(z, y):\n"
            "    z = np.asarray(z, dtype='float64')\n"
            "    e = np.exp(z - z.max(axis=1, keepdims=True))\n"
            "    p = e / e.sum(axis=1, keepdims=True)\n"
            "    onehot = np.eye(z.shape[1])[y]\n"
            "    n = len(z)\n" + body)


def _input(body: str) -> str:
    return f"def input_gradient(x, y, params):\n{body}"


def _keras(options: str = "", layers: str = "keras.layers.Dense(20, activation='relu'), "
           "keras.layers.Dense(5)", weights: str = "    model.set_weights(params)\n",
           compile_line: str = "    model.compile(optimizer=keras.optimizers.SGD({lr}{opt}), "
           "loss={loss})\n", lr: str = "learning_rate", loss: str = "'mse'") -> str:
    compile_line = compile_line.format(lr=lr, opt=options, loss=loss)
    return (f"def build_keras_model(params, learning_rate=0.01):\n"
            f"    model = keras.Sequential([keras.Input((10,)), {layers}])\n"
            f"{weights}{compile_line}    return model\n")


WRONG = [
    # forward (1 point)
    WrongAnswer("forward", "no-relu", _forward(
        "    return tf.matmul(tf.matmul(x, W1) + b1, W2) + b2\n"), ("no ReLU",)),
    WrongAnswer("forward", "relu-on-output", _forward(
        "    return tf.nn.relu(tf.matmul(tf.nn.relu(tf.matmul(x, W1) + b1), W2) + b2)\n"),
        ("linear",)),
    WrongAnswer("forward", "numpy-values", _forward(
        "    h = np.maximum(0, x.numpy() @ W1.numpy() + b1.numpy())\n"
        "    return h @ W2.numpy() + b2.numpy()\n"), ("TensorFlow tensor",)),
    WrongAnswer("forward", "no-output-bias", _forward(
        "    return tf.matmul(tf.nn.relu(tf.matmul(x, W1) + b1), W2)\n"), ("both biases",)),
    WrongAnswer("forward", "returns-hidden", _forward(
        "    h = tf.nn.relu(tf.matmul(x, W1) + b1)\n    return h\n"), ("shape (64, 20)",)),
    WrongAnswer("forward", "forgot-return", _forward(
        "    y_pred = tf.matmul(tf.nn.relu(tf.matmul(x, W1) + b1), W2) + b2\n"),
        ("your forward returns None", "`return`")),
    WrongAnswer("forward", "sigmoid-hidden", _forward(
        "    return tf.matmul(tf.nn.sigmoid(tf.matmul(x, W1) + b1), W2) + b2\n"),
        ("tf.nn.relu",)),
    WrongAnswer("forward", "params-unpacked-in-another-order",
                "def forward(x, params):\n    W1, W2, b1, b2 = params\n"
                "    return tf.matmul(tf.nn.relu(tf.matmul(x, W1) + b1), W2) + b2\n",
                ("your code raised", "of your code)")),
    WrongAnswer("forward", "not-done", NOT_DONE.format(name="forward"), ("not done yet",)),
    # mse (1 point)
    WrongAnswer("mse", "summed", _mse("    return tf.reduce_sum(tf.square(y_pred - y_true))\n"),
                ("summed",)),
    WrongAnswer("mse", "per-output", _mse(
        "    return tf.reduce_mean(tf.square(y_pred - y_true), axis=0)\n"), ("shape (5,)",)),
    WrongAnswer("mse", "rmse", _mse(
        "    return tf.sqrt(tf.reduce_mean(tf.square(y_pred - y_true)))\n"), ("root",)),
    WrongAnswer("mse", "mae", _mse("    return tf.reduce_mean(tf.abs(y_pred - y_true))\n"),
                ("absolute",)),
    WrongAnswer("mse", "numpy", _mse(
        "    return np.mean((np.asarray(y_pred) - np.asarray(y_true)) ** 2)\n"),
        ("not NumPy",)),
    WrongAnswer("mse", "forgot-return", _mse(
        "    loss = tf.reduce_mean(tf.square(y_pred - y_true))\n"), ("your mse returns None",)),
    WrongAnswer("mse", "half-mse", _mse(
        "    return 0.5 * tf.reduce_mean(tf.square(y_pred - y_true))\n"), ("1/2×", "½")),
    WrongAnswer("mse", "square-of-the-mean", _mse(
        "    return tf.square(tf.reduce_mean(y_pred - y_true))\n"), ("the mean of the squares",)),
    WrongAnswer("mse", "not-done", NOT_DONE.format(name="mse"), ("not done yet",)),
    # train_step (3 points; 1 after the first update, 1 more after 50 eager steps)
    WrongAnswer("train_step", "loss-outside-tape", _step(
        "        y_pred = forward(x, params)\n", "    loss = mse(y_pred, y)\n" + UPDATE),
        ("inside the `with tf.GradientTape() as tape:` block",)),
    WrongAnswer("train_step", "rebinds-names", _step(TAPE, GRADS + (
        "    for p, g in zip(params, grads):\n        p = p - learning_rate * g\n")),
        ("assign_sub",)),
    WrongAnswer("train_step", "replaces-list-entries", _step(TAPE, GRADS + (
        "    for i, g in enumerate(grads):\n        params[i] = params[i] - learning_rate * g\n")),
        ("replaced by a tensor",)),
    WrongAnswer("train_step", "ascends", _step(TAPE, GRADS + (
        "    for p, g in zip(params, grads):\n        p.assign_add(learning_rate * g)\n")),
        ("not assign_add", "wrong sign")),
    WrongAnswer("train_step", "no-learning-rate", _step(TAPE, GRADS + (
        "    for p, g in zip(params, grads):\n        p.assign_sub(g)\n")),
        ("ignores the learning rate", "100×")),
    WrongAnswer("train_step", "summed-loss", _step(
        "        loss = tf.reduce_sum(tf.square(forward(x, params) - y))\n", UPDATE,
        "    return loss / tf.cast(tf.size(y), tf.float32)\n"),
        ("summed instead of averaged", "320×")),
    WrongAnswer("train_step", "calls-numpy", _step(TAPE, UPDATE, "    return loss.numpy()\n"),
                (".numpy()",), 2),
    WrongAnswer("train_step", "weights-only", _step(TAPE, GRADS + (
        "    params[0].assign_sub(learning_rate * grads[0])\n"
        "    params[2].assign_sub(learning_rate * grads[2])\n")), ("only 2 of the 4",)),
    WrongAnswer("train_step", "loss-after-update", _step(
        TAPE, UPDATE, "    return mse(forward(x, params), y)\n"), ("after the update",)),
    WrongAnswer("train_step", "swapped-zip", _step(TAPE, GRADS + (
        "    for g, p in zip(params, grads):\n        p.assign_sub(learning_rate * g)\n")),
        ("pairs are swapped", "zip(params, grads)")),
    WrongAnswer("train_step", "forgot-return", _step(TAPE, UPDATE, ""),
                ("your train_step returns None",)),
    # manual_gradients (3 points; 1 once dW2 and db2 are right)
    WrongAnswer("manual_gradients", "no-relu-mask", _grads(mask="1"), ("ReLU's derivative",),
                1),
    WrongAnswer("manual_gradients", "no-factor-2", _grads(scale="0.5"), ("1/2×", "factor 2")),
    WrongAnswer("manual_gradients", "divided-by-n", _grads(scale="5.0"),
                ("5×", "not /64")),
    WrongAnswer("manual_gradients", "not-divided", _grads(scale="320.0"),
                ("320×", "divide δ₂ by n·5")),
    WrongAnswer("manual_gradients", "wrong-sign", _grads(scale="-1.0"), ("wrong sign",)),
    WrongAnswer("manual_gradients", "constant-factor-3", _grads(scale="3.0"), ("3×",)),
    WrongAnswer("manual_gradients", "bias-mean", _grads(bias="d.mean(axis=0)"),
                ("sums δ over the batch", "1/64×")),
    WrongAnswer("manual_gradients", "bias-not-reduced", _grads(bias="d"), ("shape (64, 20)",)),
    WrongAnswer("manual_gradients", "dw2-transposed", _grads(dw2="delta2.T @ h"),
                ("dW2 has shape (5, 20)",)),
    WrongAnswer("manual_gradients", "wrong-order", _grads(order="dW2, db2, dW1, db1"),
                ("dW1 has shape (20, 5)",)),
    WrongAnswer("manual_gradients", "two-gradients", _grads(order="dW1, db1"),
                ("four gradients",)),
    WrongAnswer("manual_gradients", "untouched-lab",
                "def manual_gradients(x, y, W1, b1, W2, b2):\n"
                "    dW1 = db1 = dW2 = db2 = None\n    return dW1, db1, dW2, db2\n",
                ("# YOUR CODE HERE",)),
    WrongAnswer("manual_gradients", "dw2-from-z1", _grads(dw2="z1.T @ delta2"),
                ("dW2 = hᵀ δ₂", "h = relu(x W1 + b1)")),
    # ce_logit_grad (2 points)
    WrongAnswer("ce_logit_grad", "forgot-mean", _ce("    return p - onehot\n"),
                ("8×", "divide by N = 8")),
    WrongAnswer("ce_logit_grad", "sign-flipped", _ce("    return (onehot - p) / n\n"),
                ("wrong sign", "softmax(z) − onehot(y)")),
    WrongAnswer("ce_logit_grad", "softmax-only", _ce("    return p / n\n"),
                ("softmax(z) alone", "subtract the one-hot")),
    WrongAnswer("ce_logit_grad", "onehot-only", _ce("    return onehot / n\n"),
                ("one-hot labels alone",)),
    WrongAnswer("ce_logit_grad", "minus-onehot", _ce("    return -onehot / n\n"),
                ("−onehot(y)",)),
    WrongAnswer("ce_logit_grad", "not-normalised", _ce("    return (np.exp(z) - onehot) / n\n"),
                ("not normalised", "row sum")),
    WrongAnswer("ce_logit_grad", "wrong-axis",
                "def ce_logit_grad(z, y):\n    e = np.exp(z - z.max(axis=0, keepdims=True))\n"
                "    p = e / e.sum(axis=0, keepdims=True)\n"
                "    return (p - np.eye(z.shape[1])[y]) / len(z)\n", ("wrong axis", "axis=1")),
    WrongAnswer("ce_logit_grad", "log-softmax", _ce("    return (np.log(p) - onehot) / n\n"),
                ("log-softmax",)),
    WrongAnswer("ce_logit_grad", "divided-by-n-times-k",
                _ce("    return (p - onehot) / z.size\n"), ("1/10×", "not by N·K")),
    WrongAnswer("ce_logit_grad", "transposed", _ce("    return ((p - onehot) / n).T\n"),
                ("transposed",)),
    WrongAnswer("ce_logit_grad", "forgot-return", _ce("    grad = (p - onehot) / n\n"),
                ("your ce_logit_grad returns None",)),
    WrongAnswer("ce_logit_grad", "not-done", NOT_DONE.format(name="ce_logit_grad"),
                ("not done yet",)),
    # input_gradient (2 points; 1 once the shape is right)
    WrongAnswer("input_gradient", "no-watch", _input(
        "    with tf.GradientTape() as tape:\n        loss = mse(forward(x, params), y)\n"
        "    return tape.gradient(loss, x)\n"), ("tape.watch(x)",)),
    WrongAnswer("input_gradient", "loss-outside-tape", _input(
        "    with tf.GradientTape() as tape:\n        tape.watch(x)\n"
        "        y_pred = forward(x, params)\n    return tape.gradient(mse(y_pred, y), x)\n"),
        ("compute the loss inside the block",)),
    WrongAnswer("input_gradient", "parameters-instead", _input(
        "    with tf.GradientTape() as tape:\n        loss = mse(forward(x, params), y)\n"
        "    return tape.gradient(loss, params)\n"), ("not the parameters",)),
    WrongAnswer("input_gradient", "summed-loss", _input(
        "    with tf.GradientTape() as tape:\n        tape.watch(x)\n"
        "        loss = tf.reduce_sum(tf.square(forward(x, params) - y))\n"
        "    return tape.gradient(loss, x)\n"), ("320×", "n·5 = 320"), 1),
    WrongAnswer("input_gradient", "of-the-output", _input(
        "    with tf.GradientTape() as tape:\n        tape.watch(x)\n"
        "        out = tf.reduce_mean(forward(x, params))\n    return tape.gradient(out, x)\n"),
        ("differs from the reference", "mse(forward(x, params), y)"), 1),
    WrongAnswer("input_gradient", "as-a-list", _input(
        "    with tf.GradientTape() as tape:\n        tape.watch(x)\n"
        "        loss = mse(forward(x, params), y)\n    return tape.gradient(loss, [x])\n"),
        ("return one tensor",)),
    WrongAnswer("input_gradient", "half-loss", _input(
        "    with tf.GradientTape() as tape:\n        tape.watch(x)\n"
        "        loss = 0.5 * mse(forward(x, params), y)\n    return tape.gradient(loss, x)\n"),
        ("1/2×",), 1),
    WrongAnswer("input_gradient", "of-the-targets", _input(
        "    y = tf.constant(y)\n    with tf.GradientTape() as tape:\n        tape.watch(y)\n"
        "        loss = mse(forward(x, params), y)\n    return tape.gradient(loss, y)\n"),
        ("shape (64, 5)", "the shape of x")),
    WrongAnswer("input_gradient", "not-done", NOT_DONE.format(name="input_gradient"),
                ("not done yet",)),
    # build_keras_model (2 points; 1 once the layers are right)
    WrongAnswer("build_keras_model", "no-activation", _keras(
        layers="keras.layers.Dense(20), keras.layers.Dense(5)"), ("activations",)),
    WrongAnswer("build_keras_model", "weights-not-set", _keras(weights=""),
                ("set_weights",), 1),
    WrongAnswer("build_keras_model", "adam", _keras(
        compile_line="    model.compile(optimizer=keras.optimizers.Adam(learning_rate), "
        "loss='mse')\n"), ("the optimizer is Adam", "SGD"), 1),
    WrongAnswer("build_keras_model", "momentum", _keras(options=", momentum=0.9"),
                ("momentum=0.9",), 1),
    WrongAnswer("build_keras_model", "nesterov", _keras(options=", nesterov=True"),
                ("nesterov=True",), 1),
    WrongAnswer("build_keras_model", "mae", _keras(loss="'mae'"), ("mean absolute error",), 1),
    WrongAnswer("build_keras_model", "cross-entropy", _keras(
        loss="keras.losses.CategoricalCrossentropy(from_logits=True)"),
        ("not the mean squared error",), 1),
    WrongAnswer("build_keras_model", "fixed-learning-rate", _keras(lr="0.01"),
                ("learning_rate argument",), 1),
    WrongAnswer("build_keras_model", "not-compiled", _keras(compile_line=""),
                ("compile the model",), 1),
    WrongAnswer("build_keras_model", "one-layer", _keras(layers="keras.layers.Dense(5)",
                                                          weights=""), ("[5] units",)),
    WrongAnswer("build_keras_model", "forgot-return",
                _keras().replace("    return model\n", ""),
                ("your build_keras_model returns None",)),
]
