"""Validate plain mappings (parsed YAML) into frozen dataclasses.

Each dataclass field may carry ``metadata={"check": callable}``; the callable
gets the already type-checked value and returns an error string or None.
Supported annotations: ``int``, ``float``, ``bool``, ``str``, ``dict``,
``tuple[int, ...]``, ``X | None`` and ``X | tuple[X, ...]`` of those, nested
dataclasses, and unions of dataclasses told apart by the field their class
names in ``DISCRIMINATOR`` (``model.family``). A dataclass may define
``problems()``, yielding ``(field, problem)`` for checks across its fields.
Errors raise ``ConfigError`` naming the dotted field path.
"""

import dataclasses
import types
import typing

from normexp.errors import ConfigError
from normexp.registry import closest, unknown_name_message

TYPE_NAMES = {int: "an integer", float: "a number", bool: "true or false", str: "a string",
              dict: "a mapping"}


def build(cls, mapping, source, path):
    """Return ``cls(**mapping)`` after checking keys, types and field checks."""
    if not isinstance(mapping, dict):
        raise ConfigError(source, path, f"must be a mapping, got {describe(mapping)}")
    fields = {field.name: field for field in dataclasses.fields(cls)}
    for key in mapping:
        if key not in fields:
            raise ConfigError(source, join(path, key), unknown_key_problem(key, fields))
    values = {}
    hints = typing.get_type_hints(cls)
    for name, field in fields.items():
        if name not in mapping:
            continue
        field_path = join(path, name)
        value = coerce(hints[name], mapping[name], source, field_path)
        check = field.metadata.get("check")
        # null in a field that allows it means "not set": there is no value to check.
        problem = check(value) if check and value is not None else None
        if problem:
            choices = getattr(check, "choices", list)()
            raise ConfigError(source, field_path, f"{problem}, got {mapping[name]!r}"
                                                  f"{suggestion(value, choices)}")
        values[name] = value
    instance = cls(**values)
    for field_name, problem in getattr(instance, "problems", tuple)():
        raise ConfigError(source, join(path, field_name), problem)
    return instance


def choose_member(members, mapping, source, path):
    """The union member whose discriminator default matches ``mapping``'s, and its fields.

    A field of another member set to null is dropped, so a variant can switch
    family and shed a field it inherited (``{family: cnn, hidden: null}``).
    """
    key = members[0].DISCRIMINATOR
    by_name = {default_of(member, key): member for member in members}
    if not isinstance(mapping, dict):
        raise ConfigError(source, path, f"must be a mapping, got {describe(mapping)}")
    name = mapping.get(key, default_of(members[0], key))
    if not isinstance(name, str) or name not in by_name:
        raise ConfigError(source, join(path, key), unknown_name_message(
            f"{path.rpartition('.')[2] or 'model'} {key}", name, sorted(by_name)))
    chosen = by_name[name]
    own = {field.name for field in dataclasses.fields(chosen)}
    kept = {}
    for field_name, field_value in mapping.items():
        owners = [other for other, member in by_name.items() if field_name in
                  {field.name for field in dataclasses.fields(member)}]
        if field_name in own or not owners:
            kept[field_name] = field_value
        elif field_value is not None:  # null drops a field inherited from another member
            raise ConfigError(source, join(path, field_name), (
                f"does not apply to {key} {name!r} (it is a field of: {', '.join(owners)}); "
                f"{name} fields: {', '.join(sorted(own))}"))
    return chosen, kept


def default_of(cls, name):
    return next(field.default for field in dataclasses.fields(cls) if field.name == name)


def coerce(annotation, value, source, path):
    """Check ``value`` against ``annotation``; return it in its frozen form."""
    if dataclasses.is_dataclass(annotation):
        return build(annotation, value, source, path)
    options = typing.get_args(annotation) if is_union(annotation) else ()
    if options:
        if value is None and type(None) in options:
            return None
        kinds = [option for option in options if option is not type(None)]
        members = [kind for kind in kinds if dataclasses.is_dataclass(kind)]
        if len(members) > 1:
            return build(*choose_member(members, value, source, path), source, path)
        for kind in kinds:
            if typing.get_origin(kind) is tuple:
                if isinstance(value, list):
                    return coerce(kind, value, source, path)
                continue
            if not isinstance(kind, type) or dataclasses.is_dataclass(kind):
                return coerce(kind, value, source, path)
            if matches(kind, value):
                return coerce(kind, value, source, path)
        allowed = " or ".join(TYPE_NAMES.get(kind, "a list") for kind in kinds)
        raise ConfigError(source, path, f"must be {allowed}, got {describe(value)}")
    if typing.get_origin(annotation) is tuple:
        return coerce_tuple(typing.get_args(annotation)[0], value, source, path)
    if matches(annotation, value):
        return float(value) if annotation is float else value
    raise ConfigError(source, path, f"must be {TYPE_NAMES[annotation]}, got {describe(value)}")


def coerce_tuple(item_type, value, source, path):
    if not isinstance(value, list):
        raise ConfigError(source, path, f"must be a list, got {describe(value)}")
    return tuple(coerce(item_type, item, source, f"{path}[{index}]")
                 for index, item in enumerate(value))


def matches(annotation, value):
    # bool is a subclass of int in Python; a YAML `true` is never a number here.
    if isinstance(value, bool):
        return annotation is bool
    if annotation is float:
        return isinstance(value, (int, float))
    return isinstance(value, annotation)


def is_union(annotation):
    return typing.get_origin(annotation) in (typing.Union, types.UnionType)


def unknown_key_problem(key, fields):
    suggestion = closest(key, fields)
    hint = f"; did you mean {suggestion!r}?" if suggestion else ""
    return f"unknown key{hint} (valid: {', '.join(fields)})"


def describe(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, (dict, list)):
        return type(value).__name__
    return f"{type(value).__name__} {value!r}"


def join(path, key):
    text = str(key)
    if not text.isprintable() or text.strip() != text or not text:
        text = repr(text)  # a key of spaces or newlines must stay visible, on one line
    return f"{path}.{text}" if path else text


def field(default, check=None, choices=None):
    """A dataclass field with a default, an optional value check and, for the JSON
    Schema, optional allowed names (a callable) when ``check`` does not carry them."""
    metadata = {"check": check, "choices": choices}
    if isinstance(default, (dict, list)):
        return dataclasses.field(default_factory=lambda: type(default)(default),
                                 metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def positive(value):
    return None if value > 0 else "must be > 0"


def one_of(*names):
    def check(value):
        return None if value in names else f"must be one of: {', '.join(names)}"
    check.choices = lambda: list(names)  # for the JSON Schema (normexp.config.json_schema)
    return check


def in_registry(registry):
    def check(value):
        return None if value in registry else (
            f"unknown {registry.kind}; valid: {', '.join(registry.names())}")
    check.choices = registry.names
    return check


def suggestion(value, names):
    """``; did you mean 'average'?`` for a near miss (``avg``), else nothing."""
    nearest = closest(value, names) if isinstance(value, str) else None
    return f"; did you mean {nearest!r}?" if nearest else ""
