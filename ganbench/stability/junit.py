"""Verdicts as JUnit XML, the format CI systems (GitHub Actions reporters, GitLab, Jenkins) read.

One <testcase> per verdict: classname `ganbench.check.<dataset>.<variant>`, name the
metric. A regression is a <failure>, a run that crashed an <error>, a metric the baseline
has no value for <skipped>. The failure message is the verdict's one-line reason; the
body holds the row's baseline, now and allowed range.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from ..errors import ReportNotWritten
from ..rundir import atomic_write_bytes
from .compare import ERROR, FAIL, NA, Verdict


def to_xml(verdicts: list[Verdict], suite_name: str = "ganbench check", properties: dict | None = None) -> bytes:
    counts = {
        "tests": len(verdicts),
        "failures": sum(v.verdict == FAIL for v in verdicts),
        "errors": sum(v.verdict == ERROR for v in verdicts),
        "skipped": sum(v.verdict == NA for v in verdicts),
    }
    root = ET.Element("testsuites", {k: str(n) for k, n in counts.items()}, name=suite_name)
    suite = ET.SubElement(root, "testsuite", {k: str(n) for k, n in counts.items()}, name=suite_name)
    if properties:
        props = ET.SubElement(suite, "properties")
        for key, value in properties.items():
            ET.SubElement(props, "property", name=str(key), value=str(value))
    for v in verdicts:
        case = ET.SubElement(suite, "testcase", classname=f"ganbench.check.{v.dataset}.{v.variant}", name=v.metric)
        detail = f"baseline {v.baseline}; now {v.now}; allowed {v.allowed}"
        if v.verdict == FAIL:
            ET.SubElement(case, "failure", message=v.message, type="regression").text = detail
        elif v.verdict == ERROR:
            ET.SubElement(case, "error", message=v.message, type="run failed").text = detail
        elif v.verdict == NA:
            ET.SubElement(case, "skipped", message=v.message)
        else:
            ET.SubElement(case, "system-out").text = f"{v.verdict}: {detail}"
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def write(path: str | Path, verdicts: list[Verdict], properties: dict | None = None) -> None:
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, to_xml(verdicts, properties=properties))
    except OSError as exc:
        raise ReportNotWritten(f"cannot write {path} ({exc.strerror}); choose another --junit-xml") from None
