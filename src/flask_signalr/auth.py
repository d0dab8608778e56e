"""Identity and authorization: flask-login users, ``@authorize`` and roles.

The user is loaded once, from the request that opens the connection (session cookie, remember
cookie or the app's ``request_loader``), and kept for the connection's lifetime. ``@authorize``
on a hub class refuses anonymous users before any hub code runs (401 on negotiate and on the
transport request); with roles it refuses users that hold none of them. On a method it turns a
call by an unauthorized user into an error completion and leaves the connection open.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar, overload

from flask import current_app, request

_T = TypeVar("_T")
RoleChecker = Callable[[Any, str], bool]
UserIdProvider = Callable[[Any], "str | None"]

_REQUIREMENTS_ATTRIBUTE = "__signalr_authorize__"


@dataclass(frozen=True)
class AuthorizationRequirement:
    """One ``@authorize``: the user must be authenticated and, if roles are given, hold one."""

    roles: tuple[str, ...] = ()


@overload
def authorize(target: _T) -> _T: ...


@overload
def authorize(*, roles: Iterable[str] | None = None) -> Callable[[_T], _T]: ...


def authorize(target: Any = None, *, roles: Iterable[str] | None = None) -> Any:
    """Require an authenticated user (and optionally one of ``roles``) for a hub or a method.

    Usable bare (``@authorize``) or with arguments (``@authorize(roles=["ADMIN"])``). Stacked
    decorators must all be satisfied, as ASP.NET's ``[Authorize]`` attributes are.
    """
    if isinstance(roles, str):
        raise TypeError('roles must be a list of role names, e.g. roles=["ADMIN"].')
    requirement = AuthorizationRequirement(tuple(roles or ()))

    def decorate(item: _T) -> _T:
        existing = item.__dict__.get(_REQUIREMENTS_ATTRIBUTE, ())
        setattr(item, _REQUIREMENTS_ATTRIBUTE, (*existing, requirement))
        return item

    if target is not None:
        return decorate(target)
    return decorate


def requirements_of(item: Any) -> tuple[AuthorizationRequirement, ...]:
    """The ``@authorize`` requirements declared directly on ``item`` (and its base classes)."""
    if isinstance(item, type):
        found: tuple[AuthorizationRequirement, ...] = ()
        for klass in reversed(item.__mro__):
            found += klass.__dict__.get(_REQUIREMENTS_ATTRIBUTE, ())
        return found
    return tuple(getattr(item, _REQUIREMENTS_ATTRIBUTE, ()))


def default_role_checker(user: Any, role: str) -> bool:
    """``user.has_role(role)`` when the user has it, else ``role in user.roles``."""
    has_role = getattr(user, "has_role", None)
    if callable(has_role):
        return bool(has_role(role))
    return role in (getattr(user, "roles", None) or ())


def default_user_id_provider(user: Any) -> str | None:
    """flask-login's ``get_id()`` for an authenticated user, else None."""
    if not is_authenticated(user):
        return None
    user_id = user.get_id()
    return None if user_id is None else str(user_id)


def is_authenticated(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False))


class AuthorizationResult(enum.Enum):
    """Outcome of checking requirements: allowed, anonymous (401) or forbidden (403)."""

    ALLOWED = "allowed"
    ANONYMOUS = "anonymous"
    FORBIDDEN = "forbidden"


def check_requirements(
    user: Any, requirements: Iterable[AuthorizationRequirement], role_checker: RoleChecker
) -> AuthorizationResult:
    """Evaluate every requirement for ``user``; see :class:`AuthorizationResult`."""
    requirements = tuple(requirements)
    if not requirements:
        return AuthorizationResult.ALLOWED
    if not is_authenticated(user):
        return AuthorizationResult.ANONYMOUS
    for requirement in requirements:
        if requirement.roles and not any(role_checker(user, r) for r in requirement.roles):
            return AuthorizationResult.FORBIDDEN
    return AuthorizationResult.ALLOWED


def load_request_user() -> Any:
    """The flask-login user of the current request, or an anonymous user.

    Browsers cannot set headers on WebSocket and EventSource requests, so the JavaScript client
    sends its token as ``?access_token=``; it is copied into an ``Authorization: Bearer`` header
    first, so one ``request_loader`` that reads the header serves every transport.
    """
    from flask_login import AnonymousUserMixin, current_user

    token = request.args.get("access_token")
    if token and "HTTP_AUTHORIZATION" not in request.environ:
        request.environ["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    manager = getattr(current_app, "login_manager", None)
    if manager is None:
        return AnonymousUserMixin()
    user = current_user._get_current_object()
    return user if user is not None else manager.anonymous_user()
