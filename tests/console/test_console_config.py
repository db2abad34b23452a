"""The console's settings: off by default, HOST:PORT when on, loopback unless auth or --insecure."""

from __future__ import annotations

import pytest

from registry.config import Config, ConfigError, build_config


def test_the_console_is_off_by_default() -> None:
    assert Config().console_host_port is None


@pytest.mark.parametrize(
    ("address", "expected"),
    [("127.0.0.1:8080", ("127.0.0.1", 8080)), ("[::1]:0", ("::1", 0)), ("localhost:9", ("localhost", 9))],
)
def test_an_address_is_host_and_port(address: str, expected: tuple[str, int]) -> None:
    assert build_config(env={"REGISTRY_CONSOLE_ADDRESS": address}).console_host_port == expected


@pytest.mark.parametrize("address", ["8080", ":8080", "127.0.0.1:", "127.0.0.1:70000", "127.0.0.1:http"])
def test_a_malformed_address_is_refused(address: str) -> None:
    with pytest.raises(ConfigError, match="HOST:PORT"):
        build_config(env={"REGISTRY_CONSOLE_ADDRESS": address})


def test_without_auth_the_console_stays_on_loopback_unless_insecure() -> None:
    env = {"REGISTRY_AUTH_MODE": "off", "REGISTRY_CONSOLE_ADDRESS": "0.0.0.0:8080"}
    with pytest.raises(ConfigError, match="non-loopback"):
        build_config(env=env)
    assert build_config(env={**env, "REGISTRY_INSECURE": "true"}).console_host_port == ("0.0.0.0", 8080)


def test_off_loopback_the_console_needs_tls_unless_insecure() -> None:
    env = {"REGISTRY_CONSOLE_ADDRESS": "0.0.0.0:8080", "REGISTRY_HOST": "127.0.0.1"}
    with pytest.raises(ConfigError, match="plaintext"):
        build_config(env=env)
    assert build_config(env={**env, "REGISTRY_INSECURE": "true"}).console_host_port == ("0.0.0.0", 8080)


def test_a_trace_url_must_say_where_the_trace_id_goes() -> None:
    with pytest.raises(ConfigError, match="trace_id"):
        build_config(env={"REGISTRY_CONSOLE_TRACE_URL": "http://jaeger:16686/trace/"})
    url = "http://jaeger:16686/trace/{trace_id}"
    assert build_config(env={"REGISTRY_CONSOLE_TRACE_URL": url}).console_trace_url == url
