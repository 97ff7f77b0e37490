"""Timing claims: per-repeat log ratios from a stored benchmark record, judged on the page."""

import json
import math

import numpy as np
import pytest

from normexp.errors import StoreError
from normexp.report import claims, claims_page, claims_text, timing_claims
from normexp.report.tables import markdown

ARMS = {"no_norm": "no norm", "bn": "BatchNorm", "ln": "LayerNorm",
        "bn_folded": "BatchNorm folded"}
CLAIMS = [
    {"id": "5a", "claim": "BN trains slower than LN", "arm": "bn", "against": "ln",
     "metric": "train_seconds", "direction": "higher", "margin": None, "exploratory": False},
    {"id": "5b", "claim": "BN infers slower than LN", "arm": "bn", "against": "ln",
     "metric": "inference_seconds_per_example", "direction": "higher", "margin": None,
     "exploratory": False},
    {"id": "5c", "claim": "folded BN infers as fast as no norm", "arm": "bn_folded",
     "against": "no_norm", "metric": "inference_seconds_per_example", "direction": "equal",
     "margin": 0.05, "exploratory": False},
]


def repeats(slowdown, count=30, noise=0.02, seed=0):
    """Synthetic repeats: each repeat's machine speed varies a lot (×0.5 to ×2), each arm
    adds 2% noise, and "bn" takes ``slowdown`` times "ln"'s time."""
    generator = np.random.default_rng(seed)
    made = []
    for _ in range(count):
        machine = math.exp(generator.uniform(-0.7, 0.7))

        def timed(base):
            return float(base * machine * math.exp(generator.normal(0, noise)))

        made.append({"order": list(ARMS),
                     "train_seconds": {"no_norm": timed(0.9), "bn": timed(slowdown),
                                       "ln": timed(1.0)},
                     "inference_seconds_per_example": {
                         "no_norm": timed(1e-6), "bn": timed(2e-6 * slowdown),
                         "ln": timed(2e-6), "bn_folded": timed(1e-6)}})
    return made


def record(slowdown=1.1, **options):
    return {"format": 1, "name": "timing", "description": "synthetic", "arms": ARMS,
            "benchmark": {"repeats": 30, "train_steps": 300, "batch_size": 32,
                          "inference_examples": 10000, "hidden": [128, 64],
                          "placement": "after", "learning_rate": 0.001, "threads": 1,
                          "seed": 0},
            "claims": CLAIMS, "folding": {"largest_difference": 3e-7, "examples": 1000},
            "machine": {"cpu": "test CPU", "cores": 2, "threads": 1, "device": "CPU",
                        "versions": {"tensorflow": "x", "keras": "y"},
                        "date_utc": "2026-11-30 23:00", "command": "python bench",
                        "other_work": "none", "load_average": {"before": [0.1, 0.1, 0.1],
                                                               "after": [1.0, 0.5, 0.2]}},
            "repeats": repeats(slowdown, **options)}


def judged_alone(stored, folder="."):
    return claims.verdicts(timing_claims.judge_record(stored, folder))


def test_a_ten_percent_slowdown_is_detected_through_machine_noise():
    judged = {entry.claim["id"]: entry for entry in judged_alone(record(1.1))}
    assert judged["5a"].verdict == judged["5b"].verdict == "supported"
    assert math.exp(judged["5a"].low) < 1.1 < math.exp(judged["5a"].high)
    # Unpaired, the machine's ×0.5–×2 swings would hide it: the pairing is what works.
    times = record(1.1)["repeats"]
    bn, ln = ([repeat["train_seconds"][arm] for repeat in times] for arm in ("bn", "ln"))
    from normexp.report import stats
    assert stats.welch_difference(bn, ln).p_value(0) > 0.05


def test_equal_arms_are_not_detected_and_fall_within_the_margin():
    judged = {entry.claim["id"]: entry for entry in judged_alone(record(1.0))}
    assert judged["5a"].verdict == judged["5b"].verdict == "not detected"
    assert judged["5c"].verdict == "supported"


def test_folded_arm_ten_percent_slower_contradicts_equality():
    stored = record(1.0)
    for repeat in stored["repeats"]:
        repeat["inference_seconds_per_example"]["bn_folded"] *= 1.10
    judged = {entry.claim["id"]: entry for entry in judged_alone(stored)}
    assert judged["5c"].verdict == "contradicted"


def test_the_log_ratio_is_paired_within_a_repeat():
    stored = [{"train_seconds": {"bn": 2.0, "ln": 1.0}}, {"train_seconds": {"bn": 6.0,
                                                                          "ln": 3.0}},
              {"train_seconds": {"bn": 1.0}}]   # a repeat without ln is left out
    assert timing_claims.log_ratios(stored, "train_seconds", "bn", "ln") == [
        pytest.approx(math.log(2))] * 2


def store(folder, stored):
    path = folder / "claims" / "timing" / "timing.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(stored), encoding="utf-8")
    return path


def test_the_page_row_renders_from_a_stored_record_and_links_it(tmp_path):
    store(tmp_path, record(1.1))
    judged = claims_page.judge_folders([tmp_path])
    page = claims_page.page_text(judged, tmp_path, [str(tmp_path)])
    row = next(line for line in page.splitlines() if line.startswith("| 5a |"))
    assert "bn/ln, seconds of a fixed number of training steps" in row
    shown = float(row.split("**×", 1)[1].split("**", 1)[0])
    assert 1.05 < shown < 1.15 and "n=30 repeats" in row and "**supported**" in row
    assert "[timing.json](claims/timing/timing.json)" in row
    assert "[timing](claims/timing/REPORT.md)" in row
    assert "The 3 confirmatory claims" in page and "interleaved benchmark" in page
    assert {entry.family for entry in judged} == {"confirmatory"}


def test_the_page_writes_the_records_report_with_the_pages_rows(tmp_path):
    store(tmp_path, record(1.1))
    assert claims_page.main([str(tmp_path), "--page", str(tmp_path / "CLAIMS.md")]) == 0
    report = (tmp_path / "claims" / "timing" / "REPORT.md").read_text(encoding="utf-8")
    for entry in claims_page.judge_folders([tmp_path]):
        cells = claims_text.row(entry)
        assert markdown([""] * len(cells), [cells]).splitlines()[-1] in report
    assert "[CLAIMS.md](../../CLAIMS.md)" in report and "test CPU" in report


@pytest.mark.parametrize("damage, words", [
    (lambda text: text[:40], "unreadable"),
    (lambda text: text.replace('"format": 1', '"format": 7'), "format 1"),
    (lambda text: text.replace('"repeats": [', '"trials": ['), "lacks repeats"),
])
def test_a_damaged_record_is_one_line_exit_2(tmp_path, capsys, damage, words):
    path = store(tmp_path, record(1.1))
    path.write_text(damage(path.read_text(encoding="utf-8")), encoding="utf-8")
    with pytest.raises(StoreError, match=words):
        claims_page.judge_folders([tmp_path])
    assert claims_page.main([str(tmp_path), "--page", str(tmp_path / "CLAIMS.md")]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_a_claim_id_stored_twice_is_refused_in_one_line(tmp_path):
    store(tmp_path, record(1.1))
    copy = tmp_path / "other" / "timing" / "timing.json"
    copy.parent.mkdir(parents=True)
    copy.write_text((tmp_path / "claims" / "timing" / "timing.json").read_text())
    with pytest.raises(StoreError, match="claim id .5a. is also claimed by"):
        claims_page.judge_folders([tmp_path])
