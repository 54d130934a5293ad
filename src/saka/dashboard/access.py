"""Who may see the staff dashboard: a session log-in, then the staff ``VIEW`` permission."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import render

from saka.audit.roles import VIEW, actor_allowed, perm_name

View = Callable[..., HttpResponseBase]


def staff_view(view: View) -> View:
    """Session log-in required (else the log-in page), then the staff ``VIEW`` permission
    (else the 403 page)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not actor_allowed(request.user, VIEW):
            return render(
                request,
                "saka_dashboard/403.html",
                {"permission": perm_name(VIEW)},
                status=403,
            )
        return view(request, *args, **kwargs)

    return wrapped
