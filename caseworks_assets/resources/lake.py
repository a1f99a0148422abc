"""The Parquet lake: a local folder or a ``gs://`` URL behind one interface.

``LakeIOManager`` stores polars frames returned by assets as
``<root>/<asset key path>[/<partition>].parquet``; ``LakeResource`` gives assets
that manage files themselves (snapshots, exports) the same root. Both resolve
paths through ``universal_pathlib`` so the code does not know which filesystem
it writes to.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
from dagster import (
    ConfigurableIOManagerFactory,
    ConfigurableResource,
    InputContext,
    OutputContext,
    UPathIOManager,
)
from upath import UPath

from caseworks_assets.resources.lake_tables import LakeTable
from caseworks_assets.resources.staging import staged_path, staged_writer
from caseworks_assets.scratch import scratch_folder

#: ``UPath`` protocols of the local filesystem.
LOCAL_PROTOCOLS = ("", "file", "local")


class _PolarsParquetUPathIOManager(UPathIOManager):
    extension = ".parquet"

    def dump_to_path(self, context: OutputContext, obj: pl.DataFrame, path: UPath) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:
            obj.write_parquet(handle)
        context.add_output_metadata({"dagster/row_count": obj.height})  # UPathIOManager adds "path" itself

    def load_from_path(self, context: InputContext, path: UPath) -> pl.DataFrame:
        with path.open("rb") as handle:
            return pl.read_parquet(handle)


class LakeIOManager(ConfigurableIOManagerFactory):
    """Stores polars frames as Parquet under the lake root (folder or ``gs://``)."""

    root: str

    def create_io_manager(self, context) -> _PolarsParquetUPathIOManager:
        return _PolarsParquetUPathIOManager(base_path=UPath(self.root))


class LakeResource(ConfigurableResource):
    """Direct access to lake paths for assets that write files themselves."""

    root: str

    def path(self, *parts: str) -> UPath:
        return UPath(self.root).joinpath(*parts)

    @property
    def is_local(self) -> bool:
        """Whether the lake is a local folder (every path under the root shares its filesystem)."""
        return UPath(self.root).protocol in LOCAL_PROTOCOLS

    @property
    def working_compression(self) -> str:
        """The codec for large files rewritten often and read back soon (e.g. monthly state snapshots).

        On a local disk the writer's CPU is the bottleneck: uncompressed pages
        write and read back about 40% faster than snappy for files about 40%
        larger. On object storage bytes cost transfer and storage: zstd.
        """
        return "uncompressed" if self.is_local else "zstd"

    def write_parquet(
        self,
        frame: pl.DataFrame | pl.LazyFrame,
        *parts: str,
        compression: str = "zstd",
        metadata: dict[str, str] | None = None,
    ) -> UPath:
        """Write ``frame`` atomically enough for one writer: to a temporary name, then rename.

        ``compression`` is polars' codec; ``metadata`` goes into the file's
        key-value metadata (see :meth:`file_metadata`). A lazy frame is
        streamed into the file, never whole in memory.
        """
        target = self.path(*parts)
        with staged_writer(target) as handle:
            if isinstance(frame, pl.LazyFrame):
                frame.sink_parquet(handle, compression=compression, metadata=metadata)
            else:
                frame.write_parquet(handle, compression=compression, metadata=metadata)
        return target

    def write_table(self, frame: pl.DataFrame, *parts: str, compression: str = "zstd") -> LakeTable:
        """Write ``frame`` (see :meth:`write_parquet`) and return the :class:`LakeTable` that publishes the file.

        The warehouse table is then the file itself (a view locally, a load job on BigQuery): the rows are
        written once, not also copied into the warehouse and read back by the checks downstream.
        """
        path = self.write_parquet(frame, *parts, compression=compression)
        return LakeTable(str(path), rows=frame.height)

    def write_csv(self, frame: pl.DataFrame, *parts: str) -> UPath:
        """Write ``frame`` as CSV with a header, staged like :meth:`write_parquet`."""
        target = self.path(*parts)
        with staged_writer(target) as handle:
            frame.write_csv(handle)
        return target

    def copy_in(self, source: Path, *parts: str) -> UPath:
        """Copy a delivered file into the lake byte for byte (staged like every write), e.g. a raw extract."""
        target = self.path(*parts)
        if self.is_local:
            with staged_path(target) as staging:
                shutil.copyfile(source, staging.path)  # the kernel copies; no bytes pass through Python
        else:
            with source.open("rb") as handle, staged_writer(target) as out:
                shutil.copyfileobj(handle, out, length=8 << 20)
        return target

    @contextmanager
    def local_file(self, *parts: str) -> Iterator[Path]:
        """The lake file as a local path for readers that need one: itself locally, a temporary download remotely."""
        path = self.path(*parts)
        if self.is_local:
            yield Path(path.path)
            return
        with scratch_folder("lake") as folder:
            local = folder / path.name
            with path.open("rb") as handle, local.open("wb") as out:
                shutil.copyfileobj(handle, out, length=8 << 20)
            yield local

    def read_parquet(self, *parts: str) -> pl.DataFrame:
        """The file's frame."""
        path = self.path(*parts)
        with path.open("rb") as handle:
            return pl.read_parquet(handle)

    def scan_parquet(self, *parts: str) -> pl.LazyFrame:
        """The file as a lazy frame, read only as far as the query needs.

        Local files by path; ``gs://`` objects through polars' own cloud reader
        (credentials from the environment, as for every Google client), so a
        large remote file is streamed too instead of downloaded whole.
        """
        path = self.path(*parts)
        if self.is_local:
            return pl.scan_parquet(path.path)
        return pl.scan_parquet(str(path))

    def _footer(self, *parts: str) -> pq.FileMetaData:
        """A Parquet file's footer: read without its data, local or remote."""
        with self.path(*parts).open("rb") as handle:
            return pq.ParquetFile(handle).metadata

    def row_count(self, *parts: str) -> int:
        """Rows in a Parquet file, from its footer."""
        return self._footer(*parts).num_rows

    def file_metadata(self, *parts: str) -> dict[str, str]:
        """A Parquet file's key-value metadata (as written with ``metadata=``), from its footer."""
        stored = self._footer(*parts).metadata or {}
        return {key.decode(): value.decode() for key, value in stored.items()}

    def exists(self, *parts: str) -> bool:
        return self.path(*parts).exists()

    def remove(self, *parts: str) -> None:
        """Delete a lake file if it is there."""
        path = self.path(*parts)
        if path.exists():
            path.unlink()
