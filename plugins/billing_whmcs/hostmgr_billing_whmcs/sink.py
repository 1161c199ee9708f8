"""Delivering outbox messages to WHMCS's API.

Every request is a form POST to ``<url>/includes/api.php`` with the API
credentials, the ``action`` and ``responsetype=json``; WHMCS answers JSON with
``result`` ``success`` or ``error``. A connection error, a timeout, an HTTP 5xx,
an answer that is not JSON and a ``result: error`` are failed attempts, retried.
Only what retrying cannot change is permanent: the service (or, for a bill, the
client) does not exist in WHMCS, or several services match the instance.

A write whose answer is lost is sent again. That is harmless for a status or a
domain set a second time; an activity line or a bill may then appear twice,
each carrying the instance and period so that the repeat is plain to see.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from hostmgr.events import Event
from hostmgr.models import OutboxMessage
from hostmgr.outbox import Attempt, Envelope
from hostmgr_billing_whmcs.calls import calls_for
from hostmgr_billing_whmcs.config import WhmcsConfig

logger = logging.getLogger(__name__)

SINK = "whmcs"
# WHMCS's own words for a client or service that does not exist.
_NOT_FOUND = re.compile(r"not found|invalid (client|service)", re.IGNORECASE)
# The name the WHMCS module gives an instance when the service has no usable
# username or domain.
_SERVICE_NAME = re.compile(r"^n8n-(\d+)$")


class WhmcsError(Exception):
    """A WHMCS call that did not succeed; ``text`` holds no secrets."""

    def __init__(
        self, text: str, *, status: int | None = None, permanent: bool = False
    ) -> None:
        super().__init__(text)
        self.text = text
        self.status = status
        self.permanent = permanent


def _products(answer: Mapping[str, Any]) -> list[dict[str, Any]]:
    # An empty list comes back as "" from some WHMCS versions.
    products = answer.get("products")
    if not isinstance(products, dict):
        return []
    found = products.get("product")
    return [p for p in found if isinstance(p, dict)] if isinstance(found, list) else []


class WhmcsSink:
    """The ``whmcs`` outbox sink."""

    name = SINK

    def __init__(self, config: WhmcsConfig) -> None:
        self.config = config
        self.http = httpx.AsyncClient(
            timeout=config.delivery.timeout, follow_redirects=False
        )
        self._client_ids: dict[str, int] = {}
        self._trail: list[str] = []

    def messages_for(self, event: Event) -> Sequence[Envelope]:
        return calls_for(event)

    async def close(self) -> None:
        await self.http.aclose()

    async def deliver(self, message: OutboxMessage) -> Attempt:
        self._trail = []
        payload = message.payload
        try:
            status = await self._perform(payload)
        except WhmcsError as exc:
            return Attempt(
                ok=False,
                action=self._action_text(),
                status=exc.status,
                error=exc.text,
                permanent=exc.permanent,
            )
        return Attempt(ok=True, action=self._action_text(), status=status)

    def _action_text(self) -> str:
        return ", ".join(self._trail)

    def _scrub(self, text: str) -> str:
        for value in self.config.credentials:
            text = text.replace(value, "***")
        return text[:500]

    async def call(self, action: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """One API call; the answer of a ``result: success``, else WhmcsError."""
        self._trail.append(action)
        form = {
            **{key: str(value) for key, value in params.items() if value is not None},
            "identifier": self.config.identifier,
            "secret": self.config.secret,
            "action": action,
            "responsetype": "json",
        }
        if self.config.access_key:
            form["accesskey"] = self.config.access_key
        try:
            response = await self.http.post(self.config.api_url, data=form)
        except httpx.TimeoutException:
            raise WhmcsError(
                f"{action}: no answer within {self.config.delivery.timeout:g}s"
            ) from None
        except httpx.TransportError as exc:
            raise WhmcsError(f"{action}: unreachable ({type(exc).__name__})") from None

        status = response.status_code
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise WhmcsError(f"{action}: HTTP {status}, not JSON", status=status)
        if answer.get("result") != "success" or status >= 300:
            text = self._scrub(str(answer.get("message") or f"HTTP {status}"))
            raise WhmcsError(
                f"{action}: {text}",
                status=status,
                permanent=status < 500 and bool(_NOT_FOUND.search(text)),
            )
        return answer

    async def _perform(self, payload: Mapping[str, Any]) -> int:
        action = str(payload["action"])
        params = dict(payload.get("params") or {})
        email = payload.get("email")

        if action == "LogActivity":
            client_id = await self.client_id(email) if email else None
            if client_id is None and email:
                # No such client: the line goes to the system activity log.
                params["description"] = f"{params['description']} [{email}]"
            await self.call(action, {**params, "clientid": client_id})
        elif action == "UpdateClientProduct":
            service = await self.find_service(payload.get("instance") or {})
            wanted = params.get("status")
            if wanted is not None and service.get("status") == wanted:
                self._trail.append(f"already {wanted}")
                return 200
            await self.call(action, {**params, "serviceid": service["id"]})
        elif action == "AddBillableItem":
            client_id = await self.client_id(email) if email else None
            if client_id is None:
                raise WhmcsError(
                    f"no WHMCS client with email {email} to bill", permanent=True
                )
            await self.call(action, {**params, "clientid": client_id})
        else:
            raise WhmcsError(f"unknown action {action}", permanent=True)
        return 200

    async def client_id(self, email: str) -> int | None:
        """The WHMCS client with this email, or None if there is none."""
        if email in self._client_ids:
            return self._client_ids[email]
        try:
            answer = await self.call("GetClientsDetails", {"email": email})
        except WhmcsError as exc:
            if exc.permanent:
                return None
            raise
        client = answer.get("client")
        raw = (client.get("id") if isinstance(client, dict) else None) or answer.get(
            "userid"
        )
        if raw is None:
            return None
        self._client_ids[email] = int(raw)
        return int(raw)

    async def find_service(self, instance: Mapping[str, Any]) -> dict[str, Any]:
        """The one WHMCS service of this instance.

        Tried in turn: the service id in a module-made name (``n8n-<id>``), the
        instance's domain, its name as the service's domain, then as its
        username.
        """
        name = str(instance.get("name") or "")
        domain = instance.get("domain")
        searches: list[dict[str, Any]] = []
        match = _SERVICE_NAME.match(name)
        if match:
            searches.append({"serviceid": int(match.group(1))})
        if domain:
            searches.append({"domain": domain})
        if name:
            searches += [{"domain": name}, {"username2": name}]

        for search in searches:
            found = _products(await self.call("GetClientsProducts", search))
            if len(found) > 1:
                raise WhmcsError(
                    f"{len(found)} WHMCS services match {search}", permanent=True
                )
            if found:
                return found[0]
        raise WhmcsError(
            f"no WHMCS service for instance {name} ({domain})", permanent=True
        )
