from django.apps import AppConfig


class RamConfig(AppConfig):
    name = "ram"
    verbose_name = "Resource Access Management"
