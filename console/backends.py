"""The console's authentication backend: Django's ``ModelBackend`` (passwords, ``is_active``),
with the logon's RAM identity loaded in the same query as the logon itself."""
from __future__ import annotations

from django.contrib.auth.backends import ModelBackend

from ram.selectors import logon_get

CONSOLE_BACKEND = "console.backends.ConsoleBackend"


class ConsoleBackend(ModelBackend):
    """``get_user`` (every console request with a session) reads the logon with the account it is
    the root of, or the RAM user it logs on as: each page acts as that principal
    (``ram.selectors.principal_for_user``), which then costs no query of its own."""

    def get_user(self, user_id):
        user = logon_get(user_id=user_id)
        return user if user is not None and self.user_can_authenticate(user) else None
