"""The RAM domain: accounts, RAM users, AccessKeys, system policies and the audit trail.

A row's own invariants are database constraints here (name formats, the AccessKey quota slots,
statuses); rules across rows live in ``ram.services``.
"""
from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from .credentials import ACCESS_KEY_ID_REGEX
from .policy import SYSTEM_POLICIES

NUMBER_WORDS = {1: gettext_lazy("one"), 2: gettext_lazy("two"), 3: gettext_lazy("three"), 4: gettext_lazy("four"),
                5: gettext_lazy("five"), 6: gettext_lazy("six"), 7: gettext_lazy("seven"), 8: gettext_lazy("eight"),
                9: gettext_lazy("nine"), 10: gettext_lazy("ten")}


@dataclass(frozen=True)
class AccessKeyQuota:
    """How many AccessKey pairs one owner may hold, Inactive keys included (Alibaba's quota).

    The one definition of the numbers: the check constraint of ``AccessKey``, the service that
    issues keys, the credential report, the auditors' filters and every message read them here.
    """

    limit: int
    # The owner's two sentences, each whole (a translation needs the owner's words, not a fragment):
    rule_text: str  # "%(limit)s" is the number as a word ("two"), as the document words it
    refusal_text: str  # "%(limit)d" is the number

    @property
    def rule(self) -> str:
        """The console's sentence, as the document words it, in the language active when it is shown."""
        return _lazy_text(self.rule_text, NUMBER_WORDS.get(self.limit, self.limit))

    @property
    def refusal(self) -> str:
        """Why no more key can be created (LimitExceeded.User.AccessKey), in the language active when
        it is shown."""
        return _lazy_text(self.refusal_text, self.limit)

    def is_reached(self, held: int) -> bool:
        return held >= self.limit


def _quota_text(text, limit) -> str:
    return text % {"limit": limit}


_lazy_text = lazy(_quota_text, str)  # evaluated when shown: module-level users (training) get the reader's language

RAM_USER_KEY_QUOTA = AccessKeyQuota(
    limit=2, rule_text=gettext_lazy("Each RAM user can have a maximum of %(limit)s AccessKey pairs."),
    refusal_text=gettext_lazy("A RAM user can have at most %(limit)d AccessKey pairs."))
ROOT_KEY_QUOTA = AccessKeyQuota(
    limit=5, rule_text=gettext_lazy("Each Alibaba Cloud account can have a maximum of %(limit)s AccessKey pairs."),
    refusal_text=gettext_lazy("An Alibaba Cloud account can have at most %(limit)d AccessKey pairs."))

USER_NAME_REGEX = r"^[A-Za-z0-9._-]{1,64}$"
USER_ID_BASE = 2 * 10**15  # a RAM user's UserId is this plus its pk: a 16-digit number, as Alibaba's are
ACCOUNT_UID_REGEX = r"^[0-9]{16}$"
ACCOUNT_ALIAS_REGEX = r"^[a-z0-9]([a-z0-9-]{1,30}[a-z0-9])?$"


class Account(models.Model):
    """An Alibaba Cloud account: its root identity, alias and security preferences."""

    uid = models.CharField("UID", max_length=16, unique=True)
    alias = models.CharField(gettext_lazy("alias"), max_length=32, unique=True)
    root_user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="root_account",
        help_text=gettext_lazy("The root identity's console logon (email + password)."),
    )
    allow_user_to_manage_access_keys = models.BooleanField(
        "AllowUserToManageAccessKeys", default=False,
        help_text=gettext_lazy("RAM users may manage their own AccessKey pairs."),
    )
    allow_user_to_change_password = models.BooleanField("AllowUserToChangePassword", default=True)
    allow_user_to_manage_mfa_devices = models.BooleanField("AllowUserToManageMFADevices", default=True)
    is_sandbox = models.BooleanField(gettext_lazy("is sandbox"), default=False)
    created_at = models.DateTimeField(gettext_lazy("created at"), default=timezone.now)
    access_key_network_policy = models.JSONField(
        null=True, blank=True, help_text="The network access policy of every AccessKey of the account "
        "(ram.network_policy), unless a key has an Active one of its own.")

    class Meta:
        verbose_name = gettext_lazy("account")
        verbose_name_plural = gettext_lazy("accounts")
        ordering = ["alias"]
        constraints = [
            models.CheckConstraint(condition=Q(uid__regex=ACCOUNT_UID_REGEX), name="account_uid_16_digits"),
            models.CheckConstraint(condition=Q(alias__regex=ACCOUNT_ALIAS_REGEX), name="account_alias_format"),
        ]

    def __str__(self) -> str:
        return f"{self.alias} ({self.uid})"

    @property
    def root_email(self) -> str:
        return self.root_user.username

    @property
    def logon_suffix(self) -> str:
        return f"@{self.alias}.onaliyun.com"


class Policy(models.Model):
    """A permission policy: a document of Alibaba's policy language (``ram.policy_language``).

    System policies are global (``account`` is null) and read-only; a custom policy belongs to
    one account, its name unique there in any letter case. ``document`` is the document of the
    default version (``PolicyVersion``), kept equal to it by the services in the same transaction:
    what authorization reads with a signing key, in one query.
    """

    SYSTEM = "System"
    CUSTOM = "Custom"
    MAX_VERSIONS = 5  # versions a custom policy may keep (LimitExceeded.Policy.Version)
    NAME_MAX_LENGTH = 128
    DESCRIPTION_MAX_LENGTH = 1024

    account = models.ForeignKey("Account", verbose_name=gettext_lazy("account"), on_delete=models.CASCADE, null=True,
                                blank=True, related_name="custom_policies")
    name = models.CharField(gettext_lazy("name"), max_length=NAME_MAX_LENGTH)
    policy_type = models.CharField(gettext_lazy("policy type"), max_length=16, default=SYSTEM, choices=[
        (SYSTEM, pgettext_lazy("policy type", "System")), (CUSTOM, pgettext_lazy("policy type", "Custom"))])
    description = models.CharField(gettext_lazy("description"), max_length=DESCRIPTION_MAX_LENGTH, blank=True)
    document = models.JSONField(gettext_lazy("document"))
    # its default version's VersionId
    default_version = models.CharField(gettext_lazy("default version"), max_length=16, default="v1")
    last_version_number = models.PositiveIntegerField(default=1)  # the next version is numbered after it
    created_at = models.DateTimeField(gettext_lazy("created at"), default=timezone.now)
    updated_at = models.DateTimeField(gettext_lazy("updated at"), default=timezone.now)

    class Meta:
        verbose_name = gettext_lazy("policy")
        verbose_name_plural = gettext_lazy("policies")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(Lower("name"), name="policy_system_name_unique",
                                    condition=Q(account__isnull=True)),
            models.UniqueConstraint(Lower("name"), "account", name="policy_custom_name_unique_in_account",
                                    condition=Q(account__isnull=False)),
            models.CheckConstraint(
                condition=(Q(policy_type="System", account__isnull=True)
                           | Q(policy_type="Custom", account__isnull=False)),
                name="policy_type_matches_owner"),
            models.CheckConstraint(condition=Q(name__regex=r"^[A-Za-z0-9-]{1,128}$"), name="policy_name_format"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def console_description(self) -> str:
        """The note the console shows: a system policy's in the page's language (its English, stored
        and returned by the API, is the msgid of ``ram.policy.SYSTEM_POLICIES``), a custom policy's
        as its owner wrote it."""
        if self.policy_type == self.SYSTEM and self.description:
            described = SYSTEM_POLICIES.get(self.name)
            if described is not None:
                return str(described[0])
        return self.description


class PolicyVersion(models.Model):
    """One version of a policy's document (``v1``, ``v2``…); exactly one is the default."""

    policy = models.ForeignKey(Policy, verbose_name=gettext_lazy("policy"), on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()  # the n of its VersionId "vn"; a number is never reused
    document = models.JSONField(gettext_lazy("document"))
    is_default = models.BooleanField(gettext_lazy("is default"), default=False)
    created_at = models.DateTimeField(gettext_lazy("created at"), default=timezone.now)

    class Meta:
        verbose_name = gettext_lazy("policy version")
        verbose_name_plural = gettext_lazy("policy versions")
        ordering = ["policy", "number"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "number"], name="policy_version_number_unique"),
            models.UniqueConstraint(fields=["policy"], condition=Q(is_default=True), name="policy_one_default_version"),
        ]

    @property
    def version_id(self) -> str:
        return f"v{self.number}"

    def __str__(self) -> str:
        return f"{self.policy.name} {self.version_id}"


class RamUser(models.Model):
    """A RAM user of one account, with an optional console logon."""

    account = models.ForeignKey(Account, verbose_name=gettext_lazy("account"), on_delete=models.CASCADE, related_name="ram_users")
    user_name = models.CharField("UserName", max_length=64)
    display_name = models.CharField("DisplayName", max_length=128)
    comments = models.CharField(gettext_lazy("Comments"), max_length=128, blank=True)
    email = models.EmailField(gettext_lazy("email"), blank=True)
    mobile_phone = models.CharField(gettext_lazy("mobile phone"), max_length=32, blank=True)
    login_user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="ram_user",
        help_text=gettext_lazy("Console logon <UserName>@<alias>.onaliyun.com, when enabled."),
    )
    policies = models.ManyToManyField(Policy, verbose_name=gettext_lazy("policies"), through="PolicyAttachment",
                                      related_name="ram_users", blank=True)
    created_at = models.DateTimeField(gettext_lazy("created at"), default=timezone.now)
    updated_at = models.DateTimeField(gettext_lazy("updated at"), default=timezone.now)
    last_login_at = models.DateTimeField(gettext_lazy("last login at"), null=True, blank=True)

    class Meta:
        verbose_name = gettext_lazy("RAM user")
        verbose_name_plural = gettext_lazy("RAM users")
        ordering = ["user_name"]
        constraints = [
            models.UniqueConstraint(Lower("user_name"), "account", name="ram_user_name_unique_in_account"),
            models.CheckConstraint(condition=Q(user_name__regex=USER_NAME_REGEX), name="ram_user_name_format"),
            models.CheckConstraint(condition=~Q(display_name=""), name="ram_user_display_name_not_empty"),
        ]
        indexes = [
            models.Index(fields=["account", "created_at"], name="ram_user_account_created"),
            # The console's Users list pages an account's users by name: an index-only scan to
            # the page's ids, however deep the page (ram.selectors.ram_user_page).
            models.Index(fields=["account", "user_name", "id"], name="ram_user_account_name_id"),
            # The auditors' admin pages and sorts these at 100,000+ users (ram/admin/).
            models.Index(fields=["user_name", "id"], name="ram_user_name_id"),
            models.Index(fields=["created_at", "id"], name="ram_user_created_id"),
        ]

    def __str__(self) -> str:
        return f"{self.user_name}{self.account.logon_suffix}"

    @property
    def logon_name(self) -> str:
        return f"{self.user_name}{self.account.logon_suffix}"


class Role(models.Model):
    """A RAM role of one account: an identity without long-term credentials, assumed through STS
    by whom its trust policy (``trust_policy``, a document of ``ram.policy_language``) names, for a
    session of at most ``max_session_duration`` seconds, acting with its attached policies."""

    NAME_MAX_LENGTH = 64
    DESCRIPTION_MAX_LENGTH = 1024
    MIN_SESSION_SECONDS = 3600
    MAX_SESSION_SECONDS = 43200

    account = models.ForeignKey("Account", verbose_name=gettext_lazy("account"), on_delete=models.CASCADE,
                                related_name="roles")
    role_name = models.CharField("RoleName", max_length=NAME_MAX_LENGTH)
    role_id = models.CharField("RoleId", max_length=20, unique=True)
    description = models.CharField(gettext_lazy("description"), max_length=DESCRIPTION_MAX_LENGTH, blank=True)
    trust_policy = models.JSONField("AssumeRolePolicyDocument")
    max_session_duration = models.PositiveIntegerField(gettext_lazy("max session duration"), default=MIN_SESSION_SECONDS)
    created_at = models.DateTimeField(gettext_lazy("created at"), default=timezone.now)
    updated_at = models.DateTimeField(gettext_lazy("updated at"), default=timezone.now)

    class Meta:
        verbose_name = gettext_lazy("RAM role")
        verbose_name_plural = gettext_lazy("RAM roles")
        ordering = ["role_name"]
        constraints = [
            models.UniqueConstraint(Lower("role_name"), "account", name="role_name_unique_in_account"),
            models.CheckConstraint(condition=Q(role_name__regex=r"^[A-Za-z0-9.-]{1,64}$"), name="role_name_format"),
            models.CheckConstraint(condition=Q(max_session_duration__gte=3600, max_session_duration__lte=43200),
                                   name="role_max_session_duration_range"),
        ]

    def __str__(self) -> str:
        return self.role_name

    @property
    def arn(self) -> str:
        return f"acs:ram::{self.account.uid}:role/{self.role_name}"


class StsSession(models.Model):
    """The temporary credentials of one AssumeRole: an ``STS.`` key id, its secret sealed (it
    verifies signatures, as an AccessKey's does: ``ram.sealing``), the digest of its SecurityToken
    (never the token), the role it acts as and who assumed it, until ``expires_at``. Deleted with
    its role: its credentials then stop working."""

    # Unique by a constraint, not ``unique=True``, and the role's own index left to the composite
    # one below: on PostgreSQL ``unique=True`` adds a second, ``LIKE`` index that nothing reads, and
    # each index is one more insert on AssumeRole, the API's hottest write.
    access_key_id = models.CharField("AccessKeyId", max_length=32)
    secret_sealed = models.BinaryField(editable=False)
    seal_version = models.PositiveSmallIntegerField(editable=False)
    token_digest = models.CharField(max_length=64, editable=False)
    role = models.ForeignKey(Role, verbose_name=gettext_lazy("role"), on_delete=models.CASCADE, related_name="sessions",
                             db_index=False)
    session_name = models.CharField("RoleSessionName", max_length=64)
    session_policy = models.JSONField(gettext_lazy("session policy"), null=True, blank=True)
    assumed_by = models.CharField(gettext_lazy("assumed by"), max_length=300,
                                  help_text=gettext_lazy("The ARN of the identity that assumed the role."))
    source_ip = models.GenericIPAddressField(gettext_lazy("source ip"), null=True, blank=True)
    created_at = models.DateTimeField(gettext_lazy("created at"), default=timezone.now)
    expires_at = models.DateTimeField(gettext_lazy("expires at"))

    class Meta:
        verbose_name = gettext_lazy("STS session")
        verbose_name_plural = gettext_lazy("STS sessions")
        constraints = [models.UniqueConstraint(fields=["access_key_id"], name="sts_session_access_key_id_unique")]
        indexes = [models.Index(fields=["role", "-created_at"], name="sts_session_role_recent"),  # role_id's lookups too
                   models.Index(fields=["expires_at"], name="sts_session_expiry"),
                   # The auditors' admin lists every session newest first (ram/admin/roles.py).
                   models.Index(fields=["created_at", "id"], name="sts_session_created_id")]

    def __str__(self) -> str:
        return self.arn

    @property
    def arn(self) -> str:
        return f"acs:ram::{self.role.account.uid}:assumed-role/{self.role.role_name}/{self.session_name}"

    @property
    def assumed_role_id(self) -> str:
        return f"{self.role.role_id}:{self.session_name}"

    @property
    def account(self):
        """The account the session acts in: its role's."""
        return self.role.account


class RolePolicyAttachment(models.Model):
    """A policy attached to a RAM role."""

    role = models.ForeignKey(Role, verbose_name=gettext_lazy("role"), on_delete=models.CASCADE, related_name="policy_attachments")
    policy = models.ForeignKey(Policy, verbose_name=gettext_lazy("policy"), on_delete=models.PROTECT,
                               related_name="role_attachments")
    attached_at = models.DateTimeField(gettext_lazy("attached at"), default=timezone.now)

    class Meta:
        verbose_name = gettext_lazy("role policy attachment")
        verbose_name_plural = gettext_lazy("role policy attachments")
        constraints = [models.UniqueConstraint(fields=["role", "policy"], name="policy_attached_to_role_once")]

    def __str__(self) -> str:
        return _("%(policy)s attached to the role %(role)s") % {"policy": self.policy.name, "role": self.role.role_name}


class PolicyAttachment(models.Model):
    """A policy attached to a RAM user."""

    ram_user = models.ForeignKey(RamUser, on_delete=models.CASCADE, related_name="policy_attachments")
    policy = models.ForeignKey(Policy, on_delete=models.PROTECT, related_name="attachments")
    attached_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = gettext_lazy("policy attachment")
        verbose_name_plural = gettext_lazy("policy attachments")
        constraints = [models.UniqueConstraint(fields=["ram_user", "policy"], name="policy_attached_once")]


class AccessKey(models.Model):
    """An AccessKey pair of an account's root (``ram_user`` is null) or of one RAM user.

    The quota is a database fact: each key takes a numbered ``slot`` of its owner, unique per
    owner, and the check constraint bounds the slot by the owner's limit (``AccessKeyQuota``:
    2 for a RAM user, 5 for the root), Inactive keys included. The secret is stored only sealed.
    """

    ACTIVE = "Active"
    INACTIVE = "Inactive"
    STATUS_CHOICES = [(ACTIVE, pgettext_lazy("AccessKey status", "Active")),
                      (INACTIVE, pgettext_lazy("AccessKey status", "Inactive"))]

    class Scenario(models.TextChoices):
        CLI = "cli", gettext_lazy("Command Line Interface (CLI)")
        LOCAL_DEVELOPMENT = "local-dev", gettext_lazy("Local development environment")
        ON_ALIBABA_CLOUD = "on-cloud", gettext_lazy("Application on Alibaba Cloud (ECS, ECI, Function Compute, ACK)")
        OUTSIDE_ALIBABA_CLOUD = "off-cloud", gettext_lazy(
            "Application outside Alibaba Cloud (third-party cloud or on-premises)")
        THIRD_PARTY_SERVICE = "third-party", gettext_lazy("Third-party service accessing your resources")
        OTHER = "other", gettext_lazy("Other")

    access_key_id = models.CharField("AccessKey ID", max_length=24, unique=True)
    # Indexed by access_key_account_created (below), which leads with it.
    account = models.ForeignKey(Account, verbose_name=gettext_lazy("account"), on_delete=models.CASCADE,
                                related_name="access_keys", db_index=False)
    ram_user = models.ForeignKey(
        RamUser, verbose_name=gettext_lazy("ram user"), on_delete=models.RESTRICT, null=True, blank=True,
        related_name="access_keys",
        help_text=gettext_lazy("Empty for a key of the account's root."),
    )
    slot = models.PositiveSmallIntegerField(gettext_lazy("slot"),
                                            help_text=gettext_lazy("Quota slot of the owner, 1 to its AccessKeyQuota's limit."))
    status = models.CharField(gettext_lazy("status"), max_length=8, choices=STATUS_CHOICES, default=ACTIVE)
    secret_sealed = models.BinaryField(editable=False)
    seal_version = models.PositiveSmallIntegerField(editable=False)
    scenario = models.CharField(gettext_lazy("scenario"), max_length=16, choices=Scenario.choices, blank=True)
    created_by = models.CharField(gettext_lazy("created by"), max_length=255,
                                  help_text=gettext_lazy("The principal that created the key."))
    created_at = models.DateTimeField(gettext_lazy("created at"), default=timezone.now)
    updated_at = models.DateTimeField(gettext_lazy("updated at"), default=timezone.now)
    last_used_at = models.DateTimeField(gettext_lazy("last used at"), null=True, blank=True)
    last_used_service = models.CharField(gettext_lazy("last used service"), max_length=64, blank=True)
    network_policy = models.JSONField(
        null=True, blank=True, help_text="The key's network access policy (ram.network_policy); Active, it "
        "overrides the account's.")

    class Meta:
        verbose_name = gettext_lazy("AccessKey")
        verbose_name_plural = gettext_lazy("AccessKeys")
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["ram_user", "slot"], condition=Q(ram_user__isnull=False), name="access_key_user_slot_unique",
            ),
            models.UniqueConstraint(
                fields=["account", "slot"], condition=Q(ram_user__isnull=True), name="access_key_root_slot_unique",
            ),
            models.CheckConstraint(
                condition=(Q(ram_user__isnull=False, slot__gte=1, slot__lte=RAM_USER_KEY_QUOTA.limit)
                           | Q(ram_user__isnull=True, slot__gte=1, slot__lte=ROOT_KEY_QUOTA.limit)),
                name="access_key_slot_within_quota",
            ),
            models.CheckConstraint(condition=Q(status__in=["Active", "Inactive"]), name="access_key_status_valid"),
            models.CheckConstraint(condition=Q(access_key_id__regex=ACCESS_KEY_ID_REGEX), name="access_key_id_format"),
        ]
        indexes = [
            models.Index(fields=["seal_version"], name="access_key_seal_version"),
            # The auditors' admin filters (status, age, never used / unused for 90 days) and its
            # default order, at 200,000+ keys (ram/admin/).
            models.Index(fields=["created_at", "id"], name="access_key_created_id"),
            models.Index(fields=["status", "created_at"], name="access_key_status_created"),
            models.Index(fields=["last_used_at"], name="access_key_last_used"),
            # An account's keys in the admin's order: its filter reads one account's first page in
            # order, whether the account holds 200,000 keys or none (ram/admin/filters.py).
            models.Index(fields=["account", "created_at", "id"], name="access_key_account_created"),
        ]

    def __str__(self) -> str:
        return self.access_key_id

    @staticmethod
    def quota_of(owner: RamUser | Account) -> AccessKeyQuota:
        """The quota of an owner: a RAM user, or (an ``Account``) the account's root."""
        return ROOT_KEY_QUOTA if isinstance(owner, Account) else RAM_USER_KEY_QUOTA

    @property
    def is_root_key(self) -> bool:
        return self.ram_user_id is None

    @property
    def is_active(self) -> bool:
        return self.status == self.ACTIVE


class RecycledAccessKey(models.Model):
    """A deleted AccessKey pair in its owner's recycle bin until ``purge_at``: it authenticates
    nothing (it is no longer an ``AccessKey``) and holds no quota slot. Restoring it makes it an
    Inactive ``AccessKey`` again, with its ID, its sealed secret and its history, when its owner has
    a free slot; deleting it permanently (or the purge) ends it. The secret stays sealed."""

    access_key_id = models.CharField("AccessKey ID", max_length=24, unique=True)
    account = models.ForeignKey(Account, verbose_name=gettext_lazy("account"), on_delete=models.CASCADE,
                                related_name="recycled_access_keys")
    ram_user = models.ForeignKey(
        RamUser, verbose_name=gettext_lazy("ram user"), on_delete=models.CASCADE, null=True, blank=True,
        related_name="recycled_access_keys",
        help_text=gettext_lazy("Empty for a key of the account's root."),
    )
    secret_sealed = models.BinaryField(editable=False)
    seal_version = models.PositiveSmallIntegerField(editable=False)
    scenario = models.CharField(gettext_lazy("scenario"), max_length=16, choices=AccessKey.Scenario.choices, blank=True)
    created_by = models.CharField(gettext_lazy("created by"), max_length=255)
    created_at = models.DateTimeField(gettext_lazy("created at"))
    last_used_at = models.DateTimeField(gettext_lazy("last used at"), null=True, blank=True)
    last_used_service = models.CharField(gettext_lazy("last used service"), max_length=64, blank=True)
    network_policy = models.JSONField(null=True, blank=True)
    deleted_by = models.CharField(gettext_lazy("deleted by"), max_length=255,
                                  help_text=gettext_lazy("The principal that deleted the key."))
    deleted_at = models.DateTimeField(gettext_lazy("deleted at"))
    purge_at = models.DateTimeField(gettext_lazy("purge at"), help_text=gettext_lazy("When the purge deletes it permanently."))

    class Meta:
        verbose_name = gettext_lazy("AccessKey in the recycle bin")
        verbose_name_plural = gettext_lazy("AccessKeys in the recycle bin")
        ordering = ["-deleted_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(access_key_id__regex=ACCESS_KEY_ID_REGEX),
                                   name="recycled_access_key_id_format"),
        ]
        indexes = [
            models.Index(fields=["purge_at"], name="recycled_access_key_purge_at"),
            models.Index(fields=["seal_version"], name="recycled_access_key_seal"),
            # The auditors' admin lists every bin's keys, the latest deleted first (ram/admin/recycle_bin.py).
            models.Index(fields=["deleted_at", "id"], name="recycled_access_key_deleted_id"),
        ]

    def __str__(self) -> str:
        return self.access_key_id

    @property
    def is_root_key(self) -> bool:
        return self.ram_user_id is None


class MfaDevice(models.Model):
    """A virtual MFA device (TOTP) bound to a console logon: an account root or a RAM user.

    The TOTP seed is stored only sealed, like AccessKey secrets.
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, verbose_name=gettext_lazy("user"), on_delete=models.CASCADE,
                                related_name="mfa_device")
    secret_sealed = models.BinaryField(editable=False)
    seal_version = models.PositiveSmallIntegerField(editable=False)
    bound_at = models.DateTimeField(gettext_lazy("bound at"), default=timezone.now)
    # Replay guard: the TOTP time step of the last code accepted (or bound with); a code of that
    # step or an earlier one is refused (ram.services.mfa_code_check).
    last_accepted_step = models.BigIntegerField(default=0, editable=False)
    # Guessing guard: when the latest codes that were not accepted were checked (Unix times, the
    # newest last, at most the limit kept); with the limit reached within the window, every code is
    # refused until the oldest of them leaves it (ram.services.mfa_code_check).
    recent_failures = models.JSONField(default=list, editable=False)

    class Meta:
        verbose_name = gettext_lazy("MFA device")
        verbose_name_plural = gettext_lazy("MFA devices")


    def __str__(self) -> str:
        return _("MFA device of %(logon)s") % {"logon": self.user}


class CreationRun(models.Model):
    """One run of a Create AccessKey dialog: opened when the dialog is shown, spent by the one
    request that creates its key.

    Only a digest of the run's token is stored; the token travels in the session and the dialog's
    form. Spending is a conditional UPDATE of this row in the key's own transaction, so any number
    of parallel copies of the final request create one key (``ram.services.access_key_create_once``).
    """

    token_digest = models.CharField(max_length=64, unique=True, help_text="SHA-256 of the run's token.")
    logon = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="creation_runs")
    created_at = models.DateTimeField(default=timezone.now)
    spent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = gettext_lazy("AccessKey creation run")
        verbose_name_plural = gettext_lazy("AccessKey creation runs")
        indexes = [models.Index(fields=["logon", "created_at"], name="creation_run_logon_created")]

    def __str__(self) -> str:
        return f"Creation run of {self.logon_id} at {self.created_at:%Y-%m-%dT%H:%M:%SZ}"


class AppendOnlyQuerySet(models.QuerySet):
    """Refuses bulk updates and deletes: the audit trail is append-only."""

    def update(self, **kwargs):
        raise PermissionError("The audit trail is append-only.")

    def delete(self):
        raise PermissionError("The audit trail is append-only.")

    _raw_delete = delete


class AuditEvent(models.Model):
    """One recorded action or security event. Append-only; never holds a secret.

    Accounts, actors and targets are stored as text so that the trail outlives what it names.
    """

    SUCCESS = "Success"
    FAILURE = "Failure"

    occurred_at = models.DateTimeField(gettext_lazy("occurred at"), default=timezone.now, db_index=True)
    # account_uid and action are searched through the (…, occurred_at) indexes of Meta, whose first
    # column they are: no index of their own.
    account_uid = models.CharField(gettext_lazy("account uid"), max_length=16, blank=True)
    actor = models.CharField(gettext_lazy("actor"), max_length=255, db_index=True)
    actor_type = models.CharField(gettext_lazy("actor type"), max_length=16)
    action = models.CharField(gettext_lazy("action"), max_length=64)
    target_type = models.CharField(gettext_lazy("target type"), max_length=32, blank=True)
    target = models.CharField(gettext_lazy("target"), max_length=255, blank=True, db_index=True)
    scenario = models.CharField(gettext_lazy("scenario"), max_length=16, blank=True)
    source_ip = models.GenericIPAddressField(gettext_lazy("source ip"), null=True, blank=True)
    user_agent = models.CharField(gettext_lazy("user agent"), max_length=512, blank=True)
    request_id = models.CharField(gettext_lazy("request id"), max_length=64, blank=True)
    result = models.CharField(gettext_lazy("result"), max_length=8, default=SUCCESS)
    error_code = models.CharField(gettext_lazy("error code"), max_length=64, blank=True)
    detail = models.JSONField(gettext_lazy("detail"), default=dict, blank=True)
    # Who acted, as the OpenAPI names it (``ram.audit.principal_id``), and how the request came: the
    # AccessKey ID (or STS AccessKey ID) that signed it and the API (Ram, Sts, Ims, Actiontrail), both
    # blank for the console and the command line. What ActionTrail's LookupEvents reports as
    # userIdentity.principalId / accessKeyId, serviceName and eventType. A database default too:
    # rows written by COPY (generate_load_data) or before these columns existed have them blank.
    principal_id = models.CharField(gettext_lazy("principal id"), max_length=64, blank=True, default="", db_default="")
    access_key_id = models.CharField(gettext_lazy("access key id"), max_length=64, blank=True, default="", db_default="")
    service = models.CharField(gettext_lazy("service"), max_length=16, blank=True, default="", db_default="")

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = gettext_lazy("audit event")
        verbose_name_plural = gettext_lazy("audit events")
        ordering = ["-occurred_at", "-id"]
        # Related lookups and the ORM internals use the base manager: it must refuse writes too.
        base_manager_name = "objects"
        indexes = [
            # An account's trail in time order, ties broken by id: LookupEvents pages it by keyset.
            models.Index(fields=["account_uid", "occurred_at", "id"], name="audit_account_time_id"),
            # The events an AccessKey signed (LookupEvents' EventAccessKeyId): only the API's.
            models.Index(fields=["access_key_id", "occurred_at", "id"], name="audit_signing_key_time",
                         condition=~Q(access_key_id="")),
            # The auditors' admin filters by action and result, newest first, at 1,000,000+ events.
            models.Index(fields=["action", "occurred_at"], name="audit_action_time"),
            models.Index(fields=["result", "occurred_at"], name="audit_result_time"),
            # ... and by the API a call came through: only the API's events (0018).
            models.Index(fields=["service", "occurred_at"], name="audit_service_time", condition=~Q(service="")),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%dT%H:%M:%SZ} {self.actor} {self.action} {self.target}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise PermissionError("The audit trail is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("The audit trail is append-only.")


class AccessKeyUsage(models.Model):
    """How an AccessKey was used on one day (UTC): calls to one action of one service (API product)
    from one source address, counted (``ram.usage``: counted in each server process, written at most
    once a minute per process, never once per request). Stored by the key's ID, as the audit trail
    names things, so that it outlives the key; kept ``RAM_ACCESS_KEY_USAGE_DAYS`` days."""

    access_key_id = models.CharField("AccessKey ID", max_length=32)
    account_uid = models.CharField(gettext_lazy("account uid"), max_length=16)
    day = models.DateField(gettext_lazy("day"))
    service = models.CharField(gettext_lazy("service"), max_length=16)
    action = models.CharField(gettext_lazy("action"), max_length=64)
    source_ip = models.CharField(gettext_lazy("source ip"), max_length=45, blank=True,
                                 help_text=gettext_lazy("Empty: not known, or folded (too many)."))
    calls = models.PositiveBigIntegerField(gettext_lazy("calls"), default=0)
    first_used_at = models.DateTimeField(gettext_lazy("first used at"))
    last_used_at = models.DateTimeField(gettext_lazy("last used at"))

    class Meta:
        verbose_name = gettext_lazy("AccessKey usage")
        verbose_name_plural = gettext_lazy("AccessKey usage")
        constraints = [
            models.UniqueConstraint(fields=["access_key_id", "day", "service", "action", "source_ip"],
                                    name="access_key_usage_unique"),
        ]
        indexes = [
            models.Index(fields=["account_uid", "day"], name="access_key_usage_account_day"),
            # The auditors' admin: the latest days first, and its filters and searches (0018).
            models.Index(fields=["day", "id"], name="access_key_usage_day_id"),
            models.Index(fields=["service", "day"], name="access_key_usage_service_day"),
            models.Index(fields=["source_ip", "day"], name="access_key_usage_ip_day"),
            models.Index(fields=["action", "day"], name="access_key_usage_action_day"),
        ]

    def __str__(self) -> str:
        return f"{self.access_key_id} {self.day} {self.service}:{self.action} {self.source_ip} ×{self.calls}"


class SignatureNonce(models.Model):
    """A signature nonce the OpenAPI has accepted, kept until its request's timestamp leaves the
    accepted window. Shared by every server instance: the unique ``digest`` is what refuses a
    replay, whichever instance receives it. Written only by ``ram.api.nonces``."""

    digest = models.CharField(max_length=64, unique=True, help_text="SHA-256 of the AccessKey ID and the nonce.")
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = gettext_lazy("signature nonce")
        verbose_name_plural = gettext_lazy("signature nonces")


    def __str__(self) -> str:
        return self.digest
