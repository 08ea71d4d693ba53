"""OIDC sign-in: claim mapping, the callback's checks, approval and groups, sign-out, renewal, configuration.

The browser flow against a real provider is tests/e2e/test_oidc.py; here the provider's token
and userinfo answers are made in-process, with ID tokens signed by a key of our own.
"""

import json
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from axes.models import AccessAttempt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.contrib.auth import BACKEND_SESSION_KEY
from django.core.exceptions import ImproperlyConfigured
from django.urls import include, path
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import OIDCAuthenticationRequestView, OIDCLogoutView

from conftest import PASSWORD
from hobbies.accounts import oidc, oidc_config, services
from hobbies.accounts.forms import PENDING_MESSAGE
from hobbies.accounts.models import Approval, LoginEvent, OidcIdentity, User
from hobbies.accounts.views import LOCAL_LOGIN_OFF_MESSAGE
from tests.rig.servers import free_port

ROOT = Path(__file__).resolve().parents[3]
ISSUER = "https://op.example.test"
CLIENT_ID = "hobbies-client"
BACKEND = "hobbies.accounts.oidc.CommunityOIDCBackend"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PUBLIC_PEM = KEY.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

# The app's URLs plus mozilla-django-oidc's, with our callback view (hobbies/accounts/urls.py adds
# them only when OIDC_ENABLED is set at start-up, which it is not for this test process).
urlpatterns = [
    path("oidc/callback/", oidc.CallbackView.as_view(), name="oidc_authentication_callback"),
    path("oidc/authenticate/", OIDCAuthenticationRequestView.as_view(), name="oidc_authentication_init"),
    path("oidc/logout/", OIDCLogoutView.as_view(), name="oidc_logout"),
    path("", include("hobbies.urls")),
]


@pytest.fixture
def oidc_settings(settings):
    endpoints = oidc_config.resolve_endpoints(
        issuer="",
        explicit={field: f"{ISSUER}/{field}" for field in oidc_config.ENDPOINT_SETTINGS},
    )
    settings.ROOT_URLCONF = __name__
    settings.OIDC_ENABLED = True
    settings.OIDC_PROVIDER_LABEL = "Cognito User Pools"
    settings.OIDC_RP_CLIENT_ID = CLIENT_ID
    settings.OIDC_RP_CLIENT_SECRET = "client-secret"
    settings.OIDC_RP_SIGN_ALGO = "RS256"
    settings.OIDC_RP_IDP_SIGN_KEY = PUBLIC_PEM
    settings.OIDC_RP_SCOPES = "openid email profile"
    settings.OIDC_OP_ISSUER = ISSUER
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = endpoints.authorization
    settings.OIDC_OP_TOKEN_ENDPOINT = endpoints.token
    settings.OIDC_OP_USER_ENDPOINT = endpoints.userinfo
    settings.OIDC_OP_JWKS_ENDPOINT = endpoints.jwks
    settings.OIDC_OP_LOGOUT_ENDPOINT = endpoints.end_session
    settings.OIDC_OP_LOGOUT_REDIRECT_PARAM = endpoints.logout_redirect_param
    settings.OIDC_OP_LOGOUT_URL_METHOD = "hobbies.accounts.oidc.provider_logout_url"
    settings.OIDC_STORE_ID_TOKEN = True
    settings.OIDC_USE_PKCE = True
    settings.OIDC_GROUPS_CLAIM = "cognito:groups"
    settings.OIDC_ADMIN_GROUPS = ["admins"]
    settings.OIDC_REQUIRE_APPROVAL = False
    settings.AUTHENTICATION_BACKENDS = [*settings.AUTHENTICATION_BACKENDS, BACKEND]
    middleware = list(settings.MIDDLEWARE)
    middleware.insert(
        middleware.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
        "mozilla_django_oidc.middleware.SessionRefresh",
    )
    settings.MIDDLEWARE = middleware
    return settings


def claims(sub="sub-alice", **extra):
    return {"sub": sub, "preferred_username": "alice", "email": "alice@example.org", "name": "Alice L", **extra}


def sign_in(client, monkeypatch, userinfo, *, id_token=None, state=None):
    """Start at /oidc/authenticate/, then come back to the callback as the provider would."""
    authorize = urlsplit(client.get("/oidc/authenticate/")["Location"])
    params = {name: values[0] for name, values in parse_qs(authorize.query).items()}
    token_claims = {
        "iss": ISSUER,
        "aud": CLIENT_ID,
        "sub": userinfo["sub"],
        "nonce": params["nonce"],
        "exp": int(time.time()) + 300,
        **(id_token or {}),
    }
    token = jwt.encode(token_claims, KEY, algorithm="RS256")
    monkeypatch.setattr(oidc.CommunityOIDCBackend, "get_token", lambda self, payload: {"id_token": token})
    monkeypatch.setattr(OIDCAuthenticationBackend, "get_userinfo", lambda self, *args: dict(userinfo))
    return client.get("/oidc/callback/", {"code": "the-code", "state": state or params["state"]})


# --- claim mapping --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "username"),
    [
        ({"preferred_username": "alice", "cognito:username": "3f2a-uuid"}, "alice"),
        ({"cognito:username": "bob"}, "bob"),
        ({"preferred_username": "Ann Smith!", "email": "x@example.org"}, "Ann_Smith"),
        ({"preferred_username": "  ", "email": "carol.c+hobbies@example.org"}, "carol.c+hobbies"),
        ({"preferred_username": "日本 語"}, "日本_語"),
        ({}, "sub-1"),
        ({"preferred_username": "a/b\\c"}, "a_b_c"),
        ({"preferred_username": "x" * 200}, "x" * 140),
    ],
)
def test_username_comes_from_the_best_claim_sanitised(given, username):
    assert oidc.username_wish({"sub": "sub-1", **given}) == username


def test_missing_claims_fall_back_to_empty_values():
    account = oidc.account_from_claims({"sub": "only-sub"}, issuer=ISSUER)
    assert (account.username, account.email, account.display_name, account.groups) == ("only-sub", "", "", frozenset())


def test_name_is_built_from_given_and_family_names_when_absent(settings):
    account = oidc.account_from_claims({"sub": "s", "given_name": "Ada", "family_name": "Lovelace"}, issuer=ISSUER)
    assert (account.first_name, account.last_name, account.display_name) == ("Ada", "Lovelace", "Ada Lovelace")


@pytest.mark.parametrize(
    ("value", "groups"),
    [(["admins", "knitters"], {"admins", "knitters"}), ("admins, knitters", {"admins", "knitters"}), (None, set())],
)
def test_groups_claim_accepts_lists_and_strings(settings, value, groups):
    settings.OIDC_GROUPS_CLAIM = "cognito:groups"
    assert oidc.account_from_claims({"sub": "s", "cognito:groups": value}, issuer=ISSUER).groups == groups


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("existing", "expected"),
    [([], "alice"), (["alice"], "alice2"), (["ALICE", "Alice2"], "alice3"), (["alice", "alice3"], "alice2")],
)
def test_user_name_collisions_get_a_number(make_user, existing, expected):
    for name in existing:
        make_user(name)
    account = oidc.account_from_claims(claims(), issuer=ISSUER)
    user = services.create_or_update_oidc_user(account, require_approval=False)
    assert user.username == expected
    # A local account with the same name is never taken over.
    assert OidcIdentity.objects.get(user=user).subject == "sub-alice"


@pytest.mark.django_db
def test_renamed_user_at_the_provider_stays_the_same_account():
    first = services.create_or_update_oidc_user(
        oidc.account_from_claims(claims(), issuer=ISSUER), require_approval=False
    )
    renamed = claims(preferred_username="alice-liddell", email="liddell@example.org", given_name="Alice")
    again = services.create_or_update_oidc_user(
        oidc.account_from_claims(renamed, issuer=ISSUER), require_approval=False
    )
    assert again.pk == first.pk
    again.refresh_from_db()
    assert (again.username, again.email, again.first_name) == ("alice", "liddell@example.org", "Alice")
    assert again.profile.display_name == "Alice L"
    assert not again.has_usable_password()


@pytest.mark.django_db
def test_same_subject_at_another_issuer_is_another_account():
    one = services.create_or_update_oidc_user(oidc.account_from_claims(claims(), issuer=ISSUER), require_approval=False)
    other = oidc.account_from_claims(claims(), issuer="https://other.example.test")
    two = services.create_or_update_oidc_user(other, require_approval=False)
    assert (one.pk != two.pk, two.username) == (True, "alice2")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("first_groups", "later_groups", "admin_groups", "staff_after"),
    [
        (["admins"], ["admins"], ["admins"], True),
        (["admins"], [], ["admins"], False),  # left the group: no longer staff
        ([], ["admins"], ["admins"], True),
        (["admins"], [], [], True),  # without OIDC_ADMIN_GROUPS staff is managed here, not by groups
    ],
)
def test_admin_groups_grant_and_revoke_staff(first_groups, later_groups, admin_groups, staff_after):
    def sign_in_with(groups):
        account = oidc.account_from_claims(claims(**{"cognito:groups": groups}), issuer=ISSUER)
        return services.create_or_update_oidc_user(account, require_approval=False, admin_groups=admin_groups)

    user = sign_in_with(first_groups)
    if not admin_groups:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    assert sign_in_with(later_groups).is_staff is staff_after


@pytest.mark.django_db
def test_admin_groups_never_demote_a_superuser():
    user = services.create_or_update_oidc_user(
        oidc.account_from_claims(claims(), issuer=ISSUER), require_approval=False
    )
    User.objects.filter(pk=user.pk).update(is_superuser=True, is_staff=True)
    account = oidc.account_from_claims(claims(), issuer=ISSUER)
    assert services.create_or_update_oidc_user(account, require_approval=False, admin_groups=["admins"]).is_staff


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("groups", "approval", "is_active"),
    [([], Approval.PENDING, False), (["admins"], Approval.ACTIVE, True)],
)
def test_approval_policy_queues_new_accounts_but_not_admins(groups, approval, is_active):
    account = oidc.account_from_claims(claims(**{"cognito:groups": groups}), issuer=ISSUER)
    user = services.create_or_update_oidc_user(account, require_approval=True, admin_groups=["admins"])
    assert (user.approval, user.is_active) == (approval, is_active)


@pytest.mark.django_db
def test_approved_account_is_confirmed_by_its_next_oidc_sign_in(admin_user):
    account = oidc.account_from_claims(claims(), issuer=ISSUER)
    user = services.create_or_update_oidc_user(account, require_approval=True)
    services.approve_users(actor=admin_user, users=[user])
    user = services.create_or_update_oidc_user(account, require_approval=True)
    assert (user.approval, user.is_active) == (Approval.ACTIVE, True)


# --- the callback ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_callback_signs_in_and_runs_the_post_authentication_hook_as_oidc(client, oidc_settings, monkeypatch):
    response = sign_in(client, monkeypatch, claims(**{"cognito:groups": ["admins"]}))
    assert response.status_code == 302
    assert response["Location"] == "/channels/"
    user = User.objects.get(oidc_identities__issuer=ISSUER, oidc_identities__subject="sub-alice")
    assert (user.username, user.email, user.is_staff, user.approval) == ("alice", "alice@example.org", True, "active")
    assert list(LoginEvent.objects.values_list("user__username", "method")) == [("alice", "oidc")]
    assert client.session[BACKEND_SESSION_KEY] == BACKEND
    assert client.session["oidc_id_token_expiration"] > time.time()


@pytest.mark.django_db
def test_groups_from_the_id_token_count_when_userinfo_lacks_them(client, oidc_settings, monkeypatch):
    # Cognito: cognito:groups is in the ID token only.
    sign_in(client, monkeypatch, claims(), id_token={"cognito:groups": ["admins"]})
    assert User.objects.get(username="alice").is_staff


@pytest.mark.django_db
def test_forged_state_is_rejected(client, oidc_settings, monkeypatch):
    response = sign_in(client, monkeypatch, claims(), state="forged-state")
    assert response.status_code == 400
    assert not User.objects.exists()
    assert BACKEND_SESSION_KEY not in client.session


@pytest.mark.django_db
def test_callback_without_a_started_sign_in_fails(client, oidc_settings):
    response = client.get("/oidc/callback/", {"code": "c", "state": "s"}, follow=True)
    assert "Signing in with Cognito User Pools did not succeed" in response.content.decode()
    assert not response.context["user"].is_authenticated


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("id_token", "userinfo", "status"),
    [
        # mozilla-django-oidc answers a nonce mismatch (a replayed token) with 400 Bad Request...
        ({"nonce": "replayed-nonce"}, {}, 400),
        # ...and our checks send the browser back to sign-in with a failure message.
        ({"aud": "another-client"}, {}, 302),
        ({"iss": "https://impostor.example.test"}, {}, 302),
        ({"sub": "sub-alice"}, {"sub": "someone-else"}, 302),
    ],
    ids=["nonce", "audience", "issuer", "userinfo-subject"],
)
def test_mismatched_tokens_are_rejected(client, oidc_settings, monkeypatch, id_token, userinfo, status):
    response = sign_in(client, monkeypatch, claims(**userinfo), id_token=id_token)
    assert response.status_code == status
    assert not User.objects.exists()
    assert BACKEND_SESSION_KEY not in client.session
    # A failed OIDC callback has no user name, so it can never lock anybody out.
    assert not AccessAttempt.objects.exists()


@pytest.mark.django_db
def test_pending_account_lands_on_the_pending_message(client, oidc_settings, monkeypatch):
    oidc_settings.OIDC_REQUIRE_APPROVAL = True
    response = sign_in(client, monkeypatch, claims())
    page = client.get(response["Location"])
    assert response["Location"] == "/"
    assert [str(message) for message in page.context["messages"]] == [PENDING_MESSAGE]
    assert not page.context["user"].is_authenticated
    assert User.objects.get(username="alice").approval == Approval.PENDING


# --- sign-in page, sign-out, renewal ----------------------------------------------------------


@pytest.mark.django_db
def test_sign_in_page_offers_the_provider(client, oidc_settings):
    html = client.get("/").content.decode()
    assert "Sign in with Cognito User Pools" in html
    assert 'href="/oidc/authenticate/"' in html
    assert 'name="password"' in html


@pytest.mark.django_db
def test_sign_in_page_without_oidc_has_no_provider_button(client):
    assert "Sign in with" not in client.get("/").content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("action", ["signin", "register"])
def test_local_login_disabled_hides_the_form_and_refuses_posts(client, oidc_settings, member, action):
    oidc_settings.LOCAL_LOGIN_ENABLED = False
    page = client.get("/").content.decode()
    assert 'name="password"' not in page and "Sign in with Cognito User Pools" in page
    response = client.post("/", {"action": action, "username": "member", "password": PASSWORD, "email": ""})
    assert response.status_code == 403
    assert LOCAL_LOGIN_OFF_MESSAGE in response.content.decode()
    assert not response.context["user"].is_authenticated
    assert list(User.objects.values_list("username", flat=True)) == ["member"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("endpoint", "param", "expected"),
    [
        (
            "https://op.example.test/end_session",
            "post_logout_redirect_uri",
            {"client_id", "post_logout_redirect_uri", "id_token_hint"},
        ),
        ("https://hobbies.auth.eu-west-1.amazoncognito.com/logout", "logout_uri", {"client_id", "logout_uri"}),
    ],
    ids=["standard", "cognito"],
)
def test_signing_out_ends_the_provider_session_too(client, oidc_settings, monkeypatch, endpoint, param, expected):
    oidc_settings.OIDC_OP_LOGOUT_ENDPOINT = endpoint
    oidc_settings.OIDC_OP_LOGOUT_REDIRECT_PARAM = param
    sign_in(client, monkeypatch, claims())
    location = urlsplit(client.post("/signout/")["Location"])
    query = {name: values[0] for name, values in parse_qs(location.query).items()}
    assert f"{location.scheme}://{location.netloc}{location.path}" == endpoint
    assert set(query) == expected
    assert (query["client_id"], query[param]) == (CLIENT_ID, "http://testserver/")
    assert BACKEND_SESSION_KEY not in client.session


@pytest.mark.django_db
def test_signing_out_without_a_provider_end_session_endpoint_stays_here(client, oidc_settings, monkeypatch):
    oidc_settings.OIDC_OP_LOGOUT_ENDPOINT = ""
    sign_in(client, monkeypatch, claims())
    assert client.post("/signout/")["Location"] == "/"
    assert BACKEND_SESSION_KEY not in client.session


@pytest.mark.django_db
def test_signing_out_a_password_session_stays_here(client, oidc_settings, member):
    client.force_login(member, backend="django.contrib.auth.backends.ModelBackend")
    assert client.post("/signout/")["Location"] == "/"


@pytest.mark.django_db
def test_expired_oidc_session_is_renewed_at_the_provider_for_html_pages(client, oidc_settings, monkeypatch):
    sign_in(client, monkeypatch, claims())
    assert client.get("/")["Location"] == "/channels/"  # fresh: no detour
    session = client.session
    session["oidc_id_token_expiration"] = time.time() - 1
    session.save()
    location = urlsplit(client.get("/")["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == f"{ISSUER}/authorization"
    assert parse_qs(location.query)["prompt"] == ["none"]


@pytest.mark.django_db
def test_password_sessions_are_never_sent_to_the_provider(client, oidc_settings, member):
    client.force_login(member, backend="django.contrib.auth.backends.ModelBackend")
    assert client.get("/")["Location"] == "/channels/"


# --- configuration at start-up ---------------------------------------------------------------


def run_manage(tmp_path, *args, **env):
    full_env = {"PATH": "/usr/bin:/bin", "DATA_DIR": str(tmp_path), **env}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=120
    )


OIDC_CLIENT = {"OIDC_ENABLED": "true", "OIDC_RP_CLIENT_ID": CLIENT_ID, "OIDC_RP_CLIENT_SECRET": "s3cret"}


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {**OIDC_CLIENT, "OIDC_OP_DISCOVERY_URL": "http://127.0.0.1:{port}/.well-known/openid-configuration"},
            "OIDC discovery failed: could not read http://127.0.0.1:{port}/.well-known/openid-configuration",
        ),
        (
            {"OIDC_ENABLED": "true", "OIDC_OP_ISSUER": ISSUER},
            "OIDC_ENABLED=true needs OIDC_RP_CLIENT_ID, OIDC_RP_CLIENT",
        ),
        (
            {**OIDC_CLIENT, "OIDC_OP_AUTHORIZATION_ENDPOINT": f"{ISSUER}/auth"},
            "needs OIDC_OP_TOKEN_ENDPOINT, OIDC_OP_USER_ENDPOINT, OIDC_OP_JWKS_ENDPOINT",
        ),
        ({**OIDC_CLIENT, "COGNITO_USER_POOL_ID": "not-a-pool"}, "COGNITO_USER_POOL_ID must look like"),
        ({"LOCAL_LOGIN_ENABLED": "false"}, "LOCAL_LOGIN_ENABLED=false needs OIDC_ENABLED=true"),
    ],
    ids=["unreachable-discovery", "no-client", "missing-endpoints", "bad-pool-id", "nobody-can-sign-in"],
)
def test_misconfiguration_stops_start_up_with_a_clear_message(tmp_path, env, message):
    port = str(free_port())  # nothing listens there
    result = run_manage(tmp_path, "check", **{name: value.replace("{port}", port) for name, value in env.items()})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message.replace("{port}", port) in result.stderr


def test_cognito_preset_configures_the_whole_app(tmp_path):
    script = (
        "import json; from django.conf import settings as s; from django.urls import reverse; "
        "print(json.dumps({n: getattr(s, n) for n in ("
        "'OIDC_OP_ISSUER', 'OIDC_OP_AUTHORIZATION_ENDPOINT', 'OIDC_OP_TOKEN_ENDPOINT', 'OIDC_OP_USER_ENDPOINT', "
        "'OIDC_OP_JWKS_ENDPOINT', 'OIDC_OP_LOGOUT_ENDPOINT', 'AUTHENTICATION_BACKENDS', 'MIDDLEWARE')} "
        "| {'callback': reverse('oidc_authentication_callback')}))"
    )
    result = run_manage(
        tmp_path,
        "shell",
        "--no-imports",
        "-c",
        script,
        **OIDC_CLIENT,
        COGNITO_USER_POOL_ID="eu-west-1_AbC123xyz",
        COGNITO_DOMAIN="hobbies",
        LOCAL_LOGIN_ENABLED="false",
    )
    assert result.returncode == 0, result.stderr
    got = json.loads(result.stdout)
    pool = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123xyz"
    hosted = "https://hobbies.auth.eu-west-1.amazoncognito.com"
    assert got["OIDC_OP_ISSUER"] == pool
    assert got["OIDC_OP_AUTHORIZATION_ENDPOINT"] == f"{hosted}/oauth2/authorize"
    assert got["OIDC_OP_TOKEN_ENDPOINT"] == f"{hosted}/oauth2/token"
    assert got["OIDC_OP_USER_ENDPOINT"] == f"{hosted}/oauth2/userInfo"
    assert got["OIDC_OP_JWKS_ENDPOINT"] == f"{pool}/.well-known/jwks.json"
    assert got["OIDC_OP_LOGOUT_ENDPOINT"] == f"{hosted}/logout"
    assert got["AUTHENTICATION_BACKENDS"] == ["axes.backends.AxesStandaloneBackend", BACKEND]
    assert "mozilla_django_oidc.middleware.SessionRefresh" in got["MIDDLEWARE"]
    assert got["callback"] == "/oidc/callback/"


@pytest.mark.parametrize(
    ("domain", "region", "host"),
    [
        ("hobbies", "", "hobbies.auth.us-east-1.amazoncognito.com"),
        ("https://login.hobbies.example.org/", "us-east-1", "login.hobbies.example.org"),
        ("hobbies.auth.us-east-1.amazoncognito.com", "", "hobbies.auth.us-east-1.amazoncognito.com"),
    ],
)
def test_cognito_domain_forms(domain, region, host):
    endpoints = oidc_config.cognito_endpoints(user_pool_id="us-east-1_Pool42", region=region, domain=domain)
    assert endpoints.authorization == f"https://{host}/oauth2/authorize"
    assert (endpoints.end_session, endpoints.logout_redirect_param) == (f"https://{host}/logout", "logout_uri")


def test_cognito_region_must_match_the_pool():
    with pytest.raises(ImproperlyConfigured, match="does not match the user pool"):
        oidc_config.cognito_endpoints(user_pool_id="us-east-1_Pool42", region="eu-west-1", domain="hobbies")


@pytest.fixture
def discovery_server():
    """A loopback HTTP server answering the openid-configuration document we give it."""
    answer: dict = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = answer["body"].encode()
            self.send_response(answer.get("status", 200))
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", answer
    server.shutdown()
    server.server_close()


def document(issuer, **extra):
    keys = {"authorization": "auth", "token": "token", "userinfo": "me", "jwks": "jwks", "end_session": "session/end"}
    return json.dumps(
        {"issuer": issuer, **{oidc_config.DISCOVERY_KEYS[k]: f"{issuer}/{v}" for k, v in keys.items()}, **extra}
    )


def test_discovery_reads_the_endpoints_and_explicit_settings_win(discovery_server):
    base, answer = discovery_server
    answer["body"] = document(base)
    endpoints = oidc_config.resolve_endpoints(issuer=base, explicit={"userinfo": "https://elsewhere.test/me"})
    assert (endpoints.issuer, endpoints.authorization, endpoints.jwks) == (base, f"{base}/auth", f"{base}/jwks")
    assert (endpoints.end_session, endpoints.logout_redirect_param) == (
        f"{base}/session/end",
        "post_logout_redirect_uri",
    )
    assert endpoints.userinfo == "https://elsewhere.test/me"


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (200, document("https://impostor.example.test"), "the provider says its issuer is"),
        (200, "<html>not json</html>", "OIDC discovery failed: could not read"),
        (404, "{}", "OIDC discovery failed: could not read"),
        (200, "[]", "is not an OpenID Connect configuration document"),
    ],
)
def test_bad_discovery_answers_are_configuration_errors(discovery_server, status, body, message):
    base, answer = discovery_server
    answer.update(status=status, body=body)
    with pytest.raises(ImproperlyConfigured, match=message):
        oidc_config.resolve_endpoints(issuer=base)


def test_production_requires_https_endpoints():
    with pytest.raises(ImproperlyConfigured, match="OIDC_OP_TOKEN_ENDPOINT must be an https:// URL"):
        oidc_config.resolve_endpoints(
            explicit={field: f"https://op.test/{field}" for field in oidc_config.REQUIRED}
            | {"token": "http://op.test/t"},
            require_https=True,
        )


@pytest.mark.django_db
def test_administrators_see_the_identities(client, admin_user):
    user = services.create_or_update_oidc_user(
        oidc.account_from_claims(claims(), issuer=ISSUER), require_approval=False
    )
    client.force_login(admin_user, backend="django.contrib.auth.backends.ModelBackend")
    html = client.get("/admin/accounts/oidcidentity/").content.decode()
    assert user.username in html and "sub-alice" in html
