"""Every server option: its default, keyword and ``SIGNALR_*`` config sources, validation."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from flask import Flask

from flask_signalr import SignalR
from flask_signalr.options import SignalROptions, resolve_options

# API.md's options table, plus the options this implementation adds.
DEFAULTS: dict[str, Any] = {
    "redis_url": None,
    "channel_prefix": "signalr",
    "redis_db": None,
    "transports": ("WebSockets", "ServerSentEvents", "LongPolling"),
    "protocols": ("json", "messagepack"),
    "keep_alive_interval": 15,
    "client_timeout_interval": 30,
    "handshake_timeout": 15,
    "maximum_receive_message_size": 32768,
    "maximum_parallel_invocations_per_client": 1,
    "enable_detailed_errors": False,
    "stateful_reconnect_buffer_size": 100_000,
    "allowed_origins": (),  # same origin only
    "maximum_outbound_buffer_size": 1024 * 1024,  # issue #2: 1 MiB
    "disconnect_timeout": 15,
    "long_polling_timeout": 90,
}

# (option, value given, value resolved)
GOOD: list[tuple[str, Any, Any]] = [
    ("redis_url", "redis://localhost:6379/0", "redis://localhost:6379/0"),
    ("redis_url", None, None),
    ("channel_prefix", "app1", "app1"),
    ("redis_db", 0, 0),
    ("redis_db", 3, 3),
    ("redis_db", None, None),
    ("transports", ["WebSockets"], ("WebSockets",)),
    # Clients try transports in the listed order, so the canonical order is kept.
    ("transports", ["LongPolling", "WebSockets"], ("WebSockets", "LongPolling")),
    (
        "transports",
        ("LongPolling", "ServerSentEvents", "WebSockets"),
        ("WebSockets", "ServerSentEvents", "LongPolling"),
    ),
    ("transports", "LongPolling, WebSockets", ("WebSockets", "LongPolling")),
    ("transports", "ServerSentEvents", ("ServerSentEvents",)),
    ("protocols", ["json"], ("json",)),
    ("protocols", ["messagepack", "json"], ("json", "messagepack")),
    ("protocols", "messagepack,json", ("json", "messagepack")),
    ("protocols", {"messagepack"}, ("messagepack",)),
    ("keep_alive_interval", 5, 5.0),
    ("keep_alive_interval", 0.25, 0.25),
    ("client_timeout_interval", 60, 60.0),
    ("handshake_timeout", 2.5, 2.5),
    ("maximum_receive_message_size", 1024, 1024),
    ("maximum_receive_message_size", None, None),  # unlimited, as ASP.NET's null
    ("maximum_parallel_invocations_per_client", 4, 4),
    ("enable_detailed_errors", True, True),
    ("enable_detailed_errors", False, False),
    ("stateful_reconnect_buffer_size", 5, 5),
    ("allowed_origins", ["https://example.com"], ("https://example.com",)),
    ("allowed_origins", ["HTTPS://Example.com/"], ("https://example.com",)),
    ("allowed_origins", "https://a.com, https://b.com", ("https://a.com", "https://b.com")),
    ("allowed_origins", "*", ("*",)),
    ("allowed_origins", [], ()),
    ("allowed_origins", "", ()),
    ("maximum_outbound_buffer_size", 4096, 4096),
    ("disconnect_timeout", 1, 1.0),
    ("long_polling_timeout", 30, 30.0),
]

BAD: list[tuple[str, Any]] = [
    ("redis_url", 5),
    ("redis_url", b"redis://x"),
    ("channel_prefix", ""),
    ("channel_prefix", None),
    ("channel_prefix", 5),
    ("redis_db", -1),
    ("redis_db", True),
    ("redis_db", "1"),
    ("redis_db", 1.0),
    ("transports", ["Carrier"]),
    ("transports", ["websockets"]),  # names are case-sensitive, as the client sends them
    ("transports", []),
    ("transports", ""),
    ("transports", 5),
    ("transports", [1]),
    ("transports", None),
    ("protocols", ["xml"]),
    ("protocols", []),
    ("protocols", None),
    ("protocols", ["json", 1]),
    ("keep_alive_interval", 0),
    ("keep_alive_interval", -1),
    ("keep_alive_interval", True),
    ("keep_alive_interval", "15"),
    ("keep_alive_interval", None),
    ("client_timeout_interval", 0),
    ("client_timeout_interval", -0.5),
    ("handshake_timeout", 0),
    ("handshake_timeout", "fast"),
    ("maximum_receive_message_size", 0),
    ("maximum_receive_message_size", -5),
    ("maximum_receive_message_size", 1.5),
    ("maximum_receive_message_size", True),
    ("maximum_receive_message_size", "32768"),
    ("maximum_parallel_invocations_per_client", 0),
    ("maximum_parallel_invocations_per_client", 1.0),
    ("maximum_parallel_invocations_per_client", None),
    ("enable_detailed_errors", 1),
    ("enable_detailed_errors", "true"),
    ("enable_detailed_errors", None),
    ("stateful_reconnect_buffer_size", 0),
    ("stateful_reconnect_buffer_size", -1),
    ("allowed_origins", 5),
    ("allowed_origins", [1]),
    ("allowed_origins", None),
    ("maximum_outbound_buffer_size", 0),
    ("disconnect_timeout", 0),
    ("long_polling_timeout", -1),
]


# -- defaults ----------------------------------------------------------------------------------


def test_every_option_is_covered() -> None:
    names = {field.name for field in dataclasses.fields(SignalROptions)}
    assert names == set(DEFAULTS)
    assert {name for name, _, _ in GOOD} == names
    assert {name for name, _ in BAD} == names


@pytest.mark.parametrize(("name", "default"), DEFAULTS.items())
def test_defaults(name: str, default: Any) -> None:
    assert getattr(resolve_options({}, {}), name) == default


def test_defaults_are_the_dataclass_defaults() -> None:
    assert resolve_options({}, {}) == SignalROptions()


@pytest.mark.parametrize(("name", "default"), DEFAULTS.items())
def test_extension_defaults(name: str, default: Any) -> None:
    app = Flask(__name__)
    SignalR(app)
    assert getattr(app.extensions["signalr"].options, name) == default


# -- keyword and config sources -------------------------------------------------------------


def config_key(name: str) -> str:
    return f"SIGNALR_{name.upper()}"


@pytest.mark.parametrize(("name", "value", "resolved"), GOOD)
def test_option_from_keyword(name: str, value: Any, resolved: Any) -> None:
    assert getattr(resolve_options({name: value}, {}), name) == resolved


@pytest.mark.parametrize(("name", "value", "resolved"), GOOD)
def test_option_from_config(name: str, value: Any, resolved: Any) -> None:
    assert getattr(resolve_options({}, {config_key(name): value}), name) == resolved


@pytest.mark.parametrize(("name", "value", "resolved"), GOOD)
def test_option_from_app_config(name: str, value: Any, resolved: Any) -> None:
    app = Flask(__name__)
    app.config[config_key(name)] = value
    SignalR(app)
    assert getattr(app.extensions["signalr"].options, name) == resolved


@pytest.mark.parametrize(("name", "value", "resolved"), GOOD)
def test_option_from_extension_keyword(name: str, value: Any, resolved: Any) -> None:
    app = Flask(__name__)
    SignalR(app, **{name: value})
    assert getattr(app.extensions["signalr"].options, name) == resolved


def test_keyword_wins_over_config() -> None:
    options = resolve_options(
        {"keep_alive_interval": 7, "channel_prefix": "kw"},
        {"SIGNALR_KEEP_ALIVE_INTERVAL": 5, "SIGNALR_CHANNEL_PREFIX": "cfg"},
    )
    assert options.keep_alive_interval == 7
    assert options.channel_prefix == "kw"


def test_keyword_wins_over_app_config() -> None:
    app = Flask(__name__)
    app.config["SIGNALR_CLIENT_TIMEOUT_INTERVAL"] = 60
    app.config["SIGNALR_HANDSHAKE_TIMEOUT"] = 5
    SignalR(app, client_timeout_interval=45)
    options = app.extensions["signalr"].options
    assert options.client_timeout_interval == 45
    assert options.handshake_timeout == 5  # config still applies where no keyword is given


def test_keyword_none_wins_over_config() -> None:
    options = resolve_options(
        {"maximum_receive_message_size": None}, {"SIGNALR_MAXIMUM_RECEIVE_MESSAGE_SIZE": 10}
    )
    assert options.maximum_receive_message_size is None


def test_factory_pattern_reads_each_apps_config() -> None:
    signalr = SignalR(enable_detailed_errors=True)
    first, second = Flask("first"), Flask("second")
    first.config["SIGNALR_KEEP_ALIVE_INTERVAL"] = 3
    second.config["SIGNALR_KEEP_ALIVE_INTERVAL"] = 4
    signalr.init_app(first)
    signalr.init_app(second)
    assert first.extensions["signalr"].options.keep_alive_interval == 3
    assert second.extensions["signalr"].options.keep_alive_interval == 4
    assert first.extensions["signalr"].options.enable_detailed_errors
    assert second.extensions["signalr"].options.enable_detailed_errors


def test_unrelated_config_is_ignored() -> None:
    options = resolve_options({}, {"SECRET_KEY": "x", "KEEP_ALIVE_INTERVAL": 0, "signalr": 1})
    assert options == SignalROptions()


def test_config_keys_are_upper_case() -> None:
    assert resolve_options({}, {"signalr_keep_alive_interval": 5}).keep_alive_interval == 15


# -- validation --------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "value"), BAD)
def test_bad_keyword_value_names_the_option(name: str, value: Any) -> None:
    with pytest.raises(ValueError) as caught:
        resolve_options({name: value}, {})
    text = str(caught.value)
    assert text.startswith(name)
    assert "SIGNALR_" not in text
    assert repr(value) in text


@pytest.mark.parametrize(("name", "value"), BAD)
def test_bad_config_value_names_the_config_key(name: str, value: Any) -> None:
    with pytest.raises(ValueError) as caught:
        resolve_options({}, {config_key(name): value})
    text = str(caught.value)
    assert text.startswith(config_key(name))
    assert repr(value) in text


@pytest.mark.parametrize(("name", "value"), BAD)
def test_bad_app_config_fails_at_init_app(name: str, value: Any) -> None:
    app = Flask(__name__)
    app.config[config_key(name)] = value
    signalr = SignalR()
    with pytest.raises(ValueError, match=config_key(name)):
        signalr.init_app(app)
    assert "signalr" not in app.extensions


@pytest.mark.parametrize(("name", "value"), BAD)
def test_bad_keyword_fails_when_the_extension_is_made(name: str, value: Any) -> None:
    # Before any app: a typo fails where it was written.
    with pytest.raises(ValueError, match=name):
        SignalR(**{name: value})


@pytest.mark.parametrize(
    "keywords",
    [{"bogus": 1}, {"keepalive_interval": 5}, {"KEEP_ALIVE_INTERVAL": 5}, {"app": None, "x": 1}],
)
def test_unknown_keyword_is_a_type_error_listing_valid_options(keywords: dict[str, Any]) -> None:
    with pytest.raises(TypeError) as caught:
        resolve_options(keywords, {})
    text = str(caught.value)
    for name in keywords:
        if name != "app":
            assert repr(name) in text
    for name in DEFAULTS:
        assert name in text


def test_unknown_keyword_on_the_extension() -> None:
    with pytest.raises(TypeError, match="bogus"):
        SignalR(Flask(__name__), bogus=1)
    with pytest.raises(TypeError, match="bogus"):
        SignalR(bogus=1)


def test_unknown_keyword_leaves_the_app_untouched() -> None:
    app = Flask(__name__)
    with pytest.raises(TypeError):
        SignalR(app, bogus=1)
    assert "signalr" not in app.extensions


def test_options_are_frozen() -> None:
    options = resolve_options({}, {})
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.keep_alive_interval = 1  # type: ignore[misc]
