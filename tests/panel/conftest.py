"""Panel test helpers: signing in through the real SSO landing, and forms with
their CSRF token, over the in-process client."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from hostmgr.config import Settings
from hostmgr.models import Instance, Package, User
from hostmgr.services import sso
from tests.client import AppClient

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_in(page: str) -> str:
    match = CSRF.search(page)
    assert match, "the page has no form with a CSRF token"
    return match.group(1)


class Visitor:
    """One browser's worth of cookies on the in-process client."""

    def __init__(self, client: AppClient, settings: Settings) -> None:
        self.client = client
        self.settings = settings
        self.token = ""

    async def sign_in(self, user: User | None) -> None:
        """Start afresh, as ``user`` through an SSO link, or anonymous."""
        self.client.http.cookies.clear()
        if user is not None:
            link = urlsplit(sso.make_link(self.settings, user))
            _, response = await self.client.get(f"{link.path}?{link.query}")
            assert response.status == 302, response.text
        _, page = await self.client.get("/panel/login" if user is None else "/")
        self.token = csrf_in(page.text)

    async def get(self, path: str):
        _, response = await self.client.get(path)
        return response

    async def post(self, path: str, data: dict[str, str] | None = None, **kwargs):
        form = {"csrf_token": self.token, **(data or {})}
        _, response = await self.client.post(path, data=form, **kwargs)
        return response


async def make_instance(owner: User, package: Package, name: str) -> Instance:
    """An instance row with no container behind it: stats read it as stopped and
    every engine action on it fails, as for a container removed by hand."""
    return await Instance.create(
        name=name,
        domain=f"{name}.hosted.test",
        user=owner,
        package=package,
        status="stopped",
        encryption_key="unused",
    )
