"""The config language as a JSON Schema (``python run.py --schema``), for editors.

Generated from the same dataclasses that validate a config, so it cannot
drift from them: field types, defaults, registry names as enums, and the
model section as one schema per ``model.family``. Editors with YAML support
(yaml-language-server: VS Code's YAML extension, Neovim, Helix, JetBrains)
complete and check a study config against it. The validator at load time
stays the authority: ranges and cross-field rules (GroupNorm groups, kernel
sizes) are checked there, with one-line errors.
"""

import dataclasses
import types
import typing

from normexp.config import study
from normexp.config import sections
from normexp.config.families import FAMILIES

SCHEMA_URI = "https://json-schema.org/draft/2020-12/schema"
# section.field, or section.field.argument for a mapping field (train.optimizer.learning_rate)
SWEEP_KEY_PATTERN = r"^(data|train|model)\.[a-z_0-9]+(\.[A-Za-z_][A-Za-z0-9_]*)?$"
PRIMITIVES = {int: {"type": "integer"}, float: {"type": "number"}, bool: {"type": "boolean"},
              str: {"type": "string"}, dict: {"type": "object"}}
SECTION_CLASSES = {"data": sections.DataConfig, "train": sections.TrainConfig}


def config_schema():
    """The whole study config: header keys, sections, variants, sweep, report."""
    header = object_schema(study.StudyHeader, skip=("data", "train", "model", "variants",
                                                     "report", "sweep"))
    properties = header["properties"]
    for section, cls in SECTION_CLASSES.items():
        properties[section] = object_schema(cls)
    properties["train"]["properties"]["optimizer"] = optimizer_schema()
    properties["model"] = model_schema()
    properties["report"] = object_schema(sections.ReportConfig)
    properties["sweep"] = {"type": "object", "description": "dotted key → list of values",
                           "propertyNames": {"pattern": SWEEP_KEY_PATTERN},
                           "additionalProperties": {"type": "array", "minItems": 1}}
    properties["variants"] = {"type": "array", "minItems": 1, "items": variant_schema()}
    return {"$schema": SCHEMA_URI, "title": "normexp study config",
            "description": "A normexp study: python run.py --config <file>", **header}


def object_schema(cls, skip=(), partial=False):
    hints = typing.get_type_hints(cls)
    properties = {}
    for field in dataclasses.fields(cls):
        if field.name in skip:
            continue
        schema = type_schema(hints[field.name])
        choices = (field.metadata.get("choices")
                   or getattr(field.metadata.get("check"), "choices", None))
        if choices is not None:
            schema = with_choices(schema, list(choices()))
        if any(name == field.name for _, name in study.NAMED_MAPPINGS):
            schema = {"anyOf": [{"type": "string", "description": "shorthand for {name: ...}"},
                                schema]}   # the loader accepts a bare name
        default = field_default(field)
        if not partial and default is not dataclasses.MISSING:
            schema = {**schema, "default": default}
        properties[field.name] = schema
    return {"type": "object", "properties": properties, "additionalProperties": False}


def with_choices(schema, names):
    """Allowed names on a string field, or on the strings and lists of a union."""
    if "anyOf" in schema:
        return {"anyOf": [with_choices(option, names) for option in schema["anyOf"]]}
    if schema.get("type") == "array":
        return {**schema, "items": with_choices(schema["items"], names)}
    if schema.get("type") == "string":
        return {**schema, "enum": names}
    return schema


def field_default(field):
    if field.default is not dataclasses.MISSING:
        value = field.default
    elif field.default_factory is not dataclasses.MISSING:
        value = field.default_factory()
    else:
        return dataclasses.MISSING
    if dataclasses.is_dataclass(value):
        return dataclasses.MISSING
    return sections.json_ready(value)


def type_schema(annotation):
    if annotation in PRIMITIVES:
        return dict(PRIMITIVES[annotation])
    if typing.get_origin(annotation) is tuple:
        return {"type": "array", "items": type_schema(typing.get_args(annotation)[0])}
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        options = typing.get_args(annotation)
        return {"anyOf": [{"type": "null"} if option is type(None) else type_schema(option)
                          for option in options]}
    if dataclasses.is_dataclass(annotation):
        return object_schema(annotation)
    return {}


def optimizer_schema():
    from normexp.config.optimizers import DECAYS, OPTIMIZERS

    schedule = {"type": "object", "additionalProperties": False, "properties": {
        "warmup_steps": {"type": "integer", "minimum": 0, "default": 0},
        "decay": {"enum": list(DECAYS), "default": "constant"},
        "final_fraction": {"type": "number", "minimum": 0, "maximum": 1, "default": 0}}}
    named = {"type": "object", "required": ["name"],
             "properties": {"name": {"enum": OPTIMIZERS.names()},
                            "learning_rate": {"type": "number", "exclusiveMinimum": 0},
                            "schedule": schedule}}
    return {"anyOf": [{"enum": OPTIMIZERS.names()}, named],
            "description": "a name, or {name, learning_rate, schedule, other Keras optimizer "
                           "arguments}"}


def model_schema(partial=False):
    """One schema per family, chosen by ``family`` (absent means mlp)."""
    names = FAMILIES.names()
    clauses = []
    for name in names:
        family = object_schema(FAMILIES.get(name).config_class, partial=partial)
        condition = ({"properties": {"family": {"const": name}}} if name != "mlp" else
                     {"anyOf": [{"not": {"required": ["family"]}},
                                {"properties": {"family": {"const": "mlp"}}}]})
        if name != "mlp":
            condition["required"] = ["family"]
        clauses.append({"if": condition, "then": family})
    return {"type": "object", "description": f"model.family: {', '.join(names)} (default mlp)",
            "properties": {"family": {"enum": names, "default": "mlp"}}, "allOf": clauses}


def variant_schema():
    """A variant overrides any section field; its family may be inherited, so keys are loose."""
    fields = {}
    for name in FAMILIES.names():
        fields.update(object_schema(FAMILIES.get(name).config_class, partial=True)["properties"])
    properties = {"name": {"type": "string", "pattern": study.NAME_PATTERN.pattern},
                  "description": {"type": "string"},
                  "model": {"type": "object", "properties": fields,
                            "additionalProperties": False}}
    for section, cls in SECTION_CLASSES.items():
        properties[section] = object_schema(cls, partial=True)
    return {"type": "object", "required": ["name"], "properties": properties,
            "additionalProperties": False}
