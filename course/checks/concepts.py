"""Concept questions: a multiple-choice letter or a number, graded like any exercise.

Each lab's questions live in :data:`QUESTIONS`. A question cell in a lab assigns the answer,
e.g. ``q_params = None  # YOUR CODE HERE``; its check cell calls
``concepts.ask("lab01-params", q_params)``, which prints one line and records a
:class:`~course.checks.CheckResult` like every other check, so ``course grade`` counts it.
Every wrong option has a hint of its own; a number that matches no known mistake gets the
question's general hint. Right answers are stored as SHA-256 digests, not in clear.
"""

from __future__ import annotations

import hashlib
import numbers
from dataclasses import dataclass, field

from course.checks import CheckResult, check, expect


@dataclass(frozen=True)
class Question:
    """One concept question.

    Attributes:
        key: ``"lab01-params"``: the lab, then a short name (also the check's name).
        text: the question as the lab asks it (for reports and translations).
        digest: ``sha256("<key>|<normalised answer>")``; see :func:`digest`.
        options: for multiple choice, ``{letter: option text}``; empty for a number.
        hints: ``{wrong answer: hint}``: a letter, or a number as :func:`normalise` writes it.
        otherwise: the hint for a wrong answer not in ``hints``.
        decimals: a number's answer is compared after rounding to this many decimals.
        points: what the question is worth.
    """

    key: str
    text: str
    digest: str
    options: dict[str, str] = field(default_factory=dict)
    hints: dict[str, str] = field(default_factory=dict)
    otherwise: str = "not quite: re-read the section above the question"
    decimals: int = 0
    points: float = 1.0


def normalise(question: Question, answer: object) -> str:
    """The form an answer is compared in: a lower-case letter, or a rounded number."""
    if question.options:
        return str(answer).strip().lower().rstrip(").")
    value = round(float(answer), question.decimals)  # type: ignore[arg-type]
    return f"{value:.{question.decimals}f}"


def digest(key: str, normalised: str) -> str:
    """SHA-256 of ``"<key>|<normalised answer>"``: how a right answer is stored."""
    return hashlib.sha256(f"{key}|{normalised}".encode()).hexdigest()


def _expect_form(question: Question, answer: object) -> None:
    expect(answer is not None, "replace None with your answer")
    if question.options:
        letters = ", ".join(f'"{letter}"' for letter in question.options)
        expect(isinstance(answer, str) and normalise(question, answer) in question.options,
               f"answer with one letter: {letters}")
    else:
        expect(isinstance(answer, numbers.Real) and not isinstance(answer, bool),
               f"answer with a number (got {type(answer).__name__}), e.g. 12 or 0.5")


def ask(key: str, answer: object) -> CheckResult:
    """Grade the answer to question ``key``: prints one line, returns the result."""
    question = QUESTIONS[key]

    def body() -> None:
        _expect_form(question, answer)
        given = normalise(question, answer)
        expect(digest(key, given) == question.digest,
               question.hints.get(given, question.otherwise))

    return check(question.points, name=f"question {key.split('-', 1)[1]}")(body)()


def questions_for(lab: str) -> list[Question]:
    """The questions of lab ``"01"`` … in the order the lab asks them."""
    return [q for key, q in QUESTIONS.items() if key.startswith(f"lab{lab}-")]


_BANK: tuple[Question, ...] = (
    Question(
        key='lab01-params',
        text='How many trainable parameters does the 784→512→10 model have?',
        digest='ceb3708fa79f31c59374ba86af57d7d469a4dafade6f1f7f68c37e54f2a320e4',
        hints={
            '406528': 'that count has no biases: each Dense layer adds one bias per unit',
            '401408': ("that is the first layer's weights only: add its 512 biases and the second "
                       'layer (512×10 weights + 10 biases)'),
            '407040': 'the output layer has 10 biases too',
        },
        otherwise=('count weights (inputs × units) and biases (units) for each Dense layer, then '
                   'add; model.count_params() confirms it'),
    ),
    Question(
        key='lab01-logits',
        text='The output layer has no activation. What does model(x) return for one image?',
        digest='cbff0f9c44b7d5de543ae03f2c31db5ee2116228f1e1fa35e03f9283821dc5db',
        options={
            'a': 'ten probabilities that sum to 1',
            'b': 'ten logits: any real numbers',
            'c': 'the predicted class index',
            'd': 'a one-hot vector',
        },
        hints={
            'a': ('probabilities need a softmax, and the model has none: that is why the loss is '
                  'built with from_logits=True'),
            'c': ('the class index is argmax of the output, computed after the model (as '
                  'predict_digits does)'),
            'd': 'a one-hot vector is how a label can be written, not what a Dense layer outputs',
        },
        otherwise="look at the last layer's activation",
    ),
    Question(
        key='lab01-lines_per_epoch',
        text=('A training set of 8,000 digits in batches of 64, and a callback that prints every '
              '100 batches. How many loss lines does one epoch print?'),
        digest='a7bf5b54ea7de49ffa4daba176b2e61c1a357efee33de304065226cf074de337',
        hints={
            '1.25': ('a line is printed only when a whole 100 batches have passed: there are 125 '
                     'batches, so only batch 100 prints'),
            '2.00': '125 batches reach 100 once; the count restarts each epoch',
            '125.00': 'that is the number of batches, not of printed lines',
        },
        otherwise='8,000 / 64 = 125 batches per epoch; which batch numbers are multiples of 100?',
        decimals=2,
    ),
    Question(
        key='lab01-shuffle_order',
        text='Why does make_dataset shuffle before batching rather than after?',
        digest='e12fe291a70db8f4459f22ecc420d3934eec4d6b54a940f702ad6c4c1797ae8d',
        options={
            'a': 'there is no difference',
            'b': 'shuffling after batching keeps the same 64 digits together in every epoch',
            'c': 'it is faster',
            'd': 'batching first would make the batches smaller',
        },
        hints={
            'a': 'there is a difference: after batching, only the order of whole batches changes',
            'c': 'speed is not the reason: shuffling whole batches costs less, yet it is wrong',
            'd': 'batch size is the same either way',
        },
        otherwise='think about which examples end up in the same batch',
    ),
    Question(
        key='lab02-params',
        text='How many parameters does the 784→128→64→10 network have?',
        digest='93e6e615bbfb76c5a9d6cf1989fcf68d8f1b7fe4f6dc903026911dd865fe606d',
        hints={
            '109184': 'that count has no biases: add 128 + 64 + 10',
            '100480': 'that is the first layer only',
            '407050': "that is Lab 01's 784→512→10 network",
        },
        otherwise='for each Dense layer: inputs × units + units; add the three layers',
    ),
    Question(
        key='lab02-overfit_curve',
        text='Which pair of curves shows overfitting?',
        digest='384cc8eb2a3c574cac93a0e7b1f33f3fbeab14321942f7eaef264e45ae620ed5',
        options={
            'a': 'training loss rising',
            'b': 'validation loss below training loss',
            'c': 'training loss still falling while validation loss rises',
            'd': 'both losses falling',
        },
        hints={
            'a': ('a rising training loss is a training problem (learning rate too large), not '
                  'overfitting'),
            'b': ('validation below training happens with dropout or early in training; it is not '
                  'overfitting'),
            'd': 'both falling means the model is still learning things that generalise',
        },
        otherwise='overfitting is the gap between the two curves growing',
    ),
    Question(
        key='lab02-restored_epoch',
        text=('EarlyStopping(patience=3, restore_best_weights=True) stops after epoch 12. From '
              'which epoch are the weights it keeps?'),
        digest='b112bcaa07c8029540471a1924f7a0f038d1c26e4cf6fd7d8b63a51ba14dfc7d',
        hints={
            '12': '12 is when it stopped; restore_best_weights goes back to the best epoch',
            '3': '3 is the patience, not an epoch',
            '15': 'it never trains past the epoch where it stops',
        },
        otherwise='it stops `patience` epochs after the best one',
    ),
    Question(
        key='lab02-adam_slots',
        text=('Besides each weight and its gradient, how many float32 values per parameter does '
              'Adam keep between steps?'),
        digest='6fb00d498587569424c9c4c52aea82c7b4abcbde820496f88ea8a933b7dc13ce',
        hints={
            '1': 'one slot is SGD with momentum (the velocity); Adam keeps two moments',
            '0': 'none is plain SGD',
            '3': 'Adam keeps m and v; the step counter is one number for the whole model',
        },
        otherwise='Adam keeps a running mean of the gradient and of its square',
    ),
    Question(
        key='lab03-unused_gradient',
        text='What does tape.gradient(loss, v) return for a variable v the loss does not use?',
        digest='d96833782c7a5ee2c823e5d25de62b0b1c6237c6e224809dec422ed9d79039ac',
        options={
            'a': 'a tensor of zeros',
            'b': 'it raises an error',
            'c': 'NaN',
            'd': 'None',
        },
        hints={
            'a': ('zeros would be convenient, but TensorFlow returns None '
                  "(unconnected_gradients='zero' asks for zeros)"),
            'b': ('it does not raise: it returns None for that variable, which apply_gradients '
                  'then rejects'),
            'c': 'NaN comes from bad arithmetic, not from a missing path',
        },
        otherwise='try it: tape.gradient on a variable that is not in the computation',
    ),
    Question(
        key='lab03-mse_grad',
        text=('For L = mean((ŷ − y)²) over a batch of N rows and 5 outputs (tf.reduce_mean over '
              'every element), ∂L/∂ŷ is:'),
        digest='a0f254570a585390265395e0783d1c5dd17a3be7c15c469d8470364487f2a883',
        options={
            'a': '2(ŷ − y) / (5N)',
            'b': '2(ŷ − y)',
            'c': '(ŷ − y) / N',
            'd': '2(ŷ − y) / N',
        },
        hints={
            'b': 'the mean divides by the number of elements: 5N of them',
            'c': 'the derivative of a square brings a factor 2, and the mean is over 5N elements',
            'd': 'tf.reduce_mean averages over all 5N elements, not over N rows',
        },
        otherwise='differentiate the square, then the mean',
    ),
    Question(
        key='lab03-params',
        text='How many parameters does the 10→20→5 network have?',
        digest='46c165796c2bd696308ba2d8f475d44a917016c042af9aaaf6068cf09ca61afc',
        hints={
            '300': 'that count has no biases: b1 has 20 values and b2 has 5',
            '320': 'b2 has 5 values too',
            '305': 'b1 has 20 values',
        },
        otherwise='W1 is 10×20, b1 20, W2 20×5, b2 5',
    ),
    Question(
        key='lab03-one_step',
        text=('One weight is 0.5 and ∂L/∂W for it is 3.0. With α = 0.01, what is the weight after '
              'W ← W − α·∂L/∂W? (2 decimals)'),
        digest='1d1604428c9ffaf0b8d06cb436aff70c9be342a94996ad5e266d284a6e64528b',
        hints={
            '0.53': 'the update subtracts the gradient: it moves downhill',
            '-2.50': 'the gradient is multiplied by α = 0.01 first',
        },
        otherwise='0.5 − 0.01 × 3.0',
        decimals=2,
    ),
    Question(
        key='lab04-steps_per_epoch',
        text='How many optimizer steps make one epoch of 8,000 examples in batches of 64?',
        digest='bca76e0db3e2da8633ad958826a25ac1650203e0314870c588f9a6a45da3930e',
        hints={
            '124': '8,000 / 64 is exactly 125: no partial batch is dropped',
            '126': '8,000 / 64 is exactly 125: there is no partial batch',
            '64': '64 is the batch size',
        },
        otherwise='one step per batch',
    ),
    Question(
        key='lab04-training_false',
        text='Why does test_step call the model with training=False?',
        digest='e8dace4b05766e96105fa198e1a4037c0053e2a8e292542eeec38d0a25feb584',
        options={
            'a': 'it does nothing in Keras 3',
            'b': 'layers such as dropout and batch normalisation then behave as at inference',
            'c': 'it makes the call faster',
            'd': 'it stops the tape from recording gradients',
        },
        hints={
            'a': 'it matters for every layer that behaves differently while training',
            'c': 'speed is a side effect at most',
            'd': 'training=False does not touch the tape: test_step simply does not open one',
        },
        otherwise='which layers behave differently while training?',
    ),
    Question(
        key='lab04-zero_grad',
        text=("PyTorch's loop calls optimizer.zero_grad() every step. What is its counterpart in a"
              ' GradientTape loop?'),
        digest='3649763c6cc877373d2473eb62eee2b473de0ded101801a397e02fcfd7a3ef91',
        options={
            'a': 'nothing: a new tape computes fresh gradients every step',
            'b': 'model.reset_states()',
            'c': 'optimizer.reset()',
            'd': 'tape.reset() at the end of the step',
        },
        hints={
            'b': 'reset_states is for metrics and stateful layers, not gradients',
            'c': 'Keras optimizers have no such call, and they never accumulate gradients',
            'd': ('tape.reset() exists, but a new `with tf.GradientTape()` each step already '
                  'starts clean'),
        },
        otherwise='where do the gradients come from in a tape loop?',
    ),
    Question(
        key='lab05-global_batch',
        text='2 replicas each take 32 examples per step. What is the global batch?',
        digest='dbf77eb1c3f981bc9913bf11ad6a0c802867e05042438ab708d68484943f23b9',
        hints={
            '32': '32 is the per-replica batch; the global batch is the sum over replicas',
            '16': 'that divides instead of multiplying',
        },
        otherwise='global batch = per-replica batch × replicas',
    ),
    Question(
        key='lab05-per_replica',
        text=('A global batch of 64 on 4 replicas: how many examples does each replica see per '
              'step?'),
        digest='a38dfe44d4611f9bd8f7ba4f881375530de9e2af1a3b2df812143fdb0637f12e',
        hints={
            '64': 'each replica gets a slice of the global batch, not all of it',
            '256': 'that multiplies: the global batch is split, not repeated',
        },
        otherwise='per-replica batch = global batch / replicas',
    ),
    Question(
        key='lab05-bug_factor',
        text=("Averaging the loss over each replica's own examples (instead of over the global "
              'batch) makes each step how many times too large with 2 replicas?'),
        digest='f6863c817a27e049d5206de65f6605b7445bf125b7a215d6608c671a95ec9f88',
        hints={
            '1': ('the gradients of the replicas are summed, so the step grows with the number of '
                  'replicas'),
            '0': 'it is too large, not too small',
        },
        otherwise="the replicas' gradients are summed by the all-reduce",
    ),
    Question(
        key='lab05-what_is_copied',
        text='Data parallelism keeps what on every device?',
        digest='c792b369f77a8c5df8ee0ae237ec9d270fd98d4dc0fb954109b427ee30d6f9b4',
        options={
            'a': 'a slice of the layers',
            'b': 'only the gradients',
            'c': 'only the data',
            'd': "a full copy of the model's weights (and optimizer state)",
        },
        hints={
            'a': 'splitting the layers is model (pipeline/tensor) parallelism',
            'b': 'each replica computes gradients with its own full copy of the weights',
            'c': 'the data is what gets split; the model is what gets copied',
        },
        otherwise='what does each replica need to run a forward pass?',
    ),
    Question(
        key='lab06-task_index',
        text="Two workers in TF_CONFIG: what is the second worker's task index?",
        digest='339358d1802da5dae5784a58a676de5301792cc410e709ed80e1467a64e27091',
        hints={
            '2': 'task indices count from 0',
            '0': '0 is the first worker, the chief',
        },
        otherwise="indices follow the order of the 'worker' list, from 0",
    ),
    Question(
        key='lab06-own_folder',
        text='Why does each worker write its checkpoints into its own folder?',
        digest='2668cfdad1f61d0203e18bcf7b38cbd0c596c4ea106b0bd3318db3186b9bf986',
        options={
            'a': 'two workers writing the same files would race',
            'b': 'it is faster',
            'c': 'TensorFlow refuses a shared folder',
            'd': 'each worker has different weights',
        },
        hints={
            'b': 'speed is not the reason',
            'c': 'TensorFlow accepts a shared folder — and the writes then race',
            'd': 'the workers hold the same weights: that is what the all-reduce ensures',
        },
        otherwise='what happens when two processes write the same file at once?',
    ),
    Question(
        key='lab06-resume_step',
        text=('Worker 0 saved checkpoints at steps 10, 20, 30; worker 1, killed, at 10 and 20. '
              'From which step do both resume?'),
        digest='f1c6748175771ac71e23dfb06521c47c3f19b8914c129cce104d048906112630',
        hints={
            '30': 'worker 1 has no step 30: both must resume from a step both have',
            '10': '10 is common but not the newest common step',
        },
        otherwise='the newest step present in both folders',
    ),
    Question(
        key='lab06-per_worker',
        text='2 workers, a global batch of 64: how many examples does each worker read per step?',
        digest='877543fb3de329b1b8df9132d18e0fb6fb04a4e69179885327dd27ba5b3a78c5',
        hints={
            '64': 'each worker reads its slice of the global batch',
            '128': 'the global batch is split, not repeated',
        },
        otherwise='per-worker batch = global batch / workers',
    ),
)
QUESTIONS: dict[str, Question] = {question.key: question for question in _BANK}
