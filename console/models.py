"""The console's logon identity.

One ``User`` row per identity that can log on: an account's root (logon name = its email),
a RAM user with console logon (``<UserName>@<alias>.onaliyun.com``), or Django staff such as
auditors. What the identity may do is decided by ``ram.policy`` from the RAM side, never here.
"""
from django.contrib.auth.models import AbstractUser


class User(AbstractUser):
    """Django's user, swappable from the first migration so that it can grow safely."""

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
