"""What the SDK test scripts share: their arguments, the Graph SDK of the version under test (msgraph
for /v1.0, msgraph_beta for /beta) with a static token and the request adapter pointed at backstore,
and the checks they print.

    python SCRIPT.py BASE_URL (beta|v1.0) TOKEN SEED_JSON
"""

import importlib
import sys

from kiota_abstractions.authentication import (
    AccessTokenProvider,
    AllowedHostsValidator,
    BaseBearerTokenAuthenticationProvider,
)

BASE, VERSION, TOKEN, SEED = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
PKG = "msgraph_beta" if VERSION == "beta" else "msgraph"
sdk = importlib.import_module(PKG)

results = []


def model(module, name):
    """A model class of the SDK under test, by module and class name."""
    return getattr(importlib.import_module(f"{PKG}.generated.models.{module}"), name)


def check(name, ok, detail=""):
    results.append(bool(ok))
    print(f"{'ok  ' if ok else 'FAIL'} {VERSION} {name}{'' if ok else ' -- ' + str(detail)}")


def finish():
    """Prints `N passed, N failed` and exits 1 when any check failed."""
    passed = sum(results)
    print(f"{passed} passed, {len(results) - passed} failed")
    sys.exit(0 if passed == len(results) else 1)


class StaticToken(AccessTokenProvider):
    async def get_authorization_token(self, uri, additional_authentication_context=None):
        return TOKEN

    def get_allowed_hosts_validator(self):
        return AllowedHostsValidator([])


def client():
    """A GraphServiceClient of the version under test, talking to backstore."""
    adapter = sdk.GraphRequestAdapter(BaseBearerTokenAuthenticationProvider(StaticToken()))
    adapter.base_url = f"{BASE}/{VERSION}"
    return sdk.GraphServiceClient(request_adapter=adapter)
