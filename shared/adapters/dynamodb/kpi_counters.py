"""The supervisors' KPI counters on the single table, written once for every store.

``KPI#<YYYY-MM-DD> / <scope>`` (docs/data-model.md, 8d): each store that records something a
KPI counts (the inbound pipeline and ticket changes in repository.py, replies in
outbound_store.py, survey answers in workflow_store.py) inherits ``add_kpis`` from here and
calls it once the change it counts has committed; shared/domain/kpi.py says what counts.
"""

from __future__ import annotations

from typing import Any

from shared.adapters.dynamodb import keys
from shared.adapters.dynamodb.items import ENTITY
from shared.adapters.dynamodb.operations import TableOperations
from shared.adapters.dynamodb.schema import PARTITION_KEY, SORT_KEY
from shared.domain.kpi import KpiIncrement, combine


class KpiCounters(TableOperations):
    _table: Any

    def add_kpis(self, increments: list[KpiIncrement]) -> None:
        """Counters bumped after the change they count has committed: one UpdateItem ADD per
        day and scope (increments of the same scope are summed first). Best effort by design:
        a crash between the two loses a count, never a message."""
        for increment in combine(increments):
            names = {f"#c{n}": name for n, name in enumerate(increment.counters)}
            values: dict[str, Any] = {f":c{n}": value for n, value in enumerate(increment.counters.values())}
            values[":entity"] = "kpi"
            adds = ", ".join(f"#c{n} :c{n}" for n in range(len(names)))
            self._table.update_item(
                Key={PARTITION_KEY: keys.kpi_pk(increment.day), SORT_KEY: increment.scope},
                UpdateExpression=f"SET #entity = :entity ADD {adds}",
                ExpressionAttributeNames={**names, "#entity": ENTITY},
                ExpressionAttributeValues=values,
            )
