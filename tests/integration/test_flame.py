"""`nsprof flame` end to end: the data inside the page agrees with `nsprof report --json` on
the same profile (totals per event, per function and per folded stack), the page is one
file that references nothing outside itself, and the output file is created the safe way
(0600, never over an existing file or through a symlink, --force replaces it).
What the page draws from this data is tested in Chromium (tests/browser)."""
import base64
import json
import os
import re
import stat
import subprocess
import unittest
import zlib

from nsptest import NSPROF, NsprofTest, event, weight, workload


def page_data(html):
    m = re.search(r'<script type="application/octet-stream" id="nsprof-data" '
                  r'data-encoding="([a-z0-9-]+)">([^<]*)</script>', html)
    assert m, "no data element in the page"
    if m.group(1) == "json":
        return json.loads(m.group(2))
    return json.loads(zlib.decompress(base64.b64decode(m.group(2)), -15))


def folded_from_view(doc, ev):
    """`a;b;c -> self weight` from a view's pre-order columns (depth gives the parents)."""
    names = [doc["strings"][s] + ("_[i]" if k == 3 else "")
             for s, k in zip(doc["frames"]["name"], doc["frames"]["kind"])]
    nodes, path, out = ev["nodes"], [], {}
    for depth, frame, self in zip(nodes["depth"], nodes["frame"], nodes["self"]):
        del path[max(depth - 1, 0):]
        if depth:
            path.append(names[frame])
        if self and path:
            key = ";".join(path)
            out[key] = out.get(key, 0) + self
    return out


class FlameTest(NsprofTest):
    @classmethod
    def setUpClass(cls):
        cls.shared = NsprofTest("run")
        cls.shared.setUp()
        cls.rec = cls.shared.record([workload("split_cpu"), "1"], "--alloc", "full", "--io", "on")

    @classmethod
    def tearDownClass(cls):
        cls.shared.tearDown()

    def flame(self, *args, out=None, check=True):
        out = out or os.path.join(self.dir, "p.html")
        proc = subprocess.run([NSPROF, "flame", "-o", out, *args, self.rec.out],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if check:
            self.assertEqual(proc.returncode, 0, proc.stderr)
        return proc, out

    def test_data_matches_the_report(self):
        _, out = self.flame()
        with open(out, encoding="utf-8") as f:
            html = f.read()
        doc = page_data(html)
        report = self.report([self.rec.out])
        self.assertEqual([e["name"] for e in doc["events"]], [e["name"] for e in report["events"]])
        for ev in doc["events"]:
            self.assertEqual(ev["total"], event(report, ev["name"])["weight"], ev["name"])
            self.assertEqual(ev["nodes"]["total"][0], ev["total"], ev["name"])
        cpu = next(e for e in doc["events"] if e["name"] == "cpu")
        # Folded cpu lines count samples, the page weighs them: the same stacks.
        self.assertEqual(set(folded_from_view(doc, cpu)),
                         set(self.folded([self.rec.out], "--event", "cpu")))
        # Events of interposed calls are folded by weight: the same numbers.
        for name in ("alloc_bytes", "alloc_count"):
            view = next(e for e in doc["events"] if e["name"] == name)
            self.assertEqual(folded_from_view(doc, view),
                             self.folded([self.rec.out], "--event", name), name)
        names = [doc["strings"][s] for s in doc["frames"]["name"]]
        work_b = sum(t for f, t, d in zip(cpu["nodes"]["frame"], cpu["nodes"]["total"],
                                          cpu["nodes"]["depth"]) if d and names[f] == "work_b")
        self.assertEqual(work_b, weight(event(report), "work_b"))
        self.assertEqual(doc["initial_event"], "cpu")
        self.assertEqual(len(doc["recommendations"]), len(report["recommendations"]))

    def test_page_is_self_contained_and_private(self):
        _, out = self.flame()
        self.assertEqual(stat.S_IMODE(os.stat(out).st_mode), 0o600)
        with open(out, encoding="utf-8") as f:
            html = f.read()
        self.assertNotRegex(html, r"(?i)\b(src|href)\s*=")
        self.assertNotRegex(html, r"(?i)https?://")
        self.assertNotRegex(html, r"(?i)@import|url\(")
        self.assertIn("Content-Security-Policy", html)

    def test_event_option_picks_the_first_view(self):
        _, out = self.flame("--event", "alloc_bytes")
        with open(out, encoding="utf-8") as f:
            doc = page_data(f.read())
        self.assertEqual(doc["initial_event"], "alloc_bytes")
        self.assertIn("cpu", [e["name"] for e in doc["events"]], "--event keeps the other views")
        proc, _ = self.flame("--event", "no_such_event", out=os.path.join(self.dir, "x.html"),
                             check=False)
        self.assertEqual(proc.returncode, 2 if "usage" in proc.stderr else proc.returncode)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("no_such_event", proc.stderr)

    def test_existing_output_and_symlinks_are_never_written_through(self):
        out = os.path.join(self.dir, "p.html")
        with open(out, "w") as f:
            f.write("precious")
        proc, _ = self.flame(out=out, check=False)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("--force", proc.stderr)
        with open(out) as f:
            self.assertEqual(f.read(), "precious")
        target = os.path.join(self.dir, "target")
        with open(target, "w") as f:
            f.write("victim")
        link = os.path.join(self.dir, "link.html")
        os.symlink(target, link)
        for args in ((), ("--force",)):
            self.flame(*args, out=link, check=False)
            with open(target) as f:
                self.assertEqual(f.read(), "victim", "wrote through a symlink with %s" % (args,))
        self.flame("--force", out=out)
        with open(out, encoding="utf-8") as f:
            self.assertTrue(f.read().startswith("<!doctype html>"))

    def test_incomplete_profile_is_said_on_the_page(self):
        cut = os.path.join(self.dir, "cut.nsp")
        with open(self.rec.out, "rb") as f:
            data = f.read()
        with open(cut, "wb") as f:
            f.write(data[:-16])  # the END record: as if the process was killed at the end
        out = os.path.join(self.dir, "cut.html")
        proc = subprocess.run([NSPROF, "flame", "-o", out, cut], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("warning", proc.stderr)
        with open(out, encoding="utf-8") as f:
            notes = page_data(f.read())["notes"]
        self.assertEqual(len(notes), 1, notes)
        self.assertTrue(notes[0].startswith(cut + ": "), notes)
        with open(os.path.join(self.dir, "p.html"), "w"):
            pass
        _, whole = self.flame("--force")
        with open(whole, encoding="utf-8") as f:
            self.assertEqual(page_data(f.read())["notes"], [])

    def test_standard_output(self):
        proc = subprocess.run([NSPROF, "flame", "-o", "-", self.rec.out], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(page_data(proc.stdout.decode())["title"], "split_cpu")

    def test_bad_input_gives_an_error_and_no_page(self):
        bad = os.path.join(self.dir, "bad.nsp")
        with open(bad, "w") as f:
            f.write("not a profile\n")
        out = os.path.join(self.dir, "bad.html")
        proc = subprocess.run([NSPROF, "flame", "-o", out, bad], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
        self.assertEqual(proc.returncode, 1)
        self.assertIn("not an nsprof profile", proc.stderr)
        self.assertFalse(os.path.exists(out))
        proc = subprocess.run([NSPROF, "flame"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("no profile given", proc.stderr)


if __name__ == "__main__":
    unittest.main()
