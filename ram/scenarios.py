"""The use-case scenarios of the Create AccessKey dialog, each with its safer alternative."""
from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from .models import AccessKey

S = AccessKey.Scenario


@dataclass(frozen=True)
class Alternative:
    title: str
    text: str
    # Where the console implements it: a link label and the Create Role page prefilled (its query).
    link: tuple[str, str] | None = None


ASSUMABLE_ROLE = (_("Create a RAM role you can assume"), "entity=account&account=current")


ALTERNATIVES: dict[str, Alternative] = {
    S.CLI: Alternative(
        _("Use CLI sign-in or CloudShell"),
        _("Sign in to Alibaba Cloud CLI with your console identity (aliyun configure --mode CloudSSO or OAuth), "
          "or run commands in CloudShell in the browser. Neither needs a long-term AccessKey pair."),
        ASSUMABLE_ROLE,
    ),
    S.LOCAL_DEVELOPMENT: Alternative(
        _("Use temporary credentials from STS"),
        _("Assume a RAM role to get temporary credentials from Security Token Service (STS). They expire on "
          "their own, so a leaked copy on a laptop stops working within the hour."),
        ASSUMABLE_ROLE,
    ),
    S.ON_ALIBABA_CLOUD: Alternative(
        _("Use an instance RAM role or RRSA"),
        _("Attach a RAM role to the ECS instance or ECI container group, give the Function Compute function a "
          "role, or use RAM Roles for Service Accounts (RRSA) in ACK. The SDK fetches rotating temporary "
          "credentials; no key is stored in code or configuration."),
        (_("Create a RAM role for ECS"), "entity=service&service=ecs.aliyuncs.com"),
    ),
    S.OUTSIDE_ALIBABA_CLOUD: Alternative(
        _("Use STS through a RAM role"),
        _("Let the application assume a RAM role (AssumeRole, or AssumeRoleWithOIDC / SAML from your own "
          "identity provider) and use the temporary credentials from STS instead of a permanent key."),
        ASSUMABLE_ROLE,
    ),
    S.THIRD_PARTY_SERVICE: Alternative(
        _("Create a RAM role with a trust policy"),
        _("Create a RAM role whose trust policy names the third party's Alibaba Cloud account, and grant it only "
          "the permissions it needs. The third party assumes the role; you never hand over a key."),
        (_("Create a RAM role for another account"), "entity=account&account=other"),
    ),
    S.OTHER: Alternative(
        _("Consider temporary credentials first"),
        _("If a RAM role with STS temporary credentials can serve your case, use it. If you do create an "
          "AccessKey pair, grant the RAM user only the permissions it needs and rotate the key regularly."),
        ASSUMABLE_ROLE,
    ),
}

SAFER_NOTE = _("Temporary credentials (such as RAM roles) are more secure than long-term AccessKey pairs.")
