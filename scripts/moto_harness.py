"""Runs a moto server on 127.0.0.1:PORT until the process that started it exits.

The test harness starts this instead of `moto_server` so that no server outlives a
test run, however the run ends.
"""
import os
import sys
import time

from moto.server import ThreadedMotoServer

import moto_fixes  # noqa: F401  (AWS behaviours moto lacks; see the module)

port = int(sys.argv[1])
parent = os.getppid()
server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
server.start()
print("ready", flush=True)
try:
    while os.getppid() == parent:
        time.sleep(0.5)
finally:
    server.stop()
