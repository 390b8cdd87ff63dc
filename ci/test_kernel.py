#!/usr/bin/python3
"""Jupyter protocol conformance of the TypeScript kernel as metalab registers it (jupyter_kernel_test).

Run:  /usr/bin/python3 ci/test_kernel.py            (kernelspec "tslab", as .ci/run registers it)
      KERNEL_NAME=tslab-plain /usr/bin/python3 ci/test_kernel.py   (compare with plain tslab)
Set JUPYTER_PATH to the prefix the kernelspec was installed in (.ci/run does).
"""
import os
import time
import unittest

import jupyter_kernel_test
from jupyter_kernel_test.msgspec_v5 import validate_message

TIMEOUT = 60  # The first cell compiles with tslab's TypeScript; on 2 busy cores that can take 20 s.
jupyter_kernel_test.TIMEOUT = TIMEOUT


class TslabKernelTests(jupyter_kernel_test.KernelTests):
    kernel_name = os.environ.get("KERNEL_NAME", "tslab")
    language_name = "typescript"
    file_extension = ".ts"

    code_hello_world = 'console.log("hello, world")'
    code_stderr = 'console.error("to stderr")'
    completion_samples = [{"text": "Math.ma", "matches": ["max"]}]
    complete_code_samples = ["1 + 1", "const a = 1;", "function f() { return 1; }"]
    incomplete_code_samples = ["function f() {", "const xs = [1,"]
    code_generate_error = 'throw new Error("boom")'
    code_execute_result = [
        {"code": "1 + 2", "result": "3"},
        {"code": '"a" + "b"', "result": "'ab'"},
        {"code": "[1, 2, 3].map((x) => x * 2)", "result": "[ 2, 4, 6 ]"},
    ]
    code_display_data = [
        {"code": 'import * as tslab from "tslab"; tslab.display.html("<b>hi</b>")', "mime": "text/html"},
        {"code": 'import * as tslab from "tslab"; tslab.display.svg("<svg xmlns=\'http://www.w3.org/2000/svg\'></svg>")', "mime": "image/svg+xml"},
    ]
    code_inspect_sample = "Math.max"

    def execute_helper(self, code, timeout=TIMEOUT, **kwargs):
        # The base class binds its 15 s default at import time; cells here may compile for longer.
        return super().execute_helper(code, timeout=timeout, **kwargs)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Warm the compiler so per-test timeouts measure the protocol, not tslab's first compile.
        cls.kc.execute_interactive("1", timeout=TIMEOUT, output_hook=lambda msg: None)

    # --- Checks beyond jupyter_kernel_test's standard ones ---------------------------------------

    def test_kernel_info_status_ok(self):
        """kernel_info_reply must carry status "ok" (protocol 5.x; tslab omits it)."""
        self.flush_channels()
        msg_id = self.kc.kernel_info()
        reply = self.kc.get_shell_msg(timeout=TIMEOUT)
        validate_message(reply, "kernel_info_reply", msg_id)
        self.assertEqual(reply["content"].get("status"), "ok")

    def test_type_error_is_error(self):
        """A TypeScript compile error must be an `error` message and an error reply, not just stderr text."""
        self.flush_channels()
        reply, output_msgs = self.execute_helper('const n: number = "not a number";')
        self.assertEqual(reply["content"]["status"], "error")
        errors = [m for m in output_msgs if m["msg_type"] == "error"]
        self.assertEqual(len(errors), 1, [m["msg_type"] for m in output_msgs])
        self.assertIn("not assignable", errors[0]["content"]["evalue"])

    def test_async_rejection_is_error(self):
        """A rejected top-level await must fail the cell with an `error` message."""
        self.flush_channels()
        reply, output_msgs = self.execute_helper('await Promise.reject(new RangeError("late"));')
        self.assertEqual(reply["content"]["status"], "error")
        errors = [m for m in output_msgs if m["msg_type"] == "error"]
        self.assertEqual(len(errors), 1, [m["msg_type"] for m in output_msgs])
        self.assertEqual(errors[0]["content"]["ename"], "RangeError")

    def test_state_survives_error(self):
        """Declarations made before a failing cell remain usable after it."""
        self.flush_channels()
        self.execute_helper("const kept = 41;")
        self.execute_helper('throw new Error("in between")')
        reply, output_msgs = self.execute_helper("console.log(kept + 1)")
        self.assertEqual(reply["content"]["status"], "ok")
        text = "".join(m["content"].get("text", "") for m in output_msgs if m["msg_type"] == "stream")
        self.assertIn("42", text)

    def test_execution_count_increments(self):
        """execute_reply counts increase by one per stored execution."""
        self.flush_channels()
        first, _ = self.execute_helper("1")
        second, _ = self.execute_helper("2")
        self.assertEqual(second["content"]["execution_count"], first["content"]["execution_count"] + 1)

    def test_comm_info_reply(self):
        """comm_info_request gets a comm_info_reply (tslab answers with a complete_reply)."""
        self.flush_channels()
        msg_id = self.kc.comm_info()
        reply = self.get_non_kernel_info_reply(timeout=TIMEOUT)
        validate_message(reply, "comm_info_reply", msg_id)

    def test_interrupt_stops_awaiting_cell(self):
        """Interrupt (JupyterLab's stop button) ends a cell waiting on a promise, as an error."""
        self.flush_channels()
        msg_id = self.kc.execute("await new Promise((resolve) => setTimeout(resolve, 60000));")
        time.sleep(3)
        self.km.interrupt_kernel()
        reply = self.get_non_kernel_info_reply(timeout=20)
        self.assertEqual(reply["parent_header"]["msg_id"], msg_id)
        self.assertEqual(reply["content"]["status"], "error")
        time.sleep(0.5)
        self.flush_channels()
        reply, output_msgs = self.execute_helper('console.log("alive")')
        self.assertEqual(reply["content"]["status"], "ok")

    def test_history_request_answered(self):
        """history_request gets a valid (empty) history_reply: JupyterLab's console asks for it on start."""
        self.flush_channels()
        msg_id = self.kc.history(hist_access_type="tail", n=10, output=False, raw=True)
        reply = self.get_non_kernel_info_reply(timeout=15)  # Answered in milliseconds when supported.
        validate_message(reply, "history_reply", msg_id)
        self.assertEqual(reply["content"]["history"], [])

    def test_metalab_imports(self):
        """The project's own package loads in the kernel (node_modules/metalab link + dist build)."""
        self.flush_channels()
        reply, output_msgs = self.execute_helper(
            'import * as ml from "metalab"; await ml.ready(); console.log("backend=" + ml.describeBackend())',
            timeout=120,
        )
        text = "".join(m["content"].get("text", "") for m in output_msgs if m["msg_type"] == "stream")
        self.assertEqual(reply["content"]["status"], "ok", text)
        self.assertIn("backend=", text)


if __name__ == "__main__":
    unittest.main(verbosity=2)
