"""The benchmarks of ``mlsearch bench``, returning what ``--json`` prints.

``xquad_r`` and ``mlqa_r`` run LAReQA's protocol (mono, cross and multi mAP, rank
distance, per language pair) on a data folder of one SQuAD-layout JSON file per
language; ``evaluate`` scores any run against qrels with trec_eval's semantics.
"""

from __future__ import annotations

import os
from typing import Any, Dict, Mapping, Optional, Sequence, Union

from . import _native

PathLike = Union[str, "os.PathLike[str]"]


def _lareqa(name: str, data: Optional[PathLike], *, langs, model, work, **options: Any) -> Dict[str, Any]:
    if isinstance(langs, str):
        langs = [code.strip() for code in langs.split(",") if code.strip()]
    path = lambda p: None if p is None else os.fspath(p)  # noqa: E731
    return _native.lareqa(name, path(data), langs=langs, model=path(model), work=path(work), **options)


def xquad_r(
    data: Optional[PathLike] = None,
    *,
    modes: str = "bm25,dense,hybrid",
    langs: Union[str, Sequence[str], None] = None,
    max_questions: int = 0,
    model: Optional[PathLike] = None,
    precision: Optional[str] = None,
    work: Optional[PathLike] = None,
    threads: int = 0,
    centring: bool = True,
    detect_query_lang: bool = False,
) -> Dict[str, Any]:
    """XQuAD-R (``mlsearch bench xquad-r --json``).

    ``data`` defaults to ``$MLSEARCH_DATA/xquad-r``. The result holds one report per
    mode under ``"reports"`` (``mono_map``, ``cross_map``, ``multi_map``,
    ``rank_distance``, and every language pair under ``"pairs"``). Embeddings are cached
    in ``work`` (default ``~/.cache/mlsearch/bench``), so a second run is quick.
    """
    return _lareqa(
        "xquad-r", data, modes=modes, langs=langs, max_questions=max_questions, model=model,
        precision=precision, work=work, threads=threads, centring=centring,
        detect_query_lang=detect_query_lang,
    )


def mlqa_r(
    data: Optional[PathLike] = None,
    *,
    modes: str = "bm25,dense,hybrid",
    langs: Union[str, Sequence[str], None] = None,
    max_questions: int = 0,
    model: Optional[PathLike] = None,
    precision: Optional[str] = None,
    work: Optional[PathLike] = None,
    threads: int = 0,
    centring: bool = True,
    detect_query_lang: bool = False,
) -> Dict[str, Any]:
    """MLQA-R (``mlsearch bench mlqa-r --json``); the options are :func:`xquad_r`'s."""
    return _lareqa(
        "mlqa-r", data, modes=modes, langs=langs, max_questions=max_questions, model=model,
        precision=precision, work=work, threads=threads, centring=centring,
        detect_query_lang=detect_query_lang,
    )


def evaluate(
    run: Mapping[str, Mapping[str, float]],
    qrels: Mapping[str, Mapping[str, int]],
    *,
    depth: int = 1000,
    per_query: bool = False,
) -> Dict[str, Any]:
    """MAP, nDCG@10 and recall@100 of ``run`` ({qid: {docid: score}}) against ``qrels``
    ({qid: {docid: grade}}), as ``mlsearch bench eval`` and trec_eval compute them
    (pytrec_eval's input shapes). ``depth`` documents per query count."""
    return _native.evaluate(
        {q: dict(docs) for q, docs in run.items()},
        {q: dict(docs) for q, docs in qrels.items()},
        depth=depth,
        per_query=per_query,
    )
