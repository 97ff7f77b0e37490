"""Name → builder registries (norm layers, optimizers, datasets, activations).

Adding an entry is one ``register`` call; ``get`` on an unknown name raises a
``ValueError`` that quotes the name and lists every valid one.
"""

import difflib


class Registry:
    """A mapping from lowercase names to builders, with helpful lookup errors."""

    def __init__(self, kind):
        self.kind = kind
        self._entries = {}

    def register(self, name, builder=None):
        """Register ``builder`` under ``name``; usable as a decorator."""

        def add(function):
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} is already registered")
            self._entries[name] = function
            return function

        return add(builder) if builder is not None else add

    def names(self):
        return sorted(self._entries)

    def __contains__(self, name):
        return name in self._entries

    def get(self, name):
        if name not in self._entries:
            raise ValueError(unknown_name_message(self.kind, name, self.names()))
        return self._entries[name]


def closest(name, valid_names):
    """The valid name nearest to ``name``, or None when nothing is close.

    A typo one edit away (a swapped pair counts as one: ``btach``, ``adma``) wins; then
    difflib's similarity, which also catches abbreviations such as ``avg`` for ``average``.
    """
    typos = [valid for valid in valid_names if edit_distance(str(name), str(valid)) == 1]
    if len(typos) == 1:
        return typos[0]
    matches = difflib.get_close_matches(str(name), list(valid_names), n=1, cutoff=0.6)
    if matches:
        return matches[0]
    # Abbreviations ("acc" for "accuracy") are too short for the similarity ratio.
    prefixed = [valid for valid in valid_names if len(str(name)) >= 2
                and str(valid).startswith(str(name))]
    return prefixed[0] if len(prefixed) == 1 else None


def unknown_name_message(kind, name, valid_names):
    suggestion = closest(name, valid_names)
    hint = f" (did you mean {suggestion!r}?)" if suggestion else ""
    return f"unknown {kind} {name!r}{hint}; valid: {', '.join(valid_names)}"


def edit_distance(first, second):
    """Insertions, deletions, substitutions and swaps of neighbours (optimal string
    alignment) that turn ``first`` into ``second``."""
    previous, current = None, list(range(len(second) + 1))
    for i, letter in enumerate(first, start=1):
        earlier, previous, current = previous, current, [i] + [0] * len(second)
        for j, other in enumerate(second, start=1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1,
                             previous[j - 1] + (letter != other))
            if (earlier is not None and j > 1 and letter == second[j - 2]
                    and first[i - 2] == other):
                current[j] = min(current[j], earlier[j - 2] + 1)
    return current[-1]
