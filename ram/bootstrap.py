"""Reference data every installation has: the system policies and the Auditors group.

Idempotent; called by the data migration (with historical models) and by ``seed_demo`` and
``create_auditor`` (a flushed test database or a restored dump may lack them).
"""
from __future__ import annotations

from .policy import SYSTEM_POLICIES

AUDITORS_GROUP = "Auditors"
AUDITOR_MODELS = ["account", "ramuser", "accesskey", "auditevent", "policy", "policyattachment", "mfadevice"]


def ensure_system_policies(policy_model=None) -> None:
    if policy_model is None:
        from .models import Policy as policy_model
    for name, (description, document) in SYSTEM_POLICIES.items():
        policy_model.objects.update_or_create(
            name=name, defaults={"policy_type": "System", "description": description, "document": document},
        )


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
