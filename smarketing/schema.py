"""How the OpenAPI schema (drf-spectacular) describes what DRF cannot tell it by itself."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "smarketing.api_auth.ApiTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http", "scheme": "bearer",
            "description": "An API token (smk_…) an admin created under Integrations → API tokens. "
                           "Read tokens may only read; writing needs a write token.",
        }
