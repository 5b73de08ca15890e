"""Per-connection policies: what one grant may do with the upstream.

A policy is a named set of rules the owner picks on the consent page for each connection:
tools allowed (names or globs; none listed = every tool), tools denied (globs, win over
allowed), "only tools the upstream annotates `readOnlyHint: true`", and extra headers sent to
the upstream for this connection (GitHub's `X-MCP-Readonly: true`). Built-ins: `full` (no
rule) and `read-only` (read-only tools only); the deployment may redefine `read-only` and add
its own.

The chosen policy travels as an OAuth scope, `mcp:<name>`, inside the signed access token, so
`/mcp` enforces it with no storage read. Tokens issued before policies existed carry the
generic scope `mcp`: they name no policy and keep the full access they were granted.
"""

from __future__ import annotations

from fnmatch import fnmatchcase

SCOPE_PREFIX = "mcp:"
FULL = "full"
READ_ONLY = "read-only"
BUILT_IN_RULES: dict[str, dict] = {FULL: {}, READ_ONLY: {"read_only": True}}
LOOPBACK = "loopback"
_LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]"})


class Policy:
    """One named policy's rules."""

    __slots__ = ("allow", "deny", "description", "headers", "name", "read_only", "step_up")

    def __init__(
        self,
        name: str,
        allow: tuple[str, ...] = (),
        deny: tuple[str, ...] = (),
        read_only: bool = False,
        headers: dict[str, str] | None = None,
        step_up: bool = False,
        description: str = "",
    ) -> None:
        self.name = name
        self.allow = tuple(allow)
        self.deny = tuple(deny)
        self.read_only = bool(read_only)
        self.headers = dict(headers or {})
        self.step_up = bool(step_up)
        self.description = description

    @classmethod
    def from_rules(cls, name: str, rules: dict) -> Policy:
        return cls(
            name,
            tuple(rules.get("allow", ())),
            tuple(rules.get("deny", ())),
            bool(rules.get("read_only", False)),
            dict(rules.get("headers", {})),
            bool(rules.get("step_up", False)),
            str(rules.get("description", "")),
        )

    @property
    def scope(self) -> str:
        return SCOPE_PREFIX + self.name

    @property
    def restricts_tools(self) -> bool:
        """Whether any tool can be refused (else `/mcp` never looks inside a message)."""
        return bool(self.allow or self.deny or self.read_only)

    def permits_name(self, tool: str) -> bool:
        """The name rules alone (allowed and not denied)."""
        if self.allow and not any(fnmatchcase(tool, pattern) for pattern in self.allow):
            return False
        return not any(fnmatchcase(tool, pattern) for pattern in self.deny)

    def permits(self, tool: str, read_only_hint: bool | None) -> bool:
        """Whether a tool may be listed and called: `read_only_hint` is the upstream's
        `annotations.readOnlyHint` (None when it does not say, which is not read-only)."""
        if not self.permits_name(tool):
            return False
        return not self.read_only or read_only_hint is True

    def in_words(self) -> list[str]:
        """What this policy lets a connection do, sentence by sentence, for the consent page."""
        if self.description:
            return [self.description]
        if not self.restricts_tools:
            words = ["Every tool of the upstream server, reading and writing."]
        else:
            words = []
            if self.read_only:
                words.append("Only tools the upstream server marks as read-only.")
            if self.allow:
                words.append("Only the tools " + ", ".join(self.allow) + ".")
            if self.deny:
                words.append("Never the tools " + ", ".join(self.deny) + ".")
        if self.headers:  # names only: the page is shown before any PIN, values may be private
            words.append("Sends the upstream " + ", ".join(self.headers) + ".")
        return words


class Policies:
    """The deployment's policies, the default per client kind, and the scope ↔ policy map."""

    def __init__(
        self,
        rules: dict[str, dict] | list | None = None,
        default: str = FULL,
        by_client_kind: dict[str, str] | None = None,
    ) -> None:
        """`rules`: name → rules, or [name, rules] pairs (the rendered form, which keeps the
        owner's order: the consent page shows them so, built-ins first)."""
        merged = {**BUILT_IN_RULES, **dict(rules or {})}
        self.named = {name: Policy.from_rules(name, r) for name, r in merged.items()}
        self.default = default if default in self.named else FULL
        self.by_client_kind = {
            kind: name for kind, name in (by_client_kind or {}).items() if name in self.named
        }

    @property
    def scopes(self) -> tuple[str, ...]:
        return tuple(policy.scope for policy in self.named.values())

    def get(self, name: str | None) -> Policy | None:
        return self.named.get(name) if name else None

    def of_scope(self, scope: str) -> Policy | None:
        """The policy a granted scope names; `full` for a scope naming none (tokens from
        before policies); None for a policy this deployment no longer has (nothing allowed)."""
        names = [s[len(SCOPE_PREFIX) :] for s in scope.split() if s.startswith(SCOPE_PREFIX)]
        if not names:
            return self.named[FULL]
        return self.named.get(names[-1]) if len(names) == 1 else None

    def narrowed_scope(self, scope: str, policy_name: str) -> str | None:
        """The scope of a grant of `scope` narrowed to `policy_name`; None when either policy
        is unknown here or the new one is not within the old (a narrowing never widens)."""
        current, narrower = self.of_scope(scope), self.get(policy_name)
        if current is None or narrower is None or not within(narrower, current):
            return None
        return narrower.scope

    def preselected(
        self, requested_scope: str | None, redirect_uri: str
    ) -> tuple[Policy, Policy | None]:
        """(the policy the consent page checks first, a wider one the client asks for). The
        owner's default for this kind of client is checked unless the request names — last,
        as a step-up does — a policy within it; a wider request is only shown, never checked:
        any client can ask for any scope."""
        default = self.named[self.by_client_kind.get(client_kind(redirect_uri), self.default)]
        for scope in reversed((requested_scope or "").split()):
            asked = (
                self.named.get(scope[len(SCOPE_PREFIX) :])
                if scope.startswith(SCOPE_PREFIX)
                else None
            )
            if asked is not None:
                return (asked, None) if within(asked, default) else (default, asked)
        return default, None

    def widening_for(self, tool: str, hint: bool | None, current: PolicyChain) -> Policy | None:
        """The step-up target for a refused tool: the first policy in the deployment's order
        (`full` last) that is not one the request is under and permits the tool."""
        ordered = [p for p in self.named.values() if p.name != FULL] + [self.named[FULL]]
        under = {p.name for p in current.policies}
        for policy in ordered:
            if policy.name not in under and policy.permits(tool, hint):
                return policy
        return None


def client_kind(redirect_uri: str) -> str:
    """The kind of client a redirect URI shows: its https host (`claude.ai`), `loopback` for a
    local app, or its private scheme (`cursor:`)."""
    scheme, _, rest = redirect_uri.partition("://")
    scheme = scheme.lower()
    if scheme not in ("http", "https"):
        return redirect_uri.partition(":")[0].lower() + ":"
    host = rest.split("/", 1)[0].rsplit("@", 1)[-1]
    host = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    host = host.lower()
    return LOOPBACK if host in _LOOPBACK_HOSTS else host


class PolicyChain:
    """The policies one request is under — its grant's, then any narrowing `cfmcp clients
    set-policy` applied since — read as one: a tool must pass every one of them."""

    __slots__ = ("headers", "name", "policies", "read_only", "restricts_tools", "step_up")

    def __init__(self, policies: tuple[Policy, ...]) -> None:
        self.policies = policies
        self.name = policies[-1].name
        self.read_only = any(p.read_only for p in policies)
        self.restricts_tools = any(p.restricts_tools for p in policies)
        self.step_up = all(p.step_up for p in policies)
        self.headers: dict[str, str] = {}
        for policy in policies:
            self.headers.update(policy.headers)

    def permits_name(self, tool: str) -> bool:
        return all(p.permits_name(tool) for p in self.policies)

    def permits(self, tool: str, read_only_hint: bool | None) -> bool:
        return all(p.permits(tool, read_only_hint) for p in self.policies)


def within(narrower: Policy, wider: Policy) -> bool:
    """Whether every tool `narrower` permits, `wider` permits too, as far as the rules show
    (the check `cfmcp clients set-policy` makes: narrowing needs no PIN, widening does)."""
    if not wider.restricts_tools and not wider.headers:
        return True
    if wider.read_only and not narrower.read_only:
        return False
    if not set(wider.deny) <= set(narrower.deny):
        return False
    if wider.allow and not (narrower.allow and set(narrower.allow) <= set(wider.allow)):
        return False
    return all(narrower.headers.get(name) == value for name, value in wider.headers.items())
