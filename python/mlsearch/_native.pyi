"""Type stubs of the compiled module (python/src/lib.rs)."""

import os
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

PathLike = Union[str, os.PathLike[str]]
Document = Mapping[str, Any]

__version__: str

class MlsearchError(Exception):
    """An error of the search engine (its message is the CLI's)."""

class Explain:
    """Where a hit came from (``explain=True``)."""

    bm25_rank: Optional[int]
    bm25_score: Optional[float]
    dense_rank: Optional[int]
    dense_score: Optional[float]
    fused_score: float

class Hit:
    """One search result: the fields of ``mlsearch query --json``."""

    rank: int
    score: float
    doc: str
    passage: int
    page: Optional[int]
    lang: str
    title: str
    file: str
    snippet: str
    highlights: List[Tuple[int, int]]
    explain: Optional[Explain]
    query_lang: str
    query_lang_confidence: float
    query_lang_source: str

class Engine:
    """An index opened with its encoder (thread-safe: share one between threads)."""

    @staticmethod
    def open(
        path: PathLike,
        *,
        model: Optional[PathLike] = None,
        dense: bool = True,
        device: str = "auto",
        precision: Optional[str] = None,
    ) -> "Engine": ...
    @staticmethod
    def create(
        path: PathLike,
        *,
        vectors: bool = True,
        model: Optional[PathLike] = None,
        device: str = "auto",
        precision: Optional[str] = None,
    ) -> "Engine": ...
    def index(
        self,
        folder: PathLike,
        *,
        rebuild: bool = False,
        default_lang: Optional[str] = None,
        threads: int = 0,
        centre: bool = True,
        bm25_k1: Optional[float] = None,
        bm25_b: Optional[float] = None,
        max_filesize: Optional[int] = None,
        hidden: bool = False,
        no_ignore: bool = False,
        globs: Sequence[str] = (),
        commit_every: float = 60.0,
    ) -> Dict[str, Any]: ...
    def add(self, documents: Union[Document, Iterable[Document]]) -> int: ...
    def remove(self, ids: Union[str, Sequence[str]]) -> int: ...
    def commit(self) -> Dict[str, Any]: ...
    def search(
        self,
        text: str,
        *,
        lang: str = "any",
        k: int = 10,
        mode: Optional[str] = None,
        explain: bool = False,
        query_lang: Optional[str] = None,
        snippet_chars: int = 200,
    ) -> List[Hit]: ...
    def search_many(
        self,
        texts: Sequence[str],
        *,
        lang: str = "any",
        k: int = 10,
        mode: Optional[str] = None,
        explain: bool = False,
        query_lang: Optional[str] = None,
        snippet_chars: int = 200,
    ) -> List[List[Hit]]: ...
    def stats(self) -> Dict[str, Any]: ...
    def refresh(self) -> bool: ...
    @property
    def path(self) -> str: ...

class Encoder:
    """The encoder alone: texts in, unit vectors out."""

    def __init__(
        self, model: Optional[PathLike] = None, *, precision: Optional[str] = None, device: str = "auto"
    ) -> None: ...
    def encode_queries(self, texts: Sequence[str]) -> npt.NDArray[np.float32]: ...
    def encode_passages(self, texts: Sequence[str]) -> npt.NDArray[np.float32]: ...
    @property
    def dim(self) -> int: ...
    @property
    def model(self) -> str: ...
    @property
    def precision(self) -> str: ...

def lareqa(name: str, data: Optional[str] = None, **options: Any) -> Dict[str, Any]: ...
def evaluate(
    run: Mapping[str, Mapping[str, float]],
    qrels: Mapping[str, Mapping[str, int]],
    *,
    depth: int = 1000,
    per_query: bool = False,
) -> Dict[str, Any]: ...
