"""Data for the auditors' admin tests: at least two rows in every list an auditor opens."""
from __future__ import annotations

import os

import pyotp
from django.core.management import call_command

from ram.models import RamUser
from ram.services import mfa_device_bind


def fill_every_admin_list(demo, cli, make_account, models) -> None:
    """30+ AccessKeys (and their users and events) in a second account, a third account, and MFA
    devices bound to three of the demo's logons: at least two rows of every one of ``models``."""
    with open(os.devnull, "w") as devnull:
        call_command("generate_load_data", users=15, keys_per_user=2, events=40, account="arrows", root_keys=1,
                     seed=15, stdout=devnull, stderr=devnull)
    make_account("acme")
    for owner in (demo, RamUser.objects.get(user_name="alice"), RamUser.objects.get(user_name="admin")):
        seed = pyotp.random_base32()
        mfa_device_bind(actor=cli, owner=owner, seed=seed, code=pyotp.TOTP(seed).now())
    assert {model: model.objects.count() >= 2 for model in models} == dict.fromkeys(models, True)
