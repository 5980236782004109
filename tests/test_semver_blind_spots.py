"""griffe's known blind spots and noise on real-looking packages, each in a real git repo.

The base is on main, the change on a feature branch; each test states what a user of the
package would see, and the gate must agree with that.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from mergegate.proc import ProcessManager
from mergegate.results import Outcome, Status
from tests.test_gate_semver import PY_CONFIG, change, make_repo, procs, pyproject, run_gate

__all__ = ["procs"]  # the fixture, imported for pytest


def package(init: str, **modules: str) -> dict[str, str]:
    files = {
        "pyproject.toml": pyproject("1.2.0"),
        "src/mypkg/__init__.py": textwrap.dedent(init),
        "gates.yaml": PY_CONFIG,
    }
    files.update({f"src/mypkg/{name}.py": textwrap.dedent(text) for name, text in modules.items()})
    return files


def judge(
    tmp_path: Path, procs: ProcessManager, base: dict[str, str], head: dict[str, str]
) -> Outcome:
    repo = make_repo(tmp_path, base)
    change(repo, head)
    return run_gate(repo, procs)


def messages(outcome: Outcome) -> list[str]:
    changes = outcome.details["changes"]
    assert isinstance(changes, list)
    return [str(c["message"]) for c in changes if isinstance(c, dict)]


# -- inheritance --------------------------------------------------------------------

CORE = """\
class Base:
    def get_default(self, ctx):
        return None


class Option(Base):
    pass
"""


def test_overriding_an_inherited_method_is_no_addition(
    tmp_path: Path, procs: ProcessManager
) -> None:
    base = package("", core=CORE)
    override = CORE.replace("    pass\n", "    def get_default(self, ctx):\n        return 1\n")
    outcome = judge(tmp_path, procs, base, {"src/mypkg/core.py": override})
    assert outcome.status is Status.PASSED, outcome.reason
    assert messages(outcome) == []


def test_moving_a_method_to_the_base_class_is_no_removal(
    tmp_path: Path, procs: ProcessManager
) -> None:
    before = (
        "class Base:\n    pass\n\n\nclass Option(Base):\n    def get(self):\n        return 1\n"
    )
    after = "class Base:\n    def get(self):\n        return 1\n\n\nclass Option(Base):\n    pass\n"
    outcome = judge(tmp_path, procs, package("", core=before), {"src/mypkg/core.py": after})
    # Base gained a method (an addition); Option still has it: nothing was removed
    assert messages(outcome) == ["added mypkg.core.Base.get"]
    assert "needs minor" in outcome.reason


def test_a_method_removed_from_the_class_and_its_bases_is_removed(
    tmp_path: Path, procs: ProcessManager
) -> None:
    outcome = judge(
        tmp_path,
        procs,
        package("", core=CORE),
        {"src/mypkg/core.py": "class Base:\n    pass\n\n\nclass Option(Base):\n    pass\n"},
    )
    assert outcome.status is Status.FAILED
    assert "removed mypkg.core.Base.get_default" in messages(outcome)
    assert "needs major" in outcome.reason


# -- special methods ----------------------------------------------------------------

WITH_DUNDERS = """\
class Pool:
    def __len__(self):
        return 0

    def __del__(self):
        pass

    def __repr__(self):
        return "Pool()"
"""


def test_removing_del_and_repr_is_not_breaking(tmp_path: Path, procs: ProcessManager) -> None:
    head = "class Pool:\n    def __len__(self):\n        return 0\n"
    outcome = judge(tmp_path, procs, package("", pool=WITH_DUNDERS), {"src/mypkg/pool.py": head})
    assert outcome.status is Status.PASSED, outcome.reason
    assert messages(outcome) == []


def test_removing_a_protocol_method_is_breaking(tmp_path: Path, procs: ProcessManager) -> None:
    head = WITH_DUNDERS.replace("    def __len__(self):\n        return 0\n\n", "")
    outcome = judge(tmp_path, procs, package("", pool=WITH_DUNDERS), {"src/mypkg/pool.py": head})
    assert outcome.status is Status.FAILED
    assert messages(outcome) == ["removed mypkg.pool.Pool.__len__"]


# -- names that were never importable, or still are ---------------------------------


def test_a_name_only_under_type_checking_is_never_removed(
    tmp_path: Path, procs: ProcessManager
) -> None:
    before = """\
    from typing import TYPE_CHECKING

    if TYPE_CHECKING:
        class Protocolish:
            def read(self) -> bytes: ...

    def read_all(source: "Protocolish") -> bytes:
        return source.read()
    """
    after = """\
    def read_all(source: "object") -> bytes:
        return bytes(source)
    """

    outcome = judge(
        tmp_path, procs, package("", io=before), {"src/mypkg/io.py": textwrap.dedent(after)}
    )
    assert outcome.status is Status.PASSED, outcome.reason
    assert messages(outcome) == []


def test_a_deprecated_name_served_by_module_getattr_is_not_removed(
    tmp_path: Path, procs: ProcessManager
) -> None:
    before = """\
    __all__ = ["fetch", "old_fetch"]

    def fetch(url):
        return url

    def old_fetch(url):
        return url
    """
    after = """\
    import warnings

    __all__ = ["fetch"]

    def fetch(url):
        return url

    def __getattr__(name):
        if name == "old_fetch":
            warnings.warn("old_fetch is deprecated, use fetch", DeprecationWarning, stacklevel=2)
            return fetch
        raise AttributeError(name)
    """
    head = {"src/mypkg/net.py": textwrap.dedent(after), "pyproject.toml": pyproject("1.3.0")}
    outcome = judge(tmp_path, procs, package("", net=before), head)
    assert outcome.status is Status.PASSED, outcome.reason
    assert not [m for m in messages(outcome) if "removed" in m]
    # the same removal without the shim is breaking
    repo_path = tmp_path / "again"
    plain = after.split("    def __getattr__")[0]
    outcome = judge(
        repo_path, procs, package("", net=before), {"src/mypkg/net.py": textwrap.dedent(plain)}
    )
    assert outcome.status is Status.FAILED
    assert "removed mypkg.net.old_fetch" in messages(outcome)


# -- noise --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param(
            "class Client:\n    def send(self, data):\n        return data\n",
            "class Client:\n    def send(self, /, data):\n        return data\n",
            id="self-positional-only",
        ),
        pytest.param(
            "def lazy_property(f):\n    return property(f)\n\n\n"
            "class Client:\n    @lazy_property\n    def size(self):\n        return 1\n",
            "from functools import cached_property\n\n\n"
            "def lazy_property(f):\n    return property(f)\n\n\n"
            "class Client:\n    @cached_property\n    def size(self):\n        return 1\n",
            id="lazy_property-to-cached_property",
        ),
        pytest.param(
            "class A:\n    pass\n\n\nclass B(A):\n    pass\n\n\nclass C(B, A):\n    pass\n",
            "class A:\n    pass\n\n\nclass B(A):\n    pass\n\n\nclass C(B):\n    pass\n",
            id="base-still-in-the-mro",
        ),
    ],
)
def test_griffe_noise_is_no_change(
    tmp_path: Path, procs: ProcessManager, before: str, after: str
) -> None:
    outcome = judge(tmp_path, procs, package("", client=before), {"src/mypkg/client.py": after})
    assert outcome.status is Status.PASSED, outcome.reason
    assert messages(outcome) == []


def test_a_base_class_really_dropped_is_breaking(tmp_path: Path, procs: ProcessManager) -> None:
    before = "class A:\n    def a(self):\n        pass\n\n\nclass C(A):\n    pass\n"
    after = "class A:\n    def a(self):\n        pass\n\n\nclass C:\n    pass\n"
    outcome = judge(tmp_path, procs, package("", client=before), {"src/mypkg/client.py": after})
    assert outcome.status is Status.FAILED
    assert "removed a base class of mypkg.client.C" in messages(outcome)


# -- what is public though griffe says not ------------------------------------------

HELPERS = "def helper(x):\n    return x\n\n\ndef other(x):\n    return x\n"


def test_a_plain_re_export_in_a_package_init_is_api(tmp_path: Path, procs: ProcessManager) -> None:
    base = package("from mypkg.core import helper, other\nimport os\n", core=HELPERS)
    head = {"src/mypkg/__init__.py": "from mypkg.core import other\n"}
    outcome = judge(tmp_path, procs, base, head)
    # `from mypkg import helper` breaks; `import os` was never mypkg's API
    assert outcome.status is Status.FAILED, outcome.reason
    assert messages(outcome) == ["removed mypkg.helper"]


def test_a_new_plain_re_export_is_an_addition(tmp_path: Path, procs: ProcessManager) -> None:
    base = package("from mypkg.core import other\n", core=HELPERS)
    head = {"src/mypkg/__init__.py": "from mypkg.core import helper, other\n"}
    outcome = judge(tmp_path, procs, base, head)
    assert messages(outcome) == ["added mypkg.helper"]
    assert "needs minor" in outcome.reason


DYNAMIC = """\
from mypkg import core

__all__ = ["VERSION"]
__all__ += [n for n in dir(core) if not n.startswith("_")]
VERSION = "1"
helper = core.helper
other = core.other
"""


def test_an_all_built_at_import_time_falls_back_to_names(
    tmp_path: Path, procs: ProcessManager
) -> None:
    base = package(DYNAMIC, core=HELPERS)
    head = {"src/mypkg/__init__.py": DYNAMIC.replace("other = core.other\n", "")}
    outcome = judge(tmp_path, procs, base, head)
    # griffe reads __all__ as ["VERSION"] and would call `other` private
    assert outcome.status is Status.FAILED, outcome.reason
    assert messages(outcome) == ["removed mypkg.other"]


def test_additions_are_found_though_griffe_reports_none(
    tmp_path: Path, procs: ProcessManager
) -> None:
    import griffe

    base = package("", core=HELPERS)
    after = HELPERS + "\n\ndef third(x):\n    return x\n"
    old, new = tmp_path / "old", tmp_path / "new"
    for where, text in ((old, HELPERS), (new, after)):
        (where / "mypkg").mkdir(parents=True)
        (where / "mypkg" / "__init__.py").write_text("")
        (where / "mypkg" / "core.py").write_text(text)
    loaded = [griffe.load("mypkg", search_paths=[str(w)]) for w in (old, new)]
    assert list(griffe.find_breaking_changes(*loaded)) == []
    outcome = judge(tmp_path, procs, base, {"src/mypkg/core.py": after})
    assert messages(outcome) == ["added mypkg.core.third"]


def test_a_stale_stub_name_dropped_is_no_removal(tmp_path: Path, procs: ProcessManager) -> None:
    stub = (
        "def helper(x: int) -> int: ...\ndef other(x: int) -> int: ...\ndef gone() -> None: ...\n"
    )
    base = {**package("", core=HELPERS), "src/mypkg/core.pyi": stub}
    head = {"src/mypkg/core.pyi": stub.replace("def gone() -> None: ...\n", "")}
    outcome = judge(tmp_path, procs, base, head)
    # `gone` was never in core.py: no one could import it
    assert outcome.status is Status.PASSED, outcome.reason
    assert messages(outcome) == []


# -- rules the release corpus taught (docs/semver.md, "The corpus") -----------------

NOT_BREAKING = [
    pytest.param(
        "class V:\n    def __eq__(self, o):\n        return True\n\n"
        "    def __ne__(self, o):\n        return False\n",
        "class V:\n    def __eq__(self, o):\n        return True\n",
        id="ne-falls-back-to-eq",  # packaging 21.3
    ),
    pytest.param(
        'from typing import TypeVar\n\nF = TypeVar("F")\n\n\ndef f(x: F) -> F:\n    return x\n',
        "def f(x: object) -> object:\n    return x\n",
        id="type-variable",  # click 8.1.4
    ),
    pytest.param(
        "def attrib(x=1):\n    return x\n\n\ndef attr(x=1):\n    return x\n",
        "def attrib(x=1):\n    return x\n\n\nattr = attrib\n",
        id="function-rebound-as-alias",  # attrs 17.3.0
    ),
    pytest.param(
        "class C:\n    def is_ws(self):\n        return True\n",
        "from functools import lru_cache\n\n\nclass C:\n    def __init__(self):\n"
        "        self.is_ws = lru_cache(maxsize=None)(self._is_ws)\n\n"
        "    def _is_ws(self):\n        return True\n",
        id="method-to-cached-callable",  # tomlkit 0.11.2
    ),
    pytest.param(
        "def add_repr(c):\n    return c\n\n\ndef add_hash(c, hashed):\n    return c\n\n\n"
        "class Attribute:\n    pass\n\n\n"
        "Attribute = add_hash(add_repr(Attribute), hashed=True)\n",
        "class Attribute:\n    pass\n\n\ndef add_repr(c):\n    return c\n\n\n"
        "def add_hash(c, hashed):\n    return c\n",
        id="class-decorated-by-a-call",  # attrs 18.2.0
    ),
    pytest.param(
        "def canonicalize(_version, strip=True):\n    return _version\n",
        "def canonicalize(version, strip=True):\n    return version\n",
        id="private-positional-renamed",  # packaging 20.5
    ),
    pytest.param(
        "class Proxy:\n    def __setitem__(self, key, item):\n        pass\n",
        "class Proxy:\n    def __setitem__(self, key, value):\n        pass\n",
        id="operator-parameter-renamed",  # tomlkit 0.13.3
    ),
    pytest.param(
        "class Frozen(AttributeError):\n    args = ['frozen']\n",
        "class Frozen(AttributeError):\n    pass\n",
        id="member-still-on-a-builtin-base",  # attrs 18.2.0
    ),
]

NOT_BREAKING += [
    pytest.param(
        "def wrap(m):\n    return m\n\n\nclass Integer(int):\n"
        "    __truediv__ = wrap(int.__truediv__)\n",
        "def wrap(m):\n    return m\n\n\nclass Integer(int):\n"
        "    def __truediv__(self, other):\n        return int.__truediv__(self, other)\n",
        id="operator-attribute-to-method",  # tomlkit 0.12.2
    ),
    pytest.param(
        'def array(raw=None):\n    if raw is None:\n        raw = "[]"\n    return raw\n',
        'def array(raw="[]"):\n    return raw\n',
        id="none-sentinel-made-explicit",  # tomlkit 0.12.5
    ),
    pytest.param(
        'class Trivia:\n    def __init__(self, indent=None):\n        self.indent = indent or ""\n',
        'class Trivia:\n    def __init__(self, indent=""):\n        self.indent = indent\n',
        id="or-default-made-explicit",  # tomlkit 0.11.8
    ),
    pytest.param(
        "def attrib(metadata={}):\n    return metadata\n",
        "def attrib(metadata=None):\n    if metadata is None:\n        metadata = {}\n"
        "    return metadata\n",
        id="mutable-default-to-none-sentinel",  # attrs 17.4.0
    ),
    pytest.param(
        "from enum import Enum\n\n\nclass Kind(Enum):\n    A = 1\n\n"
        "    def __init__(self, value):\n        self._checked = value\n",
        "from enum import Enum\n\n\nclass Kind(Enum):\n    A = 1\n",
        id="enum-init",  # tomlkit 0.11.4
    ),
]

STILL_BREAKING = [
    pytest.param(
        "def f(label, dot=False):\n    return label\n",
        "def f(domain, dot=False):\n    return domain\n",
        "removed parameter label of mypkg.client.f",
        id="public-positional-renamed",  # idna 3.15
    ),
    pytest.param(
        '__all__ = ["Optional"]\nfrom typing import Optional\n',
        "__all__ = []\n",
        "removed mypkg.client.Optional",
        id="foreign-name-in-all",
    ),
    pytest.param(
        "def array(raw=None):\n    return raw\n",
        'def array(raw="[]"):\n    return raw\n',
        "changed default of raw in mypkg.client.array: None → '[]'",
        id="none-default-replaced",
    ),
    pytest.param(
        "def make():\n    return 1\n\n\ndef size():\n    return 1\n",
        "def make():\n    return 1\n\n\nsize = make()\n",
        "changed mypkg.client.size from function to attribute",
        id="function-to-a-call-result",
    ),
    pytest.param(
        "class C:\n    def size(self):\n        return 1\n",
        "class C:\n    size = 1\n",
        "changed mypkg.client.C.size from function to attribute",
        id="method-to-plain-value",
    ),
]


@pytest.mark.parametrize(("before", "after"), NOT_BREAKING)
def test_corpus_noise_is_no_break(
    tmp_path: Path, procs: ProcessManager, before: str, after: str
) -> None:
    outcome = judge(tmp_path, procs, package("", client=before), {"src/mypkg/client.py": after})
    assert not [m for m in messages(outcome) if not m.startswith("added ")], outcome.reason


@pytest.mark.parametrize(("before", "after", "expected"), STILL_BREAKING)
def test_the_same_shapes_still_break_when_they_should(
    tmp_path: Path, procs: ProcessManager, before: str, after: str, expected: str
) -> None:
    outcome = judge(tmp_path, procs, package("", client=before), {"src/mypkg/client.py": after})
    assert outcome.status is Status.FAILED, outcome.reason
    assert expected in messages(outcome)
    assert "needs major" in outcome.reason


def test_foreign_imports_exposed_by_a_star_import_are_not_api(
    tmp_path: Path, procs: ProcessManager
) -> None:
    core = "import sys\nfrom typing import Optional\n\n\ndef f(x: Optional[int]):\n    return sys\n"
    base = package("from mypkg.core import *\n", core=core)
    # idna 3.2: core gained an __all__, so `idna.sys` and `idna.re` went away
    head = {"src/mypkg/core.py": '__all__ = ["f"]\n' + core}
    outcome = judge(tmp_path, procs, base, head)
    assert outcome.status is Status.PASSED, outcome.reason
    assert messages(outcome) == []


@pytest.mark.parametrize(
    "method",
    [
        pytest.param(
            '    def __getitem__(self, key):\n        """No."""\n        raise TypeError(key)\n',
            id="only-raises",  # tomlkit 0.15.1
        ),
        pytest.param(
            "    def __sub__(self, other):\n        result = super().__sub__(other)\n"
            "        return result\n",
            id="super-has-none",  # tomlkit 0.11.5
        ),
    ],
)
def test_removing_a_method_that_never_worked_is_no_removal(
    tmp_path: Path, procs: ProcessManager, method: str
) -> None:
    head = "class Item(str):\n    pass\n"
    base = package("", items=head.replace("    pass\n", method))
    outcome = judge(tmp_path, procs, base, {"src/mypkg/items.py": head})
    assert outcome.status is Status.PASSED, outcome.reason
    assert messages(outcome) == []


def test_removing_a_method_that_may_raise_is_removal(tmp_path: Path, procs: ProcessManager) -> None:
    method = (
        "    def get(self):\n        if not self:\n            raise TypeError\n        return 1\n"
    )
    before = "class Item(str):\n" + method
    head = {"src/mypkg/items.py": "class Item(str):\n    pass\n"}
    outcome = judge(tmp_path, procs, package("", items=before), head)
    assert messages(outcome) == ["removed mypkg.items.Item.get"]


def test_a_base_outside_the_package_is_unknown_not_an_error(
    tmp_path: Path, procs: ProcessManager
) -> None:
    before = "from somewhere_else import Base\n\n\nclass Client(Base):\n    pass\n"
    after = before.replace("    pass\n", "    def get(self):\n        return 1\n")
    outcome = judge(tmp_path, procs, package("", client=before), {"src/mypkg/client.py": after})
    # whether Base had `get` cannot be known: the cautious reading is an addition
    assert outcome.status is Status.FAILED, outcome.reason
    assert messages(outcome) == ["added mypkg.client.Client.get"]
