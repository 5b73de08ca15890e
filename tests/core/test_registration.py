"""Dynamic client registration (RFC 7591) and Client ID Metadata Documents."""

from __future__ import annotations

import json

import pytest

from tests.core.conftest import SIGNING_KEY
from tests.core.flow import (
    authorize_query,
    body_json,
    call,
    code_form,
    get_code,
    header,
    pkce_pair,
    register,
    token_request,
)

CIMD_URL = "https://client.example.net/oauth/metadata.json"
CIMD_REDIRECT = "https://client.example.net/cb"


async def _register_raw(app, core, data):
    body = data if isinstance(data, bytes) else json.dumps(data).encode()
    return await call(
        app, core, "POST", "/register", body=body, headers={"content-type": "application/json"}
    )


async def test_public_client_gets_no_secret(app, core):
    client = await register(app, core)
    assert client["token_endpoint_auth_method"] == "none"
    assert "client_secret" not in client
    assert None not in client.values()


async def test_confidential_client_like_claude_ai_gets_a_secret(app, core):
    client = await register(
        app,
        core,
        token_endpoint_auth_method="client_secret_post",
        redirect_uris=["https://claude.ai/api/mcp/auth_callback"],
        client_name="Claude",
    )
    assert client["client_secret"]
    assert client["client_secret_expires_at"] == 0


@pytest.mark.parametrize(
    "uri",
    [
        "https://claude.ai/api/mcp/auth_callback",
        "http://127.0.0.1:5555/cb",
        "http://localhost/callback",
        "http://[::1]:8080/x",
        "cursor://anysphere.cursor-mcp/oauth/callback",
        "com.example.app:/oauth2redirect",
    ],
)
async def test_allowed_redirect_uris(app, core, uri):
    response = await _register_raw(app, core, {"redirect_uris": [uri]})
    assert response.status == 201, response.body


@pytest.mark.parametrize(
    "uri",
    [
        "javascript:alert(1)",
        "JavaScript://x/%0aalert(1)",
        "data:text/html,hi",
        "file:///etc/passwd",
        "vbscript:msgbox",
        "http://evil.example.com/cb",
        "https://ok.example.com/cb#frag",
        "https://user:pw@ok.example.com/cb",
        "/relative/path",
        "https://x.example.com/" + "a" * 600,
        "https://x.example.com/a b",
        "",
    ],
)
async def test_refused_redirect_uris(app, core, uri):
    response = await _register_raw(app, core, {"redirect_uris": [uri]})
    assert response.status == 400
    assert body_json(response)["error"] == "invalid_redirect_uri"


@pytest.mark.parametrize(
    "data",
    [
        b"not json",
        b"[]",
        {"redirect_uris": []},
        {"redirect_uris": "https://x.example.com"},
        {
            "redirect_uris": ["https://x.example.com/cb"],
            "token_endpoint_auth_method": "private_key_jwt",
        },
        {"redirect_uris": ["https://x.example.com/cb"], "grant_types": ["client_credentials"]},
        {"redirect_uris": ["https://x.example.com/cb"], "response_types": ["token"]},
        {"redirect_uris": [f"https://x.example.com/{i}" for i in range(20)]},
    ],
)
async def test_invalid_metadata_is_refused(app, core, data):
    assert (await _register_raw(app, core, data)).status == 400


async def test_body_size_is_capped(app, core):
    data = {"redirect_uris": ["https://x.example.com/cb"], "client_name": "x" * 20000}
    assert (await _register_raw(app, core, data)).status == 400


async def test_identical_registrations_get_distinct_ids_and_secrets(app, core):
    first = await register(app, core, token_endpoint_auth_method="client_secret_post")
    second = await register(app, core, token_endpoint_auth_method="client_secret_post")
    assert first["client_id"] != second["client_id"]
    assert first["client_secret"] != second["client_secret"]


async def test_long_client_name_is_truncated(app, core):
    client = await register(app, core, client_name="n" * 500)
    assert len(client["client_name"]) <= 120


async def test_tampered_client_id_is_unknown(app, core):
    client = await register(app, core)
    forged = client["client_id"][:-4] + "AAAA"
    _, challenge = pkce_pair()
    page = await call(app, core, "GET", "/authorize?" + authorize_query(forged, challenge))
    assert page.status == 400 and b"Unknown client" in page.body


async def test_pinned_claude_metadata_document_needs_no_fetch(app, core):
    _, challenge = pkce_pair()
    query = authorize_query(
        "https://claude.ai/oauth/mcp-oauth-client-metadata",
        challenge,
        redirect_uri="https://claude.ai/api/mcp/auth_callback",
    )
    page = await call(app, core, "GET", "/authorize?" + query)
    assert page.status == 200 and b"Claude" in page.body


async def test_metadata_document_is_fetched_checked_and_cached(make_app, core, kv):
    url = "https://client.example.net/oauth/metadata.json"
    fetched = []

    async def fetch(target):
        fetched.append(target)
        return 200, json.dumps(
            {
                "client_id": url,
                "client_name": "Example Client",
                "redirect_uris": ["https://client.example.net/cb"],
                "token_endpoint_auth_method": "none",
            }
        ).encode()

    app = make_app(fetch_metadata=fetch)
    _, challenge = pkce_pair()
    query = authorize_query(url, challenge, redirect_uri="https://client.example.net/cb")
    for _ in range(2):
        page = await call(app, core, "GET", "/authorize?" + query)
        assert page.status == 200 and b"Example Client" in page.body
    assert fetched == [url]
    # Fetching is anonymous: the cache is the isolate's, never a KV write (DESIGN §2a).
    assert kv.writes == 0


@pytest.mark.parametrize("document_id", ["https://other.example.net/doc.json", None])
async def test_metadata_document_with_wrong_client_id_is_refused(make_app, core, document_id):
    url = "https://client.example.net/doc.json"

    async def fetch(target):
        return 200, json.dumps(
            {
                "client_id": document_id,
                "client_name": "X",
                "redirect_uris": ["https://client.example.net/cb"],
            }
        ).encode()

    app = make_app(fetch_metadata=fetch)
    _, challenge = pkce_pair()
    query = authorize_query(url, challenge, redirect_uri="https://client.example.net/cb")
    assert (await call(app, core, "GET", "/authorize?" + query)).status == 400


@pytest.mark.parametrize(
    "url",
    [
        "http://client.example.net/doc",
        "https://127.0.0.1/doc",
        "https://10.0.0.8/doc",
        "https://localhost/doc",
    ],
)
async def test_metadata_documents_are_only_fetched_from_public_https(make_app, core, url):
    fetched = []

    async def fetch(target):
        fetched.append(target)
        return 404, b""

    app = make_app(fetch_metadata=fetch)
    _, challenge = pkce_pair()
    await call(app, core, "GET", "/authorize?" + authorize_query(url, challenge))
    assert fetched == []


def _document(**overrides) -> dict:
    document = {
        "client_id": CIMD_URL,
        "client_name": "Example Client",
        "redirect_uris": [CIMD_REDIRECT],
        "token_endpoint_auth_method": "none",
    }
    document.update(overrides)
    return document


def _serving(answer):
    """A metadata fetcher answering `answer` (a document, bytes or None); records its calls."""
    calls = []

    async def fetch(url):
        calls.append(url)
        if answer is None:
            return None
        return 200, answer if isinstance(answer, bytes) else json.dumps(answer).encode()

    return fetch, calls


async def _authorize_page(app, core, client_id, redirect_uri=CIMD_REDIRECT):
    _, challenge = pkce_pair()
    query = authorize_query(client_id, challenge, redirect_uri=redirect_uri)
    return await call(app, core, "GET", "/authorize?" + query)


@pytest.mark.parametrize("where", ["register", "metadata document", "authorize"])
@pytest.mark.parametrize("uri", ["ms-msdt:/id", "search-ms:query=x", "myapp://cb", "intent://x"])
async def test_redirect_schemes_are_an_allow_list(make_app, core, where, uri):
    """https, loopback http and private-use schemes (reverse domain name, or a known desktop
    client's such as cursor:) only: an unknown scheme may be an operating-system handler."""
    if where == "register":
        response = await _register_raw(make_app(), core, {"redirect_uris": [uri]})
        assert response.status == 400
        assert body_json(response)["error"] == "invalid_redirect_uri"
        return
    fetch, _ = _serving(_document(redirect_uris=[uri]))
    app = make_app(fetch_metadata=fetch)
    client_id = CIMD_URL
    if where == "authorize":  # a client registered before the rule (its id is signed)
        signer = __import__("cfmcp_worker.crypto", fromlist=["Signer"]).Signer(SIGNING_KEY)
        client_id = signer.sign("cfc", {"n": "Old", "r": [uri], "m": "none", "iat": 1, "j": "x"})
    page = await _authorize_page(app, core, client_id, redirect_uri=uri)
    assert page.status == 400 and header(page, "location") is None


async def test_deeply_nested_json_is_refused_before_parsing(app, core):
    """In workerd a 5,000-deep body overflowed Pyodide's stack and killed the Worker for good:
    depth is bounded on the raw bytes before json.loads sees them."""
    valid = b'{"redirect_uris":["https://x.example.com/cb"],"x":'
    for body in (
        b"[" * 5000,
        b'{"a":"' + b"[" * 100 + b'",' + b"[" * 5000,
        valid + b"[" * 100 + b"]" * 100 + b"}",  # parses fine, yet too deep
    ):
        response = await _register_raw(app, core, body)
        assert response.status == 400, body[:60]
        assert body_json(response)["error"] == "invalid_client_metadata"
    brackets = b"[" * 20
    strings = b'"' + brackets + b'\\"' + brackets + b'\\\\","y":"' + brackets + b'"}'
    ok = valid + strings  # brackets inside strings, around escaped quotes and backslashes
    assert (await _register_raw(app, core, ok)).status == 201, ok


@pytest.mark.parametrize(
    "field,value",
    [
        ("redirect_uris", [1]),
        ("redirect_uris", [["https://x.example.com/cb"]]),
        ("client_name", {}),
        ("client_name", 7),
        ("grant_types", [[]]),
        ("grant_types", "authorization_code"),
        ("response_types", [{}]),
        ("token_endpoint_auth_method", []),
        ("scope", {"a": 1}),
    ],
)
async def test_wrong_element_types_get_a_json_400(app, core, field, value):
    data = {"redirect_uris": ["https://x.example.com/cb"], field: value}
    response = await _register_raw(app, core, data)
    assert response.status == 400
    assert body_json(response)["error"] in ("invalid_client_metadata", "invalid_redirect_uri")


async def test_a_deeply_nested_metadata_document_is_refused(make_app, core):
    document = json.dumps(_document()).encode()[:-1] + b',"x":' + b"[" * 5000 + b"}"
    fetch, calls = _serving(document)
    page = await _authorize_page(make_app(fetch_metadata=fetch), core, CIMD_URL)
    assert calls == [CIMD_URL]
    assert page.status == 400 and b"not valid" in page.body


@pytest.mark.parametrize(
    "url",
    [
        "https://client.example.net",
        "https://client.example.net/",
        "https://client.example.net/a/../doc.json",
    ],
)
async def test_metadata_document_urls_need_a_path(make_app, core, url):
    fetch, calls = _serving(_document(client_id=url))
    await _authorize_page(make_app(fetch_metadata=fetch), core, url)
    assert calls == []


@pytest.mark.parametrize(
    "host",
    [
        "127.1",
        "2130706433",
        "0x7f.1",
        "0x7F000001",
        "0177.0.0.1",
        "127.0.0.1.",
        "0x0a.0.0.8",
        "10.8",
        "192.168.0x1.1",
        "0",
        "169.254.169.254",
        "[::ffff:127.0.0.1]",
        "[::ffff:7f00:1]",
        "[::127.0.0.1]",
        "[64:ff9b::7f00:1]",
        "[64:ff9b::a00:8]",
        "[2002:7f00:1::]",
        "[2002:c0a8:101::1]",
        "[64:ff9b:1::1]",
        "[2001::1]",
        "[fd00::1]",
        "[::1]",
        "localhost.",
        "printer.local",
        "%31%32%37.0.0.1",
        "127.0.0.1\\.example.com",
        "example.com\\@127.0.0.1",
    ],
)
async def test_every_spelling_of_a_private_address_is_private(make_app, core, host):
    """Read the host the way the runtime's fetch (a WHATWG URL parser) reads it: in workerd a
    client_id of https://127.1:PORT/… made the Worker connect to 127.0.0.1."""
    url = f"https://{host}/client.json"
    fetch, calls = _serving(_document(client_id=url))
    page = await _authorize_page(make_app(fetch_metadata=fetch), core, url)
    assert calls == [] and page.status == 400


async def test_public_addresses_in_any_spelling_are_fetched(make_app, core):
    for host in ("8.8.8.8", "0x8.0x8.0x8.0x8", "[2606:4700::1111]", "[64:ff9b::808:808]"):
        url = f"https://{host}/client.json"
        fetch, calls = _serving(_document(client_id=url))
        await _authorize_page(make_app(fetch_metadata=fetch), core, url)
        assert calls == [url]


async def test_failed_fetches_are_cached_briefly(make_app, core, clock):
    """Anonymous GET /authorize requests must not turn the Worker into a fetch relay."""
    fetch, calls = _serving(None)
    app = make_app(fetch_metadata=fetch)
    for _ in range(3):
        await _authorize_page(app, core, CIMD_URL)
    assert calls == [CIMD_URL]
    clock.advance(61)
    await _authorize_page(app, core, CIMD_URL)
    assert calls == [CIMD_URL, CIMD_URL]
    clients = __import__("cfmcp_worker.clients", fromlist=["MAX_CIMD_CACHE_ENTRIES"])
    for i in range(clients.MAX_CIMD_CACHE_ENTRIES + 50):
        await _authorize_page(app, core, f"https://client.example.net/{i}.json")
    assert len(app.clients._cimd_failures) <= clients.MAX_CIMD_CACHE_ENTRIES


async def test_an_unfetchable_document_is_named_on_the_page(make_app, core):
    """Codex uses CIMD by default: "Unknown client… register again" would be wrong advice."""
    fetch, _ = _serving(None)
    page = await _authorize_page(make_app(fetch_metadata=fetch), core, CIMD_URL)
    assert page.status == 400 and header(page, "location") is None
    assert b"the client&#x27;s metadata document could not be fetched" in page.body
    assert b"register again" not in page.body


async def test_documents_listing_more_grant_types_than_ours_are_accepted(make_app, core):
    grants = ["authorization_code", "refresh_token", "client_credentials", "urn:x:jwt-bearer"]
    fetch, _ = _serving(_document(grant_types=grants))
    page = await _authorize_page(make_app(fetch_metadata=fetch), core, CIMD_URL)
    assert page.status == 200, page.body
    other = CIMD_URL.replace("metadata", "other")  # not the one KV now holds
    fetch, _ = _serving(_document(client_id=other, grant_types=["client_credentials"]))
    page = await _authorize_page(make_app(fetch_metadata=fetch), core, other)
    assert page.status == 400 and b"authorization_code" in page.body


CHATGPT_CIMD = "https://chatgpt.com/oauth/tU1UVEq8rRTK/client.json"
CHATGPT_CALLBACK = "https://chatgpt.com/connector/oauth/cb_8xK2"


def _chatgpt_document(supported=("none", "private_key_jwt")) -> bytes:
    """ChatGPT's published document shape (DESIGN §2b): private_key_jwt declared."""
    document = {
        "client_id": CHATGPT_CIMD,
        "client_name": "ChatGPT",
        "client_uri": "https://chatgpt.com/",
        "redirect_uris": [
            CHATGPT_CALLBACK,
            "https://chatgpt.com/connector_platform_oauth_redirect",
        ],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "private_key_jwt",
        "token_endpoint_auth_signing_alg": "RS256",
        "jwks_uri": "https://chatgpt.com/oauth/jwks.json",
    }
    if supported is not None:
        document["token_endpoint_auth_methods_supported"] = list(supported)
    return json.dumps(document).encode()


@pytest.mark.parametrize(
    "redirect", [CHATGPT_CALLBACK, "https://chatgpt.com/connector_platform_oauth_redirect"]
)
async def test_chatgpt_document_takes_the_public_client_path(make_app, core, redirect):
    async def fetch(target):
        return 200, _chatgpt_document()

    app = make_app(fetch_metadata=fetch)
    client = {"client_id": CHATGPT_CIMD}
    code, verifier = await get_code(app, core, client, redirect_uri=redirect)
    form = code_form(client, code, verifier, redirect_uri=redirect)
    first = await token_request(app, core, form)
    assert first.status == 200, first.body
    # ChatGPT may POST twice for one code: the retry gets the same grant.
    second = await token_request(app, core, form)
    assert second.status == 200, second.body
    without_pkce = await token_request(app, core, {**form, "code_verifier": "x" * 50})
    assert without_pkce.status == 400


async def test_private_key_jwt_only_document_is_refused(make_app, core):
    async def fetch(target):
        return 200, _chatgpt_document(supported=None)

    app = make_app(fetch_metadata=fetch)
    _, challenge = pkce_pair()
    query = authorize_query(CHATGPT_CIMD, challenge, redirect_uri=CHATGPT_CALLBACK)
    page = await call(app, core, "GET", "/authorize?" + query)
    assert page.status == 400
    assert b"token_endpoint_auth_method" in page.body


async def test_metadata_never_advertises_private_key_jwt(app, core):
    response = await call(app, core, "GET", "/.well-known/oauth-authorization-server")
    assert "private_key_jwt" not in body_json(response)["token_endpoint_auth_methods_supported"]


@pytest.mark.parametrize(
    ("redirect", "allowed"),
    [
        ("http://127.0.0.1:51234/callback/Xy3_k-9AbCdE", True),
        ("http://localhost:1455/callback/abc", True),
        ("http://127.0.0.1:51234/callback", True),
        ("http://127.0.0.1:51234/callback/a/b", False),
        ("http://127.0.0.1:51234/other/abc", False),
        ("https://evil.example.com/callback/abc", False),
    ],
)
async def test_codex_pinned_document_loopback_callbacks(app, core, redirect, allowed):
    _, challenge = pkce_pair()
    query = authorize_query(
        "https://chatgpt.com/oauth/codex/client.json",
        challenge,
        redirect_uri=redirect,
        resource=None,
    )
    page = await call(app, core, "GET", "/authorize?" + query)
    assert (page.status == 200) is allowed, page.body[:300]
