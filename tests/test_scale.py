"""Parameters → training memory, checked by hand-computed values."""

from __future__ import annotations

import pytest

from course.scale import (
    GPT3_PARAMETERS,
    devices_needed,
    human_bytes,
    training_memory,
)


def test_lab01_mlp_by_hand() -> None:
    # 407,050 float32 parameters: 1,628,200 bytes of weights, as many of gradients.
    sgd = training_memory(407_050, "sgd")
    assert (sgd.weights, sgd.gradients, sgd.optimizer_state) == (1_628_200, 1_628_200, 0)
    assert training_memory(407_050, "momentum").optimizer_state == 1_628_200
    assert training_memory(407_050, "rmsprop").optimizer_state == 1_628_200
    adam = training_memory(407_050, "adam")
    assert adam.optimizer_state == 2 * 1_628_200 and adam.total == 4 * 1_628_200
    assert training_memory(407_050, "adam", bytes_per_value=2).total == 2 * 1_628_200


def test_gpt3_with_adam_needs_2_8_terabytes_and_35_devices_of_80_gb() -> None:
    adam = training_memory(GPT3_PARAMETERS, "adam")
    assert adam.total == 2_800_000_000_000
    assert human_bytes(adam.total) == "2.8 TB"
    assert devices_needed(GPT3_PARAMETERS, 80e9) == 35
    assert devices_needed(407_050, 80e9) == 1


@pytest.mark.parametrize(("count", "text"), [(0, "0 B"), (999, "999 B"), (1_628_200, "1.6 MB"),
                                             (6_512_800, "6.5 MB"), (1.4e12, "1.4 TB")])
def test_human_bytes(count: float, text: str) -> None:
    assert human_bytes(count) == text


def test_bad_input_says_what_is_allowed() -> None:
    with pytest.raises(ValueError, match="sgd, momentum, rmsprop, adam"):
        training_memory(10, "lamb")
    with pytest.raises(ValueError, match="cannot be negative"):
        training_memory(-1)
