"""Claims in a config, checked at load: every name a claim uses must exist.

A claim compares ``variant`` (at sweep point ``at``, on ``metric``) with ``against``
(at ``against_at``, on ``against_metric``), optionally minus a second comparison
(``minus``). ``check_claims`` refuses, before any training, a claim naming a variant,
sweep point or metric that does not exist, a probe metric whose probe is off, a margin
that does not fit its direction, and a test that does not fit its metric or comparison.
Judging claims from the store is ``normexp.report.claims``.
"""

from normexp.config.schema import default_of, join, unknown_key_problem
from normexp.errors import ConfigError
from normexp.metrics import CLAIM_METRICS, claim_test


def check_claims(claims, variants, sweep, path, probes_of=None):
    """Raise ``ConfigError`` for a claim naming a variant, sweep point or metric that does not
    exist (or a probe metric whose probe is off for that variant); before any training."""
    seen = set()
    for index, claim in enumerate(claims):
        field = f"report.claims[{index}]"
        if not claim.id or claim.id in seen:
            raise ConfigError(path, f"{field}.id", "every claim needs a distinct id, got "
                              f"{claim.id!r}")
        seen.add(claim.id)
        check_side({key: getattr(claim, key) for key in MINUS_KEYS}, variants, sweep, path,
                   field)
        for key in ("metric", "against_metric"):
            metric = getattr(claim, key)
            if metric is not None and metric not in CLAIM_METRICS:
                raise ConfigError(path, f"{field}.{key}",
                                  unknown_key_problem(metric, CLAIM_METRICS))
        check_margin(claim, path, field)
        check_test(claim, path, field)
        check_probes(claim, probes_of, path, field)
        if claim.minus is not None:
            check_minus(claim, variants, sweep, path, f"{field}.minus")


MINUS_KEYS = ("variant", "against", "at", "against_at")


def check_margin(claim, path, field):
    if claim.direction == "equal" and claim.margin is None and test_of(claim) != "exact":
        raise ConfigError(path, f"{field}.margin", "an 'equal' claim needs a margin (the "
                          "largest difference that still counts as equal, in the "
                          "metric's units)")
    if claim.direction == "equal" and claim.min_effect is not None:
        raise ConfigError(path, f"{field}.min_effect", "an 'equal' claim is planned for its "
                          "margin (or tolerance); min_effect is for 'higher' and 'lower'")
    if claim.by is not None and claim.direction == "equal":
        raise ConfigError(path, f"{field}.by", "only a 'higher' or 'lower' claim is tested "
                          "against a claimed difference; an 'equal' claim has a margin")
    if claim.direction != "equal" and claim.margin is not None:
        raise ConfigError(path, f"{field}.margin", f"only an 'equal' claim has a margin; this "
                          f"one is {claim.direction!r} (use min_effect for the effect to plan "
                          "seeds for)")


def test_of(claim):
    return claim_test(claim.test, claim.metric)


def check_test(claim, path, field):
    """The test must fit the metric and the comparison (names: ``metrics.CLAIM_TESTS``)."""
    test, binary = test_of(claim), CLAIM_METRICS[claim.metric].binary
    problem = None
    if test == "fisher" and not binary:
        problem = (f"Fisher's exact test needs a binary metric (one of: "
                   f"{', '.join(name for name, metric in CLAIM_METRICS.items() if metric.binary)}"
                   f"); {claim.metric!r} is continuous (use test: t)")
    elif test == "fisher" and (claim.minus is not None or claim.against_metric is not None
                               or claim.direction == "equal"):
        problem = ("Fisher's exact test compares two independent groups as higher or lower; "
                   "not with minus, against_metric or direction: equal (test: t compares "
                   "the 0/1 values with a t-test)")
    elif test == "exact" and (claim.direction != "equal" or claim.minus is not None):
        problem = ("an exact check tests a deterministic equality: it needs direction: equal "
                   "and no minus")
    if problem:
        raise ConfigError(path, f"{field}.test", problem)
    if claim.by is not None and test != "t":
        raise ConfigError(path, f"{field}.by", f"a claimed difference is tested with a t-test "
                          f"against +by or -by; test {test!r} tests no difference but 0")
    if (test == "exact") != (claim.tolerance is not None):
        raise ConfigError(path, f"{field}.tolerance", "an exact check (test: exact) needs a "
                          "tolerance, and only an exact check has one")
    if test == "exact" and claim.margin is not None:
        raise ConfigError(path, f"{field}.margin", "an exact check has a tolerance, not a "
                          "margin (no interval is computed)")
    if test == "exact" and claim.exploratory:
        raise ConfigError(path, f"{field}.exploratory", "an exact check is already judged "
                          "outside the Holm family, by its tolerance alone; drop exploratory")
    if claim.failure_threshold != default_of(type(claim), "failure_threshold") and (
            "failed" not in (claim.metric, claim.against_metric)):
        raise ConfigError(path, f"{field}.failure_threshold", "only the metric 'failed' uses "
                          f"a failure threshold; this claim's metric is {claim.metric!r}")


def check_side(side, variants, sweep, path, field):
    """A comparison's ``variant``, ``against`` and sweep points (``at`` defaults to none)."""
    for key in ("variant", "against"):
        name = side.get(key)
        if name is not None and name not in variants:
            raise ConfigError(path, f"{field}.{key}", f"names no variant; variants: "
                              f"{', '.join(variants)}; got {name!r}")
    for key, default in (("at", {}), ("against_at", None)):
        point = default if side.get(key) is None else side[key]
        if point is not None:
            check_point(point, sweep, path, f"{field}.{key}")


def check_minus(claim, variants, sweep, path, field):
    """The subtracted comparison, a plain mapping: its keys, then it as a side."""
    if claim.against_metric is not None:
        raise ConfigError(path, field, "compares conditions, so it cannot be combined with "
                          "against_metric (two metrics of the same runs)")
    for key, value in claim.minus.items():
        if key not in MINUS_KEYS:
            raise ConfigError(path, join(field, key), unknown_key_problem(key, MINUS_KEYS))
        if key in ("at", "against_at") and not isinstance(value, (dict, type(None))):
            raise ConfigError(path, f"{field}.{key}", f"must be a mapping of sweep keys to "
                              f"values, got {value!r}")
    if claim.minus.get("variant") is None:
        raise ConfigError(path, f"{field}.variant", f"is required; variants: "
                          f"{', '.join(variants)}")
    check_side(claim.minus, variants, sweep, path, field)


def check_point(point, sweep, path, field):
    for key, value in point.items():
        if key not in sweep:
            raise ConfigError(path, f"{field}.{key}", f"is not a sweep key of this study "
                              f"(sweep keys: {', '.join(sweep) or 'none'})")
        if value not in sweep[key]:
            raise ConfigError(path, f"{field}.{key}", f"{value!r} is not a swept value; "
                              f"swept: {sweep[key]}")
    missing = [key for key in sweep if key not in point]
    if missing:
        raise ConfigError(path, field, f"must give a value for every sweep key; missing: "
                          f"{', '.join(missing)}")


def check_probes(claim, probes_of, path, field):
    if probes_of is None:
        return
    for side, variant, metric in (("metric", claim.variant, claim.metric),
                                  ("against_metric", claim.against or claim.variant,
                                   claim.against_metric or claim.metric)):
        probe = CLAIM_METRICS[metric].probe
        if probe and probe not in probes_of(variant):
            raise ConfigError(path, f"{field}.{side}", f"{metric!r} is recorded by the "
                              f"'{probe}' probe, which is off for variant {variant!r} (set "
                              f"train.probes.{probe})")
