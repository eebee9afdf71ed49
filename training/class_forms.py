"""Forms of the class pages (trainer) and of the join page (trainee). They only validate; the
views call one service of ``training.classes`` to write."""
from __future__ import annotations

from datetime import timedelta

from django import forms
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from ram.errors import RamError
from ram.forms import NoCredentialEchoMixin

from .classes import CODE_ALPHABET, DISPLAY_NAME_MAX, normalize_code, validate_display_name
from .exercises import EXERCISES
from .models import CODE_LENGTH, MAX_CAPACITY, TrainingClass

DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%dT%H:%M")


def _percent(message, values: dict):
    """``message % values``, translated when it is shown (a form's texts are made at import)."""
    return lazy(lambda: str(message) % values, str)()


class LanguageSelect(forms.Select):
    """A select of languages, each option marked with its own language (``lang``): a language's
    name is written in that language, on a page of any language."""

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex=subindex, attrs=attrs)
        option["attrs"]["lang"] = value
        return option


def _minute(value):
    return value.replace(second=0, microsecond=0)


class ClassCreateForm(NoCredentialEchoMixin, forms.Form):
    credential_fields = {"name": "Name"}

    name = forms.CharField(label=_("Class name"), max_length=100,
                           help_text=_("Shown to trainees when they join, e.g. “AccessKey safety, March 12”."),
                           error_messages={"required": _("Enter a class name."),
                                           "max_length": _("A class name has at most 100 characters.")})
    capacity = forms.IntegerField(
        label=_("Capacity"), initial=30, min_value=1, max_value=MAX_CAPACITY,
        help_text=_percent(_("How many trainees may join: 1 to %(max)d."), {"max": MAX_CAPACITY}),
        error_messages={"required": _("Enter the capacity."), "invalid": _("The capacity is a whole number."),
                        "min_value": _percent(_("The capacity must be from 1 to %(max)d trainees."), {"max": MAX_CAPACITY}),
                        "max_value": _percent(_("The capacity must be from 1 to %(max)d trainees."), {"max": MAX_CAPACITY})})
    starts_at = forms.DateTimeField(
        label=_("Starts (UTC)"), input_formats=DATETIME_FORMATS, widget=DateTimeLocalInput(),
        error_messages={"required": _("Enter when the class starts."),
                        "invalid": _("Enter the start as a date and time.")})
    ends_at = forms.DateTimeField(
        label=_("Ends (UTC)"), input_formats=DATETIME_FORMATS, widget=DateTimeLocalInput(),
        help_text=_("Trainees can join from the start until the end, unless you close the class earlier."),
        error_messages={"required": _("Enter when the class ends."),
                        "invalid": _("Enter the end as a date and time.")})
    exercises = forms.MultipleChoiceField(
        label=_("Exercises"), widget=forms.CheckboxSelectMultiple,
        choices=[(exercise.key, exercise.title) for exercise in EXERCISES.values()],
        error_messages={"required": _("Choose at least one exercise."),
                        "invalid_choice": _("Choose exercises of the list.")})
    language = forms.ChoiceField(label=_("Language"), choices=TrainingClass.Language.choices,
                                 initial=TrainingClass.Language.EN, widget=LanguageSelect,
                                 help_text=_("The language of the trainees' console and guide. The trainer's pages "
                                             "follow each trainer's own choice."),
                                 error_messages={"required": _("Choose a language of the list."),
                                                 "invalid_choice": _("Choose a language of the list.")})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        now = _minute(timezone.now())
        self.fields["starts_at"].initial = now
        self.fields["ends_at"].initial = now + timedelta(hours=3)
        self.fields["exercises"].initial = list(EXERCISES)
        current = get_language()
        if current in TrainingClass.Language.values:
            self.fields["language"].initial = current  # the trainer's own language, to begin with

    def clean(self):
        cleaned = super().clean()
        starts_at, ends_at = cleaned.get("starts_at"), cleaned.get("ends_at")
        if starts_at and ends_at and ends_at <= starts_at:
            self.add_error("ends_at", _("The end must be after the start."))
        return cleaned


class ClassExtendForm(forms.Form):
    ends_at = forms.DateTimeField(
        label=_("New end (UTC)"), input_formats=DATETIME_FORMATS, widget=DateTimeLocalInput(),
        error_messages={"required": _("Enter the new end."), "invalid": _("Enter the new end as a date and time.")})


class JoinForm(NoCredentialEchoMixin, forms.Form):
    credential_fields = {"display_name": "DisplayName"}

    code = forms.CharField(
        label=_("Class code"), max_length=32,
        help_text=_percent(_("The %(length)d-character code your trainer shows, e.g. ABCD-1234."), {"length": CODE_LENGTH}),
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false",
                                      "class": "mono"}),
        error_messages={"required": _("Enter the class code your trainer shows."),
                        "max_length": _percent(_("A class code has %(length)d characters."), {"length": CODE_LENGTH})})
    display_name = forms.CharField(
        label=_("Your display name"), max_length=DISPLAY_NAME_MAX * 4, strip=False,
        help_text=_percent(_("How your trainer sees you in the class: 1 to %(max)d characters."), {"max": DISPLAY_NAME_MAX}),
        widget=forms.TextInput(attrs={"autocomplete": "nickname"}),
        error_messages={"required": _("Enter a display name.")})

    def clean_code(self) -> str:
        code = normalize_code(self.cleaned_data["code"])
        if len(code) != CODE_LENGTH or any(ch not in CODE_ALPHABET for ch in code):
            raise forms.ValidationError(_("A class code has %(length)d letters and digits, e.g. ABCD-1234.") % {
                "length": CODE_LENGTH}, code="invalid")
        return code

    def clean_display_name(self) -> str:
        try:
            return validate_display_name(self.cleaned_data["display_name"])
        except RamError as error:
            raise forms.ValidationError(error.message, code=error.code) from None
