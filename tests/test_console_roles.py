"""Identities > Roles in the console: the list, Create Role for the account and for a service
(the trust policy each writes), a role's permissions, trust policy, settings and sessions,
deleting it, and who may do what."""
from __future__ import annotations

import json
import re
from datetime import timedelta

from django.utils import timezone

from ram.models import AuditEvent, Role, RolePolicyAttachment, StsSession


def create(client, **fields):
    data = {"trusted_entity": "account", "account": "current", "role_name": "Developers", "description": "Devs",
            "max_session_duration": "3600", **fields}
    return client.post("/roles/create", data)


def test_create_a_role_for_the_account_and_one_for_a_service(client_as, demo):
    root = client_as("root")
    page = root.get("/roles/").content.decode()
    assert "No RAM roles yet." in page and 'aria-current="page">Roles</a>' in page
    response = create(root)
    assert (response.status_code, response.url) == (302, "/roles/Developers/trust")
    role = Role.objects.get(account=demo, role_name="Developers")
    assert role.trust_policy["Statement"][0]["Principal"] == {"RAM": [f"acs:ram::{demo.uid}:root"]}
    trust_page = root.get(response.url).content.decode()
    assert f"acs:ram::{demo.uid}:root" in trust_page and role.arn in trust_page
    ecs = create(root, trusted_entity="service", service="ecs.aliyuncs.com", role_name="EcsReader",
                 max_session_duration="7200")
    assert ecs.status_code == 302
    ecs_role = Role.objects.get(account=demo, role_name="EcsReader")
    assert ecs_role.trust_policy["Statement"][0]["Principal"] == {"Service": ["ecs.aliyuncs.com"]}
    assert ecs_role.max_session_duration == 7200
    other = create(root, account="other", other_uid="1234567890123456", role_name="Partner")
    assert other.status_code == 302
    assert Role.objects.get(role_name="Partner").trust_policy["Statement"][0]["Principal"] == {
        "RAM": ["acs:ram::1234567890123456:root"]}
    listed = root.get("/roles/").content.decode()
    assert re.findall(r'<a href="/roles/([A-Za-z0-9.-]+)/">', listed) == ["Developers", "EcsReader", "Partner"]
    assert re.findall(r'<a href="/roles/([A-Za-z0-9.-]+)/">', root.get("/roles/?q=ecs").content.decode()) == [
        "EcsReader"]
    assert AuditEvent.objects.filter(action="CreateRole").count() == 3


def test_create_role_refuses_bad_input_and_creates_nothing(client_as, demo):
    root = client_as("root")
    for fields, message in [
        ({"role_name": "bad name"}, "contains invalid characters"),
        ({"role_name": "ab." * 22}, "at most 64 characters"),
        ({"max_session_duration": "600"}, "greater than or equal to 3600"),
        ({"max_session_duration": "43201"}, "less than or equal to 43200"),
        ({"account": "other", "other_uid": ""}, "Enter the account&#x27;s 16-digit UID."),
        ({"account": "other", "other_uid": "12345"}, "Enter the account&#x27;s 16-digit UID."),
        ({"trusted_entity": "service", "service": "evil.example.com"}, "Select a valid choice."),
    ]:
        response = create(root, **fields)
        page = response.content.decode()
        assert response.status_code == 400, fields
        assert message in page or message.replace("&#x27;", "'") in page or message.replace("&#x27;", "&#39;") in page, \
            (fields, page[page.find("invalid-feedback"):][:300])
    assert not Role.objects.filter(account=demo).exists()
    create(root)
    taken = create(root, role_name="developers")
    assert taken.status_code == 400 and "already exists" in taken.content.decode()


def test_a_roles_permissions_trust_policy_and_settings_change_from_its_page(client_as, demo):
    root = client_as("root")
    create(root)
    tab = root.get("/roles/Developers/permissions").content.decode()
    assert "No policies are attached" in tab and '<option value="System:AliyunRAMReadOnlyAccess">' in tab
    assert root.post("/roles/Developers/change/attach", {"policy_name": "System:AliyunRAMReadOnlyAccess"}).status_code == 302
    assert RolePolicyAttachment.objects.filter(role__role_name="Developers").count() == 1
    refused = root.post("/roles/Developers/delete", follow=True).content.decode()
    assert "still has policies attached" in refused and Role.objects.filter(role_name="Developers").exists()
    root.post("/roles/Developers/change/detach", {"policy_name": "System:AliyunRAMReadOnlyAccess"})
    assert not RolePolicyAttachment.objects.exists()

    services = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                               "Principal": {"Service": ["fc.aliyuncs.com"]}}]}
    root.post("/roles/Developers/change/trust", {"trust_policy": json.dumps(services)})
    assert Role.objects.get(role_name="Developers").trust_policy == services
    bad = root.post("/roles/Developers/change/trust", {"trust_policy": '{"Version": "1"}'}, follow=True)
    assert "The policy document is malformed" in bad.content.decode()
    assert Role.objects.get(role_name="Developers").trust_policy == services  # unchanged
    root.post("/roles/Developers/change/settings", {"description": "Developers' role", "max_session_duration": "43200"})
    role = Role.objects.get(role_name="Developers")
    assert (role.description, role.max_session_duration) == ("Developers' role", 43200)
    root.post("/roles/Developers/change/settings", {"description": "", "max_session_duration": "100"})
    assert Role.objects.get(role_name="Developers").max_session_duration == 43200
    assert root.post("/roles/Developers/change/purge", {}).status_code == 404


def test_the_sessions_tab_shows_who_assumed_the_role_and_deleting_it_ends_them(client_as, demo, cli):
    from ram.policy import Principal
    from ram.services import policy_attach, role_create, sts_assume_role

    role = role_create(actor=cli, account=demo, role_name="Ops", trust_policy={"Version": "1", "Statement": [
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"RAM": [demo.uid]}}]})
    alice = demo.ram_users.get(user_name="alice")
    policy_attach(actor=cli, ram_user=alice, policy_name="AliyunSTSAssumeRoleAccess")
    issued = sts_assume_role(actor=Principal.for_ram_user(alice), role_arn_text=role.arn, session_name="alice-laptop")
    StsSession.objects.create(access_key_id="STS." + "o" * 28, secret_sealed=b"x", seal_version=1, token_digest="0" * 64,
                              role=role, session_name="old-one", assumed_by="acs:ram::x:user/bob",
                              expires_at=timezone.now() - timedelta(hours=1))
    root = client_as("root")
    page = root.get("/roles/Ops/sessions").content.decode()
    assert "alice-laptop" in page and f"acs:ram::{demo.uid}:user/alice" in page and "Active" in page
    assert "old-one" in page and "Expired" in page
    assert issued.secret not in page and issued.security_token not in page
    deleted = root.post("/roles/Ops/delete", follow=True).content.decode()
    assert "The role Ops is deleted" in deleted
    assert not StsSession.objects.exists()


def test_who_may_see_and_change_roles(client_as, demo, make_account, cli):
    from ram.services import role_create

    other = make_account("elsewhere")
    role_create(actor=cli, account=other, role_name="Theirs", trust_policy={"Version": "1", "Statement": [
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"RAM": [other.uid]}}]})
    root = client_as("root")
    assert root.get("/roles/Theirs/").status_code == 404
    assert root.get("/roles/Theirs/trust").status_code == 404
    carol = client_as("carol")  # AliyunRAMReadOnlyAccess
    assert carol.get("/roles/").status_code == 200
    assert "Create Role" not in carol.get("/roles/").content.decode()
    assert carol.get("/roles/create").status_code == 403
    assert create(carol).status_code == 403
    assert not Role.objects.filter(account=demo).exists()
