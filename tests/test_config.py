"""Tests for gateway.config: typed models, and problems reported as file:line: path: message."""

from __future__ import annotations

import re
from pathlib import Path

import pydantic
import pytest

from gateway.config import (
    GatewayConfig,
    HandsetRole,
    check_config,
    load_config,
    parse_config,
)
from gateway.errors import ConfigError

REPO = Path(__file__).resolve().parent.parent
CONFIGS = REPO / "configs"
DATA = Path(__file__).resolve().parent / "data" / "configs"
BAD = sorted((DATA / "bad").glob("*.yaml"))
GOOD = sorted((DATA / "good").glob("*.yaml"))

EXPECT_RE = re.compile(r"# expect: (?P<line>\d+) (?P<path>\S+) (?P<substring>.+)")

MINIMAL = """\
gateway:
  id: gw-test
broker:
  url: mqtt://127.0.0.1
  username: gw-test
  password: secret
radios:
  - id: pdt1
    type: hytera
    radio_id: 2001
    serial: {url: /dev/ttyUSB0}
    audio: {input: rx, output: tx}
talk_groups:
  - id: campus
    radio: pdt1
    pdt_group: 9990
    poc_groups: [school-gates]
poc_groups:
  - id: school-gates
    name: School gates
"""


def problems_of(text: str, source: str = "x.yaml") -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, source)
    return caught.value.problems


# --------------------------------------------------------------------------- shipped files


def test_demo_config_loads() -> None:
    config = load_config(CONFIGS / "demo.yaml")
    assert config.gateway.id == "gw-demo"
    assert config.broker.url == "mqtt://127.0.0.1:18830"
    assert (config.broker.host, config.broker.port, config.broker.uses_tls) == (
        "127.0.0.1",
        18830,
        False,
    )
    assert config.broker.username == "gw-demo"
    assert config.broker_password() == "demo-gateway-secret"
    radio = config.radio("pdt1")
    assert (radio.type, radio.radio_id, radio.serial.url) == ("hytera", 2001, "/dev/null")
    assert (radio.audio.input, radio.audio.output, radio.audio.rate) == (
        "pdtgw_rx_in",
        "pdtgw_tx_out",
        48000,
    )
    assert [(t.id, t.pdt_group, t.poc_groups) for t in config.talk_groups] == [
        ("campus", 9990, ("school-gates",)),
        ("market", 9991, ("market-stalls",)),
    ]
    assert [(g.id, g.name) for g in config.poc_groups] == [
        ("school-gates", "School gates"),
        ("market-stalls", "Market stalls"),
    ]
    assert [h.id for h in config.handsets_in("school-gates")] == ["hs-gate-1", "hs-gate-2"]
    assert [h.name for h in config.handsets_in("market-stalls")] == ["Market post"]
    assert all(h.role is HandsetRole.GUARD for h in config.handsets)


def test_example_site_config_loads() -> None:
    config = load_config(CONFIGS / "example-site.yaml")
    assert config.broker.uses_tls
    assert config.broker.port == 8883
    assert config.broker.tls is not None
    assert config.broker.password is None
    assert config.broker.password_file is not None
    assert all(r.serial.url.startswith("/dev/serial/by-id/usb-") for r in config.radios)
    assert check_config(CONFIGS / "example-site.yaml") == []


@pytest.mark.parametrize("path", GOOD, ids=[p.stem for p in GOOD])
def test_good_configs_load(path: Path) -> None:
    assert check_config(path) == []


# --------------------------------------------------------------------------- broken files


def test_there_are_enough_broken_configs() -> None:
    assert len(BAD) >= 10


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
def test_bad_config_reports_line_and_path(path: Path) -> None:
    match = EXPECT_RE.match(path.read_text(encoding="utf-8").splitlines()[0])
    assert match, f"{path.name} must start with '# expect: <line> <path> <substring>'"
    line, key_path, substring = match["line"], match["path"], match["substring"].strip()
    source = str(path)

    with pytest.raises(ConfigError) as caught:
        load_config(path)
    problems = caught.value.problems
    assert problems == check_config(path)

    prefix = f"{source}:{line}: " + ("" if key_path == "-" else f"{key_path}: ")
    hits = [p for p in problems if p.startswith(prefix) and substring in p]
    assert hits, f"no problem starts with {prefix!r} and contains {substring!r}: {problems}"


# --------------------------------------------------------------------------- whole-file behaviour


def test_every_problem_is_reported_in_file_order() -> None:
    text = (
        MINIMAL.replace("  id: gw-test", "  id: gw-test\n  log_levle: debug")
        .replace("radio_id: 2001", "radio_id: 0")
        .replace("radio: pdt1", "radio: pdt9")
        + "handsets:\n  - {id: hs1, name: A, role: guard, groups: [nowhere]}\n"
    )
    problems = problems_of(text)
    assert problems == [
        (
            "x.yaml:3: gateway.log_levle: unknown key (did you mean 'log_level'? "
            "valid keys: id, log_level)"
        ),
        "x.yaml:11: radios[0].radio_id: must be at least 1 (got 0)",
        "x.yaml:16: talk_groups[0].radio: 'pdt9' is not a defined radio (defined: pdt1)",
        (
            "x.yaml:23: handsets[0].groups[0]: 'nowhere' is not a defined poc group "
            "(defined: school-gates)"
        ),
    ]
    assert str(ConfigError(problems)) == "\n".join(problems)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("- gateway: {}\n", "x.yaml:1: the top level must be a mapping"),
        ("just text\n", "x.yaml:1: the top level must be a mapping"),
        ("", "x.yaml:1: the file holds no settings"),
        ("# comments only\n", "x.yaml:1: the file holds no settings"),
    ],
)
def test_non_mapping_top_level_fails_clearly(text: str, expected: str) -> None:
    problems = problems_of(text)
    assert len(problems) == 1
    assert problems[0].startswith(expected)


def test_yaml_syntax_error_is_one_problem_with_its_line() -> None:
    problems = problems_of(MINIMAL.replace("  username: gw-test", "  username: gw-test: x"))
    assert len(problems) == 1
    assert problems[0].startswith("x.yaml:5: YAML syntax error: ")


def test_duplicate_key_is_found_at_every_depth() -> None:
    text = MINIMAL.replace("gateway:\n", "gateway:\n  id: gw-a\n", 1) + "poc_groups: []\n"
    problems = problems_of(text)
    assert "x.yaml:3: gateway.id: duplicate key (first given on line 2)" in problems
    assert any(p.startswith("x.yaml:22: poc_groups: duplicate key") for p in problems)


def test_missing_key_points_at_parent_mapping() -> None:
    text = MINIMAL.replace("    serial: {url: /dev/ttyUSB0}", "    serial:\n      baudrate: 9600")
    assert problems_of(text) == ["x.yaml:11: radios[0].serial.url: required key is missing"]


def test_missing_section_points_at_top_mapping() -> None:
    text = "# header\n" + MINIMAL.split("poc_groups:\n  - id")[0].rstrip() + "\n"
    text = text.replace("    poc_groups: [school-gates]\n", "")
    problems = problems_of(text)
    assert "x.yaml:2: poc_groups: required key is missing" in problems


def test_yaml_octal_trap_is_rejected() -> None:
    problems = problems_of(MINIMAL.replace("password: secret", "password: 0123"))
    assert problems == ["x.yaml:6: broker.password: must be text (put it in quotes) (got 83)"]


def test_scalar_on_next_line_is_reported_on_its_own_line() -> None:
    problems = problems_of(MINIMAL.replace("radio_id: 2001", "radio_id:\n      99999999"))
    assert problems[0].startswith("x.yaml:11: radios[0].radio_id: must be at most 16776415")


def test_neither_password_nor_file_is_an_error() -> None:
    problems = problems_of(MINIMAL.replace("  password: secret\n", ""))
    assert problems == [
        (
            "x.yaml:3: broker.password_file: give exactly one of password / password_file "
            "(neither is set)"
        )
    ]


def test_unbuildable_yaml_value_is_reported_once() -> None:
    problems = problems_of(MINIMAL.replace("password: secret", "password: !!python/name:os.system"))
    assert len(problems) == 1
    assert problems[0].startswith("x.yaml:6: broker.password: could not determine a constructor")


def test_alias_bomb_is_cut_short() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    problems = problems_of("\n".join(lines) + "\n")
    assert any("too many values" in p for p in problems)


def test_cross_checks_still_run_next_to_type_errors() -> None:
    text = (
        MINIMAL.replace("pdt_group: 9990", "pdt_group: nine").replace(
            "  username: gw-test", "  username: 7"
        )
        + "handsets:\n  - {id: hs1, name: A, role: guard, groups: [gone]}\n"
    )
    problems = problems_of(text)
    assert [p.split(": ")[0] for p in problems] == ["x.yaml:5", "x.yaml:16", "x.yaml:22"]


# --------------------------------------------------------------------------- API details


def test_missing_file_is_a_problem_not_an_exception(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    problems = check_config(missing)
    assert len(problems) == 1
    assert problems[0].startswith(f"{missing}: cannot read the config file")
    with pytest.raises(ConfigError):
        load_config(missing)


def test_defaults_and_frozen_models() -> None:
    config = parse_config(MINIMAL)
    assert config.gateway.log_level == "info"
    assert config.broker.keepalive_s == 30
    assert config.broker.port == 1883
    assert (config.audio.opus_rate, config.audio.opus_bitrate, config.audio.frame_ms) == (
        16000,
        24000,
        20,
    )
    assert (config.floor.idle_timeout_ms, config.floor.max_talk_s) == (500, 60)
    radio = config.radios[0]
    assert (radio.serial.baudrate, radio.audio.rate) == (115200, 48000)
    assert (radio.tx.lead_ms, radio.tx.tail_ms, radio.tx.timeout_s) == (40, 60, 120)
    assert config.handsets == ()
    with pytest.raises(pydantic.ValidationError):
        setattr(config.gateway, "id", "other")  # noqa: B010 - frozen model refuses it


def test_accessors() -> None:
    config = parse_config(MINIMAL)
    assert config.radio("pdt1").radio_id == 2001
    with pytest.raises(KeyError):
        config.radio("pdt9")
    talk_group = config.talk_group_for_poc_group("school-gates")
    assert talk_group is not None and talk_group.id == "campus"
    assert config.talk_group_for_poc_group("elsewhere") is None
    assert config.handsets_in("school-gates") == ()


def test_broker_password_from_file(tmp_path: Path) -> None:
    secret = tmp_path / "broker.pass"
    secret.write_text("s3cret\n", encoding="utf-8")
    text = MINIMAL.replace("password: secret", f"password_file: {secret}")
    assert parse_config(text).broker_password() == "s3cret"


def test_unreadable_password_file_names_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.pass"
    config = parse_config(MINIMAL.replace("password: secret", f"password_file: {missing}"))
    with pytest.raises(ConfigError) as caught:
        config.broker_password()
    assert str(missing) in str(caught.value)


def test_audio_device_may_be_an_index() -> None:
    config = parse_config(MINIMAL.replace("{input: rx, output: tx}", "{input: 2, output: rx}"))
    assert config.radios[0].audio.input == 2
    assert isinstance(parse_config(MINIMAL), GatewayConfig)


def test_merge_key_override_is_not_a_duplicate_and_points_at_the_override() -> None:
    text = MINIMAL.replace(
        "    audio: {input: rx, output: tx}\n",
        "    audio: {input: rx, output: tx}\n    tx: &tx {lead_ms: 40}\n"
        "  - <<: *tx\n    id: pdt2\n    type: hytera\n    radio_id: 2002\n"
        "    serial: {url: /dev/ttyUSB1}\n    audio: {input: rx2, output: tx2}\n"
        "    lead_ms: 5000\n",
    )
    # The merged lead_ms (line 13) is overridden by the explicit one (line 20): no
    # duplicate-key error, and the unknown key is reported once, on the explicit line.
    problems = problems_of(text)
    assert len(problems) == 1
    assert problems[0].startswith("x.yaml:20: radios[1].lead_ms: unknown key")
