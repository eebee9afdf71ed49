"""Who may do what: the one policy evaluator of the console and the OpenAPI.

A ``Principal`` is the acting identity: an account's root, a RAM user, a trainer (staff running
training), or the operator at the server's command line. ``authorize`` raises
``RamError('NoPermission')`` unless the principal is allowed the action on the resource. Rules,
in order:

1. The operator (``Principal.cli``: seeds, scripts, the training system itself) may do anything.
2. Operator actions (``console:*``: creating and deleting accounts, seeding key history) are the
   operator's alone.
3. A trainer may do the trainer actions (``TRAINER_ACTIONS``) on training sandboxes
   (``sandbox_arn``) and the demo (``DEMO_ARN``), and nothing else.
4. Nothing crosses accounts: a resource of another account is refused to the rest.
5. The account's root may do everything in its account; only the root manages root keys.
6. A RAM user: an explicit ``Deny`` statement of an attached policy wins; then an ``Allow``
   statement grants; then the account preferences ``AllowUserToManageAccessKeys`` and
   ``AllowUserToManageMFADevices`` let a RAM user manage their own AccessKeys / MFA device.
   Anything else is refused.

Actions and resources use wildcards (``ram:Get*``, ``acs:ram:*:<uid>:user/*``).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING

from .errors import RamError

if TYPE_CHECKING:
    from .models import Account, RamUser

# Training: what trainers do (on sandboxes, and the demo account's reset).
TRAINER_ACTIONS = frozenset({"training:ResetSandbox", "training:DeleteSandbox", "training:ResetDemo"})
DEMO_ARN = "acs:training:::demo"

# Actions a RAM user may take on their own keys when the account allows it.
SELF_MANAGED_KEY_ACTIONS = frozenset({
    "ram:CreateAccessKey", "ram:UpdateAccessKey", "ram:DeleteAccessKey",
    "ram:ListAccessKeys", "ram:GetAccessKeyLastUsed",
})

# Actions a RAM user may take on their own MFA device when the account allows it (the default).
SELF_MANAGED_MFA_ACTIONS = frozenset({"ram:BindMFADevice", "ram:UnbindMFADevice", "ram:GetUserMFAInfo"})

FULL_ACCESS_DOCUMENT = {
    "Version": "1",
    "Statement": [{"Effect": "Allow", "Action": "ram:*", "Resource": "*"}],
}
READ_ONLY_DOCUMENT = {
    "Version": "1",
    "Statement": [{"Effect": "Allow", "Action": ["ram:Get*", "ram:List*"], "Resource": "*"}],
}
SYSTEM_POLICIES = {
    "AliyunRAMFullAccess": ("Provides full access to Resource Access Management (RAM).", FULL_ACCESS_DOCUMENT),
    "AliyunRAMReadOnlyAccess": ("Provides read-only access to Resource Access Management (RAM).", READ_ONLY_DOCUMENT),
}


def account_arn(account: Account) -> str:
    return f"acs:ram:*:{account.uid}:*"


def user_arn(account: Account, user_name: str) -> str:
    return f"acs:ram:*:{account.uid}:user/{user_name}"


def root_arn(account: Account) -> str:
    return f"acs:ram:*:{account.uid}:root"


def sandbox_arn(account: Account) -> str:
    """A training sandbox as a whole (reset, delete, its exercises): within its account, so its
    root (the trainee) may act on it like on anything of the account."""
    return f"acs:ram:*:{account.uid}:sandbox"


@dataclass
class Principal:
    """The identity a request acts as. Build one with ``root``, ``ram_user`` or ``cli``."""

    kind: str  # "root" | "ram_user" | "trainer" | "cli" | "anonymous"
    account: Account | None = None
    ram_user: RamUser | None = None
    label: str = ""
    _statements: list[dict] | None = field(default=None, repr=False)

    @classmethod
    def root(cls, account: Account) -> Principal:
        return cls(kind="root", account=account)

    @classmethod
    def for_ram_user(cls, ram_user: RamUser, *, policy_documents: list[dict] | None = None) -> Principal:
        """``policy_documents``: the documents of the user's attached policies when the caller
        read them already (the API reads them with the AccessKey); else read on first use."""
        principal = cls(kind="ram_user", account=ram_user.account, ram_user=ram_user)
        if policy_documents is not None:
            principal._statements = statements_of(policy_documents)
        return principal

    @classmethod
    def cli(cls, label: str = "manage.py") -> Principal:
        """The operator at the server's command line (seed, scripts): trusted, and audited as such."""
        return cls(kind="cli", label=label)

    @classmethod
    def trainer(cls, username: str) -> Principal:
        """A staff member running training (the Trainers group): audited under their own name."""
        return cls(kind="trainer", label=username)

    @classmethod
    def anonymous(cls, label: str) -> Principal:
        """Someone not (yet) authenticated, e.g. a failed logon as ``label``: allowed nothing."""
        return cls(kind="anonymous", label=label[:200])

    @property
    def arn(self) -> str:
        """How the audit trail names this principal."""
        if self.kind == "root":
            return f"acs:ram::{self.account.uid}:root"
        if self.kind == "ram_user":
            return f"acs:ram::{self.account.uid}:user/{self.ram_user.user_name}"
        return f"{self.kind}:{self.label}"

    @property
    def display_name(self) -> str:
        if self.kind == "root":
            return self.account.root_email
        if self.kind == "ram_user":
            return self.ram_user.logon_name
        return self.label

    @property
    def is_root(self) -> bool:
        return self.kind == "root"

    @property
    def is_operator(self) -> bool:
        """The server's command line: trusted, and not reachable from outside (no rate limit applies)."""
        return self.kind == "cli"

    def statements(self) -> list[dict]:
        """The statements of the policies attached to a RAM user, loaded once per principal."""
        if self._statements is None:
            self._statements = []
            if self.ram_user is not None:
                # Only the documents (no Policy instances): this runs on every RAM user's API call.
                self._statements = statements_of(
                    self.ram_user.policy_attachments.values_list("policy__document", flat=True))
        return self._statements


def statements_of(documents: Iterable[dict]) -> list[dict]:
    """The statements of policy documents, one list (a document's ``Statement`` may be a single one)."""
    statements: list[dict] = []
    for document in documents:
        statement = document.get("Statement", []) if isinstance(document, dict) else []
        statements.extend(statement if isinstance(statement, list) else [statement])
    return statements


def _as_list(value) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _statement_matches(statement: dict, action: str, resource: str) -> bool:
    actions = _as_list(statement.get("Action"))
    resources = _as_list(statement.get("Resource"))
    action_ok = any(fnmatchcase(action.lower(), pattern.lower()) for pattern in actions)
    resource_ok = any(fnmatchcase(resource, pattern) for pattern in resources)
    return action_ok and resource_ok


def is_allowed(principal: Principal, action: str, resource: str) -> bool:
    """Whether ``principal`` may take ``action`` (``ram:…``) on ``resource`` (an ARN)."""
    if principal.kind == "cli":
        return True
    if action.startswith("console:"):
        return False  # the operator's own actions
    if principal.kind == "trainer":
        return action in TRAINER_ACTIONS and (
            resource == DEMO_ARN or (resource.startswith("acs:ram:*:") and resource.endswith(":sandbox")))
    if principal.kind not in ("root", "ram_user") or principal.account is None:
        return False
    if not resource.startswith(f"acs:ram:*:{principal.account.uid}:"):
        return False  # nothing crosses accounts
    if principal.kind == "root":
        return True
    if resource == root_arn(principal.account):
        return False  # only the root manages the root's keys
    statements = principal.statements()
    if any(s.get("Effect") == "Deny" and _statement_matches(s, action, resource) for s in statements):
        return False
    if any(s.get("Effect") == "Allow" and _statement_matches(s, action, resource) for s in statements):
        return True
    if resource != user_arn(principal.account, principal.ram_user.user_name):
        return False
    if action in SELF_MANAGED_KEY_ACTIONS:
        return principal.account.allow_user_to_manage_access_keys
    if action in SELF_MANAGED_MFA_ACTIONS:
        return principal.account.allow_user_to_manage_mfa_devices
    return False


def authorize(principal: Principal, action: str, resource: str) -> None:
    """Raise ``RamError('NoPermission')`` unless ``principal`` may take ``action`` on ``resource``."""
    if not is_allowed(principal, action, resource):
        raise RamError(
            "NoPermission",
            f"You are not authorized to do this action. Action: {action}, Resource: {resource}.",
            recommend="Ask the account's administrator to grant the permission.",
        )
