"""Storage: the SQLite run store (:mod:`quantmarl.io.store`, schema and migrations in
:mod:`quantmarl.io.schema`)."""

from quantmarl.io.schema import VERSION as SCHEMA_VERSION
from quantmarl.io.store import RunStore, StepChunk

__all__ = ["SCHEMA_VERSION", "RunStore", "StepChunk"]
