"""I/O profiling (--io on): exact calls and bytes per call site and per resource for every
kind of interposed call (tests/workloads/io_truth.c), the names of files, pipes and socket
peers, descriptors that keep their name through dup2 and fcntl, stdio calls served from the
buffer kept apart from those that reached the kernel, and fortified Debian programs (cp, cat)
whose bytes are known from the file they copy."""
import os
import re
import subprocess
import unittest

from nsptest import NsprofTest, workload


def sites_of(io, function, via, kind="kernel"):
    return [s for s in io["sites"] if s["function"] == function and s["via"] == via
            and s["kind"] == kind]


def site(io, function, via, kind="kernel"):
    found = sites_of(io, function, via, kind)
    assert len(found) == 1, "%d %s sites of %s via %s in %s" % (
        len(found), kind, function, via,
        [(s["function"], s["via"], s["kind"]) for s in io["sites"]])
    return found[0]


def resource(io, name, kind="kernel"):
    found = [r for r in io["resources"] if r["resource"] and r["resource"]["name"] == name
             and r["kind"] == kind]
    assert len(found) == 1, "%d %s rows for %s in %s" % (
        len(found), kind, name, [(r["resource"], r["kind"]) for r in io["resources"]])
    return found[0]


class IoTruth(NsprofTest):
    @classmethod
    def setUpClass(cls):
        cls.runs = {}

    def record_truth(self):
        data = os.path.join(self.dir, "data")
        os.mkdir(data)
        rec = self.record([workload("io_truth"), data], "--io", "on")
        m = re.search(r"port (\d+) client_port (\d+) fd (\d+) lines 10", rec.stdout)
        self.assertIsNotNone(m, rec.stdout)
        doc = self.report(rec.files())
        return doc, data, int(m.group(1)), int(m.group(2))

    def test_calls_and_bytes_per_site_are_exact(self):
        doc, _, _, _ = self.record_truth()
        io = doc["io"]
        expected = [  # function, via, calls, bytes
            ("write_log", "write", 50, 5000),
            ("pwrite_data", "pwrite", 20, 10240),
            ("load", "read", 20, 10240),
            ("pread_back", "pread", 10, 5120),
            ("vectored_write", "writev", 5, 300),
            ("vectored_read", "readv", 5, 300),
            ("pipe_send", "write", 7, 231),
            ("pipe_receive", "read", 7, 231),
            ("tcp_send", "send", 9, 1800),
            ("tcp_receive", "recv", 9, 1800),
            ("dup_write", "write", 8, 200),
        ]
        for function, via, calls, nbytes in expected:
            s = site(io, function, via)
            self.assertEqual((s["calls"], s["bytes"]), (calls, nbytes), function)
            self.assertEqual(s["sizes"]["count"], calls, function)
            self.assertEqual(s["avg_bytes"], nbytes // calls, function)
        self.assertEqual((site(io, "tcp", "connect")["calls"], site(io, "tcp", "accept")["calls"]),
                         (1, 1))

    def test_stdio_buffer_calls_are_kept_apart_from_kernel_calls(self):
        io = self.record_truth()[0]["io"]
        # 1000 fwrites of 64 bytes into a 4096-byte buffer: the 64 pieces of a buffer fill it
        # without a flush; the piece after a full buffer flushes it first (pieces 65, 129, ...
        # 961: 15 of them). fflush writes the 1000*64 - 15*4096 bytes left.
        self.assertEqual((site(io, "stdio_write", "fwrite", "stdio")["calls"],
                          site(io, "stdio_write", "fwrite", "stdio")["bytes"]), (985, 985 * 64))
        self.assertEqual((site(io, "stdio_write", "fwrite")["calls"],
                          site(io, "stdio_write", "fwrite")["bytes"]), (15, 15 * 64))
        self.assertEqual((site(io, "stdio_write", "fflush")["calls"],
                          site(io, "stdio_write", "fflush")["bytes"]), (1, 64000 - 15 * 4096))
        # Reading back: a refill at pieces 1, 65, ... 961 (16), and the read at end of file.
        self.assertEqual((site(io, "stdio_read", "fread", "stdio")["calls"],
                          site(io, "stdio_read", "fread", "stdio")["bytes"]), (984, 984 * 64))
        kernel = sorted((s["calls"], s["bytes"]) for s in sites_of(io, "stdio_read", "fread"))
        self.assertEqual(kernel, [(1, 0), (16, 16 * 64)])  # two lines: the loop, the end
        # Ten short lines stay in the buffer until fclose writes their 80 bytes.
        self.assertEqual((site(io, "lines_write", "fputs", "stdio")["calls"],
                          site(io, "lines_write", "fputs", "stdio")["bytes"]), (10, 80))
        self.assertEqual(sites_of(io, "lines_write", "fputs"), [])
        # getline is an inline wrapper of __getdelim: the first line refills, the end-of-file
        # call finds nothing; the nine others come from the buffer.
        getdelim = [s for s in io["sites"] if s["via"] == "getdelim"]
        kernel = [(s["calls"], s["bytes"]) for s in getdelim if s["kind"] == "kernel"]
        buffered = [(s["calls"], s["bytes"]) for s in getdelim if s["kind"] == "stdio"]
        self.assertEqual((kernel, buffered), ([(2, 8)], [(9, 72)]))

    def test_resources_are_named_and_counted_exactly(self):
        io, data, port, client_port = (lambda d: (d[0]["io"], d[1], d[2], d[3]))(self.record_truth())
        path = lambda name: os.path.realpath(os.path.join(data, name))
        # calls: open + writes + close
        log = resource(io, path("log.txt"))
        self.assertEqual((log["resource"]["type"], log["calls"], log["bytes"]), ("file", 52, 5000))
        # two opens, 20 pwrites, 20 reads, 10 preads, two closes
        dat = resource(io, path("data.bin"))
        self.assertEqual((dat["calls"], dat["bytes"]), (54, 25600))
        pipe = resource(io, "pipe")
        self.assertEqual((pipe["resource"]["type"], pipe["calls"], pipe["bytes"]),
                         ("pipe", 16, 462))  # 7 writes, 7 reads, 2 closes
        # The client's socket is named by its peer, the listener; the server's by the client.
        client = resource(io, "tcp 127.0.0.1:%d" % port)
        self.assertEqual((client["resource"]["type"], client["calls"], client["bytes"]),
                         ("socket", 11, 1800))  # connect, 9 sends, close
        server = resource(io, "tcp 127.0.0.1:%d" % client_port)
        self.assertEqual((server["calls"], server["bytes"]), (10, 1800))
        self.assertEqual(resource(io, "tcp local 127.0.0.1:%d" % port)["calls"], 2)
        # Written through a dup2 copy and an fcntl copy after the original was closed.
        dup = resource(io, path("dup.txt"))
        self.assertEqual((dup["calls"], dup["bytes"]), (12, 200))
        stdio_file = resource(io, path("stdio.bin"), "stdio")
        self.assertEqual((stdio_file["calls"], stdio_file["bytes"]), (985 + 984, 1969 * 64))

    def test_nsprof_own_io_is_not_counted(self):
        doc = self.record_truth()[0]
        names = [r["resource"]["name"] for r in doc["io"]["resources"] if r["resource"]]
        for name in names:
            self.assertFalse(name.endswith(".nsp"), "the profile's own writes: %s" % name)
            self.assertNotIn("eventfd", name, "nsprof's wake-ups of its writer")
            self.assertFalse(name.startswith("/proc/"), "nsprof reading /proc: %s" % name)
        functions = {s["function"] for s in doc["io"]["sites"]}
        self.assertFalse(any(f and f.startswith("ns_") for f in functions), functions)

    def test_io_off_writes_no_io_events_and_changes_nothing(self):
        data = os.path.join(self.dir, "plain")
        os.mkdir(data)
        plain = subprocess.run([workload("io_truth"), data], stdout=subprocess.PIPE, text=True)
        os.mkdir(os.path.join(self.dir, "off"))
        rec = self.record([workload("io_truth"), os.path.join(self.dir, "off")])
        self.assertEqual(rec.returncode, plain.returncode)
        strip = lambda out: re.sub(r"port \d+ client_port \d+", "", out)
        self.assertEqual(strip(rec.stdout), strip(plain.stdout))
        doc = self.report(rec.files())
        events = {e["name"] for e in doc["events"]}
        self.assertFalse(any(e.startswith(("io_", "stdio_")) for e in events), events)
        self.assertIsNone(doc["io"])
        on = self.record([workload("io_truth"), data], "--io", "on", name="on.nsp")
        self.assertEqual((on.returncode, strip(on.stdout)), (plain.returncode, strip(plain.stdout)))


class FortifiedPrograms(NsprofTest):
    """Debian's cp and cat, built with _FORTIFY_SOURCE: what they read and wrote is the file."""

    SIZE = 300000

    def make_source(self):
        src = os.path.join(self.dir, "src.bin")
        with open(src, "wb") as f:
            f.write(bytes(range(256)) * (self.SIZE // 256) + b"x" * (self.SIZE % 256))
        return src

    def counters(self, doc):
        return doc["processes"][0]["counters"]

    def test_cp_copy_file_range_bytes_are_the_file_size(self):
        src = self.make_source()
        dst = os.path.join(self.dir, "dst.bin")
        rec = self.record(["/bin/cp", src, dst], "--io", "on")
        with open(src, "rb") as a, open(dst, "rb") as b:
            self.assertEqual(a.read(), b.read())
        doc = self.report(rec.files())
        row = resource(doc["io"], os.path.realpath(dst))
        # cp copies inside the kernel (copy_file_range), accounted to where the bytes land.
        copies = [s for s in doc["io"]["sites"] if s["via"] == "copy_file_range"]
        self.assertEqual(sum(s["bytes"] for s in copies), self.SIZE)
        self.assertEqual(row["bytes"], self.SIZE)
        c = self.counters(doc)
        self.assertGreaterEqual(c["proc_io_wchar"], self.SIZE)
        self.assertGreaterEqual(c["proc_io_rchar"], self.SIZE)

    def test_cat_reads_and_writes_the_file_size(self):
        src = self.make_source()
        out = os.path.join(self.dir, "out.bin")
        with open(out, "wb") as sink:
            # A pipe for stdout, so that cat reads and writes rather than copy_file_range.
            rec = self.record(["/bin/sh", "-c", "/bin/cat \"$1\" | /bin/cat > \"$2\"", "sh",
                               src, out], "--io", "on")
        del sink
        self.assertEqual(os.path.getsize(out), self.SIZE)
        files = rec.files()
        first_cat = None
        for f in files:
            doc = self.report([f])
            argv = doc["processes"][0]["argv"]
            if argv and argv[0] == "/bin/cat" and len(argv) == 2:
                first_cat = doc
        self.assertIsNotNone(first_cat, "no profile of the first cat among %s" % files)
        io = first_cat["io"]
        read = resource(io, os.path.realpath(src))
        reads = [s for s in io["sites"] if s["via"] == "read"]
        self.assertEqual(read["bytes"], self.SIZE)
        self.assertEqual(sum(s["bytes"] for s in reads), self.SIZE)
        writes = [r for r in io["resources"] if r["resource"] and r["resource"]["type"] == "pipe"]
        self.assertEqual(sum(r["bytes"] for r in writes), self.SIZE)
        c = self.counters(first_cat)
        # The kernel's counts include nsprof's own reads of /proc and writes of the profile.
        self.assertGreaterEqual(c["proc_io_rchar"], self.SIZE)
        self.assertGreaterEqual(c["proc_io_wchar"], self.SIZE)


if __name__ == "__main__":
    unittest.main()
