from django.core.exceptions import ImproperlyConfigured
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle


class TokenRateThrottle(SimpleRateThrottle):
    """Rate limit per authenticated user (all of its tokens together), per client IP otherwise.

    The rate (``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["token"]``, from ``API_RATE_LIMIT``) is read
    when a request is checked, not when this module is imported, so the configured value — or a
    test's ``override_settings`` — is the one that applies."""

    scope = "token"

    def get_rate(self):
        try:
            return api_settings.DEFAULT_THROTTLE_RATES[self.scope]
        except KeyError:
            raise ImproperlyConfigured(f"No throttle rate set for the '{self.scope}' scope.")

    def get_cache_key(self, request, view):
        if request.user and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            ident = self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}
