"""Load a study config (YAML) into a validated, frozen ``Study``.

Everything is checked here, before anything trains: unknown keys (with the
nearest valid one), types, ranges, registry names, variant names, sweep keys
and the report's references to variants. Each problem raises ``ConfigError``
naming the file and the field. YAML is read with ``yaml.safe_load`` only.
"""

import copy
import dataclasses
import hashlib
import itertools
import json
import re
import typing

from normexp import backends
from normexp.config import claim_checks, run_checks
from normexp.config import schema
from normexp.config.files import display_path, read_yaml, resolve_path
from normexp.errors import ConfigError
from normexp.naming import condition_folder
from normexp.config.sections import (ProbeConfig, ReportConfig, RunSettings, check_report,
                                     fingerprint_view, settings_to_dict)

SECTIONS = ("data", "train", "model")
# Fields given as {name: ..., **arguments}, where a bare string is shorthand for the name.
NAMED_MAPPINGS = (("train", "optimizer"), ("model", "kernel_initializer"),
                  ("model", "output_kernel_initializer"))
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
NAME_RULE = ("must be 1-64 characters of letters, digits, '_', '.', '-', starting with a "
             "letter or digit, without '__'")


@dataclasses.dataclass(frozen=True)
class StudyHeader:
    """The top-level keys of a config file (sections are validated separately)."""

    name: str | None = schema.field(None)
    description: str = schema.field("")
    seeds: tuple[int, ...] = schema.field((0, 1, 2), lambda seeds: None if seeds and all(
        0 <= seed < 2 ** 32 for seed in seeds) and len(set(seeds)) == len(seeds)
        else "must be a non-empty list of distinct integers in [0, 2^32)")
    data: dict = schema.field({})
    train: dict = schema.field({})
    model: dict = schema.field({})
    variants: tuple[dict, ...] = schema.field(())
    sweep: dict = schema.field({})
    report: dict = schema.field({})
    jobs: int | None = schema.field(None, schema.positive)


@dataclasses.dataclass(frozen=True)
class RunSpec:
    """One training run: a variant at one sweep point with one seed."""

    study: str
    variant: str
    point: tuple  # ((dotted_key, value), ...) of the sweep; () without a sweep
    seed: int
    settings: RunSettings

    @property
    def condition(self):
        """Variant plus sweep point: what the report aggregates seeds over."""
        return condition_folder(self.variant, self.point)

    def resolved(self):
        """The complete JSON-ready description written to ``config.json``."""
        return {"study": self.study, "variant": self.variant, "condition": self.condition,
                "point": {key: value for key, value in self.point}, "seed": self.seed,
                **settings_to_dict(self.settings)}

    def backend(self):
        """The Keras backend this run trains on: its ``train.backend``, else the process's."""
        pinned = self.settings.train.backend
        return backends.selected() if pinned == "any" else pinned

    def fingerprint(self):
        """Hash of what defines the result (the data folder's location does not). The
        Keras backend counts when it is not TensorFlow, so a run trained on one backend
        is never taken as done for the other, and TensorFlow stores keep their hashes."""
        defining = fingerprint_view(settings_to_dict(self.settings))
        defining["data"].pop("dir")
        defining["seed"] = self.seed
        if self.backend() != "tensorflow":
            defining["backend"] = self.backend()
        return hashlib.sha256(json.dumps(defining, sort_keys=True).encode()).hexdigest()[:16]


@dataclasses.dataclass(frozen=True)
class Study:
    name: str
    description: str
    source: str
    seeds: tuple
    variants: tuple      # variant names in config order
    conditions: tuple    # condition labels in config order
    runs: tuple          # RunSpec, ordered condition-major, then seed
    report: ReportConfig
    jobs: int | None


def load_study(config, overrides=None):
    """Read, override (``{"seeds": [...], "epochs": N}``), validate and expand."""
    path = resolve_path(config)
    raw = read_yaml(path)
    apply_overrides(raw, overrides or {})
    if isinstance(raw, dict) and "benchmark" in raw:
        raise ConfigError(path, "benchmark", "this is a timing benchmark's config, not a study: "
                          f"run python benchmarks/bench_norm_cost.py --config {path}")
    header = schema.build(StudyHeader, raw, path, "")
    name = header.name or path.stem
    if not NAME_PATTERN.match(name) or "__" in name:
        raise ConfigError(path, "name", f"{NAME_RULE}, got {name!r}")
    base = {section: copy.deepcopy(getattr(header, section)) for section in SECTIONS}
    validate_settings(base, path, "")
    variants = expand_variants(header.variants, base, path)
    points = expand_sweep(header.sweep, variants, path)
    report = schema.build(ReportConfig, header.report, path, "report")
    check_report(report, [name for name, _ in variants], path)
    runs = tuple(RunSpec(name, variant, point, seed, settings)
                 for variant, merged in variants for point in points
                 for settings in [validate_settings(apply_point(merged, point), path, "")]
                 for seed in header.seeds)
    claim_checks.check_claims(report.claims, [name for name, _ in variants], header.sweep, path,
                        lambda variant: enabled_probes(runs, variant))
    conditions = tuple(dict.fromkeys(run.condition for run in runs))
    return Study(name, header.description, display_path(path), header.seeds,
                 tuple(variant for variant, _ in variants), conditions, runs, report,
                 header.jobs)


def enabled_probes(runs, variant):
    """Probes switched on in every run of ``variant``."""
    return set(ProbeConfig.NAMES).intersection(*(run.settings.train.probes.switched_on()
                                                for run in runs if run.variant == variant))


def apply_overrides(raw, overrides):
    if "seeds" in overrides:
        raw["seeds"] = list(overrides["seeds"])
    if "epochs" in overrides:
        train = raw.setdefault("train", {})
        if isinstance(train, dict):
            train["epochs"] = overrides["epochs"]
        for variant in raw.get("variants") or []:
            if isinstance(variant, dict) and isinstance(variant.get("train"), dict):
                variant["train"].pop("epochs", None)


def validate_settings(merged, path, prefix):
    """``RunSettings`` from merged section mappings, plus cross-field checks."""
    merged = copy.deepcopy(merged)
    for section, name in NAMED_MAPPINGS:
        values = merged.get(section)
        if isinstance(values, dict) and isinstance(values.get(name), str):
            values[name] = {"name": values[name]}  # a bare name means its defaults
    settings = schema.build(RunSettings, merged, path, prefix)
    run_checks.check_run(settings, path, prefix)
    return settings


def expand_variants(entries, base, path):
    """``[(name, merged_sections)]``; each entry deep-merges over the base."""
    if not entries:
        raise ConfigError(path, "variants", "needs at least one entry, e.g. "
                          "'variants: [{name: no_norm, model: {norm: none}}]'")
    seen, variants = set(), []
    for index, entry in enumerate(entries):
        field_path = f"variants[{index}]"
        if not isinstance(entry, dict):
            raise ConfigError(path, field_path, f"must be a mapping, got {schema.describe(entry)}")
        for key in entry:
            if key not in ("name", "description", *SECTIONS):
                raise ConfigError(path, schema.join(field_path, key), schema.unknown_key_problem(
                    key, ("name", "description", *SECTIONS)))
        name = entry.get("name")
        check_variant_name(name, seen, path, f"{field_path}.name")
        seen.add(name)
        overrides = {section: entry[section] for section in SECTIONS if section in entry}
        merged = deep_merge(base, overrides)
        validate_settings(merged, path, f"{field_path}({name})")
        variants.append((name, merged))
    return variants


def check_variant_name(name, seen, path, field_path):
    if name is None:
        raise ConfigError(path, field_path, "every variant needs a name")
    if not isinstance(name, str) or not NAME_PATTERN.match(name) or "__" in name:
        raise ConfigError(path, field_path, f"{NAME_RULE}, got {name!r}")
    if name in seen:
        raise ConfigError(path, field_path, f"duplicate variant name {name!r}")


def deep_merge(base, override):
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def expand_sweep(sweep, variants, path):
    """Every combination of the sweep's values, as tuples of (key, value)."""
    for key, values in sweep.items():
        check_sweep_key(key, path)
        if not isinstance(values, list) or not values:
            raise ConfigError(path, f"sweep.{key}", "must be a non-empty list of values, got "
                              f"{schema.describe(values)}")
        for index, value in enumerate(values):
            for name, merged in variants:
                try:
                    validate_settings(apply_point(merged, ((key, value),)), path, "")
                except ConfigError as error:
                    raise ConfigError(path, f"sweep.{key}[{index}]",
                                      f"{error.problem} (for variant {name!r})") from None
    keys = list(sweep)
    return [tuple(zip(keys, combination))
            for combination in itertools.product(*(sweep[key] for key in keys))]


def check_sweep_key(key, path):
    """``section.field``, or ``section.field.argument`` for a mapping field
    (``train.optimizer.learning_rate``, ``model.kernel_initializer.stddev``)."""
    section, _, rest = str(key).partition(".")
    field_name, _, argument = rest.partition(".")
    if section not in SECTIONS:
        raise ConfigError(path, f"sweep.{key}", "must be a dotted key starting with one of "
                          f"{', '.join(SECTIONS)} (e.g. train.batch_size)")
    section_type = {f.name: f.type for f in dataclasses.fields(RunSettings)}[section]
    # A union (the model families) accepts the fields of any member.
    types = {f.name: f.type for member in typing.get_args(section_type) or (section_type,)
             for f in dataclasses.fields(member)}
    if field_name not in types:
        raise ConfigError(path, f"sweep.{key}",
                          f"names no field: {schema.unknown_key_problem(field_name, types)}")
    if argument and types[field_name] is not dict:
        raise ConfigError(path, f"sweep.{key}", f"{section}.{field_name} is not a mapping, so "
                          "it has no sub-keys to sweep")


def apply_point(merged, point):
    result = copy.deepcopy(merged)
    for key, value in point:
        section, _, rest = key.partition(".")
        field_name, _, argument = rest.partition(".")
        values = result.setdefault(section, {})
        if not argument:
            values[field_name] = copy.deepcopy(value)
            continue
        current = values.get(field_name, default_of(section, field_name))
        current = dict(current) if isinstance(current, dict) else {"name": current}
        current[argument] = copy.deepcopy(value)
        values[field_name] = current
    return result


def default_of(section, field_name):
    return copy.deepcopy(settings_to_dict(RunSettings())[section][field_name])


def select_runs(study, only):
    """The study's runs of the variants named in ``only`` (all when empty)."""
    for name in only:
        if name not in study.variants:
            raise ConfigError(study.source, "--only", f"names no variant: {name!r}; variants: "
                              f"{', '.join(study.variants)}")
    return [run for run in study.runs if not only or run.variant in only]


def study_record(study):
    """What the report needs of the study, written to ``study.json``."""
    return {"name": study.name, "description": study.description, "source": study.source,
            "seeds": list(study.seeds), "variants": list(study.variants),
            "conditions": list(study.conditions), "report": settings_to_dict(study.report),
            "runs": [{"condition": run.condition, "variant": run.variant, "seed": run.seed,
                      "point": dict(run.point),
                      "fingerprint": run.fingerprint(), "epochs": run.settings.train.epochs}
                     for run in study.runs]}
