"""Start and stop the local Mongo-wire server (SecantusDB) for `make up` and tests.

Production talks to a MongoDB replica set; nothing else in the code knows which
server it talks to. This module is only used by the local run and the tests.
"""
import os
import shutil
import socket
import subprocess
import sys
import time

import pymongo


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def local_uri(port):
    return f"mongodb://127.0.0.1:{port}/?retryWrites=false&directConnection=true"


def server_command(port, storage_path):
    exe = shutil.which("secantusd-py") or os.path.join(os.path.dirname(sys.executable), "secantusd-py")
    command = [exe, "--host", "127.0.0.1", "--port", str(port), "--storage-path", storage_path,
               "--log-level", "WARNING"]
    if storage_path != ":memory:":
        # Without it the server acknowledges a commit before its log reaches the file,
        # and a SIGKILL loses the last acknowledged writes (measured: the last
        # transaction and inserts of the last few ms). Data kept on disk must survive
        # a kill as a replica set's majority-acknowledged writes survive a failover.
        command.append("--sync-on-commit")
    return command


def wait_until_up(uri, timeout=60.0):
    deadline = time.monotonic() + timeout
    while True:
        try:
            client = pymongo.MongoClient(uri, serverSelectionTimeoutMS=500)
            client.admin.command("ping")
            client.close()
            return
        except pymongo.errors.PyMongoError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"Mongo-wire server at {uri} did not answer in {timeout}s")
            time.sleep(0.2)


def start(port, storage_path, log_file):
    """Start the server as its own process and wait until it answers a ping."""
    proc = subprocess.Popen(
        server_command(port, storage_path),
        stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True,
    )
    wait_until_up(local_uri(port))
    return proc
