"""Reference data every installation has: the system policies and the Auditors group.

Idempotent; called by the data migration (with historical models) and by ``seed_demo`` and
``create_auditor`` (a flushed test database or a restored dump may lack them).
"""
from __future__ import annotations

from django.utils import translation

from .policy import SYSTEM_POLICIES

AUDITORS_GROUP = "Auditors"
AUDITOR_MODELS = ["account", "ramuser", "accesskey", "auditevent", "policy", "policyattachment", "mfadevice",
                  "policyversion", "role", "rolepolicyattachment", "stssession", "recycledaccesskey", "accesskeyusage"]


def ensure_system_policies(policy_model=None, version_model=None) -> None:
    """Every system policy, its document that of the code, as its default version v1.
    ``version_model``: the historical PolicyVersion of a migration (none before 0010)."""
    if policy_model is None:
        from .models import Policy as policy_model
        from .models import PolicyVersion as version_model
    owned = any(field.name == "account" for field in policy_model._meta.get_fields())  # since 0010
    for name, (description, document) in SYSTEM_POLICIES.items():
        with translation.override("en"):  # stored in English, as the API returns it; the console translates
            description = str(description)
        policy, _ = policy_model.objects.update_or_create(
            name=name, **({"account": None} if owned else {}),
            defaults={"policy_type": "System", "description": description, "document": document},
        )
        if version_model is not None:
            version_model.objects.update_or_create(policy=policy, number=1,
                                                   defaults={"document": document, "is_default": True})


def ensure_auditors_group(group_model=None, permission_model=None):
    """The Auditors group holds view-only permissions over the RAM models."""
    if group_model is None:
        from django.contrib.auth.models import Group as group_model
        from django.contrib.auth.models import Permission as permission_model
    group, _ = group_model.objects.get_or_create(name=AUDITORS_GROUP)
    group.permissions.set(permission_model.objects.filter(
        content_type__app_label="ram", codename__in=[f"view_{model}" for model in AUDITOR_MODELS],
    ))
    return group


def refresh_auditors_group(apps, schema_editor) -> None:
    """A migration's step: give the existing Auditors group view permission on the models added to
    ``AUDITOR_MODELS`` since (0004: MFA devices; 0012: roles and sessions; 0015: the recycle bin; 0019: AccessKey usage)."""
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():  # permissions exist only after post_migrate otherwise
        app_config.models_module = True
        create_permissions(app_config, verbosity=0, apps=apps)
        app_config.models_module = None
    ensure_auditors_group(apps.get_model("auth", "Group"), apps.get_model("auth", "Permission"))
