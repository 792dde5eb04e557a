"""Fixtures for the emulator's own tests: HTTP sessions, tokens, sample files, shape checks."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests


def _session(ca_path: Path) -> requests.Session:
    session = requests.Session()
    session.verify = str(ca_path)
    # requests lets REQUESTS_CA_BUNDLE from the environment override session.verify, so the
    # environment is ignored here; every request of these tests goes to loopback anyway.
    session.trust_env = False
    return session


@pytest.fixture
def http(emulator) -> Iterator[requests.Session]:
    """A session that trusts the emulator's CA."""
    session = _session(emulator.ca_path)
    yield session
    session.close()


@pytest.fixture(autouse=True)
def _empty_tenant(emulator) -> Iterator[None]:
    """Start and leave every test with an empty tenant, because the emulator is shared."""
    emulator.reset()
    yield
    emulator.reset()


@pytest.fixture
def sender(emulator) -> dict[str, str]:
    """The mailbox most tests work in."""
    return emulator.create_user("adele@contoso.example", "Adele Vance", "Sent-Items-2024")


@pytest.fixture
def graph(emulator, http) -> Callable[..., requests.Response]:
    """Call Graph with Mailgrip's app-only token: ``graph("GET", "users/x/messages")``."""
    token = emulator.graph_app_token()

    def call(method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
        url = path if path.startswith("https://") else f"{emulator.base_url}/v1.0/{path}"
        return http.request(method, url, headers=headers, timeout=10, **kwargs)

    return call


@pytest.fixture
def eml_dir(fixtures_dir: Path) -> Path:
    return fixtures_dir / "eml"


@pytest.fixture
def graph_sample(fixtures_dir: Path) -> Callable[[str], Any]:
    """Load one of the public Graph sample responses by file name."""

    def load(name: str) -> Any:
        return json.loads((fixtures_dir / "graph" / name).read_text(encoding="utf-8"))

    return load


def shape_differences(sample: Any, actual: Any, path: str = "$") -> list[str]:
    """List where ``actual`` lacks a key of ``sample`` or has another JSON type.

    A null in the sample matches any value; extra keys in ``actual`` are allowed, and list
    items are compared with the sample's first item.
    """
    if sample is None:
        return []
    if isinstance(sample, dict):
        if not isinstance(actual, dict):
            return [f"{path}: expected an object, got {type(actual).__name__}"]
        problems = []
        for key, value in sample.items():
            if key not in actual:
                problems.append(f"{path}.{key}: missing")
            else:
                problems += shape_differences(value, actual[key], f"{path}.{key}")
        return problems
    if isinstance(sample, list):
        if not isinstance(actual, list):
            return [f"{path}: expected an array, got {type(actual).__name__}"]
        if not sample:
            return []
        return [
            problem
            for index, item in enumerate(actual)
            for problem in shape_differences(sample[0], item, f"{path}[{index}]")
        ]
    # bool is a subclass of int in Python but a separate type in JSON.
    if isinstance(sample, bool) or isinstance(actual, bool):
        same = isinstance(sample, bool) and isinstance(actual, bool)
    elif isinstance(sample, int | float):
        same = isinstance(actual, int | float)
    else:
        same = isinstance(actual, type(sample))
    if not same:
        return [f"{path}: expected {type(sample).__name__}, got {type(actual).__name__}"]
    return []


@pytest.fixture
def assert_same_shape() -> Callable[[Any, Any], None]:
    """Assert that a response has the keys and JSON value types of a Graph sample."""

    def check(sample: Any, actual: Any) -> None:
        problems = shape_differences(sample, actual)
        assert not problems, "\n".join(problems)

    return check
