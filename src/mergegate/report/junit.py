"""The JUnit report of the gate run (DESIGN §6), built with junit-xml behind this one module.

Every string is cleaned first (ANSI escapes, control characters, lone
surrogates, U+FFFE/U+FFFF), output tails are bounded, and `time` is always
present. Mapping: failed -> failure; error/timeout -> error; a skip that blocks
(a failed need) -> error; other skips and non-blocking problems -> skipped.
Invariant: failures + errors > 0 exactly when the exit code is not 0. An
interrupted run (exit 130) always carries an `interrupted` testcase with an
error, even when every gate that finished passed or only a non-blocking one
was running.
"""

from __future__ import annotations

from xml.etree import ElementTree as ET

from mergegate.excerpt import shorten
from mergegate.redact import Mask
from mergegate.report.text import masked_run, xml_safe
from mergegate.results import GateResult, RunResult, Status

MAX_OUTPUT = 16 * 1024


def _case(result: GateResult) -> object:
    from junit_xml import TestCase

    reason = xml_safe(result.reason) or result.status.value
    output = xml_safe(shorten(result.output_tail, MAX_OUTPUT))
    body = "\n".join(filter(None, [reason, _details_text(result), output]))
    # a passing gate's listed tests (flaky ones, failures within max_failed) show too
    listed = _details_text(result) if result.status is Status.PASSED else ""
    case = TestCase(
        name=xml_safe(result.name),
        classname=f"gates.{xml_safe(result.kind)}",
        elapsed_sec=result.duration,
        stdout="\n".join(filter(None, [listed, output])) or None,
    )
    if not result.blocks and result.status is not Status.PASSED:
        prefix = "" if result.status is Status.SKIPPED else f"non-blocking {result.status.value}: "
        case.add_skipped_info(message=prefix + reason, output=body)
    elif result.status is Status.FAILED:
        case.add_failure_info(message=reason, output=body, failure_type="failed")
    elif result.blocks:
        case.add_error_info(message=reason, output=body, error_type=result.status.value)
    return case


def _details_text(result: GateResult) -> str:
    lines = []
    for key, tag in (("failures", ""), ("flaky_tests", " (flaky: passed on a rerun)")):
        items = result.details.get(key)
        for item in items[:50] if isinstance(items, list) else ():
            if isinstance(item, dict):
                lines.append(
                    f"- {item.get('test') or item.get('script') or ''}{tag}: "
                    f"{item.get('message', '')}".rstrip(": ")
                )
    return xml_safe("\n".join(lines))


_COUNTS = frozenset({"time", "tests", "failures", "errors", "skipped", "disabled"})


def _mask_tree(root: ET.Element, mask: Mask) -> None:
    """``mask`` over every text and attribute (counts and times stay numbers), last."""
    for element in root.iter():
        element.text = mask(element.text) if element.text else element.text
        for key, value in list(element.attrib.items()):
            if key not in _COUNTS:
                element.set(key, mask(value))


def _interrupted_case() -> object:
    from junit_xml import TestCase

    case = TestCase(name="interrupted", classname="gates.run", elapsed_sec=0.0)
    message = "the run was interrupted (exit 130): gates that did not finish are marked"
    case.add_error_info(message=message, output=message, error_type="interrupted")
    return case


def _cached_property(case: ET.Element, result: GateResult) -> None:
    """A pass reused from the result cache says so: <property name="mergegate.cached">."""
    cached = result.details.get("cached")
    if not isinstance(cached, dict):
        return
    value = f"{cached.get('commit') or 'uncommitted'} at {cached.get('at')}"
    props = ET.Element("properties")
    ET.SubElement(props, "property", {"name": "mergegate.cached", "value": xml_safe(value)})
    case.insert(0, props)


def render(run: RunResult, mask: Mask = str) -> str:
    from junit_xml import TestSuite

    run = masked_run(run, mask)
    cases = [_case(g) for g in run.gates]
    if run.interrupted:
        cases.append(_interrupted_case())
    # A partial run (--only/--skip/--shard) says so: its green is not a merge verdict.
    properties = {"partial": "true", "not_run": ",".join(run.not_run)} if run.partial else None
    suite = TestSuite("mergegate", cases, timestamp=None, properties=properties)
    element = suite.build_xml_doc()
    for case in element.iter("testcase"):
        case.set("time", case.get("time") or "0.000000")
    # gates first, in order; an `interrupted` case may follow them
    for case, result in zip(element.iter("testcase"), run.gates, strict=False):
        _cached_property(case, result)
    element.set("time", f"{run.duration:.6f}")
    root = ET.Element(
        "testsuites",
        {
            "name": "mergegate",
            "tests": element.get("tests", "0"),
            "failures": element.get("failures", "0"),
            "errors": element.get("errors", "0"),
            "skipped": element.get("skipped", "0"),
            "time": f"{run.duration:.6f}",
        },
    )
    root.append(element)
    _mask_tree(root, mask)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
