"""Which WHMCS API calls each hostmgr event asks for.

Each call is one outbox message, so a call WHMCS refuses for good does not
hold back the others. A message names the client by email and the service by
the instance's name and domain; they are looked up in WHMCS when it is sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hostmgr.events import Event
from hostmgr.outbox import Envelope

# The WHMCS service status each panel-side change means. Stop and restart
# have none: a stopped instance is still an active service.
STATUS_FOR = {
    "instance.started": "Active",
    "instance.unsuspended": "Active",
    "instance.suspended": "Suspended",
    "instance.terminated": "Terminated",
}
DOMAIN_CHANGED = "instance.domain_changed"


def describe(event: Event) -> str:
    """One line for the client's activity log, such as
    ``hostmgr: instance shop suspended (shop.example.com): Unpaid invoice``."""
    kind, _, verb = event.name.partition(".")
    text = f"hostmgr: {kind} {event.subject} {verb.replace('_', ' ')}"
    data = event.data
    if data.get("domain"):
        text += f" ({data['domain']})"
    if event.name == "instance.upgraded" and data.get("package"):
        text += f" to package {data['package']}"
    if event.name == DOMAIN_CHANGED and data.get("old_domain"):
        text += f", was {data['old_domain']}"
    if data.get("reason"):
        text += f": {data['reason']}"
    return text[:1000]


def _instance_ref(event: Event, *, before: bool = False) -> dict[str, Any]:
    """The instance, by name and domain; ``before`` a rename, by the old ones."""
    data = event.data
    if before:
        return {
            "name": data.get("old_name") or event.subject,
            "domain": data.get("old_domain"),
        }
    return {"name": event.subject, "domain": data.get("domain")}


def _call(
    event: Event, action: str, params: Mapping[str, Any], **extra: Any
) -> Envelope:
    payload = {
        "action": action,
        "email": event.data.get("email"),
        "params": dict(params),
        **extra,
    }
    return Envelope(event.name, event.subject, payload)


def calls_for(event: Event) -> list[Envelope]:
    """The calls for ``event``: the service's new state first, then the log line."""
    calls = []
    status = STATUS_FOR.get(event.name)
    if status is not None:
        calls.append(
            _call(
                event,
                "UpdateClientProduct",
                {"status": status},
                instance=_instance_ref(event),
            )
        )
    if event.name == DOMAIN_CHANGED and event.data.get("domain"):
        calls.append(
            _call(
                event,
                "UpdateClientProduct",
                {"domain": event.data["domain"]},
                instance=_instance_ref(event, before=True),
            )
        )
    calls.append(_call(event, "LogActivity", {"description": describe(event)}))
    return calls
