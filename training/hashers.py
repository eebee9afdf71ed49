"""The password hasher of training sandboxes' generated passwords.

A sandbox's root password (and the console password of its sample user ``dev-lee``) is drawn by
``secrets``: 16 or 20 characters of 62, 95 bits or more. A slow key-derivation function protects a
password a person chose from guessing; against one of 2^95 it adds nothing, and Django's default
(PBKDF2, 1,000,000 iterations: 0.7 s of CPU here) made two thirds of a second per hash the whole
cost of a sandbox (two hashes: 2.3 s of 2.4 s, measured), so that a class of 40 joining at once
queued for a minute. This hasher is PBKDF2 with fewer iterations, used only for those generated
passwords (``make_password(..., hasher=SANDBOX_HASHER)``), never for a password a person sets; it
is last in ``PASSWORD_HASHERS``, so a logon that checks such a password upgrades the stored hash
to the default hasher, as Django does for any hash not made by the first hasher.
"""
from __future__ import annotations

from django.contrib.auth.hashers import PBKDF2PasswordHasher

SANDBOX_HASHER = "pbkdf2_sha256_generated"


class GeneratedPasswordHasher(PBKDF2PasswordHasher):
    algorithm = SANDBOX_HASHER
    iterations = 1000
