"""Programs nobody here wrote, as Debian ships them: stripped binaries, symbols only in the
dynamic symbol table, no frame pointers anywhere."""
import os
import shutil
import unittest

from nsptest import NsprofTest, event, function, workload

PYTHON = "/usr/bin/python3"


class RealPrograms(NsprofTest):
    @unittest.skipUnless(os.path.exists(PYTHON), "Debian's python3 is not installed")
    def test_python_interpreter_loop_is_named(self):
        # Debian's python3 is stripped but exports _PyEval_EvalFrameDefault dynamically.
        # Long enough that the loader's start-up (sampled too, from the first instruction:
        # ld.so's entry code has no CFI, so those few stacks stop short) is a small share.
        rec = self.record([PYTHON, "-c", "sum(i * i for i in range(20_000_000))"])
        ev = event(self.report(rec.files()))
        f = function(ev, "_PyEval_EvalFrameDefault")
        self.assertIsNotNone(f, "the interpreter loop is on the stacks")
        self.assertGreater(f["total_pct"], 50)
        self.assertGreater(ev["stacks"]["root"], 0.95 * ev["samples"])

    @unittest.skipUnless(shutil.which("gzip"), "gzip is not installed")
    def test_stripped_gzip_shows_module_offsets(self):
        data = os.path.join(self.dir, "data")
        with open(data, "wb") as f:
            for i in range(400000):
                f.write(b"line %d of some fairly compressible text %d\n" % (i, i * 7 % 1000))
        rec = self.record([shutil.which("gzip"), "-9", "-f", data])
        doc = self.report(rec.files())
        ev = event(doc)
        gz = [f for f in ev["functions_by_self"] if f["module"] == "gzip"]
        self.assertTrue(gz, "gzip's own code is sampled")
        named = [f for f in gz if f["symbolized"]]
        self.assertLess(sum(f["self_samples"] for f in named),
                        0.05 * sum(f["self_samples"] for f in gz),
                        "a stripped binary is not mis-symbolized: %s" % named[:3])
        self.assertTrue(all(f["name"].startswith("gzip+0x") for f in gz if not f["symbolized"]))
        problems = {p["module"]: p for p in doc["sampling"]["symbol_problems"]}
        self.assertEqual(problems["gzip"]["status"], "no_symbols")
        self.assertGreater(ev["stacks"]["root"], 0.95 * ev["samples"])


class RebuiltBinary(NsprofTest):
    def test_a_binary_rebuilt_since_is_reported_not_misnamed(self):
        app = os.path.join(self.dir, "app")
        shutil.copy(workload("split_cpu"), app)
        rec = self.record([app, "0.5"])
        # The program is rebuilt (here: replaced by another one) before the report.
        os.unlink(app)
        shutil.copy(workload("wall_split"), app)
        doc = self.report(rec.files())
        problems = {p["module"]: p for p in doc["sampling"]["symbol_problems"]}
        self.assertEqual(problems["app"]["status"], "build_id_mismatch", problems)
        names = [f["name"] for f in event(doc)["functions_by_self"] if f["module"] == "app"]
        self.assertTrue(names)
        self.assertTrue(all(n.startswith("app+0x") for n in names),
                        "nothing named after the other build's symbols: %s" % names)


if __name__ == "__main__":
    unittest.main()
