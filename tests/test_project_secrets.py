"""PIN generation and the rules a chosen PIN must meet."""

from __future__ import annotations

import pytest

from cfmcp.errors import UsageError
from cfmcp.project.secrets import PIN_ALPHABET, check_pin, generate_pin


def test_generated_pins_are_long_random_and_typeable():
    pins = {generate_pin() for _ in range(200)}
    assert len(pins) == 200
    for pin in pins:
        assert len(pin) == 14 and pin.count("-") == 2
        assert set(pin.replace("-", "")) <= set(PIN_ALPHABET)
        assert check_pin(pin) == pin


@pytest.mark.parametrize("pin", ["1234", "1234567", "a b c d e f g", "tab\there12", "x" * 129])
def test_weak_or_odd_pins_are_refused(pin):
    with pytest.raises(UsageError):
        check_pin(pin)


def test_deploy_refuses_a_short_pin_from_the_environment():
    from cfmcp.project.secrets import gather_secrets

    with pytest.raises(UsageError, match="CFMCP_PIN"):
        gather_secrets(("AUTH_PIN",), {"CFMCP_PIN": "1234"}, interactive=False)


def test_dashes_do_not_count_toward_the_length():
    """The Worker compares PINs without dashes, so `1234-567` has 7 symbols: too short."""
    import pytest

    from cfmcp.errors import UsageError
    from cfmcp.project.secrets import check_pin

    with pytest.raises(UsageError):
        check_pin("1234-567")
    assert check_pin("1234-5678") == "1234-5678"


def test_spaces_may_group_a_pin_and_do_not_count():
    """The Worker ignores spaces as it ignores dashes: `h5e9 uneq bvc3` is a 12-symbol PIN,
    `a b c d e f g` a 7-symbol one (refused above)."""
    assert check_pin("h5e9 uneq bvc3") == "h5e9 uneq bvc3"


def test_the_cli_normalises_pins_as_the_worker_does():
    import importlib.util

    from cfmcp.project.secrets import normalized
    from cfmcp.worker.render import template_dir

    path = template_dir() / "cfmcp_worker" / "crypto.py"
    spec = importlib.util.spec_from_file_location("worker_crypto", path)
    assert spec is not None and spec.loader is not None
    crypto = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(crypto)
    for pin in ("H5E9-uneq bvc3", "a\tb-C d", "ÄÖ-ü ß"):
        assert normalized(pin) == crypto.normalized_pin(pin)
