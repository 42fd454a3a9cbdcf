"""EventBridge connections for HTTP Tasks: which credentials a `ConnectionArn` stands for.

Owns: `Connection` (an authorization, API_KEY, BASIC or OAUTH_CLIENT_CREDENTIALS, with its
secrets already read from the environment, plus the connection's invocation parameters),
`Connections` (finding the one a Task's ConnectionArn names: the exact ARN, else the
connection's name, the `connection/NAME/...` part of the ARN), and the OAuth client-credentials
token of each connection (fetched on first use, cached until it is within 60 seconds of
expiring, fetched again when the API answers 401 or 407). Must never: read a config file or the
environment (engine/config.py builds connections from asl.toml `[connections]`), or let a
secret reach a repr, a log line or a failure's cause.

AWS's rules (EventBridge user guide, "Authorization methods for connections"): for Basic and API
key authorization EventBridge adds the authorization header itself; for OAuth it exchanges the
client ID and secret for an access token and manages it, refreshing it "when a 401 or 407
response is returned" and "proactively during an HTTPS invocation, if the token is about to
expire" (within 60 seconds, the guide's Chinese edition says). How the token request is made is
not documented beyond the connection's fields (AuthorizationEndpoint, HttpMethod,
ClientParameters, OAuthHttpParameters); it is made here as RFC 6749 section 4.4 describes a
client-credentials grant: the client ID and secret as HTTP Basic authentication, the body
form-encoded with `grant_type=client_credentials` and the connection's body parameters (which
may override `grant_type`), its query and header parameters added, and the answer's
`access_token` (with `expires_in`, when given) used as `Authorization: Bearer TOKEN`.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from engine.backends.form_encoding import encode_query
from engine.interpreter.tasks import TaskFailure

if TYPE_CHECKING:
    import httpx2

__all__ = [
    "AUTHORIZATION_TYPES",
    "INVALID_CONNECTION_STATE",
    "ApiKeyAuthorization",
    "BasicAuthorization",
    "Connection",
    "Connections",
    "HttpParameters",
    "OAuthAuthorization",
    "OAuthToken",
    "connection_name",
]

AUTHORIZATION_TYPES: Final = ("API_KEY", "BASIC", "OAUTH_CLIENT_CREDENTIALS")
"""EventBridge's `AuthorizationType` values."""

INVALID_CONNECTION_STATE: Final = "Events.ConnectionResource.InvalidConnectionState"
"""The error of a connection whose authorization failed (an OAuth token that could not be
obtained): one of the `Events.ConnectionResource.*` errors the developer guide lists under
"Connection errors" for an HTTP Task."""

REFRESH_MARGIN_SECONDS: Final = 60.0
"""A cached token this close to expiring is fetched again before the call, as EventBridge does."""

_CONNECTION_ARN = re.compile(r"arn:[^:]+:events:[^:]*:[^:]*:connection/([^/]+)(?:/.*)?")


def connection_name(arn: str) -> str | None:
    """The connection's name in an EventBridge connection ARN
    (`arn:aws:events:REGION:ACCOUNT:connection/NAME/UUID`), or None when `arn` is not one."""
    match = _CONNECTION_ARN.fullmatch(arn)
    return match.group(1) if match else None


@dataclass(frozen=True, slots=True)
class HttpParameters:
    """EventBridge's `InvocationHttpParameters` / `OAuthHttpParameters`: headers, query string
    and body parameters, each a key-value list in the order configured."""

    headers: tuple[tuple[str, str], ...] = ()
    query: tuple[tuple[str, str], ...] = ()
    body: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class ApiKeyAuthorization:
    """API_KEY: the header `name` carries the key."""

    name: str
    value: str = field(repr=False)

    def headers(self) -> list[tuple[str, str]]:
        return [(self.name, self.value)]


@dataclass(frozen=True, slots=True)
class BasicAuthorization:
    """BASIC: `Authorization: Basic base64(username:password)`."""

    username: str
    password: str = field(repr=False)

    def headers(self) -> list[tuple[str, str]]:
        return [("Authorization", _basic(self.username, self.password))]


@dataclass(frozen=True, slots=True)
class OAuthAuthorization:
    """OAUTH_CLIENT_CREDENTIALS: where and how to ask for a token."""

    endpoint: str
    client_id: str
    client_secret: str = field(repr=False)
    method: str = "POST"
    parameters: HttpParameters = HttpParameters()


Authorization = ApiKeyAuthorization | BasicAuthorization | OAuthAuthorization


@dataclass(frozen=True, slots=True)
class Connection:
    """One EventBridge connection: its name (the config's key), how it authorizes, and the
    parameters it adds to every invocation."""

    name: str
    authorization: Authorization
    invocation: HttpParameters = HttpParameters()

    @property
    def authorization_type(self) -> str:
        if isinstance(self.authorization, ApiKeyAuthorization):
            return "API_KEY"
        if isinstance(self.authorization, BasicAuthorization):
            return "BASIC"
        return "OAUTH_CLIENT_CREDENTIALS"


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


@dataclass(slots=True)
class OAuthToken:
    """A connection's cached access token; one fetch at a time (`lock`)."""

    value: str | None = field(default=None, repr=False)
    expires_at: float | None = None  # time.monotonic(); None: until the API refuses it
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    fetches: int = 0

    def fresh(self) -> bool:
        if self.value is None:
            return False
        return self.expires_at is None or time.monotonic() < self.expires_at


class Connections:
    """The configured connections, looked up by a Task's ConnectionArn.

    A key is either a full ARN (matched exactly) or a connection name (matched against the
    `connection/NAME/...` part of any ARN); an exact ARN wins.
    """

    def __init__(self, connections: Mapping[str, Connection] | None = None) -> None:
        self._by_key = dict(connections or {})
        self._tokens: dict[str, OAuthToken] = {}

    def __bool__(self) -> bool:
        return bool(self._by_key)

    @property
    def names(self) -> list[str]:
        return list(self._by_key)

    def find(self, connection_arn: str) -> Connection | None:
        """The connection `connection_arn` names, or None when none is configured for it."""
        found = self._by_key.get(connection_arn)
        if found is not None:
            return found
        name = connection_name(connection_arn)
        return self._by_key.get(name) if name is not None else None

    def token_of(self, connection: Connection) -> OAuthToken:
        """The token cache of an OAuth connection (one per connection, shared by all calls)."""
        token = self._tokens.get(connection.name)
        if token is None:
            token = self._tokens[connection.name] = OAuthToken()
        return token

    async def authorization_headers(
        self, connection: Connection, client: httpx2.AsyncClient, *, refresh: bool = False
    ) -> list[tuple[str, str]] | TaskFailure:
        """The headers that authorize a call through `connection`: the API key, Basic
        credentials, or a bearer token (fetched when missing, near expiry or `refresh`)."""
        authorization = connection.authorization
        if not isinstance(authorization, OAuthAuthorization):
            return authorization.headers()
        token = self.token_of(connection)
        async with token.lock:
            if refresh or not token.fresh():
                failure = await _fetch_token(connection.name, authorization, token, client)
                if failure is not None:
                    return failure
        assert token.value is not None
        return [("Authorization", f"Bearer {token.value}")]


async def _fetch_token(
    name: str, oauth: OAuthAuthorization, token: OAuthToken, client: httpx2.AsyncClient
) -> TaskFailure | None:
    """Ask `oauth.endpoint` for a token and store it in `token`; a failure says why without
    quoting the answer's body (it may echo what was sent)."""
    import httpx2  # loaded with the first HTTP Task (cold start: tests/cli/test_cold_start.py)

    form = dict([("grant_type", "client_credentials"), *oauth.parameters.body])
    query = dict(oauth.parameters.query)
    headers = dict(oauth.parameters.headers)
    headers["Authorization"] = _basic(oauth.client_id, oauth.client_secret)
    content: str | None = None
    if oauth.method == "GET":
        query = {**form, **query}
    else:
        content = encode_query(form)
        headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
    url = oauth.endpoint
    if query:
        url += ("&" if "?" in url else "?") + encode_query(query)
    where = f"connection '{name}': the OAuth token request to {oauth.endpoint}"
    token.fetches += 1
    try:
        response = await client.request(
            oauth.method, url, content=content, headers=headers, timeout=60.0
        )
    except httpx2.HTTPError as exc:
        return TaskFailure(INVALID_CONNECTION_STATE, f"{where} failed: {type(exc).__name__}")
    if not 200 <= response.status_code < 300:
        return TaskFailure(
            INVALID_CONNECTION_STATE,
            f"{where} was answered {response.status_code}{_oauth_error(response.content)}; "
            "check the client ID and secret the connection reads from the environment",
        )
    try:
        answer = json.loads(response.content)
    except ValueError:
        answer = None
    access = answer.get("access_token") if isinstance(answer, dict) else None
    if not isinstance(access, str) or not access:
        return TaskFailure(
            INVALID_CONNECTION_STATE, f"{where} answered no access_token in a JSON object"
        )
    lifetime = answer.get("expires_in") if isinstance(answer, dict) else None
    token.value = access
    token.expires_at = None
    if isinstance(lifetime, int | float) and not isinstance(lifetime, bool):
        token.expires_at = time.monotonic() + float(lifetime) - REFRESH_MARGIN_SECONDS
    return None


def _oauth_error(body: bytes) -> str:
    """` (invalid_client)`: the `error` code of an RFC 6749 error answer, nothing else of it."""
    try:
        answer = json.loads(body)
    except ValueError:
        return ""
    code = answer.get("error") if isinstance(answer, dict) else None
    if isinstance(code, str) and re.fullmatch(r"[\w.-]{1,64}", code):
        return f" ({code})"
    return ""
