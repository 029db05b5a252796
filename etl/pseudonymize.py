"""Keyed, deterministic, prefix-preserving and reversible pseudonyms for IP addresses: ipcrypt-pfx.

The scheme is ipcrypt-pfx from the IETF draft draft-denis-ipcrypt (sections 6.2 and 9.6,
https://datatracker.ietf.org/doc/draft-denis-ipcrypt/), checked against its test vectors. Addresses
are taken in their 16-byte form (IPv4 as ::ffff:a.b.c.d, so IPv4 stays IPv4 and IPv6 stays IPv6).
Bit k of that form (k counted from the most significant bit; 96..127 for IPv4, 0..127 for IPv6) is
flipped when the low bit of AES(K1, P) xor AES(K2, P) is 1, where the block P is
`1 << k | the first k bits of the ORIGINAL address`. Since every P depends only on the original
address, the batch path builds all P of all addresses first and encrypts them in one ECB pass per
key: per-call overhead, not AES, is what makes a bit-by-bit loop slow.

Key: ipcrypt-pfx needs 32 bytes whose halves differ. A 256-bit key is used as is, as the draft
does, so any ipcrypt-pfx implementation can reveal with it; any other length of at least 128 bits
is stretched to 256 with HKDF-SHA256 (info "vpcflow ipcrypt-pfx").
"""

from __future__ import annotations

import ipaddress
import secrets
import socket
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from etl.classify import ipv4_numbers
from etl.errors import UsageError
from etl.statedir import create_private, read_private, state_dir, warn_if_open

KEY_FILE = "pseudonym-key"
MIN_KEY_BYTES = 16
PFX_KEY_BYTES = 32
_V4_MAPPED = b"\x00" * 10 + b"\xff\xff"
_V4_START = 96  # IPv4 bits are the last 32 of the 16-byte form
_BLOCKS_PER_CHUNK = 1 << 20  # 16 MiB of AES input per pass keeps memory flat for any batch size
_HEADS = 1 << 16
_HEAD_TABLE_FROM = 8192  # addresses in a batch before building a 65,536-entry table pays off


def _pfx_key(key: bytes, source: str) -> bytes:
    if len(key) < MIN_KEY_BYTES:
        raise UsageError(f"{source} has {len(key) * 8} bits; a pseudonym key needs at least 128 (32 hex digits)")
    pfx = key if len(key) == PFX_KEY_BYTES else _stretch(key)
    if pfx[:16] == pfx[16:]:
        # The two AES outputs would cancel out and every address would be its own pseudonym.
        raise UsageError(f"{source} has two identical halves, which would leave every address as it is; make a new key")
    return pfx


def _stretch(key: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=PFX_KEY_BYTES, salt=None, info=b"vpcflow ipcrypt-pfx").derive(key)


def key_from_hex(text: str, source: str = "VPCFLOW_KEY") -> bytes:
    """The key bytes of a hex string; `source` names where it came from in errors (never the value)."""
    try:
        key = bytes.fromhex(text.strip())
    except ValueError as error:
        raise UsageError(f"{source} is not a hexadecimal pseudonym key") from error
    _pfx_key(key, source)
    return key


def existing_key(home: Path, configured: str | None) -> bytes | None:
    """The configured key, else the one saved in `home`, else None."""
    if configured:
        return key_from_hex(configured)
    warn_if_open(home)
    return _saved_key(home / KEY_FILE)


def _saved_key(path: Path) -> bytes | None:
    """The key in `path`, refused when it is a link or open to other users; None when there is none."""
    try:
        return key_from_hex(read_private(path, "the key file"), f"the key file {path}")
    except FileNotFoundError:
        return None
    except OSError as error:
        raise UsageError(f"cannot read the pseudonym key {path}: {error.strerror}") from error


def load_or_create_key(home: Path, configured: str | None) -> tuple[bytes, Path | None]:
    """The configured key, else the one in `home`, else a new one saved there (returned with its path)."""
    key = existing_key(home, configured)
    if key is not None:
        return key, None
    return _create_key(home / KEY_FILE)


def _create_key(path: Path) -> tuple[bytes, Path | None]:
    key = secrets.token_bytes(PFX_KEY_BYTES)
    try:
        state_dir(path.parent)
        created = create_private(path, key.hex() + "\n")
    except OSError as error:
        raise UsageError(f"cannot write the pseudonym key to {path}: {error.strerror}") from error
    if created:
        return key, path
    saved = _saved_key(path)  # a concurrent first run saved its key first: use that one
    return (saved, None) if saved is not None else _create_key(path)  # unless it is gone again


def _packed(text: str) -> bytes:
    """The 16-byte form of an address (IPv4 mapped into IPv6, as the draft does)."""
    for family, prefix in ((socket.AF_INET, _V4_MAPPED), (socket.AF_INET6, b"")):
        try:
            return prefix + socket.inet_pton(family, text)
        except (OSError, ValueError):  # ValueError: embedded NUL
            continue
    raise UsageError(f"{text!r} is not an IPv4 or IPv6 address")


def _dotted_quads(octets: np.ndarray) -> list[str]:
    """Rows of four octets as `a.b.c.d`."""
    parts = [pc.cast(pa.array(octets[:, i]), pa.string()) for i in range(4)]
    return pc.binary_join_element_wise(*parts, ".").to_pylist()


def _in_chunks(joined: bytes, start: int, transform: Callable[[bytes, int], bytes]) -> bytes:
    """`transform` over concatenated 16-byte forms starting at bit `start`, a bounded number at a time."""
    step = 16 * (_BLOCKS_PER_CHUNK // (128 - start))
    return b"".join(transform(joined[at : at + step], start) for at in range(0, len(joined), step))


def _start(packed: bytes) -> int:
    return _V4_START if packed[:12] == _V4_MAPPED else 0


def _texts(joined: bytes, start: int) -> list[str]:
    """The addresses of concatenated 16-byte forms that all start at bit `start`."""
    if start == _V4_START:
        return [socket.inet_ntop(socket.AF_INET, joined[i + 12 : i + 16]) for i in range(0, len(joined), 16)]
    # RFC 5952 form, as the draft's test vectors print it
    return [str(ipaddress.IPv6Address(joined[i : i + 16])) for i in range(0, len(joined), 16)]


def _window(words: Sequence[np.ndarray | np.uint64], bit: int) -> np.ndarray | np.uint64:
    """The 64 bits starting at `bit` of the bit string made of `words` (most significant first)."""
    index, shift = divmod(bit, 64)
    if shift == 0:
        return words[index]
    return (words[index] << np.uint64(shift)) | (words[index + 1] >> np.uint64(64 - shift))


def _prf_inputs(packed: np.ndarray, first: int, stop: int) -> bytes:
    """The blocks P for bits first..stop-1 of every address, address after address.

    P for bit k is the 128-bit window at offset k of `0^127 1 address`, which is
    `1 << k | address >> (128 - k)`: the draft's padded prefix.
    """
    words = packed.view(">u8").astype(np.uint64)
    zero, one = np.uint64(0), np.uint64(1)
    string = (zero, one, words[:, 0], words[:, 1], zero)
    # Filled bit by bit in contiguous rows, then reordered once: much faster than strided writes.
    blocks = np.empty((stop - first, 2, len(packed)), dtype=np.uint64)
    for k in range(first, stop):
        blocks[k - first, 0] = _window(string, k)
        blocks[k - first, 1] = _window(string, k + 64)
    return blocks.transpose(2, 0, 1).astype(">u8").tobytes()


class Pseudonymizer:
    """ipcrypt-pfx with one key: `pseudonyms` is the fast batch path, `reveal` the inverse."""

    def __init__(self, key: bytes) -> None:
        pfx = _pfx_key(key, "the pseudonym key")
        self._ciphers = tuple(Cipher(algorithms.AES(half), modes.ECB()) for half in (pfx[:16], pfx[16:]))
        self._head_tables: dict[int, np.ndarray] = {}

    def _prf_bits(self, blocks: bytes) -> np.ndarray:
        """The PRF output bit of each 16-byte block (encryptors per call: they are not thread-safe)."""
        first, second = (np.frombuffer(c.encryptor().update(blocks), dtype=np.uint8) for c in self._ciphers)
        return (first[15::16] ^ second[15::16]) & 1

    def _flip_masks(self, packed: np.ndarray, first: int, stop: int) -> np.ndarray:
        """Per address, the bits first..stop-1 to flip, packed into bytes."""
        bits = self._prf_bits(_prf_inputs(packed, first, stop)).reshape(len(packed), stop - first)
        return np.packbits(bits, axis=1)

    def _head_table(self, start: int) -> np.ndarray:
        """The flip masks of the first 16 bits for each of their 65,536 values.

        Those bits' blocks repeat across any large batch; looking their masks up halves the AES work.
        Built once per family and key (about as much work as 32k IPv4 pseudonyms); a race between
        threads builds it twice, to the same value.
        """
        if start not in self._head_tables:
            heads = np.zeros((_HEADS, 16), dtype=np.uint8)
            heads[:, :12] = np.frombuffer(_V4_MAPPED if start == _V4_START else bytes(12), dtype=np.uint8)
            heads[:, start // 8 : start // 8 + 2] = np.arange(_HEADS, dtype=">u2").view(np.uint8).reshape(-1, 2)
            self._head_tables[start] = self._flip_masks(heads, start, start + 16)
        return self._head_tables[start]

    def pseudonym(self, address: str) -> str:
        return self.pseudonyms([address])[0]

    def pseudonyms(self, addresses: Sequence[str]) -> list[str]:
        return self._each_family(addresses, self._encrypt)

    def _each_family(self, addresses: Sequence[str], transform: Callable[[bytes, int], bytes]) -> list[str]:
        """`transform` applied to the addresses' 16-byte forms, IPv4 and IPv6 apart, in chunks.
        Dotted quads, most of any batch, are packed and written back as arrays, not one by one."""
        result = [""] * len(addresses)
        v4, numbers = ipv4_numbers(addresses)
        packed = np.zeros((len(numbers), 16), np.uint8)
        packed[:, :12] = np.frombuffer(_V4_MAPPED, np.uint8)
        packed[:, 12:] = numbers.astype(">u4").view(np.uint8).reshape(-1, 4)
        transformed = np.frombuffer(_in_chunks(packed.tobytes(), _V4_START, transform), np.uint8)
        texts = iter(_dotted_quads(transformed.reshape(-1, 16)[:, 12:]))
        groups: dict[int, list[tuple[int, bytes]]] = {_V4_START: [], 0: []}
        for index, (address, is_v4) in enumerate(zip(addresses, v4.tolist(), strict=True)):
            if is_v4:
                result[index] = next(texts)
                continue
            form = _packed(address)  # IPv6, and IPv4 written another way (::ffff:10.0.0.1)
            groups[_start(form)].append((index, form))
        for start, members in groups.items():
            joined = _in_chunks(b"".join(form for _, form in members), start, transform)
            for (index, _), text in zip(members, _texts(joined, start), strict=True):
                result[index] = text
        return result

    def _encrypt(self, joined: bytes, start: int) -> bytes:
        packed = np.frombuffer(joined, dtype=np.uint8).reshape(-1, 16)
        encrypted, head = packed.copy(), start // 8
        if len(packed) < _HEAD_TABLE_FROM and start not in self._head_tables:
            encrypted[:, head:] ^= self._flip_masks(packed, start, 128)
        else:
            heads = packed[:, head].astype(np.intp) << 8 | packed[:, head + 1]
            encrypted[:, head : head + 2] ^= self._head_table(start)[heads]
            encrypted[:, head + 2 :] ^= self._flip_masks(packed, start + 16, 128)
        return encrypted.tobytes()

    def reveal(self, pseudonym: str) -> str:
        """The real address behind a pseudonym made with the same key."""
        return self.reveals([pseudonym])[0]

    def reveals(self, pseudonyms: Sequence[str]) -> list[str]:
        return self._each_family(pseudonyms, self._decrypt)

    def _decrypt(self, joined: bytes, start: int) -> bytes:
        """Unlike encryption, each block needs the bits decrypted before it: one bit at a time, each
        bit one AES pass over every address."""
        encrypted = np.frombuffer(joined, dtype=">u8").astype(np.uint64).reshape(-1, 2)
        count, zero, one = len(encrypted), np.uint64(0), np.uint64(1)
        original = encrypted.copy()
        original[:, 1] &= np.uint64(0xFFFFFFFF00000000 if start == _V4_START else 0)  # the IPv4-mapped prefix
        if start == 0:
            original[:, 0] = 0
        for k in range(start, 128):
            string = (zero, one, original[:, 0], original[:, 1], zero)
            halves = [np.broadcast_to(_window(string, bit), (count,)) for bit in (k, k + 64)]
            flips = self._prf_bits(np.column_stack(halves).astype(">u8").tobytes()).astype(np.uint64)
            word, shift = k // 64, np.uint64(63 - k % 64)
            original[:, word] |= ((encrypted[:, word] >> shift) & one ^ flips) << shift
        return original.astype(">u8").tobytes()
