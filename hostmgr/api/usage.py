"""``/usage``: traffic and disk per instance for a billing period.

A period is a calendar month in UTC (``YYYY-MM``), the current one by default.
Disk is the latest measurement of the data volume, traffic the sum of bytes in
and out; both in MB (MiB, as WHMCS counts them). Packages carry no traffic
allowance, so ``bandwidth_limit_mb`` is 0, unlimited.
"""

from __future__ import annotations

import re

from sanic import Blueprint, HTTPResponse, Request

from hostmgr.api import schemas
from hostmgr.api.common import document, principal_of, success
from hostmgr.api.instances import find_instance, instances_in_reach
from hostmgr.errors import ValidationFailed
from hostmgr.models import InstanceUsage
from hostmgr.services.usage import current_period, usage_out

PERIOD = re.compile(r"^(19|20)\d\d-(0[1-9]|1[0-2])$")


def period_of(request: Request) -> str:
    period = request.args.get("period") or current_period()
    if not PERIOD.match(period):
        raise ValidationFailed({"period": ["The period must be a month, YYYY-MM."]})
    return period


def register(bp: Blueprint) -> None:
    @bp.get("/usage")
    @document(
        "Disk and traffic of every instance in reach, for one month",
        schemas.UsageReport,
        errors=(422,),
    )
    async def usage_report(request: Request) -> HTTPResponse:
        period = period_of(request)
        instances = await instances_in_reach(principal_of(request))
        rows = await InstanceUsage.filter(
            period=period, instance_id__in=[i.id for i in instances]
        )
        by_instance = {row.instance_id: row for row in rows}
        return success(
            period=period,
            instances=[usage_out(i, by_instance.get(i.id), period) for i in instances],
        )

    @bp.get("/instances/<name:str>/usage")
    @document(
        "Disk and traffic of one instance, for one month",
        schemas.InstanceUsageOut,
        errors=(404, 422),
    )
    async def instance_usage(request: Request, name: str) -> HTTPResponse:
        instance = await find_instance(principal_of(request), name)
        period = period_of(request)
        row = await InstanceUsage.get_or_none(instance_id=instance.id, period=period)
        return success(**usage_out(instance, row, period))
