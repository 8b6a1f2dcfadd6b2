"""A JUnit XML report of a replay, for CI systems that show test results.

One ``testsuite``, one ``testcase`` per item; a failed comparison is a
``failure``, an item that could not be used at all an ``error``. Built
with ElementTree so every message is escaped, and written atomically.
"""

import xml.etree.ElementTree as ET

from .atomic import atomic_open

SUITE = "simtreino replay"


def junit_xml(results, seconds: float) -> bytes:
    failures = sum(1 for r in results if not r.ok and not r.error)
    errors = sum(1 for r in results if r.error)
    root = ET.Element("testsuites", name=SUITE, tests=str(len(results)),
                      failures=str(failures), errors=str(errors), time=f"{seconds:.3f}")
    suite = ET.SubElement(root, "testsuite", name=SUITE, tests=str(len(results)),
                          failures=str(failures), errors=str(errors), skipped="0",
                          time=f"{seconds:.3f}")
    for r in results:
        case = ET.SubElement(suite, "testcase", classname=f"simtreino.{r.kind}", name=r.name,
                             time=f"{r.seconds:.3f}")
        if not r.ok:
            tag = "error" if r.error else "failure"
            el = ET.SubElement(case, tag, message=_clean(r.message),
                               type="InputError" if r.error else "ReplayMismatch")
            el.text = _clean("\n".join([r.message, *r.notes]))
        elif r.notes or r.message:
            out = ET.SubElement(case, "system-out")
            out.text = _clean("\n".join([r.message, *r.notes]))
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def write_junit(path, results, seconds: float) -> None:
    data = junit_xml(results, seconds)
    with atomic_open(path, "wb") as f:
        f.write(data)


def _clean(text: str) -> str:
    # XML 1.0 cannot hold most control characters, even escaped.
    return "".join(c for c in str(text) if c in "\t\n\r" or ord(c) >= 0x20)
