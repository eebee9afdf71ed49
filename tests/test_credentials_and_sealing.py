"""AccessKey formats and the sealing of secrets at rest."""
import base64
import re

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command

from ram import sealing
from ram.credentials import new_access_key_id, new_access_key_secret
from ram.models import AccessKey
from ram.selectors import access_key_secret_open
from ram.services import access_key_create

KEY_V1 = "1:" + base64.b64encode(b"k" * 32).decode()
KEY_V2 = "2:" + base64.b64encode(b"z" * 32).decode()


def test_access_key_id_is_ltai_and_20_alphanumerics():
    ids = {new_access_key_id() for _ in range(2000)}
    assert len(ids) == 2000
    assert all(re.fullmatch(r"LTAI[A-Za-z0-9]{20}", key_id) for key_id in ids)


def test_access_key_secret_is_30_alphanumerics_and_uses_the_whole_alphabet():
    secrets = [new_access_key_secret() for _ in range(500)]
    assert all(re.fullmatch(r"[A-Za-z0-9]{30}", secret) for secret in secrets)
    assert len(set(secrets)) == 500
    assert set("".join(secrets)) == set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")


def test_random_text_draws_each_character_with_equal_probability():
    """One buffer of the CSPRNG, bytes 248-255 dropped: a byte mapped by ``% 62`` without dropping
    them would draw the first 8 characters 25 % more often than the others (5/256 against 4/256).
    124,000 characters: 2,000 expected of each, σ ≈ 44; the bound, ±12 %, is 5 σ."""
    from collections import Counter

    from ram.credentials import ALPHABET, random_text

    text = random_text(62 * 2000)
    assert len(text) == 62 * 2000 and set(text) <= set(ALPHABET)
    counts = Counter(text)
    assert all(1760 <= counts[character] <= 2240 for character in ALPHABET), counts.most_common(8)
    assert len(random_text(0)) == 0 and len(random_text(1)) == 1


def test_sealed_secret_opens_and_never_contains_the_plaintext():
    secret = new_access_key_secret()
    sealed = sealing.seal(access_key_id="LTAI" + "a" * 20, secret=secret)
    assert secret.encode() not in sealed.blob
    assert sealing.unseal(access_key_id="LTAI" + "a" * 20, sealed=sealed) == secret


def test_same_secret_seals_differently_each_time():
    one = sealing.seal(access_key_id="LTAI" + "a" * 20, secret="s" * 30)
    two = sealing.seal(access_key_id="LTAI" + "a" * 20, secret="s" * 30)
    assert one.blob != two.blob


def test_ciphertext_moved_to_another_key_fails_to_open(make_ram_user, account, cli):
    first = access_key_create(actor=cli, owner=make_ram_user(account)).access_key
    second = access_key_create(actor=cli, owner=make_ram_user(account)).access_key
    swapped = sealing.Sealed(first.seal_version, bytes(first.secret_sealed))
    with pytest.raises(sealing.SealingError):
        sealing.unseal(access_key_id=second.access_key_id, sealed=swapped)


def test_tampered_ciphertext_fails_to_open():
    sealed = sealing.seal(access_key_id="LTAI" + "a" * 20, secret="s" * 30)
    tampered = bytearray(sealed.blob)
    tampered[-1] ^= 1
    with pytest.raises(sealing.SealingError):
        sealing.unseal(access_key_id="LTAI" + "a" * 20, sealed=sealing.Sealed(sealed.version, bytes(tampered)))


def test_wrong_keyring_fails_loudly(settings):
    sealed = sealing.seal(access_key_id="LTAI" + "a" * 20, secret="s" * 30)
    settings.RAM_SEALING_KEYS = "1:" + base64.b64encode(b"x" * 32).decode()
    with pytest.raises(sealing.SealingError):
        sealing.unseal(access_key_id="LTAI" + "a" * 20, sealed=sealed)


@pytest.mark.parametrize("spec", ["", "garbage", "1:" + base64.b64encode(b"short").decode(),
                                  "0:" + base64.b64encode(b"k" * 32).decode(), f"{KEY_V1},{KEY_V1}"])
def test_malformed_keyring_is_refused(settings, spec):
    settings.RAM_SEALING_KEYS = spec
    with pytest.raises(ImproperlyConfigured):
        sealing.seal(access_key_id="LTAI" + "a" * 20, secret="s" * 30)


def test_newest_key_version_seals(settings):
    settings.RAM_SEALING_KEYS = f"{KEY_V1},{KEY_V2}"
    assert sealing.seal(access_key_id="LTAI" + "a" * 20, secret="s" * 30).version == 2


def test_rotation_reseals_every_row_and_every_key_still_opens(settings, make_ram_user, account, cli, capsys):
    settings.RAM_SEALING_KEYS = KEY_V1
    issued = [access_key_create(actor=cli, owner=make_ram_user(account)) for _ in range(7)]
    assert set(AccessKey.objects.values_list("seal_version", flat=True)) == {1}

    settings.RAM_SEALING_KEYS = f"{KEY_V1},{KEY_V2}"
    call_command("rotate_secret_keys", "--batch-size", "3")
    assert "Re-sealed 7 of 7" in capsys.readouterr().out
    assert set(AccessKey.objects.values_list("seal_version", flat=True)) == {2}

    settings.RAM_SEALING_KEYS = KEY_V2  # the old version retired
    for item in issued:
        key = AccessKey.objects.get(pk=item.access_key.pk)
        assert access_key_secret_open(access_key=key) == item.secret


def test_rotation_without_the_old_key_version_stops_with_an_error(settings, make_ram_user, account, cli):
    settings.RAM_SEALING_KEYS = KEY_V1
    access_key_create(actor=cli, owner=make_ram_user(account))
    settings.RAM_SEALING_KEYS = KEY_V2
    # version 1 rows cannot be opened, but nothing is below the newest version 2 … so add a v3
    settings.RAM_SEALING_KEYS = KEY_V2 + ",3:" + base64.b64encode(b"q" * 32).decode()
    from django.core.management.base import CommandError
    with pytest.raises(CommandError, match="version 1 is not in the keyring"):
        call_command("rotate_secret_keys")
    assert AccessKey.objects.get().seal_version == 1


def test_a_key_sealed_under_a_version_this_server_lacks_is_a_clean_503(settings, make_ram_user, account, cli, client):
    """A keyring rolled out to some servers only: a key sealed under the new version reaches a server
    still on the old keyring. That server cannot verify the call: ServiceUnavailable, not a 500."""
    from ram.services import access_key_create

    from .api_helpers import send, v3_call

    settings.RAM_SEALING_KEYS = f"{KEY_V1},{KEY_V2}"
    issued = access_key_create(actor=cli, owner=account)
    settings.RAM_SEALING_KEYS = KEY_V1  # this server has not been given version 2 yet
    response = send(client, v3_call("ListUsers", {}, key_id=issued.access_key.access_key_id, secret=issued.secret))
    assert (response.status_code, response.json()["Code"]) == (503, "ServiceUnavailable")
    settings.RAM_SEALING_KEYS = f"{KEY_V1},{KEY_V2}"
    response = send(client, v3_call("ListUsers", {}, key_id=issued.access_key.access_key_id, secret=issued.secret))
    assert response.status_code == 200
