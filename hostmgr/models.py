"""The data model. Schema changes go through ``hostmgr/migrations``."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class Role(StrEnum):
    ADMIN = "admin"
    RESELLER = "reseller"
    USER = "user"


class InstanceStatus(StrEnum):
    CREATING = "creating"
    RUNNING = "running"
    STOPPED = "stopped"
    SUSPENDED = "suspended"
    ERROR = "error"


class User(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=255)
    username = fields.CharField(max_length=64, unique=True)
    email = fields.CharField(max_length=254, unique=True)
    password_hash = fields.CharField(max_length=255)
    role = fields.CharEnumField(Role, max_length=16, default=Role.USER)
    reseller: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "hostmgr.User", related_name="customers", null=True, on_delete=fields.RESTRICT
    )
    suspended = fields.BooleanField(default=False)
    instance_limit = fields.IntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    reseller_id: int | None

    class Meta:
        table = "users"
        ordering = ("id",)


class ApiToken(Model):
    """A bearer token. Only its SHA-256 is stored, the token is shown once."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "hostmgr.User", related_name="tokens", on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=100)
    token_hash = fields.CharField(max_length=64, unique=True)
    prefix = fields.CharField(max_length=16)
    allowed_ips: list[str] = fields.JSONField(default=list)
    expires_at = fields.DatetimeField(null=True)
    last_used_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    user_id: int

    class Meta:
        table = "api_tokens"


class Package(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=100, unique=True)
    cpu_cores = fields.FloatField()
    ram_gb = fields.FloatField()
    disk_gb = fields.IntField()
    active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "packages"
        ordering = ("id",)


class Instance(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=63, unique=True)
    domain = fields.CharField(max_length=253, unique=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "hostmgr.User", related_name="instances", on_delete=fields.RESTRICT
    )
    package: fields.ForeignKeyRelation[Package] = fields.ForeignKeyField(
        "hostmgr.Package", related_name="instances", on_delete=fields.RESTRICT
    )
    version = fields.CharField(max_length=64, default="latest")
    status = fields.CharEnumField(
        InstanceStatus, max_length=16, default=InstanceStatus.CREATING
    )
    suspended = fields.BooleanField(default=False)
    suspend_reason = fields.CharField(max_length=255, null=True)
    port = fields.IntField(unique=True, null=True)
    container_id = fields.CharField(max_length=128, null=True)
    # The n8n encryption key, encrypted under the server secret.
    encryption_key = fields.TextField()
    # While set and in the future, one worker is acting on this instance.
    lock_until = fields.DatetimeField(null=True)
    # The container's network counters as last read, and whose they are: its
    # init process (pid and start time). Each start makes a new network
    # namespace whose counters begin again at zero.
    net_counter_key = fields.BigIntField(default=0)
    net_rx_seen = fields.BigIntField(default=0)
    net_tx_seen = fields.BigIntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    user_id: int
    package_id: int

    class Meta:
        table = "instances"
        ordering = ("id",)


class InstanceUsage(Model):
    """Traffic and disk use of one instance in one calendar month (UTC)."""

    id = fields.BigIntField(primary_key=True)
    instance: fields.ForeignKeyRelation[Instance] = fields.ForeignKeyField(
        "hostmgr.Instance", related_name="usage", on_delete=fields.CASCADE
    )
    #: ``YYYY-MM``.
    period = fields.CharField(max_length=7)
    rx_bytes = fields.BigIntField(default=0)
    tx_bytes = fields.BigIntField(default=0)
    #: The latest measurement of the data volume, not a sum.
    disk_bytes = fields.BigIntField(default=0)
    disk_measured_at = fields.DatetimeField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    instance_id: int

    class Meta:
        table = "instance_usage"
        unique_together = (("instance", "period"),)


class AuditEntry(Model):
    """One integration API call: who, what, from where, and how it ended."""

    id = fields.BigIntField(primary_key=True)
    user: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "hostmgr.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    token: fields.ForeignKeyNullableRelation[ApiToken] = fields.ForeignKeyField(
        "hostmgr.ApiToken", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    method = fields.CharField(max_length=10)
    path = fields.CharField(max_length=2048)
    ip = fields.CharField(max_length=45)
    status = fields.SmallIntField()
    duration_ms = fields.FloatField()
    # The request body, with every secret field redacted.
    details: dict[str, object] = fields.JSONField(default=dict)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)

    user_id: int | None
    token_id: int | None

    class Meta:
        table = "audit_entries"
        ordering = ("-id",)


class SsoRedemption(Model):
    """A used SSO link. The unique ``jti`` makes every link work once."""

    id = fields.IntField(primary_key=True)
    jti = fields.CharField(max_length=64, unique=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "hostmgr.User", related_name=False, on_delete=fields.CASCADE
    )
    expires_at = fields.DatetimeField(db_index=True)
    used_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "sso_redemptions"


class PanelSession(Model):
    """A web panel session. The cookie holds a random key, only its hash is kept."""

    id = fields.IntField(primary_key=True)
    key_hash = fields.CharField(max_length=64, unique=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "hostmgr.User", related_name="sessions", on_delete=fields.CASCADE
    )
    expires_at = fields.DatetimeField(db_index=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    user_id: int

    class Meta:
        table = "panel_sessions"


class OutboxMessage(Model):
    """An event held for one sink until its receiver takes it, sent in id order."""

    id = fields.BigIntField(primary_key=True)
    sink = fields.CharField(max_length=64)
    event = fields.CharField(max_length=100)
    subject = fields.CharField(max_length=255)
    # What the sink sends. Never a secret: sinks add their credentials when
    # they deliver.
    payload: dict[str, object] = fields.JSONField(default=dict)
    # Set for what must be queued at most once per sink, such as one bill per
    # instance and month.
    key = fields.CharField(max_length=255, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    attempts = fields.IntField(default=0)
    # After a failed attempt, the earliest time of the next one.
    next_attempt_at = fields.DatetimeField(null=True)
    delivered_at = fields.DatetimeField(null=True)
    # Set when the receiver refused it for good, so the messages after it go on.
    failed_at = fields.DatetimeField(null=True)
    last_error = fields.TextField(null=True)

    class Meta:
        table = "outbox_messages"
        ordering = ("id",)
        unique_together = (("sink", "key"),)
        indexes = (("sink", "delivered_at", "failed_at"),)


class DeliveryAttempt(Model):
    """One attempt to deliver an outbox message, and how it ended."""

    id = fields.BigIntField(primary_key=True)
    message: fields.ForeignKeyRelation[OutboxMessage] = fields.ForeignKeyField(
        "hostmgr.OutboxMessage", related_name="attempt_log", on_delete=fields.CASCADE
    )
    sink = fields.CharField(max_length=64)
    attempted_at = fields.DatetimeField(db_index=True)
    ok = fields.BooleanField()
    # What was sent, for example the WHMCS API actions called.
    action = fields.CharField(max_length=255, default="")
    http_status = fields.SmallIntField(null=True)
    error = fields.TextField(null=True)
    duration_ms = fields.FloatField()

    message_id: int

    class Meta:
        table = "outbox_delivery_log"
        ordering = ("id",)


class Lease(Model):
    """A named lease: until ``until`` passes, only ``holder`` does that work."""

    name = fields.CharField(max_length=100, primary_key=True)
    holder = fields.CharField(max_length=64)
    until = fields.DatetimeField()

    class Meta:
        table = "leases"
