"""Keyed, deterministic, reversible, format-preserving pseudonyms for AWS account and resource ids: FF1.

An account id (12 decimal digits) becomes 12 other digits; a resource id such as vpc-0a1b2c3d or
eni-0123456789abcdef0 keeps its prefix and gets as many other hex digits. The cipher is FF1 from NIST
SP 800-38G (https://doi.org/10.6028/NIST.SP.800-38G, section 6.2): a 10-round Feistel network over
the digits, with AES-CBC-MAC as its round function and a tweak. FF1 works in any radix, so each
domain (12 decimal digits, 8 or 17 hex digits) maps onto itself without cycle-walking; each holds at
least 2**32 values, above FF1's minimum of 10**6. The prefix is the tweak, so vpc-X and subnet-X get
unrelated hex digits. The key is derived from the IP pseudonym key with HKDF-SHA256 (info
"vpcflow resource ids"), so the two schemes never share an AES key.

Why no library: `ff3` (mysto/python-fpe), the usual Python package, implements FF3-1, which the second
draft of SP 800-38G Rev. 1 (2025) withdraws after published attacks; its README says so and calls it
"for educational and experimental use", its tweak is a fixed 7 bytes (tgw-attach has 10), and it brings
pycryptodome as a second AES library. The FF1 packages on PyPI are young and little used. FF1 is a few
lines over `cryptography`'s AES, and the tests check it against NIST's published FF1 samples.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from etl.errors import UsageError
from etl.pseudonymize import MIN_KEY_BYTES

_ACCOUNT = re.compile(r"[0-9]{12}")  # not \d, which also matches other scripts' digits
# The hex part never holds a hyphen, so prefixes with one (tgw-attach) are read whole.
_RESOURCE = re.compile(r"(?P<prefix>[a-z]+(?:-[a-z]+)*)-(?P<hex>[0-9a-f]{17}|[0-9a-f]{8})")
_FORMATS = {10: "d", 16: "x"}
_ROUNDS = 10
_ACCEPTED = (
    "an AWS account id (12 digits) or resource id (a lowercase prefix, '-', and 8 or 17 lowercase hex digits, "
    "like vpc-0a1b2c3d)"
)


@dataclass(frozen=True)
class _Domain:
    """The constants FF1 derives from a radix and a numeral count (steps 1 and 3 to 5 of Algorithm 7)."""

    radix: int
    length: int
    u: int  # numerals in the left half
    v: int  # numerals in the right half
    b: int  # bytes of NUM_radix(B) in each round's block
    d: int  # bytes of the round's AES output used
    header: bytes  # the block P, less the tweak length


@cache
def _domain(radix: int, length: int) -> _Domain:
    u = length // 2
    v = length - u
    b = ((radix**v - 1).bit_length() + 7) // 8  # ceil(ceil(v * log2(radix)) / 8), without floats
    d = 4 * ((b + 3) // 4) + 4
    # S = R suffices while d <= 16, i.e. b <= 12: halves up to 24 hex digits, far above the 9 used here.
    assert d <= 16, "FF1's longer S is not implemented"
    header = bytes([1, 2, 1]) + radix.to_bytes(3) + bytes([10, u % 256]) + length.to_bytes(4)
    return _Domain(radix, length, u, v, b, d, header)


class FF1:
    """FF1 with AES on numeral strings given as numbers, with their radix and numeral count."""

    def __init__(self, key: bytes) -> None:
        self._cbc = Cipher(algorithms.AES(key), modes.CBC(bytes(16)))

    def _round(self, domain: _Domain, tweak: bytes, i: int, half: int) -> int:
        """y of round `i`: AES-CBC-MAC of P || Q, an encryptor per call because they are not thread-safe."""
        t = len(tweak)
        p = domain.header + t.to_bytes(4)
        q = tweak + bytes((-t - domain.b - 1) % 16) + bytes([i]) + half.to_bytes(domain.b)
        return int.from_bytes(self._cbc.encryptor().update(p + q)[-16:][: domain.d])

    def encrypt(self, number: int, radix: int, length: int, tweak: bytes) -> int:
        domain = _domain(radix, length)
        a, b = divmod(number, radix**domain.v)
        for i in range(_ROUNDS):
            m = domain.u if i % 2 == 0 else domain.v
            a, b = b, (a + self._round(domain, tweak, i, b)) % radix**m
        return a * radix**domain.v + b

    def decrypt(self, number: int, radix: int, length: int, tweak: bytes) -> int:
        domain = _domain(radix, length)
        a, b = divmod(number, radix**domain.v)
        for i in reversed(range(_ROUNDS)):
            m = domain.u if i % 2 == 0 else domain.v
            a, b = (b - self._round(domain, tweak, i, a)) % radix**m, a
        return a * radix**domain.v + b


def is_resource_id(text: str) -> bool:
    """Whether `text` is an account id or a resource id that pseudonyms are made for."""
    return _ACCOUNT.fullmatch(text) is not None or _RESOURCE.fullmatch(text) is not None


def _parts(text: str) -> tuple[str, str, int]:
    """The prefix ('' for an account id), the digits and their radix."""
    if _ACCOUNT.fullmatch(text):
        return "", text, 10
    match = _RESOURCE.fullmatch(text)
    if match is None:
        raise UsageError(f"{text!r} is not {_ACCEPTED}")
    return match["prefix"], match["hex"], 16


def _mapped(text: str, cipher: Callable[[int, int, int, bytes], int]) -> str:
    prefix, digits, radix = _parts(text)
    number = cipher(int(digits, radix), radix, len(digits), prefix.encode())
    mapped = format(number, f"0{len(digits)}{_FORMATS[radix]}")
    return f"{prefix}-{mapped}" if prefix else mapped


class IdPseudonymizer:
    """FF1 pseudonyms of account and resource ids under a key of their own, derived from the pseudonym key."""

    def __init__(self, key: bytes) -> None:
        if len(key) < MIN_KEY_BYTES:
            raise UsageError(f"the pseudonym key has {len(key) * 8} bits; a pseudonym key needs at least 128")
        subkey = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"vpcflow resource ids").derive(key)
        self._ff1 = FF1(subkey)

    def pseudonym(self, text: str) -> str:
        return _mapped(text, self._ff1.encrypt)

    def reveal(self, text: str) -> str:
        """The real id behind a pseudonym made with the same key."""
        return _mapped(text, self._ff1.decrypt)
