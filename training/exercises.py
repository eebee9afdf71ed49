"""The training exercises: the steps of the seed document, where to click, and why each exists.

A step is done by a rule over what the trainee actually did: an audit event of their sandbox
(``event``), or a console page the server saw them open (``visit``). A step whose later step is
done is done too, so progress never runs backwards when the trainee takes a shortcut.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

from ram.models import RAM_USER_KEY_QUOTA, ROOT_KEY_QUOTA


@dataclass(frozen=True)
class Step:
    key: str
    text: str          # the seed document's wording
    where: str         # where to click, in this console
    why: str = ""      # why the step (or its safety rule) exists
    event: str = ""    # audit action that completes the step
    event_owner: str = ""  # "root" or "user": which owner a CreateAccessKey must have
    event_detail: dict = field(default_factory=dict)
    visit: tuple[str, ...] = ()  # URL names whose visit completes the step
    after_previous_event: bool = False  # done once a page is opened after the previous step's event
    cancel_of: str = ""  # done by a visit of ``visit`` after this step key's visit, with no key created
    # A run's own names: "{name}" in ``visit`` (after a colon), ``event_detail`` values and
    # ``event_target``, ``event_source_ip`` stand for the run's StartExercise detail[name] (the drill's leaked key,
    # its owner, its program's address).
    event_target: str = ""  # the event's target must be this
    event_error: str = ""  # the event's error code must be this (a refusal)
    event_source_ip: str = ""  # the event's source address must be this (the drill's program, not anyone)
    event_after_previous: bool = False  # the event must come after the previous step was done


@dataclass(frozen=True)
class Exercise:
    key: str
    title: str
    summary: str
    steps: tuple[Step, ...]
    # The RAM user the exercise is about not giving a key: a key for it is the run's mistake.
    avoid_key_for: str = ""


LEAKED_KEY = "leaked-key"  # the leaked-key drill (training.drill sets it up when it starts)

# The quotas' sentences, in the language of the page that shows them (``rule`` translates when read).
RAM_USER_KEY_RULE = lazy(lambda: RAM_USER_KEY_QUOTA.rule, str)()
ROOT_KEY_RULE = lazy(lambda: ROOT_KEY_QUOTA.rule, str)()

WHY_SECRET_ONCE = _("The AccessKey secret is shown only once, at creation time. Save it immediately: it "
                    "cannot be retrieved later.")
WHY_ROOT = _("Avoid creating AccessKey pairs for your Alibaba Cloud account. A leaked credential exposes all "
             "resources under the account. Use a RAM user with scoped permissions instead.")

EXERCISES: dict[str, Exercise] = {e.key: e for e in (
    Exercise(
        key="ram-user-key",
        title=_("Create an AccessKey pair for a RAM user"),
        summary=_("The recommended way: a RAM user with scoped permissions, at most two keys each."),
        steps=(
            Step("logon", _("Log on to the RAM console."), _("You are logged on to your sandbox account."),
                 _("An AccessKey pair cannot be used to log on to the console: you log on with a password."),
                 event="ConsoleLogin"),
            Step("users", _("In the left-side navigation pane, choose Identities > Users."),
                 _("Left navigation: Identities › Users."), visit=("user_list",)),
            Step("user", _("On the Users page, click the username of the RAM user."),
                 _("Click app-server@… in the Username column."),
                 RAM_USER_KEY_RULE, visit=("user_detail", "user_tab")),
            Step("create", _("On the Authentication tab, go to the AccessKey section and click Create AccessKey."),
                 _("Authentication tab › AccessKey section › Create AccessKey."), visit=("access_key_create",)),
            Step("scenario", _("Review the credential options for your use case. If an AccessKey pair is required, "
                               "select a scenario, select I confirm that it is necessary to create an AccessKey, "
                               "and click Continue."),
                 _("Pick the scenario, read its safer alternative, confirm, Continue."),
                 _("Temporary credentials (such as RAM roles) are more secure than long-term AccessKey pairs."),
                 event="CreateAccessKey", event_owner="user"),
            Step("save", _("In the Create AccessKey dialog box, copy and save both the AccessKey ID and AccessKey "
                           "secret, then click OK."), _("Copy both values (or Download CSV File), then OK."),
                 WHY_SECRET_ONCE, after_previous_event=True),
        ),
    ),
    Exercise(
        key="root-key",
        title=_("Create an AccessKey pair for an Alibaba Cloud account"),
        summary=_("Not recommended: see why, and how the console makes you confirm it twice."),
        steps=(
            Step("logon", _("Log on to the Alibaba Cloud Management Console with your Alibaba Cloud account."),
                 _("You are logged on with your sandbox's account (root) logon."), event="ConsoleLogin"),
            Step("menu", _("In the upper-right corner, move the pointer over your profile picture and click AccessKey."),
                 _("Top right: hover the round profile picture, then AccessKey."), WHY_ROOT,
                 visit=("root_access_keys",)),
            Step("acknowledge", _("In the Main Account AccessKey is not recommended dialog box, select I am aware of "
                                  "the security risks of using a main account AccessKey, then click use Main Account "
                                  "AccessKey."), _("Tick the checkbox, then use Main Account AccessKey."),
                 _("A main account AccessKey has full permissions on all resources and cannot be restricted."),
                 event="AcknowledgeRootAccessKeyRisk"),
            Step("create", _("On the AccessKey page, click Create AccessKey."), _("AccessKey page › Create AccessKey."),
                 ROOT_KEY_RULE, visit=("root_access_key_create",)),
            Step("confirm", _("In the Create Main Account AccessKey dialog box, select I am aware of the security risks "
                              "of using a main account AccessKey, then click use Main Account AccessKey."),
                 _("Confirm the risk a second time."), event="CreateAccessKey", event_owner="root"),
            Step("save", _("In the Create AccessKey dialog box, copy and save both the AccessKey ID and AccessKey "
                           "secret, select I have saved the AccessKey Secret, then click OK."),
                 _("Save both values, tick I have saved the AccessKey Secret, OK."), WHY_SECRET_ONCE,
                 event="ConfirmAccessKeySecretSaved"),
        ),
    ),
    Exercise(
        key="disable-delete",
        title=_("Disable and delete an AccessKey"),
        summary=_("Retire a key safely: disable it first, watch for failures, then delete it."),
        steps=(
            Step("user", _("Choose Identities > Users and click ci-runner."), _("Users › ci-runner@… › Authentication."),
                 visit=("user_detail", "user_tab")),
            Step("disable", _("In the AccessKey section, click Disable for its AccessKey."),
                 _("Actions column › Disable."),
                 _("A disabled key stops working at once but can be enabled again if a program still needed it."),
                 event="UpdateAccessKey", event_detail={"to": "Inactive"}),
            Step("delete", _("Click Delete, type the AccessKey ID to confirm, and click Move to Recycle Bin."),
                 _("Actions column › Delete › type the ID › Move to Recycle Bin."),
                 _("Only an Inactive key can be deleted. It waits in the recycle bin, where it can be restored, "
                   "until it is deleted permanently."),
                 event="DeleteAccessKey"),
        ),
    ),
    Exercise(
        key="prefer-role",
        title=_("Prefer a RAM role"),
        summary=_("app-server needs to read the account's RAM users: give it a RAM role and temporary STS "
                  "credentials instead of a long-term AccessKey pair."),
        avoid_key_for="app-server",
        steps=(
            Step("open", _("Open app-server's Authentication tab and click Create AccessKey."),
                 _("Users › app-server@… › Create AccessKey."), visit=("access_key_create",)),
            Step("cancel", _("Select a scenario, read its safer alternative, and click Cancel: app-server will use a "
                             "RAM role, not an AccessKey pair."),
                 _("The recommendation appears under the scenarios; Cancel is at the bottom of the dialog."),
                 _("Temporary credentials (such as RAM roles) are more secure than long-term AccessKey pairs."),
                 visit=("user_detail", "user_tab"), cancel_of="open"),
            Step("role", _("Choose Identities > Roles and click Create Role. Select Alibaba Cloud Account, keep "
                           "Current Alibaba Cloud Account, name the role app-server-role and click OK."),
                 _("Left navigation: Identities › Roles › Create Role."),
                 _("The trust policy says who may assume the role: here, RAM users of this account whose own "
                   "policies allow sts:AssumeRole."),
                 event="CreateRole"),
            Step("grant-role", _("On the role's Permissions tab, grant it the policy AliyunRAMReadOnlyAccess."),
                 _("Roles › app-server-role › Permissions › Grant Permission."),
                 _("A role holds only the permissions granted to it; its temporary credentials can do no more."),
                 event="AttachPolicyToRole"),
            Step("grant-user", _("Grant dev-lee the system policy AliyunSTSAssumeRoleAccess, so that it may assume "
                                 "the role."),
                 _("Users › dev-lee@… › Permissions › Grant Permission."),
                 _("Being trusted by the role is not enough: the caller's own policies must allow sts:AssumeRole."),
                 event="AttachPolicyToUser", event_detail={"policy": "AliyunSTSAssumeRoleAccess"}),
            Step("assume", _("Create an AccessKey pair for dev-lee (scenario Local development) and call AssumeRole "
                             "with the STS SDK, as the role's Trust Policy tab shows."),
                 _("Users › dev-lee@… › Create AccessKey; then the few lines of Python on the role's page."),
                 _("The credentials AssumeRole returns expire on their own (within the hour by default), and "
                   "dev-lee's key can do nothing but assume roles."),
                 event="AssumeRole"),
        ),
    ),
    Exercise(
        key=LEAKED_KEY,
        title=_("Respond to a leaked AccessKey"),
        summary=_("Security Center found an AccessKey pair in a public code repository while a program still "
                  "uses it: find who uses it, replace it, disable it, watch its use stop, then delete it."),
        steps=(
            Step("owner", _("Read the AccessKey leak alert and open the RAM user that owns the leaked AccessKey."),
                 _("The alert's link, or Identities › Users › the owner › Authentication tab."),
                 _("The owner's Authentication tab is where the key is replaced and disabled, and the owner's "
                   "permissions are what anyone holding the leaked pair can use right now."),
                 visit=("user_detail:{owner}", "user_tab:{owner}")),
            Step("usage", _("See where the leaked AccessKey is used: open its Usage, or Audit › AccessKey Audit."),
                 _("The leaked key's row › Usage: source IP addresses, services and actions."),
                 _("Before you disable the key, know which program you will stop (its address and the services it "
                   "calls), and whether an address you do not know has used the key already."),
                 visit=("access_key_usage:{leaked_key}", "access_key_audit")),
            Step("replace", _("Create a replacement AccessKey for the same RAM user and give it to the program "
                              "(rotation)."),
                 _("Authentication tab › Create AccessKey › confirm that it is for rotation."),
                 _("The program keeps working on a new secret once the leaked key is disabled; the leaked secret "
                   "must never be used again, since anyone may have copied it."),
                 event="CreateAccessKey", event_owner="user", event_detail={"owner": "{owner}"}),
            Step("disable", _("Disable the leaked AccessKey."), _("The leaked key's row › Disable."),
                 _("Disabling stops the key at once, for whoever copied it and for every program still using it, "
                   "and it can be undone if something essential breaks. Every minute it stays Active is a minute "
                   "an attacker can use it."),
                 event="UpdateAccessKey", event_detail={"to": "Inactive"}, event_target="{leaked_key}"),
            Step("watch", _("Watch that its use stops: open the leaked AccessKey's Usage again. The program's calls "
                            "with it are now refused."),
                 _("The leaked key's row › Usage: Last Used no longer changes, and Refused calls lists the "
                   "program's call."),
                 _("A refused call (InvalidAccessKeyId.Inactive) shows who still holds the old key: move them to "
                   "the replacement before you delete it for good."),
                 event="APIAuthentication", event_target="{leaked_key}", event_error="InvalidAccessKeyId.Inactive",
                 event_source_ip="{program_ip}", event_after_previous=True),
            Step("delete", _("Delete the leaked AccessKey: it moves to the AccessKey Pair Recycle Bin."),
                 _("The leaked key's row › Delete › type the AccessKey ID › Move to Recycle Bin (then, when you "
                   "are sure, delete it permanently from the recycle bin)."),
                 _("A deleted key cannot be enabled again by mistake. Until it is purged, the recycle bin keeps "
                   "it restorable in case a forgotten program still needed it."),
                 event="DeleteAccessKey", event_target="{leaked_key}"),
        ),
    ),
)}
