"""Request bodies and response shapes of the integration API, as in API-SPEC.md.

Request models validate input; response models document the exact shapes in the
OpenAPI schema and are checked against real responses in the tests.
"""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, EmailStr, Field, model_validator

from hostmgr.services.accounts import USERNAME_PATTERN
from hostmgr.services.instances import NAME_PATTERN, VERSION_PATTERN

Name = Annotated[str, Field(min_length=1, max_length=255)]
Password = Annotated[str, Field(min_length=8, max_length=1024)]
Username = Annotated[str, Field(pattern=USERNAME_PATTERN, max_length=64)]
Email = Annotated[EmailStr, Field(max_length=254)]
InstanceLimit = Annotated[int, Field(ge=0, le=100_000)]


class RequestBody(BaseModel):
    # Billing modules send extra fields of their own; they are ignored, not refused.
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class AccountCreate(RequestBody):
    name: Name
    email: Email
    password: Password
    username: Username | None = None
    instance_limit: InstanceLimit | None = None


class AccountUpdate(RequestBody):
    name: Name | None = None
    email: Email | None = None
    username: Username | None = None
    password: Password | None = None
    instance_limit: InstanceLimit | None = None


class SsoRequest(RequestBody):
    email: Email | None = None
    username: Annotated[str, Field(min_length=1, max_length=64)] | None = None

    @model_validator(mode="after")
    def _needs_target(self) -> Self:
        if self.email is None and self.username is None:
            raise ValueError("Give the email or the username of the user.")
        return self


# --- responses -----------------------------------------------------------------


class Success(BaseModel):
    status: Literal["success"] = "success"


class ErrorBody(BaseModel):
    status: Literal["error"] = "error"
    message: str
    errors: dict[str, list[str]] | None = None


class UserRef(BaseModel):
    id: int
    name: str
    email: str


class ConnectionTest(Success):
    message: str
    hostname: str
    ip: str
    user: UserRef


class SystemInfo(BaseModel):
    os: str
    kernel: str
    ip: str
    uptime: str
    hostname: str


class Counts(BaseModel):
    users: int
    instances_total: int
    instances_running: int
    instances_stopped: int


class LoadAverages(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    one: float = Field(alias="1")
    five: float = Field(alias="5")
    fifteen: float = Field(alias="15")


class SystemStats(Success):
    server_status: Literal["online"] = "online"
    system_info: SystemInfo
    load_averages: LoadAverages
    counts: Counts


class PackageOut(BaseModel):
    id: int
    name: str
    cpu_limit: float
    ram_limit: float
    disk_limit: int


class PackageList(Success):
    packages: list[PackageOut]


class PackageDetail(Success):
    package: PackageOut


class UserCreated(Success):
    user_id: int


class UserOut(BaseModel):
    id: int
    name: str
    username: str
    email: str
    role: Literal["admin", "reseller", "user"]
    suspended: bool
    instance_limit: int | None
    reseller: str | None
    created_at: str


class UserList(Success):
    users: list[UserOut]


class UserDetail(Success):
    user: UserOut


class SsoLink(Success):
    redirect_url: str


class InstanceCounts(BaseModel):
    total: int
    running: int
    stopped: int
    suspended: int


class ResellerOut(BaseModel):
    id: int
    name: str
    username: str
    email: str
    suspended: bool
    instance_limit: int | None
    users: int
    instances: InstanceCounts
    created_at: str


class ResellerList(Success):
    resellers: list[ResellerOut]


class ResellerDetail(Success):
    reseller: ResellerOut


class ResellerInstances(Success):
    username: str
    instances: InstanceCounts


# --- instances -------------------------------------------------------------------


class PackageRef(RequestBody):
    """A package by name (``package``) or by id (``package_id``)."""

    package: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    package_id: Annotated[int, Field(ge=1)] | None = None

    @model_validator(mode="after")
    def _needs_package(self) -> Self:
        if self.package is None and self.package_id is None:
            raise ValueError("Give the package by name (package) or id (package_id).")
        return self


class InstanceCreate(PackageRef):
    name: Annotated[str, Field(pattern=NAME_PATTERN)]
    email: Email | None = None
    version: Annotated[str, Field(pattern=VERSION_PATTERN)] = "latest"


class SuspendRequest(RequestBody):
    reason: Annotated[str, Field(min_length=1, max_length=255)] = "Suspended"


class InstanceCreated(Success):
    instance_id: int
    domain: str
    user_id: int


class InstanceStatsOut(Success):
    domain: str
    instance_status: str
    cpu_percent: float
    memory_usage: str
    memory_limit: str
    memory_percent: float


class InstanceOut(BaseModel):
    id: int
    name: str
    domain: str
    status: str
    suspended: bool
    user_id: int
    package: str
    version: str
    created_at: str


class InstanceList(Success):
    instances: list[InstanceOut]


class UpgradeResult(Success):
    message: str
    new_package: str


class InstanceDetail(Success):
    instance: InstanceOut


class UsageOut(BaseModel):
    name: str
    domain: str
    user_id: int
    period: str
    disk_usage_mb: float
    disk_limit_mb: int
    bandwidth_mb: float
    bandwidth_in_mb: float
    bandwidth_out_mb: float
    bandwidth_limit_mb: int
    updated_at: str | None


class UsageReport(Success):
    period: str
    instances: list[UsageOut]


class InstanceUsageOut(Success, UsageOut):
    pass
