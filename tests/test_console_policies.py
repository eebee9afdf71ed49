"""Permissions > Policies in the console: the lists, Create Policy's JSON editor, a policy's
document, versions and references, granting a custom policy to a user, deleting it."""
from __future__ import annotations

import json
import re

from django.db import connection
from django.test.utils import CaptureQueriesContext

from ram.models import AuditEvent, Policy, PolicyAttachment, PolicyVersion

READERS = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": ["ram:GetUser", "ram:ListUsers"],
                                          "Resource": "*"}]}


def create(client, name="Readers", document=None, description="Reads users"):
    text = document if isinstance(document, str) else json.dumps(document or READERS, indent=2)
    return client.post("/policies/create", {"policy_name": name, "description": description, "document": text})


def test_the_policies_page_lists_system_and_custom_policies_by_type_and_search(client_as, demo):
    root = client_as("root")
    assert create(root).status_code == 302
    page = root.get("/policies/").content.decode()
    names = re.findall(r'<a href="/policies/(System|Custom)/([A-Za-z0-9-]+)/">', page)
    assert ("Custom", "Readers") in names and ("System", "AliyunRAMFullAccess") in names
    assert ("System", "AliyunSTSAssumeRoleAccess") in names
    assert 'class="active" aria-current="page">Policies</a>' in page or 'aria-current="page">Policies<' in page
    custom = root.get("/policies/?type=Custom").content.decode()
    assert re.findall(r'<a href="/policies/(?:System|Custom)/([A-Za-z0-9-]+)/">', custom) == ["Readers"]
    found = root.get("/policies/?q=readonly").content.decode()
    assert re.findall(r'<a href="/policies/(?:System|Custom)/([A-Za-z0-9-]+)/">', found) == \
        ["AliyunActionTrailReadOnlyAccess", "AliyunRAMReadOnlyAccess"]
    assert "No policy matches “nothing-like-it”." in root.get("/policies/?q=nothing-like-it").content.decode()


def test_the_policies_page_reads_in_a_fixed_number_of_queries(client_as, demo):
    root = client_as("root")
    root.get("/policies/")  # the session and the logon's first reads

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert root.get("/policies/").status_code == 200
        return len(captured)

    few = queries()
    for number in range(6):
        create(root, name=f"Policy-{number}")
    assert queries() == few


def test_create_policy_checks_the_document_and_creates_nothing_when_it_is_wrong(client_as, demo):
    root = client_as("root")
    for document, named in [
        ("{", "it is not valid JSON"),
        ('{"Version": "1"}', '"Statement" is missing'),
        (json.dumps({"Version": "1", "Statement": [{"Effect": "Allow", "Action": "ram:*",
                                                   "Resource": "user/alice"}]}), 'Statement[0].Resource "user/alice"'),
        (json.dumps({"Version": "1", "Statement": [{"Effect": "Allow", "Action": "ram:*", "Resource": "*",
                                                   "Condition": {"IpAddress": {"acs:SourceIp": "10.0.0.300"}}}]}),
         '"10.0.0.300" is not an IP address'),
    ]:
        response = create(root, document=document)
        page = response.content.decode()
        assert response.status_code == 400 and "The policy document is malformed" in page, document
        assert named.replace('"', "&#34;") in page or named.replace('"', "&quot;") in page or named in page, page
        assert "Reads users" in page  # what was typed is kept
    refused = create(root, name="bad name").content.decode()
    assert "contains invalid characters" in refused
    assert not Policy.objects.filter(account=demo).exists() and not PolicyVersion.objects.filter(
        policy__account=demo).exists()
    assert create(root).status_code == 302
    taken = create(root, name="READERS")
    assert taken.status_code == 400 and "already exists" in taken.content.decode()
    assert AuditEvent.objects.filter(action="CreatePolicy", target="Readers").count() == 1


def test_a_policy_page_shows_its_document_versions_and_references_and_its_versions_change(client_as, demo):
    root = client_as("root")
    response = create(root)
    assert response.url == "/policies/Custom/Readers/"
    page = root.get(response.url).content.decode()
    assert "&#34;ram:ListUsers&#34;" in page or "&quot;ram:ListUsers&quot;" in page
    assert "The policy is attached to no RAM user or role." in page
    newer = json.dumps({"Version": "1", "Statement": [{"Effect": "Allow", "Action": "ram:Get*", "Resource": "*"}]})
    assert root.post("/policies/Custom/Readers/versions/create", {"document": newer,
                                                                  "set_as_default": "on"}).status_code == 302
    policy = Policy.objects.get(account=demo, name="Readers")
    assert (policy.default_version, policy.document) == ("v2", json.loads(newer))
    root.post("/policies/Custom/Readers/versions/create", {"document": "{"})
    assert PolicyVersion.objects.filter(policy=policy).count() == 2  # the malformed one is refused
    root.post("/policies/Custom/Readers/versions/v1/default")
    assert Policy.objects.get(pk=policy.pk).default_version == "v1"
    refused = root.post("/policies/Custom/Readers/versions/v1/delete", follow=True).content.decode()
    assert "is the default of Readers" in refused
    root.post("/policies/Custom/Readers/versions/v2/delete")
    assert list(PolicyVersion.objects.filter(policy=policy).values_list("number", flat=True)) == [1]


def test_a_custom_policy_is_granted_in_the_permissions_tab_and_cannot_be_deleted_while_attached(client_as, demo):
    root = client_as("root")
    create(root)
    tab = root.get("/users/carol/permissions").content.decode()
    assert '<option value="Custom:Readers">Readers (Custom Policy)</option>' in tab
    assert root.post("/users/carol/policies/attach", {"policy_name": "Custom:Readers"}).status_code == 302
    assert PolicyAttachment.objects.filter(ram_user__user_name="carol", policy__name="Readers").exists()
    page = root.get("/policies/Custom/Readers/").content.decode()
    assert '<a href="/users/carol/permissions">carol</a>' in page
    refused = root.post("/policies/Custom/Readers/delete", follow=True).content.decode()
    assert "attached to RAM users: detach it first" in refused
    assert Policy.objects.filter(account=demo, name="Readers").exists()
    root.post("/users/carol/policies/detach", {"policy_name": "Readers", "policy_type": "Custom"})
    root.post("/policies/Custom/Readers/versions/create", {"document": json.dumps(READERS)})
    deleted = root.post("/policies/Custom/Readers/delete", follow=True)
    assert "The policy Readers is deleted." in deleted.content.decode()
    assert not Policy.objects.filter(account=demo, name="Readers").exists()  # with its versions


def test_who_may_see_and_change_policies(client_as, demo, make_account, cli):
    from ram.services import policy_create

    other = make_account("elsewhere")
    policy_create(actor=cli, account=other, policy_name="Theirs", document=READERS)
    root = client_as("root")
    assert root.get("/policies/Custom/Theirs/").status_code == 404  # another account's: not found
    assert root.get("/policies/Other/AliyunRAMFullAccess/").status_code == 404
    carol = client_as("carol")  # a RAM user holding AliyunRAMReadOnlyAccess
    assert carol.get("/policies/").status_code == 200
    assert "Create Policy" not in carol.get("/policies/").content.decode()
    assert carol.get("/policies/create").status_code == 403
    assert create(carol).status_code == 403
    assert not Policy.objects.filter(account=demo).exists()
