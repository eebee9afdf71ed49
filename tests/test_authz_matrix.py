"""The authorization matrix: every console URL and every OpenAPI action × every role × own / other tenant.

Each row below is one request; each column one role; each cell what the design says happens.
The table is the documentation: read a row across to see who may do it, a column down to see
what a role may do.

Roles (columns)
    anon      not logged on (API: a request with no signature)
    root      tenant A's account root
    admin     a RAM user of A with AliyunRAMFullAccess
    reader    a RAM user of A with AliyunRAMReadOnlyAccess
    self+     alice, a RAM user of A without policies, AllowUserToManageAccessKeys on
    self-     alice with AllowUserToManageAccessKeys off (the default)
    foreign   a RAM user of ANOTHER account (tenant B) with AliyunRAMFullAccess
    auditor   Django staff in Auditors (the read-only admin); holds no AccessKey
    trainer   Django staff in Trainers; holds no AccessKey
    trainee   the root of a training sandbox (tenant S)

Tenants (the column before the cells): where the resource named in the request lives. ``A`` is
the tenant of every role but ``foreign`` (whose own tenant is B) and ``trainee`` (S); ``B`` is
another account; ``-`` means the request names no tenant's resource (it acts on the caller's own).

Placeholders: ``{user}`` a RAM user of that tenant (A: alice, B: stranger), ``{other}`` another
user of A (bob), ``{empty}`` a user with a logon, a policy and an MFA device but no key (A: carol,
B: drifter), ``{key}`` a key of ``{user}``, ``{other_key}`` bob's key, ``{root_key}`` an Inactive
root key, ``{spare}`` an Inactive extra key of ``{user}`` (setup ``+spare``), ``{policy_doc}`` a
valid policy document, ``{trust_doc}`` a valid trust policy (a service's), ``{role_arn}`` the ARN of
the role ``Matrix`` of that tenant (``acs:ram::<uid>:role/Matrix``, whether or not it exists).
IMS names users by ``UserPrincipalName``: ``{upn}`` / ``{empty_upn}`` are ``{user}`` / ``{empty}`` at
the tenant's default domain (``<name>@<alias>.onaliyun.com``), ``{own_domain}`` the default domain of
the signer's own tenant; or by ``UserId``: ``{user_id}`` / ``{empty_user_id}``, and ``{uid}`` the
tenant's UID (which names its root's recycle bin).

Outcomes
    ok      200, nothing changed            done    success (200 or redirect), the change made
    redir   a redirect, nothing changed     login   sent to a logon page, nothing changed
    4xx     that status, nothing changed (API: 403 NoPermission, 404 EntityNotExist.User /
            .User.AccessKey / .Policy / .Role, 409 DeleteConflict.Role.Policy, 400
            IncompleteSignature for an unsigned request)
    -       not applicable (auditors and trainers hold no AccessKey to sign with)

API rows are sent signed (V3) in the version of the API that answers the action (``registry.APIS``:
RAM 2015-05-01, STS 2015-04-01 for AssumeRole and GetCallerIdentity; a row ``ims:<Action>`` is the
action of IMS 2019-08-15, which shares many names with RAM, ``actiontrail:<Action>`` that of ActionTrail
2020-07-06). An API call acts in the
caller's own account: a row of tenant B sent by a principal of A names a user, policy or role its
account does not have (404 once it is allowed to ask, 403 before), except AssumeRole, whose RoleArn
names the account. What the system policies allow: AliyunRAMFullAccess ``ram:*`` (not
``sts:AssumeRole``), AliyunRAMReadOnlyAccess ``ram:Get*`` and ``ram:List*``, AliyunSTSAssumeRoleAccess
``sts:AssumeRole``, AliyunActionTrailReadOnlyAccess ``actiontrail:Lookup*`` (and the rest of ActionTrail's reads). A root may do everything in its account but assume a role; a RAM user assumes a
role when it holds ``sts:AssumeRole`` AND the role's trust policy names its account; a role that does
not exist is refused like one that does not trust the caller (NoPermission), so no one learns
another account's roles. GetCallerIdentity needs no permission.

Flows: ``WIZARD`` runs the RAM-user Create AccessKey dialog to its reveal, ``ROOTCREATE`` the
root's (acknowledge, open, confirm), ``MFABIND`` binds an MFA device with a correct code.
Setups: ``+inactive`` disables ``{key}`` first, ``+spare`` adds ``{spare}``, ``+recycled`` puts
``{recycled}`` (another key of ``{user}``) in its recycle bin, ``+rootmfa`` binds an
MFA device to the roots of A and S (its current code: ``{rootcode}``), ``+exercise`` starts an
exercise in the sandbox, ``+policy`` a custom policy ``Matrix`` of the tenant (v1 its default, and
v2), ``+role`` a role ``Matrix`` of the tenant trusting its account, with AliyunRAMReadOnlyAccess
(``+emptyrole``: without a policy; ``+crossaccount``: trusting the other of A and B too), ``+sts``
AliyunSTSAssumeRoleAccess attached to every RAM user that signs a column (ram-admin, reader, alice,
outsider), ``+trail`` AliyunActionTrailReadOnlyAccess likewise.

Every cell runs in its own savepoint, rolled back afterwards, from a fresh client. A refused cell
must leave ``world_state()`` exactly as it was; a ``done`` cell must change it. No response to a
tenant's principal may name another tenant's keys or logons (an API answer, nor its UID, RAM users,
custom policies or roles), unless the request itself named them.
"""
from __future__ import annotations

import json
import re
import time
import warnings
from dataclasses import dataclass

import pyotp
import pytest
from django.core import signing
from django.core.cache import cache
from django.db import transaction
from django.test import Client

from ram.api.actions import USER_ID_BASE
from ram.api.actiontrail_actions import ACTIONTRAIL_VERSION
from ram.api.ims_actions import IMS_VERSION
from ram.api.registry import APIS
from ram.models import AccessKey, Account
from ram.policy import Principal
from ram.services import access_key_create, access_key_delete, access_key_set_status, mfa_device_bind, security_preference_set

from .api_helpers import send, v3_call
from .flows import confirm_rotation_if_asked, root_confirm, wizard_run
from .security_helpers import build_world, world_state

ROLES = ("anon", "root", "admin", "reader", "self+", "self-", "foreign", "auditor", "trainer", "trainee")

CONSOLE_MATRIX = [
    # request                                                      tenant anon   root  admin reader self+ self- foreign auditor trainer trainee
    "GET  /                                                          -    login  ok    ok    ok     ok    ok    ok      ok      ok      ok",
    "GET  /login                                                     -    ok     redir redir redir  redir redir redir   redir   redir   redir",
    # The Security Verification step of a logon: nothing pending, back to the logon page.
    "GET  /login/verify                                              -    login  login login login  login login login   login   login   login",
    # The auditors' admin logs on through the console's logon form; a logon that is not staff is told it has no access.
    "GET  /admin/login/                                              -    login  403   403   403    403   403   403     login   login   403",
    "POST /logout                                                    -    login  login login login  login login login   login   login   login",
    # The language switcher: anyone, back to the page it was on (the logon's choice is a preference, not RAM state).
    "POST /language language=zh-hans next=/users/                    -    redir  redir redir redir  redir redir redir   redir   redir   redir",
    "GET  /healthz                                                   -    ok     ok    ok    ok     ok    ok    ok      ok      ok      ok",
    "GET  /readyz                                                    -    ok     ok    ok    ok     ok    ok    ok      ok      ok      ok",
    # Identities > Users
    "GET  /users/                                                    -    login  ok    ok    ok     403   403   ok      403     403     ok",
    "GET  /users/create                                              -    login  ok    ok    403    403   403   ok      403     403     ok",
    "POST /users/create user_name=newbie display_name=Newbie         -    login  done  done  403    403   403   done    403     403     done",
    "GET  /users/{user}/                                             A    login  ok    ok    ok     ok    403   404     403     403     404",
    "GET  /users/{user}/                                             B    login  404   404   404    404   404   ok      403     403     404",
    "GET  /users/{user}/permissions                                  A    login  ok    ok    ok     403   403   404     403     403     404",
    "GET  /users/{user}/permissions                                  B    login  404   404   404    404   404   ok      403     403     404",
    "GET  /users/{other}/                                            A    login  ok    ok    ok     403   403   404     403     403     404",
    "GET  /users/{user}/no-such-tab                                  A    login  404   404   404    404   404   404     404     404     404",
    "GET  /users/{empty}/delete                                      A    login  ok    ok    403    403   403   404     403     403     404",
    "GET  /users/{empty}/delete                                      B    login  404   404   404    404   404   ok      403     403     404",
    "POST /users/{empty}/delete                                      A    login  done  done  403    403   403   404     403     403     404",
    "POST /users/{empty}/delete                                      B    login  404   404   404    404   404   done    403     403     404",
    "POST /users/{empty}/policies/attach policy_name=AliyunRAMFullAccess A login done done 403    403   403   404     403     403     404",
    "POST /users/{empty}/policies/attach policy_name=AliyunRAMFullAccess B login 404  404  404    404   404   done    403     403     404",
    "POST /users/{empty}/policies/detach policy_name=AliyunRAMReadOnlyAccess A login done done 403 403  403   404     403     403     404",
    "POST /users/{empty}/policies/detach policy_name=AliyunRAMReadOnlyAccess B login 404 404 404   404   404   done    403     403     404",
    # Permissions > Policies ({policy_doc}: a valid document; +policy: a custom policy Matrix with v1 default and v2)
    "GET  /policies/                                                 -    login  ok    ok    ok     403   403   ok      403     403     ok",
    "GET  /policies/create                                           -    login  ok    ok    403    403   403   ok      403     403     ok",
    "POST /policies/create policy_name=Matrix document={policy_doc}  -    login  done  done  403    403   403   done    403     403     done",
    "GET  /policies/System/AliyunRAMFullAccess/                      -    login  ok    ok    ok     403   403   ok      403     403     ok",
    "GET  /policies/Custom/Matrix/ +policy                           A    login  ok    ok    ok     403   403   404     403     403     404",
    "GET  /policies/Custom/Matrix/ +policy                           B    login  404   404   404    404   404   ok      403     403     404",
    "POST /policies/Custom/Matrix/versions/create document={policy_doc} +policy A login done done 403 403 403  404     403     403     404",
    "POST /policies/Custom/Matrix/versions/v2/default +policy        A    login  done  done  403    403   403   404     403     403     404",
    "POST /policies/Custom/Matrix/versions/v2/delete +policy         A    login  done  done  403    403   403   404     403     403     404",
    "POST /policies/Custom/Matrix/delete +policy                     A    login  done  done  403    403   403   404     403     403     404",
    "POST /policies/Custom/Matrix/delete +policy                     B    login  404   404   404    404   404   done    403     403     404",
    "POST /users/{empty}/policies/attach policy_name=Custom:Matrix +policy A login done done 403 403  403   404     403     403     404",
    # Identities > Roles (+role: a role Matrix in the tenant, trusting it, with AliyunRAMReadOnlyAccess)
    "GET  /roles/                                                    -    login  ok    ok    ok     403   403   ok      403     403     ok",
    "GET  /roles/create                                              -    login  ok    ok    403    403   403   ok      403     403     ok",
    "POST /roles/create trusted_entity=account account=current role_name=Matrix max_session_duration=3600 - login done done 403 403 403 done 403 403 done",
    "GET  /roles/Matrix/ +role                                       A    login  ok    ok    ok     403   403   404     403     403     404",
    "GET  /roles/Matrix/trust +role                                  A    login  ok    ok    ok     403   403   404     403     403     404",
    "GET  /roles/Matrix/sessions +role                               B    login  404   404   404    404   404   ok      403     403     404",
    "POST /roles/Matrix/change/trust trust_policy={trust_doc} +role  A    login  done  done  403    403   403   404     403     403     404",
    "POST /roles/Matrix/change/settings description=x max_session_duration=7200 +role A login done done 403 403 403 404 403 403 404",
    "POST /roles/Matrix/change/detach policy_name=System:AliyunRAMReadOnlyAccess +role A login done done 403 403 403 404 403 403 404",
    "POST /roles/Matrix/change/attach policy_name=System:AliyunRAMFullAccess +role B login 404 404 404 404 404 done 403 403 404",
    "POST /roles/Matrix/delete +role                                 A    login  redir redir 403    403   403   404     403     403     404",
    # The Create AccessKey dialog of a RAM user, MFA devices
    "GET  /users/{user}/accesskeys/create                            A    login  ok    ok    403    ok    403   404     403     403     404",
    "GET  /users/{user}/accesskeys/create                            B    login  404   404   404    404   404   ok      403     403     404",
    "WIZARD /users/{user}/accesskeys/create                          A    login  done  done  403    done  403   404     403     403     404",
    "WIZARD /users/{user}/accesskeys/create                          B    login  404   404   404    404   404   done    403     403     404",
    "GET  /users/{other}/accesskeys/create                           A    login  ok    ok    403    403   403   404     403     403     404",
    "GET  /users/{user}/mfa/bind                                     A    login  ok    ok    403    ok    ok    404     403     403     404",
    "MFABIND /users/{user}/mfa/bind                                  A    login  done  done  403    done  done  404     403     403     404",
    "MFABIND /users/{user}/mfa/bind                                  B    login  404   404   404    404   404   done    403     403     404",
    "POST /users/{empty}/mfa/unbind                                  A    login  done  done  403    403   403   404     403     403     404",
    "POST /users/{empty}/mfa/unbind                                  B    login  404   404   404    404   404   done    403     403     404",
    # AccessKey lifecycle
    "POST /accesskeys/{key}/status status=Inactive                   A    login  done  done  403    done  403   404     403     403     404",
    "POST /accesskeys/{key}/status status=Inactive                   B    login  404   404   404    404   404   done    403     403     404",
    "POST /accesskeys/{other_key}/status status=Inactive             A    login  done  done  403    403   403   404     403     403     404",
    "GET  /accesskeys/{key}/status                                   A    login  405   405   405    405   405   405     405     405     405",
    "GET  /accesskeys/{key}/delete                                   A    login  ok    ok    403    ok    403   404     403     403     404",
    "POST /accesskeys/{key}/delete confirm_access_key_id={key} +inactive A login done done 403    done  403   404     403     403     404",
    "POST /accesskeys/{key}/delete confirm_access_key_id={key} +inactive B login 404  404  404    404   404   done    403     403     404",
    "GET  /accesskeys/{root_key}/delete                              A    login  ok    403   403    403   403   404     403     403     404",
    # Where and how keys were used: one key's Usage dialog, the account's AccessKey Audit page
    "GET  /accesskeys/{key}/usage                                    A    login  ok    ok    ok     ok    403   404     403     403     404",
    "GET  /accesskeys/{key}/usage                                    B    login  404   404   404    404   404   ok      403     403     404",
    "GET  /accesskey-audit                                           -    login  ok    ok    ok     403   403   ok      403     403     ok",
    # AccessKey network access policies: one key's, the account's
    "GET  /accesskeys/{key}/network-policy                           A    login  ok    ok    ok     403   403   404     403     403     404",
    "POST /accesskeys/{key}/network-policy status=Active addresses=192.0.2.0/24 confirm_access_key_id={key} A login done done 403 403 403 404 403 403 404",
    "POST /accesskeys/{key}/network-policy status=Active addresses=192.0.2.0/24 confirm_access_key_id={key} B login 404 404 404 404 404 done 403 403 404",
    "GET  /accesskey-network-policy                                  -    login  ok    ok    ok     403   403   ok      403     403     ok",
    "POST /accesskey-network-policy status=Active addresses=192.0.2.0/24 - login done done 403 403   403   done    403     403     done",
    # The AccessKey Pair Recycle Bin (+recycled: an Inactive extra key of {user}, deleted: {recycled})
    "POST /recycle-bin/{recycled}/restore +recycled                   A    login  done  done  403    done  403   404     403     403     404",
    "POST /recycle-bin/{recycled}/restore +recycled                   B    login  404   404   404    404   404   done    403     403     404",
    "GET  /recycle-bin/{recycled}/delete +recycled                    A    login  ok    ok    403    ok    403   404     403     403     404",
    "POST /recycle-bin/{recycled}/delete confirm_access_key_id={recycled} +recycled A login done done 403 done 403 404  403     403     404",
    "POST /recycle-bin/{recycled}/delete confirm_access_key_id={recycled} +recycled B login 404 404 404  404   404   done    403     403     404",
    # Settings, one's own keys, the root's own MFA device
    "GET  /security-settings                                         -    login  ok    ok    ok     403   403   ok      403     403     ok",
    "POST /security-settings allow_user_to_manage_access_keys=true   -    login  done  done  403    403   403   done    403     403     done",
    "GET  /my-accesskeys                                             -    login  redir redir redir  redir 403   redir   403     403     redir",
    # The download is audited (GenerateCredentialReport): a state change, hence "done".
    "GET  /reports/credential-report.csv                             -    login  done  done  403    403   403   done    403     403     done",
    "GET  /mfa/bind                                                  -    login  ok    403   403    403   403   403     403     403     ok",
    # Unbinding one's own device asks its current code: a bare POST only shows the dialog again.
    "GET  /mfa/unbind +rootmfa                                       -    login  ok    403   403    403   403   403     403     403     ok",
    "POST /mfa/unbind +rootmfa                                       -    login  400   403   403    403   403   403     403     403     400",
    "POST /mfa/unbind code={rootcode} +rootmfa                       -    login  done  403   403    403   403   403     403     403     done",
    # The root's AccessKey page behind the risk dialogs
    "GET  /accesskey                                                 -    login  ok    403   403    403   403   403     403     403     ok",
    "POST /accesskey/acknowledge aware=on                            -    login  done  403   403    403   403   403     403     403     done",
    "ROOTCREATE /accesskey/create                                    -    login  done  403   403    403   403   403     403     403     done",
    "POST /accesskey/{root_key}/saved saved=on                       A    login  done  403   403    403   403   403     403     403     404",
    "POST /accesskey/{root_key}/saved saved=on                       B    login  404   403   403    403   403   403     403     403     404",
    # Training
    "GET  /training/start                                            -    ok     ok    ok    ok     ok    ok    ok      ok      ok      ok",
    "POST /training/start                                            -    done   done  done  done   done  done  done    done    done    done",
    "POST /training/exercise exercise=ram-user-key                   -    login  404   404   404    404   404   404     404     404     done",
    "POST /training/guide                                            -    login  redir redir redir  redir redir redir   redir   redir   redir",
    "POST /training/reset                                            -    login  404   404   404    404   404   404     404     404     done",
    "GET  /training/certificate/ram-user-key +exercise               -    login  404   404   404    404   404   404     404     404     ok",
    "GET  /training/trainer                                          -    login  login login login  login login login   login   ok      login",
    "POST /training/trainer action=reset account={sandbox_pk}        -    login  login login login  login login login   login   done    login",
    "GET  /training/trainer/board.json                               -    403    403   403   403    403   403   403     403     ok      403",
    "GET  /training/trainer/summary                                  -    login  login login login  login login login   login   ok      login",
    "GET  /training/trainer/summary.csv                              -    login  login login login  login login login   login   ok      login",
    "POST /training/demo/reset                                       -    login  login login login  login login login   login   done    login",
    # Classes: joining is public (a join logs the browser on as a new sandbox's root, whoever it was);
    # a trainer's class pages are their own (+class: a class of trainer-x with one trainee; +otherclass:
    # another trainer's class, "not found" to trainer-x).
    "GET  /training/join                                             -    ok     ok    ok    ok     ok    ok    ok      ok      ok      ok",
    "POST /training/join code={class_code} display_name=Matrix +class -   done   done  done  done   done  done  done    done    done    done",
    "POST /training/join code=ZZZZZZZZ display_name=Matrix +class    -    400    400   400   400    400   400   400     400     400     400",
    "GET  /training/classes                                          -    login  login login login  login login login   login   ok      login",
    "GET  /training/classes/create                                   -    login  login login login  login login login   login   ok      login",
    "POST /training/classes/create name=Matrix capacity=5 starts_at=2020-01-01T00:00 ends_at=2099-01-01T00:00 exercises=root-key language=en - login login login login login login login login done login",
    "GET  /training/classes/{class_pk} +class                        -    login  login login login  login login login   login   ok      login",
    "GET  /training/classes/{class_pk}/join-page +class              -    login  login login login  login login login   login   ok      login",
    "GET  /training/classes/{class_pk}/board.json +class             -    403    403   403   403    403   403   403     403     ok      403",
    "GET  /training/classes/{class_pk}/summary +class                -    login  login login login  login login login   login   ok      login",
    "GET  /training/classes/{class_pk}/summary.csv +class            -    login  login login login  login login login   login   ok      login",
    "GET  /training/classes/{other_class_pk}/board.json +otherclass  -    403    403   403   403    403   403   403     403     404     403",
    "GET  /training/classes/{other_class_pk}/summary.csv +otherclass -    login  login login login  login login login   login   404     login",
    "POST /training/classes/{class_pk}/close +class                  -    login  login login login  login login login   login   done    login",
    "POST /training/classes/{class_pk}/extend ends_at=2099-01-01T00:00 +class - login login login login login login login login done login",
    "POST /training/classes/{class_pk}/trainees/{member_pk}/reset +class - login login login login login login login login done login",
    "POST /training/classes/{class_pk}/trainees/{member_pk}/remove +class - login login login login login login login login done login",
    "GET  /training/classes/{other_class_pk} +otherclass             -    login  login login login  login login login   login   404     login",
    "POST /training/classes/{other_class_pk}/close +otherclass       -    login  login login login  login login login   login   404     login",
    # The auditors' admin (read-only)
    "GET  /admin/                                                    -    login  login login login  login login login   ok      ok      login",
    "GET  /admin/ram/auditevent/                                     -    login  login login login  login login login   ok      403     login",
    "GET  /admin/ram/accesskey/{key_pk}/change/                      -    login  login login login  login login login   ok      403     login",
    "POST /admin/ram/accesskey/{key_pk}/delete/ post=yes             -    login  login login login  login login login   403     403     login",
]

API_MATRIX = [
    # action and parameters                                              tenant anon root  admin reader self+ self- foreign auditor trainer trainee
    "CreateAccessKey UserName={user}                                       A    400  done  done  403    done  403   404     -       -       404",
    "CreateAccessKey UserName={user}                                       B    400  404   404   403    403   403   done    -       -       404",
    "CreateAccessKey                                                       -    400  done  done  403    done  403   done    -       -       done",
    "ListAccessKeys UserName={user}                                        A    400  ok    ok    ok     ok    403   404     -       -       404",
    "ListAccessKeys UserName={user}                                        B    400  404   404   404    403   403   ok      -       -       404",
    "ListAccessKeys                                                        -    400  ok    ok    ok     ok    403   ok      -       -       ok",
    "UpdateAccessKey UserName={user} UserAccessKeyId={spare} Status=Active +spare A 400 done done 403   done  403   404     -       -       404",
    "UpdateAccessKey UserName={user} UserAccessKeyId={spare} Status=Active +spare B 400 404  404  403   403   403   done    -       -       404",
    "UpdateAccessKey UserName={user} UserAccessKeyId={other_key} Status=Inactive A 400 404 404  403    404   403   404     -       -       404",
    "UpdateAccessKey UserName={other} UserAccessKeyId={other_key} Status=Inactive A 400 done done 403  403   403   404     -       -       404",
    "UpdateAccessKey UserAccessKeyId={root_key} Status=Active              A    400  done  404   403    404   403   404     -       -       404",
    "DeleteAccessKey UserName={user} UserAccessKeyId={spare} +spare        A    400  done  done  403    done  403   404     -       -       404",
    "DeleteAccessKey UserName={user} UserAccessKeyId={spare} +spare        B    400  404   404   403    403   403   done    -       -       404",
    "GetAccessKeyLastUsed UserName={user} UserAccessKeyId={key}            A    400  ok    ok    ok     ok    403   404     -       -       404",
    "GetAccessKeyLastUsed UserName={user} UserAccessKeyId={key}            B    400  404   404   404    403   403   ok      -       -       404",
    "CreateUser UserName=newbie                                            -    400  done  done  403    403   403   done    -       -       done",
    "GetUser UserName={user}                                               A    400  ok    ok    ok     403   403   404     -       -       404",
    "GetUser UserName={user}                                               B    400  404   404   404    403   403   ok      -       -       404",
    "ListUsers                                                             -    400  ok    ok    ok     403   403   ok      -       -       ok",
    "DeleteUser UserName={empty}                                           A    400  done  done  403    403   403   404     -       -       404",
    "DeleteUser UserName={empty}                                           B    400  404   404   403    403   403   done    -       -       404",
    "GetSecurityPreference                                                 -    400  ok    ok    ok     403   403   ok      -       -       ok",
    "SetSecurityPreference AllowUserToManageAccessKeys=true                -    400  done  done  403    403   403   done    -       -       done",
    "GenerateCredentialReport                                              -    400  done  done  403    403   403   done    -       -       done",
    "GetCredentialReport                                                   -    400  done  done  403    403   403   done    -       -       done",
    # Permissions > Policies (+policy: a custom policy Matrix of the tenant, v1 its default, and v2)
    "CreatePolicy PolicyName=Matrix PolicyDocument={policy_doc}            -    400  done  done  403    403   403   done    -       -       done",
    "GetPolicy PolicyName=AliyunRAMFullAccess PolicyType=System            -    400  ok    ok    ok     403   403   ok      -       -       ok",
    "GetPolicy PolicyName=Matrix PolicyType=Custom +policy                 A    400  ok    ok    ok     403   403   404     -       -       404",
    "GetPolicy PolicyName=Matrix PolicyType=Custom +policy                 B    400  404   404   404    403   403   ok      -       -       404",
    "ListPolicies +policy                                                  B    400  ok    ok    ok     403   403   ok      -       -       ok",
    "DeletePolicy PolicyName=Matrix CascadingDelete=true +policy           A    400  done  done  403    403   403   404     -       -       404",
    "DeletePolicy PolicyName=Matrix CascadingDelete=true +policy           B    400  404   404   403    403   403   done    -       -       404",
    "CreatePolicyVersion PolicyName=Matrix PolicyDocument={policy_doc} +policy A 400 done  done  403    403   403   404     -       -       404",
    "CreatePolicyVersion PolicyName=Matrix PolicyDocument={policy_doc} +policy B 400 404   404   403    403   403   done    -       -       404",
    "GetPolicyVersion PolicyName=Matrix PolicyType=Custom VersionId=v2 +policy A 400 ok    ok    ok     403   403   404     -       -       404",
    "GetPolicyVersion PolicyName=Matrix PolicyType=Custom VersionId=v2 +policy B 400 404   404   404    403   403   ok      -       -       404",
    "ListPolicyVersions PolicyName=Matrix PolicyType=Custom +policy        A    400  ok    ok    ok     403   403   404     -       -       404",
    "ListPolicyVersions PolicyName=Matrix PolicyType=Custom +policy        B    400  404   404   404    403   403   ok      -       -       404",
    "SetDefaultPolicyVersion PolicyName=Matrix VersionId=v2 +policy        A    400  done  done  403    403   403   404     -       -       404",
    "SetDefaultPolicyVersion PolicyName=Matrix VersionId=v2 +policy        B    400  404   404   403    403   403   done    -       -       404",
    "DeletePolicyVersion PolicyName=Matrix VersionId=v2 +policy            A    400  done  done  403    403   403   404     -       -       404",
    "DeletePolicyVersion PolicyName=Matrix VersionId=v2 +policy            B    400  404   404   403    403   403   done    -       -       404",
    # A system policy is attached in every account: each lists its own users only (no other tenant's names).
    "ListEntitiesForPolicy PolicyName=AliyunRAMFullAccess PolicyType=System -   400  ok    ok    ok     403   403   ok      -       -       ok",
    "ListEntitiesForPolicy PolicyName=Matrix PolicyType=Custom +policy     A    400  ok    ok    ok     403   403   404     -       -       404",
    # alice granting herself full access: only who may attach policies
    "AttachPolicyToUser UserName={user} PolicyName=AliyunRAMFullAccess PolicyType=System A 400 done done 403 403 403 404     -       -       404",
    "AttachPolicyToUser UserName={empty} PolicyName=AliyunRAMFullAccess PolicyType=System B 400 404 404 403 403 403 done     -       -       404",
    "AttachPolicyToUser UserName={empty} PolicyName=Matrix PolicyType=Custom +policy A 400 done done 403 403   403   404     -       -       404",
    # A's custom policy to a user of B (drifter): B's administrator finds no such policy in B.
    "AttachPolicyToUser UserName=drifter PolicyName=Matrix PolicyType=Custom +policy A 400 404 404 403 403    403   404     -       -       404",
    "DetachPolicyFromUser UserName={empty} PolicyName=AliyunRAMReadOnlyAccess PolicyType=System A 400 done done 403 403 403 404 -     -       404",
    "DetachPolicyFromUser UserName={empty} PolicyName=AliyunRAMReadOnlyAccess PolicyType=System B 400 404 404 403 403 403 done -     -       404",
    "ListPoliciesForUser UserName={user}                                   A    400  ok    ok    ok     403   403   404     -       -       404",
    "ListPoliciesForUser UserName={user}                                   B    400  404   404   404    403   403   ok      -       -       404",
    # Identities > Roles (+role: a role Matrix of the tenant trusting its account, with AliyunRAMReadOnlyAccess;
    # +emptyrole: the same with no policy)
    "CreateRole RoleName=Newrole AssumeRolePolicyDocument={trust_doc}      -    400  done  done  403    403   403   done    -       -       done",
    "GetRole RoleName=Matrix +role                                         A    400  ok    ok    ok     403   403   404     -       -       404",
    "GetRole RoleName=Matrix +role                                         B    400  404   404   404    403   403   ok      -       -       404",
    "ListRoles +role                                                       B    400  ok    ok    ok     403   403   ok      -       -       ok",
    "UpdateRole RoleName=Matrix NewMaxSessionDuration=7200 +role           A    400  done  done  403    403   403   404     -       -       404",
    "UpdateRole RoleName=Matrix NewAssumeRolePolicyDocument={trust_doc} +role B 400  404   404   403    403   403   done    -       -       404",
    "DeleteRole RoleName=Matrix +emptyrole                                 A    400  done  done  403    403   403   404     -       -       404",
    "DeleteRole RoleName=Matrix +emptyrole                                 B    400  404   404   403    403   403   done    -       -       404",
    # While a policy is attached, refused to whoever may delete it (DeleteConflict.Role.Policy).
    "DeleteRole RoleName=Matrix +role                                      A    400  409   409   403    403   403   404     -       -       404",
    "AttachPolicyToRole RoleName=Matrix PolicyName=AliyunRAMFullAccess PolicyType=System +role A 400 done done 403 403 403 404 -     -       404",
    "AttachPolicyToRole RoleName=Matrix PolicyName=AliyunRAMFullAccess PolicyType=System +role B 400 404 404 403 403 403 done -     -       404",
    "AttachPolicyToRole RoleName=Matrix PolicyName=Matrix PolicyType=Custom +role +policy A 400 done done 403 403 403 404  -       -       404",
    "DetachPolicyFromRole RoleName=Matrix PolicyName=AliyunRAMReadOnlyAccess PolicyType=System +role A 400 done done 403 403 403 404 - -   404",
    "DetachPolicyFromRole RoleName=Matrix PolicyName=AliyunRAMReadOnlyAccess PolicyType=System +role B 400 404 404 403 403 403 done - -   404",
    "ListPoliciesForRole RoleName=Matrix +role                             A    400  ok    ok    ok     403   403   404     -       -       404",
    "ListPoliciesForRole RoleName=Matrix +role                             B    400  404   404   404    403   403   ok      -       -       404",
    # STS 2015-04-01 (+sts: the RAM users that sign hold AliyunSTSAssumeRoleAccess; +crossaccount: the role trusts
    # the other of A and B too). A root never assumes a role; AliyunRAMFullAccess does not include sts:AssumeRole.
    "GetCallerIdentity                                                     -    400  ok    ok    ok     ok    ok    ok      -       -       ok",
    "AssumeRole RoleArn={role_arn} RoleSessionName=matrix +role            A    400  403   403   403    403   403   403     -       -       403",
    "AssumeRole RoleArn={role_arn} RoleSessionName=matrix +role +sts       A    400  403   done  done   done  done  403     -       -       403",
    "AssumeRole RoleArn={role_arn} RoleSessionName=matrix +role +sts       B    400  403   403   403    403   403   done    -       -       403",
    "AssumeRole RoleArn={role_arn} RoleSessionName=matrix +role +crossaccount A 400  403   403   403    403   403   403     -       -       403",
    "AssumeRole RoleArn={role_arn} RoleSessionName=matrix +role +crossaccount +sts A 400 403 done done  done  done  done    -       -       403",
    # No such role: refused like a role that does not trust the caller.
    "AssumeRole RoleArn={role_arn} RoleSessionName=matrix +sts             B    400  403   403   403    403   403   403     -       -       403",
    # IMS 2019-08-15: the same permissions as the RAM rows above; a user of another tenant is named by a
    # UserPrincipalName of another domain (EntityNotExist.User once allowed to ask, as a name the account lacks).
    "ims:SetAccessKeyPolicy UserPrincipalName={upn} UserAccessKeyId={key} AccessKeyPolicy={fence_doc} A 400 done done 403 403 403 404 - - 404",
    "ims:SetAccessKeyPolicy UserPrincipalName={upn} UserAccessKeyId={key} AccessKeyPolicy={fence_doc} B 400 404 404 403 403 403 done - - 404",
    "ims:GetAccessKeyPolicy UserPrincipalName={upn} UserAccessKeyId={key}  A    400  ok    ok    ok     403   403   404     -       -       404",
    "ims:GetAccessKeyPolicy UserPrincipalName={upn} UserAccessKeyId={key}  B    400  404   404   404    403   403   ok      -       -       404",
    "ims:SetAccessKeyPolicyForAccount AccessKeyPolicy={fence_doc}          -    400  done  done  403    403   403   done    -       -       done",
    "ims:GetAccessKeyPolicyForAccount                                      -    400  ok    ok    ok     403   403   ok      -       -       ok",
    "ims:CreateAccessKey UserPrincipalName={upn}                           A    400  done  done  403    done  403   404     -       -       404",
    "ims:CreateAccessKey UserPrincipalName={upn}                           B    400  404   404   403    403   403   done    -       -       404",
    "ims:CreateAccessKey                                                   -    400  done  done  403    done  403   done    -       -       done",
    "ims:ListAccessKeys UserPrincipalName={upn}                            A    400  ok    ok    ok     ok    403   404     -       -       404",
    "ims:ListAccessKeys UserPrincipalName={upn}                            B    400  404   404   404    403   403   ok      -       -       404",
    "ims:ListAccessKeys                                                    -    400  ok    ok    ok     ok    403   ok      -       -       ok",
    "ims:UpdateAccessKey UserPrincipalName={upn} UserAccessKeyId={spare} Status=Active +spare A 400 done done 403 done 403 404   -       -       404",
    "ims:UpdateAccessKey UserPrincipalName={upn} UserAccessKeyId={spare} Status=Active +spare B 400 404 404 403  403   403   done    -       -       404",
    "ims:UpdateAccessKey UserAccessKeyId={root_key} Status=Active          A    400  done  404   403    404   403   404     -       -       404",
    "ims:DeleteAccessKey UserPrincipalName={upn} UserAccessKeyId={spare} +spare A  400  done  done  403    done  403   404     -       -       404",
    "ims:DeleteAccessKey UserPrincipalName={upn} UserAccessKeyId={spare} +spare B  400  404   404   403    403   403   done    -       -       404",
    "ims:GetAccessKeyLastUsed UserPrincipalName={upn} UserAccessKeyId={key} A   400  ok    ok    ok     ok    403   404     -       -       404",
    "ims:GetAccessKeyLastUsed UserPrincipalName={upn} UserAccessKeyId={key} B   400  404   404   404    403   403   ok      -       -       404",
    # The AccessKey recycle bin by UserId (+recycled: {recycled}, a key of {user}, in its bin); omitted: the
    # caller's own bin (a root's: its root keys'), but Restore and Delete want a root to name it.
    "ims:ListAccessKeysInRecycleBin UserId={user_id} +recycled             A    400  ok    ok    ok     ok    403   404     -       -       404",
    "ims:ListAccessKeysInRecycleBin UserId={user_id} +recycled             B    400  404   404   404    403   403   ok      -       -       404",
    "ims:ListAccessKeysInRecycleBin +recycled                              -    400  ok    ok    ok     ok    403   ok      -       -       ok",
    "ims:ListAccessKeysInRecycleBin UserId={uid}                           A    400  ok    403   403    403   403   404     -       -       404",
    "ims:GetAccessKeyInfoInRecycleBin UserAccessKeyId={recycled} +recycled A    400  ok    ok    ok     ok    403   404     -       -       404",
    "ims:GetAccessKeyInfoInRecycleBin UserAccessKeyId={recycled} +recycled B    400  404   404   404    403   403   ok      -       -       404",
    "ims:RestoreAccessKeyFromRecycleBin UserId={user_id} UserAccessKeyId={recycled} +recycled A 400 done done 403 done 403 404  -       -       404",
    "ims:RestoreAccessKeyFromRecycleBin UserId={user_id} UserAccessKeyId={recycled} +recycled B 400 404 404  403  403   403   done    -       -       404",
    "ims:RestoreAccessKeyFromRecycleBin UserAccessKeyId={recycled} +recycled A  400  400   404   403    done  403   404     -       -       400",
    "ims:DeleteAccessKeyInRecycleBin UserId={user_id} UserAccessKeyId={recycled} +recycled A 400 done done 403 done 403  404     -       -       404",
    "ims:DeleteAccessKeyInRecycleBin UserId={user_id} UserAccessKeyId={recycled} +recycled B 400 404 404 403  403   403   done    -       -       404",
    "ims:DeleteAccessKeyInRecycleBin UserAccessKeyId={recycled} +recycled A    400  400   404   403    done  403   404     -       -       400",
    "ims:CreateUser UserPrincipalName=newbie@{own_domain} DisplayName=Newbie -  400  done  done  403    403   403   done    -       -       done",
    "ims:GetUser UserPrincipalName={upn}                                   A    400  ok    ok    ok     403   403   404     -       -       404",
    "ims:GetUser UserPrincipalName={upn}                                   B    400  404   404   404    403   403   ok      -       -       404",
    "ims:GetUser UserId={user_id}                                          B    400  404   404   404    403   403   ok      -       -       404",
    "ims:GetUser UserAccessKeyId={key}                                     A    400  ok    ok    ok     403   403   404     -       -       404",
    "ims:ListUsers                                                         -    400  ok    ok    ok     403   403   ok      -       -       ok",
    "ims:DeleteUser UserPrincipalName={empty_upn}                          A    400  done  done  403    403   403   404     -       -       404",
    "ims:DeleteUser UserPrincipalName={empty_upn}                          B    400  404   404   403    403   403   done    -       -       404",
    "ims:DeleteUser UserId={empty_user_id}                                 A    400  done  done  403    403   403   404     -       -       404",
    "ims:GetDefaultDomain                                                  -    400  ok    ok    ok     403   403   ok      -       -       ok",
    "ims:GetSecurityPreference                                             -    400  ok    ok    ok     403   403   ok      -       -       ok",
    "ims:SetSecurityPreference AllowUserToManageAccessKeys=true            -    400  done  done  403    403   403   done    -       -       done",
    "ims:GetAccountSummary                                                 -    400  ok    ok    ok     403   403   ok      -       -       ok",
    # ActionTrail 2020-07-06: the caller's own account's trail. AliyunRAMFullAccess (ram:*) does not reach
    # actiontrail:LookupEvents (+trail: the RAM users that sign hold AliyunActionTrailReadOnlyAccess). A row of
    # tenant B looks up events of B's key from A: none of them, in any answer to A.
    "actiontrail:LookupEvents                                              -    400  ok    403   403    403   403   403     -       -       ok",
    "actiontrail:LookupEvents +trail                                       -    400  ok    ok    ok     ok    ok    ok      -       -       ok",
    "actiontrail:LookupEvents LookupAttribute.1.Key=ResourceName LookupAttribute.1.Value={key} +trail B 400 ok ok ok ok ok ok - -     ok",
    # Where a key was used (AccessKeyUsage of the caller's own account only: another's key reads as unused)
    "actiontrail:GetAccessKeyLastUsedInfo AccessKey={key}                  A    400  ok    403   403    403   403   403     -       -       ok",
    "actiontrail:GetAccessKeyLastUsedInfo AccessKey={key} +trail           A    400  ok    ok    ok     ok    ok    ok      -       -       ok",
    "actiontrail:GetAccessKeyLastUsedProducts AccessKey={key} +trail       A    400  ok    ok    ok     ok    ok    ok      -       -       ok",
    "actiontrail:GetAccessKeyLastUsedIps AccessKey={key} ServiceName=Ram +trail A 400 ok  ok    ok     ok    ok    ok      -       -       ok",
    "actiontrail:GetAccessKeyLastUsedEvents AccessKey={key} ServiceName=Ram +trail A 400 ok ok  ok     ok    ok    ok      -       -       ok",
    # The resources a key acted on: the audit trail's events it signed, of the caller's own account only
    "actiontrail:GetAccessKeyLastUsedResources AccessKey={key} ServiceName=Ram A 400 ok 403 403  403   403   403     -       -       ok",
    "actiontrail:GetAccessKeyLastUsedResources AccessKey={key} ServiceName=Ram +trail A 400 ok ok ok  ok    ok    ok      -       -       ok",
    "actiontrail:GetAccessKeyLastUsedResources AccessKey={key} ServiceName=Ram +trail B 400 ok ok ok  ok    ok    ok      -       -       ok",
]

# Cells where the code departs from the design, each reported as a finding: (row, tenant, role) ->
# (what happens today, why). A cell listed here must still behave as listed (so the table notices
# when it is fixed: then delete the entry).
KNOWN_FINDINGS: dict[tuple[str, str, str], tuple[str, str]] = {}


@dataclass(frozen=True)
class Row:
    """One parsed row: the request, its parameters, its setups, the tenant and the outcome per role."""

    method: str
    target: str
    params: tuple[tuple[str, str], ...]
    setups: tuple[str, ...]
    tenant: str
    outcomes: dict

    @property
    def label(self) -> str:
        return f"{self.method} {self.target}".strip()


def parse(rows: list[str], *, api: bool) -> list[Row]:
    parsed = []
    for text in rows:
        tokens = text.split()
        outcomes = dict(zip(ROLES, tokens[-len(ROLES):], strict=True))
        tenant = tokens[-len(ROLES) - 1]
        head = tokens[:-len(ROLES) - 1]
        assert tenant in ("-", "A", "B"), text
        if api:
            method, target, rest = "API", head[0], head[1:]
        else:
            method, target, rest = head[0], head[1], head[2:]
        params = tuple(tuple(token.split("=", 1)) for token in rest if "=" in token)
        setups = tuple(token[1:] for token in rest if token.startswith("+"))
        parsed.append(Row(method, target, params, setups, tenant, outcomes))
    return parsed


CONSOLE_ROWS = parse(CONSOLE_MATRIX, api=False)
API_ROWS = parse(API_MATRIX, api=True)
TENANT_OF_ROLE = {"root": "A", "admin": "A", "reader": "A", "self+": "A", "self-": "A", "foreign": "B",
                  "trainee": "S"}
LOGON_OF_ROLE = {"anon": "anonymous", "self+": "self_on", "self-": "self_off"}
STEP = "access_key_create_wizard-current_step"


class _Rollback(Exception):
    """Raised at the end of every cell: the savepoint is rolled back, the next cell starts clean."""


# --- Running one cell -----------------------------------------------------------------------------

MATRIX_DOCUMENT = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "ram:GetUser", "Resource": "*"}]}


def _values(world, row: Row, extra: dict) -> dict:
    tenant = "B" if row.tenant == "B" else "A"
    names = dict(world.names[tenant])
    names.update(sandbox_pk=str(world.tenants["S"].pk), policy_doc=json.dumps(MATRIX_DOCUMENT),
                 fence_doc=json.dumps({"Version": 1, "Status": "Active", "Statements": [
                     {"Type": "ClassicWhiteList", "IPList": ["0.0.0.0/0", "::/0"]}]}),
                 role_arn=f"acs:ram::{world.tenants[tenant].uid}:role/Matrix",
                 trust_doc=json.dumps({"Version": "1", "Statement": [
                     {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": ["fc.aliyuncs.com"]}}]}),
                 **extra)
    names["key_pk"] = str(AccessKey.objects.get(access_key_id=world.names["A"]["key"]).pk)
    account = world.tenants[tenant]
    for placeholder, user_name in (("", names["user"]), ("empty_", names["empty"])):
        ram_user = account.ram_users.get(user_name=user_name)
        names[f"{placeholder}upn"] = ram_user.logon_name
        names[f"{placeholder}user_id"] = str(USER_ID_BASE + ram_user.pk)
    names["uid"] = account.uid
    return names


def _setup(world, row: Row, role: str) -> dict:
    """The cell's preconditions, inside its savepoint. Returns extra placeholder values."""
    cli, extra = Principal.cli("tests"), {}
    tenant = "B" if row.tenant == "B" else "A"
    if role == "self+":
        security_preference_set(actor=cli, account=world.tenants["A"], allow_user_to_manage_access_keys=True)
    extra["own_domain"] = world.tenants[TENANT_OF_ROLE.get(role, "A")].logon_suffix.removeprefix("@")
    for setup in row.setups:
        if setup == "inactive":
            key = AccessKey.objects.get(access_key_id=world.names[tenant]["key"])
            access_key_set_status(actor=cli, access_key=key, status="Inactive")
        elif setup == "spare":
            owner = world.tenants[tenant].ram_users.get(user_name=world.names[tenant]["user"])
            spare = access_key_create(actor=cli, owner=owner).access_key
            access_key_set_status(actor=cli, access_key=spare, status="Inactive")
            extra["spare"] = spare.access_key_id
        elif setup == "recycled":
            owner = world.tenants[tenant].ram_users.get(user_name=world.names[tenant]["user"])
            spare = access_key_create(actor=cli, owner=owner).access_key
            spare = access_key_set_status(actor=cli, access_key=spare, status="Inactive")
            extra["recycled"] = access_key_delete(actor=cli, access_key=spare).access_key_id
        elif setup == "rootmfa":
            seed = pyotp.random_base32()  # one seed for both roots: {rootcode} is the code of either
            for account in (world.tenants["A"], world.tenants["S"]):
                # Bound with the code of a step ago: the current one is still there to use.
                mfa_device_bind(actor=cli, owner=account, seed=seed, code=pyotp.TOTP(seed).at(time.time() - 30))
            extra["rootcode"] = pyotp.TOTP(seed).now()
        elif setup == "policy":
            from ram.services import policy_create, policy_version_create
            policy_create(actor=cli, account=world.tenants[tenant], policy_name="Matrix", document=MATRIX_DOCUMENT)
            policy_version_create(actor=cli, account=world.tenants[tenant], policy_name="Matrix",
                                  document=MATRIX_DOCUMENT)
        elif setup in ("role", "emptyrole"):
            from ram.services import role_create, role_policy_attach
            account = world.tenants[tenant]
            trusted = [account.uid]
            if "crossaccount" in row.setups:
                trusted.append(world.tenants["A" if tenant == "B" else "B"].uid)
            role = role_create(actor=cli, account=account, role_name="Matrix", trust_policy={
                "Version": "1", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                               "Principal": {"RAM": trusted}}]})
            if setup == "role":
                role_policy_attach(actor=cli, role=role, policy_name="AliyunRAMReadOnlyAccess", policy_type="System")
        elif setup == "crossaccount":
            assert {"role", "emptyrole"} & set(row.setups), "+crossaccount qualifies +role"
        elif setup == "sts":
            from ram.services import policy_attach
            for tenant_of, user_name in (("A", "ram-admin"), ("A", "reader"), ("A", "alice"), ("B", "outsider")):
                policy_attach(actor=cli, ram_user=world.tenants[tenant_of].ram_users.get(user_name=user_name),
                              policy_name="AliyunSTSAssumeRoleAccess")
        elif setup == "trail":
            from ram.services import policy_attach
            for tenant_of, user_name in (("A", "ram-admin"), ("A", "reader"), ("A", "alice"), ("B", "outsider")):
                policy_attach(actor=cli, ram_user=world.tenants[tenant_of].ram_users.get(user_name=user_name),
                              policy_name="AliyunActionTrailReadOnlyAccess")
        elif setup in ("class", "otherclass"):
            from datetime import timedelta

            from django.contrib.auth import get_user_model
            from django.utils import timezone

            from training.classes import class_create, class_join
            owner = world.logons["trainer"] if setup == "class" else \
                get_user_model().objects.create_user("trainer-y", password="trainer-y-pass-1", is_staff=True)
            now = timezone.now()
            training_class = class_create(actor=Principal.trainer(owner.username), owner=owner, name="Matrix",
                                          capacity=5, starts_at=now - timedelta(hours=1),
                                          ends_at=now + timedelta(hours=3), exercises=["root-key"], context=_context())
            member = class_join(training_class=training_class, display_name="Member", context=_context())[0]
            prefix = "" if setup == "class" else "other_"
            extra.update({f"{prefix}class_pk": str(training_class.pk), f"{prefix}class_code": training_class.code,
                          f"{prefix}member_pk": str(member.pk)})
        elif setup == "exercise":
            from training.services import exercise_start
            exercise_start(actor=Principal.root(world.tenants["S"]), exercise_key="ram-user-key",
                           context=_context())
        else:
            raise AssertionError(f"unknown setup {setup}")
    return extra


def _context():
    from ram.audit import AuditContext
    return AuditContext.cli()


def _console_request(client: Client, row: Row, values: dict):
    path = row.target.format(**values)
    data = {name: value.format(**values) for name, value in row.params}
    if row.method == "GET":
        return client.get(path), 1
    if row.method == "POST":
        return client.post(path, data), 1
    if row.method == "WIZARD":
        page = client.get(path)
        if page.status_code != 200:
            return page, 1
        run = re.search(r'name="wizard_run" value="([^"]+)"', page.content.decode()).group(1)
        sent = confirm_rotation_if_asked(client, path, page.content.decode(), run)
        return client.post(path, {STEP: "scenario", "wizard_run": run, "scenario-scenario": "cli",
                                  "scenario-confirm_necessary": "on"}), 2 + sent
    if row.method == "ROOTCREATE":
        acknowledged = client.post("/accesskey/acknowledge", {"aware": "on"})
        if acknowledged.status_code != 302 or "login" in acknowledged.url:
            return acknowledged, 1
        page = client.get(path)
        return client.post(path, root_confirm(wizard_run(page.content.decode()))), 3
    if row.method == "MFABIND":
        page = client.get(path)
        if page.status_code != 200:
            return page, 1
        token = re.search(r'name="seed_token" value="([^"]+)"', page.content.decode()).group(1)
        from ram.views.mfa import SEED_SALT
        seed = signing.loads(token, salt=SEED_SALT)["seed"]
        return client.post(path, {"seed_token": token, "code": pyotp.TOTP(seed).now()}), 2
    raise AssertionError(f"unknown method {row.method}")


ROW_PREFIX = {IMS_VERSION: "ims:", ACTIONTRAIL_VERSION: "actiontrail:"}  # versions whose rows name actions with a prefix


def _api_version(target: str) -> tuple[str, str]:
    """The version of the API that answers a row's ``target`` and the action: ``ims:<Action>`` is IMS
    2019-08-15's, another the one of RAM 2015-05-01 or STS 2015-04-01 that has it."""
    versions = [(version, target.removeprefix(ROW_PREFIX.get(version, ""))) for version, actions in APIS.items()
                if target.startswith(ROW_PREFIX.get(version, "")) and target.removeprefix(ROW_PREFIX.get(version, ""))
                in actions and (version in ROW_PREFIX or ":" not in target)]
    assert len(versions) == 1, (target, versions)
    return versions[0]


def _api_request(client: Client, world, row: Row, role: str, values: dict):
    params = {name: value.format(**values) for name, value in row.params}
    signer = world.signing_keys.get(LOGON_OF_ROLE.get(role, role)) or world.signing_keys["root"]
    version, action = _api_version(row.target)
    call = v3_call(action, params, key_id=signer["id"], secret=signer["secret"], version=version)
    if role == "anon":
        call = call.without_headers("authorization")
    return send(client, call)


def _classify(response, changed: bool) -> str:
    status = response.status_code
    location = response.get("Location", "")
    if status in (301, 302, 303) and "/login" in location:
        return "login" if not changed else "login+changed"
    if changed:
        return "done" if status in (200, 302, 303) else f"{status}+changed"
    if status == 200:
        return "ok"
    if status in (301, 302, 303):
        return "redir"
    return str(status)


def _api_classify(response, changed: bool) -> tuple[str, str]:
    status = response.status_code
    code = response.json().get("Code", "") if response.get("Content-Type", "").startswith("application/json") else ""
    if changed:
        return ("done" if status == 200 else f"{status}+changed"), code
    return ("ok" if status == 200 else str(status)), code


API_CODES = {"403": ("NoPermission",),
             "404": ("EntityNotExist.User", "EntityNotExist.User.AccessKey", "EntityNotExist.Policy",
                     "EntityNotExist.Role"),
             "409": ("DeleteConflict.Role.Policy",),
             "400": ("IncompleteSignature", "MissingParameter")}


def _leaks(world, role: str, body: str, request_text: str, *, api: bool) -> list[str]:
    """Names of other tenants' keys and logons in a response to a tenant's principal (not ones it sent);
    in an API answer (JSON) also their UIDs and, as JSON strings, the names of their RAM users, custom
    policies and roles that the caller's own account does not have."""
    own = TENANT_OF_ROLE.get(role)
    if own is None:
        return []

    def names(account) -> set[str]:
        return {*account.ram_users.values_list("user_name", flat=True),
                *account.custom_policies.values_list("name", flat=True),
                *account.roles.values_list("role_name", flat=True)}

    markers = []
    for tenant, account in world.tenants.items():
        if tenant == own:
            continue
        markers.append(f"{account.alias}.")  # logon names: <user>@<alias>.onaliyun.com, owner@<alias>.example
        markers += list(account.access_keys.values_list("access_key_id", flat=True))
        if api:
            markers.append(account.uid)
            markers += [f'"{name}"' for name in sorted(names(account) - names(world.tenants[own]))]
    return [marker for marker in markers if marker in body and marker.strip('"') not in request_text]


def _run_cells(world, rows: list[Row], role: str, *, api: bool) -> tuple[list[str], int, int]:
    """Run every applicable cell of ``role``; return the mismatches, the cells and the requests made."""
    mismatches, cells, requests = [], 0, 0
    for row in rows:
        expected = row.outcomes[role]
        if expected == "-":
            continue
        cells += 1
        try:
            with transaction.atomic():
                cache.clear()
                values = _values(world, row, _setup(world, row, role))
                before = world_state()
                client = Client()
                logon = world.logons[LOGON_OF_ROLE.get(role, role)]
                if logon is not None:
                    client.force_login(logon, backend="console.backends.ConsoleBackend")
                if api:
                    response, made = _api_request(client, world, row, role, values), 1
                else:
                    response, made = _console_request(client, row, values)
                requests += made
                changed = world_state() != before
                if api:
                    actual, code = _api_classify(response, changed)
                    if actual == expected and expected in API_CODES and code not in API_CODES[expected]:
                        actual = f"{actual} ({code})"
                else:
                    actual = _classify(response, changed)
                content = b"".join(response.streaming_content) if response.streaming else response.content
                body = content.decode("utf-8", "replace")
                sent = " ".join([row.target.format(**values), *(value.format(**values) for _name, value in row.params)])
                leaked = _leaks(world, role, body, sent, api=api)
                raise _Rollback(actual, leaked)
        except _Rollback as outcome:
            actual, leaked = outcome.args
        finding = KNOWN_FINDINGS.get((row.label, row.tenant, role))
        if finding and actual == finding[0]:
            warnings.warn(f"known finding, {row.label} as {role}: {finding[1]}", stacklevel=1)
        elif finding:
            mismatches.append(f"{row.label} @{row.tenant}: the finding is gone ({actual}): drop it from KNOWN_FINDINGS")
        elif actual != expected:
            mismatches.append(f"{row.label} {dict(row.params)} @{row.tenant}: expected {expected}, got {actual}")
        if leaked:
            mismatches.append(f"{row.label} @{row.tenant}: response names another tenant's {leaked}")
    return mismatches, cells, requests


# --- The tests ------------------------------------------------------------------------------------

def test_the_tables_cover_every_url_and_every_api_action():
    from django.urls import get_resolver

    def patterns(resolver, prefix=""):
        for pattern in resolver.url_patterns:
            route = prefix + str(pattern.pattern)
            if hasattr(pattern, "url_patterns"):
                if route.startswith("admin/"):
                    continue  # the admin's own routes: sampled by the admin rows
                yield from patterns(pattern, route)
            else:
                yield route

    covered = {re.sub(r"\{[a-z_]+\}", "<>", row.target).lstrip("/") for row in CONSOLE_ROWS}
    routes = {re.sub(r"<[^>]+>", "<>", route) for route in patterns(get_resolver())}
    uncovered = {route for route in routes
                 if not any(re.fullmatch(re.escape(route).replace("<>", "[^/]+"),
                                         target.replace("<>", "x")) for target in covered)}
    assert uncovered == set()
    assert {row.target for row in API_ROWS} == {ROW_PREFIX.get(version, "") + action
                                                for version, actions in APIS.items() for action in actions}
    assert all(_api_version(row.target) for row in API_ROWS)
    assert all(len(row.outcomes) == len(ROLES) for row in CONSOLE_ROWS + API_ROWS)


@pytest.mark.parametrize("role", ROLES)
def test_console_matrix(db, role):
    world = build_world()
    mismatches, cells, requests = _run_cells(world, CONSOLE_ROWS, role, api=False)
    print(f"\nauthorization matrix, console, {role}: {cells} cells, {requests} requests")
    assert cells > 0 and requests >= cells
    assert mismatches == [], "\n".join(mismatches)


@pytest.mark.parametrize("role", [role for role in ROLES if role not in ("auditor", "trainer")])
def test_api_matrix(db, role):
    world = build_world()
    mismatches, cells, _requests = _run_cells(world, API_ROWS, role, api=True)
    print(f"\nauthorization matrix, API, {role}: {cells} cells, {cells} signed calls")
    assert cells == len(API_ROWS)
    assert mismatches == [], "\n".join(mismatches)


def test_the_matrix_counts_its_cells():
    """The figure in docs/SECURITY.md: cells tried (each a request, or a short flow, and a state check)."""
    console = sum(outcome != "-" for row in CONSOLE_ROWS for outcome in row.outcomes.values())
    api = sum(outcome != "-" for row in API_ROWS for outcome in row.outcomes.values())
    assert (len(CONSOLE_ROWS), len(API_ROWS), len(ROLES)) == (127, 130, 10)
    assert (console, api) == (1270, 1040)


def test_the_world_has_what_the_table_assumes(db):
    world = build_world()
    a, b = world.tenants["A"], world.tenants["B"]
    assert not a.allow_user_to_manage_access_keys and not b.allow_user_to_manage_access_keys
    assert set(a.ram_users.values_list("user_name", flat=True)) == {"ram-admin", "reader", "alice", "bob", "carol"}
    assert set(b.ram_users.values_list("user_name", flat=True)) == {"outsider", "stranger", "drifter"}
    assert Account.objects.get(pk=world.tenants["S"].pk).is_sandbox
