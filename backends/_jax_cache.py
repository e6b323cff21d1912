"""JAX's persistent compilation cache, bounded without a scan of its folder on every write.

With ``jax_compilation_cache_max_size`` set (backends/keras3.py sets 2 GiB, for the file lock
that comes with it: two runs at once never read each other's half-written entry), JAX's
``LRUCache.put`` lists the whole folder and reads every entry's access time before each write,
to see whether something must be evicted. A cold run writes about 700 programs into one folder:
the listings grow with it, some 250,000 file reads in all, about a fifth of Keras on JAX's CPU
time in a cold run. :func:`tally_cache_size` makes the worker's cache keep a running total of
the folder's size instead: JAX's own eviction runs, unchanged, when the total would pass the bound
and at every :data:`RECOUNT`-th write (other processes write into the same folder); the lock, the
reads, the writes and the executables are JAX's own.
"""
from __future__ import annotations

RECOUNT = 64  # writes between two counts of the folder


def tally_cache_size() -> bool:
    """Make JAX's file cache, when this process creates it, one that tallies its size; False
    where this JAX has no such cache (an older release: left alone)."""
    try:
        from jax._src import compilation_cache, lru_cache
    except ImportError:
        return False
    base = getattr(lru_cache, "LRUCache", None)
    if base is None or getattr(compilation_cache, "LRUCache", None) is not base \
            or not hasattr(base, "_evict_if_needed"):
        return getattr(compilation_cache.LRUCache, "tallied", False)
    suffix = getattr(lru_cache, "_CACHE_SUFFIX", "-cache")

    def _evict_if_needed(self, *, additional_size: int = 0) -> None:
        if not getattr(self, "eviction_enabled", False):
            return
        writes, size = getattr(self, "_tally", (0, None))
        if size is None or writes % RECOUNT == RECOUNT - 1 or size + additional_size > self.max_size:
            base._evict_if_needed(self, additional_size=additional_size)  # JAX's own: lists, evicts
            size = sum(file_size(path.stat()) for path in self.path.glob(f"*{suffix}"))
        self._tally = (writes + 1, size + additional_size)

    compilation_cache.LRUCache = type("TalliedLRUCache", (base,), {
        "tallied": True, "_evict_if_needed": _evict_if_needed, "__doc__": __doc__, "__module__": __name__})
    return True


def file_size(stat) -> int:
    """A cache entry's size from its path's ``stat()``: pathlib's ``st_size``, or ``length`` when
    JAX's paths are etils.epath's (JAX prefers it when etils is installed, as flax installs it)."""
    return stat.st_size if hasattr(stat, "st_size") else stat.length
