"""Creating and changing accounts: users, resellers and admins."""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from hostmgr import caches
from hostmgr.errors import Conflict, ValidationFailed
from hostmgr.models import ApiToken, Instance, InstanceStatus, Role, User
from hostmgr.security import digest, display_prefix, hash_password, new_token

logger = logging.getLogger(__name__)

USERNAME_PATTERN = r"^[a-z0-9][a-z0-9_.-]{1,62}[a-z0-9]$"
_USERNAME_CHARS = re.compile(r"[^a-z0-9_.-]+")


def normalize_email(email: str) -> str:
    return email.strip().lower()


def suggest_username(email: str) -> str:
    """A username from the local part of ``email``, padded to the minimum length."""
    local = _USERNAME_CHARS.sub("-", email.split("@", 1)[0].lower()).strip("-_.")
    return (local or "user")[:50].ljust(3, "0")


async def _free_username(base: str) -> str:
    candidate = base
    while await User.filter(username=candidate).exists():
        candidate = f"{base}-{secrets.token_hex(2)}"
    return candidate


async def _check_unique(
    email: str | None, username: str | None, exclude_id: int | None = None
) -> None:
    errors: dict[str, list[str]] = {}
    for field, value in (("email", email), ("username", username)):
        if value is None:
            continue
        query = User.filter(**{field: value})
        if exclude_id is not None:
            query = query.exclude(id=exclude_id)
        if await query.exists():
            errors[field] = [f"The {field} has already been taken."]
    if errors:
        raise ValidationFailed(errors)


async def create_user(
    *,
    name: str,
    email: str,
    password: str,
    role: Role = Role.USER,
    username: str | None = None,
    reseller: User | None = None,
    instance_limit: int | None = None,
) -> User:
    """Create an account; 422 when the email or username is taken."""
    email = normalize_email(email)
    username = username.lower() if username else None
    await _check_unique(email, username)
    if username is None:
        username = await _free_username(suggest_username(email))
    try:
        user = await User.create(
            name=name.strip(),
            email=email,
            username=username,
            password_hash=hash_password(password),
            role=role,
            reseller=reseller,
            instance_limit=instance_limit,
        )
    except IntegrityError:
        # Lost a race with a concurrent create: report it like the check above.
        await _check_unique(email, username)
        raise
    logger.info("created %s %s (id %s)", role.value, user.username, user.id)
    return user


async def update_user(user: User, changes: Mapping[str, Any]) -> User:
    """Apply ``changes`` (name, email, username, password, instance_limit)."""
    fields = dict(changes)
    if "email" in fields:
        fields["email"] = normalize_email(fields["email"])
    if "username" in fields:
        fields["username"] = fields["username"].lower()
    await _check_unique(fields.get("email"), fields.get("username"), exclude_id=user.id)
    if "password" in fields:
        fields["password_hash"] = hash_password(fields.pop("password"))
    if fields:
        user.update_from_dict(fields)
        try:
            await user.save(update_fields=list(fields))
        except IntegrityError:
            await _check_unique(
                fields.get("email"), fields.get("username"), exclude_id=user.id
            )
            raise
        logger.info("updated %s %s: %s", user.role.value, user.username, sorted(fields))
    return user


async def set_suspended(user: User, suspended: bool) -> None:
    user.suspended = suspended
    await user.save(update_fields=["suspended", "updated_at"])
    caches.tokens.forget()
    logger.info(
        "%s %s %s",
        "suspended" if suspended else "unsuspended",
        user.role.value,
        user.username,
    )


async def delete_reseller(reseller: User) -> None:
    """Delete a reseller that no longer owns customers or instances (else 409)."""
    async with in_transaction():
        customers = await User.filter(reseller_id=reseller.id).count()
        instances = await Instance.filter(user_id=reseller.id).count()
        if customers or instances:
            raise Conflict(
                f"Reseller {reseller.username} still owns {customers} customers and "
                f"{instances} instances; remove or move them first"
            )
        await reseller.delete()
    caches.tokens.forget()
    logger.info("deleted reseller %s", reseller.username)


async def instance_counts(owner_ids: list[int] | None) -> dict[str, int]:
    """Instance counts by state, over the given owners (``None``: every owner)."""
    query = (
        Instance.all() if owner_ids is None else Instance.filter(user_id__in=owner_ids)
    )
    total = await query.count()
    running = await query.filter(status=InstanceStatus.RUNNING).count()
    suspended = await query.filter(suspended=True).count()
    return {
        "total": total,
        "running": running,
        "stopped": total - running,
        "suspended": suspended,
    }


async def issue_token(
    owner: User,
    name: str,
    allowed_ips: list[str],
    lifetime: timedelta | None = None,
) -> str:
    """Create an API token for ``owner`` and return it: only its hash is kept."""
    secret = new_token()
    await ApiToken.create(
        user=owner,
        name=name,
        token_hash=digest(secret),
        prefix=display_prefix(secret),
        allowed_ips=allowed_ips,
        expires_at=datetime.now(UTC) + lifetime if lifetime else None,
    )
    logger.info("created API token %r for %s", name, owner.username)
    return secret
