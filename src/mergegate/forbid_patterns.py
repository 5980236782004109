"""Built-in pattern sets of the forbid gate: ``builtin: [secrets]``.

Each pattern names one well-known credential format by its fixed prefix or
header, so a match is a real key far more often than a false alarm. The
regular expressions are anchored on word boundaries and bounded in length;
none can match the empty string. Findings never carry the matched text.

Every pattern also lists ``anchors``: literal text that every match contains.
A block of text holding none of them is not searched at all (a substring test
runs at memory speed; a regex with a look-behind at every position does not).
``fold`` anchors are looked for in the lower-cased text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

_B = r"(?<![A-Za-z0-9_])"  # no identifier character right before the key
_E = r"(?![A-Za-z0-9_])"  # and none right after


@dataclass(frozen=True)
class Builtin:
    regex: str
    anchors: tuple[str, ...]
    fold: bool = False  # anchors are lower-case and looked for case-insensitively


SECRETS: Mapping[str, Builtin] = {
    "aws-access-key-id": Builtin(
        _B + r"(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}" + _E,
        ("AKIA", "ASIA", "ABIA", "ACCA", "A3T"),
    ),
    "aws-secret-access-key": Builtin(
        r"(?i:aws_?secret_?access_?key|aws_?secret_?key)[\"']?\s*[:=]\s*[\"']?"
        r"[A-Za-z0-9/+=]{40}(?![A-Za-z0-9/+=])",
        ("secret",),
        fold=True,
    ),
    "github-token": Builtin(
        _B + r"gh[pousr]_[A-Za-z0-9]{36,251}" + _E, ("ghp_", "gho_", "ghu_", "ghs_", "ghr_")
    ),
    "github-fine-grained-token": Builtin(
        _B + r"github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}" + _E, ("github_pat_",)
    ),
    "gitlab-token": Builtin(
        _B + r"gl(?:pat|dt|ptt|rt|cbt|oas)-[A-Za-z0-9_\-]{20,64}(?![A-Za-z0-9_\-])",
        ("glpat-", "gldt-", "glptt-", "glrt-", "glcbt-", "gloas-"),
    ),
    "slack-token": Builtin(
        _B + r"xox[abprs]-[A-Za-z0-9]{10,48}(?:-[A-Za-z0-9]{1,64}){1,5}",
        ("xoxa-", "xoxb-", "xoxp-", "xoxr-", "xoxs-"),
    ),
    "slack-webhook": Builtin(
        r"https://hooks\.slack\.com/(?:services|workflows)/T[A-Z0-9]{6,}/[A-Z0-9/]{6,}",
        ("hooks.slack.com",),
    ),
    "private-key": Builtin(
        r"-----BEGIN (?:[A-Z0-9]+ ){0,3}PRIVATE KEY(?: BLOCK)?-----", ("PRIVATE KEY",)
    ),
    "stripe-secret-key": Builtin(
        _B + r"(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,247}" + _E,
        ("sk_live_", "sk_test_", "rk_live_", "rk_test_"),
    ),
    "google-api-key": Builtin(_B + r"AIza[0-9A-Za-z_\-]{35}(?![A-Za-z0-9_\-])", ("AIza",)),
    "google-oauth-client-secret": Builtin(
        _B + r"GOCSPX-[A-Za-z0-9_\-]{28}(?![A-Za-z0-9_\-])", ("GOCSPX-",)
    ),
    "npm-token": Builtin(_B + r"npm_[A-Za-z0-9]{36}" + _E, ("npm_",)),
    "pypi-token": Builtin(
        _B + r"pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_\-]{50,}", ("pypi-AgEIcHlwaS5vcmc",)
    ),
    "openai-api-key": Builtin(
        _B + r"sk-(?:(?:proj|svcacct|admin)-[A-Za-z0-9_\-]{40,}"
        r"|[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20})",
        ("sk-",),
    ),
    "anthropic-api-key": Builtin(
        _B + r"sk-ant-(?:api|admin)\d{2}-[A-Za-z0-9_\-]{80,}", ("sk-ant-",)
    ),
    "sendgrid-api-key": Builtin(
        _B + r"SG\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43}(?![A-Za-z0-9_\-])", ("SG.",)
    ),
    "digitalocean-token": Builtin(
        _B + r"do[opr]_v1_[a-f0-9]{64}" + _E, ("dop_v1_", "doo_v1_", "dor_v1_")
    ),
    "shopify-token": Builtin(
        _B + r"shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}" + _E, ("shpat_", "shpca_", "shppa_", "shpss_")
    ),
    "docker-hub-token": Builtin(
        _B + r"dckr_pat_[A-Za-z0-9_\-]{27}(?![A-Za-z0-9_\-])", ("dckr_pat_",)
    ),
    "hashicorp-vault-token": Builtin(_B + r"hv[sb]\.[A-Za-z0-9_\-]{24,}", ("hvs.", "hvb.")),
    "azure-storage-key": Builtin(r"AccountKey=[A-Za-z0-9+/]{86}==", ("AccountKey=",)),
    "age-secret-key": Builtin(r"AGE-SECRET-KEY-1[02-9AC-HJ-NP-Z]{58}", ("AGE-SECRET-KEY-1",)),
}

BUILTIN_SETS: Mapping[str, Mapping[str, Builtin]] = {"secrets": SECRETS}


def builtin_patterns(names: Sequence[str]) -> dict[str, Builtin]:
    """The patterns of the requested built-in sets, in a stable order."""
    out: dict[str, Builtin] = {}
    for name in names:
        out.update(BUILTIN_SETS[name])
    return out
