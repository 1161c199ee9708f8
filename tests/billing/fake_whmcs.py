"""A fake of WHMCS's API, the one fake in the events tests: WHMCS cannot run here.

It listens on a free 127.0.0.1 port, takes form POSTs at ``/includes/api.php``
the way WHMCS does (``identifier``, ``secret``, ``action``, ``responsetype``),
answers JSON with ``result`` ``success`` or ``error`` in WHMCS's shapes, and
records every call. It knows only the actions the plugin uses.
"""

from __future__ import annotations

import itertools
import json
import threading
from typing import Any
from urllib.parse import parse_qsl

from tests.sinks import LoopbackServer

CREDENTIALS = ("identifier", "secret", "accesskey")


class FakeWhmcs:
    def __init__(self, identifier: str, secret: str) -> None:
        self.identifier = identifier
        self.secret = secret
        self.server = LoopbackServer(self._answer_http)
        self.clients: dict[int, dict[str, Any]] = {}
        self.services: dict[int, dict[str, Any]] = {}
        self.activity: list[tuple[int | None, str]] = []
        self.billable: list[dict[str, str]] = []
        #: Every call, credentials left out: (action, the other fields).
        self.calls: list[tuple[str, dict[str, str]]] = []
        #: Answers to give instead of the real one, one per call, in order:
        #: (HTTP status, body as JSON or text).
        self.faults: list[tuple[int, Any]] = []
        self.lock = threading.Lock()
        self._ids = itertools.count(1)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    @property
    def writes(self) -> list[tuple[str, dict[str, str]]]:
        return [(a, p) for a, p in self.calls if not a.startswith("Get")]

    def add_client(self, email: str) -> int:
        ident = next(self._ids)
        self.clients[ident] = {"id": ident, "email": email}
        return ident

    def add_service(
        self, client_id: int, domain: str, username: str = "", status: str = "Active"
    ) -> int:
        ident = next(self._ids)
        self.services[ident] = {
            "id": ident,
            "clientid": client_id,
            "domain": domain,
            "username": username,
            "status": status,
        }
        return ident

    def start(self) -> None:
        self.server.start()

    def stop(self) -> None:
        self.server.stop()

    def _answer_http(
        self, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, bytes]:
        if path != "/includes/api.php":
            return 404, b"Not Found"
        status, answer = self.answer(dict(parse_qsl(body.decode())))
        text = answer if isinstance(answer, str) else json.dumps(answer)
        return status, text.encode()

    def answer(self, form: dict[str, str]) -> tuple[int, Any]:
        if (form.get("identifier"), form.get("secret")) != (
            self.identifier,
            self.secret,
        ):
            return 403, {"result": "error", "message": "Authentication Failed"}
        if form.get("responsetype") != "json":
            return 200, "result=error;message=responsetype must be json"
        action = form.get("action", "")
        fields = {k: v for k, v in form.items() if k not in (*CREDENTIALS, "action")}
        with self.lock:
            self.calls.append((action, fields))
            if self.faults:
                return self.faults.pop(0)
            handler = {
                "GetClientsDetails": self._client_details,
                "GetClientsProducts": self._clients_products,
                "UpdateClientProduct": self._update_client_product,
                "LogActivity": self._log_activity,
                "AddBillableItem": self._add_billable_item,
            }.get(action)
            if handler is None:
                return 200, {"result": "error", "message": "Command Not Found"}
            return handler(fields)

    def _client_details(self, form: dict[str, str]) -> tuple[int, Any]:
        for client in self.clients.values():
            if client["email"] == form.get("email") or str(client["id"]) == form.get(
                "clientid"
            ):
                body = {"result": "success", "userid": client["id"], "client": client}
                return 200, body
        return 200, {"result": "error", "message": "Client Not Found"}

    def _clients_products(self, form: dict[str, str]) -> tuple[int, Any]:
        found = list(self.services.values())
        for field, key in (
            ("serviceid", "id"),
            ("clientid", "clientid"),
            ("domain", "domain"),
            ("username2", "username"),
        ):
            if field in form:
                found = [s for s in found if str(s[key]) == form[field]]
        # WHMCS answers an empty string, not an empty list, when nothing matches.
        products: Any = {"product": found} if found else ""
        body = {"result": "success", "totalresults": len(found), "products": products}
        return 200, body

    def _update_client_product(self, form: dict[str, str]) -> tuple[int, Any]:
        service = self.services.get(int(form.get("serviceid", "0")))
        if service is None:
            return 200, {"result": "error", "message": "Service ID Not Found"}
        for field in ("status", "domain"):
            if field in form:
                service[field] = form[field]
        return 200, {"result": "success", "serviceid": service["id"]}

    def _log_activity(self, form: dict[str, str]) -> tuple[int, Any]:
        client = int(form["clientid"]) if "clientid" in form else None
        self.activity.append((client, form["description"]))
        return 200, {"result": "success"}

    def _add_billable_item(self, form: dict[str, str]) -> tuple[int, Any]:
        if int(form.get("clientid", "0")) not in self.clients:
            return 200, {"result": "error", "message": "Client ID Not Found"}
        self.billable.append(form)
        return 200, {"result": "success", "billableid": len(self.billable)}
