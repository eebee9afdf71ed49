"""The console's logon identity.

One ``User`` row per identity that can log on: an account's root (logon name = its email),
a RAM user with console logon (``<UserName>@<alias>.onaliyun.com``), or Django staff such as
auditors. What the identity may do is decided by ``ram.policy`` from the RAM side, never here.
"""
from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class User(AbstractUser):
    """Django's user, swappable from the first migration so that it can grow safely."""

    # The console's language this logon chose with the switcher (``console.views.set_language``);
    # "" until it chooses: the browser's then (console.middleware.ConsoleLocaleMiddleware).
    language = models.CharField(_("console language"), max_length=10, blank=True, default="",
                                choices=settings.LANGUAGES)

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
