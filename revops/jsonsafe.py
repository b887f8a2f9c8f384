"""JSON-safe copies of values with dates and Decimals (Decimals become exact strings, never floats)."""

import json

from django.core.serializers.json import DjangoJSONEncoder


def jsonable(value):
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))
