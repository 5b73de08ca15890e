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


@pytest.mark.parametrize("pin", ["1234", "1234567", "has space1", "tab\there12", "x" * 129])
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
