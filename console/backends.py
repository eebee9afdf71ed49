"""The console's authentication backend: Django's ``ModelBackend`` (passwords, ``is_active``,
permissions), with the logon's RAM identity loaded in the same query as the logon itself and a
staff member's permissions read in one query instead of two."""
from __future__ import annotations

import functools

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connections, router

from ram.selectors import logon_get


class ConsoleBackend(ModelBackend):
    """``get_user`` (every console request with a session) reads the logon with the account it is
    the root of, or the RAM user it logs on as: each page acts as that principal
    (``ram.selectors.principal_for_user``), which then costs no query of its own.

    ``get_all_permissions`` (every admin page asks it, through ``has_perm``) answers what
    ``ModelBackend`` answers, the user's own permissions and those of the user's groups, in one
    query rather than two ORM queries built on every request."""

    def get_user(self, user_id):
        user = logon_get(user_id=user_id)
        return user if user is not None and self.user_can_authenticate(user) else None

    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            if user_obj.is_superuser:  # every permission: ModelBackend's own query
                return super().get_all_permissions(user_obj, obj)
            user_obj._perm_cache = _permission_names(user_obj.pk)
        return user_obj._perm_cache


def _permission_names(user_id) -> set[str]:
    """``{"app_label.codename", ...}`` of the permissions given to a user directly or by a group."""
    connection = connections[router.db_for_read(Permission)]
    with connection.cursor() as cursor:
        cursor.execute(_permissions_sql(connection.vendor), [user_id, user_id])
        return {f"{app_label}.{codename}" for app_label, codename in cursor.fetchall()}


@functools.cache
def _permissions_sql(vendor: str) -> str:
    """The SQL of ``_permission_names``, written once from the models' metadata (``vendor`` keys
    it: the quoting of names is the database's)."""
    quote = connections[router.db_for_read(Permission)].ops.quote_name
    own = get_user_model()._meta.get_field("user_permissions")
    groups = get_user_model()._meta.get_field("groups")
    granted = Group._meta.get_field("permissions")
    table = {
        "permission": quote(Permission._meta.db_table), "content_type": quote(ContentType._meta.db_table),
        "own": quote(own.m2m_db_table()), "own_user": quote(own.m2m_column_name()),
        "own_permission": quote(own.m2m_reverse_name()),
        "member": quote(groups.m2m_db_table()), "member_user": quote(groups.m2m_column_name()),
        "member_group": quote(groups.m2m_reverse_name()),
        "granted": quote(granted.m2m_db_table()), "granted_group": quote(granted.m2m_column_name()),
        "granted_permission": quote(granted.m2m_reverse_name()),
    }
    return (
        "SELECT ct.{app_label}, p.{codename} FROM {permission} p"
        " INNER JOIN {content_type} ct ON ct.{type_id} = p.{content_type_id}"
        " WHERE p.{permission_id} IN (SELECT o.{own_permission} FROM {own} o WHERE o.{own_user} = %s"
        " UNION SELECT g.{granted_permission} FROM {granted} g"
        " INNER JOIN {member} m ON m.{member_group} = g.{granted_group} WHERE m.{member_user} = %s)"
    ).format(**table, app_label=quote("app_label"), codename=quote("codename"),
             permission_id=quote(Permission._meta.pk.column), type_id=quote(ContentType._meta.pk.column),
             content_type_id=quote(Permission._meta.get_field("content_type").column))
