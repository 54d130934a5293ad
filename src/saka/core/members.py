"""Members: the platform's active users, as the services name them (by id), and the accounts
that are never members.

One definition, used by every domain (grains, euro, the stats):

- an **operator account** is a staff user (``is_staff``), a superuser, or a service account:
  a user holding ``SERVICE_PERMISSION`` (``grains.harvest_on_behalf``, the platform that grants
  harvests; directly or through a group). Operators run the platform; they are not members,
  whatever else they are: they get no wallet, nothing is booked for them, the stats do not
  count them. A person who is both an operator and a member uses two accounts.
- a **member** is an active user who is not an operator.

The user model is the host project's ``AUTH_USER_MODEL``: the apps read its ``USERNAME_FIELD``
(never a ``username`` column), ``is_active``, ``is_staff`` and ``PermissionsMixin``'s
``is_superuser``, groups and permissions (``docs/embedding.md``).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db.models import Exists, OuterRef, Q, QuerySet

from saka.core.errors import MemberNotFound, NotAMember

# (app_label, codename) of the platform's service permission (saka.api.common.permissions
# names it HARVEST_PERMISSION, "grains.harvest_on_behalf").
SERVICE_PERMISSION = ("grains", "harvest_on_behalf")


def login_field() -> str:
    """The user model's log-in field (``USERNAME_FIELD``: ``username`` in Django's own model,
    ``email`` in many custom ones)."""
    return str(get_user_model().USERNAME_FIELD)


def user_search_fields(relation: str) -> tuple[str, ...]:
    """The admin ``search_fields`` that find a user through ``relation`` (``"member"``): its
    log-in field and, when the model has one apart from it, its e-mail field."""
    model = get_user_model()
    names = [login_field()]
    email = model.get_email_field_name()
    if email not in names and any(f.name == email for f in model._meta.get_fields()):
        names.append(email)
    return tuple(f"{relation}__{name}" for name in names)


def _service_permission() -> QuerySet[Permission]:
    app_label, codename = SERVICE_PERMISSION
    return Permission.objects.filter(content_type__app_label=app_label, codename=codename)


def _users_with_grants() -> QuerySet[Any]:
    """Users annotated with whether they hold the service permission directly
    (``service_direct``) or through one of their groups (``service_group``)."""
    perms = _service_permission()
    return get_user_model().objects.annotate(
        service_direct=Exists(perms.filter(user=OuterRef("pk"))),
        service_group=Exists(perms.filter(group__user=OuterRef("pk"))),
    )


def operator_accounts() -> QuerySet[Any]:
    """Every user that is never a member (staff, superusers, service accounts), active or not."""
    return _users_with_grants().filter(
        Q(is_staff=True) | Q(is_superuser=True) | Q(service_direct=True) | Q(service_group=True)
    )


def member_require(member_id: Any) -> int:
    """``member_id`` if it names an active member; ``MemberNotFound`` for a non-int, a bool,
    zero or less, an unknown or inactive user; ``NotAMember`` for an operator account."""
    if isinstance(member_id, bool) or not isinstance(member_id, int) or member_id <= 0:
        raise MemberNotFound(member_id=member_id)
    row = (
        _users_with_grants()
        .filter(pk=member_id, is_active=True)
        .values_list("is_staff", "is_superuser", "service_direct", "service_group")
        .first()
    )
    if row is None:
        raise MemberNotFound(member_id=member_id)
    if any(row):
        raise NotAMember(member_id=member_id)
    return member_id
