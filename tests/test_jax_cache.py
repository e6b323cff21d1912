"""backends/_jax_cache.py: JAX's bounded compilation cache keeps a running total of its folder's
size, lists the folder only at its bound and every RECOUNT-th write, and still evicts as JAX does."""
import importlib.util
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax not installed")


@pytest.fixture
def tallied(monkeypatch):
    from jax._src import compilation_cache, lru_cache

    from backends import _jax_cache

    monkeypatch.setattr(compilation_cache, "LRUCache", lru_cache.LRUCache)  # undone after the test
    assert _jax_cache.tally_cache_size() and _jax_cache.tally_cache_size()
    listings = []
    own = lru_cache.LRUCache._evict_if_needed

    def counted(self, *, additional_size=0):
        listings.append(additional_size)
        return own(self, additional_size=additional_size)

    monkeypatch.setattr(lru_cache.LRUCache, "_evict_if_needed", counted)
    return compilation_cache.LRUCache, listings


def test_the_folder_is_listed_once_then_at_every_recount(tallied, tmp_path):
    from backends._jax_cache import RECOUNT

    cls, listings = tallied
    cache = cls(str(tmp_path), max_size=10**9)
    for n in range(2 * RECOUNT):
        cache.put(f"k{n}", b"x" * 10)
    assert len(listings) == 3  # the first write, the RECOUNT-th and the 2 * RECOUNT-th
    assert all(cache.get(f"k{n}") == b"x" * 10 for n in range(2 * RECOUNT))


def test_the_bound_holds_and_the_least_recently_used_go_first(tallied, tmp_path):
    cls, listings = tallied
    cache = cls(str(tmp_path), max_size=1000)
    for n in range(3):
        cache.put(f"k{n}", b"x" * 300)
    cache.get("k0")  # k1 is now the least recently used
    cache.put("k3", b"x" * 300)
    assert cache.get("k1") is None and all(cache.get(k) for k in ("k0", "k2", "k3"))
    assert sum(p.stat().st_size for p in tmp_path.glob("*-cache")) <= 1000
    assert len(listings) == 2  # the first write, and the one that would pass the bound


def test_without_a_bound_nothing_is_listed(tallied, tmp_path):
    cls, listings = tallied
    cache = cls(str(tmp_path), max_size=-1)
    for n in range(5):
        cache.put(f"k{n}", b"x")
    assert listings == [] and cache.get("k4") == b"x"


def test_an_entry_size_is_read_from_pathlib_and_from_etils_epath():
    """With etils installed (the Flax example brings it), JAX's cache paths are etils.epath's,
    whose stat() has ``length`` and no ``st_size``: the running total reads either."""
    from collections import namedtuple

    from backends._jax_cache import file_size

    assert file_size(namedtuple("StatResult", "is_directory length mtime")(False, 300, 0.0)) == 300
    assert file_size(Path(__file__).stat()) == Path(__file__).stat().st_size


def test_the_tally_counts_a_folder_of_etils_paths(tallied, tmp_path):
    epath = pytest.importorskip("etils.epath", reason="etils not installed (JAX uses pathlib then)")
    cls, listings = tallied
    cache = cls(str(tmp_path), max_size=1000)
    cache.path = epath.Path(tmp_path)  # as JAX makes it when etils is installed
    for n in range(3):
        cache.put(f"k{n}", b"x" * 300)
    cache.put("k3", b"x" * 300)  # past the bound: JAX's own eviction, then a count of the folder
    assert cache._tally[1] <= 1000 and len(list(tmp_path.glob("*-cache"))) == 3
