"""An OData client that knows nothing of Graph (python-odata) against backstore: it reads the
version's `$metadata`, builds its entity classes from it, and reads restore sessions and their
artifacts through them (by key, by a page of the base-typed collection), with enum members and
times typed as the document declares them.

    python odata_client.py BASE_URL (beta|v1.0) TOKEN SEED_JSON   (see graph_test.py)
"""

import datetime
import json

import requests
from odata import ODataService

from graph_test import BASE, SEED, TOKEN, VERSION, check, finish

http = requests.Session()
http.headers["Authorization"] = f"Bearer {TOKEN}"
root = f"{BASE}/{VERSION}/solutions/backupRestore"

service = ODataService(f"{BASE}/{VERSION}/", session=http, reflect_entities=True, quiet_progress=True)
types = service.types
check("the client reflects the document", "microsoft.graph.restoreSessionBase" in types, sorted(types)[:10])
check(
    "the session kinds derive from restoreSessionBase",
    all(
        issubclass(types[f"microsoft.graph.{k}RestoreSession"], types["microsoft.graph.restoreSessionBase"])
        for k in ("exchange", "sharePoint", "oneDriveForBusiness")
    ),
)
check("the container's singleton", "solutions" in service.entities, sorted(service.entities))
beta_types = "microsoft.graph.activityLogBase" in types
check("beta's own types only on beta", beta_types == (VERSION == "beta"))


def collection(type_name, path):
    """The reflected class of `type_name`, queried at `path` below the root."""
    return type(type_name, (types[f"microsoft.graph.{type_name}"],), {"__odata_collection__": path})


# A session with one site artifact, written over plain HTTP.
seed = json.load(open(SEED))
site = next(u for u in seed["protectionUnits"] if u["kind"] == "site")
point = site["restorePointIds"][0]
body = {"siteRestoreArtifacts": [{"restorePoint": {"id": point}, "destinationType": "new"}]}
created = http.post(f"{root}/sharePointRestoreSessions", json=body)
check("a session is created", created.status_code == 201, created.text)
sid = created.json()["id"]

Sessions = collection("sharePointRestoreSession", "solutions/backupRestore/sharePointRestoreSessions")
got = service.query(Sessions).get(sid)
check("read by key through the model", got.id == sid, got)
check("its status is the declared enum's member", str(got.status).endswith("draft"), got.status)
check("its createdDateTime a time", isinstance(got.createdDateTime, datetime.datetime), got.createdDateTime)

Everything = collection("restoreSessionBase", "solutions/backupRestore/restoreSessions")
listed = list(service.query(Everything).limit(10))
check("a page of the base-typed collection", any(s.id == sid for s in listed), [s.id for s in listed])

# The client places a type's bound operations at its entity set; containment is beyond it, so it is
# told where restore points (whose collection `search` is bound to) live.
types["microsoft.graph.restorePoint"].__odata_collection__ = "solutions/backupRestore/restorePoints"
Artifacts = collection("siteRestoreArtifact", f"solutions/backupRestore/sharePointRestoreSessions('{sid}')/siteRestoreArtifacts")
artifacts = list(service.query(Artifacts).limit(10))
check("the session's artifacts through the model", len(artifacts) == 1, artifacts)
check(
    "an artifact's destinationType is the declared enum's member",
    artifacts and str(artifacts[0].destinationType).endswith("new"),
    artifacts and artifacts[0].destinationType,
)
point_read = artifacts and artifacts[0].restorePoint
check("its restore point inline, typed", point_read and point_read.id == point, point_read)
finish()
