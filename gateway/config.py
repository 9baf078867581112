"""Gateway configuration: the YAML file, parsed once into frozen, typed models.

Responsible for: reading the file, rejecting anything unknown or inconsistent, and
reporting *every* problem as ``<file>:<line>: <path>: <message>`` so a technician can
fix the whole file in one pass. Only the models below travel into the rest of the
gateway; nothing else ever looks inside the YAML.

Must not know: how radios, brokers or sound cards are driven. The one outside fact used
here is the list of radio driver ``type:`` names from the driver registry.
"""

from __future__ import annotations

import difflib
import enum
import re
import types
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Union
from urllib.parse import urlsplit

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from .errors import ConfigError
from .pdt350.registry import RADIO_DRIVER_TYPES

__all__ = [
    "AudioConfig",
    "BrokerConfig",
    "FloorConfig",
    "GatewayConfig",
    "GatewaySection",
    "HandsetConfig",
    "HandsetRole",
    "PocGroupConfig",
    "RadioAudioConfig",
    "RadioConfig",
    "SerialConfig",
    "TalkGroupConfig",
    "TlsConfig",
    "TxConfig",
    "check_config",
    "load_config",
    "parse_config",
]

# --------------------------------------------------------------------------- field types

_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
PDT_ID_MAX = 16776415  # highest individual/group ID in the PDT/DMR numbering plan


def _check_id(value: str) -> str:
    if not _ID_RE.fullmatch(value):
        raise PydanticCustomError(
            "bad_id",
            "{value} is not a valid id: use 1-64 letters, digits, '_' or '-' "
            "(ids become MQTT topic levels)",
            {"value": repr(value)},
        )
    return value


def _check_text(value: str) -> str:
    if not value.strip():
        raise PydanticCustomError("empty_text", "must not be empty")
    return value


def _check_device(value: object) -> int | str:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and value.strip():
        return value
    raise PydanticCustomError(
        "bad_device",
        "must be a sound device name (matched as a substring) or a device index >= 0, got {value}",
        {"value": repr(value)},
    )


def _require_entries(value: object) -> object:
    if isinstance(value, list) and not value:
        raise PydanticCustomError("no_entries", "at least one entry is required")
    return value


Id = Annotated[str, AfterValidator(_check_id)]
Text = Annotated[str, AfterValidator(_check_text)]
# a display name travels in PoC messages, whose "name" is 1..64 characters
DisplayName = Annotated[str, StringConstraints(max_length=64), AfterValidator(_check_text)]
FileName = Annotated[str, AfterValidator(_check_text)]
PdtId = Annotated[int, Field(ge=1, le=PDT_ID_MAX)]
DeviceRef = Annotated[int | str, PlainValidator(_check_device)]
# Lists arrive from YAML as Python lists; they are stored as tuples (lax for that step only).
NonEmpty = BeforeValidator(_require_entries)
IdList = Annotated[tuple[Id, ...], Field(strict=False), NonEmpty]


class HandsetRole(enum.Enum):
    GUARD = "guard"
    OFFICER = "officer"
    DISPATCHER = "dispatcher"
    TECHNICIAN = "technician"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


# --------------------------------------------------------------------------- models


class GatewaySection(_Model):
    id: Id
    log_level: Literal["debug", "info", "warning", "error"] = "info"


class TlsConfig(_Model):
    ca_file: FileName | None = None
    cert_file: FileName | None = None
    key_file: FileName | None = Field(default=None, validate_default=True)
    verify_hostname: bool = True

    @field_validator("key_file")
    @classmethod
    def _cert_and_key_together(cls, key_file: str | None, info: ValidationInfo) -> str | None:
        if "cert_file" in info.data and (info.data["cert_file"] is None) != (key_file is None):
            raise PydanticCustomError(
                "cert_key_pair", "cert_file and key_file go together: give both or neither"
            )
        return key_file


class BrokerConfig(_Model):
    url: str
    username: Text
    password: str | None = None
    password_file: FileName | None = Field(default=None, validate_default=True)
    tls: TlsConfig | None = Field(default=None, validate_default=True)
    keepalive_s: Annotated[int, Field(ge=5, le=600)] = 30

    @field_validator("url")
    @classmethod
    def _check_url(cls, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts"):
            raise PydanticCustomError(
                "bad_url", "{url} must start with mqtt:// or mqtts://", {"url": repr(url)}
            )
        try:
            _ = parts.port  # raises on a non-numeric or out-of-range port
        except ValueError:
            raise PydanticCustomError(
                "bad_url", "{url} has a bad port", {"url": repr(url)}
            ) from None
        if not parts.hostname:
            raise PydanticCustomError("bad_url", "{url} names no host", {"url": repr(url)})
        if parts.username is not None or parts.password is not None:
            raise PydanticCustomError(
                "bad_url", "put credentials in username/password, not in the url", {}
            )
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise PydanticCustomError(
                "bad_url", "{url} must be only scheme://host[:port]", {"url": repr(url)}
            )
        return url

    @field_validator("password_file")
    @classmethod
    def _exactly_one_password(cls, password_file: str | None, info: ValidationInfo) -> str | None:
        if "password" not in info.data:  # password itself is broken; reported there
            return password_file
        if (info.data["password"] is None) == (password_file is None):
            which = "both are set" if password_file is not None else "neither is set"
            raise PydanticCustomError(
                "password_choice",
                "give exactly one of password / password_file ({which})",
                {"which": which},
            )
        return password_file

    @field_validator("tls")
    @classmethod
    def _tls_matches_scheme(cls, tls: TlsConfig | None, info: ValidationInfo) -> TlsConfig | None:
        if "url" not in info.data:  # url is broken; reported there
            return tls
        secure = urlsplit(info.data["url"]).scheme == "mqtts"
        if secure and tls is None:
            raise PydanticCustomError(
                "tls_required", "a tls: section is required with an mqtts:// url"
            )
        if not secure and tls is not None:
            raise PydanticCustomError(
                "tls_forbidden", "tls: needs an mqtts:// url (this one is plain mqtt://)"
            )
        return tls

    @property
    def uses_tls(self) -> bool:
        return urlsplit(self.url).scheme == "mqtts"

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""

    @property
    def port(self) -> int:
        return urlsplit(self.url).port or (8883 if self.uses_tls else 1883)


class AudioConfig(_Model):
    """PoC-side codec."""

    opus_rate: Literal[8000, 12000, 16000, 24000, 48000] = 16000
    opus_bitrate: Annotated[int, Field(ge=6000, le=128000)] = 24000
    frame_ms: Literal[10, 20, 40, 60] = 20


class FloorConfig(_Model):
    idle_timeout_ms: Annotated[int, Field(ge=100, le=5000)] = 500
    start_timeout_ms: Annotated[int, Field(ge=100, le=10000)] = 2000  # grant -> first frame (4G round trip)
    max_talk_s: Annotated[int, Field(ge=5, le=600)] = 60


class SerialConfig(_Model):
    url: Text  # any pyserial URL: a device path, rfc2217://, socket://, loop://
    baudrate: Literal[9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600] = 115200


class RadioAudioConfig(_Model):
    input: DeviceRef
    output: DeviceRef
    rate: Literal[8000, 16000, 22050, 32000, 44100, 48000] = 48000
    # device buffer each way; None = the device's own "low latency" setting
    latency_ms: Annotated[int, Field(ge=5, le=500)] | None = None


class TxConfig(_Model):
    lead_ms: Annotated[int, Field(ge=0, le=1000)] = 40
    tail_ms: Annotated[int, Field(ge=0, le=1000)] = 60
    timeout_s: Annotated[int, Field(ge=5, le=600)] = 120


class RadioConfig(_Model):
    id: Id
    type: str
    radio_id: PdtId
    serial: SerialConfig
    audio: RadioAudioConfig
    tx: TxConfig = TxConfig()

    @field_validator("type")
    @classmethod
    def _known_type(cls, type_name: str) -> str:
        if type_name not in RADIO_DRIVER_TYPES:
            raise PydanticCustomError(
                "radio_type",
                "unknown radio type {type} (valid: {valid})",
                {"type": repr(type_name), "valid": ", ".join(RADIO_DRIVER_TYPES)},
            )
        return type_name


class TalkGroupConfig(_Model):
    id: Id
    radio: Id
    pdt_group: PdtId
    poc_groups: IdList


class PocGroupConfig(_Model):
    id: Id
    name: DisplayName


class HandsetConfig(_Model):
    id: Id  # the handset's MQTT username
    name: DisplayName
    role: Annotated[HandsetRole, Field(strict=False)]
    groups: IdList


class GatewayConfig(_Model):
    gateway: GatewaySection
    broker: BrokerConfig
    audio: AudioConfig = AudioConfig()
    floor: FloorConfig = FloorConfig()
    radios: Annotated[tuple[RadioConfig, ...], Field(strict=False), NonEmpty]
    talk_groups: Annotated[tuple[TalkGroupConfig, ...], Field(strict=False), NonEmpty]
    poc_groups: Annotated[tuple[PocGroupConfig, ...], Field(strict=False), NonEmpty]
    handsets: Annotated[tuple[HandsetConfig, ...], Field(strict=False)] = ()

    def radio(self, radio_id: str) -> RadioConfig:
        for radio in self.radios:
            if radio.id == radio_id:
                return radio
        raise KeyError(radio_id)

    def talk_group_for_poc_group(self, poc_group_id: str) -> TalkGroupConfig | None:
        for talk_group in self.talk_groups:
            if poc_group_id in talk_group.poc_groups:
                return talk_group
        return None

    def handsets_in(self, poc_group_id: str) -> tuple[HandsetConfig, ...]:
        return tuple(h for h in self.handsets if poc_group_id in h.groups)

    def broker_password(self) -> str:
        """The broker password, read from ``password_file`` (one line) when that is set."""
        if self.broker.password_file is None:
            return self.broker.password or ""
        name = self.broker.password_file
        try:
            text = Path(name).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise ConfigError([f"{name}: cannot read broker.password_file: {reason}"]) from exc
        password = text.rstrip("\r\n")
        if not password:
            raise ConfigError([f"{name}: broker.password_file is empty"])
        return password


# --------------------------------------------------------------------------- YAML with lines

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class _Where:
    key_line: int | None  # 1-based line of the mapping key naming this node, if any
    node_line: int  # 1-based line where the node itself starts
    collection: bool

    @property
    def line(self) -> int:
        # A scalar is pointed at directly; a block mapping/list "starts" at its first
        # child, so point at the key that introduces it instead.
        if self.collection and self.key_line is not None:
            return self.key_line
        return self.node_line


class _Loader(yaml.SafeLoader):
    pass


_MERGE_TAG = "tag:yaml.org,2002:merge"


class _Unbuildable:
    """Stands in for a value YAML could not build; that problem is already reported."""


_UNBUILDABLE = _Unbuildable()
_MAX_VALUES = 100_000  # far beyond any real site; stops exponential alias expansion


class _Builder:
    """Turns a composed YAML node tree into plain data, recording where each path lives."""

    def __init__(self, loader: _Loader) -> None:
        self._loader = loader
        self.where: dict[Loc, _Where] = {}
        self.problems: list[tuple[int, Loc, str]] = []
        self._active: set[int] = set()
        self._budget = _MAX_VALUES

    def build(self, node: yaml.Node, loc: Loc = (), key_line: int | None = None) -> Any:
        collection = not isinstance(node, yaml.ScalarNode)
        self.where[loc] = _Where(key_line, node.start_mark.line + 1, collection)
        self._budget -= 1
        if self._budget == 0:
            self.problems.append((node.start_mark.line + 1, loc, "too many values (alias bomb?)"))
        if self._budget <= 0:
            return _UNBUILDABLE
        if id(node) in self._active:
            self.problems.append((node.start_mark.line + 1, loc, "recursive YAML alias"))
            return _UNBUILDABLE
        if isinstance(node, yaml.MappingNode):
            self._active.add(id(node))
            try:
                return self._mapping(node, loc)
            finally:
                self._active.discard(id(node))
        if isinstance(node, yaml.SequenceNode):
            self._active.add(id(node))
            try:
                return [self.build(item, (*loc, i)) for i, item in enumerate(node.value)]
            finally:
                self._active.discard(id(node))
        try:
            return self._loader.construct_object(node)
        except yaml.YAMLError as exc:
            self.problems.append((node.start_mark.line + 1, loc, _yaml_reason(exc)))
            return _UNBUILDABLE

    def _mapping(self, node: yaml.MappingNode, loc: Loc) -> dict[str, Any]:
        first_seen: dict[str, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == _MERGE_TAG or not isinstance(key_node, yaml.ScalarNode):
                continue
            line = key_node.start_mark.line + 1
            key = str(key_node.value)
            if key in first_seen:
                self.problems.append(
                    (line, (*loc, key), f"duplicate key (first given on line {first_seen[key]})")
                )
            else:
                first_seen[key] = line
        try:
            self._loader.flatten_mapping(node)  # applies "<<" merge keys, explicit keys last
        except yaml.YAMLError as exc:
            self.problems.append((node.start_mark.line + 1, loc, _yaml_reason(exc)))
        winners: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                self.problems.append(
                    (key_node.start_mark.line + 1, loc, "mapping keys must be plain names")
                )
                continue
            # The key as written ("on" stays "on", not True); a later entry wins, as in PyYAML.
            winners[str(key_node.value)] = (key_node, value_node)
        return {
            key: self.build(value_node, (*loc, key), key_node.start_mark.line + 1)
            for key, (key_node, value_node) in winners.items()
        }


def _yaml_reason(exc: yaml.YAMLError) -> str:
    if isinstance(exc, yaml.MarkedYAMLError):
        reason = exc.problem or str(exc)
        if exc.context:
            started = exc.context_mark
            if started is not None and started.line != getattr(exc.problem_mark, "line", None):
                reason += f" ({exc.context} started on line {started.line + 1})"
            else:
                reason += f" ({exc.context})"
        return reason
    return str(exc)


def _yaml_line(exc: yaml.YAMLError) -> int:
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        if mark is not None:
            return int(mark.line) + 1
    return 1


# --------------------------------------------------------------------------- error wording


def format_loc(loc: Iterable[str | int]) -> str:
    """``("talk_groups", 0, "radio")`` -> ``talk_groups[0].radio``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text


def _unwrap(annotation: Any) -> Any:
    while True:
        origin = typing.get_origin(annotation)
        if origin is Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            annotation = args[0]
        elif origin is tuple:
            annotation = typing.get_args(annotation)[0]
        else:
            return annotation


def _model_at(loc: Loc) -> type[BaseModel] | None:
    model: Any = GatewayConfig
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return None
        field = model.model_fields.get(part)
        if field is None:
            return None
        model = _unwrap(field.annotation)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


_TYPE_WORDS = {
    "int_type": "must be a whole number",
    "string_type": "must be text (put it in quotes)",
    "bool_type": "must be true or false",
    "tuple_type": "must be a list",
    "list_type": "must be a list",
    "model_type": "must be a mapping of key: value settings",
    "dict_type": "must be a mapping of key: value settings",
}


_OWN_KINDS = {
    "bad_id",
    "empty_text",
    "bad_device",
    "no_entries",
    "bad_url",
    "password_choice",
    "tls_required",
    "tls_forbidden",
    "cert_key_pair",
    "radio_type",
}


def _describe(error: Any) -> str:
    kind: str = error["type"]
    value = error.get("input")
    if kind == "missing":
        return "required key is missing"
    if kind == "extra_forbidden":
        key = str(error["loc"][-1])
        model = _model_at(tuple(error["loc"][:-1]))
        if model is None:
            return "unknown key"
        valid = list(model.model_fields)
        close = difflib.get_close_matches(key, valid, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        return f"unknown key ({hint}valid keys: {', '.join(valid)})"
    if kind in _TYPE_WORDS:
        if value is None:
            return f"has no value; it {_TYPE_WORDS[kind]}"
        if isinstance(value, (dict, list)):
            return f"{_TYPE_WORDS[kind]}, not a {'list' if isinstance(value, list) else 'mapping'}"
        return f"{_TYPE_WORDS[kind]} (got {value!r})"
    message: str = error["msg"]
    if kind in _OWN_KINDS:  # our own wording already names the value
        return message
    ctx = error.get("ctx") or {}
    if kind == "greater_than_equal":
        message = f"must be at least {ctx['ge']}"
    elif kind == "less_than_equal":
        message = f"must be at most {ctx['le']}"
    else:
        message = message.removeprefix("Value error, ").replace("Input should be", "must be")
    if not isinstance(value, (dict, list)):
        message += f" (got {value!r})"
    return message


# --------------------------------------------------------------------------- cross-references


def _raw_list(data: dict[str, Any], key: str) -> list[Any] | None:
    value = data.get(key)
    return value if isinstance(value, list) else None


def _raw_ids(items: list[Any] | None) -> list[tuple[int, str]]:
    return [
        (i, item["id"])
        for i, item in enumerate(items or [])
        if isinstance(item, dict) and isinstance(item.get("id"), str)
    ]


_M = typing.TypeVar("_M", bound=BaseModel)


def _valid_items(items: list[Any] | None, model: type[_M]) -> list[tuple[int, _M]]:
    valid = []
    for i, item in enumerate(items or []):
        try:
            valid.append((i, model.model_validate(item)))
        except ValidationError:
            pass  # reported by the whole-file validation
    return valid


def _defined(ids: Iterable[str]) -> str:
    names = sorted(set(ids))
    return ", ".join(names) if names else "none"


def _cross_problems(data: dict[str, Any], line_of: Callable[[Loc], int]) -> list[tuple[Loc, str]]:
    """Uniqueness and references, checked on every entry that is itself valid."""
    problems: list[tuple[Loc, str]] = []
    lists = {
        key: _raw_list(data, key) for key in ("radios", "talk_groups", "poc_groups", "handsets")
    }

    for key, items in lists.items():
        first: dict[str, int] = {}
        for i, item_id in _raw_ids(items):
            if item_id in first:
                j = first[item_id]
                problems.append(
                    (
                        (key, i, "id"),
                        (
                            f"duplicate id {item_id!r} (already used by {key}[{j}] "
                            f"on line {line_of((key, j, 'id'))})"
                        ),
                    )
                )
            else:
                first[item_id] = i

    radio_ids = {rid for _, rid in _raw_ids(lists["radios"])}
    poc_ids = {gid for _, gid in _raw_ids(lists["poc_groups"])}
    # With no list at all, that absence is the one problem worth reporting.
    check_radios = bool(lists["radios"])
    check_pocs = bool(lists["poc_groups"])

    pdt_groups: dict[tuple[str, int], int] = {}
    joined: dict[str, tuple[int, str]] = {}
    for i, tg in _valid_items(lists["talk_groups"], TalkGroupConfig):
        if check_radios and tg.radio not in radio_ids:
            problems.append(
                (
                    ("talk_groups", i, "radio"),
                    f"{tg.radio!r} is not a defined radio (defined: {_defined(radio_ids)})",
                )
            )
        slot = (tg.radio, tg.pdt_group)
        if slot in pdt_groups:
            j = pdt_groups[slot]
            problems.append(
                (
                    ("talk_groups", i, "pdt_group"),
                    (
                        f"pdt_group {tg.pdt_group} on radio {tg.radio!r} is already used by "
                        f"talk_groups[{j}] on line {line_of(('talk_groups', j, 'pdt_group'))}"
                    ),
                )
            )
        else:
            pdt_groups[slot] = i
        for k, gid in enumerate(tg.poc_groups):
            loc: Loc = ("talk_groups", i, "poc_groups", k)
            if check_pocs and gid not in poc_ids:
                problems.append(
                    (loc, f"{gid!r} is not a defined poc group (defined: {_defined(poc_ids)})")
                )
            elif gid in joined:
                j, other = joined[gid]
                where = "this talk group" if j == i else f"talk group {other!r} (talk_groups[{j}])"
                problems.append((loc, f"poc group {gid!r} is already joined to {where}"))
            else:
                joined[gid] = (i, tg.id)

    floor_raw = data.get("floor")
    try:
        floor = FloorConfig.model_validate(floor_raw if isinstance(floor_raw, dict) else {})
    except ValidationError:
        floor = None  # its own problems are reported by the model
    for i, radio in _valid_items(lists["radios"], RadioConfig):
        if floor is not None and floor.max_talk_s > radio.tx.timeout_s:
            at: Loc = ("floor", "max_talk_s") if isinstance(floor_raw, dict) and "max_talk_s" in floor_raw \
                else ("radios", i, "tx")
            problems.append((at, f"max_talk_s {floor.max_talk_s} s is longer than radio {radio.id!r}'s "
                                    f"tx.timeout_s {radio.tx.timeout_s} s: the radio would cut talks the floor "
                                    "still allows (make max_talk_s <= timeout_s)"))

    reserved: dict[str, str] = {}
    gw = data.get("gateway")
    if isinstance(gw, dict) and isinstance(gw.get("id"), str):
        reserved[gw["id"]] = "gateway.id"
    br = data.get("broker")
    if isinstance(br, dict) and isinstance(br.get("username"), str):
        reserved.setdefault(br["username"], "broker.username")
    for i, handset in _valid_items(lists["handsets"], HandsetConfig):
        if handset.id in reserved:
            # the same MQTT identity twice: the two clients would kick each other off the broker
            problems.append((("handsets", i, "id"), f"{handset.id!r} is already the {reserved[handset.id]}; "
                                                    "a handset needs its own MQTT identity"))
    for i, handset in _valid_items(lists["handsets"], HandsetConfig):
        seen: set[str] = set()
        for k, gid in enumerate(handset.groups):
            loc = ("handsets", i, "groups", k)
            if check_pocs and gid not in poc_ids:
                problems.append(
                    (loc, f"{gid!r} is not a defined poc group (defined: {_defined(poc_ids)})")
                )
            elif gid in seen:
                problems.append((loc, f"poc group {gid!r} is listed twice"))
            seen.add(gid)
    return problems


# --------------------------------------------------------------------------- loading

_SECTIONS = "gateway, broker, radios, talk_groups, poc_groups"


def _compose(loader: _Loader, source: str) -> tuple[_Builder, dict[str, Any]]:
    """Compose the single YAML document and build its data; whole-file problems raise here."""
    try:
        root = loader.get_single_node()
    except yaml.YAMLError as exc:
        problem = f"{source}:{_yaml_line(exc)}: YAML syntax error: {_yaml_reason(exc)}"
        raise ConfigError([problem]) from None
    if root is None:
        problem = f"{source}:1: the file holds no settings (expected a mapping with {_SECTIONS})"
        raise ConfigError([problem])
    if not isinstance(root, yaml.MappingNode):
        shape = "a list" if isinstance(root, yaml.SequenceNode) else f"the value {root.value!r}"
        line = root.start_mark.line + 1
        problem = f"{source}:{line}: the top level must be a mapping of sections ({_SECTIONS}), "
        raise ConfigError([problem + f"not {shape}"])
    builder = _Builder(loader)
    data: dict[str, Any] = builder.build(root)
    return builder, data


def parse_config(text: str, source: str = "<string>") -> GatewayConfig:
    """Parse YAML text; raise ConfigError listing every problem as ``source:line: path: msg``."""
    try:
        loader = _Loader(text)
    except yaml.reader.ReaderError as exc:  # control characters: the reader refuses the whole text
        line = text.count("\n", 0, max(exc.position, 0)) + 1
        raise ConfigError([f"{source}:{line}: the file contains a control character "
                           f"(code {exc.character:#x}) that YAML does not allow"]) from None
    try:
        builder, data = _compose(loader, source)
    finally:
        loader.dispose()

    def line_of(loc: Loc) -> int:
        for end in range(len(loc), -1, -1):
            where = builder.where.get(tuple(loc[:end]))
            if where is not None:
                return where.line
        return 1

    found: list[tuple[int, Loc, str]] = list(builder.problems)
    config: GatewayConfig | None = None
    try:
        config = GatewayConfig.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            if error.get("input") is _UNBUILDABLE:
                continue
            loc: Loc = tuple(error["loc"])
            line = line_of(loc[:-1] if error["type"] == "missing" else loc)
            found.append((line, loc, _describe(error)))
    found += [(line_of(loc), loc, msg) for loc, msg in _cross_problems(data, line_of)]

    if found:
        lines: list[str] = []
        for line, loc, msg in sorted(found, key=lambda p: p[0]):
            where = f"{format_loc(loc)}: " if loc else ""
            text_line = f"{source}:{line}: {where}{msg}"
            if text_line not in lines:
                lines.append(text_line)
        raise ConfigError(lines)
    assert config is not None
    return config


def load_config(path: str | Path) -> GatewayConfig:
    """Read and parse one config file; ConfigError lists every problem found."""
    source = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(
            [f"{source}: cannot read the config file: {exc.strerror or exc}"]
        ) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError([f"{source}:{line}: the file is not UTF-8 text"]) from None
    return parse_config(text, source)


def check_config(path: str | Path) -> list[str]:
    """Every problem in one config file, as lines ready to print; empty when it is valid."""
    try:
        load_config(path)
    except ConfigError as exc:
        return exc.problems
    return []
