"""Who is asking, and what the server refuses before any route runs its domain call.

- API callers (scripts) send an API token as the bearer token (:func:`api_user`).
- People in a browser sign in with email and password and get a *session*: a cookie
  signed with the server's secret (itsdangerous), HttpOnly, SameSite=Lax, and Secure
  unless the request is plain http to this machine (a developer's ``localhost``).
- Every form carries the session's CSRF token; a form post without it, or with another,
  is refused (403) before anything is read or written. Bearer-token requests need none:
  a browser never adds that header by itself.
- :class:`RateLimiter`: a small sliding-window limiter (per process), for sign-in here
  and for the interviewer link routes.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fastapi import HTTPException, Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.engine import Engine

from rubrics.server.accounts import User, end_sessions, user_by_email, user_for_token

if TYPE_CHECKING:
    from rubrics.server.service import Team

SESSION_COOKIE = "rubrics_session"
SESSION_SECONDS = 12 * 3600
CSRF_FIELD = "csrf"
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1", "[::1]")

PAGE_CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
            "base-uri 'none'; frame-ancestors 'none'")
"""The pages' policy: no script at all, styles only from the server's own stylesheet,
forms only to the server."""

CSRF_REFUSED = "the form's CSRF token is missing or wrong: reload the page and try again"


def _engine(request: Request) -> Engine:
    engine: Engine = request.app.state.team.engine
    return engine


# --------------------------------------------------------------------------- API tokens


def api_user(request: Request) -> User:
    """The user of the request's bearer token; 401 without a valid one."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    user = user_for_token(_engine(request), token.strip()) if scheme.lower() == "bearer" \
        and token.strip() else None
    if user is None:
        raise HTTPException(401, "sign in: a valid API token as the bearer token",
                            headers={"WWW-Authenticate": "Bearer"})
    return user


def team_of(request: Request) -> Team:
    """The team the application serves."""
    team: Team = request.app.state.team
    return team


def require_role(user: User, *roles: str) -> User:
    """``user``, if their role is one of ``roles``; 403 otherwise."""
    if user.role not in roles:
        raise HTTPException(403, f"only a {' or '.join(roles)} may do this "
                                 f"(you are signed in as a {user.role})")
    return user


# --------------------------------------------------------------------------- sessions


@dataclass
class BrowserSession:
    """What the session cookie holds: the CSRF token, and the signed-in email (if any)."""

    csrf: str
    email: str | None = None
    user: User | None = None
    changed: bool = False
    signed_in_at: float | None = None
    """When the user signed in (seconds since the epoch): a session begun before the
    user's sessions were ended (sign-out, disabled) is refused."""


def _serializer(request: Request) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(request.app.state.secret, salt="rubrics-session")


def browser_session(request: Request) -> BrowserSession:
    """The request's session (read once a request): a new anonymous one when the cookie
    is missing, forged or expired; the user only while their account is enabled."""
    found: BrowserSession | None = getattr(request.state, "browser_session", None)
    if found is not None:
        return found
    data: dict[str, Any] = {}
    raw = request.cookies.get(SESSION_COOKIE)
    if raw:
        try:
            loaded = _serializer(request).loads(raw, max_age=SESSION_SECONDS)
            data = loaded if isinstance(loaded, dict) else {}
        except BadSignature:
            data = {}
    csrf = data.get("csrf")
    if not isinstance(csrf, str) or not csrf:
        found = BrowserSession(secrets.token_urlsafe(32), changed=True)
    else:
        email = data.get("email") if isinstance(data.get("email"), str) else None
        at = data.get("at")
        at = float(at) if isinstance(at, int | float) and not isinstance(at, bool) else 0.0
        user = user_by_email(_engine(request), email, signed_in_at=at) if email else None
        found = BrowserSession(csrf, email if user else None, user, changed=email is not None
                               and user is None, signed_in_at=at if user else None)
    request.state.browser_session = found
    return found


def start_session(request: Request, user: User) -> BrowserSession:
    """Sign ``user`` in: a new session with a new CSRF token (no fixation)."""
    new = BrowserSession(secrets.token_urlsafe(32), user.email, user, changed=True,
                         signed_in_at=time.time())
    request.state.browser_session = new
    return new


def end_session(request: Request) -> BrowserSession:
    """Sign out: every session of the user ends (a copy of the cookie no longer works),
    and this browser gets a new anonymous one."""
    user = browser_session(request).user
    if user is not None:
        end_sessions(_engine(request), user.email)
    new = BrowserSession(secrets.token_urlsafe(32), changed=True)
    request.state.browser_session = new
    return new


def secure_cookies(request: Request) -> bool:
    """Cookies are Secure unless the request is plain http to this machine."""
    return not (request.url.scheme == "http" and (request.url.hostname or "") in LOCAL_HOSTS)


def save_session(request: Request, response: Response) -> None:
    """Set the session cookie on ``response`` when the session is new or changed."""
    found: BrowserSession | None = getattr(request.state, "browser_session", None)
    if found is None or not found.changed:
        return
    value = _serializer(request).dumps({"csrf": found.csrf, "email": found.email,
                                        "at": found.signed_in_at})
    response.set_cookie(SESSION_COOKIE, value, max_age=SESSION_SECONDS, httponly=True,
                        samesite="lax", secure=secure_cookies(request), path="/")


def csrf_ok(request: Request, given: object) -> bool:
    """Whether a posted form's CSRF token is the session's."""
    expected = browser_session(request).csrf
    return isinstance(given, str) and bool(given) and hmac.compare_digest(
        given.encode("utf-8"), expected.encode("utf-8"))


# --------------------------------------------------------------------------- rate limits


@dataclass
class RateLimiter:
    """At most ``limit`` hits per key in any ``seconds`` window (in this process)."""

    limit: int
    seconds: float
    _hits: dict[str, deque[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def hit(self, key: str) -> float | None:
        """Count a hit; None if allowed, else the seconds until the next is."""
        now = time.monotonic()
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - self.seconds:
                hits.popleft()
            if len(hits) >= self.limit:
                return max(0.0, hits[0] + self.seconds - now)
            hits.append(now)
            if len(self._hits) > 10_000:  # forget idle keys rather than grow without end
                for stale in [k for k, v in self._hits.items() if not v or v[-1] <= now - self.seconds]:
                    del self._hits[stale]
            return None

    def check(self, key: str, what: str) -> None:
        """Count a hit, or refuse it with 429 and Retry-After."""
        wait = self.hit(key)
        if wait is not None:
            raise HTTPException(429, f"too many {what}: wait {int(wait) + 1} seconds",
                                headers={"Retry-After": str(int(wait) + 1)})


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"
