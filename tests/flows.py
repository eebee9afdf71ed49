"""The Create AccessKey dialogs' form data, as a browser posts them (both are formtools wizards)."""
from __future__ import annotations

import re

USER_WIZARD_STEP = "access_key_create_wizard-current_step"
ROOT_WIZARD_STEP = "root_access_key_create_wizard-current_step"
_RUN = re.compile(r'name="wizard_run" value="([^"]+)"')


def wizard_run(html: str) -> str:
    """The run token a Create AccessKey dialog carries."""
    return _RUN.search(html).group(1)


def root_confirm(run: str, *, aware: bool = True) -> dict[str, str]:
    """The root's "Create Main Account AccessKey" step: the risk confirmation."""
    return {ROOT_WIZARD_STEP: "confirm", "wizard_run": run, **({"confirm-aware": "on"} if aware else {})}


def root_code(run: str, code: str) -> dict[str, str]:
    """The root's Security Verification step (when the root has MFA)."""
    return {ROOT_WIZARD_STEP: "verification", "wizard_run": run, "verification-code": code}


def confirm_rotation_if_asked(client, url: str, page: str, run: str) -> int:
    """A RAM user who has a key already: the dialog's first step is the rotation's confirmation.
    Gives it when ``page`` (the dialog as opened) asks it; returns the requests sent (0 or 1)."""
    if f'name="{USER_WIZARD_STEP}" value="rotation"' not in page:
        return 0
    client.post(url, {USER_WIZARD_STEP: "rotation", "wizard_run": run, "rotation-confirm_rotation": "on"})
    return 1
