"""Virtual MFA devices: TOTP seeds (RFC 6238, 6 digits, 30 s) via pyotp, and their QR codes."""
from __future__ import annotations

import hmac
import io
import time
from datetime import UTC, datetime

import pyotp
import segno
from django.utils.translation import gettext

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
                                    title=gettext("MFA QR code"), svgclass="console-qr")
    return buffer.getvalue().decode()


def matching_step(*, seed: str, code: str, at: float | None = None) -> int | None:
    """The TOTP time step (``unix time // 30``) whose code is ``code``: this step or the one
    before/after it (clock drift). None for a wrong or malformed code."""
    code = (code or "").strip()
    if len(code) != 6 or not code.isdigit() or not code.isascii():
        return None
    totp = pyotp.TOTP(seed)
    now = time.time() if at is None else at
    current = totp.timecode(datetime.fromtimestamp(now, tz=UTC))
    for step in (current, current - 1, current + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def device_seed(device: MfaDevice) -> str:
    """The TOTP seed of a bound device, opened for one check."""
    return sealing.unseal_mfa_secret(user_id=device.user_id,
                                     sealed=sealing.Sealed(device.seal_version, bytes(device.secret_sealed)))
