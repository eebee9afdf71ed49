"""Who may do what: the one policy evaluator of the console and the OpenAPI.

A ``Principal`` is the acting identity: an account's root, a RAM user, a trainer (staff running
training), or the operator at the server's command line. ``authorize`` raises
``RamError('NoPermission')`` unless the principal is allowed the action on the resource. Rules,
in order:

1. The operator (``Principal.cli``: seeds, scripts, the training system itself) may do anything.
2. Operator actions (``console:*``: creating and deleting accounts, seeding key history) are the
   operator's alone.
3. A trainer may do the trainer actions (``TRAINER_ACTIONS``) on training sandboxes
   (``sandbox_arn``), training classes (``CLASS_ARN_PREFIX``; which classes are a trainer's own
   is the class selector's business, ``training.classes.classes_for``) and the demo
   (``DEMO_ARN``), and nothing else.
4. Nothing crosses accounts: a resource of another account is refused to the rest.
5. The account's root may do everything in its account; only the root manages root keys.
6. A RAM user: the documents of its attached policies decide, in Alibaba's policy language
   (``ram.policy_language``: an explicit ``Deny`` statement that applies wins, then an ``Allow``
   statement that applies grants; conditions on ``acs:SourceIp``, ``acs:SecureTransport``,
   ``acs:MFAPresent`` and ``acs:CurrentTime`` are evaluated against the principal's request,
   ``Principal.request``); then the account preferences ``AllowUserToManageAccessKeys`` and
   ``AllowUserToManageMFADevices`` let a RAM user manage their own AccessKeys / MFA device.
   Anything else is refused (NoPermission). A stored document that cannot be read allows nothing.

Actions and resources use wildcards (``ram:Get*``, ``acs:ram:*:<uid>:user/*``). Resources are RAM's
(``acs:ram:*:<uid>:…``) but for ActionTrail's trail of an account (``actiontrail_arn``).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.utils.translation import gettext, gettext_lazy

from .errors import RamError
from .policy_language import Document, MalformedPolicyDocument, RequestContext, decide, parse_stored_document

if TYPE_CHECKING:
    from .models import Account, RamUser, Role

# Training: what trainers do (on sandboxes, and the demo account's reset).
TRAINER_ACTIONS = frozenset({"training:ResetSandbox", "training:DeleteSandbox", "training:ResetDemo",
                             "training:CreateClass", "training:UpdateClass"})
DEMO_ARN = "acs:training:::demo"
CLASS_ARN_PREFIX = "acs:training:::class/"  # a training class (training.models.TrainingClass.arn)
ASSUME_ROLE = "sts:assumerole"  # the one action whose resource may be in another account

# Actions a RAM user may take on their own keys when the account allows it.
SELF_MANAGED_KEY_ACTIONS = frozenset({
    "ram:CreateAccessKey", "ram:UpdateAccessKey", "ram:DeleteAccessKey",
    "ram:ListAccessKeys", "ram:GetAccessKeyLastUsed",
    # The recycle bin of one's own keys (IMS 2019-08-15).
    "ram:ListAccessKeysInRecycleBin", "ram:GetAccessKeyInfoInRecycleBin",
    "ram:RestoreAccessKeyFromRecycleBin", "ram:DeleteAccessKeyInRecycleBin",
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
STS_ASSUME_ROLE_DOCUMENT = {
    "Version": "1",
    "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}],
}
# Alibaba's AliyunActionTrailReadOnlyAccess (v4): reading the trail (actiontrail:LookupEvents here).
ACTIONTRAIL_READ_ONLY_DOCUMENT = {
    "Version": "1",
    "Statement": [{"Effect": "Allow", "Action": ["actiontrail:Lookup*", "actiontrail:Describe*", "actiontrail:Get*",
                                                  "actiontrail:Check*", "actiontrail:List*"], "Resource": "*"}],
}
# Their descriptions are stored and returned by the API in English (``ram.bootstrap``); the console
# shows them in the page's language (``Policy.console_description``).
SYSTEM_POLICIES = {
    "AliyunRAMFullAccess": (gettext_lazy("Provides full access to Resource Access Management (RAM)."),
                            FULL_ACCESS_DOCUMENT),
    "AliyunRAMReadOnlyAccess": (gettext_lazy("Provides read-only access to Resource Access Management (RAM)."),
                                READ_ONLY_DOCUMENT),
    "AliyunSTSAssumeRoleAccess": (gettext_lazy("Provides access to assume RAM roles through Security Token Service "
                                               "(STS)."), STS_ASSUME_ROLE_DOCUMENT),
    "AliyunActionTrailReadOnlyAccess": (gettext_lazy("Provides read-only access to Action Trail via Management "
                                                     "Console."), ACTIONTRAIL_READ_ONLY_DOCUMENT),
}
# The services whose resources belong to an account (``acs:<service>:*:<uid>:…``): RAM's, and
# ActionTrail's trail of the account (``actiontrail_arn``).
ACCOUNT_SERVICES = ("ram", "actiontrail")
# A stored document that cannot be read: it allows nothing, and denies everything it might have.
_UNREADABLE = Document(())


def account_arn(account: Account | str) -> str:
    """An account (or the account with that UID) as a whole."""
    return f"acs:ram:*:{account if isinstance(account, str) else account.uid}:*"


def user_arn(account: Account, user_name: str) -> str:
    return f"acs:ram:*:{account.uid}:user/{user_name}"


def policy_arn(account: Account, policy_name: str) -> str:
    return f"acs:ram:*:{account.uid}:policy/{policy_name}"


def role_arn(account: Account | str, role_name: str) -> str:
    """A RAM role (of an account, or of the account with that UID) as a resource of a policy
    (``ram:CreateRole`` …, ``sts:AssumeRole``)."""
    uid = account if isinstance(account, str) else account.uid
    return f"acs:ram:*:{uid}:role/{role_name}"


def actiontrail_arn(account: Account) -> str:
    """The account's audit trail as ActionTrail's resource: ActionTrail authorizes by action only
    (its policies name ``"Resource": "*"``), so any resource of the account's ActionTrail."""
    return f"acs:actiontrail:*:{account.uid}:*"


def root_arn(account: Account) -> str:
    return f"acs:ram:*:{account.uid}:root"


def sandbox_arn(account: Account) -> str:
    """A training sandbox as a whole (reset, delete, its exercises): within its account, so its
    root (the trainee) may act on it like on anything of the account."""
    return f"acs:ram:*:{account.uid}:sandbox"


@dataclass
class Principal:
    """The identity a request acts as. Build one with ``root``, ``ram_user`` or ``cli``."""

    kind: str  # "root" | "ram_user" | "assumed_role" | "trainer" | "cli" | "anonymous"
    account: Account | None = None
    ram_user: RamUser | None = None
    label: str = ""
    # An assumed role's session (STS temporary credentials): the role, who assumed it, and the
    # session policy that narrows what the role's policies allow.
    role: Role | None = field(default=None, repr=False)
    assumed_by: str = ""
    _session_documents: list[Document] | None = field(default=None, repr=False)
    # What the conditions of its policies may ask about the request it acts in (None: nothing
    # but the time: a condition on the address, the transport or MFA then does not hold).
    request: RequestContext | None = field(default=None, repr=False)
    _documents: list[Document] | None = field(default=None, repr=False)

    @classmethod
    def root(cls, account: Account) -> Principal:
        return cls(kind="root", account=account)

    @classmethod
    def for_ram_user(cls, ram_user: RamUser, *, policy_documents: list[dict] | None = None) -> Principal:
        """``policy_documents``: the documents of the user's attached policies when the caller
        read them already (the API reads them with the AccessKey); else read on first use."""
        principal = cls(kind="ram_user", account=ram_user.account, ram_user=ram_user)
        if policy_documents is not None:
            principal._documents = documents_of(policy_documents)
        return principal

    @classmethod
    def assumed_role(cls, *, role: Role, session_name: str, assumed_by: str, session_policy: dict | None,
                     role_documents: list[dict] | None = None) -> Principal:
        """A session of ``role`` (its temporary credentials), named ``session_name``, opened by
        ``assumed_by`` (an ARN). It acts in the role's account with the role's policies, each call
        also allowed by ``session_policy`` when there is one. ``role_documents``: the documents of
        the role's policies when the caller read them already; else read on first use."""
        principal = cls(kind="assumed_role", account=role.account, role=role, label=session_name,
                        assumed_by=assumed_by)
        if role_documents is not None:
            principal._documents = documents_of(role_documents)
        principal._session_documents = documents_of([session_policy]) if session_policy is not None else None
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
        if self.kind == "assumed_role":
            return f"acs:ram::{self.account.uid}:assumed-role/{self.role.role_name}/{self.label}"
        return f"{self.kind}:{self.label}"

    @property
    def display_name(self) -> str:
        if self.kind == "root":
            return self.account.root_email
        if self.kind == "ram_user":
            return self.ram_user.logon_name
        if self.kind == "assumed_role":
            return f"{self.role.role_name}/{self.label}"
        return self.label

    @property
    def is_root(self) -> bool:
        return self.kind == "root"

    @property
    def is_assumed_role(self) -> bool:
        """A role's session: STS temporary credentials."""
        return self.kind == "assumed_role"

    @property
    def is_operator(self) -> bool:
        """The server's command line: trusted, and not reachable from outside (no rate limit applies)."""
        return self.kind == "cli"

    def documents(self) -> list[Document]:
        """The documents of the policies attached to a RAM user (or to an assumed role), read
        once per principal."""
        if self._documents is None:
            self._documents = []
            # Only the documents (no Policy instances): this runs on every RAM user's API call.
            if self.ram_user is not None:
                self._documents = documents_of(
                    self.ram_user.policy_attachments.values_list("policy__document", flat=True))
            elif self.role is not None:
                self._documents = documents_of(self.role.policy_attachments.values_list("policy__document", flat=True))
        return self._documents


def documents_of(documents: Iterable[dict]) -> list[Document]:
    """Stored policy documents, read (``policy_language.parse_stored_document``). One that cannot be
    read (stored before it was checked, or edited in the database) allows nothing and makes
    its holder allowed nothing: a Deny it might hold must not be lost."""
    parsed = []
    for document in documents:
        try:
            parsed.append(parse_stored_document(document))
        except MalformedPolicyDocument:
            return [_UNREADABLE]
    return parsed


def is_allowed(principal: Principal, action: str, resource: str) -> bool:
    """Whether ``principal`` may take ``action`` (``ram:…``) on ``resource`` (an ARN)."""
    if principal.kind == "cli":
        return True
    if action.startswith("console:"):
        return False  # the operator's own actions
    if principal.kind == "trainer":
        return action in TRAINER_ACTIONS and (
            resource == DEMO_ARN or resource.startswith(CLASS_ARN_PREFIX)
            or (resource.startswith("acs:ram:*:") and resource.endswith(":sandbox")))
    if principal.kind not in ("root", "ram_user", "assumed_role") or principal.account is None:
        return False
    if not any(resource.startswith(f"acs:{service}:*:{principal.account.uid}:") for service in ACCOUNT_SERVICES) \
            and action.lower() != ASSUME_ROLE:
        return False  # nothing crosses accounts (but a role of another account, whose trust policy consents)
    if principal.kind == "root":
        return action.lower() != ASSUME_ROLE  # roles may not be assumed by root accounts
    if resource == root_arn(principal.account):
        return False  # only the root manages the root's keys
    documents = principal.documents()
    if documents and documents[0] is _UNREADABLE:
        return False
    request = principal.request or RequestContext()
    decision = decide(documents, action, resource, request)
    if principal.kind == "assumed_role":
        if decision != "Allow" or principal._session_documents is None:
            return decision == "Allow"
        session = principal._session_documents  # it can only narrow: both must allow
        return not (session and session[0] is _UNREADABLE) and decide(session, action, resource, request) == "Allow"
    if decision is not None:
        return decision == "Allow"
    if resource != user_arn(principal.account, principal.ram_user.user_name):
        return False
    if action in SELF_MANAGED_KEY_ACTIONS:
        return principal.account.allow_user_to_manage_access_keys
    if action in SELF_MANAGED_MFA_ACTIONS:
        return principal.account.allow_user_to_manage_mfa_devices
    return False


def is_trusted_by(role: Role, principal: Principal, request: RequestContext) -> bool:
    """Whether ``role``'s trust policy lets ``principal`` (a RAM user or an assumed role) assume
    it: a statement that applies names it among its RAM principals, as its account (the UID or
    ``acs:ram::<uid>:root``: any of its identities the account allows to) or as itself (its ARN);
    a Deny that applies wins. A trust policy that cannot be read trusts no one."""
    try:
        document = parse_stored_document(role.trust_policy, trust=True)
    except MalformedPolicyDocument:
        return False
    uid = principal.account.uid
    names = [uid, f"acs:ram::{uid}:root"]
    if principal.kind == "ram_user":
        names.append(principal.arn)
    elif principal.kind == "assumed_role":
        names.append(f"acs:ram::{uid}:role/{principal.role.role_name}")
    else:
        return False
    trusted = False
    for statement in document.statements:
        if not statement.applies("sts:AssumeRole", None, request):
            continue
        if any(statement.trusts("RAM", name) for name in names):
            if statement.effect == "Deny":
                return False
            trusted = True
    return trusted


def authorize(principal: Principal, action: str, resource: str) -> None:
    """Raise ``RamError('NoPermission')`` unless ``principal`` may take ``action`` on ``resource``."""
    if not is_allowed(principal, action, resource):
        raise RamError(
            "NoPermission",
            # In the console's language; the OpenAPI answers in English (ram.api.middleware).
            gettext("You are not authorized to do this action. Action: %(action)s, Resource: %(resource)s.")
            % {"action": action, "resource": resource},
            recommend=gettext("Ask the account's administrator to grant the permission."),
        )
