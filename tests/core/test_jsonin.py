"""The nesting-depth check that runs before every parse of outside JSON (jsonin.py)."""

from __future__ import annotations

import json
import random

import pytest


def jsonin():
    return __import__("cfmcp_worker.jsonin", fromlist=["check_depth"])


def depth_of(value: object) -> int:
    if isinstance(value, dict):
        return 1 + max((depth_of(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((depth_of(v) for v in value), default=0)
    return 0


def random_value(rng: random.Random, budget: int) -> object:
    if budget <= 0 or rng.random() < 0.3:
        return rng.choice(['a"[b', "\\{", "]]}}", 'q\\"[[', "plain", 7, None])
    if rng.random() < 0.5:
        return [random_value(rng, budget - 1) for _ in range(rng.randint(0, 3))]
    return {f'k"[{i}\\': random_value(rng, budget - 1) for i in range(rng.randint(0, 3))}


@pytest.mark.parametrize("seed", range(40))
def test_depth_is_counted_outside_strings_only(core, seed):
    """Brackets, quotes and backslashes inside strings never count; the check agrees with the
    depth the parsed value really has."""
    rng = random.Random(seed)
    value = random_value(rng, 12)
    data = json.dumps(value).encode()
    depth = depth_of(value)
    jsonin().check_depth(data, depth)  # exactly deep enough: accepted
    if depth:
        with pytest.raises(jsonin().JsonInputError):
            jsonin().check_depth(data, depth - 1)


def test_an_unterminated_string_can_only_count_more(core):
    with pytest.raises(jsonin().JsonInputError):
        jsonin().check_depth(b'["' + b"[" * 20, 10)
