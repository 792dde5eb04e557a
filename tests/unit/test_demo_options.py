"""`mailgrip demo` rejects ports it cannot use before it starts anything."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

import mailgrip.demo.run
from mailgrip.cli import main


class DemoStarted(Exception):
    """The options passed the checks and the demo would start."""


@pytest.fixture
def no_demo(monkeypatch):
    """Replace the demo, which would serve until interrupted, for options that slip through."""

    def start(**_options):
        raise DemoStarted()

    monkeypatch.setattr(mailgrip.demo.run, "run_demo", start)


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (["--port", "70000"], "Invalid value for '--port': 70000 is not in the range 1<=x<=65535"),
        (["--port", "-1"], "Invalid value for '--port': -1 is not in the range 1<=x<=65535"),
        (["--port", "0"], "Invalid value for '--port': 0 is not in the range 1<=x<=65535"),
        (
            ["--emulator-port", "70000"],
            "Invalid value for '--emulator-port': 70000 is not in the range 0<=x<=65535",
        ),
        (
            ["--port", "5050", "--emulator-port", "5050"],
            "--port and --emulator-port are both 5050",
        ),
        (["--emulator-port", "5000"], "--port and --emulator-port are both 5000"),
    ],
    ids=["port-too-high", "port-negative", "port-zero", "emulator-too-high", "equal", "default"],
)
def test_demo_rejects_port(no_demo, arguments, expected):
    result = CliRunner().invoke(main, ["demo", *arguments])

    assert result.exit_code == 2, result.output
    assert expected in result.output
    assert not isinstance(result.exception, DemoStarted)


def test_demo_accepts_free_emulator_port(no_demo):
    result = CliRunner().invoke(main, ["demo", "--port", "65535", "--emulator-port", "0"])

    assert isinstance(result.exception, DemoStarted), result.output
