"""Auth endpoints (token, refresh, logout, me, JWKS) and the users API."""

from __future__ import annotations

import time
from typing import Any

import redis
from config.exceptions import ServiceUnavailable
from config.proxies import client_ip
from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.models import update_last_login
from django.db import transaction
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings

from accounts import services
from accounts.api.serializers import (
    AcceptInvitationSerializer,
    InvitationSerializer,
    InviteSerializer,
    LoginSerializer,
    LogoutSerializer,
    MeSerializer,
    PasswordChangeSerializer,
    RefreshSerializer,
    TokenPairSerializer,
    UserSerializer,
)
from accounts.authentication import claims_of, get_denylist, user_may_act
from accounts.login_guard import LoginRefused, login_guard
from accounts.models import User
from accounts.rbac import RolePermission, TenantScopedMixin, acting_user
from accounts.tokens import GTRefreshToken, issue_pair, jwks, session_deadline
from shared_kernel.auth import Role


class LoginRateThrottle(SimpleRateThrottle):
    """Bounds password guessing per client address and username."""

    scope = "login"

    def get_rate(self) -> str:
        return str(settings.LOGIN_THROTTLE_RATE)

    def get_ident(self, request: Request) -> str:
        # The address the audit log records: X-Forwarded-For only from TRUSTED_PROXIES.
        return client_ip(request) or "unknown"

    def get_cache_key(self, request: Request, view: APIView) -> str:
        username = ""
        if isinstance(request.data, dict):
            username = str(request.data.get("username", ""))[:150].lower()
        return self.cache_format % {
            "scope": self.scope, "ident": f"{self.get_ident(request)}:{username}"
        }


class LoginThrottled(exceptions.Throttled):
    """429 with Retry-After: the address is over its rate or the account is locked."""

    def __init__(self, refusal: LoginRefused) -> None:
        message = ("Too many failed logins for this account; try again later."
                   if refusal.reason == "account_locked"
                   else "Too many login attempts from this address; try again later.")
        super().__init__(wait=refusal.retry_after, detail=message, code=refusal.reason)


class InvitationRateThrottle(SimpleRateThrottle):
    """Bounds token guessing on the public accept endpoint per client address."""

    scope = "invitation"

    def get_rate(self) -> str:
        return str(settings.LOGIN_IP_THROTTLE_RATE)

    def get_cache_key(self, request: Request, view: APIView) -> str:
        return self.cache_format % {"scope": self.scope,
                                    "ident": client_ip(request) or "unknown"}


class InvalidInvitationError(exceptions.APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "The invitation link is invalid, expired or already used."
    default_code = "invalid_invitation"


#: The dashboard page that accepts an invitation; the token goes in the fragment.
ACCEPT_PATH = "/accept-invitation"


def _invitation_response(issued: services.IssuedInvitation, request: Request) -> Response:
    return Response(InvitationSerializer({
        "user": issued.user, "token": issued.token, "expires_at": issued.expires_at,
        "accept_path": f"{ACCEPT_PATH}#{issued.token}",
    }, context={"request": request}).data, status=status.HTTP_201_CREATED)


class _PublicAuthView(APIView):
    """Reachable without a token; its 401s still name the Bearer scheme."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    def get_authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="gt-vision"'


class TokenView(_PublicAuthView):
    throttle_classes = [LoginRateThrottle]

    @extend_schema(request=LoginSerializer, responses=TokenPairSerializer, tags=["auth"])
    def post(self, request: Request) -> Response:
        data = LoginSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        username: str = data.validated_data["username"]
        try:
            login_guard.check(username, client_ip(request))
        except LoginRefused as refusal:
            services.record_login_refused(username, request, refusal)
            raise LoginThrottled(refusal) from None
        user = authenticate(
            request._request, username=username, password=data.validated_data["password"]
        )
        if not isinstance(user, User) or not user_may_act(user):
            known = User.objects.filter(username=username).first()
            services.record_login_failure(
                username, request, known,
                reason="bad_credentials" if not isinstance(user, User) else "not_allowed")
            raise exceptions.AuthenticationFailed(
                "No active account found with the given credentials."
            )
        with transaction.atomic():
            update_last_login(User, user)
            services.record_login_success(user, request)
        return Response(issue_pair(user))


class AcceptInvitationView(_PublicAuthView):
    """The invitee sets their password with the link's token (once, before it expires)."""

    throttle_classes = [InvitationRateThrottle]

    @extend_schema(request=AcceptInvitationSerializer, responses={200: dict}, tags=["auth"])
    def post(self, request: Request) -> Response:
        data = AcceptInvitationSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            user = services.accept_invitation(
                token=data.validated_data["token"], password=data.validated_data["password"],
                request=request)
        except services.InvalidInvitation:
            raise InvalidInvitationError from None
        return Response({"username": user.username})


class RefreshView(_PublicAuthView):

    @extend_schema(request=RefreshSerializer, responses=TokenPairSerializer, tags=["auth"])
    def post(self, request: Request) -> Response:
        data = RefreshSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            old = GTRefreshToken(data.validated_data["refresh"])
        except TokenError as exc:
            raise exceptions.AuthenticationFailed("Refresh token is invalid or expired.") from exc
        user = User.objects.select_related("tenant").filter(
            pk=old.payload.get(jwt_settings.USER_ID_CLAIM)
        ).first()
        if user is None or not user_may_act(user):
            raise exceptions.AuthenticationFailed("User is inactive or unknown.")
        auth_time = old.payload.get("auth_time")
        if not isinstance(auth_time, int) or session_deadline(auth_time) <= time.time():
            raise exceptions.AuthenticationFailed("The session has ended; log in again.")
        token_version = int(old.payload.get("sv", 0))
        session_id = old.payload.get("sid")
        session_id = session_id if isinstance(session_id, str) and session_id else None
        try:
            revoked = get_denylist().sessions_revoked(user.id, token_version, session_id)
        except redis.RedisError as exc:
            raise ServiceUnavailable("Token revocation list is unavailable.") from exc
        if revoked or token_version < user.session_version:
            raise exceptions.AuthenticationFailed("The session has been revoked; log in again.")
        # Rotation: the presented refresh token is spent, atomically; a replay answers 401.
        services.spend_refresh_token(old)
        return Response(issue_pair(user, auth_time=auth_time, session_id=session_id))


class LogoutView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=LogoutSerializer, responses={204: None}, tags=["auth"])
    def post(self, request: Request) -> Response:
        data = LogoutSerializer(data=request.data or {})
        data.is_valid(raise_exception=True)
        user = acting_user(request)
        refresh_raw = data.validated_data.get("refresh")
        refresh: GTRefreshToken | None = None
        if refresh_raw:
            try:
                refresh = GTRefreshToken(refresh_raw)
            except TokenError:
                refresh = None  # already expired or revoked: nothing left to revoke
            if refresh is not None and str(refresh.payload.get("user_id")) != str(user.id):
                raise exceptions.ValidationError({"refresh": ["Not your token."]})
        claims = claims_of(request)
        try:
            if claims is not None:
                get_denylist().revoke(claims.jti, claims.exp)
                if claims.session_id:
                    # The session's refresh tokens too, sent with the logout or not.
                    get_denylist().end_session(
                        claims.session_id, int(settings.SESSION_MAX_AGE.total_seconds()))
        except redis.RedisError as exc:
            raise ServiceUnavailable("Token revocation list is unavailable.") from exc
        with transaction.atomic():
            if refresh is not None:
                refresh.blacklist()
            services.record_logout(user, request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=MeSerializer, tags=["auth"])
    def get(self, request: Request) -> Response:
        return Response(MeSerializer(acting_user(request)).data)


class PasswordChangeThrottle(SimpleRateThrottle):
    """Bounds guessing of the current password with a stolen token, per user."""

    scope = "password_change"

    def get_rate(self) -> str:
        return str(settings.LOGIN_THROTTLE_RATE)

    def get_cache_key(self, request: Request, view: APIView) -> str:
        return self.cache_format % {"scope": self.scope, "ident": str(request.user.pk)}


class PasswordChangeView(APIView):
    """The signed-in user's own password: the current one, then the new one (the
    validators apply). Every session of the user ends; the answer is a new pair."""

    permission_classes = [IsAuthenticated]
    throttle_classes = [PasswordChangeThrottle]

    @extend_schema(request=PasswordChangeSerializer, responses=TokenPairSerializer,
                   tags=["auth"])
    def post(self, request: Request) -> Response:
        data = PasswordChangeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = User.objects.select_related("tenant").get(pk=acting_user(request).pk)
        try:  # the login's guard: a locked account, or an address trying too many
            login_guard.check(user.get_username(), client_ip(request))
        except LoginRefused as refusal:
            services.record_login_refused(user.get_username(), request, refusal,
                                          via="password_change")
            raise LoginThrottled(refusal) from None
        services.change_own_password(
            user, current_password=data.validated_data["current_password"],
            new_password=data.validated_data["new_password"], request=request)
        return Response(issue_pair(user))


class JWKSView(APIView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    @extend_schema(responses={200: dict}, tags=["auth"])
    def get(self, request: Request) -> Response:
        response = Response(jwks())
        response["Cache-Control"] = "public, max-age=300"
        return response


class UserViewSet(
    TenantScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Users of the caller's tenant (superadmin: all). DELETE deactivates."""

    serializer_class = UserSerializer
    permission_classes = [RolePermission]
    read_role = Role.TENANT_ADMIN
    write_role = Role.TENANT_ADMIN
    filterset_fields = ["role", "is_active", "is_superadmin", "tenant"]
    search_fields = ["username", "email", "first_name", "last_name"]
    ordering_fields = ["username", "date_joined", "last_login", "role"]
    ordering = ["username"]

    def get_queryset(self) -> QuerySet[User]:
        return self.scope(User.objects.select_related("tenant"))

    def perform_create(self, serializer: BaseSerializer[User]) -> None:
        actor = acting_user(self.request)
        data = dict(serializer.validated_data)
        if not actor.is_superadmin:
            data["tenant"] = actor.tenant
            data["is_superadmin"] = False
        serializer.instance = services.create_user(data=data, actor=actor, request=self.request)

    def perform_update(self, serializer: BaseSerializer[User]) -> None:
        assert serializer.instance is not None
        serializer.instance = services.update_user(
            serializer.instance, changes=dict(serializer.validated_data),
            actor=acting_user(self.request), request=self.request,
        )

    @extend_schema(request=InviteSerializer, responses={201: InvitationSerializer})
    @action(detail=False, methods=["post"], url_path="invite")
    def invite(self, request: Request) -> Response:
        """Create a user without a password; answers the one-time invitation link."""
        serializer = InviteSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        actor = acting_user(request)
        data = dict(serializer.validated_data)
        if not actor.is_superadmin:
            data["tenant"] = actor.tenant
            data["is_superadmin"] = False
        return _invitation_response(
            services.invite_user(data=data, actor=actor, request=request), request)

    @extend_schema(request=None, responses={201: InvitationSerializer})
    @action(detail=True, methods=["post"], url_path="invitation")
    def reinvite(self, request: Request, pk: str | None = None) -> Response:
        """A new link for a user who has not accepted yet (earlier links stop working)."""
        return _invitation_response(
            services.reinvite_user(self.get_object(), actor=acting_user(request),
                                   request=request), request)

    def perform_destroy(self, instance: User) -> None:
        services.deactivate_user(instance, actor=acting_user(self.request), request=self.request)
