"""Training classes: a trainer's class with a join code, and the trainees who joined it.

A class holds its seats in the database: ``seats_taken`` counts the active memberships and a
check constraint keeps it within ``capacity``; a join claims a seat with one conditional UPDATE
(``training.classes.class_join``), in the same transaction as the trainee's sandbox, so that
concurrent joins can never exceed the capacity whatever the database.
"""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

MAX_CAPACITY = 200
CODE_LENGTH = 8


class TrainingClass(models.Model):
    """A class of trainees led by one trainer, joined with a short code within its window."""

    class Language(models.TextChoices):
        """The language of the class's consoles, as ``settings.LANGUAGES`` codes; each language is
        named in its own language (the switcher's way), whatever the page's language."""
        EN = "en", "English"
        ZH_HANS = "zh-hans", "简体中文"

    name = models.CharField(_("name"), max_length=100)
    code = models.CharField(_("join code"), max_length=CODE_LENGTH, unique=True, editable=False)
    capacity = models.PositiveSmallIntegerField(_("capacity"))
    seats_taken = models.PositiveSmallIntegerField(_("seats taken"), default=0, editable=False)
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))
    exercises = models.JSONField(_("exercises"), default=list, help_text=_("Keys of training.exercises.EXERCISES."))
    language = models.CharField(_("language"), max_length=10, choices=Language.choices, default=Language.EN)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="training_classes",
                              verbose_name=_("trainer"))
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["-starts_at", "-id"]
        verbose_name = _("training class")
        verbose_name_plural = _("training classes")
        constraints = [
            models.CheckConstraint(condition=Q(capacity__gte=1, capacity__lte=MAX_CAPACITY),
                                   name="training_class_capacity_range"),
            models.CheckConstraint(condition=Q(seats_taken__lte=F("capacity")), name="training_class_seats_within_capacity"),
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="training_class_ends_after_start"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def arn(self) -> str:
        return f"acs:training:::class/{self.pk}"

    @property
    def display_code(self) -> str:
        """``ABCD-EFGH``: easier to read from a projector and to type."""
        return f"{self.code[:4]}-{self.code[4:]}"

    def state(self, now=None) -> str:
        """"closed", "ended", "upcoming" or "open"."""
        now = now or timezone.now()
        if self.closed_at is not None:
            return "closed"
        if now >= self.ends_at:
            return "ended"
        if now < self.starts_at:
            return "upcoming"
        return "open"

    @property
    def finished_at(self):
        """When the class stopped taking part: closed, or its end; None while it runs."""
        if self.closed_at is not None:
            return min(self.closed_at, self.ends_at)
        return self.ends_at if timezone.now() >= self.ends_at else None


class ClassMembership(models.Model):
    """A trainee in a class: the name they chose and their sandbox (gone once removed or purged)."""

    training_class = models.ForeignKey(TrainingClass, on_delete=models.CASCADE, related_name="memberships")
    display_name = models.CharField(_("display name"), max_length=64)
    account = models.OneToOneField("ram.Account", on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="class_membership")
    account_alias = models.CharField(_("sandbox"), max_length=32, help_text=_("Kept once the sandbox is deleted."))
    joined_at = models.DateTimeField(_("joined"), default=timezone.now)
    removed_at = models.DateTimeField(_("removed"), null=True, blank=True)

    class Meta:
        ordering = ["joined_at", "id"]
        verbose_name = _("class membership")
        indexes = [models.Index(fields=["training_class", "removed_at"], name="training_member_active")]

    def __str__(self) -> str:
        return f"{self.display_name} ({self.account_alias})"
