"""The claims ledger: every claim of a chapter recorded once, with its measured value, threshold and margin.

A chapter states a claim, measures it, and records it in its :class:`Ledger`::

    claims = dl.Ledger("01_memorization")
    claims.claim("fit-all", "every network reaches 100 % train accuracy", final_train.min(), ge=0.99, fmt="{:.1%}")

Each claim has a short key, the statement, the measured value, one threshold with its direction (``gt``, ``ge``,
``lt``, ``le``, or ``between=(lo, hi)``) and its margin: how far the value lies inside the threshold, in the
claim's own units and, when the seed spread is given (``spread``: the standard error or standard deviation over
seeds, in the same units), in units of that spread. A positive margin means the claim holds.

What a failed claim does depends on ``DLGEN_CLAIMS`` (see :func:`claims_mode`): ``raise`` stops the chapter with a
:class:`ClaimError` (the tests, CI and the book build); ``warn`` (the default in a student's session) shows the
failure conspicuously and lets the chapter run on; the summary then lists the claim as not confirmed.

The chapter's final ``# NBVAL_CHECK_OUTPUT`` cell is :meth:`Ledger.summary`, generated from the ledger, so no
chapter restates its predicates. With ``DLGEN_LEDGER`` set to a folder, the ledger writes itself there as
``<chapter>.json`` after each claim (atomically), so other tools (``benchmarks/claim_margins.py``, the book's
claims page) can read every claim of a run.

>>> ledger = Ledger("demo", mode="raise", write=False)
>>> c = ledger.claim("fits", "train accuracy reaches 95 %", 0.99, ge=0.95, fmt="{:.0%}")
ok  [fits] train accuracy reaches 95 % -- measured 99%, threshold >= 95%, margin 0.04
>>> c.passed, round(c.margin, 2)
(True, 0.04)

:func:`paired_gap` gives the mean difference of two arms that share each seed, with its standard error, the
usual "more than 2 s.e." a claim compares against.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

CLAIM_MODES = ("raise", "warn")
OPS = {"gt": ">", "ge": ">=", "lt": "<", "le": "<=", "between": "in"}


class ClaimError(AssertionError):
    """A claim of the chapter did not hold in this run."""


def claims_mode(mode: str | None = None) -> str:
    """What a failed claim does: ``mode`` if given, else ``$DLGEN_CLAIMS``, else ``raise`` in CI (``$CI`` set)
    and ``warn`` elsewhere. The tests and the book build set ``DLGEN_CLAIMS=raise`` themselves."""
    source = "argument mode"
    if mode is None:
        mode = os.environ.get("DLGEN_CLAIMS", "").strip()
        source = "DLGEN_CLAIMS"
        if not mode:
            return "raise" if os.environ.get("CI") else "warn"
    value = mode.strip().lower()
    if value not in CLAIM_MODES:
        from .config import ConfigError

        raise ConfigError(f"{source}={mode!r} is not valid; use raise (a failed claim stops the chapter) or warn "
                          "(it is shown and the chapter runs on)")
    return value


def _scale() -> str:
    from .config import ConfigError, get_scale

    try:
        return get_scale()
    except ConfigError:
        return "?"


def _default_hint(scale: str) -> str:
    if scale == "tiny":
        return "At the tiny scale some effects are too weak to show; try DLGEN_SCALE=small."
    return (f"At the {scale} scale this effect did not reach the chapter's threshold in this run: look at the figure "
            "above, and try more seeds or longer training (the chapter's config fields), another DLGEN_SEED, "
            "or DLGEN_SCALE=full.")


def _as_float(value) -> float:
    value = np.asarray(value, dtype=float)
    if value.size != 1:
        raise ValueError(f"a claim's measured value must be one number, got an array of shape {value.shape}")
    return float(value.reshape(()))


@dataclass(frozen=True)
class Claim:
    """One claim of one run: what was claimed, what was measured, against which threshold, and by how much it
    held (``margin`` > 0) or missed (``margin`` <= 0 for ``gt``/``lt``, < 0 for ``ge``/``le``)."""

    chapter: str
    key: str
    statement: str
    value: float
    op: str  # one of OPS
    threshold: float | tuple[float, float]
    passed: bool
    margin: float  # in the claim's units, positive inside the threshold
    spread: float | None = None  # seed spread in the claim's units (s.e. or s.d., as the chapter says)
    margin_spread: float | None = None  # margin / spread
    fmt: str = "{:.4g}"
    paper: str = ""
    hint: str = ""
    asserted: bool = True  # False: measured and recorded against the paper's threshold, but not asserted

    def _v(self, x: float) -> str:
        return self.fmt.format(x)

    @property
    def threshold_text(self) -> str:
        if self.op == "between":
            lo, hi = self.threshold  # type: ignore[misc]
            return f"in [{self._v(lo)}, {self._v(hi)}]"
        return f"{OPS[self.op]} {self._v(self.threshold)}"  # type: ignore[arg-type]

    @property
    def margin_text(self) -> str:
        text = f"margin {self.margin:.3g}"
        if self.margin_spread is not None:
            text += f" = {self.margin_spread:.1f} seed spreads"
        return text

    def line(self) -> str:
        """One line: ``ok`` or ``NOT CONFIRMED``, the key, the statement, value, threshold and margin."""
        status = ("ok " if self.passed else "NOT CONFIRMED") if self.asserted else "shown (not asserted)"
        return (f"{status} [{self.key}] {self.statement} -- measured {self._v(self.value)}, "
                f"threshold {self.threshold_text}, {self.margin_text}")

    def _ipython_display_(self) -> None:
        """Nothing: :meth:`Ledger.claim` has printed the claim's line already, so a cell ending with a claim shows
        it once."""

    def failure_message(self) -> str:
        return (f"claim not confirmed: {self.statement} [{self.key}]\n"
                f"  measured  {self._v(self.value)}\n"
                f"  claimed   {self.threshold_text}\n"
                f"  missed by {-self.margin:.3g}" + (f" ({-self.margin_spread:.1f} seed spreads)"
                                                     if self.margin_spread is not None else "") + "\n"
                f"  what to try: {self.hint or _default_hint(_scale())}")

    def record(self) -> dict:
        """The claim as plain JSON-able values."""
        out = asdict(self)
        out["threshold"] = list(self.threshold) if isinstance(self.threshold, tuple) else self.threshold
        out["threshold_text"] = self.threshold_text
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in out.items()}


def verdict(value: float, *, gt=None, ge=None, lt=None, le=None, between=None) -> tuple[str, object, bool, float]:
    """(op, threshold, passed, margin) of ``value`` against exactly one threshold.

    >>> verdict(3.0, ge=2.0)
    ('ge', 2.0, True, 1.0)
    >>> verdict(0.3, between=(0.2, 0.35))[2:]
    (True, 0.04999999999999999)
    """
    given = {k: v for k, v in (("gt", gt), ("ge", ge), ("lt", lt), ("le", le), ("between", between))
             if v is not None}
    if len(given) != 1:
        raise ValueError("a claim takes exactly one threshold (gt, ge, lt, le or between), "
                         f"got {sorted(given) or 'none'}")
    (op, threshold), = given.items()
    if op == "between":
        lo, hi = (float(t) for t in threshold)
        if not lo <= hi:
            raise ValueError(f"between=({lo}, {hi}): the lower end must not exceed the upper end")
        threshold = (lo, hi)
        margin = min(value - lo, hi - value)
        passed = lo <= value <= hi
    else:
        threshold = float(threshold)
        margin = value - threshold if op in ("gt", "ge") else threshold - value
        passed = {"gt": margin > 0, "ge": margin >= 0, "lt": margin > 0, "le": margin >= 0}[op]
    if math.isnan(value):
        passed, margin = False, float("nan")
    return op, threshold, bool(passed), float(margin)


@dataclass
class Ledger:
    """The claims of one chapter in one run, each recorded once under its key (re-running a cell replaces it).

    ``mode`` is what a failed claim does (default: :func:`claims_mode`); ``write`` whether to write the ledger to
    ``$DLGEN_LEDGER/<chapter>.json`` when that variable names a folder.
    """

    chapter: str
    mode: str | None = None
    write: bool = True
    claims: dict[str, Claim] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.mode = claims_mode(self.mode)
        if not self.chapter or any(ch in self.chapter for ch in "/\\"):
            raise ValueError(f"chapter={self.chapter!r}: give the notebook's name, e.g. '01_memorization'")

    def claim(self, key: str, statement: str, value, *, gt=None, ge=None, lt=None, le=None, between=None,
              spread=None, fmt: str = "{:.4g}", paper: str = "", hint: str = "", quiet: bool = False,
              asserted: bool = True) -> Claim:
        """Record a claim, print its line, and act on a failure as :attr:`mode` says; returns the :class:`Claim`.

        ``asserted=False`` records an effect that does not hold robustly at this scale: it is measured against the
        paper's threshold, printed and written to the ledger (so ``benchmarks/claim_margins.py`` shows how it varies
        between runs), listed in the summary as shown, and never fails."""
        if not key or " " in key:
            raise ValueError(f"key={key!r}: a claim's key is a short word without spaces, e.g. 'random-labels-fit'")
        value = _as_float(value)
        op, threshold, passed, margin = verdict(value, gt=gt, ge=ge, lt=lt, le=le, between=between)
        spread = None if spread is None else _as_float(spread)
        margin_spread = margin / spread if spread and math.isfinite(margin) else None
        claim = Claim(self.chapter, key, statement, value, op, threshold, passed, margin, spread, margin_spread,
                      fmt, paper, hint, asserted)
        self.claims[key] = claim
        self._write()
        if passed or not asserted:
            if not quiet:
                print(claim.line())
        elif self.mode == "raise":
            raise ClaimError(claim.failure_message())
        else:
            _show_failure(claim)
        return claim

    def __getitem__(self, key: str) -> Claim:
        try:
            return self.claims[key]
        except KeyError:
            raise KeyError(f"no claim {key!r} in the ledger of {self.chapter}; recorded: "
                           f"{', '.join(self.claims) or 'none yet'}") from None

    def __len__(self) -> int:
        return len(self.claims)

    @property
    def failed(self) -> list[Claim]:
        """The asserted claims that did not hold."""
        return [c for c in self.claims.values() if c.asserted and not c.passed]

    def summary(self) -> None:
        """Print the verdict of every claim (for the nbval-compared summary cell: no measured numbers, which
        differ in the last digits between machines, only the verdicts)."""
        print(summary_text(self.chapter, [(c.key, c.statement, c.passed if c.asserted else None)
                                          for c in self.claims.values()]))

    def table(self):
        """A Markdown table (IPython ``Markdown``) of every claim with its measured value, threshold and margin."""
        from .plotting import markdown_table

        rows = [[c.key, c.statement, c._v(c.value), c.threshold_text, c.margin_text.removeprefix("margin "),
                 "yes" if c.passed else "**no**"] for c in self.claims.values()]
        return markdown_table(["key", "claim", "measured", "threshold", "margin", "confirmed"], rows)

    def records(self) -> list[dict]:
        return [c.record() for c in self.claims.values()]

    def to_json(self, path: str | os.PathLike) -> Path:
        """Write the ledger (with the run's scale, seed and CPU kernel path) to ``path``, atomically."""
        from .config import run_context

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {"chapter": self.chapter, "context": run_context(), "claims": self.records()}
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as fh:
                json.dump(payload, fh, indent=1)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    def _write(self) -> None:
        folder = os.environ.get("DLGEN_LEDGER", "").strip()
        if self.write and folder:
            self.to_json(Path(folder).expanduser() / f"{self.chapter}.json")


def summary_text(chapter: str, verdicts: list[tuple[str, str, bool | None]]) -> str:
    """The summary of a chapter's claims, one line per (key, statement, passed); passed is None for an effect
    that is shown but not asserted.

    >>> print(summary_text("demo", [("a", "a holds", True), ("b", "b holds", False), ("c", "c shows", None)]))
    demo: 1 of 2 claims confirmed, 1 shown but not asserted
      confirmed      a: a holds
      NOT CONFIRMED  b: b holds
      shown          c: c shows
    """
    asserted = [ok for *_, ok in verdicts if ok is not None]
    shown = len(verdicts) - len(asserted)
    lines = [f"{chapter}: {sum(asserted)} of {len(asserted)} claims confirmed"
             + (f", {shown} shown but not asserted" if shown else "")]
    label = {True: "confirmed    ", False: "NOT CONFIRMED", None: "shown        "}
    lines += [f"  {label[ok]}  {key}: {statement}" for key, statement, ok in verdicts]
    return "\n".join(lines)


def _show_failure(claim: Claim) -> None:
    """Show a failed claim conspicuously (warn mode): a red box in Jupyter, a framed block elsewhere."""
    text = claim.failure_message()
    try:
        from IPython import get_ipython
        from IPython.display import HTML, display

        if get_ipython() is not None and type(get_ipython()).__name__ == "ZMQInteractiveShell":
            import html

            display(HTML('<div style="border:2px solid #c0392b;background:#fdecea;padding:6px 10px;'
                         'margin:4px 0;white-space:pre-wrap;font-family:monospace">'
                         f"<b>&#9888; {html.escape(text.splitlines()[0])}</b>\n"
                         f"{html.escape(chr(10).join(text.splitlines()[1:]))}</div>"))
            return
    except ImportError:
        pass
    bar = "!" * 80
    print(f"{bar}\n{text}\n{bar}")


def check(condition: bool, claim: str, measured: str = "", hint: str = "") -> str:
    """A bare yes/no assertion for library code and scripts (chapters use a :class:`Ledger`): raise
    :class:`ClaimError` unless ``condition``; return a one-line confirmation otherwise.

    >>> check(0.99 > 0.95, "train accuracy reaches 95 %", measured="99 %")
    'ok: train accuracy reaches 95 % (measured 99 %)'
    """
    detail = f" (measured {measured})" if measured else ""
    if not bool(condition):
        raise ClaimError(f"claim not confirmed: {claim}{detail}. {hint or _default_hint(_scale())}")
    return f"ok: {claim}{detail}"


def check_close(measured: float, expected: float, rtol: float, claim: str, hint: str = "") -> str:
    """:func:`check` that ``measured`` is within relative tolerance ``rtol`` of ``expected``."""
    ok = abs(measured - expected) <= rtol * abs(expected)
    return check(ok, claim, measured=f"{measured:.4g} vs expected {expected:.4g}, rtol {rtol:g}", hint=hint)


def paired_gap(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Mean over seeds of a - b (S,) and its standard error: paired, since a ticket and its controls (or two arms)
    share each seed's data order.

    >>> [round(v, 6) for v in paired_gap(np.array([0.6, 0.9, 0.8]), np.array([0.5, 0.6, 0.7]))]
    [0.166667, 0.066667]
    """
    d = np.asarray(a, float) - np.asarray(b, float)
    return float(d.mean()), float(d.std(ddof=1) / np.sqrt(len(d)))
