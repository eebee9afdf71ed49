"""Every action the OpenAPI answers, by API version and name: RAM 2015-05-01
(``ram.api.actions``: AccessKeys, users, preferences, reports; ``ram.api.policy_actions``:
policies; ``ram.api.role_actions``: roles), STS 2015-04-01 (``ram.api.sts_actions``), IMS
2019-08-15 (``ram.api.ims_actions``: keys, users, the AccessKey recycle bin) and ActionTrail
2020-07-06 (``ram.api.actiontrail_actions``: the audit trail), on the one endpoint and the one
authentication path."""
from __future__ import annotations

from collections.abc import Callable

from .actions import ACTIONS as IDENTITY_ACTIONS
from .actions import ActionCall
from .actiontrail_actions import ACTIONTRAIL_ACTIONS, ACTIONTRAIL_VERSION
from .ims_actions import IMS_ACTIONS, IMS_VERSION
from .policy_actions import POLICY_ACTIONS
from .role_actions import ROLE_ACTIONS
from .sts_actions import STS_ACTIONS, STS_VERSION

RAM_VERSION = "2015-05-01"
ACTIONS: dict[str, Callable[[ActionCall], dict]] = {**IDENTITY_ACTIONS, **POLICY_ACTIONS, **ROLE_ACTIONS}
APIS: dict[str, dict[str, Callable[[ActionCall], dict]]] = {RAM_VERSION: ACTIONS, STS_VERSION: STS_ACTIONS,
                                                           IMS_VERSION: IMS_ACTIONS,
                                                           ACTIONTRAIL_VERSION: ACTIONTRAIL_ACTIONS}
# The product each version belongs to: the service a key's last use names (GetAccessKeyLastUsed).
SERVICE_BY_VERSION: dict[str, str] = {RAM_VERSION: "ram", STS_VERSION: "sts", IMS_VERSION: "ims",
                                      ACTIONTRAIL_VERSION: "actiontrail"}
assert set(SERVICE_BY_VERSION) == set(APIS), "every API version names its service"
# The same as the audit trail records it (``AuditEvent.service``) and ActionTrail names it (an
# event's serviceName: Ram, Sts, Ims, Actiontrail); and back.
SERVICE_NAMES: dict[str, str] = {version: service.capitalize() for version, service in SERVICE_BY_VERSION.items()}
API_VERSIONS: dict[str, str] = {service: version for version, service in SERVICE_NAMES.items()}
