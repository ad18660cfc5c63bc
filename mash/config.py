"""Config and file validation: typed `msgspec.Struct`s decoded from TOML or JSON.

Every config and file format of mash-hub is declared once as a frozen `Struct` with
`forbid_unknown_fields=True` (see `Strict`) and decoded through `decode` or `load_toml`. A bad
file is a `ConfigError` that names the file, the line (for TOML text) and the dotted field, and
says what was expected::

    agency.toml: line 3: field 'listen': expected a string, got a whole number
    agency.toml: line 4: field 'lisen': unknown field (valid: agency, home, listen, ...)

Checks a type cannot express (an id's characters, a range that depends on another field) are
made after decoding and reported the same way through `TomlDocument.error`.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Annotated, Generic, Literal, TypeVar, Union

import msgspec
import msgspec.inspect as mi

from mash.toml_lines import FieldLines

T = TypeVar("T")
P = TypeVar("P")
E = TypeVar("E", bound="ConfigError")


class Strict(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Base of every file-format struct: immutable, and a field it does not know is an error."""


class ConfigError(ValueError):
    """A config file is missing, unreadable, or has a bad field."""

    def __init__(self, source: Path | str, field: str, problem: str, line: int = 0) -> None:
        self.source = str(source)
        self.field = field
        self.problem = problem
        self.line = line
        where = f"{source}: line {line}" if line else f"{source}"
        super().__init__(f"{where}: field {field!r}: {problem}")


@dataclass(frozen=True)
class TomlDocument:
    """One parsed TOML file with the lines its fields were written on, for error messages."""

    source: Path | str
    data: dict[str, object]
    lines: FieldLines

    @classmethod
    def read(cls, path: Path) -> TomlDocument:
        """Read and parse `path`, or raise ConfigError (no such file, not valid TOML)."""
        try:
            text = path.read_bytes().decode("utf-8")
        except FileNotFoundError:
            raise ConfigError(path, "<file>", "no such file") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(path, "<file>", f"cannot be read: {exc}") from None
        return cls.parse(text, path)

    @classmethod
    def parse(cls, text: str, source: Path | str) -> TomlDocument:
        """Parse TOML `text` read from `source`, or raise ConfigError."""
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(source, "<file>", f"not valid TOML: {exc}",
                              _line_from_message(str(exc))) from None
        return cls(source, data, FieldLines(text))

    def decode(self, kind: type[T], error: type[ConfigError] = ConfigError) -> T:
        """The whole document as `kind`, or `error` naming the line and field."""
        return decode(kind, self.data, self.source, lines=self.lines, error=error)

    def error(self, field: str, problem: str, error: type[E] = ConfigError) -> E:  # type: ignore[assignment]
        """An `error` for `field` of this document, with the line it was written on."""
        return error(self.source, field, problem, self.lines.line_of(field))


def load_toml(path: Path, kind: type[T]) -> T:
    """Read a TOML file and decode it as `kind` (see `decode`)."""
    return TomlDocument.read(path).decode(kind)


def decode(kind: type[T], data: object, source: Path | str, *, prefix: str = "",
           lines: FieldLines | None = None, error: type[ConfigError] = ConfigError) -> T:
    """Decode plain data (parsed TOML or JSON) as `kind`, or raise ConfigError.

    `prefix` is the dotted field the data sits at inside its file (``backend_options``), so the
    error names the field as the operator wrote it; `lines` maps fields to line numbers.
    """
    try:
        return msgspec.convert(data, type=kind, strict=True)
    except msgspec.ValidationError as exc:
        field, problem = explain(kind, data, str(exc))
        full = _join(prefix, field) if field else (prefix or "<file>")
        raise error(source, full, problem, lines.line_of(full) if lines else 0) from None


_AT = re.compile(r"^(?P<message>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)
_STEP = re.compile(r"\.([A-Za-z0-9_\-]+)|\[(\d+|\.\.\.)\]")


def explain(kind: type[object], data: object, message: str) -> tuple[str, str]:
    """The dotted field and a plain-words problem for a msgspec validation `message`."""
    match = _AT.match(message)
    raw = match.group("message") if match else message
    named, info, value = _resolve(kind, data, _steps(match.group("path") or "" if match else ""))
    field = _field_name(named)
    missing = re.match(r"Object missing required field `(.+)`$", raw)
    if missing:
        return _join(field, missing.group(1)), "is required"
    unknown = re.match(r"Object contains unknown field `(.+)`$", raw)
    if unknown:
        valid = ", ".join(f.encode_name for f in info.fields) if isinstance(
            info, mi.StructType) else ""
        return _join(field, unknown.group(1)), (
            f"unknown field (valid: {valid})" if valid else "unknown field")
    if isinstance(info, mi.EnumType):
        allowed = ", ".join(str(m.value) for m in info.cls)
        return field, f"unknown {info.cls.__name__} {value!r} (allowed: {allowed})"
    if isinstance(info, mi.LiteralType):
        allowed = ", ".join(repr(v) for v in info.values)
        return field, f"must be one of {allowed}, got {value!r}"
    bound = re.match(r"Expected `\w+` (?:of length )?(>=|<=|>|<) (\S+)$", raw)
    if bound:
        words = {">=": "at least", "<=": "at most", ">": "more than", "<": "less than"}
        number = bound.group(2).removesuffix(".0")
        limit = f"{words[bound.group(1)]} {number}"
        if isinstance(info, mi.IntType | mi.FloatType) and None not in (info.ge, info.le):
            low, high = (str(v).removesuffix(".0") for v in (info.ge, info.le))
            return field, f"must be between {low} and {high}"
        if isinstance(value, str):
            return field, f"must be {limit} characters long"
        if isinstance(value, list | Mapping):
            return field, f"must have {limit} {'entry' if number == '1' else 'entries'}"
        return field, f"must be {limit}"
    if raw.endswith("with a timezone component"):
        return field, "a date-time must carry a UTC offset (e.g. 2026-11-02T09:00:00+00:00)"
    if raw.endswith("with no timezone component"):
        return field, "give a local date-time, without a UTC offset"
    encoded = re.match(r"Invalid RFC3339 encoded (date|datetime|time)$", raw)
    if encoded:
        forms = {"date": "a date (YYYY-MM-DD)", "datetime": "a date-time with a UTC offset",
                 "time": "a time of day (HH:MM:SS)"}
        return field, f"expected {forms[encoded.group(1)]}, got {value!r}"
    if raw.startswith("Expected `str` matching regex"):
        return field, f"{value!r} is not in the allowed form"
    if raw.startswith("Expected") and info is not None:
        return field, f"expected {describe(info)}, got {_describe_value(value)}"
    return field, raw[:1].lower() + raw[1:]


def describe(info: mi.Type) -> str:
    """Plain words for a type, as an IG lead or operator would say it."""
    match info:
        case mi.StrType():
            return "a string"
        case mi.BoolType():
            return "true or false"
        case mi.IntType():
            return "a whole number"
        case mi.FloatType():
            return "a number"
        case mi.DateTimeType():
            return "a date-time"
        case mi.DateType():
            return "a date"
        case mi.TimeType():
            return "a time of day"
        case mi.ListType() | mi.VarTupleType() | mi.SetType() | mi.FrozenSetType():
            return f"a list of {_plural(info.item_type)}"
        case mi.StructType() | mi.DictType() | mi.TypedDictType() | mi.DataclassType():
            return "a table"
        case mi.EnumType():
            return "one of " + ", ".join(str(m.value) for m in info.cls)
        case mi.LiteralType():
            return "one of " + ", ".join(repr(v) for v in info.values)
        case mi.UnionType():
            return " or ".join(describe(t) for t in info.types if not isinstance(t, mi.NoneType))
        case _:
            return "a value"


def _plural(info: mi.Type) -> str:
    words = {"a string": "strings", "true or false": "true/false values",
             "a whole number": "whole numbers", "a number": "numbers", "a date": "dates",
             "a date-time": "date-times", "a table": "tables", "a time of day": "times of day"}
    single = describe(info)
    return words.get(single, single)


def _describe_value(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int):
        return "a whole number"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, datetime):
        return "a date-time"
    if isinstance(value, date):
        return "a date"
    if isinstance(value, time):
        return "a time of day"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, Mapping):
        return "a table"
    return type(value).__name__


def _steps(path: str) -> list[str | int | None]:
    """`.a[0].b[...]` as ["a", 0, "b", None] (None: a dict key msgspec does not name)."""
    out: list[str | int | None] = []
    for name, index in _STEP.findall(path):
        if name:
            out.append(name)
        elif index == "...":
            out.append(None)
        else:
            out.append(int(index))
    return out


def _resolve(kind: type[object], data: object, steps: list[str | int | None],
             ) -> tuple[list[str | int], mi.Type | None, object]:
    """Walk `steps` through the type and the data: the named steps, the type, the value there.

    A dict key msgspec leaves unnamed is found by decoding each entry until one fails.
    """
    info: mi.Type | None = mi.type_info(kind)
    value = data
    named: list[str | int] = []
    for step in steps:
        info = _unwrap(info, value)
        if isinstance(info, mi.StructType) and isinstance(step, str) and isinstance(value, Mapping):
            field = next((f for f in info.fields if f.encode_name == step), None)
            info = field.type if field else None
            value = value.get(step)
            named.append(step)
        elif isinstance(step, int) and isinstance(value, list | tuple) and step < len(value):
            inner = info.item_type if isinstance(info, mi.ListType | mi.VarTupleType) else None
            info, value = inner, value[step]
            named.append(step)
        elif isinstance(info, mi.DictType) and isinstance(value, Mapping):
            key = step if isinstance(step, str) else _failing_key(info, value)
            if key is None:
                break
            key_type = info.key_type
            bad_key = not _fits(key_type, key)
            named.append(str(key))
            info, value = (key_type, key) if bad_key else (info.value_type, value.get(key))
        else:
            break
    return named, _unwrap(info, value), value


def _failing_key(info: mi.DictType, value: Mapping[object, object]) -> object:
    for key, item in value.items():
        if not _fits(info.key_type, key) or not _fits(info.value_type, item):
            return key
    return None


def _fits(info: mi.Type, value: object) -> bool:
    if isinstance(info, mi.LiteralType):
        return value in info.values
    try:
        msgspec.convert(value, type=_python_type(info), strict=True)
    except (msgspec.ValidationError, TypeError):
        return False
    return True


def _python_type(info: mi.Type) -> object:
    """The Python type `info` describes (constraints included), to decode one entry with.

    A type built at run time, so typed `object`: it is only handed to `msgspec.convert`.
    """
    base: type
    metas: list[msgspec.Meta]
    match info:
        case mi.StructType() | mi.EnumType():
            return info.cls
        case mi.LiteralType():
            return Literal[info.values]
        case mi.DictType():
            return dict[_python_type(info.key_type), _python_type(info.value_type)]  # type: ignore[misc]
        case mi.ListType():
            return list[_python_type(info.item_type)]  # type: ignore[misc]
        case mi.VarTupleType():
            return tuple[_python_type(info.item_type), ...]  # type: ignore[misc]
        case mi.SetType():
            return set[_python_type(info.item_type)]  # type: ignore[misc]
        case mi.FrozenSetType():
            return frozenset[_python_type(info.item_type)]  # type: ignore[misc]
        case mi.UnionType():
            return Union[tuple(_python_type(t) for t in info.types)]  # noqa: UP007
        case mi.IntType() | mi.FloatType():
            base = int if isinstance(info, mi.IntType) else float
            # one Meta a bound: msgspec combines them, and refuses gt with ge in one Meta
            metas = [m for m in (msgspec.Meta(gt=info.gt), msgspec.Meta(ge=info.ge),
                                 msgspec.Meta(lt=info.lt), msgspec.Meta(le=info.le))
                     if m != msgspec.Meta()]
        case mi.StrType():
            base = str
            metas = [m for m in (msgspec.Meta(min_length=info.min_length,
                                              max_length=info.max_length, pattern=info.pattern),)
                     if m != msgspec.Meta()]
        case mi.BoolType():
            return bool
        case mi.NoneType():
            return None
        case mi.DateTimeType():
            return datetime
        case mi.DateType():
            return date
        case mi.TimeType():
            return time
        case mi.CustomType():
            return info.cls
        case _:
            return object  # msgspec decodes anything as `object`
    # a number or a string, with its limits where it has any
    return Annotated[(base, *metas)] if metas else base


def _unwrap(info: mi.Type | None, value: object) -> mi.Type | None:
    """The branch of an optional or union type that `value` belongs to."""
    if not isinstance(info, mi.UnionType):
        return info
    branches = [t for t in info.types if not isinstance(t, mi.NoneType)]
    if len(branches) == 1:
        return branches[0]
    if isinstance(value, Mapping):
        return next((t for t in branches if isinstance(t, mi.StructType | mi.DictType)), info)
    if isinstance(value, list):
        return next((t for t in branches if isinstance(t, mi.ListType)), info)
    return info


def _field_name(steps: list[str | int]) -> str:
    out = ""
    for step in steps:
        out = f"{out}[{step}]" if isinstance(step, int) else _join(out, step)
    return out


def _join(base: str, name: str) -> str:
    if not base:
        return name
    if not name:
        return base
    return f"{base}{name}" if name.startswith("[") else f"{base}.{name}"


def _line_from_message(message: str) -> int:
    match = re.search(r"line (\d+)", message)
    return int(match.group(1)) if match else 0


# --- decoding that collects every problem instead of stopping at the first

#: Why a field was refused by `collect`.
FlawKind = Literal["unknown_field", "required", "wrong_type"]


@dataclass(frozen=True)
class Flaw:
    """One problem `collect` found: the dotted field, why, what was expected and what was there.

    `item` is true for an entry of a list or a table of values (not a field of a struct), so a
    caller can word "unknown Rag 'x'" for a list entry and "must be text" for a field.
    """

    field: str
    kind: FlawKind
    expected: mi.Type | None = None
    value: object = None
    item: bool = False


@dataclass(frozen=True)
class Collected(Generic[T]):
    """What `collect` made of a table: the struct when every required field decoded.

    `parts` holds every field that decoded (by attribute name) even when the struct could not
    be built, so checks that need one field can still run while another is wrong.
    """

    value: T | None
    parts: Mapping[str, object]

    def part(self, name: str, kind: type[P]) -> P | None:
        """The decoded field `name` if it is a `kind`, else None (missing or wrong)."""
        found = getattr(self.value, name) if self.value is not None else self.parts.get(name)
        return found if isinstance(found, kind) else None


class _Bad:
    """The marker for a value that did not decode (its flaws are already recorded)."""


_BAD = _Bad()


def collect(kind: type[T], data: object, flaws: list[Flaw], prefix: str = "") -> Collected[T]:
    """Decode `data` as the struct `kind` like `decode`, but record every problem in `flaws`.

    msgspec stops at the first error; this decodes the whole table at once and, only when that
    fails, field by field (and entry by entry in lists and tables), so a linter can report every
    unknown field, missing field and wrong value of a file at once. Entries of a list or table
    that decode are kept; a field that does not decode falls back to its default if it has one.
    """
    info = mi.type_info(kind)
    if not isinstance(info, mi.StructType):
        raise TypeError(f"collect needs a msgspec Struct, not {kind!r}")
    try:
        return Collected(msgspec.convert(data, type=kind, strict=True, dec_hook=_from_plain),
                         {})
    except msgspec.ValidationError:
        pass
    if not isinstance(data, Mapping):
        flaws.append(Flaw(prefix, "wrong_type", info, data))
        return Collected(None, {})
    parts, complete = _struct_fields(info, data, prefix, flaws)
    return Collected(kind(**parts) if complete else None, parts)


def _convert(data: object, info: mi.Type) -> object:
    return msgspec.convert(data, type=_python_type(info), strict=True, dec_hook=_from_plain)


def _from_plain(kind: type, value: object) -> object:
    """msgspec's hook for a custom field type: its `from_plain(value)` classmethod decodes it."""
    decoder = getattr(kind, "from_plain", None)
    if decoder is None:
        raise NotImplementedError(f"{kind!r} has no from_plain")
    return decoder(value)


def _struct_fields(info: mi.StructType, data: Mapping[str, object], prefix: str,
                   flaws: list[Flaw]) -> tuple[dict[str, object], bool]:
    names = {f.encode_name for f in info.fields}
    flaws.extend(Flaw(_join(prefix, str(key)), "unknown_field")
                 for key in data if key not in names)
    parts: dict[str, object] = {}
    complete = True
    for f in info.fields:
        field = _join(prefix, f.encode_name)
        if f.encode_name not in data:
            if f.required:
                flaws.append(Flaw(field, "required", f.type))
                complete = False
            else:
                parts[f.name] = _default(f)
            continue
        value = _collect_value(f.type, data[f.encode_name], field, flaws, item=False)
        if isinstance(value, _Bad):
            if f.required:
                complete = False
            else:
                parts[f.name] = _default(f)
        else:
            parts[f.name] = value
    return parts, complete


def _default(f: mi.Field) -> object:
    return f.default_factory() if f.default is msgspec.NODEFAULT else f.default


def _collect_value(info: mi.Type, data: object, field: str, flaws: list[Flaw], *,
                   item: bool) -> object:
    """`data` decoded as `info`, or `_BAD` with its flaws recorded."""
    try:
        return _convert(data, info)
    except msgspec.ValidationError:
        pass
    info = _branch(info, data)
    if isinstance(info, mi.StructType) and isinstance(data, Mapping):
        parts, complete = _struct_fields(info, data, field, flaws)
        return info.cls(**parts) if complete else _BAD
    containers = (mi.ListType, mi.VarTupleType, mi.SetType, mi.FrozenSetType)
    if isinstance(info, containers) and isinstance(data, list):
        # entries of a list of tables are named by index; entries of a list of values by the list
        tables = isinstance(info.item_type, mi.StructType)
        good = [value for i, entry in enumerate(data)
                if not isinstance(value := _collect_value(
                    info.item_type, entry, f"{field}[{i}]" if tables else field, flaws,
                    item=True), _Bad)]
        maker: dict[type[mi.Type], Callable[[list[object]], object]] = {
            mi.ListType: list, mi.VarTupleType: tuple, mi.SetType: set,
            mi.FrozenSetType: frozenset}
        return maker[type(info)](good)
    if isinstance(info, mi.DictType) and isinstance(data, Mapping):
        out: dict[object, object] = {}
        for key, entry in data.items():
            entry_field = _join(field, str(key))
            # an entry under a key that is wrong is not looked into: the key is the problem
            decoded_key = _collect_value(info.key_type, key, entry_field, flaws, item=True)
            if isinstance(decoded_key, _Bad):
                continue
            value = _collect_value(info.value_type, entry, entry_field, flaws, item=True)
            if not isinstance(value, _Bad):
                out[decoded_key] = value
        return out
    flaws.append(Flaw(field, "wrong_type", info, data, item))
    return _BAD


def _branch(info: mi.Type, value: object) -> mi.Type:
    """The one non-None branch of an optional type (for a value that is not None)."""
    if isinstance(info, mi.UnionType):
        branches = [t for t in info.types if not isinstance(t, mi.NoneType)]
        if len(branches) == 1 and value is not None:
            return branches[0]
    return info
