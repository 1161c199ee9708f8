"""Traffic over the monthly allowance, billed in WHMCS once the month is over.

Every worker checks within ``CHECK_INTERVAL`` seconds of starting and again
when a month has ended; each instance and month is queued once, as its outbox
key is unique. An instance terminated before the check has lost its
usage rows with it, so its last month is not billed: keeping usage past the
instance would lift that.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hostmgr.models import InstanceUsage
from hostmgr.outbox import Envelope, enqueue
from hostmgr.periodic import Periodic
from hostmgr_billing_whmcs.config import Overage
from hostmgr_billing_whmcs.sink import SINK

GB = 1024**3  # as the usage API counts, in binary units
CHECK_INTERVAL = 600.0


def previous_period(now: datetime | None = None) -> str:
    """The month before ``now``'s, ``YYYY-MM``."""
    first = (now or datetime.now(UTC)).replace(day=1)
    return (first - timedelta(days=1)).strftime("%Y-%m")


def overage_envelope(overage: Overage, row: InstanceUsage) -> Envelope | None:
    """The bill for one instance's month, or None within the allowance."""
    instance = row.instance
    over_bytes = row.rx_bytes + row.tx_bytes - overage.included_gb * GB
    over_gb = round(over_bytes / GB, 3)
    amount = round(over_gb * overage.price_per_gb, 2)
    if amount < 0.01:
        return None
    params = {
        "description": overage.describe(instance.name, instance.domain, row.period),
        "amount": f"{amount:.2f}",
        "unit": "quantity",
        "quantity": f"{over_gb:g}",
        "invoiceaction": overage.invoice_action,
    }
    payload = {
        "action": "AddBillableItem",
        "email": instance.user.email,
        "params": params,
    }
    return Envelope(
        "instance.overage",
        instance.name,
        payload,
        key=f"overage:{instance.id}:{row.period}",
    )


async def queue_overages(overage: Overage, period: str) -> int:
    """Queue the bill of every instance over its allowance in ``period``."""
    rows = await InstanceUsage.filter(period=period).select_related("instance__user")
    envelopes = [e for row in rows if (e := overage_envelope(overage, row))]
    return len(await enqueue(SINK, envelopes))


class OverageBiller:
    """Queues last month's overage bills once, checking every ``CHECK_INTERVAL`` s."""

    def __init__(self, overage: Overage, interval: float = CHECK_INTERVAL) -> None:
        self.overage = overage
        self.billed: str | None = None
        self.loop = Periodic("whmcs overage", interval, self.round)

    async def round(self) -> None:
        period = previous_period()
        if period != self.billed:
            await queue_overages(self.overage, period)
            self.billed = period
