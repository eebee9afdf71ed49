"""Roles and policies in Chinese where the page test cannot reach: Create Policy refusing a malformed
document, Create Role's form errors, the system policies' descriptions; and the OpenAPI answering
the same refusals in English right after, whatever language the console was just in."""
from __future__ import annotations

import json
from html import unescape

import pytest

from ram.models import Role
from ram.services import access_key_create

from .api_helpers import send, v1_call
from .zh_hans import english_in

# Statement[0].Condition.IpAddress.acs:SourceIp holds a value that is no address.
NOT_AN_ADDRESS = json.dumps({"Version": "1", "Statement": [{
    "Effect": "Allow", "Action": "ram:GetUser", "Resource": "*",
    "Condition": {"IpAddress": {"acs:SourceIp": "not-an-ip"}}}]})
ELEMENT = "Statement[0].Condition.IpAddress.acs:SourceIp"


@pytest.fixture
def root_key(demo, cli):
    issued = access_key_create(actor=cli, owner=demo)
    return issued.access_key.access_key_id, issued.secret


def _api(client, key, action: str, **params: str) -> dict:
    key_id, secret = key
    return json.loads(send(client, v1_call(action, params, key_id=key_id, secret=secret)).content)


def test_a_malformed_document_is_refused_in_chinese_naming_its_element_and_in_english_by_the_api(root_in_chinese, root_key):
    page = root_in_chinese.post("/policies/create", {"policy_name": "Office", "description": "",
                                             "document": NOT_AN_ADDRESS})
    html = unescape(page.content.decode())
    assert page.status_code == 400
    assert f'策略内容格式错误：{ELEMENT}："not-an-ip" 不是 IP 地址或 CIDR 地址块。' in html
    assert english_in(page.content.decode().split("<main", 1)[-1]) == []

    answer = _api(root_in_chinese, root_key, "CreatePolicy", PolicyName="Office", PolicyDocument=NOT_AN_ADDRESS)
    assert answer["Code"] == "MalformedPolicyDocument"
    assert answer["Message"] == (f'The policy document is malformed: {ELEMENT}: "not-an-ip" is not an IP address '
                                 "or CIDR block.")
    assert answer["Recommend"].startswith("Check the document against the policy structure")

    again = root_in_chinese.post("/policies/create", {"policy_name": "Office", "description": "", "document": "{"})
    assert "策略内容格式错误：不是有效的 JSON（第 1 行第 2 列：" in unescape(again.content.decode())


def test_create_role_says_what_is_wrong_in_chinese(root_in_chinese, demo):
    other_account_without_uid = root_in_chinese.post("/roles/create", {
        "trusted_entity": "account", "account": "other", "other_uid": "", "role_name": "Deployer",
        "max_session_duration": "100"})
    html = unescape(other_account_without_uid.content.decode())
    assert other_account_without_uid.status_code == 400
    assert "请输入该账号的 16 位 UID。" in html
    assert "3600" in html and "Ensure this value" not in html  # Django's own message, in its Chinese
    assert english_in(other_account_without_uid.content.decode().split("<main", 1)[-1]) == []

    bad_name = root_in_chinese.post("/roles/create", {"trusted_entity": "account", "account": "current",
                                              "role_name": "..", "max_session_duration": "3600"})
    assert "参数 RoleName 含有非法字符：只能使用英文字母、数字、半角句号（.）和短划线（-），且不能仅为 . 或 ..。" in \
        unescape(bad_name.content.decode())

    assert root_in_chinese.post("/roles/create", {"trusted_entity": "service", "service": "ecs.aliyuncs.com",
                                          "role_name": "Deployer", "max_session_duration": "3600"}).status_code == 302
    taken = root_in_chinese.post("/roles/create", {"trusted_entity": "service", "service": "ecs.aliyuncs.com",
                                           "role_name": "deployer", "max_session_duration": "3600"})
    assert "当前账号下已存在角色 deployer。" in taken.content.decode()
    assert Role.objects.filter(account=demo).count() == 1


def test_system_policies_are_described_in_chinese_in_the_console_and_in_english_by_the_api(root_in_chinese, root_key):
    listed = root_in_chinese.get("/policies/?type=System").content.decode()
    assert "只读访问访问控制（RAM）的权限，即查看用户、组以及授权信息的权限" in listed
    assert "调用 STS 服务 AssumeRole 接口的权限" in listed
    assert "Provides" not in listed

    answer = _api(root_in_chinese, root_key, "GetPolicy", PolicyName="AliyunRAMReadOnlyAccess", PolicyType="System")
    assert answer["Policy"]["Description"] == "Provides read-only access to Resource Access Management (RAM)."
