"""Microsoft Teams: the bot's own tokens, acquired exactly as in a tenant. Nothing of ours is
replaced: `ruhepuls serve` and `ruhepuls doctor` run as processes with the settings the README
names, MSAL asks Entra (a local fake behind an HTTPS proxy, tests/entra.py) and Azure's
managed-identity endpoint, and the connector fake accepts only the tokens that Entra issued."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from conftest import REPO, free_port, python_env, ruhepuls_process, wait_until_up
from entra import SYSTEM_IDENTITY, EntraServer, FakeEntra
from teamskit import APP_ID, TENANT, FakeTeams, FakeTeamsServer, activity

SECRET = "Q~s3cret-value-shown-once"
USER_IDENTITY = "44444444-4444-4444-8444-444444444444"


def env_for(
    fake: FakeTeams, entra: FakeEntra, tmp_path: Path, redis_url: str, **credential: str
) -> dict[str, str]:
    return python_env(
        REDIS_URL=redis_url,
        RUHEPULS_SECRET="teams-tokens",
        RUHEPULS_DATA_DIR=str(tmp_path),
        TEAMS_APP_ID=APP_ID,
        TEAMS_OPENID_METADATA_URL=fake.openid_url,
        **entra.env(),
        **credential,
    )


@pytest.mark.parametrize(
    ("credential", "grants"),
    [
        ({"TEAMS_APP_PASSWORD": SECRET}, ["secret"]),
        ({"TEAMS_MANAGED_IDENTITY": "system"}, ["identity", "federated"]),
        ({"TEAMS_MANAGED_IDENTITY": USER_IDENTITY}, ["identity", "federated"]),
        ({"TEAMS_MANAGED_IDENTITY": "direct"}, ["identity"]),
    ],
    ids=["client-secret", "system-identity", "user-assigned-identity", "identity-is-the-bot"],
)
def test_each_credential_gets_the_bot_a_token_from_entra_that_the_connector_accepts(
    credential: dict[str, str], grants: list[str], redis_url: str, redis, tmp_path: Path
) -> None:
    """Issue 24: the README's credentials, each all the way: Entra in the bot's own tenant, the
    connector sees only Entra's token, and nothing else off this machine is asked."""
    entra = FakeEntra(
        APP_ID,
        TENANT,
        secret=SECRET,
        federated={SYSTEM_IDENTITY, USER_IDENTITY},
        identities={SYSTEM_IDENTITY, USER_IDENTITY, APP_ID},
    )
    with EntraServer(entra, tmp_path), FakeTeamsServer(FakeTeams(entra=entra)) as fake:
        env = env_for(fake, entra, tmp_path, redis_url, TEAMS_TENANT_ID=TENANT, **credential)
        port = free_port()
        with ruhepuls_process(["serve"], {**env, "PORT": str(port)}, tmp_path / "serve.log"):
            base = f"http://127.0.0.1:{port}"
            wait_until_up(f"{base}/healthz", tmp_path / "serve.log")
            r = httpx.post(
                f"{base}/api/messages",
                json=activity(fake, "message", "entra-person", text="hallo"),
                headers={"Authorization": f"Bearer {fake.token()}"},
                timeout=10,
            )
            assert r.status_code == 200, r.text
            wait_for(lambda: fake.posts("a:chat-entra-person"), tmp_path / "serve.log")
        log = (tmp_path / "serve.log").read_text()
    assert all(entra.verifies(s.authorization.removeprefix("Bearer ")) for s in fake.sent)
    assert [i.grant for i in entra.issued] == grants, "one token, kept for the next card"
    assert {i.tenant for i in entra.issued} == {TENANT}, "asked in the bot's own tenant"
    assert entra.refused == [], "no other host, no refused request"
    assert SECRET not in log and "eyJ" not in log


def wait_for(predicate, log: Path, seconds: float = 20) -> None:
    import time

    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.05)


def doctor(env: dict[str, str]) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "bot", "doctor"], env=env, cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert out.returncode != 0, out.stdout
    return out.stdout + out.stderr


def test_doctor_says_what_entra_refused_and_what_to_fix(redis_url: str, tmp_path: Path) -> None:
    """Issue 24: `ruhepuls doctor` said "no Teams token (ValueError)" for every mistake a Teams
    admin makes while setting up; now it names Entra's error and the fix for that credential."""
    entra = FakeEntra(APP_ID, TENANT, secret=SECRET, identities={SYSTEM_IDENTITY})
    with EntraServer(entra, tmp_path), FakeTeamsServer(FakeTeams(entra=entra)) as fake:
        env = lambda **c: env_for(fake, entra, tmp_path, redis_url, **c)  # noqa: E731

        no_tenant = doctor(env(TEAMS_APP_PASSWORD=SECRET))
        assert "no Teams token could be acquired (Entra: unauthorized_client)" in no_tenant
        assert "set TEAMS_TENANT_ID to the bot's App Tenant ID" in no_tenant

        secret_id = doctor(env(TEAMS_TENANT_ID=TENANT, TEAMS_APP_PASSWORD="6f1c-secret-id"))
        assert "(Entra: invalid_client)" in secret_id and "the secret's Value" in secret_id
        assert "6f1c-secret-id" not in secret_id

        other_tenant = doctor(
            env(TEAMS_TENANT_ID="99999999-2222-4333-8444-555555555555", TEAMS_APP_PASSWORD=SECRET)
        )
        assert "Entra knows no app TEAMS_APP_ID in tenant TEAMS_TENANT_ID" in other_tenant

        not_federated = doctor(env(TEAMS_TENANT_ID=TENANT, TEAMS_MANAGED_IDENTITY="system"))
        assert "(Entra: invalid_client)" in not_federated and "Federated credentials" in not_federated

        not_on_host = doctor(env(TEAMS_TENANT_ID=TENANT, TEAMS_MANAGED_IDENTITY=USER_IDENTITY))
        assert "no managed-identity token on this host" in not_on_host

        for out in (no_tenant, secret_id, other_tenant, not_federated, not_on_host):
            assert SECRET not in out, "never the secret"
            finding = next(ln for ln in out.splitlines() if "no Teams token" in ln)
            assert "AADSTS" not in finding and "botframework.com" not in finding, "Entra's code, not its text"
    assert entra.refused.count("AADSTS700016") == 2 and "AADSTS7000215" in entra.refused
    assert "AADSTS70021" in entra.refused
