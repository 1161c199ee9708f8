"""The admin's audit log: every API call and panel POST, filtered and paged."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlencode

from sanic import Blueprint, HTTPResponse, Request
from tortoise.expressions import Q, Subquery
from tortoise.queryset import QuerySet

from hostmgr.models import AuditEntry, Role, User
from hostmgr.panel.auth import requires
from hostmgr.panel.pages import render, route

PAGE_SIZE = 50
FILTERS = ("user", "path", "status", "since", "until")


@dataclasses.dataclass
class AuditFilter:
    values: dict[str, str]
    errors: dict[str, list[str]] = dataclasses.field(default_factory=dict)

    def apply(self, query: QuerySet[AuditEntry]) -> QuerySet[AuditEntry]:
        """Narrow ``query`` by every valid filter; note the invalid ones."""
        if who := self.values["user"]:
            users = User.filter(
                Q(username__icontains=who) | Q(email__icontains=who)
            ).values("id")
            query = query.filter(user_id__in=Subquery(users))
        if path := self.values["path"]:
            query = query.filter(path__icontains=path)
        if status := self.values["status"]:
            query = self._by_status(query, status)
        for name, lookup, shift in (
            ("since", "created_at__gte", 0),
            ("until", "created_at__lt", 1),
        ):
            day = self._date(name)
            if day is not None:
                moment = datetime.combine(day + timedelta(days=shift), time(), UTC)
                query = query.filter(**{lookup: moment})
        return query

    def _by_status(
        self, query: QuerySet[AuditEntry], text: str
    ) -> QuerySet[AuditEntry]:
        text = text.lower()
        if len(text) == 3 and text[0] in "12345" and text[1:] == "xx":
            low = int(text[0]) * 100
            return query.filter(status__gte=low, status__lt=low + 100)
        if text.isdigit() and 100 <= int(text) <= 599:
            return query.filter(status=int(text))
        self.errors["status"] = ["A status such as 403, or a class such as 4xx."]
        return query

    def _date(self, name: str) -> date | None:
        if not self.values[name]:
            return None
        try:
            return date.fromisoformat(self.values[name])
        except ValueError:
            self.errors[name] = ["A date such as 2026-11-30."]
            return None


def _page_number(request: Request) -> int:
    text = str(request.args.get("page", "1"))
    return max(1, int(text)) if text.isdigit() else 1


def register(bp: Blueprint) -> None:
    @route(bp, "/panel/admin/audit")
    @requires(Role.ADMIN)
    async def audit_log(request: Request) -> HTTPResponse:
        values = {
            name: str(request.args.get(name, "")).strip()[:200] for name in FILTERS
        }
        audit_filter = AuditFilter(values)
        query = audit_filter.apply(AuditEntry.all())
        total = await query.count()
        page = min(_page_number(request), max(1, -(-total // PAGE_SIZE)))
        entries = await query.offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)
        ids = {e.user_id for e in entries if e.user_id is not None}
        names = {u.id: u.username for u in await User.filter(id__in=ids)}
        kept = {k: v for k, v in values.items() if v}

        def page_link(number: int) -> str:
            return "/panel/admin/audit?" + urlencode({**kept, "page": number})

        return render(
            request,
            "admin_audit.html",
            title="Audit log",
            entries=entries,
            names=names,
            values=values,
            errors=audit_filter.errors,
            total=total,
            page=page,
            pages=max(1, -(-total // PAGE_SIZE)),
            previous_link=page_link(page - 1) if page > 1 else None,
            next_link=page_link(page + 1) if page * PAGE_SIZE < total else None,
        )
