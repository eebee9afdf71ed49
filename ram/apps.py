from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class RamConfig(AppConfig):
    name = "ram"
    verbose_name = gettext_lazy("Resource Access Management")
