"""ipcrypt-pfx pseudonyms: the draft's test vectors, the prefix property, reveal, keys and key files."""

from __future__ import annotations

import ipaddress
import random
import stat
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from etl.errors import UsageError
from etl.pseudonymize import KEY_FILE, Pseudonymizer, key_from_hex, load_or_create_key

# draft-denis-ipcrypt, Appendix A.2 (ipcrypt-pfx test vectors).
K1 = "0123456789abcdeffedcba98765432101032547698badcfeefcdab8967452301"
K2 = "2b7e151628aed2a6abf7158809cf4f3ca9f5ba40db214c3798f2e1c23456789a"
VECTORS = [
    (K1, "0.0.0.0", "151.82.155.134"),
    (K1, "255.255.255.255", "94.185.169.89"),
    (K1, "192.0.2.1", "100.115.72.131"),
    (K1, "2001:db8::1", "c180:5dd4:2587:3524:30ab:fa65:6ab6:f88"),
    (K2, "10.0.0.47", "19.214.210.244"),
    (K2, "10.0.0.129", "19.214.210.80"),
    (K2, "10.0.0.234", "19.214.210.30"),
    (K2, "172.16.5.193", "210.78.229.136"),
    (K2, "172.16.97.42", "210.78.179.241"),
    (K2, "172.16.248.177", "210.78.121.215"),
    (K2, "2001:db8::a5c9:4e2f:bb91:5a7d", "7cec:702c:1243:f70:1956:125:b9bd:1aba"),
    (K2, "2001:db8::7234:d8f1:3c6e:9a52", "7cec:702c:1243:f70:a3ef:c8e:95c1:cd0d"),
    (K2, "2001:db8::f1e0:937b:26d4:8c1a", "7cec:702c:1243:f70:443c:c8e:6a62:b64d"),
    (K2, "2001:db8:3a5c:0:e7d1:4b9f:2c8a:f673", "7cec:702c:3503:bef:e616:96bd:be33:a9b9"),
    (K2, "2001:db8:9f27:0:b4e2:7a3d:5f91:c8e6", "7cec:702c:a504:b74e:194a:3d90:b047:2d1a"),
    (K2, "2001:db8:d8b4:0:193c:a5e7:8b2f:46d1", "7cec:702c:f840:aa67:1b8:e84f:ac9d:77fb"),
]
PSEUDONYMIZER = Pseudonymizer(bytes.fromhex(K2))
BITS = {4: 32, 6: 128}


@pytest.mark.parametrize(("key", "address", "pseudonym"), VECTORS)
def test_draft_vectors(key: str, address: str, pseudonym: str) -> None:
    pseudonymizer = Pseudonymizer(bytes.fromhex(key))
    assert pseudonymizer.pseudonym(address) == pseudonym
    assert pseudonymizer.reveal(pseudonym) == address


def test_draft_vectors_in_one_batch() -> None:
    pseudonymizer = Pseudonymizer(bytes.fromhex(K2))
    vectors = [(address, pseudonym) for key, address, pseudonym in VECTORS if key == K2]
    assert pseudonymizer.pseudonyms([address for address, _ in vectors]) == [pseudonym for _, pseudonym in vectors]


def _random_addresses(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    v4 = [str(ipaddress.IPv4Address(rng.getrandbits(32))) for _ in range(count)]
    v6 = [str(ipaddress.IPv6Address(rng.getrandbits(128))) for _ in range(count // 4)]
    mixed = v4 + v6
    rng.shuffle(mixed)
    return mixed


def test_same_key_same_pseudonyms_other_key_others() -> None:
    addresses = _random_addresses(2_000, seed=1)
    key = bytes.fromhex(K1)
    first = Pseudonymizer(key).pseudonyms(addresses)
    assert Pseudonymizer(bytes(bytearray(key))).pseudonyms(addresses) == first
    other = Pseudonymizer(bytes.fromhex(K2)).pseudonyms(addresses)
    assert all(a != b for a, b in zip(first, other, strict=True))


def test_batch_equals_one_by_one_across_table_and_chunk_boundaries() -> None:
    # 40k IPv4 and 10k IPv6 addresses: past the batch size that builds the head tables, and past
    # one chunk (32,768 IPv4 or 8,192 IPv6 addresses).
    addresses = _random_addresses(40_000, seed=2)
    batch = Pseudonymizer(bytes.fromhex(K1)).pseudonyms(addresses)
    one_by_one = Pseudonymizer(bytes.fromhex(K1))  # fresh: single addresses never build the tables
    sample = sorted({0, 1, len(addresses) - 1, *random.Random(3).sample(range(len(addresses)), 1_000)})
    assert [batch[i] for i in sample] == [one_by_one.pseudonym(addresses[i]) for i in sample]
    assert len(set(batch)) == len(set(addresses))


def _mapped(number: int) -> bool:
    return number >> 32 == 0xFFFF  # ::ffff:0:0/96 is IPv4 (draft section 3)


@st.composite
def address_pairs(draw: st.DrawFn, version: int) -> tuple[int, int, int]:
    """Two addresses sharing exactly their first `shared` bits, and `shared`."""
    bits = BITS[version]
    first = draw(st.integers(0, 2**bits - 1))
    shared = draw(st.integers(0, bits))
    if shared == bits:
        return first, first, shared
    below = 1 << (bits - shared - 1)
    second = first ^ (below | draw(st.integers(0, below - 1)))
    return first, second, shared


def _common_prefix(first: int, second: int, bits: int) -> int:
    return bits - (first ^ second).bit_length()


@pytest.mark.parametrize("version", [4, 6])
@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_prefix_preserved(version: int, data: st.DataObject) -> None:
    first, second, shared = data.draw(address_pairs(version))
    if version == 6:
        assume(not _mapped(first) and not _mapped(second))
    texts = [str(ipaddress.ip_address(n) if version == 4 else ipaddress.IPv6Address(n)) for n in (first, second)]
    out = [ipaddress.ip_address(p) for p in PSEUDONYMIZER.pseudonyms(texts)]
    assert [a.version for a in out] == [version, version]
    assert _common_prefix(int(out[0]), int(out[1]), BITS[version]) == shared


@settings(max_examples=200, deadline=None)
@given(address=st.ip_addresses())
def test_reveal_round_trips(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> None:
    assume(not (address.version == 6 and _mapped(int(address))))
    pseudonym = PSEUDONYMIZER.pseudonym(str(address))
    assert ipaddress.ip_address(pseudonym).version == address.version
    assert PSEUDONYMIZER.reveal(pseudonym) == str(address)


def test_ipv4_mapped_ipv6_is_the_ipv4_address() -> None:
    assert PSEUDONYMIZER.pseudonym("::ffff:10.0.0.47") == "19.214.210.244"


@pytest.mark.parametrize("text", ["", "10.0.0", "10.0.0.256", "2001:db8:::1", "fe80::1%eth0", "host.example"])
def test_not_an_address(text: str) -> None:
    with pytest.raises(UsageError, match="not an IPv4 or IPv6 address"):
        PSEUDONYMIZER.pseudonyms(["10.0.0.1", text])
    with pytest.raises(UsageError, match="not an IPv4 or IPv6 address"):
        PSEUDONYMIZER.reveal(text)


@pytest.mark.parametrize(
    ("text", "secret", "problem"),
    [
        ("zz-my-secret-zz", "my-secret", "not a hexadecimal"),
        ("deadbeef" * 3, "deadbeef", "96 bits"),
        ("0123456789abcdef" * 4, "0123456789abcdef", "two identical halves"),
    ],
)
def test_bad_keys_are_named_not_echoed(text: str, secret: str, problem: str) -> None:
    with pytest.raises(UsageError, match=problem) as caught:
        key_from_hex(text)
    assert "VPCFLOW_KEY" in str(caught.value)
    assert secret not in str(caught.value)


def test_short_key_is_stretched() -> None:
    key = key_from_hex(" " + "A5" * 16 + "\n")  # 128 bits, upper case, padded as files and shells leave it
    pseudonymizer = Pseudonymizer(key)
    pseudonym = pseudonymizer.pseudonym("10.0.3.30")
    assert pseudonym != "10.0.3.30"
    assert pseudonymizer.reveal(pseudonym) == "10.0.3.30"
    assert Pseudonymizer(key + bytes(16)).pseudonym("10.0.3.30") != pseudonym


def test_key_file_created_once_with_mode_0600(tmp_path: Path) -> None:
    home = tmp_path / "state"
    key, created = load_or_create_key(home, None)
    path = home / KEY_FILE
    assert created == path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(key) == 32 and path.read_text() == key.hex() + "\n"
    assert load_or_create_key(home, None) == (key, None)
    assert list(home.iterdir()) == [path]  # no leftover temporary file


def test_configured_key_wins_over_the_file(tmp_path: Path) -> None:
    load_or_create_key(tmp_path, None)
    configured = "00112233445566778899aabbccddeeff"
    assert load_or_create_key(tmp_path, configured) == (bytes.fromhex(configured), None)


def test_bad_key_file_names_the_file_not_the_key(tmp_path: Path) -> None:
    (tmp_path / KEY_FILE).write_text("c0ffee\n")
    (tmp_path / KEY_FILE).chmod(0o600)  # private, so what is refused is the key itself
    with pytest.raises(UsageError, match=r"key file .* has 24 bits") as caught:
        load_or_create_key(tmp_path, None)
    assert str(tmp_path / KEY_FILE) in str(caught.value) and "c0ffee" not in str(caught.value)


@pytest.mark.parametrize(
    ("home", "problem"),
    [
        (Path("file") / "state", "cannot read the pseudonym key .*: Not a directory"),
        (Path("/proc/vpcflow-state"), "cannot write the pseudonym key to /proc/vpcflow-state/pseudonym-key"),
    ],
)
def test_unusable_home_is_a_usage_error(tmp_path: Path, home: Path, problem: str) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(UsageError, match=problem):
        load_or_create_key(tmp_path / home, None)
