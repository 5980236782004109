"""Redaction (DESIGN §7): clean, then mask every shown form of a value, at cuts too."""

from __future__ import annotations

import base64
import re
import urllib.parse

import pytest

from mergegate.redact import MASK, Redactor, clean

TOKEN = "ghp_Zq8Xv3Lw9Rt2Yk7Mn4Bp6Hs1Jd5Fc0Gx"


def redactor(*values: str) -> Redactor:
    return Redactor.from_environ({f"V{i}_TOKEN": v for i, v in enumerate(values)})


# -- cleaning -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("a\x1b[1;31mb\x1b[0mc", "abc"),
        ("a\x1b]8;;https://x.invalid\x1b\\link\x1b]8;;\x07b", "alinkb"),
        ("a\x1bPdcs data\x1b\\b", "ab"),
        ("a\a\b\x00\x7f\x85\x9bb", "ab"),
        ("a\r\nb\rc", "a\nb\nc"),
        ("a\ud800b\ufffe\uffffc", "abc"),
        ("a\u200bb\u202ec\ufeff", "abc"),
        ("\x1b(B\x1b[mplain", "(Bplain"),
        ("tab\tand\nnewline", "tab\tand\nnewline"),
    ],
)
def test_clean_removes_escapes_and_control_bytes(raw: str, shown: str) -> None:
    assert clean(raw) == shown


# -- forms of a value -----------------------------------------------------------------


def test_value_split_by_an_escape_is_masked_once_the_escape_is_stripped() -> None:
    printed = "ghp_\x1b[1m" + TOKEN.removeprefix("ghp_") + "\n"
    assert redactor(TOKEN).redact(printed) == "***\n"


@pytest.mark.parametrize("byte", ["\a", "\b", "\x00", "\x7f", "\x0b", "\x0c", "\x85"])
def test_a_control_byte_inside_a_value_does_not_defeat_the_mask(byte: str) -> None:
    printed = f"key={TOKEN[:9]}{byte}{TOKEN[9:]}."
    assert redactor(TOKEN).redact(printed) == "key=***."


def test_a_carriage_return_inside_a_value_keeps_the_line_break_but_not_the_value() -> None:
    assert redactor(TOKEN).redact(f"{TOKEN[:7]}\r{TOKEN[7:]}!") == "***\n!"


@pytest.mark.parametrize("value", [TOKEN + "\r", TOKEN + " ", " \t" + TOKEN + "\r\n"])
def test_values_are_matched_with_surrounding_whitespace_trimmed(value: str) -> None:
    assert redactor(value).redact(f"[{TOKEN}]") == "[***]"


def test_each_line_of_a_multi_line_value_is_masked() -> None:
    key = "-----BEGIN KEY-----\nQUJDREVGR0hJSktMTU5P\nUFFSU1RVVldYWVo=\n-----END KEY-----"
    shown = redactor(key).redact("line 2 is QUJDREVGR0hJSktMTU5P alone")
    assert shown == "line 2 is *** alone"


@pytest.mark.parametrize("prefix", [b"", b"a", b"ab", b"abc"])
@pytest.mark.parametrize("encode", [base64.b64encode, base64.urlsafe_b64encode])
def test_base64_forms_are_masked_at_every_alignment(prefix: bytes, encode: object) -> None:
    assert callable(encode)
    value = "p@ss/wörd+~?>" * 2
    blob = encode(prefix + value.encode() + b"\n").decode()
    shown = redactor(value).redact(f"data: {blob}")
    assert MASK in shown
    assert not _decodes_to_a_piece_of(value.encode(), shown)


def test_wrapped_base64_is_masked() -> None:
    value = "x" * 80 + TOKEN
    wrapped = base64.encodebytes(value.encode()).decode()  # 76 characters a line
    assert "\n" in wrapped.rstrip("\n")
    shown = redactor(value).redact(wrapped)
    assert not _decodes_to_a_piece_of(TOKEN.encode(), shown.replace("\n", ""))


@pytest.mark.parametrize(
    "encode",
    [
        lambda v: urllib.parse.quote(v, safe=""),
        urllib.parse.quote,
        urllib.parse.quote_plus,
        lambda v: re.sub("%..", lambda m: m.group().lower(), urllib.parse.quote(v, safe="")),
        lambda v: "".join(f"%{b:02x}" for b in v.encode()),
    ],
)
def test_percent_encoded_forms_are_masked(encode: object) -> None:
    assert callable(encode)
    value = "p@ss wörd/€&=1"
    shown = redactor(value).redact(f"https://u:{encode(value)}@host.invalid/")
    assert shown == "https://u:***@host.invalid/"


def test_short_values_are_reported_not_masked() -> None:
    r = Redactor.from_environ({"DB_PASSWORD": "ab \r", "API_TOKEN": TOKEN})
    assert r.short_names == ("DB_PASSWORD",)
    assert r.redact("ab") == "ab"
    assert "DB_PASSWORD" in r.warnings()[0]


def test_names_and_redact_list_decide_what_is_secret() -> None:
    env = {"PATH": "/usr/bin:/bin", "DEPLOY_HOOK": "https://hooks.invalid/x", "MY_SECRET": TOKEN}
    assert Redactor.from_environ(env).secrets == (TOKEN,)
    both = Redactor.from_environ(env, extra_names=["deploy_hook"])
    assert set(both.secrets) == {TOKEN, "https://hooks.invalid/x"}


# -- cuts -------------------------------------------------------------------------------


@pytest.mark.parametrize("keep", [3, 4, 10, len(TOKEN) - 1])
def test_a_value_cut_by_an_excerpt_marker_is_masked_on_both_sides(keep: int) -> None:
    r = redactor(TOKEN)
    before = r.redact(f"start {TOKEN[:keep]}… [99 bytes cut] …tail")
    after = r.redact(f"head… [99 bytes cut] …{TOKEN[-keep:]} end")
    assert before == "start ***… [99 bytes cut] …tail"
    assert after == "head… [99 bytes cut] …*** end"


def test_a_cut_inside_an_escape_sequence_still_masks_the_piece_behind_it() -> None:
    r = redactor(TOKEN)
    assert r.redact(f"[… 5 bytes of output omitted …]\n1m{TOKEN[8:]} x") == (
        "[… 5 bytes of output omitted …]\n1m*** x"
    )


def test_pieces_away_from_a_cut_are_left_alone() -> None:
    r = redactor(TOKEN)
    text = f"say {TOKEN[:6]} and {TOKEN[-6:]} here, far from any cut"
    assert r.redact(text) == text


def _decodes_to_a_piece_of(secret: bytes, text: str, size: int = 4) -> bool:
    """Whether any base64 run in ``text``, at any alignment, decodes to ``size`` secret bytes."""
    pieces = {secret[i : i + size] for i in range(len(secret) - size + 1)}
    for run in re.findall(r"[A-Za-z0-9+/_-]{4,}", text):
        std = run.replace("-", "+").replace("_", "/")
        for skip in range(4):
            body = std[skip:]
            body = body[: len(body) - len(body) % 4]
            decoded = base64.b64decode(body) if body else b""
            if any(p in decoded for p in pieces):
                return True
    return False
