"""Run one attempt of a transfer job in a process of its own, as a job runner would: for the tests that
kill it (SIGKILL) at chosen points and then resume.

    python run_attempt.py NODE_DIR KIND OPTIONS_JSON CALLS_LOG DELAY_SECS

Every archive call that hands out URLs is appended to CALLS_LOG (one JSON line: name, indexes) before
it returns, and every GET or PUT is slowed by DELAY_SECS, so the tests can stop the job between two
chunks. Prints the process's peak resident memory (kB) when the attempt succeeds.
"""

import json
import sys
import time
from pathlib import Path

import attrs
from snapshot_support import SMALL, Node

from babel_api.models import JobType
from blockvisor_plugins.snapshots.download import Download
from blockvisor_plugins.snapshots.transport import Transport
from blockvisor_plugins.snapshots.upload import Upload


class SlowTransport(Transport):
    def __init__(self, delay: float) -> None:
        super().__init__(timeout=10)
        self.delay = delay

    def get_range(self, *args, **kwargs):
        time.sleep(self.delay)
        return super().get_range(*args, **kwargs)

    def put(self, *args, **kwargs):
        time.sleep(self.delay)
        return super().put(*args, **kwargs)


class LoggedArchive:
    def __init__(self, inner, log: Path) -> None:
        self.inner = inner
        self.log = log

    def _record(self, name: str, indexes) -> None:
        with self.log.open("a") as file:
            file.write(json.dumps({"call": name, "indexes": sorted(indexes)}) + "\n")

    def get_download_metadata(self):
        return self.inner.get_download_metadata()

    def get_download_chunks(self, data_version, indexes):
        self._record("get_download_chunks", indexes)
        return self.inner.get_download_chunks(data_version, indexes)

    def get_upload_slots(self, data_version, indexes, url_expires_secs):
        self._record("get_upload_slots", indexes)
        return self.inner.get_upload_slots(data_version, indexes, url_expires_secs)

    def put_download_manifest(self, manifest, data_version):
        return self.inner.put_download_manifest(manifest, data_version)


def main() -> None:
    node_dir, kind, options, log, delay = sys.argv[1:]
    node = Node(Path(node_dir))
    job_type = JobType.from_json({kind: json.loads(options)})
    ctx = node.context(job_type, LoggedArchive(node.archive(), Path(log)))
    settings = attrs.evolve(SMALL, max_runners=2, piece_size=4096, part_size=4096, compress_threads=2)
    job = Upload if kind == "upload" else Download
    job(ctx, settings.with_options(job_type.data), SlowTransport(float(delay))).run()
    status = Path("/proc/self/status").read_text()
    print(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")))


if __name__ == "__main__":
    main()
