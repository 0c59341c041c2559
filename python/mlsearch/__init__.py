"""mlsearch: embedded multilingual search from Python.

The engine (BM25 per language + a built-in multilingual encoder, hybrid ranking), the
encoder alone, and the benchmarks, from the same Rust code as the ``mlsearch`` binary::

    import mlsearch

    engine = mlsearch.Engine.create("my-index")
    engine.index("docs/")
    for hit in engine.search("Wo liegt Berlin?", k=5):
        print(hit.rank, hit.doc, hit.lang, hit.snippet)

    vectors = mlsearch.Encoder().encode_queries(["Wo liegt Berlin?"])  # numpy float32

Long calls release the GIL, so threads search in parallel. Errors of the engine are
:class:`MlsearchError` (with the CLI's message); bad arguments are :class:`ValueError`.
"""

from . import bench
from ._native import Encoder, Engine, Explain, Hit, MlsearchError, __version__

__all__ = ["Engine", "Encoder", "Hit", "Explain", "MlsearchError", "bench", "__version__"]
