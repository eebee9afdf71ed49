"""Virtual MFA devices: TOTP seeds (RFC 6238, 6 digits, 30 s) via pyotp, and their QR codes."""
from __future__ import annotations

import io

import pyotp
import segno

from . import sealing
from .models import MfaDevice

ISSUER = "Alibaba Cloud"


def new_seed() -> str:
    return pyotp.random_base32()


def provisioning_uri(*, seed: str, logon_name: str) -> str:
    return pyotp.TOTP(seed).provisioning_uri(name=logon_name, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """An inline SVG QR code of ``uri`` (rendered server-side: no script, no external service)."""
    buffer = io.BytesIO()
    segno.make(uri, error="m").save(buffer, kind="svg", scale=4, border=2, xmldecl=False, svgns=True, omitsize=True,
                                    title="MFA QR code", svgclass="console-qr")
    return buffer.getvalue().decode()


def code_is_valid(*, seed: str, code: str) -> bool:
    """A 6-digit code of this 30-second step or the one before/after (clock drift)."""
    code = (code or "").strip()
    return len(code) == 6 and code.isdigit() and pyotp.TOTP(seed).verify(code, valid_window=1)


def device_code_is_valid(*, device: MfaDevice, code: str) -> bool:
    seed = sealing.unseal_mfa_secret(user_id=device.user_id,
                                     sealed=sealing.Sealed(device.seal_version, bytes(device.secret_sealed)))
    return code_is_valid(seed=seed, code=code)
