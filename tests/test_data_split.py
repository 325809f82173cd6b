"""``course.data.train_val_split``: a stratified, seeded, shuffled validation split."""

from __future__ import annotations

import numpy as np
import pytest

from course import data


def sorted_digits(per_class=(50, 41, 60, 33, 47, 52, 38, 45, 55, 40)):
    """Images whose pixel 0 is their own index, labels sorted 0, 0, …, 9 like the npm sample."""
    labels = np.repeat(np.arange(10), per_class).astype("uint8")
    images = np.zeros((len(labels), 28, 28), dtype=np.int32)
    images[:, 0, 0] = np.arange(len(labels))
    return images, labels


def test_sizes_are_exact_and_every_digit_gives_its_share():
    images, labels = sorted_digits()
    (x_tr, y_tr), (x_val, y_val) = data.train_val_split(images, labels, 0.2, seed=0)
    assert len(x_val) == len(y_val) == round(0.2 * len(labels))
    assert len(x_tr) + len(x_val) == len(labels)
    share = np.bincount(y_val, minlength=10) / np.bincount(labels)
    assert np.all(np.abs(share - 0.2) < 1 / np.bincount(labels).min() + 1e-9)


def test_parts_are_disjoint_complete_and_images_keep_their_labels():
    images, labels = sorted_digits()
    (x_tr, y_tr), (x_val, y_val) = data.train_val_split(images, labels, 0.3, seed=1)
    index_tr, index_val = x_tr[:, 0, 0], x_val[:, 0, 0]
    assert not set(index_tr) & set(index_val)
    assert sorted([*index_tr, *index_val]) == list(range(len(labels)))
    assert np.array_equal(y_tr, labels[index_tr]) and np.array_equal(y_val, labels[index_val])


def test_parts_are_shuffled_not_sorted_by_label():
    images, labels = sorted_digits()
    (_, y_tr), (_, y_val) = data.train_val_split(images, labels, 0.2, seed=0)
    assert not np.all(np.diff(y_tr.astype(int)) >= 0)
    assert not np.all(np.diff(y_val.astype(int)) >= 0)
    assert len(set(y_val[-20:].tolist())) > 3  # unlike validation_split=0.2 on sorted data


def test_same_seed_same_split_other_seed_other_split():
    images, labels = sorted_digits()
    first = data.train_val_split(images, labels, 0.2, seed=5)
    again = data.train_val_split(images, labels, 0.2, seed=5)
    other = data.train_val_split(images, labels, 0.2, seed=6)
    assert np.array_equal(first[1][0], again[1][0]) and np.array_equal(first[0][0], again[0][0])
    assert set(first[1][0][:, 0, 0]) != set(other[1][0][:, 0, 0])


def test_inputs_are_not_modified():
    images, labels = sorted_digits()
    before = images.copy(), labels.copy()
    data.train_val_split(images, labels, 0.25, seed=0)
    assert np.array_equal(images, before[0]) and np.array_equal(labels, before[1])


def test_bundled_sample_splits_into_6400_and_1600():
    (x_train, y_train), _ = data.load_mnist()
    (x_tr, y_tr), (x_val, y_val) = data.train_val_split(x_train, y_train, 0.2, seed=0)
    assert x_tr.shape == (6400, 28, 28) and x_val.shape == (1600, 28, 28)
    assert x_tr.dtype == np.uint8 and y_val.dtype == y_train.dtype
    assert np.all(np.abs(np.bincount(y_val) - 0.2 * np.bincount(y_train)) <= 1)


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1, 1.5])
def test_fraction_outside_zero_one_is_refused(fraction):
    images, labels = sorted_digits()
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        data.train_val_split(images, labels, fraction)


def test_length_mismatch_is_refused():
    images, labels = sorted_digits()
    with pytest.raises(ValueError, match="labels"):
        data.train_val_split(images, labels[:-1], 0.2)
