"""Do what a person in a browser does on the consent page: fill in the PIN and approve.

GET the authorize URL, parse the form (hidden fields incl. the CSRF token, the password
field, the approve button), POST it with the PIN like a browser would, and return the
redirect without following it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx

_APPROVE = re.compile(r"approve|allow|authori[sz]e|accept", re.IGNORECASE)


@dataclass
class Form:
    action: str = ""
    method: str = "get"
    fields: list[tuple[str, str, str]] = field(default_factory=list)  # (name, type, value)
    buttons: list[tuple[str, str, str]] = field(default_factory=list)  # (name, value, text)
    choices: list[tuple[str, str, bool]] = field(default_factory=list)  # (name, value, checked)


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._button: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(Form(action=a.get("action", ""), method=a.get("method", "get")))
        elif not self.forms:
            return
        elif tag == "input":
            kind = a.get("type", "text").lower()
            if kind == "submit":
                self.forms[-1].buttons.append((a.get("name", ""), a.get("value", ""), ""))
            elif kind in ("radio", "checkbox"):  # sent only when checked
                if a.get("name"):
                    self.forms[-1].choices.append((a["name"], a.get("value", ""), "checked" in a))
            elif a.get("name"):
                self.forms[-1].fields.append((a["name"], kind, a.get("value", "")))
        elif tag == "button" and a.get("type", "submit").lower() == "submit":
            self._button = [a.get("name", ""), a.get("value", ""), ""]

    def handle_data(self, data: str) -> None:
        if self._button is not None:
            self._button[2] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "button" and self._button is not None and self.forms:
            name, value, text = self._button
            self.forms[-1].buttons.append((name, value, text.strip()))
            self._button = None


def parse_forms(html: str) -> list[Form]:
    parser = _FormParser()
    parser.feed(html)
    return parser.forms


def consent_submission(
    page_url: str, html: str, pin: str, policy: str | None = None
) -> tuple[str, dict[str, str]]:
    """The URL and form data a browser POSTs when the user types `pin`, picks `policy` (None:
    leaves the preselected choice) and approves."""
    forms = [f for f in parse_forms(html) if any(t == "password" for _, t, _ in f.fields)]
    assert forms, f"no PIN form on the consent page:\n{html[:2000]}"
    form = forms[0]
    assert form.method.lower() == "post", "the consent form must POST"
    data: dict[str, str] = {}
    for name, kind, value in form.fields:
        data[name] = pin if kind == "password" else value
    for name, value, checked in form.choices:
        if (policy is None and checked) or (policy is not None and value == policy):
            data[name] = value
    if policy is not None:
        assert data.get("policy") == policy, f"no policy {policy!r} on the consent page"
    approve = [b for b in form.buttons if _APPROVE.search(b[1]) or _APPROVE.search(b[2])]
    chosen = approve[0] if approve else (form.buttons[-1] if form.buttons else None)
    if chosen and chosen[0]:
        data[chosen[0]] = chosen[1]
    return urljoin(page_url, form.action or page_url), data


@dataclass
class ConsentResult:
    page: httpx.Response
    submit: httpx.Response

    @property
    def location(self) -> str:
        return self.submit.headers.get("location", "")

    @property
    def params(self) -> dict[str, str]:
        query = parse_qs(urlsplit(self.location).query)
        return {k: v[0] for k, v in query.items()}


def submit_consent(
    authorize_url: str, pin: str, *, timeout: float = 15.0, policy: str | None = None
) -> ConsentResult:
    """GET the consent page, POST the PIN form (choosing `policy`); not followed."""
    with httpx.Client(follow_redirects=False, timeout=timeout, trust_env=False) as browser:
        page = browser.get(authorize_url, headers={"Accept": "text/html"})
        assert page.status_code == 200, f"authorize page: {page.status_code} {page.text[:500]}"
        action, data = consent_submission(str(page.url), page.text, pin, policy)
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(str(page.url)))
        submit = browser.post(
            action, data=data, headers={"Origin": origin, "Referer": str(page.url)}
        )
    return ConsentResult(page=page, submit=submit)


def approve(authorize_url: str, pin: str, policy: str | None = None) -> str:
    """The redirect Location after approving with the right PIN (choosing `policy`)."""
    result = submit_consent(authorize_url, pin, policy=policy)
    assert result.submit.status_code in (302, 303), (
        f"consent POST: {result.submit.status_code} {result.submit.text[:500]}"
    )
    return result.location
