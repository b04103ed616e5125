from django.apps import AppConfig


class SmarketingConfig(AppConfig):
    name = "smarketing"
    verbose_name = "Smarketing"

    def ready(self) -> None:
        # Registers how the OpenAPI schema describes API tokens (drf-spectacular finds extensions on import).
        from smarketing import schema  # noqa: F401
