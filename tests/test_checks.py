"""dlgen_lib.checks: the claims ledger records each claim once with its value, threshold and margin; a failed claim
raises or warns as DLGEN_CLAIMS says, with what was claimed, measured, missed and what to try; the ledger writes
itself as JSON; the summary is generated from it."""

import json

import numpy as np
import pytest

from dlgen_lib.checks import ClaimError, Ledger, check, check_close, claims_mode, paired_gap, summary_text, verdict
from dlgen_lib.config import ConfigError


def test_check_confirms_and_reports_the_measurement():
    assert check(True, "a holds", measured="3 %") == "ok: a holds (measured 3 %)"
    assert check_close(1.01, 1.0, 0.05, "close").startswith("ok: close (measured 1.01 vs expected 1")


@pytest.mark.parametrize(("scale", "advice"), [("tiny", "try DLGEN_SCALE=small"), ("small", "more seeds"),
                                               ("full", "at the full scale")])
def test_failed_claim_gives_advice_for_the_scale(monkeypatch, scale, advice):
    monkeypatch.setenv("DLGEN_SCALE", scale)
    with pytest.raises(ClaimError, match="claim not confirmed: b holds \\(measured 1 %\\)") as err:
        check(False, "b holds", measured="1 %")
    assert advice in str(err.value).lower() or advice in str(err.value)
    ledger = Ledger("demo", mode="raise", write=False)
    with pytest.raises(ClaimError) as err:
        ledger.claim("b", "b holds", 0.01, ge=0.05)
    assert advice in str(err.value).lower() or advice in str(err.value)


def test_explicit_hint_replaces_the_default():
    with pytest.raises(ClaimError, match="do this$"):
        check(False, "c holds", hint="do this")
    with pytest.raises(ClaimError, match="expected 2"):
        check_close(1.0, 2.0, 0.1, "near two")


def test_paired_gap_is_the_mean_seed_difference_with_its_standard_error():
    gap, se = paired_gap(np.array([0.6, 0.9, 0.8]), np.array([0.5, 0.6, 0.7]))
    assert gap == pytest.approx(1 / 6) and se == pytest.approx(np.std([0.1, 0.3, 0.1], ddof=1) / np.sqrt(3))
    # pairing removes what the seeds share: a constant offset between arms has no spread at all
    assert paired_gap(np.array([0.5, 0.9, 0.7]), np.array([0.4, 0.8, 0.6])) == pytest.approx((0.1, 0.0))


# ------------------------------------------------------------------------------------------------ the ledger


@pytest.mark.parametrize(("value", "kw", "passed", "margin"), [
    (3.0, {"gt": 2.0}, True, 1.0), (2.0, {"gt": 2.0}, False, 0.0), (2.0, {"ge": 2.0}, True, 0.0),
    (1.5, {"ge": 2.0}, False, -0.5), (0.2, {"lt": 0.5}, True, 0.3), (0.5, {"le": 0.5}, True, 0.0),
    (0.7, {"le": 0.5}, False, -0.2), (0.3, {"between": (0.2, 0.5)}, True, 0.1),
    (0.6, {"between": (0.2, 0.5)}, False, -0.1), (float("nan"), {"ge": 0.0}, False, float("nan")),
])
def test_margin_is_positive_inside_the_threshold(value, kw, passed, margin):
    op, _, ok, m = verdict(value, **kw)
    assert ok is passed and op == next(iter(kw))
    assert (np.isnan(m) and np.isnan(margin)) or m == pytest.approx(margin)


@pytest.mark.parametrize("kw", [{}, {"gt": 1, "lt": 2}, {"between": (2, 1)}])
def test_a_claim_takes_exactly_one_valid_threshold(kw):
    with pytest.raises(ValueError):
        verdict(1.0, **kw)


def test_ledger_records_each_claim_once_with_margins_in_units_and_spreads(capsys):
    ledger = Ledger("demo", mode="raise", write=False)
    c = ledger.claim("peak", "the peak is above 2 s.e.", 0.05, gt=0.02, spread=0.01, fmt="{:.1%}")
    assert c.passed and c.margin == pytest.approx(0.03) and c.margin_spread == pytest.approx(3.0)
    out = capsys.readouterr().out
    assert "[peak]" in out and "5.0%" in out and "3.0 seed spreads" in out
    ledger.claim("peak", "the peak is above 2 s.e.", 0.06, gt=0.02, quiet=True)  # a re-run cell replaces it
    assert len(ledger) == 1 and ledger["peak"].value == pytest.approx(0.06)
    with pytest.raises(KeyError, match="recorded: peak"):
        ledger["nope"]


def test_bad_keys_and_values_are_clear_errors():
    ledger = Ledger("demo", mode="raise", write=False)
    with pytest.raises(ValueError, match="short word"):
        ledger.claim("two words", "x", 1.0, ge=0)
    with pytest.raises(ValueError, match="one number"):
        ledger.claim("arr", "x", np.array([1.0, 2.0]), ge=0)
    with pytest.raises(ValueError, match="notebook's name"):
        Ledger("chapters/01.ipynb", mode="raise")


def test_raise_mode_says_what_was_claimed_measured_and_missed():
    ledger = Ledger("demo", mode="raise", write=False)
    with pytest.raises(ClaimError) as err:
        ledger.claim("bump", "the test error peaks", 0.02, gt=0.021, spread=0.0105, fmt="{:.1%}")
    text = str(err.value)
    assert "the test error peaks [bump]" in text and "measured  2.0%" in text and "> 2.1%" in text
    assert "missed by 0.001" in text and "seed spreads" in text and "what to try" in text
    assert ledger.failed == [ledger["bump"]]  # recorded before raising


def test_warn_mode_shows_the_failure_and_runs_on(capsys):
    ledger = Ledger("demo", mode="warn", write=False)
    c = ledger.claim("bump", "the test error peaks", 0.01, gt=0.02)
    assert not c.passed
    out = capsys.readouterr().out
    assert "claim not confirmed: the test error peaks" in out and "!!!!" in out
    ledger.claim("ok", "this one holds", 1.0, ge=0.5)
    ledger.summary()
    summary = capsys.readouterr().out
    assert "demo: 1 of 2 claims confirmed" in summary and "NOT CONFIRMED  bump" in summary
    assert "confirmed      ok: this one holds" in summary


@pytest.mark.parametrize(("setting", "ci", "mode"), [("", None, "warn"), ("", "true", "raise"),
                                                     ("warn", "true", "warn"), ("RAISE", None, "raise")])
def test_claims_mode_defaults_to_warn_except_in_ci(monkeypatch, setting, ci, mode):
    monkeypatch.setenv("DLGEN_CLAIMS", setting)
    if ci:
        monkeypatch.setenv("CI", ci)
    assert claims_mode() == mode


def test_bad_claims_mode_names_the_valid_ones(monkeypatch):
    monkeypatch.setenv("DLGEN_CLAIMS", "loud")
    with pytest.raises(ConfigError, match="DLGEN_CLAIMS='loud'.*raise.*warn"):
        claims_mode()


def test_the_tests_run_claims_in_raise_mode():
    import os

    assert os.environ["DLGEN_CLAIMS"] == "raise", "the root conftest makes failed claims fail the tests"


def test_ledger_writes_itself_as_json_when_asked(tmp_path, monkeypatch):
    monkeypatch.setenv("DLGEN_LEDGER", str(tmp_path / "ledger"))
    monkeypatch.setenv("DLGEN_SEED", "2")
    ledger = Ledger("07_demo", mode="warn")
    ledger.claim("a", "a holds", 0.3, between=(0.2, 0.5), spread=0.05)
    ledger.claim("b", "b holds", float("inf"), lt=1.0)
    data = json.loads((tmp_path / "ledger" / "07_demo.json").read_text())
    assert data["chapter"] == "07_demo" and data["context"]["seed"] == 2 and data["context"]["scale"] == "tiny"
    assert "cpu_capability" in data["context"] and "torch" in data["context"]
    a, b = data["claims"]
    assert a["key"] == "a" and a["threshold"] == [0.2, 0.5] and a["passed"] and a["margin_spread"] == pytest.approx(2)
    assert b["value"] is None and not b["passed"]  # non-finite numbers become null: valid JSON
    assert not list((tmp_path / "ledger").glob("*.tmp")), "written atomically, no leftovers"


def test_summary_text_lists_verdicts_only():
    text = summary_text("demo", [("a", "a holds", True)])
    assert text == "demo: 1 of 1 claims confirmed\n  confirmed      a: a holds"
