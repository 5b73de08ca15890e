"""A stateful fake of the Cloudflare API v4 subset cfmcp uses, served on 127.0.0.1.

See README.md in this directory. Typical use::

    from tests.fake_cloudflare import FakeCloudflare

    with FakeCloudflare() as fake:
        client = Cloudflare(api_token=fake.token, base_url=fake.base_url)
"""

from .calls import REDACTED, Call, CallLog
from .envelope import ApiError
from .fake import FakeCloudflare
from .faults import Fault
from .model import (
    ALL_PERMISSIONS,
    WORKERS_KV_EDIT,
    WORKERS_KV_READ,
    WORKERS_ROUTES_EDIT,
    WORKERS_ROUTES_READ,
    WORKERS_SCRIPTS_EDIT,
    WORKERS_SCRIPTS_READ,
    WORKERS_TAIL_READ,
    ZONE_READ,
    Account,
    KvNamespace,
    Script,
    Token,
    Zone,
)
from .state import (
    ACCOUNT_ID,
    OTHER_ACCOUNT_ID,
    TOKEN,
    WORKERS_SUBDOMAIN,
    ZONE_ID,
    ZONE_NAME,
    FakeState,
    Seed,
    default_seed,
)

__all__ = [
    "ACCOUNT_ID",
    "ALL_PERMISSIONS",
    "OTHER_ACCOUNT_ID",
    "REDACTED",
    "TOKEN",
    "WORKERS_KV_EDIT",
    "WORKERS_KV_READ",
    "WORKERS_ROUTES_EDIT",
    "WORKERS_ROUTES_READ",
    "WORKERS_SCRIPTS_EDIT",
    "WORKERS_SCRIPTS_READ",
    "WORKERS_SUBDOMAIN",
    "WORKERS_TAIL_READ",
    "ZONE_ID",
    "ZONE_NAME",
    "ZONE_READ",
    "Account",
    "ApiError",
    "Call",
    "CallLog",
    "FakeCloudflare",
    "FakeState",
    "Fault",
    "KvNamespace",
    "Script",
    "Seed",
    "Token",
    "Zone",
    "default_seed",
]
