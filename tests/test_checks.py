"""dlgen_lib.checks: a confirmed claim returns one line; a failed one raises with what was measured and advice
that fits the scale the chapter runs at."""

import numpy as np
import pytest

from dlgen_lib.checks import ClaimError, check, check_close, paired_gap


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
