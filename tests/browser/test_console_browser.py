"""Console walkthroughs in headless Chromium: logon, navigation, AccessKey lifecycle, profile menu."""
import re

import pytest
from playwright.sync_api import expect

from ram.models import AccessKey

from .conftest import log_on

pytestmark = pytest.mark.browser


def test_root_finds_bob_disables_and_deletes_a_key_and_can_create_again(page, demo_site, shot):
    log_on(page, demo_site, "owner@demo.example", "demo-owner")
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    shot("overview")

    page.get_by_role("navigation", name="RAM navigation").get_by_role("link", name="Users").click()
    expect(page.get_by_role("heading", name="Users")).to_be_visible()
    shot("users")
    page.get_by_role("link", name="bob@demo.onaliyun.com").click()
    expect(page.get_by_role("link", name="Authentication")).to_have_attribute("aria-current", "page")
    rows = page.locator("tr[data-access-key]")
    expect(rows).to_have_count(2)
    create = page.get_by_role("button", name="Create AccessKey")
    expect(create).to_be_disabled()
    expect(page.get_by_text("A RAM user can have at most 2 AccessKey pairs.")).to_be_visible()
    shot("bob-at-quota")

    key_id = rows.first.get_attribute("data-access-key")
    rows.first.get_by_role("button", name="Disable").click()
    expect(page.get_by_text(f"The AccessKey {key_id} is disabled.")).to_be_visible()
    row = page.locator(f'tr[data-access-key="{key_id}"]')
    expect(row.get_by_text("Inactive")).to_be_visible()
    shot("disabled")

    row.get_by_role("link", name="Delete").click()
    dialog = page.locator("#console-modal .console-dialog")
    expect(dialog.get_by_role("heading", name="Delete AccessKey")).to_be_visible()
    delete = dialog.get_by_role("button", name="Move to Recycle Bin")
    expect(delete).to_be_disabled()
    dialog.get_by_label("Enter the AccessKey ID to confirm").fill(key_id[:-1])
    expect(delete).to_be_disabled()
    shot("delete-dialog-mistyped")
    dialog.get_by_label("Enter the AccessKey ID to confirm").fill(key_id)
    expect(delete).to_be_enabled()
    delete.click()
    expect(page.get_by_text(f"The AccessKey {key_id} is deleted.")).to_be_visible()
    expect(page.locator("tr[data-access-key]")).to_have_count(1)
    expect(page.get_by_role("link", name="Create AccessKey")).to_be_enabled()
    recycled = page.locator(f'tr[data-recycled-key="{key_id}"]')
    expect(recycled).to_be_visible()
    recycled.scroll_into_view_if_needed()
    shot("deleted-in-the-recycle-bin")
    assert not AccessKey.objects.filter(access_key_id=key_id).exists()

    recycled.get_by_role("button", name="Restore").click()
    expect(page.get_by_text(f"The AccessKey {key_id} is restored. It is Inactive")).to_be_visible()
    expect(page.locator(f'tr[data-access-key="{key_id}"]').get_by_text("Inactive")).to_be_visible()
    expect(page.locator("tr[data-recycled-key]")).to_have_count(0)
    shot("restored")

    page.locator(f'tr[data-access-key="{key_id}"]').get_by_role("link", name="Delete").click()
    page.locator("#console-modal").get_by_label("Enter the AccessKey ID to confirm").fill(key_id)
    page.locator("#console-modal").get_by_role("button", name="Move to Recycle Bin").click()
    page.locator(f'tr[data-recycled-key="{key_id}"]').get_by_role("link", name="Delete").click()
    dialog = page.locator("#console-modal .console-dialog")
    expect(dialog.get_by_role("heading", name="Delete AccessKey Pair Permanently")).to_be_visible()
    dialog.get_by_label("Enter the AccessKey ID to confirm").fill(key_id)
    shot("delete-permanently-dialog")
    dialog.get_by_role("button", name="Delete").click()
    expect(page.get_by_text(f"The AccessKey {key_id} is deleted permanently.")).to_be_visible()
    expect(page.locator("tr[data-recycled-key]")).to_have_count(0)


def test_delete_works_without_javascript_as_a_dialog_page(new_context, demo_site, shot):
    page = new_context(java_script_enabled=False).new_page()  # closed after the test, pass or fail
    log_on(page, demo_site, "owner@demo.example", "demo-owner")
    page.goto(f"{demo_site}/users/bob/")
    key_id = page.locator("tr[data-access-key]").first.get_attribute("data-access-key")
    page.locator(f'tr[data-access-key="{key_id}"]').get_by_role("button", name="Disable").click()
    page.locator(f'tr[data-access-key="{key_id}"]').get_by_role("link", name="Delete").click()
    expect(page.get_by_role("dialog")).to_be_visible()
    page.get_by_label("Enter the AccessKey ID to confirm").fill("not-the-id")
    page.get_by_role("button", name="Move to Recycle Bin").click()
    expect(page.get_by_text("The AccessKey ID you entered does not match.")).to_be_visible()
    page.get_by_label("Enter the AccessKey ID to confirm").fill(key_id)
    page.get_by_role("button", name="Move to Recycle Bin").click()
    expect(page.get_by_text(f"The AccessKey {key_id} is deleted.")).to_be_visible()


def test_an_access_key_is_refused_on_the_logon_page(page, demo_site, shot):
    log_on(page, demo_site, "LTAI5tAbcdefghijklmnop12", "whatever-secret")
    expect(page.get_by_role("alert")).to_have_text(re.compile("An AccessKey pair cannot be used to log on to the console"))
    expect(page).to_have_url(re.compile(r"/login$"))
    shot("refused")


def test_ram_user_logs_on_and_sees_not_authorized_for_others(page, demo_site, shot):
    log_on(page, demo_site, "alice@demo.onaliyun.com", "demo-alice")
    expect(page.locator(".console-account")).to_have_text("demo")
    page.goto(f"{demo_site}/users/bob/")
    expect(page.get_by_role("heading", name=re.compile("You are not authorized"))).to_be_visible()
    shot("not-authorized")
    page.locator(".console-avatar").hover()
    page.get_by_role("menuitem", name="AccessKey").click()
    expect(page.get_by_text("does not allow RAM users to manage their own AccessKey pairs")).to_be_visible()
    shot("own-keys-not-allowed")


def test_profile_menu_opens_on_hover_and_on_keyboard(page, demo_site, shot):
    log_on(page, demo_site, "owner@demo.example", "demo-owner")
    menu = page.locator("#profile-menu")
    expect(menu).to_be_hidden()
    page.locator(".console-avatar").hover()
    expect(menu).to_be_visible()
    expect(menu.get_by_role("menuitem", name="AccessKey")).to_be_visible()
    shot("hover")
    page.mouse.move(400, 400)
    expect(menu).to_be_hidden()

    page.locator(".console-avatar").focus()
    expect(menu).to_be_visible()
    expect(page.locator(".console-avatar")).to_have_attribute("aria-expanded", "true")
    page.keyboard.press("Tab")
    expect(menu.get_by_role("menuitem", name="AccessKey")).to_be_focused()
    shot("keyboard")
    page.keyboard.press("Escape")
    expect(menu).to_be_hidden()
    expect(page.locator(".console-avatar")).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(menu.get_by_role("menuitem", name="AccessKey")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Main Account AccessKey is not recommended")).to_be_visible()


def test_create_user_in_a_dialog(page, demo_site, shot):
    log_on(page, demo_site, "admin@demo.onaliyun.com", "demo-admin")
    page.goto(f"{demo_site}/users/")
    page.get_by_role("link", name="Create User").click()
    dialog = page.locator("#console-modal .console-dialog")
    dialog.get_by_label("Logon Name").fill("bad name")
    dialog.get_by_label("Display Name").fill("Dana")
    shot("create-user-dialog")
    dialog.get_by_role("button", name="OK").click()
    expect(page.get_by_text("contains invalid characters")).to_be_visible()
    page.get_by_label("Logon Name").fill("dana")
    page.get_by_role("button", name="OK").click()
    expect(page.get_by_role("heading", name="dana")).to_be_visible()
    shot("created")


def test_root_writes_a_custom_policy_in_the_editor_and_grants_it(page, demo_site, shot):
    """Permissions > Policies: a malformed document is refused naming what is wrong, the fixed one
    is saved, shown, and granted to a user from the Permissions tab."""
    log_on(page, demo_site, "owner@demo.example", "demo-owner")
    page.get_by_role("navigation", name="RAM navigation").get_by_role("link", name="Policies").click()
    expect(page.get_by_role("heading", name="Policies")).to_be_visible()
    expect(page.get_by_role("link", name="AliyunSTSAssumeRoleAccess")).to_be_visible()
    shot("policies")
    page.get_by_role("link", name="Create Policy").click()
    page.get_by_label("Policy Name").fill("ReadUsers")
    page.get_by_label("Note").fill("Reads RAM users")
    editor = page.get_by_label("Policy Document")
    editor.fill('{"Version": "1", "Statement": [{"Effect": "Allow", "Action": "ram:GetUser", "Resource": "users"}]}')
    page.get_by_role("button", name="OK").click()
    expect(page.get_by_text('Statement[0].Resource "users" is not a resource')).to_be_visible()
    shot("create-policy-malformed")
    editor = page.get_by_label("Policy Document")
    editor.fill('{"Version": "1", "Statement": [{"Effect": "Allow", "Action": ["ram:GetUser", "ram:ListUsers"], '
                '"Resource": "*"}]}')
    page.get_by_role("button", name="OK").click()
    expect(page.get_by_text("The policy ReadUsers is created.")).to_be_visible()
    expect(page.get_by_role("heading", name="ReadUsers")).to_be_visible()
    shot("policy-detail")
    page.goto(f"{demo_site}/users/carol/permissions")
    page.get_by_label("Grant Permission").select_option("Custom:ReadUsers")
    page.get_by_role("button", name="Grant Permission").click()
    expect(page.get_by_text("ReadUsers is attached to carol.")).to_be_visible()
    shot("custom-policy-granted")


def test_the_dialogs_advice_leads_to_a_role_for_ecs_which_the_root_creates_and_grants(page, demo_site, shot):
    """Create AccessKey's safer alternative for an application on Alibaba Cloud links to Create
    Role, prefilled for ECS; the role is created, shows its trust policy, and is granted a policy."""
    from ram.models import Role

    log_on(page, demo_site, "owner@demo.example", "demo-owner")
    page.goto(f"{demo_site}/users/alice/")
    page.get_by_role("link", name="Create AccessKey").click()
    dialog = page.get_by_role("dialog")
    page.get_by_label("Application on Alibaba Cloud (ECS, ECI, Function Compute, ACK)").check()
    link = dialog.get_by_role("link", name="Create a RAM role for ECS")
    expect(link).to_be_visible()
    shot("scenario-alternative-link")
    link.click()
    expect(page.get_by_role("heading", name="Create Role")).to_be_visible()
    expect(page.get_by_label("Alibaba Cloud Service")).to_be_checked()
    expect(page.get_by_label("Trusted Service")).to_have_value("ecs.aliyuncs.com")
    page.get_by_label("Role Name").fill("EcsReader")
    page.get_by_label("Note").fill("ECS instances read RAM")
    shot("create-role-for-ecs")
    page.get_by_role("button", name="OK").click()
    expect(page.get_by_text("The role EcsReader is created.")).to_be_visible()
    expect(page.get_by_role("link", name="Trust Policy")).to_have_attribute("aria-current", "page")
    expect(page.locator("pre.console-code").first).to_contain_text('"ecs.aliyuncs.com"')
    shot("role-trust-policy")
    page.get_by_role("link", name="Permissions").click()
    page.get_by_label("Grant Permission").select_option("System:AliyunRAMReadOnlyAccess")
    page.get_by_role("button", name="Grant Permission").click()
    expect(page.get_by_text("EcsReader: AliyunRAMReadOnlyAccess is attached to it.")).to_be_visible()
    shot("role-permissions")
    role = Role.objects.get(role_name="EcsReader")
    assert role.trust_policy["Statement"][0]["Principal"] == {"Service": ["ecs.aliyuncs.com"]}
    assert list(role.policy_attachments.values_list("policy__name", flat=True)) == ["AliyunRAMReadOnlyAccess"]
    page.get_by_role("navigation", name="RAM navigation").get_by_role("link", name="Roles").click()
    expect(page.get_by_role("link", name="EcsReader")).to_be_visible()
    shot("roles")


def test_root_fences_a_key_to_one_network_and_sets_the_accounts_policy(page, demo_site, shot):
    """Network ACL on a key's row: the dialog, a mistyped block refused with the reason, the ID typed
    to confirm; then Settings > Security settings > the account's policy."""
    log_on(page, demo_site, "owner@demo.example", "demo-owner")
    page.goto(f"{demo_site}/users/bob/authentication")
    key_id = page.locator("tr[data-access-key]").first.get_attribute("data-access-key")
    page.locator(f'tr[data-access-key="{key_id}"]').get_by_role("link", name="Network ACL").click()
    dialog = page.locator("#console-modal .console-dialog")
    expect(dialog.get_by_role("heading", name="AccessKey Network Access Policy")).to_be_visible()
    dialog.get_by_label("Public network IP addresses").fill("192.0.2.0/33")
    ok = dialog.get_by_role("button", name="OK")
    expect(ok).to_be_disabled()  # until the AccessKey ID is typed
    dialog.get_by_label("Enter the AccessKey ID to confirm").fill(key_id)
    expect(ok).to_be_enabled()
    ok.click()
    expect(page.get_by_text("192.0.2.0/33 is not an IP address or CIDR block")).to_be_visible()
    shot("network-acl-refused")
    page.get_by_label("Public network IP addresses").fill("192.0.2.0/24\n2001:db8::/32")
    page.get_by_label("Enter the AccessKey ID to confirm").fill(key_id)
    page.get_by_role("button", name="OK").click()
    expect(page.get_by_text(f"The network access policy of the AccessKey {key_id} is saved.")).to_be_visible()
    expect(page.locator(f'tr[data-access-key="{key_id}"]').get_by_role("link", name="Network ACL On")).to_be_visible()
    shot("network-acl-on")
    assert AccessKey.objects.get(access_key_id=key_id).network_policy["Statements"][0]["IPList"] == \
        ["192.0.2.0/24", "2001:db8::/32"]

    page.goto(f"{demo_site}/security-settings")
    expect(page.locator("[data-account-network-policy]")).to_have_text("Not applied")
    page.get_by_role("link", name="Edit Policy").click()
    dialog = page.locator("#console-modal .console-dialog")
    expect(dialog.get_by_role("heading", name="Account AccessKey Network Access Policy")).to_be_visible()
    dialog.get_by_label("Public network IP addresses").fill("203.0.113.0/24")
    shot("account-policy-dialog")
    dialog.get_by_role("button", name="OK").click()
    expect(page.get_by_text("The network access policy of the account's AccessKey pairs is saved.")).to_be_visible()
    expect(page.locator("[data-account-network-policy]")).to_have_text("Active")
    shot("account-policy-active")


def test_root_reads_where_a_key_is_used_before_retiring_it(page, demo_site, shot):
    """AccessKey Audit (navigation) shows calls per day by key; a key's Usage dialog its addresses
    and actions; the counts are the server's own (bob's key used through the API first)."""
    from datetime import UTC, datetime, timedelta

    from ram.models import AccessKeyUsage

    key = AccessKey.objects.filter(ram_user__user_name="bob").order_by("pk").first()
    now = datetime.now(UTC)
    for age, calls, address in ((0, 12, "192.0.2.10"), (1, 40, "192.0.2.10"), (2, 25, "198.51.100.7"),
                                (5, 60, "192.0.2.10"), (6, 8, "203.0.113.4")):
        at = now - timedelta(days=age)
        AccessKeyUsage.objects.create(access_key_id=key.access_key_id, account_uid=key.account.uid, day=at.date(),
                                      service="ecs" if age % 2 else "ram", action="DescribeInstances" if age % 2
                                      else "ListUsers", source_ip=address, calls=calls, first_used_at=at,
                                      last_used_at=at)
    log_on(page, demo_site, "owner@demo.example", "demo-owner")
    page.get_by_role("navigation", name="RAM navigation").get_by_role("link", name="AccessKey Audit").click()
    expect(page.get_by_role("heading", name="AccessKey Audit")).to_be_visible()
    expect(page.locator("[data-total-calls]")).to_have_text("(145 calls)")
    expect(page.locator(f'tr[data-usage-key="{key.access_key_id}"]')).to_be_visible()
    shot("audit-page")
    page.locator(f'tr[data-usage-key="{key.access_key_id}"]').get_by_role("link", name="Usage").click()
    dialog = page.locator("#console-modal .console-dialog")
    expect(dialog.get_by_role("heading", name="AccessKey Usage")).to_be_visible()
    expect(dialog.locator('tr[data-source-ip="198.51.100.7"]')).to_be_visible()
    expect(dialog.locator('tr[data-action="ecs:DescribeInstances"]')).to_contain_text("100")
    shot("key-usage-dialog")
