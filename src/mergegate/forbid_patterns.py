"""Built-in pattern sets of the forbid gate: ``builtin: [secrets]``.

Each pattern names one well-known credential format by its fixed prefix or
header, so a match is a real key far more often than a false alarm. The
regular expressions are anchored on word boundaries and bounded in length;
none can match the empty string. Findings never carry the matched text.
"""

from __future__ import annotations

from collections.abc import Mapping

_B = r"(?<![A-Za-z0-9_])"  # no identifier character right before the key
_E = r"(?![A-Za-z0-9_])"  # and none right after

SECRETS: Mapping[str, str] = {
    "aws-access-key-id": _B + r"(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}" + _E,
    "aws-secret-access-key": (
        r"(?i:aws_?secret_?access_?key|aws_?secret_?key)[\"']?\s*[:=]\s*[\"']?"
        r"[A-Za-z0-9/+=]{40}(?![A-Za-z0-9/+=])"
    ),
    "github-token": _B + r"gh[pousr]_[A-Za-z0-9]{36,251}" + _E,
    "github-fine-grained-token": _B + r"github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}" + _E,
    "gitlab-token": _B + r"gl(?:pat|dt|ptt|rt|cbt|oas)-[A-Za-z0-9_\-]{20,64}(?![A-Za-z0-9_\-])",
    "slack-token": _B + r"xox[abprs]-[A-Za-z0-9]{10,48}(?:-[A-Za-z0-9]{1,64}){1,5}",
    "slack-webhook": r"https://hooks\.slack\.com/(?:services|workflows)/T[A-Z0-9]{6,}/[A-Z0-9/]{6,}",
    "private-key": r"-----BEGIN (?:[A-Z0-9]+ ){0,3}PRIVATE KEY(?: BLOCK)?-----",
    "stripe-secret-key": _B + r"(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,247}" + _E,
    "google-api-key": _B + r"AIza[0-9A-Za-z_\-]{35}(?![A-Za-z0-9_\-])",
    "google-oauth-client-secret": _B + r"GOCSPX-[A-Za-z0-9_\-]{28}(?![A-Za-z0-9_\-])",
    "npm-token": _B + r"npm_[A-Za-z0-9]{36}" + _E,
    "pypi-token": _B + r"pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_\-]{50,}",
    "openai-api-key": (
        _B + r"sk-(?:(?:proj|svcacct|admin)-[A-Za-z0-9_\-]{40,}"
        r"|[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20})"
    ),
    "anthropic-api-key": _B + r"sk-ant-(?:api|admin)\d{2}-[A-Za-z0-9_\-]{80,}",
    "sendgrid-api-key": _B + r"SG\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43}(?![A-Za-z0-9_\-])",
    "digitalocean-token": _B + r"do[opr]_v1_[a-f0-9]{64}" + _E,
    "shopify-token": _B + r"shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}" + _E,
    "docker-hub-token": _B + r"dckr_pat_[A-Za-z0-9_\-]{27}(?![A-Za-z0-9_\-])",
    "hashicorp-vault-token": _B + r"hv[sb]\.[A-Za-z0-9_\-]{24,}",
    "azure-storage-key": r"AccountKey=[A-Za-z0-9+/]{86}==",
    "age-secret-key": r"AGE-SECRET-KEY-1[02-9AC-HJ-NP-Z]{58}",
}

BUILTIN_SETS: Mapping[str, Mapping[str, str]] = {"secrets": SECRETS}


def builtin_patterns(names: tuple[str, ...] | list[str]) -> dict[str, str]:
    """The named regexes of the requested built-in sets, in a stable order."""
    out: dict[str, str] = {}
    for name in names:
        out.update(BUILTIN_SETS[name])
    return out
