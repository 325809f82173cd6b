"""The five articles the kit rebuilds: a short, stable label for each and the facts of its example.

The articles (Chinese, untitled, in ``shared/articles/`` beside the repository) are referred to
everywhere by these labels, so that "the article" always says which one. The facts are the
kit's own summary of each example's code (network, data, loss, optimizer, hyper-parameters,
what it prints); ``tests/test_articles.py`` checks every one of them against the articles' text.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Article:
    """One article: its label, file, example and the labs that rebuild it."""

    key: str
    """``"A"`` … ``"E"``: the order of the files."""
    file: str
    """The file name in ``shared/articles/``."""
    label_en: str
    label_zh: str
    framework: str
    """``"PyTorch"`` or ``"TensorFlow 1"``."""
    layers: tuple[int, ...]
    """Layer widths, input to output."""
    loss: str
    optimizer: str
    learning_rate: float
    epochs: int | None
    batch_size: int | None = None
    momentum: float | None = None
    prints: str = ""
    """What the training loop prints, in the kit's words."""
    runs_as_written: str = "yes"
    """``"yes"``, or the reason the published code cannot run as written."""
    errors: tuple[tuple[str, str], ...] = ()
    """``(snippet, last error line)`` for each way it cannot run as written, as raised by the
    minimal snippets of ``tools/article_errors.py`` (PyTorch 2.13, TensorFlow 2.21)."""
    topics: tuple[str, ...] = ()
    """Theory the labs draw from it, as the words the article itself uses (tested)."""
    labs: tuple[str, ...] = field(default_factory=tuple)

    @property
    def title(self) -> str:
        """``"Article A — MNIST starter, 784→512→10"``."""
        return f"Article {self.key} — {self.label_en}"

    @property
    def title_zh(self) -> str:
        """``"文章 A「MNIST 入门：784→512→10」"``."""
        return f"文章 {self.key}「{self.label_zh}」"


ARTICLES: tuple[Article, ...] = (
    Article(
        key="A", file="000_b3c283cbe107c72a.txt",
        label_en="MNIST starter, 784→512→10", label_zh="MNIST 入门：784→512→10",
        framework="PyTorch", layers=(784, 512, 10), loss="cross-entropy",
        optimizer="SGD with momentum", learning_rate=0.01, momentum=0.9, epochs=10,
        batch_size=64,
        prints="the running mean of the last 100 losses, every 100 batches, as "
               "'[epoch, batch] loss: x.xxx'",
        topics=("y = f(W_2f(W_1x+b_1)+b_2)", "反向传播", "梯度下降", "分布式计算", "多台计算机"),
        labs=("01", "04", "05", "06"),
    ),
    Article(
        key="B", file="001_5e29e311cac75af1.txt",
        label_en="three-layer MLP, 784→128→64→10", label_zh="三层感知机：784→128→64→10",
        framework="PyTorch", layers=(784, 128, 64, 10), loss="cross-entropy",
        optimizer="plain SGD", learning_rate=0.01, epochs=10, batch_size=64,
        prints="the loss of every step, as '[epoch, step] loss: x.xxx'",
        runs_as_written="uses torchvision without importing it, and its forward pass does "
                        "not flatten the 28×28 images before the first linear layer",
        errors=(
            ("B-no-flatten",
             "RuntimeError: mat1 and mat2 shapes cannot be multiplied (1792x28 and 784x128)"),
            ("B-torchvision", "NameError: name 'torchvision' is not defined"),
        ),
        topics=("输入层", "隐藏层", "输出层", "y = f(Wx + b)", "从输出层向输入层传播梯度"),
        labs=("02",),
    ),
    Article(
        key="C", file="002_f26f5d31ced7eaf4.txt",
        label_en="TF1 placeholder network, 10→20→5", label_zh="TF1 占位符网络：10→20→5",
        framework="TensorFlow 1", layers=(10, 20, 5), loss="mean squared error",
        optimizer="plain gradient descent", learning_rate=0.01, epochs=None,
        prints="nothing",
        runs_as_written="feeds X_train and y_train, which it never defines, and uses "
                        "tf.placeholder/tf.Session, which TensorFlow 2 has only under "
                        "tf.compat.v1",
        errors=(
            ("C-X_train", "NameError: name 'X_train' is not defined"),
            ("C-placeholder", "AttributeError: module 'tensorflow' has no attribute 'placeholder'"),
        ),
        topics=("均方误差", "梯度下降"),
        labs=("03",),
    ),
    Article(
        key="D", file="003_02326301a5003a6b.txt",
        label_en="100 epochs, 784→500→10", label_zh="百轮训练：784→500→10",
        framework="PyTorch", layers=(784, 500, 10), loss="cross-entropy",
        optimizer="plain SGD", learning_rate=0.01, epochs=100, prints="nothing",
        runs_as_written="iterates over train_loader, which it never defines",
        errors=(("D-train_loader", "NameError: name 'train_loader' is not defined"),),
        topics=("1750亿", "高斯分布或均匀分布", "均方误差", "交叉熵", "Adam", "RMSProp",
                "过拟合", "泛化", "数百个GPU"),
        labs=("01", "02", "05"),
    ),
    Article(
        key="E", file="004_98fb397e775dd81f.txt",
        label_en="10 epochs, 784→500→10; transfer learning",
        label_zh="十轮训练：784→500→10；迁移学习",
        framework="PyTorch", layers=(784, 500, 10), loss="cross-entropy",
        optimizer="plain SGD", learning_rate=0.01, epochs=10, prints="nothing",
        runs_as_written="iterates over trainloader, which it never defines",
        errors=(("E-trainloader", "NameError: name 'trainloader' is not defined"),),
        topics=("迁移学习", "预训练模型", "差的平方和的平均值"),
        labs=("01", "02", "03", "07"),
    ),
)


def article(key: str) -> Article:
    """Return the article labelled ``key`` (``"A"`` … ``"E"``).

    Raises:
        KeyError: no article has that label.
    """
    for item in ARTICLES:
        if item.key == key:
            return item
    raise KeyError(f"no article {key!r}; the labels are {', '.join(a.key for a in ARTICLES)}")


def articles_for_lab(lab: str) -> list[Article]:
    """Return the articles a lab (``"01"`` … ``"07"``) rebuilds or draws on, in label order."""
    return [item for item in ARTICLES if lab in item.labs]
