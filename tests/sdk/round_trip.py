"""Every recorded answer of backstore (the wire test's script), read into the official Python SDK's
model of the type its `@odata.context` names (msgraph-sdk on /v1.0, msgraph-beta-sdk on /beta) and
written back with the SDK's serializer: every member must be one the model declares (none left in
`additional_data`), and what the model read (and wrote back, where its writer writes the member)
must be what was sent, member for member.

    python round_trip.py BASE_URL (beta|v1.0) - ANSWERS_JSON   (see graph_test.py)

ANSWERS_JSON: [{"name", "type": "microsoft.graph.x", "collection": bool, "body"}].
"""

import datetime
import enum
import importlib
import json
import re

from kiota_serialization_json.json_parse_node import JsonParseNode
from kiota_serialization_json.json_serialization_writer import JsonSerializationWriter

from graph_test import PKG, SEED, VERSION, check, finish


def snake(name):
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def model_class(qualified):
    """The SDK's model class of a CSDL type name: `microsoft.graph.sharePointRestoreSession`."""
    name = qualified.rsplit(".", 1)[-1]
    module = importlib.import_module(f"{PKG}.generated.models.{snake(name)}")
    return getattr(module, name[0].upper() + name[1:])


def unknown_members(obj, at, found):
    """Members the model did not recognise (kept in `additional_data`), anywhere below `obj`.
    Annotations (`@odata.type`, a property's `name@delta`) are not members."""
    if isinstance(obj, list):
        for i, item in enumerate(obj):
            unknown_members(item, f"{at}[{i}]", found)
        return
    extra = getattr(obj, "additional_data", None)
    if extra is None:
        return
    found.extend(f"{at}.{k}" for k in extra if "@" not in k)
    for key, value in vars(obj).items():
        if key != "additional_data" and not key.startswith("_"):
            unknown_members(value, f"{at}.{key}", found)


def as_time(text):
    try:
        return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (AttributeError, TypeError, ValueError):
        return None


DURATION = re.compile(r"^P(?:(\d+)Y)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$")


def as_duration(text):
    """An ISO 8601 duration as the SDK reads it (a year is 365 days)."""
    m = DURATION.match(text) if isinstance(text, str) else None
    if not m or text in ("P", "PT"):
        return None
    y, w, d, h, mi, s = (float(g) if g else 0.0 for g in m.groups())
    return datetime.timedelta(days=365 * y + 7 * w + d, hours=h, minutes=mi, seconds=s)


def as_read(value):
    """What the model holds, in the form it was sent: enum members by name (flags joined)."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, list) and value and all(isinstance(v, enum.Enum) for v in value):
        return ",".join(v.value for v in value)
    return value


def differences(sent, back, obj, at, found):
    """Where the model (`obj`, and what the SDK wrote of it: `back`) is not what was sent. A member
    the SDK does not write (read-only in the model, or a flags enum its writer drops) is compared
    with what the model read."""
    if isinstance(sent, dict):
        keys = {k for k, v in sent.items() if v is not None and "@" not in k}
        keys |= {k for k, v in (back or {}).items() if v is not None and "@" not in k}
        for k in sorted(keys):
            attr = getattr(obj, snake(k), None) if obj is not None else None
            differences(sent.get(k), (back or {}).get(k), attr, f"{at}.{k}", found)
        return
    if isinstance(sent, list) and all(isinstance(x, dict) for x in sent):
        objs = obj if isinstance(obj, list) and len(obj) == len(sent) else [None] * len(sent)
        backs = back if isinstance(back, list) and len(back) == len(sent) else [None] * len(sent)
        for i, (a, b, o) in enumerate(zip(sent, backs, objs)):
            differences(a, b, o, f"{at}[{i}]", found)
        return
    if sent == back:
        return
    read = as_read(obj)
    if sent == read:
        return
    if as_time(sent) is not None and as_time(sent) in (as_time(back), read):
        return
    if as_duration(sent) is not None and as_duration(sent) == read:
        return
    found.append(f"{at}: sent {sent!r}, read {read!r}, written back {back!r}")


def round_trip(cls, body):
    obj = JsonParseNode(body).get_object_value(cls)
    writer = JsonSerializationWriter()
    writer.write_object_value(None, obj)
    return obj, json.loads(writer.get_serialized_content())


answers = json.load(open(SEED))
types = set()
for answer in answers:
    name, ty = answer["name"], answer["type"]
    cls = model_class(ty)
    body = answer["body"]
    items = body.get("value", []) if answer["collection"] else [body]
    unknown, changed = [], []
    for i, item in enumerate(items):
        obj, back = round_trip(cls, item)
        unknown_members(obj, f"{name}[{i}]", unknown)
        differences(item, back, obj, f"{name}[{i}]", changed)
        types.add(type(obj).__name__)
    check(f"{name}: {ty} members known to the model", not unknown, unknown)
    check(f"{name}: {ty} written back as read", not changed, changed)
print(f"{VERSION}: {len(answers)} answers, {len(types)} model types: {', '.join(sorted(types))}")
finish()
