"""Find and read a study config file: YAML, safely, into plain mappings.

``yaml.safe_load`` only: nothing in a config is ever executed. Every problem —
missing file, YAML syntax, encoding, a structure that expands beyond any real
config (alias bombs, self-reference, deep nesting) — is one ``ConfigError``.
"""

from pathlib import Path

import yaml

from normexp.config import schema
from normexp.errors import ConfigError

CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs"


def resolve_path(config):
    """A bare name (``bn_vs_ln`` or ``bn_vs_ln.yaml``) resolves under configs/."""
    path = Path(config)
    if path.exists() or path.parent != Path("."):
        return path
    for candidate in (CONFIG_DIR / config, CONFIG_DIR / f"{config}.yaml"):
        if candidate.exists():
            return candidate
    return path


def display_path(path):
    """The path relative to the working folder when inside it (reports get committed)."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def read_yaml(path):
    if not path.is_file():
        problem = "is a folder, not a file" if path.is_dir() else "file not found"
        available = ", ".join(sorted(p.stem for p in CONFIG_DIR.glob("*.yaml")))
        raise ConfigError(path, "", f"{problem} (configs shipped in {CONFIG_DIR}: {available})")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "YAML"
        reason = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise ConfigError(path, where, f"not valid YAML: {reason}") from None
    except UnicodeDecodeError as error:
        raise ConfigError(path, "", f"not a UTF-8 text file ({error.reason})") from None
    except RecursionError:
        raise ConfigError(path, "", "nested too deeply to read") from None
    if raw is None:
        raise ConfigError(path, "", "the file is empty; see configs/quick.yaml for an example")
    if not isinstance(raw, dict):
        raise ConfigError(path, "", f"the top level must be a mapping of keys "
                          f"(name, data, train, model, variants, ...), got {schema.describe(raw)}")
    check_size(raw, path)
    return raw


MAX_VALUES = 100_000
MAX_DEPTH = 50


def check_size(raw, path):
    """Refuse configs that expand to huge or cyclic structures before anything walks
    them: a few lines of YAML anchors and aliases can expand to billions of values, or
    to a list that contains itself (which the depth limit catches)."""
    stack, count = [(raw, 0)], 0
    while stack:
        value, depth = stack.pop()
        count += 1
        if count > MAX_VALUES or depth > MAX_DEPTH:
            problem = (f"more than {MAX_VALUES:,} values" if count > MAX_VALUES
                       else f"nesting deeper than {MAX_DEPTH} levels")
            raise ConfigError(path, "", f"the config expands to {problem} (YAML aliases?); "
                              "a study config is a few dozen lines")
        if isinstance(value, (dict, list)):
            children = value.values() if isinstance(value, dict) else value
            stack.extend((child, depth + 1) for child in children)
