from rest_framework import renderers


class JSONRenderer(renderers.JSONRenderer):
    """JSON that never carries floats for money: Decimals render as strings (COERCE_DECIMAL_TO_STRING)."""

    charset = None


class ProblemJSONRenderer(JSONRenderer):
    media_type = "application/problem+json"
