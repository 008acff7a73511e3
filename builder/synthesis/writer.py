"""One batch through every codec, and the files that come out of it.

The codec always sees the whole batch (finished files included), because its output for one clip
may depend on its batch-mates and a resumed run must reproduce every byte. Only files still
missing are written, each followed by its provenance record.
"""

from __future__ import annotations

import hashlib
import threading
from collections import deque
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np

from codecfake import CodecfakeError
from codecfake_core.audio import resample
from codecfake_core.environment import package_versions
from codecfake_core.io import atomic_write_bytes

from ..sources.manifest import Utterance
from .decode import Source
from .provenance import FileRecord, RunLog
from .release import encode_wav
from .settings import Settings
from .work import Output

WRITER_THREADS = 4


class BatchWriter:
    """Makes the files of one batch: reals first, then each codec over the whole batch.

    Files are encoded and written by background threads while the next batch is coded; each
    task logs its file's record strictly after the file itself is in place. Several threads,
    because each file is fsynced before its rename: the file system commits concurrent fsyncs
    together, so four writers wait on the disk about half as long per file as one.
    """

    def __init__(self, settings: Settings, codecs: Mapping[str, Any], log: RunLog, device: str):
        self.settings = settings
        self.codecs = codecs
        self.log = log
        self.device = device
        self.versions = package_versions()
        self.failures: list[dict[str, Any]] = []
        self.written = 0
        self._counting = threading.Lock()
        self._writer = ThreadPoolExecutor(max_workers=WRITER_THREADS)
        self._in_flight: deque[list[Future[None]]] = deque()

    def run(self, sources: dict[str, Source], outputs: dict[str, list[Output]], pending: set[str]):
        rate = self.settings.sample_rate
        writes = []
        for utterance, source in sources.items():
            reals = [o for o in outputs[utterance] if o.condition is None and o.file in pending]
            if reals:
                writes.append(self._writer.submit(self.write, reals, source.at(rate), rate, source))
        for name, codec in self.codecs.items():
            # The codec always sees the whole batch, finished files included: its output for one
            # clip may depend on its batch-mates, and a resumed run must reproduce it exactly.
            members = [(o, sources[u]) for u in sources for o in outputs[u] if o.condition == name]
            if not any(o.file in pending for o, _ in members):
                continue
            try:
                results = codec.resynthesize([s.at(codec.sample_rate) for _, s in members])
            except CodecfakeError:
                raise
            except Exception as error:  # one bad batch is reported; the run goes on
                for output, source in members:
                    if output.file in pending:
                        self.fail(source.utterance, name, f"{type(error).__name__}: {error}")
                continue
            for (output, source), result in zip(members, results, strict=True):
                if len(result) != len(source.at(codec.sample_rate)):
                    raise CodecfakeError(
                        f"codec for {name} returned {len(result)} samples for "
                        f"{len(source.at(codec.sample_rate))} (backends must trim to the input)"
                    )
                if output.file in pending:
                    task = self._writer.submit(
                        self.write, [output], result, codec.sample_rate, source, codec
                    )
                    writes.append(task)
        self._in_flight.append(writes)
        if len(self._in_flight) > 1:  # at most the previous batch is still being written
            self.wait(self._in_flight.popleft())

    @staticmethod
    def wait(tasks: list[Future[None]]) -> None:
        for task in tasks:
            task.result()  # a failed write (a full disk) stops the run here

    def finish(self) -> None:
        """Wait for every file; re-raise the first write error."""
        try:
            while self._in_flight:
                self.wait(self._in_flight.popleft())
        finally:
            self._writer.shutdown(wait=True)

    def write(
        self, outputs: list[Output], audio: np.ndarray, rate: int, source: Source, codec: Any = None
    ) -> None:
        """Resample to the output rate, encode once, write each file, then log its record."""
        target = self.settings.sample_rate
        data = encode_wav(resample(audio, rate, target), target)
        digest = hashlib.sha256(data).hexdigest()
        for output in outputs:
            atomic_write_bytes(self.settings.out / output.file, data)
            self.log.append(self.record(output, digest, source, codec))
            with self._counting:
                self.written += 1

    def record(self, output: Output, digest: str, source: Source, codec: Any) -> FileRecord:
        return FileRecord(
            file=output.file,
            label=output.label,
            idx=output.idx,
            split=output.split,
            condition=output.condition or "real",
            utterance=output.utterance,
            sha256=digest,
            sample_rate=self.settings.sample_rate,
            source={
                "corpus": source.corpus,
                "path": source.utterance.path,
                "sha256": source.sha256,
            },
            codec=codec.spec.to_record() if codec is not None else None,
            checkpoint=dict(codec.provenance) if codec is not None else None,
            weights=self.settings.weights if codec is not None else None,
            device=self.device if codec is not None else None,
            versions=self.versions,
        )

    def fail(self, utterance: Utterance, condition: str | None, error: str) -> None:
        self.failures.append(
            {
                "utterance": utterance.id,
                "source": utterance.path,
                "condition": condition,
                "error": error,
            }
        )
