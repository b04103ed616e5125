from django.apps import AppConfig


class SmarketingConfig(AppConfig):
    name = "smarketing"
    verbose_name = "Smarketing"
