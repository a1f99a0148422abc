"""The delinquency rules of the ``payments`` case, stated once as data.

Both implementations (Spark in :mod:`.spark_job`, DuckDB SQL in :mod:`.reference`)
read their thresholds from here; the rules themselves are written twice on
purpose so the two can cross-check each other.

Evaluation at date D:

* An *obligation* is a transaction with status ``pending`` or ``completed``, a
  customer, a due date and an amount > 0. Obligations of those statuses that miss
  a customer, due date or positive amount cannot be evaluated: they are counted
  (``obligations_not_evaluable``), never guessed.
* A payment counts when its status is ``completed``, its amount is > 0 and its
  ``payment_date`` is known and on or before D. Payments dated after D did not
  exist at D and do not count: a transaction open at D is open.
* Amounts are compared in whole cents (``round(amount * 100)``) so both engines
  add exactly; the 0.01 tolerance is one cent. A transaction settles on the date
  of the payment that brings the cumulative sum paid, ordered by
  ``payment_date`` then ``payment_id``, to at least ``amount - 0.01``.
* Days late = settlement date - due date, or D - due date while open; never
  below 0.
* Windows are ``(D - N months, D]`` with calendar-month arithmetic: move N
  months back and clamp the day to the end of the target month when it does not
  exist (Spark ``add_months``, DuckDB ``- INTERVAL N MONTH``): D = 31 May gives
  D - 3 months = 28/29 Feb and D - 6 months = 30 Nov; D = 30 Apr gives 30 Jan
  (the day is never moved *to* a month end). Due dates after D are not
  obligations in any window.
* Criterion 1: an obligation due in ``(D - 3 months, D]`` more than 30 days late.
  Criterion 2: an obligation due in ``(D - 6 months, D]`` more than 15 days late.
  A client is ``inadimplente`` when either holds. Since the 3-month window is
  inside the 6-month one and 30 > 15, every criterion-1 transaction also meets
  criterion 2; a *violation* is an obligation meeting either criterion.
* The clients evaluated are those with at least one obligation due in the
  6-month window. ``transaction_date`` and the transaction's current status are
  taken as they are (the data has no status history).
"""

from __future__ import annotations

from datetime import date

OBLIGATION_STATUSES: tuple[str, ...] = ("pending", "completed")
COUNTED_PAYMENT_STATUS = "completed"
TOLERANCE_CENTS = 1

CRITERION_1_MONTHS = 3
CRITERION_1_DAYS = 30
CRITERION_2_MONTHS = 6
CRITERION_2_DAYS = 15


class DelinquencyInputError(ValueError):
    """The inputs cannot be evaluated (e.g. no valid date to default D to)."""


def parse_as_of(value: str | date | None) -> date | None:
    """``YYYY-MM-DD`` (or a date) -> date; ``None`` means "latest valid date in the data"."""
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value.strip())
    except ValueError as error:
        raise DelinquencyInputError(f"as_of must be a date YYYY-MM-DD, not {value!r}") from error


def percentage(part: int, whole: int) -> float:
    """``part`` as a percentage of ``whole``, two decimals; 0.0 when there is nothing to count."""
    return round(100.0 * part / whole, 2) if whole else 0.0
