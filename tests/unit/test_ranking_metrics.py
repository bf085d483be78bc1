"""The unit ranking's metrics name the columns the ranking's SQL orders by."""

from ledger.domain.policy import RANKING_INDICATORS
from projections.queries import METRICS, Metric
from projections.queries.units import UNIT_METRICS_SQL


def test_every_indicator_the_rule_book_can_weigh_is_a_metric_to_rank_by() -> None:
    assert set(RANKING_INDICATORS) <= {metric.value for metric in Metric}


def test_every_metric_but_the_composite_is_a_column_of_the_unit_figures() -> None:
    columns = {m for m in METRICS if f" AS {m}" in UNIT_METRICS_SQL or f"u.{m}" in UNIT_METRICS_SQL}
    assert columns == set(METRICS) - {Metric.COMPOSITE.value}
